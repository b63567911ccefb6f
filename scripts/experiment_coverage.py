"""Coverage of the holdout's 95 % intervals on simulated traffic with a known true effect.

``make experiment-coverage`` (or ``.venv/bin/python scripts/experiment_coverage.py``):
100 seeded experiments with purchase rates of 2.0 % (holdout) and 2.5 % (treatment), half
the shoppers held out, at the sample size ``analytics.uplift.sample_size`` calls enough for a
25 % relative uplift; prints how many intervals cover the truth (nominal: 95) and how many
exclude zero (the power: nominal 80). Then the same for revenue per eligible shopper
(log-normal order values, Poisson bootstrap). The tests (tests/analytics/test_uplift.py)
assert the same properties.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from analytics import uplift

HOLDOUT, TREATMENT = 0.020, 0.025


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    runs = args.runs
    n_total = uplift.sample_size(HOLDOUT, TREATMENT / HOLDOUT - 1, 0.5)
    n = n_total // 2
    rng = np.random.default_rng(args.seed)
    xt, xh = rng.binomial(n, TREATMENT, runs), rng.binomial(n, HOLDOUT, runs)
    low, high = uplift.newcombe_difference(xt, n, xh, n)
    truth = TREATMENT - HOLDOUT
    rlow, rhigh = uplift.mover_ratio(xt, n, xh, n)
    ratio = TREATMENT / HOLDOUT
    print(f"purchase rate {HOLDOUT:.1%} -> {TREATMENT:.1%}, {n:,} shoppers per arm ({runs} runs)")
    print(
        f"  absolute uplift: {int(((low <= truth) & (truth <= high)).sum())}/{runs} cover the truth"
    )
    covered_ratio = int(((rlow <= ratio) & (ratio <= rhigh)).sum())
    print(f"  relative uplift: {covered_ratio}/{runs} cover the truth")
    print(f"  interval excludes zero in {int((low > 0).sum())}/{runs} (power 80 % planned)")
    shoppers = 6000
    mean_order = math.exp(4.5)
    truth_rev = (2 * TREATMENT - 2 * HOLDOUT) * mean_order
    covered = excluded = 0
    for run in range(runs):
        vt = rng.lognormal(4.0, 1.0, rng.binomial(shoppers, 2 * TREATMENT))
        vh = rng.lognormal(4.0, 1.0, rng.binomial(shoppers, 2 * HOLDOUT))
        got = uplift.compare_means(vt, shoppers, vh, shoppers, replicates=1000, seed=run)
        lo, hi = got.absolute.low, got.absolute.high
        assert lo is not None
        assert hi is not None
        covered += lo <= truth_rev <= hi
        excluded += lo > 0
    print(
        f"revenue per shopper {2 * HOLDOUT * mean_order:.2f} -> {2 * TREATMENT * mean_order:.2f}"
        f" (log-normal orders), {shoppers:,} shoppers per arm ({runs} runs)"
    )
    print(f"  absolute uplift: {covered}/{runs} cover the truth; {excluded}/{runs} exclude zero")


if __name__ == "__main__":
    main()
