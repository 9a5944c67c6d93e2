"""The statistics of ``check_guarantee``: a one-sided exact binomial test of H0: p ≥ 1 − ρ per instance, with a
multiple-testing correction across instances.

With k successes in S seeds, the Clopper–Pearson upper confidence bound of p at level 1 − a lies below 1 − ρ
exactly when P[Binomial(S, 1 − ρ) ≤ k] < a, so that tail probability is the test's p-value and rejecting when it is
below a has size ≤ a for every p ≥ 1 − ρ (the binomial tail is decreasing in p). Over m instances, Bonferroni
(each at α/m) or Holm's step-down procedure (sorted p-values p_(j) against α/(m − j + 1), stopping at the first
that is not below) keep the probability of rejecting any instance on which the promise holds at ≤ α, whatever the
dependence between instances (they share the seeds).
"""

from __future__ import annotations

import numpy as np

from sharpsim.measure.statistics import clopper_pearson_interval

__all__ = ["CORRECTIONS", "binomial_p_value", "one_sided_upper_bound", "rejection_levels"]

CORRECTIONS = ("holm", "bonferroni")



def _scipy_stats():
    """scipy.stats, imported on first use: it takes a second or more to load, which every run of the command line
    would otherwise pay."""
    from scipy import stats

    return stats

def binomial_p_value(successes, trials, target) -> np.ndarray:
    """P[Binomial(trials, target) ≤ successes]: the p-value of H0: p ≥ ``target`` given ``successes``."""
    return np.asarray(_scipy_stats().binom.cdf(np.asarray(successes), np.asarray(trials), float(target)), dtype=np.float64)


def one_sided_upper_bound(successes, trials, level) -> np.ndarray:
    """The one-sided Clopper–Pearson upper bound of p at confidence ``level`` (the two-sided interval at
    confidence 2·level − 1 has it as its upper end)."""
    return clopper_pearson_interval(successes, trials, 2.0 * float(level) - 1.0)[1]


def rejection_levels(p_values, alpha: float, correction: str = "holm") -> tuple[np.ndarray, np.ndarray]:
    """(rejected [m] bool, level [m]): instance i is rejected when ``p_values[i] < level[i]``. Bonferroni: every
    level is α/m. Holm: the j-th smallest p-value gets α/(m − j + 1) while every smaller one was rejected; after
    the first acceptance the remaining levels are those of the step reached (nothing below is rejected)."""
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    p_values = np.asarray(p_values, dtype=np.float64)
    m = p_values.size
    if correction == "bonferroni" or m == 0:
        levels = np.full(m, alpha / max(m, 1))
        return p_values < levels, levels
    order = np.argsort(p_values, kind="stable")
    levels, rejected, stopped = np.empty(m), np.zeros(m, bool), False
    for step, index in enumerate(order):
        levels[index] = alpha / (m - step)
        if not stopped and p_values[index] < levels[index]:
            rejected[index] = True
        else:
            stopped = True
    return rejected, levels
