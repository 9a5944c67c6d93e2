"""Empirical sample complexity: the smallest budget at which an algorithm is (ε, δ)-sharp w.p. ≥ 1 − ρ.

The paper's guarantees (Theorem 4.1, D.1, …) have the form "with budget m ≥ m₀, with probability ≥ 1 − ρ over
the algorithm's randomness, π̂ is (ε, δ)-sharpened". The empirical counterpart, for one instance, is

    b*(ρ) = min{ b : P_seed[ success(seed, b) ] ≥ 1 − ρ },

where ``success`` runs the algorithm at budget b (m, or N at fixed n, or n at fixed N, or a scale along
a prescribed ray) and asks the exact referee whether π̂ is (ε, δ)-sharp. ``sample_complexity`` estimates it:

1. evaluate the success fraction at ``initial_budget`` over a fixed batch of seeds (the same keys at every
   budget: common random numbers make the empirical curve much closer to monotone in b);
2. double (or halve) until the fraction crosses 1 − ρ, then bisect the bracket — on a log grid, down to a
   relative width ``resolution``, or on the integer grid down to width 1;
3. do the same for the two interval predicates below, reusing every evaluation already made.

Estimate and interval are read off the table of evaluated (budget, successes, trials), assuming the success
probability is non-decreasing in the budget (``threshold_from_table``; experiments can recompute them from
the stored rows):

* estimate: the smallest evaluated budget from which on every evaluated fraction is ≥ 1 − ρ;
* lower: the same with the *upper* per-budget confidence bound in place of the fraction (below it, the
  last evaluated budget fails confidently);
* upper: the same with the *lower* per-budget confidence bound (from there on success is confident).

The per-budget intervals are Wilson score intervals by default (``interval="clopper_pearson"`` for exact,
conservative ones) at level ``confidence``; the interval on b* is not simultaneous over budgets, and its
resolution is that of the search grid. Note that the lower confidence bound of a fraction of n seeds can
only reach 1 − ρ when n ≳ z²(1 − ρ)/ρ (e.g. n ≥ 35 for ρ = 0.1 with Wilson at 95%): with fewer seeds
``upper`` is ``inf``.

Compile once. ``success_batch(keys, budget)`` is called with an int64 scalar ``budget``; it should be a
``jit``-compiled function of fixed shapes in which the budget is a traced value (pad to the largest budget
and mask: draw N_max samples and take best-of-N over the first N with ``running_best_index``, draw n_max
prompts and weight the first n). ``vectorize_success`` builds such a function from a per-seed one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.shapes import check_key_batch
from sharpsim.core.validation import as_float_array, check_allocation, check_in_interval, check_positive_int
from sharpsim.measure.arguments import check_callable
from sharpsim.measure.statistics import (
    SlopeFit,
    bootstrap_slope_interval,
    clopper_pearson_interval,
    fit_loglog_slope,
    wilson_interval,
)

INTERVALS = {"wilson": wilson_interval, "clopper_pearson": clopper_pearson_interval}
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class SampleComplexity:
    """The estimated threshold budget b*(ρ) with its interval and every evaluation behind it.

    ``estimate``, ``lower``, ``upper``: budgets (``inf`` when not reached within ``max_budget``);
    ``budgets``, ``successes``, ``trials``: every evaluated budget (sorted) with its counts;
    ``target`` = 1 − ρ; ``interval_method`` and ``confidence`` describe the per-budget intervals;
    ``converged``: the estimate was bracketed (some evaluated budget failed, or the minimum budget passed).
    """

    estimate: float
    lower: float
    upper: float
    target: float
    confidence: float
    interval_method: str
    budgets: np.ndarray
    successes: np.ndarray
    trials: np.ndarray
    converged: bool

    @property
    def fractions(self) -> np.ndarray:
        return self.successes / self.trials

    def records(self) -> dict[str, np.ndarray]:
        """Equal-length columns (one row per evaluated budget), ready for a sweep cell's table."""
        size = self.budgets.size
        return {"budget": self.budgets, "successes": self.successes, "trials": self.trials,
                "threshold_estimate": np.full(size, self.estimate), "threshold_lower": np.full(size, self.lower),
                "threshold_upper": np.full(size, self.upper), "converged": np.full(size, self.converged)}

    def describe(self, name: str = "b*") -> str:
        return (f"{name} = {self.estimate:g} [{self.lower:g}, {self.upper:g}] (success ≥ {self.target:g}; "
                f"{100 * self.confidence:.0f}% {self.interval_method} per budget; {self.budgets.size} budgets)")


