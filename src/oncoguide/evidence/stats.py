"""Statistics for study-level data: proportions with exact and Wilson intervals, two- and
several-group comparisons, and random-effects meta-analysis of proportions on the logit scale.

Zero-event (or all-event) studies: for the logit transform, 0.5 is added to the events and to the
non-events of that study only (so n grows by 1), as metafor's escalc does by default (add=1/2,
to="only0"); pooled raw counts and their exact intervals never use the correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special  # scipy.stats alone takes ~0.5 s to import; special has what we need


@dataclass(frozen=True)
class Proportion:
    x: int
    n: int
    p: float
    low: float
    high: float
    method: str

    def percent(self, digits: int = 1) -> str:
        return f"{100 * self.p:.{digits}f}%"

    def describe(self, digits: int = 1) -> str:
        return (
            f"{self.x}/{self.n} ({100 * self.p:.{digits}f}%; 95% CI {100 * self.low:.{digits}f}-"
            f"{100 * self.high:.{digits}f}%)"
        )


def p_text(p: float) -> str:
    """A P value as journals print it: "P < .001", "P = .042", "P > .99" (never "p = 0.000")."""
    if p > 0.99:
        return "P > .99"
    if p < 0.001:
        return "P < .001"
    return f"P = {p:.3f}".replace("0.", ".", 1)


def _check(x: int, n: int) -> None:
    if n <= 0:
        raise ValueError(f"n must be positive (got {n})")
    if x < 0 or x > n:
        raise ValueError(f"count {x} is outside 0..{n}")


def _z(level: float) -> float:
    return float(special.ndtri(1 - (1 - level) / 2))


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher's exact test for [[a, b], [c, d]]: the summed probability of every table with
    the same margins that is no more likely than the one observed."""
    r1, c1, n = a + b, a + c, a + b + c + d

    def logp(k: int) -> float:
        return (
            math.lgamma(r1 + 1)
            - math.lgamma(k + 1)
            - math.lgamma(r1 - k + 1)
            + math.lgamma(n - r1 + 1)
            - math.lgamma(c1 - k + 1)
            - math.lgamma(n - r1 - c1 + k + 1)
            - math.lgamma(n + 1)
            + math.lgamma(c1 + 1)
            + math.lgamma(n - c1 + 1)
        )

    lo, hi = max(0, c1 - (n - r1)), min(r1, c1)
    observed = logp(a)
    total = sum(math.exp(lp) for lp in (logp(k) for k in range(lo, hi + 1)) if lp <= observed + 1e-7)
    return min(1.0, total)


def clopper_pearson(x: int, n: int, level: float = 0.95) -> Proportion:
    """Exact binomial interval."""
    _check(x, n)
    a = 1 - level
    low = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, a / 2))
    high = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - a / 2))
    return Proportion(x, n, x / n, low, high, "Clopper-Pearson")


def wilson(x: int, n: int, level: float = 0.95) -> Proportion:
    """Wilson score interval."""
    _check(x, n)
    z = _z(level)
    p = x / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return Proportion(x, n, p, max(0.0, centre - half), min(1.0, centre + half), "Wilson")


@dataclass(frozen=True)
class Comparison:
    a: Proportion
    b: Proportion
    risk_difference: float
    rd_low: float
    rd_high: float
    p_value: float
    test: str


