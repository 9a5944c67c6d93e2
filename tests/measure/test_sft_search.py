"""Tests for the threshold searches along Theorem 4.1's ray (sharpsim.measure.sft_search)."""

import math

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.classes import TabularClass
from sharpsim.instances.rare_prompt import rare_prompt_instance
from sharpsim.measure import sft_search
from sharpsim.measure.statistics import wilson_interval
from sharpsim.referee import sft_laws
from sharpsim.referee.exact_sft import exact_sft_success_probability

EPS, DELTA, RHO = 0.1, 0.25, 0.1


def test_ray_point():
    assert sft_search.ray_point(sft_search.RAY_UNITS, 10.4, 3.2) == (11, 4)
    assert sft_search.ray_point(1, 10.0, 3.0) == (1, 1)
    # scale 1/2 of (30, 7): (15, 3.5) rounds up to (15, 4); an integer up to rounding is not bumped
    assert sft_search.ray_point(sft_search.RAY_UNITS // 2, 30.0, 7.0) == (15, 4)
    assert sft_search.ray_point(3 * sft_search.RAY_UNITS, 0.1 + 0.2, 1.0) == (1, 3)
    with pytest.raises(ValueError, match=r"budget must lie in \(0, inf\), got 0.0"):
        sft_search.ray_point(0, 1.0, 1.0)
    with pytest.raises(ValueError, match="prompts_unit must lie in"):
        sft_search.ray_point(8, -1.0, 1.0)


@pytest.mark.slow
def test_search_compiles_once_and_brackets_the_exact_threshold():
    policy = rare_prompt_instance(4, 10, 2 * EPS)
    model_class = TabularClass.like(policy)
    keys = jax.random.split(jax.random.PRNGKey(4), 600)
    before = sft_laws.pairs_success_law.trace_count
    result, n, big_n = sft_search.search_sft_ray(policy, model_class, keys, EPS, DELTA, RHO, 100.0, 30.0, 64)
    assert sft_laws.pairs_success_law.trace_count - before <= 1 and result.budgets.size > 3  # ≤ 1: maybe cached
    assert math.isfinite(result.estimate) and (n, big_n) == sft_search.ray_point(result.estimate, 100.0, 30.0)
    # the exact success probability is ≥ 1 − ρ − (Wilson half-width) at the estimate's (n, N)
    exact = exact_sft_success_probability(policy, n, big_n, DELTA, EPS)
    low, _ = wilson_interval(int(0.9 * 600), 600, confidence=0.999)
    assert exact >= low - 0.05
    rows = sft_search.search_rows(result, lambda b: sft_search.ray_point(b, 100.0, 30.0), lambda a, b: a * b)
    frame = pd.DataFrame(rows)
    np.testing.assert_array_equal(frame.samples, frame.num_prompts * frame.num_samples)
    np.testing.assert_allclose(frame.scale, frame.budget / sft_search.RAY_UNITS)
    threshold = sft_search.cell_threshold(frame, 1 - RHO)
    assert threshold["m_star"] == n * big_n and threshold["m_low"] <= threshold["m_star"] <= threshold["m_high"]


@pytest.mark.slow
def test_search_adaptive_with_sure_hits_needs_every_rare_prompt():
    policy = rare_prompt_instance(4, 10, 2 * EPS)
    keys = jax.random.split(jax.random.PRNGKey(7), 400)
    result, n = sft_search.search_adaptive(policy, TabularClass.like(policy), np.ones(5), keys, 0.0, DELTA, RHO,
                                           64.0, 256)
    # with sure hits, success = every rare prompt seen; numpy: the smallest n with that probability ≥ 1 − ρ
    def seen_all(count):
        return 1 - sum((-1) ** (k + 1) * math.comb(4, k) * (1 - k * 0.05) ** count for k in range(1, 5))
    exact_n = next(c for c in range(1, 1000) if seen_all(c) >= 1 - RHO)
    assert math.isfinite(result.estimate) and 0.7 * exact_n <= n <= 1.3 * exact_n


def test_cell_threshold_from_counts():
    # budgets 1..4 with success fractions 0.5, 0.8, 0.95, 1.0 over 1000 trials: only budgets ≥ 3 pass 0.9
    frame = pd.DataFrame({"budget": [4, 1, 3, 2], "successes": [1000, 500, 950, 800], "trials": [1000] * 4,
                          "samples": [40.0, 10.0, 30.0, 20.0], "num_prompts": [8, 2, 6, 4],
                          "num_samples": [5.0, 5.0, 5.0, 5.0]})
    threshold = sft_search.cell_threshold(frame, 0.9)
    low, high = wilson_interval(950, 1000)
    assert low > 0.9  # so budget 3 is also the interval's upper end
    assert threshold["m_star"] == 30.0 and threshold["n_star"] == 6 and threshold["N_star"] == 5.0
    assert threshold["m_low"] == 30.0 and threshold["m_high"] == 30.0
    assert threshold["scale_star"] == 3 / sft_search.RAY_UNITS and threshold["seeds"] == 1000
    never = sft_search.cell_threshold(frame.assign(successes=[10, 5, 9, 8]), 0.9)
    assert math.isinf(never["m_star"]) and math.isinf(never["m_high"])