def vectorize_success(success: Callable[[jax.Array, jax.Array], jax.Array]) -> Callable:
    """``success(key, budget) -> bool`` for one seed  ↦  jitted ``success_batch(keys, budget) -> bool[seeds]``.

    The budget is traced (one compilation for every budget); ``success`` must therefore use it only as a
    value (masks, comparisons), never as a shape.
    """
    return jax.jit(jax.vmap(check_callable(success, "success"), in_axes=(0, None)))


def threshold_from_table(budgets, successes, trials, target: float, confidence: float = 0.95,
                         interval: str = "wilson") -> tuple[float, float, float]:
    """(estimate, lower, upper) of b* from evaluated counts, assuming success is non-decreasing in b.

    Each is the smallest evaluated budget b such that the statistic — the fraction, its upper confidence
    bound, its lower confidence bound respectively — is ≥ ``target`` at b and at every larger evaluated budget;
    ``inf`` when the largest evaluated budget does not qualify.
    """
    target = check_in_interval(target, "target", 0.0, 1.0, closed_low=False, closed_high=True)
    budgets = as_float_array(budgets, "budgets")
    successes = as_float_array(successes, "successes")
    trials = as_float_array(trials, "trials")
    if not (budgets.ndim == 1 and budgets.shape == successes.shape == trials.shape and budgets.size > 0):
        raise ValueError("budgets, successes and trials must be non-empty 1-d arrays of one length, got shapes "
                         f"{budgets.shape}, {successes.shape}, {trials.shape}")
    bad = ~(np.isfinite(budgets) & (budgets > 0))
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"budgets must be positive and finite; entry {index} is {float(budgets[index])!r}")
    order = np.argsort(budgets)
    budgets, successes, trials = budgets[order], successes[order], trials[order]
    low, high = _interval(interval)(successes, trials, confidence)
    return (_smallest_passing_suffix(budgets, successes / trials >= target),
            _smallest_passing_suffix(budgets, high >= target),
            _smallest_passing_suffix(budgets, low >= target))