def compare_two(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Comparison:
    """Fisher's exact test (two-sided) and the risk difference with Newcombe's hybrid score interval."""
    w1, w2 = wilson(x1, n1, level), wilson(x2, n2, level)
    p = fisher_exact(x1, n1 - x1, x2, n2 - x2)
    rd = w1.p - w2.p
    low = rd - math.sqrt((w1.p - w1.low) ** 2 + (w2.high - w2.p) ** 2)
    high = rd + math.sqrt((w1.high - w1.p) ** 2 + (w2.p - w2.low) ** 2)
    return Comparison(w1, w2, rd, low, high, float(p), "Fisher's exact (two-sided)")


def compare_several(counts: list[tuple[int, int]]) -> tuple[float, float, int]:
    """Chi-square test of homogeneity across groups given as (events, n): statistic, p-value, df."""
    if len(counts) < 2:
        raise ValueError("need at least two groups to compare")
    for x, n in counts:
        _check(x, n)
    total_x, total_n = sum(x for x, _ in counts), sum(n for _, n in counts)
    p_all = total_x / total_n
    if p_all in (0.0, 1.0):
        return 0.0, 1.0, len(counts) - 1
    chi2 = sum(
        (x - n * p_all) ** 2 / (n * p_all) + ((n - x) - n * (1 - p_all)) ** 2 / (n * (1 - p_all)) for x, n in counts
    )
    df = len(counts) - 1
    return float(chi2), float(special.chdtrc(df, chi2)), df


@dataclass(frozen=True)
class MetaResult:
    method: str
    k: int
    estimate: float  # on the analysis scale (logit for proportions)
    se: float
    low: float
    high: float
    tau2: float
    q: float
    q_p: float
    i2: float  # percent
    h2: float
    pred_low: float
    pred_high: float

    def back(self, f) -> tuple[float, float, float, float, float]:
        return f(self.estimate), f(self.low), f(self.high), f(self.pred_low), f(self.pred_high)


def _tau2_dl(y, v) -> float:
    w = [1 / vi for vi in v]
    sw = sum(w)
    mu = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw
    q = sum(wi * (yi - mu) ** 2 for wi, yi in zip(w, y, strict=True))
    c = sw - sum(wi * wi for wi in w) / sw
    return max(0.0, (q - (len(y) - 1)) / c) if c > 0 else 0.0


def _tau2_reml(y, v, tol: float = 1e-10, max_iter: int = 1000) -> float:
    tau2 = _tau2_dl(y, v)
    for _ in range(max_iter):
        w = [1 / (vi + tau2) for vi in v]
        sw = sum(w)
        mu = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw
        num = sum(wi * wi * ((yi - mu) ** 2 - vi) for wi, yi, vi in zip(w, y, v, strict=True))
        new = max(0.0, num / sum(wi * wi for wi in w) + 1 / sw)
        if abs(new - tau2) < tol:
            return new
        tau2 = new
    return tau2


def _tau2_pm(y, v) -> float:
    k = len(y)

    def excess(t2):
        w = [1 / (vi + t2) for vi in v]
        sw = sum(w)
        mu = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw
        return sum(wi * (yi - mu) ** 2 for wi, yi in zip(w, y, strict=True)) - (k - 1)

    if excess(0.0) <= 0:
        return 0.0
    lo, hi = 0.0, 1.0
    while excess(hi) > 0:
        hi *= 2
    for _ in range(200):  # bisection: excess() falls as tau2 grows
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def meta_analysis(y: list[float], v: list[float], method: str = "REML", level: float = 0.95) -> MetaResult:
    """Inverse-variance meta-analysis: EE (common effect), DL, REML or PM between-study variance."""
    if len(y) != len(v) or len(y) < 2:
        raise ValueError("need at least two studies, each with an estimate and a variance")
    if any(vi <= 0 for vi in v):
        raise ValueError("every study needs a positive variance")
    k = len(y)
    tau2 = {
        "EE": lambda: 0.0,
        "DL": lambda: _tau2_dl(y, v),
        "REML": lambda: _tau2_reml(y, v),
        "PM": lambda: _tau2_pm(y, v),
    }.get(method)
    if tau2 is None:
        raise ValueError(f"unknown method '{method}'; use EE, DL, REML or PM")
    t2 = tau2()
    w = [1 / (vi + t2) for vi in v]
    sw = sum(w)
    mu = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw
    se = math.sqrt(1 / sw)
    z = _z(level)
    w0 = [1 / vi for vi in v]
    mu0 = sum(wi * yi for wi, yi in zip(w0, y, strict=True)) / sum(w0)
    q = sum(wi * (yi - mu0) ** 2 for wi, yi in zip(w0, y, strict=True))
    # I2 and H2 as metafor computes them, from the typical within-study variance
    s0 = sum(w0)
    typical = (k - 1) / (s0 - sum(wi * wi for wi in w0) / s0)
    i2 = 100 * t2 / (t2 + typical)
    h2 = (t2 + typical) / typical
    pred_se = math.sqrt(se * se + t2)
    return MetaResult(
        method,
        k,
        mu,
        se,
        mu - z * se,
        mu + z * se,
        t2,
        q,
        float(special.chdtrc(k - 1, q)),
        i2,
        h2,
        mu - z * pred_se,
        mu + z * pred_se,
    )


def logit_proportion(x: int, n: int) -> tuple[float, float, bool]:
    """Logit of x/n and its variance; 0.5 is added to both cells when x is 0 or n (returns corrected?)."""
    _check(x, n)
    corrected = x == 0 or x == n
    a, b = (x + 0.5, n - x + 0.5) if corrected else (x, n - x)
    return math.log(a / b), 1 / a + 1 / b, corrected


def expit(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def meta_proportions(counts: list[tuple[int, int]], method: str = "REML") -> tuple[MetaResult, int]:
    """Random-effects meta-analysis of proportions on the logit scale; returns the result and how
    many studies needed the zero-event correction."""
    ys, vs, fixed = [], [], 0
    for x, n in counts:
        y, v, c = logit_proportion(x, n)
        ys.append(y)
        vs.append(v)
        fixed += c
    return meta_analysis(ys, vs, method), fixed
