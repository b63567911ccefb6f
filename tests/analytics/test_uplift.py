"""The holdout statistics (``analytics.uplift``) on their own: known values worked out by
hand or from the papers, edge cases, and simulated experiments with a known true effect.

The simulations are seeded (the same draws every run) and vectorised: 100 experiments are
one NumPy call. ``scripts/experiment_coverage.py`` prints the same figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics import uplift

# Purchase rates of the example: 2.0 % without try-on, 2.5 % with it.
HOLDOUT_RATE, TREATMENT_RATE = 0.020, 0.025
RUNS = 100


def test_wilson_matches_the_worked_example() -> None:
    # Newcombe (1998), table I: 81 of 263 -> 0.2553 to 0.3662.
    low, high = uplift.wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    # Zero successes: the lower bound is 0, the upper 3.84 / (n + 3.84).
    low, high = uplift.wilson(0, 10)
    assert low == 0
    assert math.isclose(high, 1.96**2 / (10 + 1.96**2), rel_tol=1e-3)


def test_newcombe_difference_matches_the_paper() -> None:
    # Newcombe (1998), table II example (a): 56/70 - 48/80 -> 0.0524 to 0.3339 (method 10).
    low, high = uplift.newcombe_difference(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_mover_ratio_contains_the_estimate_and_is_wider_upwards() -> None:
    low, high = uplift.mover_ratio(250, 10_000, 200, 10_000)
    assert low < 1.25 < high
    assert high - 1.25 > 1.25 - low  # a ratio's interval is skewed to the right
    _, high = uplift.mover_ratio(5, 100, 0, 100)
    assert high == math.inf


def test_compare_rates_says_nothing_without_shoppers() -> None:
    got = uplift.compare_rates(0, 0, 3, 100)
    assert got.absolute.estimate is None
    assert got.relative.low is None
    assert got.holdout_rate.estimate == 0.03
    # A holdout without purchases has no relative uplift, but an absolute one.
    got = uplift.compare_rates(3, 100, 0, 100)
    assert got.relative.estimate is None
    assert got.absolute.estimate == 0.03


def _simulate_rates(n_per_arm: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xt = rng.binomial(n_per_arm, TREATMENT_RATE, RUNS)
    xh = rng.binomial(n_per_arm, HOLDOUT_RATE, RUNS)
    low, high = uplift.newcombe_difference(xt, n_per_arm, xh, n_per_arm)
    rlow, rhigh = uplift.mover_ratio(xt, n_per_arm, xh, n_per_arm)
    truth = TREATMENT_RATE - HOLDOUT_RATE
    covered = (low <= truth) & (truth <= high)
    ratio = TREATMENT_RATE / HOLDOUT_RATE
    covered_ratio = (rlow <= ratio) & (ratio <= rhigh)
    return covered, covered_ratio, low > 0


def test_the_purchase_uplift_interval_covers_the_truth_in_90_of_100_runs() -> None:
    n_total = uplift.sample_size(HOLDOUT_RATE, TREATMENT_RATE / HOLDOUT_RATE - 1, 0.5)
    covered, covered_ratio, _ = _simulate_rates(n_total // 2, seed=19)
    assert covered.sum() >= 90
    assert covered_ratio.sum() >= 90


def test_the_interval_excludes_zero_at_the_sample_size_the_docs_call_enough() -> None:
    """At the size ``sample_size`` gives (80 % power) about 80 of 100 runs find the effect,
    at a quarter of it far fewer: the size is what the power claim says, not more or less."""
    n_total = uplift.sample_size(HOLDOUT_RATE, 0.25, 0.5)
    assert 27_000 < n_total < 28_500  # the normal approximation, worked by hand
    _, _, found = _simulate_rates(n_total // 2, seed=7)
    assert 72 <= found.sum() <= 90
    _, _, found_small = _simulate_rates(n_total // 8, seed=7)
    assert found_small.sum() < 45


def test_unequal_shares_need_more_shoppers() -> None:
    half = uplift.sample_size(0.02, 0.1, 0.5)
    tenth = uplift.sample_size(0.02, 0.1, 0.1)
    assert tenth > 2.5 * half
    with pytest.raises(ValueError, match="uplift of zero"):
        uplift.sample_size(0.02, 0.0, 0.5)
    with pytest.raises(ValueError, match="base rate"):
        uplift.sample_size(0.0, 0.1, 0.5)


def _spend(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    buyers = rng.binomial(n, rate)
    return rng.lognormal(mean=4.0, sigma=1.0, size=buyers)  # skewed order values


def test_the_revenue_interval_covers_the_truth_in_90_of_100_runs() -> None:
    n = 6000
    mean_order = math.exp(4.0 + 0.5)
    truth = (TREATMENT_RATE * 2 - HOLDOUT_RATE * 2) * mean_order
    rng = np.random.default_rng(2026)
    covered = 0
    for run in range(RUNS):
        vt, vh = _spend(rng, n, TREATMENT_RATE * 2), _spend(rng, n, HOLDOUT_RATE * 2)
        got = uplift.compare_means(vt, n, vh, n, replicates=400, seed=run)
        assert got.absolute.low is not None
        assert got.absolute.high is not None
        covered += got.absolute.low <= truth <= got.absolute.high
    assert covered >= 90


def test_the_revenue_interval_is_repeatable_and_handles_no_spend() -> None:
    rng = np.random.default_rng(1)
    vt, vh = _spend(rng, 2000, 0.03), _spend(rng, 2000, 0.02)
    first = uplift.compare_means(vt, 2000, vh, 2000)
    assert first == uplift.compare_means(vt, 2000, vh, 2000)
    assert first.absolute.low is not None
    assert first.absolute.low < first.absolute.estimate
    none = uplift.compare_means([], 100, [], 100)
    assert none.absolute.estimate == 0
    assert none.relative.estimate is None
    with pytest.raises(ValueError, match="more spenders"):
        uplift.compare_means([1.0, 2.0], 1, [], 10)


def test_with_many_buyers_welch_agrees_with_the_bootstrap() -> None:
    """Above ``BOOTSTRAP_MAX_SPENDERS`` buyers the report switches to Welch's interval, which
    is only right if the bootstrap would have said the same: within 5 % of the width."""
    rng = np.random.default_rng(11)
    n = 60_000
    vt, vh = _spend(rng, n, 0.05), _spend(rng, n, 0.04)
    assert min(vt.size, vh.size) > uplift.BOOTSTRAP_MAX_SPENDERS
    boot = uplift.compare_means(vt, n, vh, n, max_spenders=10**9)
    fast = uplift.compare_means(vt, n, vh, n)
    assert (boot.method, fast.method) == ("bootstrap", "welch")
    for a, b in ((boot.absolute, fast.absolute), (boot.relative, fast.relative)):
        assert None not in (a.low, a.high, b.low, b.high)
        assert a.low is not None
        assert a.high is not None
        assert b.low is not None
        assert b.high is not None
        width = a.high - a.low
        assert abs(a.low - b.low) < 0.05 * width
        assert abs(a.high - b.high) < 0.05 * width


def test_a_skewed_split_raises_the_mismatch_flag() -> None:
    fair = uplift.sample_ratio(9_020, 980, 0.1)
    assert not fair.mismatch
    assert fair.p_value is not None
    assert fair.p_value > 0.01
    skewed = uplift.sample_ratio(9_300, 700, 0.1)  # 7 % held out instead of 10 %
    assert skewed.mismatch
    assert skewed.p_value is not None
    assert skewed.p_value < 1e-6
    assert math.isclose(skewed.chi_square or 0, 300**2 / 1000 + 300**2 / 9000)
    assert not uplift.sample_ratio(0, 0, 0.1).mismatch


def test_assignment_is_uniform_and_honours_the_share() -> None:
    ids = [f"shopper-{i:06d}" for i in range(20_000)]
    buckets = np.array([uplift.assignment_bucket(i, "salt-a") for i in ids])
    counts, _ = np.histogram(buckets, bins=20, range=(0, 1))
    chi2 = float(((counts - 1000) ** 2 / 1000).sum())
    assert chi2 < 43.8  # the 0.1 % critical value of chi-square with 19 degrees of freedom
    held = sum(uplift.assigned_arm(i, "salt-a", 0.2) == "holdout" for i in ids)
    assert abs(held / len(ids) - 0.2) < 0.01
    # Another salt (a new experiment period) reshuffles who is held out.
    again = sum(
        uplift.assigned_arm(i, "salt-a", 0.2) == uplift.assigned_arm(i, "salt-b", 0.2) for i in ids
    )
    assert again < 0.8 * len(ids)


# The same pairs and values as sdk_js/test/experiment.test.ts: the SDK assigns the arm, the
# gateway checks it with this copy of the hash, so both are pinned to the same numbers.
AGREED = [
    ("shopper-00001", "salt-a", 0.4805026170797646),
    ("4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b", "9f3a0c6e1b2d4f58", 0.5273986423853785),
    ("x" * 64, "00", 0.8992529592942446),
    ("abcdefgh", "", 0.9336882035713643),
]


@pytest.mark.parametrize(("shopper", "salt", "value"), AGREED)
def test_the_hash_agrees_with_the_sdk(shopper: str, salt: str, value: float) -> None:
    assert uplift.assignment_bucket(shopper, salt) == value
    held = uplift.assigned_arm(shopper, salt, value + 1e-9)
    assert (held, uplift.assigned_arm(shopper, salt, value)) == ("holdout", "treatment")