def sample_complexity(success_batch: Callable, keys: jax.Array, rho: float, *, initial_budget: int = 1,
                      min_budget: int = 1, max_budget: int = 2**24, grid: str = "log", resolution: float = 0.05,
                      interval: str = "wilson", confidence: float = 0.95) -> SampleComplexity:
    """Estimate b*(ρ) = min{b : P[success at b] ≥ 1 − ρ} by doubling then bisection (see the module docstring).

    Args:
      success_batch: ``(keys, budget) -> bool[seeds]`` (budget an int64 scalar; see ``vectorize_success``).
      keys: PRNG keys [seeds, 2]; the same keys are used at every budget (common random numbers).
      rho: failure probability ρ ∈ (0, 1); the target success fraction is 1 − ρ.
      initial_budget: where the search starts (e.g. the theorem's prediction); within [min_budget, max_budget].
      min_budget, max_budget: the search range (integers, min ≥ 1; budgets reach ``success_batch`` as int64, so the
        search stops at 2**63 − 1 whatever the max_budget).
      grid: "log" (bisect in log b down to relative width ``resolution``) or "integer" (down to width 1).
      interval: "wilson" or "clopper_pearson"; confidence: the level of the per-budget intervals.
    """
    success_batch = check_callable(success_batch, "success_batch")
    rho = check_in_interval(rho, "rho", 0.0, 1.0, False, False)
    min_budget = check_positive_int(min_budget, "min_budget")
    max_budget = check_positive_int(max_budget, "max_budget")
    if max_budget < min_budget:
        raise ValueError(f"max_budget must be ≥ min_budget={min_budget}, got {max_budget}")
    initial_budget = check_positive_int(initial_budget, "initial_budget")
    if initial_budget > INT64_MAX:
        raise ValueError(f"initial_budget must be at most 2**63 − 1 (budgets reach success_batch as int64), got "
                         f"{initial_budget}")
    if not min_budget <= initial_budget <= max_budget:
        raise ValueError(f"initial_budget must lie in [min_budget, max_budget] = [{min_budget}, {max_budget}], "
                         f"got {initial_budget}")
    if grid not in ("log", "integer"):
        raise ValueError(f"grid must be 'log' or 'integer', got {grid!r}")
    resolution = check_in_interval(resolution, "resolution", 0.0, np.inf, False, False)
    interval_function = _interval(interval)
    confidence = check_in_interval(confidence, "confidence", 0.0, 1.0, False, False)
    check_key_batch(keys)
    keys = jnp.asarray(keys)
    target = 1.0 - rho

    table: dict[int, tuple[int, int]] = {}

    def evaluate(budget: int) -> tuple[int, int]:
        if budget not in table:
            outcome = np.asarray(success_batch(keys, jnp.asarray(budget, dtype=jnp.int64)))
            if outcome.ndim != 1:
                raise ValueError(f"success_batch must return a 1-d boolean array (one entry per seed), "
                                 f"got shape {outcome.shape}")
            if outcome.dtype != np.bool_ and not (np.issubdtype(outcome.dtype, np.number)
                                                  and np.all((outcome == 0) | (outcome == 1))):
                raise ValueError(f"success_batch must return booleans (or 0/1) per seed, got dtype {outcome.dtype} "
                                 f"with values such as {outcome[:3].tolist()}")
            table[budget] = (int(outcome.astype(bool).sum()), int(outcome.size))
        return table[budget]

    def statistic(budget: int, which: str) -> float:
        successes, trials = evaluate(budget)
        if which == "fraction":
            return successes / trials
        low, high = interval_function(successes, trials, confidence)
        return float(high if which == "upper" else low)

    for which in ("fraction", "upper", "lower"):
        _search(lambda b, w=which: statistic(b, w) >= target, initial_budget, min_budget, min(max_budget, INT64_MAX),
                grid, resolution)

    budgets = np.array(sorted(table), dtype=np.int64)
    successes = np.array([table[b][0] for b in budgets], dtype=np.int64)
    trials = np.array([table[b][1] for b in budgets], dtype=np.int64)
    estimate, lower, upper = threshold_from_table(budgets, successes, trials, target, confidence, interval)
    bracketed = math.isfinite(estimate) and (estimate == budgets[0] == min_budget or estimate > budgets[0])
    return SampleComplexity(estimate, lower, upper, target, confidence, interval, budgets, successes, trials,
                            bool(bracketed))


def fit_complexity_slope(x, results: list[SampleComplexity], confidence: float = 0.95) -> SlopeFit:
    """Least-squares slope of log b* against log x across instances, with a t-interval (``fit_loglog_slope``).

    The t-interval reflects the scatter of the points about the line only; ``bootstrap_complexity_slope``
    adds the Monte-Carlo uncertainty of each threshold.
    """
    results = _check_results(x, results)
    estimates = np.array([r.estimate for r in results], dtype=np.float64)
    if not np.all(np.isfinite(estimates)):
        raise ValueError("every instance needs a finite threshold estimate to fit a slope; raise max_budget")
    return fit_loglog_slope(x, estimates, confidence)


def _check_results(x, results) -> list[SampleComplexity]:
    """One ``SampleComplexity`` per entry of the 1-d ``x``."""
    if isinstance(results, (str, bytes)) or not hasattr(results, "__len__"):
        raise TypeError(f"results must be a list of SampleComplexity (one per x), got {type(results).__name__}")
    for index, result in enumerate(results):
        if not isinstance(result, SampleComplexity):
            raise TypeError(f"results[{index}] must be a SampleComplexity (from sample_complexity), got "
                            f"{type(result).__name__}")
    x = as_float_array(x, "x")
    if x.ndim != 1 or x.size != len(results):
        raise ValueError(f"x and results must have one entry per instance, got x of shape {x.shape} and "
                         f"{len(results)} results")
    return list(results)


