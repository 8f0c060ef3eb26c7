"""Independent values for stresslab-pricing's tests, from QuantLib-Python.

Rerun:  python3 -m venv /tmp/venv-ql && /tmp/venv-ql/bin/pip install QuantLib numpy scipy
        /tmp/venv-ql/bin/python shared/pricing/tests/oracle/quantlib_oracle.py
Printed with repr() so the Rust tests can paste the exact doubles. Each section names
the QuantLib test it reproduces (test-suite/*.cpp) and dumps the schedule as year
fractions on the time axis the Rust crate uses.
"""
import QuantLib as ql

print("QuantLib", ql.__version__)

# --- 1. Garman-Kohlhagen: europeanoption.cpp testValues, row
#     { Call, K=1.60, S=1.56, q=r_f=0.08, r=r_d=0.06, t=0.50, vol=0.12, value=0.0291 }
def gk(kind, S, K, rd, rf, vol, t_days):
    today = ql.Date(15, ql.May, 1998)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual360()
    spot = ql.QuoteHandle(ql.SimpleQuote(S))
    d = ql.YieldTermStructureHandle(ql.FlatForward(today, rd, dc))
    f = ql.YieldTermStructureHandle(ql.FlatForward(today, rf, dc))
    v = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc))
    # Garman-Kohlhagen = Black-Scholes-Merton with the foreign curve as dividend yield
    # (the Python wrapper does not export GarmanKohlhagenProcess).
    proc = ql.BlackScholesMertonProcess(spot, f, d, v)
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(kind, K), ql.EuropeanExercise(today + t_days))
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
    return opt.NPV(), opt.delta(), opt.vega()

print("\n# GK call  S=1.56 K=1.60 rd=0.06 rf=0.08 vol=0.12 T=0.5 (180d Act360)")
print("call (npv, delta, vega) =", [repr(x) for x in gk(ql.Option.Call, 1.56, 1.60, 0.06, 0.08, 0.12, 180)])
print("put  (npv, delta, vega) =", [repr(x) for x in gk(ql.Option.Put, 1.56, 1.60, 0.06, 0.08, 0.12, 180)])
print("# GK put  S=1.10 K=1.05 rd=0.045 rf=0.03 vol=0.09 T=1.0 (360d Act360)")
print("put  (npv, delta, vega) =", [repr(x) for x in gk(ql.Option.Put, 1.10, 1.05, 0.045, 0.03, 0.09, 360)])

# --- 2. Black and Bachelier formulas (QuantLib blackformula.hpp)
print("\n# blackFormula(Call, K=0.06, F=0.05, stdDev=0.2*sqrt(5), discount=4.2)")
print(repr(ql.blackFormula(ql.Option.Call, 0.06, 0.05, 0.2 * 5 ** 0.5, 4.2)))
print("# bachelierBlackFormula(Put, K=0.03, F=0.035, stdDev=0.008*sqrt(2), discount=7.5)")
print(repr(ql.bachelierBlackFormula(ql.Option.Put, 0.03, 0.035, 0.008 * 2 ** 0.5, 7.5)))
print("# bachelierBlackFormula(Call, K=0.03, F=0.035, stdDev=0.008*sqrt(2), discount=7.5)")
print(repr(ql.bachelierBlackFormula(ql.Option.Call, 0.03, 0.035, 0.008 * 2 ** 0.5, 7.5)))

# --- 3. Swaption: swaption.cpp testCachedValue (cached 0.036421429684 with indexed
#     coupons, 0.036418158579 with at-par coupons). Unit notional.
def swaption_case(indexed):
    if indexed:
        ql.IborCoupon.createIndexedCoupons()
    else:
        ql.IborCoupon.createAtParCoupons()
    today = ql.Date(13, ql.March, 2002)
    settlement = ql.Date(15, ql.March, 2002)
    ql.Settings.instance().evaluationDate = today
    ts = ql.RelinkableYieldTermStructureHandle()
    ts.linkTo(ql.FlatForward(settlement, 0.05, ql.Actual365Fixed()))
    index = ql.Euribor6M(ts)
    calendar = index.fixingCalendar()
    exercise = calendar.advance(settlement, 5, ql.Years)
    start = calendar.advance(exercise, 2, ql.Days)
    swap = ql.MakeVanillaSwap(ql.Period(10, ql.Years), index, 0.06, ql.Period(0, ql.Days),
                              effectiveDate=start, fixedLegTenor=ql.Period(1, ql.Years),
                              fixedLegDayCount=ql.Thirty360(ql.Thirty360.BondBasis),
                              swapType=ql.Swap.Payer, nominal=1.0)
    swaption = ql.Swaption(swap, ql.EuropeanExercise(exercise))
    vol = ql.QuoteHandle(ql.SimpleQuote(0.20))
    swaption.setPricingEngine(ql.BlackSwaptionEngine(ts, vol, ql.Actual365Fixed()))
    swap.setPricingEngine(ql.DiscountingSwapEngine(ts))
    act365 = ql.Actual365Fixed()
    t = lambda d: act365.yearFraction(settlement, d)
    print(f"\n# swaption 5y x 10y, {'indexed' if indexed else 'at-par'} coupons")
    print("npv =", repr(swaption.NPV()))
    print("swap.fairRate =", repr(swap.fairRate()), " annuity =", repr(abs(swap.fixedLegBPS()) / 1e-4))
    print("expiry (Act365 from today) =", repr(act365.yearFraction(today, exercise)))
    print("fixed start (Act365 from settlement) =", repr(t(start)))
    fixed = [ql.as_fixed_rate_coupon(c) for c in swap.fixedLeg()]
    print("fixed pay times =", [repr(t(c.date())) for c in fixed])
    print("fixed accruals (30/360) =", [repr(c.accrualPeriod()) for c in fixed])
    if indexed:
        rows = []
        for c in swap.floatingLeg():
            c = ql.as_floating_rate_coupon(c)
            vd = index.valueDate(c.fixingDate())
            md = index.maturityDate(vd)
            rows.append((t(c.date()), c.accrualPeriod(), t(vd), t(md),
                         index.dayCounter().yearFraction(vd, md)))
        print("float (pay, accrual, index start, index end, index tau) =")
        for r in rows:
            print("   (" + ", ".join(repr(x) for x in r) + "),")

