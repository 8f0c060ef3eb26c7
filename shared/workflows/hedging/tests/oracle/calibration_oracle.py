"""Independent values for the hedging calibration tests (run once; the printed values
are pasted into shared/workflows/hedging/src/calibration tests with their tolerances).

    python3 -m venv /tmp/scen-venv && /tmp/scen-venv/bin/pip install arch numpy pandas
    /tmp/scen-venv/bin/python shared/workflows/hedging/tests/oracle/calibration_oracle.py

Versions used: arch 8.0.0, numpy 2.4.6, pandas 3.1.1, scipy 1.17.1, Python 3.11.7.
Inputs: the files in events/inputs/ (paths relative to the repository root).
"""
import numpy as np
import pandas as pd
from arch import arch_model
import arch, scipy

ROOT = "events/inputs/"
np.set_printoptions(precision=17)
print("arch", arch.__version__, "numpy", np.__version__, "pandas", pd.__version__, "scipy", scipy.__version__)

# --- FX: daily log changes of USD per unit of foreign currency, 1980-01-02 .. 1987-05-21
fx = pd.read_csv(ROOT + "fx_daily_1980_1987.csv")
cols = ["dm", "bp", "dy", "sf", "cd"]  # DEM(EUR proxy), GBP, JPY, CHF, CAD
lr = np.log(fx[cols]).diff().dropna()
print("fx n", len(lr))
print("fx annual vol (ddof=1, x sqrt 252)", repr((lr.std(ddof=1) * np.sqrt(252)).values))
print("fx corr\n", repr(np.corrcoef(lr.values.T)))

def gjr(series, name):
    # Percent returns; constant mean; GJR-GARCH(1,1); Gaussian QMLE; robust (Bollerslev-
    # Wooldridge) covariance: arch's defaults apart from o=1.
    am = arch_model(100.0 * series, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="normal")
    res = am.fit(disp="off", options={"ftol": 1e-12, "maxiter": 2000})
    p = res.params
    print(f"{name} gjr params mu omega alpha gamma beta", repr(p.values))
    print(f"{name} gjr robust std err", repr(res.std_err.values))
    print(f"{name} gjr loglik", repr(res.loglikelihood))

for c in cols:
    gjr(lr[c].values, "fx_" + c)

# --- S&P 500 daily log returns 1990-2022
sp = pd.read_csv(ROOT + "sp500_index_daily_1990_2022.csv")
spr = np.log(sp["SP500"]).diff().dropna().values
print("sp500 n", len(spr), "annual vol", repr(spr.std(ddof=1) * np.sqrt(252)))
gjr(spr, "sp500")

# --- Rates PCA: monthly changes of zero yields (decimal), covariance PCA
zy = pd.read_csv(ROOT + "us_zero_yields_monthly_1946_1991.csv")
mats = ["r1", "r2", "r3", "r5", "r6", "r11", "r12", "r36", "r60", "r120"]
dy = (zy[mats].diff().dropna().values) / 100.0
cov = np.cov(dy.T, ddof=1)
w, v = np.linalg.eigh(cov)
order = np.argsort(w)[::-1]
w, v = w[order], v[:, order]
# sign normalisation: level sums positive, slope rises with maturity, curvature humped
if v[:, 0].sum() < 0: v[:, 0] *= -1
if v[-1, 1] - v[0, 1] < 0: v[:, 1] *= -1
if v[1:-1, 2].mean() - 0.5 * (v[0, 2] + v[-1, 2]) < 0: v[:, 2] *= -1
print("pca n", dy.shape[0])
print("pca shares", repr(w[:3] / w.sum()))
print("pca score annual vol (decimal)", repr(np.sqrt(12 * w[:3])))
print("pca loadings level", repr(v[:, 0]))
print("pca loadings slope", repr(v[:, 1]))
print("pca loadings curvature", repr(v[:, 2]))

def ar1(y):
    x = y[:-1]; z = y[1:]
    X = np.column_stack([np.ones_like(x), x])
    beta = np.linalg.lstsq(X, z, rcond=None)[0]
    return beta[1]

y5 = zy["r60"].values / 100.0
phi = ar1(y5)
print("5y AR1 phi", repr(phi), "kappa", repr(-np.log(phi) * 12))

# --- Credit: Baa - Aaa
md = pd.read_csv(ROOT + "moodys_aaa_baa_monthly_1919_2018.csv")
md["Date"] = pd.to_datetime(md["Date"], format="%m/%d/%Y")
s = (md["BAA"] - md["AAA"]).values
ls = np.log(s)
d = np.diff(ls)
print("credit n changes", len(d), "annual vol", repr(d.std(ddof=1) * np.sqrt(12)))
dates = md["Date"].values[1:]
mask = (dates >= np.datetime64("2008-01-01")) & (dates <= np.datetime64("2009-12-01"))
print("credit 2008-09 n", mask.sum(), "annual vol", repr(d[mask].std(ddof=1) * np.sqrt(12)))
yr = md["Date"].dt.year.values
peak = s[yr == 2008].max(); pre = s[yr == 2007].mean()
print("credit 2008 peak", repr(peak), "2007 mean", repr(pre), "ratio", repr(peak / pre))
phi = ar1(ls)
print("credit log-spread AR1 phi", repr(phi), "kappa", repr(-np.log(phi) * 12))
