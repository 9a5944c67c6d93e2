"""Inverse-CDF categorical sampling (sharpsim.core.sampling) and the policy samplers built on it."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.numpy_reference import chi_square_pvalue
from sharpsim.testing.strategies import prob_rows, prob_tables
from sharpsim import TabularPolicy
from sharpsim.core.sampling import normalized_cdf, sample_categorical_rows, search_cdf


# Jitted once here: the hypothesis examples share one shape, so they reuse one compilation instead of paying
# eager op-by-op dispatch for every example.
jit_cdf = jax.jit(normalized_cdf)
jit_search = jax.jit(search_cdf)
jit_sample = jax.jit(sample_categorical_rows, static_argnums=3)


def ref_search(cdf_row: np.ndarray, u: float) -> int:
    """Smallest y with cdf[y] > u, by a loop."""
    for y, c in enumerate(cdf_row):
        if c > u:
            return y
    raise AssertionError("u must be below the last cdf entry")


@settings(max_examples=60, deadline=None)
@given(prob_tables(num_prompts=3, num_responses=6))
def test_normalized_cdf(table):
    probs, _ = table
    cdf = np.asarray(jit_cdf(jnp.asarray(probs)))
    np.testing.assert_allclose(cdf, np.cumsum(probs, axis=1) / probs.sum(axis=1, keepdims=True), rtol=1e-12, atol=1e-15)
    assert np.all(cdf[:, -1] == 1.0)
    assert np.all(np.diff(cdf, axis=1) >= 0)


@settings(max_examples=60, deadline=None)
@given(prob_tables(num_prompts=3, num_responses=6), st.data())
def test_search_cdf_matches_loop_including_boundaries(table, data):
    probs, _ = table
    cdf = np.asarray(jit_cdf(jnp.asarray(probs)))
    # uniforms: 0, every cdf value below 1 (the boundary cases) and random ones; a fixed count per row so the
    # call compiles once
    rows, us = [], []
    randoms = st.lists(st.floats(0, 1, exclude_max=True), min_size=5, max_size=5)
    for r in range(3):
        for u in [0.0, *np.where(cdf[r] < 1.0, cdf[r], 0.5), *data.draw(randoms)]:
            rows.append(r)
            us.append(u)
    got = np.asarray(jit_search(jnp.asarray(cdf), jnp.asarray(rows), jnp.asarray(us)))
    expected = np.array([ref_search(cdf[r], u) for r, u in zip(rows, us)])
    np.testing.assert_array_equal(got, expected)
    assert np.all(probs[rows, got] > 0)  # a zero-probability response is never returned


def test_search_cdf_skips_leading_and_inner_zeros():
    cdf = normalized_cdf(jnp.array([[0.0, 0.0, 0.5, 0.0, 0.5, 0.0]]))
    got = search_cdf(cdf, jnp.zeros(5, dtype=jnp.int64), jnp.array([0.0, 0.25, 0.5, 0.75, np.nextafter(1.0, 0.0)]))
    np.testing.assert_array_equal(np.asarray(got), [2, 2, 4, 4, 4])


@settings(max_examples=10, deadline=None, derandomize=True)
@given(prob_tables(num_prompts=3, num_responses=6), st.integers(0, 2**31 - 1))
def test_sample_categorical_rows_frequencies(table, seed):
    """20000 draws per row: chi-square against the row, and zero-probability responses never drawn."""
    probs, _ = table
    rows = jnp.array([0, 1, 2])
    draws = np.asarray(jit_sample(jax.random.key(seed), jnp.asarray(probs), rows, 20000))
    assert draws.shape == (3, 20000)
    for r in range(3):
        counts = np.bincount(draws[r], minlength=6)
        assert counts[probs[r] == 0].sum() == 0
        assert chi_square_pvalue(counts, probs[r]) > 1e-5


def test_sample_categorical_rows_shape_and_tiny_masses():
    probs = jnp.array([[1e-12, 1.0 - 2e-12, 1e-12, 0.0], [0.0, 0.0, 0.0, 1.0]])
    rows = jnp.array([[0, 1], [1, 0], [0, 0]])
    draws = np.asarray(sample_categorical_rows(jax.random.key(0), probs, rows, 5000))
    assert draws.shape == (3, 2, 5000)
    assert draws.dtype == np.int64
    np.testing.assert_array_equal(draws[rows == 1], 3)  # deterministic row
    # a 1e-12 response is essentially never drawn in 2e4 tries, and the zero one never
    assert np.all(draws[rows == 0] == 1)


def test_sample_categorical_rows_same_key_same_draws_other_key_differs():
    probs = jnp.array([[0.2, 0.3, 0.5]])
    a = sample_categorical_rows(jax.random.key(5), probs, jnp.zeros(4, dtype=jnp.int64), 50)
    b = sample_categorical_rows(jax.random.key(5), probs, jnp.zeros(4, dtype=jnp.int64), 50)
    c = sample_categorical_rows(jax.random.key(6), probs, jnp.zeros(4, dtype=jnp.int64), 50)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    # the rows of one call are independent draws, not copies
    assert not np.array_equal(np.asarray(a[0]), np.asarray(a[1]))


def test_policy_samplers_frequencies():
    probs = np.array([[0.7, 0.0, 0.3], [0.1, 0.6, 0.3]])
    mu = np.array([0.25, 0.75])
    policy = TabularPolicy(probs, mu)
    prompts = np.asarray(policy.sample_prompts(jax.random.key(0), 20000))
    assert chi_square_pvalue(np.bincount(prompts, minlength=2), mu) > 1e-4
    ys = np.asarray(policy.sample_responses(jax.random.key(1), jnp.array([0, 1]), 20000))
    for x in range(2):
        counts = np.bincount(ys[x], minlength=3)
        assert chi_square_pvalue(counts, probs[x]) > 1e-4
    assert np.all(ys[0] != 1)


def test_zero_weight_prompts_never_drawn():
    policy = TabularPolicy(np.full((4, 2), 0.5), [0.0, 0.5, 0.0, 0.5])
    prompts = np.asarray(policy.sample_prompts(jax.random.key(2), 5000))
    assert set(np.unique(prompts)) == {1, 3}


def test_sampling_under_jit_and_vmap():
    probs = jnp.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    fn = jax.jit(jax.vmap(lambda k: sample_categorical_rows(k, probs, jnp.array([0, 1]), 3000)))
    draws = np.asarray(fn(jax.random.split(jax.random.key(9), 4)))
    assert draws.shape == (4, 2, 3000)
    for r in range(2):
        assert chi_square_pvalue(np.bincount(draws[:, r].ravel(), minlength=3), np.asarray(probs[r])) > 1e-4


@settings(max_examples=20, deadline=None)
@given(prob_rows(5))
def test_prob_rows_strategy_is_on_the_simplex(row):
    """The shared strategy itself: non-negative, finite, sums to 1 well within the 1e-9 tolerance."""
    assert row.shape == (5,) and np.all(row >= 0) and np.all(np.isfinite(row))
    assert abs(row.sum() - 1.0) < 1e-12
