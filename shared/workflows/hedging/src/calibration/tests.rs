//! Calibration against independent values: Python `arch` 8.0.0 (GJR-GARCH QMLE with
//! robust standard errors), numpy 2.4.6 / pandas 3.1.1 (vols, correlations, PCA, AR(1)),
//! computed once by `tests/oracle/calibration_oracle.py` on the files in
//! `events/inputs/`; the printed values are pasted below.

// Index loops read like the formulas they check; oracle values are pasted exactly as
// the tool printed them (17 significant digits), beyond f64's exact decimal precision.
#![allow(clippy::needless_range_loop, clippy::excessive_precision)]

use super::*;
use std::sync::OnceLock;

fn calibration() -> &'static Calibration {
    static C: OnceLock<Calibration> = OnceLock::new();
    C.get_or_init(|| calibrate(&CalibrationInputs::bundled()).expect("bundled inputs calibrate"))
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (tol {tol})"
    );
}

/// arch: `arch_model(100 r, mean="Constant", vol="GARCH", p=1, o=1, q=1,
/// dist="normal").fit(options={"ftol": 1e-12})`: params (μ, ω, α, γ, β), robust std
/// errors, log-likelihood.
fn check_fit(name: &str, fit: &GjrGarchFit, params: [f64; 5], se: [f64; 5], ll: f64) {
    let got = [fit.mu, fit.omega, fit.alpha, fit.gamma, fit.beta];
    let names = ["mu", "omega", "alpha", "gamma", "beta"];
    for i in 0..5 {
        // Both optimisers stop on a flat likelihood ridge: parameters agree to 1e-4
        // (α, β, γ are O(0.01–1)); robust std errors (finite differences) to 2%.
        close(&format!("{name} {}", names[i]), got[i], params[i], 1e-4);
        close(
            &format!("{name} se {}", names[i]),
            fit.std_errors[i],
            se[i],
            0.02 * se[i],
        );
    }
    // The likelihood is what both maximise: ours must be as high, to 1e-6.
    assert!(
        fit.log_likelihood >= ll - 1e-6,
        "{name} loglik {} < arch {ll}",
        fit.log_likelihood
    );
    close(&format!("{name} loglik"), fit.log_likelihood, ll, 1e-3);
    close(
        &format!("{name} persistence"),
        fit.persistence,
        params[2] + params[3] / 2.0 + params[4],
        2e-4,
    );
}

#[test]
fn fx_vols_and_correlations_match_numpy() {
    let fx = &calibration().fx;
    assert_eq!(fx.observations, 1866);
    // pandas: log(fx).diff().std(ddof=1) * sqrt(252), columns dm, bp, dy, sf, cd.
    let vols = [
        0.12332418699713446,
        0.12051679926350174,
        0.10901407484683436,
        0.1333409322319811,
        0.04232957745991454,
    ];
    for (s, v) in fx.series.iter().zip(vols) {
        close(&format!("{} vol", s.column), s.annual_vol, v, 1e-12);
    }
    // numpy.corrcoef of the same changes.
    let corr = [
        [
            1.0,
            0.7144819258502636,
            0.6840626003663162,
            0.9175177563542295,
            0.36681226990110133,
        ],
        [
            0.7144819258502636,
            1.0,
            0.4887145357292187,
            0.6874601660322919,
            0.36684608648528605,
        ],
        [
            0.6840626003663162,
            0.4887145357292187,
            1.0,
            0.7044376396811426,
            0.27303645960946343,
        ],
        [
            0.9175177563542296,
            0.6874601660322919,
            0.7044376396811425,
            1.0,
            0.3610463152938493,
        ],
        [
            0.3668122699011014,
            0.3668460864852861,
            0.27303645960946343,
            0.3610463152938493,
            1.0,
        ],
    ];
    for i in 0..5 {
        for j in 0..5 {
            close("fx corr", fx.correlation[i][j], corr[i][j], 1e-12);
        }
    }
    assert_eq!(fx.series_for(Currency::AUD).unwrap().column, "cd");
    assert_eq!(fx.series_for(Currency::EUR).unwrap().column, "dm");
}

