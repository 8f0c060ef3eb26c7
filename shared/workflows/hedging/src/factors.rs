//! The risk factors every hedging scenario moves, in one fixed order.
//!
//! Twenty factors — the size of the "20 correlated GARCH factors" the issue measures
//! speed against — cover what moves a USD-based pension with EUR and GBP liabilities:
//! - six FX rates against the USD (EUR, GBP, JPY, CHF, AUD, CAD): the log change of USD
//!   per unit of foreign currency (a rise is the foreign currency appreciating);
//! - level, slope and curvature of the USD, EUR and GBP zero curves: principal-component
//!   scores in decimal yield units, so the zero-yield change at tenor τ is
//!   Σ_k score_k · loading_k(τ) with the loadings of the calibration's PCA;
//! - investment-grade and high-yield credit: the log change of the spread (ratings
//!   AAA–BBB load on the IG factor, BB–B on the HY factor, each with its own multiplier);
//! - US, European and UK equity: log total returns in local currency.
//!
//! The order is the memory order of every per-factor array (path states, correlation
//! matrices, calibration tables): index with [`RiskFactor::index`].

use serde::{Deserialize, Serialize};

/// Number of risk factors.
pub const N_FACTORS: usize = 20;

/// One risk factor; the discriminant is its index in every per-factor array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskFactor {
    FxEur,
    FxGbp,
    FxJpy,
    FxChf,
    FxAud,
    FxCad,
    UsdLevel,
    UsdSlope,
    UsdCurvature,
    EurLevel,
    EurSlope,
    EurCurvature,
    GbpLevel,
    GbpSlope,
    GbpCurvature,
    CreditIg,
    CreditHy,
    EquityUs,
    EquityEurope,
    EquityUk,
}

/// The asset class of a factor: what its dynamics and correlation blocks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorClass {
    Fx,
    Rates,
    Credit,
    Equity,
}

/// The currencies of the pension's book: USD is the base (reporting) currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    USD,
    EUR,
    GBP,
    JPY,
    CHF,
    AUD,
    CAD,
}

/// A zero curve's principal component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurveComponent {
    Level,
    Slope,
    Curvature,
}

impl Currency {
    pub const ALL: [Currency; 7] = [
        Currency::USD,
        Currency::EUR,
        Currency::GBP,
        Currency::JPY,
        Currency::CHF,
        Currency::AUD,
        Currency::CAD,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::GBP => "GBP",
            Currency::JPY => "JPY",
            Currency::CHF => "CHF",
            Currency::AUD => "AUD",
            Currency::CAD => "CAD",
        }
    }

    pub fn from_code(code: &str) -> Option<Currency> {
        Currency::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl RiskFactor {
    pub const ALL: [RiskFactor; N_FACTORS] = [
        RiskFactor::FxEur,
        RiskFactor::FxGbp,
        RiskFactor::FxJpy,
        RiskFactor::FxChf,
        RiskFactor::FxAud,
        RiskFactor::FxCad,
        RiskFactor::UsdLevel,
        RiskFactor::UsdSlope,
        RiskFactor::UsdCurvature,
        RiskFactor::EurLevel,
        RiskFactor::EurSlope,
        RiskFactor::EurCurvature,
        RiskFactor::GbpLevel,
        RiskFactor::GbpSlope,
        RiskFactor::GbpCurvature,
        RiskFactor::CreditIg,
        RiskFactor::CreditHy,
        RiskFactor::EquityUs,
        RiskFactor::EquityEurope,
        RiskFactor::EquityUk,
    ];

    /// The six FX factors, in the order of [`RiskFactor::ALL`].
    pub const FX: [RiskFactor; 6] = [
        RiskFactor::FxEur,
        RiskFactor::FxGbp,
        RiskFactor::FxJpy,
        RiskFactor::FxChf,
        RiskFactor::FxAud,
        RiskFactor::FxCad,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn class(self) -> FactorClass {
        use RiskFactor::*;
        match self {
            FxEur | FxGbp | FxJpy | FxChf | FxAud | FxCad => FactorClass::Fx,
            UsdLevel | UsdSlope | UsdCurvature | EurLevel | EurSlope | EurCurvature | GbpLevel
            | GbpSlope | GbpCurvature => FactorClass::Rates,
            CreditIg | CreditHy => FactorClass::Credit,
            EquityUs | EquityEurope | EquityUk => FactorClass::Equity,
        }
    }

    /// The foreign currency of an FX factor (quoted as USD per unit of it).
    pub fn fx_currency(self) -> Option<Currency> {
        use RiskFactor::*;
        Some(match self {
            FxEur => Currency::EUR,
            FxGbp => Currency::GBP,
            FxJpy => Currency::JPY,
            FxChf => Currency::CHF,
            FxAud => Currency::AUD,
            FxCad => Currency::CAD,
            _ => return None,
        })
    }

    /// The curve and component of a rates factor.
    pub fn curve(self) -> Option<(Currency, CurveComponent)> {
        use CurveComponent::*;
        use RiskFactor::*;
        Some(match self {
            UsdLevel => (Currency::USD, Level),
            UsdSlope => (Currency::USD, Slope),
            UsdCurvature => (Currency::USD, Curvature),
            EurLevel => (Currency::EUR, Level),
            EurSlope => (Currency::EUR, Slope),
            EurCurvature => (Currency::EUR, Curvature),
            GbpLevel => (Currency::GBP, Level),
            GbpSlope => (Currency::GBP, Slope),
            GbpCurvature => (Currency::GBP, Curvature),
            _ => return None,
        })
    }

    /// The rates factor of a curve component.
    pub fn rates(currency: Currency, component: CurveComponent) -> Option<RiskFactor> {
        RiskFactor::ALL
            .into_iter()
            .find(|f| f.curve() == Some((currency, component)))
    }

    /// The FX factor of a foreign currency (None for the USD).
    pub fn fx(currency: Currency) -> Option<RiskFactor> {
        RiskFactor::FX
            .into_iter()
            .find(|f| f.fx_currency() == Some(currency))
    }

    pub fn name(self) -> &'static str {
        use RiskFactor::*;
        match self {
            FxEur => "EUR/USD",
            FxGbp => "GBP/USD",
            FxJpy => "JPY/USD",
            FxChf => "CHF/USD",
            FxAud => "AUD/USD",
            FxCad => "CAD/USD",
            UsdLevel => "USD curve level",
            UsdSlope => "USD curve slope",
            UsdCurvature => "USD curve curvature",
            EurLevel => "EUR curve level",
            EurSlope => "EUR curve slope",
            EurCurvature => "EUR curve curvature",
            GbpLevel => "GBP curve level",
            GbpSlope => "GBP curve slope",
            GbpCurvature => "GBP curve curvature",
            CreditIg => "IG credit spread",
            CreditHy => "HY credit spread",
            EquityUs => "US equity",
            EquityEurope => "European equity",
            EquityUk => "UK equity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_factor_sits_at_its_own_index() {
        for (i, f) in RiskFactor::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
        }
        assert_eq!(RiskFactor::fx(Currency::USD), None);
        assert_eq!(RiskFactor::fx(Currency::GBP), Some(RiskFactor::FxGbp));
        assert_eq!(
            RiskFactor::rates(Currency::EUR, CurveComponent::Slope),
            Some(RiskFactor::EurSlope)
        );
        let rates = RiskFactor::ALL
            .iter()
            .filter(|f| f.class() == FactorClass::Rates)
            .count();
        assert_eq!(rates, 9);
    }
}