def bootstrap_complexity_slope(x, results: list[SampleComplexity], num_resamples: int = 2000,
                               confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Bootstrap-over-seeds percentile interval of the log-log slope of b* against x.

    With common random numbers and a per-seed success that is monotone in the budget, the counts at the
    sorted evaluated budgets are the cumulative counts of each seed's first successful budget, binned by the
    grid. A resample redraws the seeds (a multinomial over the bins, the last bin being "no success"),
    recomputes each instance's threshold and refits the slope. Counts that are not monotone (no common random
    numbers, or a non-monotone algorithm) are first replaced by their running maximum, an approximation.
    The interval covers the Monte-Carlo error of the thresholds, not the misfit of a straight line (compare
    ``fit_complexity_slope``'s t-interval); its resolution is that of the search grid. Resamples in which some
    threshold is not reached within the evaluated budgets are dropped.
    """
    num_resamples = check_positive_int(num_resamples, "num_resamples")
    results = _check_results(x, results)
    seed = check_positive_int(seed, "seed", minimum=0)
    confidence = check_in_interval(confidence, "confidence", 0.0, 1.0, False, False)
    check_allocation((num_resamples, max([len(results)] + [r.budgets.size + 1 for r in results])), "num_resamples")
    rng = np.random.default_rng(seed)
    thresholds = np.empty((num_resamples, len(results)))
    for j, result in enumerate(results):
        trials = int(result.trials[0])
        if np.any(result.trials != trials):
            raise ValueError("bootstrap_complexity_slope needs the same number of seeds at every budget")
        cumulative = np.maximum.accumulate(result.successes)
        bins = np.diff(np.concatenate([[0], cumulative, [trials]]))
        draws = rng.multinomial(trials, bins / trials, size=num_resamples)
        passing = np.cumsum(draws[:, :-1], axis=1) >= result.target * trials
        first = np.argmax(passing, axis=1)
        thresholds[:, j] = np.where(passing.any(axis=1), result.budgets[first], np.inf)
    finite = np.all(np.isfinite(thresholds), axis=1)
    if not finite.any():
        raise ValueError("no bootstrap resample reached the target at every instance")
    return bootstrap_slope_interval(x, thresholds[finite], confidence)


# --- internals -----------------------------------------------------------------------------------------

def _interval(name: str) -> Callable:
    if not isinstance(name, str) or name not in INTERVALS:
        raise ValueError(f"interval must be one of {sorted(INTERVALS)}, got {name!r}")
    return INTERVALS[name]


def _smallest_passing_suffix(budgets: np.ndarray, passing: np.ndarray) -> float:
    if not passing[-1]:
        return math.inf
    failing = np.flatnonzero(~passing)
    return float(budgets[failing[-1] + 1] if failing.size else budgets[0])


def _search(passes: Callable[[int], bool], start: int, low_limit: int, high_limit: int, grid: str,
            resolution: float) -> None:
    """Doubling/halving from ``start`` to bracket the first budget where ``passes`` holds, then bisection.

    Only the evaluations matter (they land in the caller's table); nothing is returned.
    """
    budget = start
    if passes(budget):
        high = budget
        while high > low_limit:
            low = max(low_limit, high // 2)
            if not passes(low):
                break
            high = low
        else:
            return  # passes at the minimum budget
    else:
        low = budget
        while True:
            if low >= high_limit:
                return  # never passes within the range
            high = min(high_limit, 2 * low)
            if passes(high):
                break
            low = high
    while high - low > 1 and (grid == "integer" or high > low * (1.0 + resolution)):
        middle = int(round(math.sqrt(low * high))) if grid == "log" else (low + high) // 2
        middle = min(max(middle, low + 1), high - 1)
        if passes(middle):
            high = middle
        else:
            low = middle