#[test]
fn fx_gjr_garch_matches_arch() {
    let fx = &calibration().fx;
    let oracle: [(&str, [f64; 5], [f64; 5], f64); 5] = [
        (
            "dm",
            [
                -0.02934238631869742,
                0.01090070044421384,
                0.07878180830845621,
                0.03518510371211182,
                0.8916235464621146,
            ],
            [
                0.01589129018830389,
                0.00482537741486301,
                0.025101700695863,
                0.0217866067007647,
                0.0234945620624892,
            ],
            -2061.9410359583035,
        ),
        (
            "bp",
            [
                -0.02422558904186876,
                0.00638461627391671,
                0.0421175994184611,
                0.01458167131314572,
                0.939697269648706,
            ],
            [
                0.01553125186585287,
                0.0037271333059888,
                0.01815440786673137,
                0.01611415626449537,
                0.01858881969480142,
            ],
            -2003.182225879556,
        ),
        (
            "dy",
            [
                0.01090183653397251,
                0.04860228580460411,
                0.13806864586354345,
                -0.03821810329160451,
                0.7812484957683381,
            ],
            [
                0.01482599200002479,
                0.03762763036603184,
                0.09396646315346367,
                0.06881925249737038,
                0.12679539840186088,
            ],
            -1886.3767694443059,
        ),
        (
            "sf",
            [
                -2.001308650777484e-02,
                2.334336623974130e-02,
                7.342074991659606e-02,
                -7.140575588162560e-04,
                8.949535352236898e-01,
            ],
            [
                0.01801842435421949,
                0.01018078380718331,
                0.02524818863454921,
                0.02443839302407185,
                0.02761315048236982,
            ],
            -2249.6712113101867,
        ),
        (
            "cd",
            [
                -1.1756750848610397e-02,
                7.9805201718815828e-04,
                7.0655787632084577e-02,
                9.7438419012384009e-02,
                8.8062500285817957e-01,
            ],
            [
                0.0044574992977471,
                0.00067501736618455,
                0.02174657726022478,
                0.03479285253727782,
                0.0346527105594288,
            ],
            55.158721970899585,
        ),
    ];
    for (s, (col, p, se, ll)) in fx.series.iter().zip(oracle) {
        assert_eq!(s.column, col);
        check_fit(col, &s.garch, p, se, ll);
    }
}

#[test]
fn sp500_vol_and_gjr_garch_match_arch() {
    let eq = &calibration().equity;
    assert_eq!(eq.observations, 8312);
    close("sp500 vol", eq.annual_vol, 0.18323296993150287, 1e-12);
    check_fit(
        "sp500",
        &eq.garch,
        [
            0.02745913984707144,
            0.01911839846829017,
            0.00924923266938158,
            0.1497226332446375,
            0.8968290622647258,
        ],
        [
            0.0085584146326643,
            0.00529904189487252,
            0.00912775452925189,
            0.02557775700201392,
            0.02075268379488933,
        ],
        -10978.525133091818,
    );
    // The leverage effect is there: γ is positive and many standard errors from 0.
    assert!(eq.garch.gamma > 4.0 * eq.garch.std_errors[3]);
}

#[test]
fn sp500_regimes_are_persistent_and_ordered() {
    // Properties, not an oracle (the HMM itself is tested against hmmlearn in
    // stresslab_analytics::regime): calm spells last longer than stressed ones, both
    // last weeks, and stressed volatility is higher before and after the GARCH.
    let r = &calibration().equity.regime;
    assert!(r.calm_duration_days > r.stress_duration_days && r.stress_duration_days > 5.0);
    assert!(r.stress_vol_multiplier > r.residual_vol_multiplier && r.residual_vol_multiplier > 1.0);
    close(
        "stationary",
        r.stationary_stress,
        r.p_enter_stress / (r.p_enter_stress + r.p_leave_stress),
        1e-15,
    );
}

#[test]
fn rates_pca_matches_numpy() {
    let rates = &calibration().rates;
    assert_eq!(rates.observations, 530);
    // numpy.linalg.eigh(np.cov(dY.T)), dY the monthly changes in decimal; signs
    // normalised as documented on `RatesCalibration::loadings`.
    let shares = [0.8539581612492719, 0.09695377675358428, 0.0290082728673281];
    let vols = [0.05030600048502785, 0.016950552542898, 0.00927176530683759];
    let loadings = [
        [
            0.3530766813621557,
            0.36235896646445187,
            0.35944989021660406,
            0.35831739892359366,
            0.36361634427981554,
            0.3470484594721255,
            0.3395963802155858,
            0.24595606366217887,
            0.1970037354088932,
            0.13837346938929476,
        ],
        [
            -0.5565472791144555,
            -0.3433924808929616,
            -0.20293936452313924,
            -0.01826560060511954,
            0.04567643279427453,
            0.2308940011465646,
            0.2519118388067833,
            0.389734179057579,
            0.38944922899148504,
            0.32923749671158525,
        ],
        [
            -0.6316851434405822,
            0.01302939277576798,
            0.27773143417180374,
            0.32665320000648845,
            0.29759828740883043,
            0.12376166395052053,
            0.08690622206803728,
            -0.25470897719032526,
            -0.3513906497037712,
            -0.3423165472943874,
        ],
    ];
    for k in 0..3 {
        close("share", rates.variance_shares[k], shares[k], 1e-12);
        close("score vol", rates.score_annual_vol[k], vols[k], 1e-12);
        for i in 0..10 {
            close("loading", rates.loadings[k][i], loadings[k][i], 1e-9);
        }
    }
    // 5y AR(1) (numpy lstsq on (1, y_{t-1})): φ and κ = −12 ln φ.
    close("phi", rates.level_ar1_phi, 0.9923097459649416, 1e-12);
    close("kappa", rates.level_kappa, 0.09263971822774746, 1e-10);
}

