#!/usr/bin/env python3
"""Write events/inputs/seed_pension.json: the seed pension of issue 8 (ILLUSTRATIVE).

A USD-based defined-benefit pension with USD 25bn of assets, funded at 88%, paying
benefits in USD, EUR and GBP. Standard library only; rerun to regenerate byte for byte.

Stated choices (illustrative, internally consistent, not any real scheme):
- Market snapshot as of 2024-06-28, rounded from public end-of-June 2024 levels:
  government zero curves (continuously compounded), 1y ATM FX vols, ATM normal
  swaption vols, corporate spreads by rating, equity implied vol (VIX ~12-14).
- Liabilities: yearly benefit cash flows for 80 years, shape CF(t) ∝ (t + 5)·e^(−t/14)
  (a maturing scheme: payments peak around year 9, duration ≈ 13-14 years), split by
  present value 60% USD / 25% EUR / 15% GBP, scaled so that assets / liabilities =
  0.88 when discounted on each currency's zero curve (linear in zero rate between
  tenors, flat beyond the last) — the convention stresslab-hedging uses.
- Assets: equities 50%, government bonds 22%, credit 25% (IG and HY by sector and
  rating, named illustrative issuers so the top five can be hedged name by name),
  cash 3%. Market values are in each position's own currency.
"""
import json
import math
import os

AS_OF = "2024-06-28"
TOTAL_ASSETS_USD = 25.0e9
FUNDED_RATIO = 0.88
LIABILITY_SPLIT = {"USD": 0.60, "EUR": 0.25, "GBP": 0.15}
YEARS = 80

FX = {"EUR": 1.0713, "GBP": 1.2645, "JPY": 0.006217, "CHF": 1.1128, "AUD": 0.6670, "CAD": 0.7305}
TENORS = [0.25, 0.5, 1, 2, 3, 5, 7, 10, 20, 30]
CURVES = {
    "USD": [0.0530, 0.0525, 0.0505, 0.0465, 0.0445, 0.0430, 0.0430, 0.0435, 0.0460, 0.0450],
    "EUR": [0.0365, 0.0355, 0.0335, 0.0305, 0.0285, 0.0270, 0.0270, 0.0275, 0.0285, 0.0270],
    "GBP": [0.0515, 0.0505, 0.0480, 0.0435, 0.0415, 0.0400, 0.0400, 0.0410, 0.0445, 0.0445],
    "JPY": [0.0005, 0.0010, 0.0025, 0.0035, 0.0045, 0.0060, 0.0075, 0.0105, 0.0170, 0.0195],
    "CHF": [0.0115, 0.0110, 0.0100, 0.0090, 0.0085, 0.0080, 0.0080, 0.0085, 0.0090, 0.0090],
    "AUD": [0.0435, 0.0440, 0.0430, 0.0410, 0.0400, 0.0405, 0.0415, 0.0430, 0.0460, 0.0465],
    "CAD": [0.0470, 0.0460, 0.0435, 0.0400, 0.0375, 0.0355, 0.0350, 0.0350, 0.0345, 0.0335],
}
MARKET = {
    "curves": {c: {"tenors": TENORS, "zero_rates": r} for c, r in CURVES.items()},
    "fx_vols": {"EUR": 0.070, "GBP": 0.075, "JPY": 0.105, "CHF": 0.070, "AUD": 0.100, "CAD": 0.060},
    "swaption_normal_vols": {"USD": 0.0105, "EUR": 0.0085, "GBP": 0.0100},
    "credit_spreads": {"AAA": 0.0035, "AA": 0.0055, "A": 0.0085, "BBB": 0.0125, "BB": 0.0220, "B": 0.0350},
    "equity_vol": 0.14,
}


def zero(ccy, t):
    ts, rs = TENORS, CURVES[ccy]
    if t <= ts[0]:
        return rs[0]
    if t >= ts[-1]:
        return rs[-1]
    for k in range(1, len(ts)):
        if t <= ts[k]:
            w = (t - ts[k - 1]) / (ts[k] - ts[k - 1])
            return rs[k - 1] + w * (rs[k] - rs[k - 1])


def df(ccy, t):
    return math.exp(-zero(ccy, t) * t)


def shape(t):
    return (t + 5.0) * math.exp(-t / 14.0)


