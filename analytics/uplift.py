"""The statistics of a randomised holdout: pure functions, no I/O (docs/analytics.md says why
each method was chosen, for merchants).

Arms: ``treatment`` (shoppers who see the try-on button) and ``holdout`` (who do not). The
unit is the eligible shopper, counted whether or not they tried on (intention to treat).

* Rates (add to cart, purchase): each arm's rate has a **Wilson score** interval; the
  difference treatment - holdout has **Newcombe's hybrid score** interval (method 10 of
  Newcombe 1998), built from the two Wilson intervals; the ratio treatment / holdout has the
  **MOVER-R** interval (Donner & Zou 2012), built the same way. Both stay inside the possible
  range and keep close to their nominal coverage at the small rates (1-5 %) and counts a
  shop sees, where the Wald interval (rate +- 1.96 standard errors) is too narrow.
* Revenue per eligible shopper: most shoppers spend nothing and a few spend a lot, so the
  mean is skewed. Its interval comes from a **Poisson bootstrap** (each shopper weighted by a
  Poisson(1) draw, 2000 replicates, fixed seed, percentile interval): it makes no normality
  assumption about order values, handles the mass of zeros exactly, and is repeatable (the
  same data always give the same interval). Once both arms have more than
  ``BOOTSTRAP_MAX_SPENDERS`` buyers the mean is close to normal whatever the skew (the
  Berry-Esseen bound shrinks with the square root of the buyers) and the bootstrap, whose cost
  grows with the buyers, gives the same interval as **Welch's** normal interval (a test checks
  it): the report then uses Welch (delta method on the log ratio for the relative uplift).
* **Sample ratio mismatch**: a chi-square goodness-of-fit test of the arms' sizes against the
  configured share; ``p < 0.001`` raises the flag (a broken assignment, a caching layer or a
  bot skewing one arm makes every other figure untrustworthy).
* **Sample size**: eligible shoppers needed to detect a relative uplift of the purchase rate
  with a two-sided 5 % test and 80 % power, for the holdout's share.

Functions taking counts accept NumPy arrays as well as numbers (the coverage simulation
evaluates 100 experiments at once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

CONFIDENCE = 0.95
SRM_ALPHA = 0.001
BOOTSTRAP_REPLICATES = 2000
BOOTSTRAP_SEED = 20261207
BOOTSTRAP_MAX_SPENDERS = 2000
POWER = 0.8

FloatArray = NDArray[np.float64]


def z_value(confidence: float = CONFIDENCE) -> float:
    """The two-sided standard normal quantile (1.96 for 95 %)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: ArrayLike, n: ArrayLike, confidence: float = CONFIDENCE) -> tuple[Any, Any]:
    """Wilson score interval of a proportion; ``(nan, nan)`` where ``n`` is 0."""
    x = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        centre = (p + z * z / (2 * m)) / (1 + z * z / m)
        half = (z / (1 + z * z / m)) * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    # Exactly 0 and 1 at the ends, not a rounding error away from them.
    low = np.where(x == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(x == m, 1.0, np.clip(centre + half, 0, 1))
    return _out(low), _out(high)


def newcombe_difference(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, confidence: float = CONFIDENCE
) -> tuple[Any, Any]:
    """Interval of ``x1/n1 - x2/n2`` (Newcombe's hybrid score method, from Wilson limits)."""
    p1 = np.asarray(x1, dtype=np.float64) / np.asarray(n1, dtype=np.float64)
    p2 = np.asarray(x2, dtype=np.float64) / np.asarray(n2, dtype=np.float64)
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return _out(low), _out(high)


def mover_ratio(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, confidence: float = CONFIDENCE
) -> tuple[Any, Any]:
    """Interval of the ratio ``(x1/n1) / (x2/n2)`` (MOVER-R with Wilson limits).

    The upper limit is ``inf`` when ``x2`` is 0; both are ``nan`` when either ``n`` is 0.
    """
    p1 = np.asarray(x1, dtype=np.float64) / np.asarray(n1, dtype=np.float64)
    p2 = np.asarray(x2, dtype=np.float64) / np.asarray(n2, dtype=np.float64)
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    l1, u1, l2, u2 = (np.asarray(v, dtype=np.float64) for v in (l1, u1, l2, u2))
    pp = p1 * p2
    with np.errstate(divide="ignore", invalid="ignore"):
        low = (pp - np.sqrt(np.maximum(pp * pp - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0))) / (
            u2 * (2 * p2 - u2)
        )
        high = (pp + np.sqrt(np.maximum(pp * pp - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0))) / (
            l2 * (2 * p2 - l2)
        )
    high = np.where((l2 <= 0) & (p2 >= 0), np.inf, high)
    low = np.where(p1 == 0, 0.0, low)
    return _out(low), _out(high)


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float | None
    low: float | None
    high: float | None
    """``None`` where the data cannot say (no shoppers, a zero baseline for a ratio's bound)."""

    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


@dataclass(frozen=True, slots=True)
class RateComparison:
    treatment_rate: Interval
    holdout_rate: Interval
    absolute: Interval
    """Treatment rate minus holdout rate (percentage points when times 100)."""
    relative: Interval
    """Treatment rate over holdout rate, minus 1."""


def compare_rates(
    x_treatment: int, n_treatment: int, x_holdout: int, n_holdout: int
) -> RateComparison:
    """Both rates with Wilson intervals, their difference (Newcombe) and relative uplift
    (MOVER-R)."""
    rt = _rate_interval(x_treatment, n_treatment)
    rh = _rate_interval(x_holdout, n_holdout)
    if n_treatment == 0 or n_holdout == 0:
        none = Interval(None, None, None)
        return RateComparison(rt, rh, none, none)
    pt, ph = x_treatment / n_treatment, x_holdout / n_holdout
    lo, hi = newcombe_difference(x_treatment, n_treatment, x_holdout, n_holdout)
    absolute = Interval(pt - ph, _f(lo), _f(hi))
    if x_holdout == 0:
        relative = Interval(None, None, None)
    else:
        rlo, rhi = mover_ratio(x_treatment, n_treatment, x_holdout, n_holdout)
        relative = Interval(pt / ph - 1, _f(rlo - 1), _f(rhi - 1))
    return RateComparison(rt, rh, absolute, relative)


def _rate_interval(x: int, n: int) -> Interval:
    if n == 0:
        return Interval(None, None, None)
    lo, hi = wilson(x, n)
    return Interval(x / n, _f(lo), _f(hi))


# -- revenue per eligible shopper ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeanComparison:
    treatment_mean: float | None
    holdout_mean: float | None
    absolute: Interval
    relative: Interval
    method: str = "bootstrap"
    """``bootstrap`` (Poisson, percentile) or ``welch`` (normal, for many buyers)."""


def poisson_bootstrap_sums(
    values: FloatArray, zeros: int, replicates: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Per replicate, the weighted sum of ``values`` and the weighted count of shoppers
    (``values`` the non-zero spenders, ``zeros`` the shoppers who spent nothing)."""
    sums = np.empty(replicates)
    counts = np.empty(replicates)
    # Chunks keep the weight matrix small for shops with many buyers.
    step = max(1, min(replicates, 4_000_000 // max(1, values.size)))
    for start in range(0, replicates, step):
        stop = min(replicates, start + step)
        weights = rng.poisson(1.0, size=(stop - start, values.size))
        sums[start:stop] = weights @ values
        counts[start:stop] = weights.sum(axis=1) + rng.poisson(zeros, size=stop - start)
    return sums, counts


def compare_means(
    treatment_values: ArrayLike,
    n_treatment: int,
    holdout_values: ArrayLike,
    n_holdout: int,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
    max_spenders: int = BOOTSTRAP_MAX_SPENDERS,
) -> MeanComparison:
    """Mean spend per shopper in each arm and the uplift's percentile bootstrap intervals.

    ``*_values``: the total spent by each shopper who spent something (the other shoppers of
    the arm, up to ``n_*``, spent nothing).
    """
    vt = np.asarray(treatment_values, dtype=np.float64)
    vh = np.asarray(holdout_values, dtype=np.float64)
    if vt.size > n_treatment or vh.size > n_holdout:
        raise ValueError("more spenders than shoppers in an arm")
    none = Interval(None, None, None)
    if n_treatment == 0 or n_holdout == 0:
        return MeanComparison(
            float(vt.sum() / n_treatment) if n_treatment else None,
            float(vh.sum() / n_holdout) if n_holdout else None,
            none,
            none,
        )
    mt, mh = float(vt.sum() / n_treatment), float(vh.sum() / n_holdout)
    if min(vt.size, vh.size) > max_spenders:
        return welch(vt, n_treatment, vh, n_holdout, confidence=confidence)
    rng = np.random.default_rng(seed)
    st, ct = poisson_bootstrap_sums(vt, n_treatment - vt.size, replicates, rng)
    sh, ch = poisson_bootstrap_sums(vh, n_holdout - vh.size, replicates, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        bt, bh = st / np.maximum(ct, 1), sh / np.maximum(ch, 1)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(bt - bh, [tail, 100 - tail])
    absolute = Interval(mt - mh, float(lo), float(hi))
    if mh == 0:
        return MeanComparison(mt, mh, absolute, none)
    ratios = bt[bh > 0] / bh[bh > 0] - 1
    rlo, rhi = np.percentile(ratios, [tail, 100 - tail])
    return MeanComparison(mt, mh, absolute, Interval(mt / mh - 1, float(rlo), float(rhi)))


def welch(
    treatment_values: ArrayLike,
    n_treatment: int,
    holdout_values: ArrayLike,
    n_holdout: int,
    *,
    confidence: float = CONFIDENCE,
) -> MeanComparison:
    """Welch's normal interval of the difference of mean spend per shopper (zeros for the
    shoppers beyond the spenders), and the delta method's on the log of their ratio."""
    z = z_value(confidence)
    stats = []
    for values, n in ((treatment_values, n_treatment), (holdout_values, n_holdout)):
        v = np.asarray(values, dtype=np.float64)
        mean = float(v.sum() / n)
        var = float((np.square(v).sum() - n * mean * mean) / max(n - 1, 1))
        stats.append((mean, max(var, 0.0) / n))
    (mt, vt), (mh, vh) = stats
    half = z * math.sqrt(vt + vh)
    absolute = Interval(mt - mh, mt - mh - half, mt - mh + half)
    if mt <= 0 or mh <= 0:
        return MeanComparison(mt, mh, absolute, Interval(None, None, None), "welch")
    log_half = z * math.sqrt(vt / (mt * mt) + vh / (mh * mh))
    ratio = mt / mh
    relative = Interval(ratio - 1, ratio * math.exp(-log_half) - 1, ratio * math.exp(log_half) - 1)
    return MeanComparison(mt, mh, absolute, relative, "welch")


# -- sample ratio mismatch and sample size -------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleRatio:
    expected_holdout_share: float
    observed_holdout_share: float | None
    chi_square: float | None
    p_value: float | None
    mismatch: bool


def sample_ratio(n_treatment: int, n_holdout: int, holdout_share: float) -> SampleRatio:
    """Chi-square goodness of fit (1 degree of freedom) of the arm sizes to the share."""
    total = n_treatment + n_holdout
    if total == 0 or not 0 < holdout_share < 1:
        return SampleRatio(holdout_share, None, None, None, False)
    expected_h = total * holdout_share
    expected_t = total - expected_h
    chi2 = (n_holdout - expected_h) ** 2 / expected_h + (n_treatment - expected_t) ** 2 / expected_t
    # The chi-square survival function with one degree of freedom.
    p = math.erfc(math.sqrt(chi2 / 2))
    return SampleRatio(holdout_share, n_holdout / total, chi2, p, p < SRM_ALPHA)


def sample_size(
    base_rate: float,
    relative_uplift: float,
    holdout_share: float,
    *,
    confidence: float = CONFIDENCE,
    power: float = POWER,
) -> int:
    """Eligible shoppers (both arms) to detect ``relative_uplift`` of a ``base_rate`` with a
    two-sided test at ``1 - confidence`` and the given power, ``holdout_share`` of them held
    out (the normal approximation for two proportions, pooled variance under the null)."""
    if not 0 < base_rate < 1:
        raise ValueError("the base rate is a proportion strictly between 0 and 1")
    if not 0 < holdout_share < 1:
        raise ValueError("the holdout share is strictly between 0 and 1")
    p0 = base_rate
    p1 = min(base_rate * (1 + relative_uplift), 1 - 1e-9)
    if p1 == p0:
        raise ValueError("an uplift of zero cannot be detected")
    h, t = holdout_share, 1 - holdout_share
    za, zb = z_value(confidence), NormalDist().inv_cdf(power)
    pbar = t * p1 + h * p0
    null_sd = math.sqrt(pbar * (1 - pbar) * (1 / t + 1 / h))
    alt_sd = math.sqrt(p1 * (1 - p1) / t + p0 * (1 - p0) / h)
    return math.ceil(((za * null_sd + zb * alt_sd) / (p1 - p0)) ** 2)


# -- the hash that assigns arms ------------------------------------------------------------


def assignment_bucket(shopper_id: str, salt: str) -> float:
    """The shopper's place in [0, 1) for this experiment: FNV-1a (32 bit) over
    ``salt + ":" + shopper_id`` then MurmurHash3's finaliser (so that ids differing in one
    character land far apart). The SDK computes the same (``sdk_js/src/experiment.ts``);
    ids and salts are ASCII."""
    h = 0x811C9DC5
    for ch in f"{salt}:{shopper_id}":
        h ^= ord(ch) & 0xFFFF
        h = (h * 0x01000193) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h / 2**32


def assigned_arm(shopper_id: str, salt: str, holdout_share: float) -> str:
    """``holdout`` when the shopper's bucket is below the share, else ``treatment``."""
    return "holdout" if assignment_bucket(shopper_id, salt) < holdout_share else "treatment"


def _out(values: Any) -> Any:
    array = np.asarray(values, dtype=np.float64)
    return float(array) if array.ndim == 0 else array


def _f(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number
