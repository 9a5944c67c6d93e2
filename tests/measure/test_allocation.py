"""Tests for an algorithm's own sample complexity, the optimum over its allocation (sharpsim.measure.allocation),
and its SFT wrappers in sharpsim.measure.sft_search: against brute force in numpy on synthetic success rules with
known thresholds, and against the exact law of tabular SFT (``exact_sft``)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from sharpsim.classes import TabularClass
from sharpsim.instances.rare_prompt import rare_prompt_instance
from sharpsim.measure import allocation, sft_search
from sharpsim.referee.exact_sft import exact_sft_success_probability

RHO = 0.1


def synthetic_rule(seeds: int, seed: int = 0):
    """A per-seed rule with a known answer: seed i succeeds at (n, N) iff N ≥ need_i and n·(N − need_i + 1) ≥
    work_i (a shape below need_i is useless at any n; above it, more N buys fewer n, with diminishing returns)."""
    rng = np.random.default_rng(seed)
    need = rng.integers(2, 9, size=seeds)
    work = rng.integers(20, 400, size=seeds)

    def success(keys, size, shape):
        del keys
        return (shape["N"] >= need) & (np.asarray(size) * (shape["N"] - need + 1) >= work)

    def brute_force(shapes, max_size):
        """m*(N) = N·(least n ≤ max_size with success fraction ≥ 1 − ρ), minimized over N, in plain numpy."""
        best = (math.inf, None, None)
        for big_n in shapes:
            sizes = np.arange(1, max_size + 1)
            fraction = ((big_n >= need[None, :]) & (sizes[:, None] * (big_n - need[None, :] + 1) >= work[None, :]))
            passing = np.flatnonzero(fraction.mean(axis=1) >= 1 - RHO)
            if passing.size and sizes[passing[0]] * big_n < best[0]:
                best = (sizes[passing[0]] * big_n, sizes[passing[0]], big_n)
        return best

    return success, brute_force


def test_search_allocations_finds_the_brute_force_optimum():
    seeds, max_size = 500, 4096
    success, brute_force = synthetic_rule(seeds)
    grid = list(range(1, 41))
    rows = allocation.search_allocations(success, np.zeros((seeds, 2)), RHO, [{"N": float(n)} for n in grid],
                                         lambda n, shape: n * shape["N"], max_size=max_size, patience=len(grid),
                                         resolution=1e-9)
    table = pd.DataFrame(rows)
    optimum = allocation.allocation_threshold(table, 1 - RHO, ["N"])
    m_star, n_star, big_n_star = brute_force(grid, max_size)
    assert (optimum["m_star"], optimum["n_star"], optimum["N_star"]) == (m_star, n_star, big_n_star)
    assert optimum["m_low"] <= optimum["m_star"] <= optimum["m_high"]
    assert optimum["shapes_searched"] == len(grid) and not optimum["optimum_at_edge"]
    # a grid that stops where m*(N) is still falling steeply (three shapes past the first feasible one) has its
    # best at the edge, and says so
    cut = min(n for n in grid if brute_force([n], max_size)[0] < math.inf) + 3
    edge = allocation.allocation_threshold(table[table.N <= cut], 1 - RHO, ["N"])
    assert brute_force([n for n in grid if n <= cut], max_size)[2] == cut
    assert edge["optimum_at_edge"] and edge["N_star"] == cut
    # shapes below every seed's need (N < 2) are never feasible and cost one evaluation each (probed at max_size)
    assert optimum["shapes_feasible"] < len(grid)
    assert int((table.shape_index == 0).sum()) == 1 and table[table.shape_index == 0].budget.iloc[0] == max_size
    np.testing.assert_array_equal(table.samples, table.budget * table.N)


def test_early_stop_keeps_the_optimum_and_saves_shapes():
    seeds = 400
    success, brute_force = synthetic_rule(seeds, seed=3)
    grid = [float(n) for n in allocation.shape_grid(1, 4096)]
    rows = allocation.search_allocations(success, np.zeros((seeds, 2)), RHO, [{"N": n} for n in grid],
                                         lambda n, shape: n * shape["N"], max_size=4096, resolution=1e-9)
    optimum = allocation.allocation_threshold(pd.DataFrame(rows), 1 - RHO, ["N"])
    assert optimum["m_star"] == brute_force(grid, 4096)[0]
    assert optimum["shapes_searched"] < len(grid)  # stopped after 3 shapes costing > 2× the best


def test_shape_thresholds_interval_from_counts():
    # one shape, sizes 1..4 with 0, 30, 95, 100 successes of 100: estimate at 3; Wilson bounds in numpy
    table = pd.DataFrame({"shape_index": 0, "N": 5.0, "budget": [1, 2, 3, 4], "successes": [0, 30, 95, 100],
                          "trials": 100, "samples": [5.0, 10.0, 15.0, 20.0]})
    (profile,) = allocation.shape_thresholds(table, 0.9, ["N"])
    z = 1.959963984540054

    def wilson(k, n):
        p = k / n
        centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half / (1 + z * z / n), centre + half / (1 + z * z / n)

    lows, highs = zip(*(wilson(k, 100) for k in (0, 30, 95, 100)))
    first_upper = 1 + next(i for i in range(4) if all(h >= 0.9 for h in highs[i:]))
    first_lower = 1 + next(i for i in range(4) if all(lo >= 0.9 for lo in lows[i:]))
    assert profile["m"] == 15.0 and profile["n"] == 3
    assert (profile["m_low"], profile["m_high"]) == (5.0 * first_upper, 5.0 * first_lower)


def test_shape_grid():
    np.testing.assert_array_equal(allocation.shape_grid(1, 8, 2.0), [1, 2, 4, 8])
    np.testing.assert_array_equal(allocation.shape_grid(3, 10, 2.0), [3, 6, 10])
    np.testing.assert_array_equal(allocation.shape_grid(5, 5), [5])
    with pytest.raises(ValueError, match="ratio must lie in"):
        allocation.shape_grid(1, 8, 1.0)
    with pytest.raises(ValueError, match="low must be at most high, got low=8.0 and high=2.0"):
        allocation.shape_grid(8, 2)


def test_bad_arguments():
    success, _ = synthetic_rule(10)
    queries = lambda n, shape: n * shape["N"]  # noqa: E731
    with pytest.raises(ValueError, match="shapes must hold at least one"):
        allocation.search_allocations(success, np.zeros((10, 2)), RHO, [], queries, max_size=8)
    with pytest.raises(ValueError, match="every shape must have the parameters"):
        allocation.search_allocations(success, np.zeros((10, 2)), RHO, [{"N": 1.0}, {"M": 2.0}], queries,
                                      max_size=8)
    with pytest.raises(ValueError, match="rho must lie in"):
        allocation.search_allocations(success, np.zeros((10, 2)), 1.5, [{"N": 1.0}], queries, max_size=8)
    with pytest.raises(ValueError, match="stop_factor must lie in"):
        allocation.search_allocations(success, np.zeros((10, 2)), RHO, [{"N": 1.0}], queries, max_size=8,
                                      stop_factor=0.5)
    with pytest.raises(ValueError, match="max_size"):
        allocation.search_allocations(success, np.zeros((10, 2)), RHO, [{"N": 1.0}], queries, max_size=0)
    with pytest.raises(ValueError, match="eps must lie in"):
        sft_search.prompt_padding(0.0)


def test_samples_grid_and_padding():
    grid = sft_search.samples_grid(160.0)
    assert grid[0] == 10 and grid[-1] == 1280
    np.testing.assert_allclose(grid[1:-1] / grid[:-2], math.sqrt(2), rtol=0.1)
    assert sft_search.prompt_padding(0.1) == 512 and sft_search.prompt_padding(0.0125) == 4096


def rare_pair_success(n: int, big_n: int) -> float:
    """Exact P[(ε, δ)-sharp] of tabular SFT-Sharpening at (n, N) on ``rare_prompt_instance(2, 6, 0.4)`` with ε = 0.2,
    δ = 0.25, in plain numpy/scipy: a common prompt (mass 0.6, answered surely) must be seen, and at most one of the
    two rare prompts (mass 0.2 each, argmax mass 1/3) may fail; a rare prompt seen c times fails when c = 0 (the
    uniform row) or when fewer than 3c/4 of its c best-of-N picks hit (each hits w.p. 1 − (2/3)^N)."""
    from scipy.stats import binom, multinomial

    hit = 1 - (2 / 3) ** big_n
    counts = np.arange(n + 1)
    fails = np.where(counts == 0, 1.0, binom.cdf(np.ceil(0.75 * counts) - 1, np.maximum(counts, 1), hit))
    total = 0.0
    for c1 in range(n + 1):
        for c2 in range(n + 1 - c1):
            if n - c1 - c2 >= 1:
                total += multinomial.pmf([n - c1 - c2, c1, c2], n, [0.6, 0.2, 0.2]) * (1 - fails[c1] * fails[c2])
    return total


@pytest.mark.slow
def test_sft_optimum_agrees_with_the_exact_law():
    """On a small tabular instance the searched optimum is a real optimum: at (n*, N*) the exact success probability
    (written out in numpy above, independent of the simulation) reaches 1 − ρ up to Monte-Carlo error, and no
    allocation with at most 85% of the queries does, by brute force over the exact law."""
    eps, delta = 0.2, 0.25
    policy = rare_prompt_instance(2, 6, 2 * eps)
    keys = jax.random.split(jax.random.PRNGKey(11), 600)
    rows = pd.DataFrame(sft_search.search_sft_optimum(policy, TabularClass.like(policy), keys, eps, delta, RHO,
                                                      np.arange(1, 17), 64, patience=16))
    found = sft_search.cell_summary(rows, 1 - RHO)
    n_star, big_n_star = int(found["n_star"]), int(found["N_star"])
    assert found["m_star"] == n_star * big_n_star
    assert rare_pair_success(n_star, big_n_star) >= 1 - RHO - 0.03
    assert exact_sft_success_probability(policy, n_star, big_n_star, delta, eps) == pytest.approx(
        rare_pair_success(n_star, big_n_star), abs=1e-9)
    cheaper = [(n, big_n) for big_n in range(1, 17) for n in range(1, 65) if n * big_n <= 0.85 * found["m_star"]]
    assert max(rare_pair_success(n, big_n) for n, big_n in cheaper) < 1 - RHO


@pytest.mark.slow
def test_adaptive_optimum_columns_and_expected_draws():
    eps, delta = 0.2, 0.25
    policy = rare_prompt_instance(2, 6, 2 * eps)
    keys = jax.random.split(jax.random.PRNGKey(2), 200)
    shapes = [{"mu": mu, "cap": cap} for mu in (0.5, 2.0) for cap in (4, 40)]
    rows = pd.DataFrame(sft_search.search_adaptive_optimum(policy, TabularClass.like(policy), keys, eps, delta, RHO,
                                                           shapes, 128, max_cap=64))
    assert sorted(rows.shape_index.unique()) == [0, 1, 2, 3]
    # E[m] = n · E_x E[min(N_μ, cap)]: at cap 4 the expected draws per prompt are at most 4
    capped = rows[rows.cap == 4]
    assert np.all(capped.expected_draws <= 4 + 1e-12) and np.all(capped.expected_draws >= 1)
    np.testing.assert_allclose(rows.samples, rows.budget * rows.expected_draws)
    found = sft_search.cell_summary(rows, 1 - RHO)
    assert math.isfinite(found["m_star"]) and found["mu_star"] in (0.5, 2.0) and found["cap_star"] in (4.0, 40.0)


def test_cell_summary_dispatches_on_the_search_kind():
    ray = pd.DataFrame({"budget": [256, 512], "successes": [0, 100], "trials": 100, "samples": [10.0, 40.0],
                        "num_prompts": [5, 10], "num_samples": [2.0, 4.0]})
    assert sft_search.cell_summary(ray, 0.9)["m_star"] == 40.0 and "shapes_searched" not in sft_search.cell_summary(
        ray, 0.9)
    optimum = ray.assign(shape_index=[0, 1], budget=[5, 10])
    summary = sft_search.cell_summary(optimum, 0.9)
    assert summary["shapes_searched"] == 2 and summary["N_star"] == 4.0 and summary["n_star"] == 10