#[test]
fn rates_pca_properties() {
    let rates = &calibration().rates;
    for a in 0..3 {
        for b in 0..3 {
            let dot: f64 = rates.loadings[a]
                .iter()
                .zip(&rates.loadings[b])
                .map(|(x, y)| x * y)
                .sum();
            close("orthonormal", dot, if a == b { 1.0 } else { 0.0 }, 1e-12);
        }
    }
    let s: f64 = rates.variance_shares.iter().sum();
    assert!(s <= 1.0 + 1e-12 && rates.variance_shares.windows(2).all(|w| w[0] >= w[1]));
    // Key tenors: the source maturities 3m, 6m, 1y, 3y, 5y, 10y are read exactly, 2y
    // halfway between 1y and 3y, 7y 40% of the way from 5y to 10y, 20y and 30y flat.
    for k in 0..3 {
        let (l, key) = (&rates.loadings[k], &rates.key_tenor_loadings[k]);
        close("3m", key[0], l[2], 0.0);
        close("6m", key[1], l[4], 0.0);
        close("1y", key[2], l[6], 0.0);
        close("2y", key[3], 0.5 * (l[6] + l[7]), 1e-15);
        close("3y", key[4], l[7], 0.0);
        close("5y", key[5], l[8], 0.0);
        close("7y", key[6], l[8] + 0.4 * (l[9] - l[8]), 1e-15);
        close("10y", key[7], l[9], 0.0);
        close("20y", key[8], l[9], 0.0);
        close("30y", key[9], l[9], 0.0);
    }
    assert!(rates.slope_kappa > 0.0 && rates.curvature_kappa > 0.0);
}

#[test]
fn credit_spread_matches_numpy() {
    let c = &calibration().credit;
    close("vol", c.log_spread_vol, 0.2716544387272589, 1e-12);
    close(
        "vol 2008-09",
        c.log_spread_vol_2008_09,
        0.5031816657209014,
        1e-12,
    );
    close("peak", c.spread_2008_peak, 3.38, 1e-12);
    close("2007 mean", c.spread_2007_mean, 0.9266666666666667, 1e-12);
    // The liquidity workflow's anchor, recomputed: 3.65×.
    close("ratio", c.peak_over_pre_crisis, 3.6474820143884887, 1e-12);
    close("phi", c.log_spread_ar1_phi, 0.9873306348145381, 1e-12);
    close("kappa", c.log_spread_kappa, 0.15300367157745476, 1e-10);
}

#[test]
fn calibration_is_deterministic_and_serialisable() {
    let a = calibration();
    let b = calibrate(&CalibrationInputs::bundled()).unwrap();
    assert_eq!(a, &b);
    let json = serde_json::to_string(a).unwrap();
    let back: Calibration = serde_json::from_str(&json).unwrap();
    assert_eq!(a, &back);
}

#[test]
fn a_bad_row_is_reported_with_its_file_line_and_field() {
    let mut inputs = CalibrationInputs::bundled();
    let broken = inputs
        .sp500
        .1
        .replacen("1990-01-03,358.76", "1990-01-03,x", 1);
    inputs.sp500.1 = &broken;
    let e = calibrate(&inputs).unwrap_err().to_string();
    assert!(
        e.contains("sp500_index_daily_1990_2022.csv, line 3, field `SP500`"),
        "{e}"
    );
}

#[test]
fn the_rolling_peak_is_the_calmest_series_one_and_finds_a_volatile_year() {
    // Alternating ±1 has the same volatility in every window: multiple ≈ 1 (the
    // window's sample sd of 12 alternating values is a hair above the whole sample's).
    let calm: Vec<f64> = (0..120)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let m = rolling_peak_vol_multiple(&calm, 12);
    assert!((m - 1.0).abs() < 0.05, "{m}");
    // One year at five times the amplitude in ten: its window's sd is 5/sd_all.
    let mut burst = calm.clone();
    for x in burst.iter_mut().skip(48).take(12) {
        *x *= 5.0;
    }
    let all = {
        let n = burst.len() as f64;
        let mean = burst.iter().sum::<f64>() / n;
        (burst.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    let window_sd = (12.0 * 25.0 / 11.0f64).sqrt();
    let m = rolling_peak_vol_multiple(&burst, 12);
    assert!(
        (m - window_sd / all).abs() < 1e-12,
        "{m} vs {}",
        window_sd / all
    );
}
