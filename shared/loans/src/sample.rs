//! A synthetic loan book for trying the shock end to end: deterministic in
//! `(count, seed)`, in the seed's CSV schema, with the distributions below stated so a
//! reader can judge what the results mean. It is **illustrative** — shaped like the
//! retail-and-commercial book of a mid-size bank, calibrated to no bank's data.
//!
//! Valuation date [`VALUATION_DATE`] (30 June 2025): every loan has started by then and
//! matures after it, so the book simulates as of that date.
//!
//! Per loan, in this order of draws from one xoshiro256** stream
//! ([`stresslab_analytics::rng`], seeded with `seed`):
//! - **Product** (by count): Mortgage 45%, Consumer 40%, Corporate 15%.
//! - **Basis**: floating 30% of mortgages (adjustable-rate), 15% of consumer loans,
//!   70% of corporate loans (term loans priced over SOFR); the rest fixed.
//! - **Original amount**, lognormal `exp(N(ln median, σ²))`, clamped, rounded:
//!   mortgage median 300,000, σ 0.50, [50,000, 3,000,000], to 1,000;
//!   consumer median 20,000, σ 0.70, [1,000, 150,000], to 100;
//!   corporate median 2,000,000, σ 1.00, [100,000, 50,000,000], to 1,000.
//! - **Original term** (months): mortgage 360 (70%), 240 (10%), 180 (20%);
//!   consumer 36 (15%), 48 (20%), 60 (35%), 72 (20%), 84 (10%);
//!   corporate 36 (20%), 60 (40%), 84 (25%), 120 (15%).
//! - **Repayment**: mortgages and consumer loans Monthly; corporate Quarterly 50%,
//!   InterestOnly (bullet) 30%, Monthly 20%.
//! - **Seasoning** (whole months since origination): uniform on `1..=min(term − 1,
//!   cap)` with cap 120 for mortgages (older books have mostly run off or refinanced)
//!   and the whole term otherwise; the day of month uniform on 1..=28. StartDate is that
//!   many months before the valuation month, EndDate the term after StartDate.
//! - **DefaultRiskScore** (0 safest … 100 riskiest), logit-normal:
//!   `100 · logistic(N(μ, σ²))`, rounded, with (μ, σ) mortgage (−1.0, 0.8) (median
//!   score 27, PD ≈ 0.2% under the default score map), consumer (−0.4, 0.9) (median
//!   40), corporate (−0.6, 0.8) (median 35).
//! - **InterestRate** (today's all-in coupon, decimal), a spread over a reference plus
//!   `N(0, 0.25%²)` noise, then a risk premium `score × r`:
//!   floating: reference the index today, SOFR 4.30% (June 2025); spreads mortgage
//!   2.25%, consumer 4.00%, corporate 2.00%; `r` = 0.02%, 0.08%, 0.03% per point.
//!   fixed: reference the 30-year mortgage rate of the origination year (Freddie Mac
//!   PMMS annual averages, 2015–2025: see [`PMMS_30Y`]); spreads mortgage 0%, consumer
//!   +3.00%, corporate −0.50%; `r` as for floating. Floored at 1%, capped at 24.9%.
//! - **CurrentBalance**: for amortising loans the scheduled balance after the payments
//!   made so far (Monthly: one per month of seasoning; Quarterly: one per three),
//!   amortised at the coupon (an annuity); interest-only loans owe their whole amount.
//!   20% of amortising loans have also curtailed (partly prepaid): their balance is
//!   scaled by U(0.85, 1.0). Rounded down to the cent, so it never exceeds LoanAmount.
//! - **CustomerId**: uniform over `0.8 × count` customers, so some hold several loans.

use std::fmt::Write;

use stresslab_analytics::rng::Xoshiro256;
use time::{macros::date, Date, Month};

/// The sample book's valuation date (simulate it with `Settings::new(VALUATION_DATE)`).
pub const VALUATION_DATE: Date = date!(2025 - 06 - 30);

