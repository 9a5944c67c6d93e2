"""XPO's time per round against the number of rounds T (Algorithm 1): a run of T rounds should cost O(T), i.e. a time
per round flat in T (log-log slope 0). ``xpo_sharpen`` evaluates each round's objective from running sufficient
statistics (``statistics=True``, the default here); the baseline is the same run on the buffer of all T rounds
(``statistics=False``: O(T) a step, so time per round grows with T). A call also pays a fixed cost (input checks,
dispatch) that would dominate small T, so the time per round is the marginal one, (t(T) − t(1))/(T − 1), with t(1)
the fastest call of a 1-round run."""

from __future__ import annotations

import time

import jax
import numpy as np
from scipy import stats

import sharpsim as ss
from benchmarks.kernels import random_base

REPEATS = 5  # timed calls per (T, path), after one call that compiles


def _times_per_round(base, model_class, rounds, statistics: bool) -> tuple[np.ndarray, list[float]]:
    """Marginal seconds per round [len(rounds), REPEATS] of repeated calls, and the first call's seconds
    (compilation included). The repeats go round-robin over T, so a change in the machine's load during the
    measurement lands on every T alike instead of bending the slope."""
    key = jax.random.PRNGKey(3)
    sizes = (1, *rounds)

    def call(num_rounds):
        result, _ = ss.xpo_sharpen(key, ss.Oracle(base), model_class, num_rounds, 0.5, 0.1, num_steps=20,
                                   num_validation=16, reward_range=8.0, value_range=8.0, statistics=statistics)
        return result.policy.probs

    def seconds(num_rounds):
        start = time.perf_counter()
        jax.block_until_ready(call(num_rounds))
        return time.perf_counter() - start

    first = [seconds(num_rounds) for num_rounds in sizes]
    totals = np.array([[seconds(num_rounds) for num_rounds in sizes] for _ in range(REPEATS)]).T
    marginal = (totals[1:] - totals[0].min()) / (np.asarray(rounds)[:, None] - 1)
    return marginal, first[1:]


def _slope(rounds, per_round: np.ndarray) -> tuple[float, float, float]:
    """Least-squares slope of log(time per round) on log T over every timed call, with its 95% t-interval (a call
    whose marginal time came out ≤ 0, timing noise swamping a small T, is left out; nan if fewer than 3 remain)."""
    x = np.repeat(np.log(rounds), per_round.shape[1])
    y = per_round.ravel()
    keep = y > 0
    if keep.sum() < 3 or np.unique(x[keep]).size < 2:
        return float("nan"), float("nan"), float("nan")
    fit = stats.linregress(x[keep], np.log(y[keep]))
    half = stats.t.ppf(0.975, keep.sum() - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)


def xpo_time_per_round(quick: bool) -> list[dict]:
    # T ≥ 64: below it the rounds' time is within the timing noise of t(1) on a loaded machine
    rounds = (64, 256) if quick else (64, 256, 1024, 4096)
    base = random_base(4, 16, seed=3)
    model_class = ss.TabularClass.like(base)
    ours, ours_first = _times_per_round(base, model_class, rounds, statistics=True)
    # the buffered run's T = 4096 would take minutes: its slope is clear by T = 1024
    buffered, _ = _times_per_round(base, model_class, rounds[:3] if not quick else rounds, statistics=False)
    slope, low, high = _slope(rounds, ours)
    buffer_slope, buffer_low, buffer_high = _slope(rounds[:len(buffered)], buffered)

    def listed(per_round, first=None):
        return ", ".join(f"T = {t}: {np.median(s) * 1e3:.3g} ms" + (f" ({f:.2g} s first call)" if first else "")
                         for t, s, f in zip(rounds, per_round, first or [None] * len(rounds)))

    return [{"benchmark": "XPO time per round",
             "setting": f"tabular class, |X| = 4, |Y| = 16, 20 Adam steps a round; marginal time per round "
                        f"(t(T) − t(1))/(T − 1), median of {REPEATS} repeated calls per T (the first call, with "
                        "compilation, in parentheses); slopes of log time per round on log T over all calls, 95% "
                        "t-intervals",
             "ours": f"running statistics: {listed(ours, ours_first)}; slope {slope:.2f} [{low:.2f}, {high:.2f}]",
             "baseline": f"buffer of all rounds: {listed(buffered)}; slope {buffer_slope:.2f} "
                         f"[{buffer_low:.2f}, {buffer_high:.2f}]",
             "ratio": slope,
             "meaning": "log-log slope of time per round on T (0: a run is linear in T)"}]
