"""Independent expected tranche losses for stresslab-pricing's tranche tests (numpy/scipy).

Rerun: /tmp/venv-ql/bin/python shared/pricing/tests/oracle/tranche_oracle.py
One-factor Gaussian copula, p(M) = Phi((Phi^-1(p) - sqrt(rho) M) / sqrt(1 - rho)).
Independent of the Rust code: adaptive quadrature (scipy.integrate.quad) over the factor
instead of Gauss-Legendre/Gauss-Hermite, the bivariate normal CDF for the Vasicek closed
form, the binomial pmf instead of the ASB recursion, and brute-force enumeration of
default sets for the heterogeneous pool.
"""
import itertools
import math

import numpy as np
import scipy
from scipy import integrate, stats

N = stats.norm
print("numpy", np.__version__, "scipy", scipy.__version__)


def cond_p(p, rho, m):
    return N.cdf((N.ppf(p) - math.sqrt(rho) * m) / math.sqrt(1.0 - rho))


def tranche_fraction(loss, a, d):
    return min(max((loss - a) / (d - a), 0.0), 1.0)


def lhp_quad(p, R, rho, a, d):
    f = lambda m: tranche_fraction((1 - R) * cond_p(p, rho, m), a, d) * N.pdf(m)
    kinks = []
    for k in (a, d):
        if 0 < k < 1 - R:
            kinks.append((N.ppf(p) - math.sqrt(1 - rho) * N.ppf(k / (1 - R))) / math.sqrt(rho))
    v, _ = integrate.quad(f, -12, 12, points=sorted(kinks), limit=500, epsabs=1e-15, epsrel=1e-13)
    return v


def lhp_closed(p, R, rho, a, d):
    """Vasicek: E[min(L, K)] = LGD * Phi2(C, -A_K; -sqrt(rho)) + K * Phi(A_K), with
    C = Phi^-1(p), A_K = (C - sqrt(1-rho) Phi^-1(K/LGD)) / sqrt(rho) (the factor level
    where the pool loss equals K)."""
    lgd, c = 1 - R, N.ppf(p)

    def emin(k):
        if k <= 0:
            return 0.0
        if k >= lgd:
            return lgd * p
        ak = (c - math.sqrt(1 - rho) * N.ppf(k / lgd)) / math.sqrt(rho)
        # P(default and M > A_K) = P(X < C, M > A_K), corr(X, M) = sqrt(rho).
        bvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, -math.sqrt(rho)], [-math.sqrt(rho), 1]])
        return lgd * bvn.cdf([c, -ak]) + k * N.cdf(ak)

    return (emin(d) - emin(a)) / (d - a)


def homogeneous_quad(n, p, R, rho, a, d):
    k = np.arange(n + 1)
    frac = np.clip(((1 - R) * k / n - a) / (d - a), 0, 1)
    f = lambda m: float(np.dot(stats.binom.pmf(k, n, cond_p(p, rho, m)), frac)) * N.pdf(m)
    v, _ = integrate.quad(f, -12, 12, limit=500, epsabs=1e-14, epsrel=1e-12)
    return v


def heterogeneous_quad(ps, weights, recoveries, rho, a, d):
    w = np.array(weights) / sum(weights)
    losses = (1 - np.array(recoveries)) * w

    def cond_el(m):
        q = [cond_p(p, rho, m) for p in ps]
        total = 0.0
        for defaults in itertools.product((0, 1), repeat=len(ps)):
            prob = np.prod([qi if di else 1 - qi for qi, di in zip(q, defaults)])
            total += prob * tranche_fraction(float(np.dot(defaults, losses)), a, d)
        return total

    v, _ = integrate.quad(lambda m: cond_el(m) * N.pdf(m), -12, 12, limit=500, epsabs=1e-14, epsrel=1e-12)
    return v


p = 1 - math.exp(-0.02 * 5.0)  # flat hazard 2%, 5 years
print("\n# LHP: p = 1 - exp(-0.02*5), R = 0.4, rho = 0.3; (a, d, quad, closed form)")
for a, d in [(0.0, 0.03), (0.03, 0.07), (0.07, 0.10), (0.10, 0.15), (0.15, 0.30)]:
    print(f"   ({a}, {d}, {lhp_quad(p, 0.4, 0.3, a, d)!r}, {lhp_closed(p, 0.4, 0.3, a, d)!r}),")

print("\n# homogeneous pool, same p, R = 0.4, rho = 0.3, tranche [3%, 7%]: (n, EL)")
for n in (10, 125):
    print(f"   ({n}, {homogeneous_quad(n, p, 0.4, 0.3, 0.03, 0.07)!r}),")

hz = [0.004, 0.01, 0.017, 0.021, 0.033]
ps = [1 - math.exp(-h * 5.0) for h in hz]
print("\n# heterogeneous pool: hazards", hz, "5y, weights [1,2,1,1,3], R [0.4,0.7,0.4,0.4,0.4],")
print("# rho = 0.25, tranche [5%, 25%]")
print(repr(heterogeneous_quad(ps, [1, 2, 1, 1, 3], [0.4, 0.7, 0.4, 0.4, 0.4], 0.25, 0.05, 0.25)))


# Why the Rust finite pool integrates the factor with composite Gauss-Legendre rather
# than 64-point Gauss-Hermite: errors of each rule against adaptive quad (src/tranche.rs).
def cond_el(n, m, R=0.4, rho=0.3, a=0.03, d=0.07):
    k = np.arange(n + 1)
    frac = np.clip(((1 - R) * k / n - a) / (d - a), 0, 1)
    return float(np.dot(stats.binom.pmf(k, n, cond_p(p, rho, m)), frac))


def gauss_hermite(n, nodes):
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return sum(wi * cond_el(n, xi) for xi, wi in zip(x, w / math.sqrt(2 * math.pi)))


def composite_legendre(n, panels=32, order=8, lo=-8.0, hi=8.0):
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(lo, hi, panels + 1)
    total = 0.0
    for left, right in zip(edges[:-1], edges[1:]):
        c, h = (left + right) / 2, (right - left) / 2
        total += sum(h * wi * cond_el(n, c + h * xi) * N.pdf(c + h * xi) for xi, wi in zip(x, w))
    return total


print("\n# factor quadrature error vs quad, tranche [3%, 7%], rho 0.3: (n, GH64, composite GL 32x8)")
for n in (125, 800):
    ref, _ = integrate.quad(lambda m: cond_el(n, m) * N.pdf(m), -12, 12, limit=1000, epsabs=1e-14, epsrel=1e-12)
    print(f"   ({n}, {gauss_hermite(n, 64) - ref:.3e}, {composite_legendre(n) - ref:.3e})")