/// Freddie Mac Primary Mortgage Market Survey, 30-year fixed rate, annual average
/// (percent), 2015 … 2025 (2025: the January–June average). Published by Freddie Mac,
/// distributed by FRED (series MORTGAGE30US).
pub const PMMS_30Y: [(i32, f64); 11] = [
    (2015, 3.85),
    (2016, 3.65),
    (2017, 3.99),
    (2018, 4.54),
    (2019, 3.94),
    (2020, 3.11),
    (2021, 2.96),
    (2022, 5.34),
    (2023, 6.81),
    (2024, 6.72),
    (2025, 6.82),
];

/// SOFR in June 2025, percent: the floating loans' index today.
pub const SOFR_TODAY: f64 = 4.30;

pub const HEADER: &str = "LoanId,CustomerId,LoanAmount,InterestRate,StartDate,EndDate,LoanType,RepaymentSchedule,CurrentBalance,DefaultRiskScore\n";

#[derive(Clone, Copy)]
enum Product {
    Mortgage,
    Consumer,
    Corporate,
}

/// What each product draws from (see the module docs).
struct Profile {
    name: &'static str,
    floating_share: f64,
    median_amount: f64,
    sigma_amount: f64,
    amount_range: (f64, f64),
    amount_step: f64,
    terms: &'static [(u32, f64)],
    max_seasoning: u32,
    score_mu: f64,
    score_sigma: f64,
    floating_spread: f64,
    fixed_spread: f64,
    premium_per_point: f64,
}

const MORTGAGE: Profile = Profile {
    name: "Mortgage",
    floating_share: 0.30,
    median_amount: 300_000.0,
    sigma_amount: 0.50,
    amount_range: (50_000.0, 3_000_000.0),
    amount_step: 1_000.0,
    terms: &[(360, 0.70), (240, 0.10), (180, 0.20)],
    max_seasoning: 120,
    score_mu: -1.0,
    score_sigma: 0.8,
    floating_spread: 2.25,
    fixed_spread: 0.0,
    premium_per_point: 0.02,
};

const CONSUMER: Profile = Profile {
    name: "Consumer",
    floating_share: 0.15,
    median_amount: 20_000.0,
    sigma_amount: 0.70,
    amount_range: (1_000.0, 150_000.0),
    amount_step: 100.0,
    terms: &[(36, 0.15), (48, 0.20), (60, 0.35), (72, 0.20), (84, 0.10)],
    max_seasoning: u32::MAX,
    score_mu: -0.4,
    score_sigma: 0.9,
    floating_spread: 4.00,
    fixed_spread: 3.00,
    premium_per_point: 0.08,
};

const CORPORATE: Profile = Profile {
    name: "Corporate",
    floating_share: 0.70,
    median_amount: 2_000_000.0,
    sigma_amount: 1.00,
    amount_range: (100_000.0, 50_000_000.0),
    amount_step: 1_000.0,
    terms: &[(36, 0.20), (60, 0.40), (84, 0.25), (120, 0.15)],
    max_seasoning: u32::MAX,
    score_mu: -0.6,
    score_sigma: 0.8,
    floating_spread: 2.00,
    fixed_spread: -0.50,
    premium_per_point: 0.03,
};

impl Product {
    fn profile(self) -> &'static Profile {
        match self {
            Product::Mortgage => &MORTGAGE,
            Product::Consumer => &CONSUMER,
            Product::Corporate => &CORPORATE,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Schedule {
    Monthly,
    Quarterly,
    InterestOnly,
}

impl Schedule {
    fn name(self) -> &'static str {
        match self {
            Schedule::Monthly => "Monthly",
            Schedule::Quarterly => "Quarterly",
            Schedule::InterestOnly => "InterestOnly",
        }
    }
}

struct Draws(Xoshiro256);

impl Draws {
    fn uniform(&mut self) -> f64 {
        self.0.uniform()
    }
    fn normal(&mut self) -> f64 {
        self.0.normal()
    }
    /// An integer uniform on `lo..=hi`.
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.0.below((hi - lo + 1) as usize) as u32
    }
    /// A value of a discrete distribution given as `(value, probability)`.
    fn pick<T: Copy>(&mut self, weights: &[(T, f64)]) -> T {
        let u = self.uniform();
        let mut acc = 0.0;
        for &(v, p) in weights {
            acc += p;
            if u < acc {
                return v;
            }
        }
        weights[weights.len() - 1].0
    }
}