def main():
    liabilities_pv_usd = TOTAL_ASSETS_USD / FUNDED_RATIO
    cash_flows = {}
    for ccy, share in LIABILITY_SPLIT.items():
        fx = 1.0 if ccy == "USD" else FX[ccy]
        pv_local_target = share * liabilities_pv_usd / fx
        unit_pv = sum(shape(t) * df(ccy, t) for t in range(1, YEARS + 1))
        scale = pv_local_target / unit_pv
        cash_flows[ccy] = [round(shape(t) * scale, 2) for t in range(1, YEARS + 1)]

    m = 1e6
    def eq(i, name, ccy, usd_mn, sector):
        fx = 1.0 if ccy == "USD" else FX[ccy]
        return {"id": i, "name": name, "asset_class": "equity", "instrument_type": "equity_portfolio",
                "currency": ccy, "market_value": round(usd_mn * m / fx, 2), "sector": sector}

    def gov(i, name, ccy, usd_mn, maturity, coupon):
        fx = 1.0 if ccy == "USD" else FX[ccy]
        return {"id": i, "name": name, "asset_class": "fixed_income", "instrument_type": "bond",
                "currency": ccy, "market_value": round(usd_mn * m / fx, 2),
                "fixed_income": {"maturity": maturity, "coupon": coupon}, "sector": "Government"}

    def corp(i, name, ccy, usd_mn, maturity, coupon, rating, sector):
        fx = 1.0 if ccy == "USD" else FX[ccy]
        return {"id": i, "name": name, "asset_class": "credit", "instrument_type": "bond",
                "currency": ccy, "market_value": round(usd_mn * m / fx, 2),
                "fixed_income": {"maturity": maturity, "coupon": coupon},
                "credit": {"rating": rating, "sector": sector}, "sector": sector}

    positions = [
        eq("EQ-US", "US equities", "USD", 7250, "US equity"),
        eq("EQ-EU", "European equities", "EUR", 2250, "European equity"),
        eq("EQ-UK", "UK equities", "GBP", 1000, "UK equity"),
        eq("EQ-JP", "Japanese equities", "JPY", 1000, "Japanese equity"),
        eq("EQ-CH", "Swiss equities", "CHF", 400, "Swiss equity"),
        eq("EQ-AU", "Australian equities", "AUD", 300, "Australian equity"),
        eq("EQ-CA", "Canadian equities", "CAD", 300, "Canadian equity"),
        gov("UST-2054", "US Treasury 4.25% 2054", "USD", 2000, "2054-05-15", 0.0425),
        gov("UST-2034", "US Treasury 4.375% 2034", "USD", 1000, "2034-05-15", 0.04375),
        gov("UST-2029", "US Treasury 4.5% 2029", "USD", 500, "2029-05-31", 0.045),
        gov("BUND-2044", "Bund 2.5% 2044", "EUR", 1000, "2044-07-04", 0.025),
        gov("GILT-2054", "Gilt 4.375% 2054", "GBP", 1000, "2054-07-31", 0.04375),
        corp("CR-BANK-A", "Atlantic Bank Holdings 5% 2034 (illustrative)", "USD", 1200, "2034-03-15", 0.05, "A", "Financials"),
        corp("CR-IND-B", "Continental Industrials 5.25% 2031 (illustrative)", "USD", 1000, "2031-09-01", 0.0525, "BBB", "Industrials"),
        corp("CR-UTL-A", "Prairie Power & Light 4.9% 2044 (illustrative)", "USD", 800, "2044-06-01", 0.049, "A", "Utilities"),
        corp("CR-ENR-B", "Gulf Coast Energy 5.6% 2036 (illustrative)", "USD", 600, "2036-02-15", 0.056, "BBB", "Energy"),
        corp("CR-EUBK-A", "Rhein Finanz AG 3.5% 2033 (illustrative)", "EUR", 600, "2033-10-10", 0.035, "A", "Financials"),
        corp("CR-UKUT-AA", "Thames Utilities 4.75% 2040 (illustrative)", "GBP", 400, "2040-12-01", 0.0475, "AA", "Utilities"),
        corp("CR-HY-IND", "Midwest Machinery 6.75% 2030 (illustrative)", "USD", 800, "2030-04-15", 0.0675, "BB", "Industrials"),
        corp("CR-HY-ENR", "Permian Resources Partners 8% 2029 (illustrative)", "USD", 450, "2029-11-01", 0.08, "B", "Energy"),
        corp("CR-HY-FIN", "Lakeside Consumer Finance 7% 2031 (illustrative)", "USD", 400, "2031-06-30", 0.07, "BB", "Financials"),
        {"id": "CASH-USD", "name": "USD cash", "asset_class": "cash", "instrument_type": "cash",
         "currency": "USD", "market_value": 750.0 * m},
    ]
    total = sum(p["market_value"] * (1.0 if p["currency"] == "USD" else FX[p["currency"]]) for p in positions)
    book = {
        "portfolio_id": "seed-pension",
        "name": "Seed pension (ILLUSTRATIVE)",
        "base_currency": "USD",
        "as_of": AS_OF,
        "total_market_value": round(total, 2),
        "fx_rates": FX,
        "liabilities": {"cash_flows": cash_flows, "discount_spread": 0.0},
        "market": MARKET,
        "positions": positions,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "events", "inputs", "seed_pension.json")
    with open(out, "w") as f:
        json.dump(book, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(out)}: assets USD {total/1e9:.3f}bn, liabilities PV USD {liabilities_pv_usd/1e9:.3f}bn")


if __name__ == "__main__":
    main()
