"""Writes events/inputs/seed_multi_asset_fund.json, the ILLUSTRATIVE seed fund of the
liquidity workflow (issue 7): a $12bn multi-asset fund. Every number is a stated
assumption (see events/inputs/README.md) except the large-cap daily volatilities, which
are the standard deviations of daily simple returns, 2018-01-03 … 2022-12-28 (1,256
days), of the adjusted closes in shared/data/sp500_20_stocks_daily_1990_2022.csv (Yahoo
Finance, as shipped in skfolio, BSD-3), computed with pandas:
    r = df.loc['2018':'2022'].pct_change().dropna(); r.std()
Run: python3 scripts/make_seed_multi_asset_fund.py (standard library only)."""

import json
from pathlib import Path

NAV = 12_000_000_000.0
FX = {"EUR": 1.08, "GBP": 1.27}  # USD per unit, illustrative
M = 1e6
BN = 1e9

positions = []


def add(pid, name, cls, instr, weight, liq, currency="USD", sector=None):
    usd = weight * NAV
    p = {
        "id": pid,
        "name": name,
        "asset_class": cls,
        "instrument_type": instr,
        "currency": currency,
        "market_value": usd / FX[currency] if currency != "USD" else usd,
    }
    if sector:
        p["sector"] = sector
    p["liquidity"] = liq
    positions.append(p)


# Equities 40%: large caps 20% (10 x 2%), mid 8%, small 5%, EM 7%.
large = [  # ticker, name, sector, ADV ($/day, assumption), full spread bp, daily vol (data)
    ("AAPL", "Apple", "Information technology", 12 * BN, 1.0, 0.02110),
    ("MSFT", "Microsoft", "Information technology", 7 * BN, 1.0, 0.01955),
    ("JPM", "JPMorgan Chase", "Financials", 2 * BN, 1.5, 0.02022),
    ("JNJ", "Johnson & Johnson", "Health care", 1.3 * BN, 1.5, 0.01315),
    ("PG", "Procter & Gamble", "Consumer staples", 1.1 * BN, 1.5, 0.01378),
    ("XOM", "Exxon Mobil", "Energy", 2 * BN, 1.5, 0.02133),
    ("UNH", "UnitedHealth", "Health care", 1.5 * BN, 2.0, 0.01879),
    ("HD", "Home Depot", "Consumer discretionary", 1.2 * BN, 2.0, 0.01811),
    ("KO", "Coca-Cola", "Consumer staples", 0.9 * BN, 2.0, 0.01361),
    ("WMT", "Walmart", "Consumer staples", 1.4 * BN, 2.0, 0.01482),
]
for t, n, s, adv, bp, vol in large:
    add(f"EQ-{t}", f"{n} common stock", "equity", "stock", 0.02,
        {"asset_class": "equity_large", "adv": adv, "bid_ask_bps": bp, "daily_vol": vol,
         "settlement_days": 1}, sector=s)
for k, (adv, bp) in enumerate([(4 * BN, 8.0), (3 * BN, 10.0), (2.5 * BN, 12.0)], 1):
    add(f"EQ-MID-{k}", f"US mid-cap sleeve {k} (about 60 names)", "equity", "equity_portfolio",
        0.08 / 3, {"asset_class": "equity_mid", "adv": adv, "bid_ask_bps": bp}, sector="Mid caps")
for k, (adv, bp) in enumerate([(1.2 * BN, 30.0), (1 * BN, 35.0), (800 * M, 40.0)], 1):
    add(f"EQ-SMALL-{k}", f"US small-cap sleeve {k} (about 80 names)", "equity",
        "equity_portfolio", 0.05 / 3,
        {"asset_class": "equity_small", "adv": adv, "bid_ask_bps": bp}, sector="Small caps")
for k, (adv, bp, region) in enumerate(
        [(1.5 * BN, 15.0, "Asia"), (1 * BN, 20.0, "Latin America"), (600 * M, 30.0, "EMEA")], 1):
    add(f"EQ-EM-{k}", f"Emerging-market equity sleeve, {region}", "equity", "equity_portfolio",
        0.07 / 3, {"asset_class": "equity_em", "adv": adv, "bid_ask_bps": bp},
        sector="Emerging markets")