/// `months` calendar months before (negative) or after `d`, day of month `day` (≤ 28,
/// so valid in every month).
fn shift_months(d: Date, months: i32, day: u8) -> Date {
    let index = d.year() * 12 + (d.month() as i32 - 1) + months;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::January);
    Date::from_calendar_date(year, month, day).unwrap_or(d)
}

fn pmms(year: i32) -> f64 {
    let (first, last) = (PMMS_30Y[0], PMMS_30Y[PMMS_30Y.len() - 1]);
    let year = year.clamp(first.0, last.0);
    PMMS_30Y
        .iter()
        .find(|(y, _)| *y == year)
        .map_or(last.1, |(_, r)| *r)
}

/// Balance after `paid` of `periods` level payments at `i` per period:
/// `B·((1+i)^n − (1+i)^k) / ((1+i)^n − 1)`.
fn scheduled_balance(amount: f64, i: f64, periods: u32, paid: u32) -> f64 {
    if i <= 0.0 {
        return amount * (1.0 - paid as f64 / periods as f64);
    }
    let grow = |k: u32| (1.0 + i).powi(k as i32);
    amount * (grow(periods) - grow(paid)) / (grow(periods) - 1.0)
}

/// The sample book of `count` loans as CSV (header first, LF line ends).
pub fn generate(count: usize, seed: u64) -> String {
    let mut rng = Draws(Xoshiro256::seed_from_u64(seed));
    let mut out = String::with_capacity(HEADER.len() + count * 112);
    out.push_str(HEADER);
    let customers = ((count as f64 * 0.8) as usize).max(1);
    let id_width = count.to_string().len().max(6);
    for n in 1..=count {
        let product = rng.pick(&[
            (Product::Mortgage, 0.45),
            (Product::Consumer, 0.40),
            (Product::Corporate, 0.15),
        ]);
        let p = product.profile();
        let floating = rng.uniform() < p.floating_share;
        let amount = (p.median_amount.ln() + p.sigma_amount * rng.normal())
            .exp()
            .clamp(p.amount_range.0, p.amount_range.1);
        let amount = ((amount / p.amount_step).round() * p.amount_step).max(p.amount_step);
        let term = rng.pick(p.terms);
        let schedule = match product {
            Product::Corporate => rng.pick(&[
                (Schedule::Quarterly, 0.5),
                (Schedule::InterestOnly, 0.3),
                (Schedule::Monthly, 0.2),
            ]),
            _ => Schedule::Monthly,
        };
        let seasoning = rng.between(1, (term - 1).min(p.max_seasoning));
        let day = rng.between(1, 28) as u8;
        let start = shift_months(VALUATION_DATE, -(seasoning as i32), day);
        let end = shift_months(start, term as i32, day);
        let score = (100.0 / (1.0 + (-(p.score_mu + p.score_sigma * rng.normal())).exp())).round();
        let reference = if floating {
            SOFR_TODAY + p.floating_spread
        } else {
            pmms(start.year()) + p.fixed_spread
        };
        let rate_pct =
            (reference + 0.25 * rng.normal() + p.premium_per_point * score).clamp(1.0, 24.9);
        // Five decimals of a fraction: a tenth of a basis point.
        let rate = (rate_pct * 1_000.0).round() / 100_000.0;
        let curtailed = rng.uniform() < 0.2;
        let curtail_factor = 0.85 + 0.15 * rng.uniform();
        let balance = match schedule {
            Schedule::InterestOnly => amount,
            Schedule::Monthly | Schedule::Quarterly => {
                let mpp = if schedule == Schedule::Quarterly {
                    3
                } else {
                    1
                };
                let b = scheduled_balance(
                    amount,
                    rate * mpp as f64 / 12.0,
                    term / mpp,
                    seasoning / mpp,
                );
                if curtailed {
                    b * curtail_factor
                } else {
                    b
                }
            }
        };
        let balance = ((balance * 100.0).floor() / 100.0).clamp(0.0, amount);
        let customer = rng.0.below(customers) + 1;
        let basis = if floating { "Floating" } else { "Fixed" };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "L{n:0id_width$},C{customer:0id_width$},{amount:.2},{rate:.5},{start},{end},{}-{basis},{},{balance:.2},{score:.0}",
            p.name,
            schedule.name(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoanBook, RateBasis, RepaymentSchedule};

    #[test]
    fn same_seed_same_book_other_seed_other_book() {
        assert_eq!(generate(200, 7), generate(200, 7));
        assert_ne!(generate(200, 7), generate(200, 8));
        let book = generate(3, 1);
        assert!(book.starts_with(HEADER));
        assert_eq!(book.lines().count(), 4);
    }

    #[test]
    fn the_sample_parses_and_matches_its_stated_distributions() {
        let n = 20_000;
        let book = LoanBook::from_csv(generate(n, 11).as_bytes()).expect("the sample parses");
        assert_eq!(book.loans.len(), n);
        let share = |f: &dyn Fn(&crate::Loan) -> bool| {
            book.loans.iter().filter(|l| f(l)).count() as f64 / n as f64
        };
        use crate::AssetClass::*;
        // Binomial standard error at n = 20,000 is ≤ 0.0035; allow ~4 of them.
        let near = |x: f64, want: f64| assert!((x - want).abs() < 0.015, "{x} vs {want}");
        near(share(&|l| l.loan_type.class == ResidentialMortgage), 0.45);
        near(share(&|l| l.loan_type.class == OtherRetail), 0.40);
        near(share(&|l| l.loan_type.class == Corporate), 0.15);
        let floating_within = |class| {
            let of: Vec<_> = book
                .loans
                .iter()
                .filter(|l| l.loan_type.class == class)
                .collect();
            of.iter()
                .filter(|l| l.loan_type.basis == RateBasis::Floating)
                .count() as f64
                / of.len() as f64
        };
        near(floating_within(ResidentialMortgage), 0.30);
        near(floating_within(Corporate), 0.70);
        // Median mortgage amount ≈ 300,000 (lognormal: the median is exp μ).
        let mut amounts: Vec<f64> = book
            .loans
            .iter()
            .filter(|l| l.loan_type.class == ResidentialMortgage)
            .map(|l| l.loan_amount)
            .collect();
        amounts.sort_by(f64::total_cmp);
        let median = amounts[amounts.len() / 2];
        assert!((median / 300_000.0 - 1.0).abs() < 0.03, "{median}");
        for l in &book.loans {
            assert!(l.start_date <= VALUATION_DATE && l.end_date > VALUATION_DATE);
            assert!(l.current_balance <= l.loan_amount && l.current_balance > 0.0);
            if l.repayment_schedule == RepaymentSchedule::InterestOnly {
                assert_eq!(l.current_balance, l.loan_amount);
            }
        }
    }

    /// The balance of an amortising loan is the annuity's outstanding principal: after
    /// half of a 0%-rate schedule, half is left; after all of it, nothing.
    #[test]
    fn scheduled_balance_is_the_annuity_outstanding() {
        assert_eq!(scheduled_balance(1200.0, 0.0, 12, 6), 600.0);
        assert!(scheduled_balance(1000.0, 0.01, 10, 10).abs() < 1e-9);
        // One payment of a 2-period loan at 10%: P = 576.19; 1000·1.1 − P = 523.81.
        let p = crate::cashflow::annuity_payment(1000.0, 0.1, 2);
        assert!((scheduled_balance(1000.0, 0.1, 2, 1) - (1100.0 - p)).abs() < 1e-9);
    }
}
