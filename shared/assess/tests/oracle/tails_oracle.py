"""Independent reference figures for stresslab-assess's fat-tailed VaR backtest (numpy/scipy).

Rerun: python3 -m venv /tmp/venv-tails && /tmp/venv-tails/bin/pip install numpy scipy pandas
       /tmp/venv-tails/bin/python shared/assess/tests/oracle/tails_oracle.py
Independent of the Rust code: pandas for the date join, scipy.stats.t.logpdf for the
likelihood, scipy.optimize.minimize_scalar (bounded Brent) for the MLE, scipy.stats.t.ppf
for the quantiles, scipy.stats.chi2 for the p-values.
"""
import math
import sys

import numpy as np
import pandas as pd
import scipy
from scipy import optimize, stats

print("numpy", np.__version__, "scipy", scipy.__version__, "pandas", pd.__version__)
IN = "events/inputs/"
LAMBDA = 0.94
FIRST_DAY = "1991-01-01"
FIRST_FIT_YEARS = 5  # residuals of 1991–1995 for the first estimate; t scored from 1996
NU_BOUNDS = (2.05, 200.0)

stocks = pd.read_csv(IN + "sp500_20_stocks_daily_1990_2022.csv", index_col=0)
spx = pd.read_csv(IN + "sp500_index_daily_1990_2022.csv", index_col=0)
df = stocks.join(spx, how="inner")
dates = df.index[1:].to_numpy()
lr = np.diff(np.log(df.to_numpy()), axis=0)
books = {
    "equally weighted 20 stocks": lr[:, :20].mean(axis=1),
    "S&P 500 index": lr[:, 20],
}


def ewma(r):
    out = np.zeros_like(r)
    v = 0.0
    for i, x in enumerate(r):
        out[i] = v
        v = LAMBDA * v + (1 - LAMBDA) * x * x
    return out


start = int(np.argmax(dates >= FIRST_DAY))
resid = {}
sig = {}
for name, r in books.items():
    sig[name] = np.sqrt(ewma(r))
    resid[name] = r / sig[name]


def nll(nu, x):
    # Standardized Student-t: unit variance, scale sqrt((nu-2)/nu).
    return -stats.t.logpdf(x, nu, loc=0.0, scale=math.sqrt((nu - 2) / nu)).sum()


def fit(x):
    res = optimize.minimize_scalar(nll, bounds=NU_BOUNDS, args=(x,), method="bounded",
                                   options={"xatol": 1e-10})
    return res.x


def pooled(lo, hi):
    """Residuals of both books on days [lo, hi) (indices into dates)."""
    return np.concatenate([resid[n][lo:hi] for n in books])


years = sorted({d[:4] for d in dates[start:]})
first_scored_year = str(int(years[0]) + FIRST_FIT_YEARS)
# nu for each year from first_scored_year: fit on both books' residuals from start to the
# year's first day.
nu_of_year = {}
for y in years:
    if y < first_scored_year:
        continue
    hi = int(np.argmax(dates >= f"{y}-01-01"))
    nu_of_year[y] = fit(pooled(start, hi))
full_nu = fit(pooled(start, len(dates)))
print("pooled nu 1991-1995:", repr(nu_of_year[first_scored_year]))
print("pooled nu 1991-2022 (model):", repr(full_nu))
x0 = pooled(start, int(np.argmax(dates >= f"{first_scored_year}-01-01")))
print("n residuals first fit:", len(x0), "nll", repr(nll(nu_of_year[first_scored_year], x0)))
for y in sorted(nu_of_year):
    print(" ", y, repr(nu_of_year[y]))
for n in books:
    print("per-book nu full:", n, fit(resid[n][start:]))
# scipy.stats.t.fit with loc fixed 0 and the scale free, for comparison (not the same
# estimator: the scale is not tied to nu).
print("t.fit floc=0 on first window:", stats.t.fit(x0, floc=0))


def kupiec(n, x, p):
    r = x / n
    xl = lambda k, q: 0.0 if k == 0 else k * math.log(q)
    lr_ = -2 * (xl(n - x, 1 - p) + xl(x, p) - xl(n - x, 1 - r) - xl(x, r))
    return max(lr_, 0), stats.chi2.sf(max(lr_, 0), 1)


def christ(e, p):
    e = e.astype(int)
    t = np.zeros((2, 2), int)
    for a, b in zip(e[:-1], e[1:]):
        t[a, b] += 1
    (n00, n01), (n10, n11) = t
    xl = lambda k, q: 0.0 if k == 0 else k * math.log(q)
    rt = lambda a, b: 0.0 if a + b == 0 else b / (a + b)
    p01, p11, pi = rt(n00, n01), rt(n10, n11), rt(n00 + n10, n01 + n11)
    null = xl(n00 + n10, 1 - pi) + xl(n01 + n11, pi)
    alt = xl(n00, 1 - p01) + xl(n01, p01) + xl(n10, 1 - p11) + xl(n11, p11)
    ind = max(-2 * (null - alt), 0)
    pof, _ = kupiec(len(e), int(e.sum()), p)
    return stats.chi2.sf(ind, 1), stats.chi2.sf(pof + ind, 2)


t0 = int(np.argmax(dates >= f"{first_scored_year}-01-01"))
print("window", dates[t0], dates[-1], len(dates) - t0)
FHS_WINDOW_YEARS = 5


def fhs_q(name, c, y):
    """-numpy.quantile (linear) of the book's residuals of the 5 years before year y."""
    lo = max(int(np.argmax(dates >= f"{int(y) - FHS_WINDOW_YEARS}-01-01")), start)
    hi = int(np.argmax(dates >= f"{y}-01-01"))
    return -np.quantile(resid[name][lo:hi], 1 - c)


for name, r in books.items():
    for model in ["normal", "t", "fhs"]:
        for c in [0.95, 0.99]:
            if model == "normal":
                q = np.full(len(dates), stats.norm.ppf(c))
            elif model == "fhs":
                qy = {y: fhs_q(name, c, y) for y in nu_of_year}
                q = np.array([qy.get(d[:4], np.nan) for d in dates])
            else:
                q = np.array([math.sqrt((nu_of_year[d[:4]] - 2) / nu_of_year[d[:4]])
                              * stats.t.ppf(c, nu_of_year[d[:4]]) if d[:4] in nu_of_year else np.nan
                              for d in dates])
            e = r[t0:] < -q[t0:] * sig[name][t0:]
            x = int(e.sum())
            n = len(e)
            kp = kupiec(n, x, 1 - c)[1]
            ip, cp = christ(e, 1 - c)
            last = int(e[-250:].sum())
            wins = np.convolve(e.astype(int), np.ones(250, int), "valid")
            print(f"({name!r}, {model!r}, {c}, {x}, {last}, {kp!r}, {ip!r}, {cp!r}),"
                  f"  # green {np.mean(wins <= 4):.3f} yellow {np.mean((wins >= 5) & (wins <= 9)):.3f} red {np.mean(wins >= 10):.3f}")