# Fixed income 30%: the 7% buffer (cash 1%, cash equivalents 2%, short sovereigns 4%),
# long sovereigns 13%, investment-grade corporates 10%.
add("CASH-USD", "USD cash at the custodian", "cash", "cash", 0.01, {"asset_class": "cash"})
add("CE-TBILL", "US Treasury bills, 1-3 months", "fixed_income", "bond", 0.012,
    {"asset_class": "cash_equivalent"}, sector="Government")
add("CE-MMF", "USD government money-market fund", "fixed_income", "fund", 0.008,
    {"asset_class": "cash_equivalent", "settlement_days": 0}, sector="Government")
add("SOV-UST2Y", "US Treasury 2-year notes", "fixed_income", "bond", 0.025,
    {"asset_class": "short_sovereign", "adv": 30 * BN, "bid_ask_bps": 0.5},
    sector="Government")
add("SOV-SCHATZ", "German Schatz, 2-year", "fixed_income", "bond", 0.015,
    {"asset_class": "short_sovereign", "adv": 5 * BN, "bid_ask_bps": 1.0, "settlement_days": 2},
    currency="EUR", sector="Government")
for pid, name, w, cur, adv, bp, vol, settle in [
    ("SOV-UST10Y", "US Treasury 10-year notes", 0.05, "USD", 40 * BN, 1.0, 0.0055, 1),
    ("SOV-UST30Y", "US Treasury 30-year bonds", 0.03, "USD", 10 * BN, 2.0, 0.012, 1),
    ("SOV-BUND10Y", "German Bund, 10-year", 0.03, "EUR", 8 * BN, 1.5, 0.005, 2),
    ("SOV-GILT10Y", "UK Gilt, 10-year", 0.02, "GBP", 4 * BN, 2.0, 0.006, 1),
]:
    add(pid, name, "fixed_income", "bond", w,
        {"asset_class": "sovereign", "adv": adv, "bid_ask_bps": bp, "daily_vol": vol,
         "settlement_days": settle}, currency=cur, sector="Government")
add("FI-IG-1", "US IG corporates 1-5y sleeve (about 150 issues)", "fixed_income", "bond", 0.04,
    {"asset_class": "credit_ig", "adv": 900 * M, "bid_ask_bps": 10.0, "daily_vol": 0.003},
    sector="Corporate")
add("FI-IG-2", "US IG corporates 5-10y sleeve (about 120 issues)", "fixed_income", "bond", 0.035,
    {"asset_class": "credit_ig", "issue_outstanding": 180 * BN}, sector="Corporate")
add("FI-IG-3", "EUR IG corporates sleeve (about 100 issues)", "fixed_income", "bond", 0.025,
    {"asset_class": "credit_ig", "adv": 400 * M, "bid_ask_bps": 20.0, "settlement_days": 2},
    currency="EUR", sector="Corporate")

# Credit 15%: IG 5%, high yield 6%, EM debt 4%.
add("CR-IG-1", "US IG credit, BBB sleeve", "credit", "bond", 0.03,
    {"asset_class": "credit_ig", "adv": 600 * M, "bid_ask_bps": 20.0}, sector="Corporate")
add("CR-IG-2", "US IG credit, financials sleeve", "credit", "bond", 0.02,
    {"asset_class": "credit_ig", "adv": 500 * M, "bid_ask_bps": 15.0}, sector="Financials")
for k, (w, adv, bp) in enumerate([(0.025, 500 * M, 60.0), (0.02, 350 * M, 75.0),
                                   (0.015, 200 * M, 100.0)], 1):
    add(f"CR-HY-{k}", f"US high-yield sleeve {k}", "credit", "bond", w,
        {"asset_class": "credit_hy", "adv": adv, "bid_ask_bps": bp}, sector="Corporate")
add("CR-EMD-1", "EM sovereign debt, hard currency", "credit", "bond", 0.025,
    {"asset_class": "em_debt", "adv": 300 * M, "bid_ask_bps": 80.0}, sector="Government")
