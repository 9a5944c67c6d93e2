"""Threshold searches for the measured sample complexity of SFT-Sharpening (Theorem 4.1) and adaptive
SFT-Sharpening (Theorem D.1), and the table rows they leave.

A search runs ``complexity.sample_complexity`` along a ray of the theorem's prescriptions: budget b means the
scale s = b / ``RAY_UNITS`` and the point (n, N) = (⌈s·n₀⌉, ⌈s·N₀⌉), where (n₀, N₀) are the prescribed numbers
of prompts and samples per prompt (Theorem 4.1, or Theorem D.1's n₀ for the adaptive algorithm, whose N is
random). Each evaluation simulates the runs exactly in law (``referee.sft_laws``). ``search_rows`` turns a
search into one table row per evaluated budget and ``cell_threshold`` recomputes m* = n·N and its interval from
the stored counts.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_in_interval
from sharpsim.measure.complexity import SampleComplexity, sample_complexity, threshold_from_table
from sharpsim.referee.sft_laws import adaptive_success_law, sft_success_law

RAY_UNITS = 1024  # a search budget b is the scale s = b / RAY_UNITS along the prescribed ray


def ray_point(budget, prompts_unit: float, samples_unit: float) -> tuple[int, int]:
    """(n, N) = (⌈s·n₀⌉, ⌈s·N₀⌉), each at least 1, at scale s = budget / RAY_UNITS."""
    check_in_interval(budget, "budget", 0.0, math.inf, closed_low=False, closed_high=False)
    check_in_interval(prompts_unit, "prompts_unit", 0.0, math.inf, closed_low=False, closed_high=False)
    check_in_interval(samples_unit, "samples_unit", 0.0, math.inf, closed_low=False, closed_high=False)
    scale = float(budget) / RAY_UNITS
    # the 1e-9 keeps s·n₀ that lands on an integer up to rounding from counting one more
    return max(1, math.ceil(scale * prompts_unit - 1e-9)), max(1, math.ceil(scale * samples_unit - 1e-9))


def _ray_search(success, keys, rho, prompts_unit, max_prompts, initial_scale):
    """The search over budgets up to the scale where n reaches ``max_prompts``, started at ``initial_scale``."""
    max_budget = int(max_prompts * RAY_UNITS / prompts_unit)
    start = min(max_budget, max(1, int(initial_scale * RAY_UNITS)))
    return sample_complexity(success, keys, rho, initial_budget=start, max_budget=max_budget)


def search_sft_ray(policy, model_class, keys, eps, delta, rho, prompts_unit, samples_unit, max_prompts: int,
                   initial_scale: float = 0.25) -> tuple[SampleComplexity, int, int]:
    """The threshold scale of SFT-Sharpening along (n, N) = s·(n₀, N₀): the search result and (n, N) at its
    estimate ((−1, −1) when no budget up to ``max_prompts`` prompts reaches 1 − ρ)."""
    def success(keys_, budget):
        n, big_n = ray_point(int(budget), prompts_unit, samples_unit)
        return sft_success_law(policy, model_class, keys_, jnp.asarray(n, jnp.int64), jnp.asarray(big_n, jnp.float64),
                               eps, delta, max_prompts)

    result = _ray_search(success, keys, rho, prompts_unit, max_prompts, initial_scale)
    if math.isfinite(result.estimate):
        return result, *ray_point(result.estimate, prompts_unit, samples_unit)
    return result, -1, -1


def search_adaptive(policy, model_class, hit, keys, eps, delta, rho, prompts_unit, max_prompts: int,
                    initial_scale: float = 0.25) -> tuple[SampleComplexity, int]:
    """The threshold scale of adaptive SFT-Sharpening with n = ⌈s·n₀⌉ prompts and pick-hit probabilities ``hit``
    (``adaptive_hit_law``): the search result and n at its estimate (−1 when not reached)."""
    def success(keys_, budget):
        n, _ = ray_point(int(budget), prompts_unit, 1.0)
        return adaptive_success_law(policy, model_class, hit, keys_, jnp.asarray(n, jnp.int64), eps, delta,
                                    max_prompts)

    result = _ray_search(success, keys, rho, prompts_unit, max_prompts, initial_scale)
    n = ray_point(result.estimate, prompts_unit, 1.0)[0] if math.isfinite(result.estimate) else -1
    return result, n


def search_rows(result: SampleComplexity, point, samples_of) -> dict[str, np.ndarray]:
    """One row per evaluated budget: the search's records plus the scale, (n, N) and the samples m used there.

    ``point(budget) -> (n, N)``; ``samples_of(n, N) -> m`` (n·N, or n·E[N_μ] for the adaptive algorithm)."""
    rows = result.records()
    points = [point(int(b)) for b in result.budgets]
    rows["scale"] = result.budgets / RAY_UNITS
    rows["num_prompts"] = np.array([p[0] for p in points], dtype=np.int64)
    rows["num_samples"] = np.array([p[1] for p in points], dtype=np.float64)
    rows["samples"] = np.array([samples_of(*p) for p in points], dtype=np.float64)
    return rows


def cell_threshold(rows, target: float) -> dict[str, float]:
    """m* and its interval for one cell's rows (a table with ``search_rows``' columns), recomputed from the
    stored counts with ``threshold_from_table`` (95% Wilson intervals per budget); infinite where not reached."""
    rows = rows.sort_values("budget")
    estimate, lower, upper = threshold_from_table(rows.budget, rows.successes, rows.trials, target)
    samples = dict(zip(rows.budget.astype(float), rows.samples))
    prompts = dict(zip(rows.budget.astype(float), rows.num_prompts))
    per_prompt = dict(zip(rows.budget.astype(float), rows.num_samples))

    def at(table, budget):
        return float(table[budget]) if math.isfinite(budget) else math.inf

    return {"m_star": at(samples, estimate), "m_low": at(samples, lower), "m_high": at(samples, upper),
            "n_star": at(prompts, estimate), "N_star": at(per_prompt, estimate),
            "budget_star": estimate, "scale_star": estimate / RAY_UNITS, "seeds": int(rows.trials.iloc[0])}