swaption_case(indexed=True)
swaption_case(indexed=False)

# --- 4. CDS: creditdefaultswap.cpp testCachedValue (fair 0.007517539081, NPV 295.0153398
#     per 10,000 for the protection seller). Times: Act360 from today (both curves use it).
ql.IborCoupon.createAtParCoupons()
today = ql.Date(9, ql.June, 2006)
ql.Settings.instance().evaluationDate = today
calendar = ql.TARGET()
hazard = ql.DefaultProbabilityTermStructureHandle(
    ql.FlatHazardRate(0, calendar, ql.QuoteHandle(ql.SimpleQuote(0.01234)), ql.Actual360()))
disc = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.06, ql.Actual360()))
issue = calendar.advance(today, -1, ql.Years)
maturity = calendar.advance(issue, 10, ql.Years)
schedule = ql.Schedule(issue, maturity, ql.Period(ql.Semiannual), calendar, ql.ModifiedFollowing,
                       ql.ModifiedFollowing, ql.DateGeneration.Forward, False)
cds = ql.CreditDefaultSwap(ql.Protection.Seller, 10000.0, 0.012, schedule, ql.ModifiedFollowing,
                           ql.Actual360(), True, True)
cds.setPricingEngine(ql.MidPointCdsEngine(hazard, 0.4, disc))
act360 = ql.Actual360()
print("\n# CDS midpoint: hazard 0.01234, r 0.06 (Act360), 120bp, R 0.4, notional 10000")
print("npv =", repr(cds.NPV()), " fairSpread =", repr(cds.fairSpread()),
      " couponLegBPS =", repr(cds.couponLegBPS()), " defaultLegNPV =", repr(cds.defaultLegNPV()))
print("periods (start, end, pay, accrual, mid-point by QL's integer-day rule) =")
for c in cds.coupons():
    c = ql.as_fixed_rate_coupon(c)
    if c.date() <= today:
        continue
    s, e = max(c.accrualStartDate(), today), c.accrualEndDate()
    mid = s + (e - s) // 2
    print("   (" + ", ".join(repr(x) for x in (act360.yearFraction(today, c.accrualStartDate()),
          act360.yearFraction(today, e), act360.yearFraction(today, c.date()), c.accrualPeriod(),
          act360.yearFraction(today, mid))) + "),")

# --- 5. Bond: 6% semi-annual 10y bullet, issued today, 30/360 (whole half-years),
#     yield 5% semi-annual; and a flat 4.5% continuous curve.
today = ql.Date(15, ql.January, 2020)
ql.Settings.instance().evaluationDate = today
sched = ql.Schedule(today, today + ql.Period(10, ql.Years), ql.Period(ql.Semiannual), ql.NullCalendar(),
                    ql.Unadjusted, ql.Unadjusted, ql.DateGeneration.Backward, False)
dc = ql.Thirty360(ql.Thirty360.BondBasis)
bond = ql.FixedRateBond(0, 1.0, sched, [0.06], dc)
y = ql.InterestRate(0.05, dc, ql.Compounded, ql.Semiannual)
print("\n# bond 6% s.a. 10y, face 1, yield 5% s.a. (30/360)")
print("dirty =", repr(ql.CashFlows.npv(bond.cashflows(), y, False, today)))
print("macaulay =", repr(ql.BondFunctions.duration(bond, y, ql.Duration.Macaulay, today)))
print("modified =", repr(ql.BondFunctions.duration(bond, y, ql.Duration.Modified, today)))
print("convexity =", repr(ql.BondFunctions.convexity(bond, y, today)))
price = ql.BondPrice(101.23, ql.BondPrice.Dirty)  # quoted per 100 face
print("yield at dirty 1.0123 =", repr(ql.BondFunctions.bondYield(bond, price, dc, ql.Compounded,
                                                                   ql.Semiannual, today, 1e-14, 200)))
curve = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.045, dc, ql.Continuous))
bond.setPricingEngine(ql.DiscountingBondEngine(curve))
print("dirty off flat 4.5% continuous =", repr(bond.dirtyPrice() / 100.0))