add("CR-EMD-2", "EM corporate debt, hard currency", "credit", "bond", 0.015,
    {"asset_class": "em_debt", "adv": 150 * M, "bid_ask_bps": 125.0}, sector="Corporate")

# Alternatives 15%: listed real estate 3% and infrastructure 2% (they trade like equities),
# hedge funds 4% (monthly dealing: cash in about 45 business days), private real estate 3%
# and private equity 3% (no market: every field from the class defaults).
for k, adv in enumerate([900 * M, 600 * M], 1):
    add(f"ALT-REIT-{k}", f"Listed real estate (REIT) sleeve {k}", "alternative",
        "equity_portfolio", 0.015,
        {"asset_class": "equity_mid", "adv": adv, "bid_ask_bps": 8.0, "daily_vol": 0.018},
        sector="Real estate")
add("ALT-INFRA", "Listed infrastructure sleeve", "alternative", "equity_portfolio", 0.02,
    {"asset_class": "equity_large", "adv": 1.5 * BN, "bid_ask_bps": 4.0, "daily_vol": 0.013},
    sector="Infrastructure")
for k in (1, 2):
    add(f"ALT-HF-{k}", f"Hedge fund interest {k} (monthly dealing)", "alternative", "fund", 0.02,
        {"asset_class": "alternatives", "settlement_days": 45}, sector="Hedge funds")
add("ALT-PRE", "Private real estate fund interests", "alternative", "fund", 0.03,
    {"asset_class": "alternatives"}, sector="Real estate")
add("ALT-PE", "Private equity fund interests", "alternative", "fund", 0.03,
    {"asset_class": "alternatives"}, sector="Private equity")

# The share register: ten large institutions hold 45% (8, 7, 6, 5, 4.5, 4, 3.5, 3, 2.2
# and 1.8%); 40 wealth managers 30% (0.75% each); 120,000 retail holders 25%.
inst = [
    ("INST-PEN-1", "pension", 0.08, 30), ("INST-SWF-1", "sovereign", 0.07, 30),
    ("INST-INS-1", "insurer", 0.06, 15), ("INST-PEN-2", "pension", 0.05, 25),
    ("INST-FOF-1", "fund_of_funds", 0.045, 3), ("INST-INS-2", "insurer", 0.04, 15),
    ("INST-END-1", "endowment", 0.035, 20), ("INST-PEN-3", "pension", 0.03, 25),
    ("INST-FOF-2", "fund_of_funds", 0.022, 3), ("INST-WM-1", "wealth_manager", 0.018, 5),
]
investors = [
    {"id": i, "type": t, "aum_share": s, "holders": 1, "horizon_years": h, "notice_days": 5,
     "redemption_frequency": "daily"} for i, t, s, h in inst
]
investors.append({"id": "WM-PLATFORMS", "type": "wealth_manager", "aum_share": 0.30,
                  "holders": 40, "horizon_years": 5, "notice_days": 0,
                  "redemption_frequency": "daily"})
investors.append({"id": "RETAIL", "type": "retail", "aum_share": 0.25, "holders": 120000,
                  "horizon_years": 4, "notice_days": 0, "redemption_frequency": "daily"})

fund = {
    "portfolio_id": "seed-multi-asset-fund",
    "name": "Seed multi-asset fund (ILLUSTRATIVE)",
    "base_currency": "USD",
    "as_of": "2024-06-28",
    "total_market_value": NAV,
    "fx_rates": FX,
    "fund": {
        "dealing_frequency": "daily",
        "notice_days": 0,
        "gate": {"threshold": 0.10},
        "swing_pricing": {"threshold": 0.02, "max_factor": 0.02},
        "buffer_tiers": ["cash", "cash_equivalent", "short_sovereign"],
        "peer_group": "mixed",
    },
    "investors": investors,
    "positions": positions,
}
out = Path(__file__).resolve().parent.parent / "events/inputs/seed_multi_asset_fund.json"
out.write_text(json.dumps(fund, indent=1) + "\n")
print(f"{len(positions)} positions, {len(investors)} investor lines -> {out}")
