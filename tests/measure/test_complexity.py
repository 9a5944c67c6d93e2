"""Tests for sharpsim.measure.complexity on synthetic success curves with a known threshold."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.measure.complexity import (
    SampleComplexity,
    bootstrap_complexity_slope,
    fit_complexity_slope,
    sample_complexity,
    threshold_from_table,
    vectorize_success,
)
from sharpsim.core.jit import counted_jit


@counted_jit
def exponential_success(keys, budget, theta):
    """P[success at b] = 1 − exp(−b/θ): seed s succeeds iff its exponential clock E_s·θ ≤ b (monotone in b)."""
    clocks = jax.vmap(lambda k: jax.random.exponential(k))(keys) * theta
    return clocks <= budget


def true_threshold(theta, rho):
    """Smallest integer b with 1 − exp(−b/θ) ≥ 1 − ρ, i.e. b ≥ θ log(1/ρ)."""
    return math.ceil(theta * math.log(1 / rho) - 1e-12)


def run(theta, rho=0.1, seeds=800, seed=0, **kwargs):
    keys = jax.random.split(jax.random.PRNGKey(seed), seeds)
    return sample_complexity(lambda k, b: exponential_success(k, b, theta), keys, rho, **kwargs)


def test_recovers_known_threshold_and_interval_covers_it():
    exponential_success.trace_count = 0
    for theta in (3.0, 40.0, 700.0):
        result = run(theta, max_budget=10**6, confidence=0.99)
        truth = true_threshold(theta, 0.1)
        assert result.converged
        assert result.lower <= truth <= result.upper, result.describe()
        assert abs(result.estimate - truth) <= 0.2 * truth + 1
        assert result.lower <= result.estimate <= result.upper
        # every evaluation is recorded with its counts
        assert result.budgets.size == result.successes.size == result.trials.size
        assert np.all(result.trials == 800) and np.all(np.diff(result.budgets) > 0)
    # one compilation served every budget and every θ (both are traced)
    assert exponential_success.trace_count == 1


def test_estimate_consistent_with_its_table():
    result = run(25.0, initial_budget=200)
    estimate, lower, upper = threshold_from_table(result.budgets, result.successes, result.trials, 0.9)
    assert (estimate, lower, upper) == (result.estimate, result.lower, result.upper)
    fractions = result.successes / result.trials
    assert np.all(fractions[result.budgets >= result.estimate] >= 0.9)
    assert np.any(fractions[result.budgets < result.estimate] < 0.9)


def test_integer_grid_is_exact_on_a_deterministic_curve():
    # every seed succeeds exactly from budget 37 on: the integer grid must find 37 itself
    step = jax.jit(lambda keys, budget: jnp.broadcast_to(budget >= 37, (keys.shape[0],)))
    keys = jax.random.split(jax.random.PRNGKey(1), 64)
    result = sample_complexity(step, keys, 0.1, grid="integer", initial_budget=5)
    assert result.estimate == 37 and result.lower == 37 and result.upper == 37
    assert 36 in result.budgets  # the bracket was closed from below
    # from above (the halving branch)
    result = sample_complexity(step, keys, 0.1, grid="integer", initial_budget=1000)
    assert result.estimate == 37 and result.converged


def test_log_grid_resolution():
    step = jax.jit(lambda keys, budget: jnp.broadcast_to(budget >= 1000, (keys.shape[0],)))
    keys = jax.random.split(jax.random.PRNGKey(1), 64)
    result = sample_complexity(step, keys, 0.1, resolution=0.1)
    assert 1000 <= result.estimate <= 1100
    below = result.budgets[result.budgets < result.estimate]
    assert below.size and result.estimate <= below.max() * 1.1 + 1


def test_edge_cases():
    keys = jax.random.split(jax.random.PRNGKey(2), 64)
    always = jax.jit(lambda k, b: jnp.ones(k.shape[0], bool))
    never = jax.jit(lambda k, b: jnp.zeros(k.shape[0], bool))
    result = sample_complexity(always, keys, 0.1, initial_budget=8)
    assert result.estimate == 1 and result.converged
    result = sample_complexity(never, keys, 0.1, max_budget=1000)
    assert result.estimate == math.inf and not result.converged and result.budgets.max() == 1000
    # too few seeds for the lower confidence bound ever to reach 1 − ρ: the upper end is inf
    few = jax.random.split(jax.random.PRNGKey(2), 10)
    result = sample_complexity(always, few, 0.05)
    assert result.estimate == 1 and result.upper == math.inf


def test_vectorize_success_compiles_once():
    calls = {"traces": 0}

    def one(key, budget):
        calls["traces"] += 1
        return jax.random.uniform(key) <= 1 - jnp.exp(-budget / 20.0)

    batch = vectorize_success(one)
    keys = jax.random.split(jax.random.PRNGKey(3), 500)
    result = sample_complexity(batch, keys, 0.2, confidence=0.99)
    assert calls["traces"] == 1
    assert result.lower <= true_threshold(20.0, 0.2) <= result.upper


def test_threshold_from_table_by_hand():
    budgets = np.array([8, 1, 4, 2, 16])  # unsorted on purpose
    successes = np.array([95, 10, 91, 60, 100])
    trials = np.full(5, 100)
    estimate, lower, upper = threshold_from_table(budgets, successes, trials, 0.9)
    assert estimate == 4  # fractions by budget 1,2,4,8,16: .1,.6,.91,.95,1.0
    # Wilson at 95%: upper(0.6) < 0.9 so lower is 4; lower(0.91) ≈ 0.838 and lower(0.95) ≈ 0.888 < 0.9,
    # lower(1.0) ≈ 0.963, so upper is 16
    assert lower == 4 and upper == 16
    # a dip: 8 fails, so the estimate moves past it
    estimate, _, _ = threshold_from_table(budgets, np.array([85, 10, 91, 60, 100]), trials, 0.9)
    assert estimate == 16
    with pytest.raises(ValueError, match="non-empty 1-d arrays of one length"):
        threshold_from_table([1, 2], [1], [1, 1], 0.9)


def test_slope_fit_recovers_exponent():
    rho = 0.1
    xs = np.array([2.0, 5.0, 12.0, 30.0, 80.0])
    # 99% intervals: the test has fixed seeds and must not sit on a 5% chance of missing
    results = [run(5.0 * x ** 1.5, rho=rho, seeds=600, seed=i, confidence=0.99) for i, x in enumerate(xs)]
    fit = fit_complexity_slope(xs, results, confidence=0.99)
    assert fit.slope_low <= 1.5 <= fit.slope_high and abs(fit.slope - 1.5) < 0.1
    low, high = bootstrap_complexity_slope(xs, results, num_resamples=500, confidence=0.99)
    assert low <= 1.5 <= high and low <= fit.slope <= high


def test_slope_fit_needs_finite_estimates():
    bad = SampleComplexity(math.inf, 1.0, math.inf, 0.9, 0.95, "wilson", np.array([1]), np.array([0]),
                           np.array([10]), False)
    good = SampleComplexity(4.0, 2.0, 8.0, 0.9, 0.95, "wilson", np.array([4]), np.array([10]), np.array([10]), True)
    with pytest.raises(ValueError, match="finite threshold"):
        fit_complexity_slope([1, 2, 3], [good, bad, good])


@settings(deadline=None, max_examples=12, derandomize=True)
@given(theta=st.floats(1.0, 5000.0), rho=st.sampled_from([0.05, 0.1, 0.25]), start=st.integers(1, 20000))
def test_interval_covers_truth_property(theta, rho, start):
    result = run(theta, rho=rho, seeds=800, initial_budget=start, max_budget=10**6, seed=7, confidence=0.99)
    truth = true_threshold(theta, rho)
    assert result.lower <= truth <= result.upper, result.describe()


def test_records_are_columns():
    result = run(10.0)
    records = result.records()
    assert len({len(v) for v in records.values()}) == 1
    assert set(records) >= {"budget", "successes", "trials", "threshold_estimate", "threshold_lower",
                            "threshold_upper", "converged"}
    assert "b* = " in result.describe()


@pytest.mark.parametrize("kwargs, match", [
    (dict(rho=0.0), r"rho must lie in \(0, 1\)"),
    (dict(rho=0.1, grid="linear"), "grid must be 'log' or 'integer'"),
    (dict(rho=0.1, interval="normal"), "interval must be one of"),
    (dict(rho=0.1, initial_budget=0), r"initial_budget must be an integer >= 1"),
    (dict(rho=0.1, initial_budget=50, max_budget=10), r"initial_budget must lie in \[min_budget, max_budget\]"),
    (dict(rho=0.1, min_budget=10, max_budget=5), "max_budget must be ≥ min_budget"),
    (dict(rho=0.1, resolution=0.0), r"resolution must lie in \(0, inf\)"),
    (dict(rho=0.1, confidence=1.0), r"confidence must lie in \(0, 1\)"),
])
def test_bad_arguments(kwargs, match):
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    with pytest.raises(ValueError, match=match):
        sample_complexity(lambda k, b: jnp.ones(8, bool), keys, **kwargs)


def test_bad_success_shape():
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    with pytest.raises(ValueError, match="1-d boolean array"):
        sample_complexity(lambda k, b: jnp.ones((8, 2), bool), keys, 0.1)


def test_zero_keys_and_a_nan_target_are_refused():
    with pytest.raises(ValueError, match=r"keys must be a batch of PRNG keys \[seeds, 2\] holding at least one key"):
        sample_complexity(lambda keys, budget: np.ones(0, bool), np.zeros((0, 2), np.uint32), 0.1)
    with pytest.raises(ValueError, match=r"target must lie in \(0, 1\], got nan"):
        threshold_from_table([1, 2], [1, 2], [2, 2], float("nan"))
