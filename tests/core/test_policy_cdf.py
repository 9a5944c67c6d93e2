"""The policy's CDF computed once and kept, its blockwise construction, blockwise validation without float copies,
and the flat-index inverse-CDF search (sharpsim.core.policy, sharpsim.core.sampling), against numpy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim.core.policy as policy_module
import sharpsim.core.sampling as sampling
from sharpsim import Oracle, TabularPolicy
from sharpsim.core.pytree import unchecked_replace


def numpy_cdf(probs):
    cumulative = np.cumsum(probs, axis=-1)
    return cumulative / cumulative[..., -1:]


def numpy_search(cdf, rows, uniforms):
    """Smallest y with cdf[row, y] > u, capped at Y − 1, by numpy's searchsorted."""
    rows = np.broadcast_to(rows, uniforms.shape)
    found = np.array([np.searchsorted(cdf[r], u, side="right") for r, u in zip(rows.ravel(), uniforms.ravel())])
    return np.minimum(found, cdf.shape[-1] - 1).reshape(uniforms.shape)


def random_table(rng, rows, responses, zeros=0.3):
    table = rng.dirichlet(np.full(responses, 0.4), size=rows)
    table[rng.random(table.shape) < zeros] = 0.0
    table[:, 0] += 1e-3  # no empty row
    return table / table.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("responses", [1, 2, 3, 7, 64, 1000, 1025])
def test_search_cdf_matches_numpy_searchsorted(responses):
    rng = np.random.default_rng(responses)
    table = random_table(rng, 5, responses)
    cdf = numpy_cdf(table)
    rows = rng.integers(0, 5, size=(40, 1))
    uniforms = rng.random((40, 9))
    boundaries = cdf[rows[0, 0], : min(9, responses)]
    uniforms[0, : boundaries.size] = np.where(boundaries < 1, boundaries, 0.5)  # u equal to a cdf value below 1
    got = np.asarray(sampling.search_cdf(jnp.asarray(cdf), jnp.asarray(rows), jnp.asarray(uniforms)))
    np.testing.assert_array_equal(got, numpy_search(cdf, rows, uniforms))
    assert got.dtype == np.int64
    assert np.all(table[np.broadcast_to(rows, uniforms.shape), got] > 0)


def test_search_cdf_int64_indices_give_the_same_answers(monkeypatch):
    rng = np.random.default_rng(1)
    cdf = numpy_cdf(random_table(rng, 3, 11))
    rows, uniforms = rng.integers(0, 3, size=(6, 1)), rng.random((6, 5))
    monkeypatch.setattr(sampling, "INT32_LIMIT", 2)  # the int64 branch (tables beyond 2³¹ entries), at a fresh shape
    got = np.asarray(sampling.search_cdf(jnp.asarray(cdf), jnp.asarray(rows), jnp.asarray(uniforms)))
    np.testing.assert_array_equal(got, numpy_search(cdf, rows, uniforms))


@pytest.mark.slow  # a fresh compilation per drawn shape: seconds per example
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_table_cdf_blocks_equal_the_whole_table(rows, responses, seed):
    table = jnp.asarray(random_table(np.random.default_rng(seed), rows, responses))
    old = sampling.CDF_BLOCK_ENTRIES
    try:
        sampling.CDF_BLOCK_ENTRIES = 2 * responses  # blocks of two rows, the last one shifted back
        blocked = sampling.table_cdf(table)
    finally:
        sampling.CDF_BLOCK_ENTRIES = old
    np.testing.assert_array_equal(np.asarray(blocked), np.asarray(sampling.normalized_cdf(table)))
    np.testing.assert_allclose(np.asarray(blocked), numpy_cdf(np.asarray(table)), rtol=1e-12, atol=1e-15)


def test_the_cdf_is_computed_once_and_kept(monkeypatch):
    calls = []
    original = policy_module.table_cdf
    monkeypatch.setattr(policy_module, "table_cdf", lambda probs: calls.append(1) or original(probs))
    table = random_table(np.random.default_rng(2), 4, 30)
    policy = TabularPolicy(table)
    first = policy.sample_responses(jax.random.PRNGKey(0), jnp.arange(4), 50)
    second = policy.sample_responses(jax.random.PRNGKey(1), jnp.arange(4), 50)
    Oracle(policy).sample(jax.random.PRNGKey(2), jnp.arange(4), 5)
    assert len(calls) == 1 and policy.cdf is policy.cdf
    np.testing.assert_allclose(np.asarray(policy.cdf), numpy_cdf(table), rtol=1e-12, atol=1e-15)
    # the draws are those of the uncached sampler
    for key, draws in ((0, first), (1, second)):
        uniforms = np.asarray(jax.random.uniform(jax.random.PRNGKey(key), (4, 50), dtype=jnp.float64))
        np.testing.assert_array_equal(np.asarray(draws), numpy_search(np.asarray(policy.cdf), np.arange(4)[:, None],
                                                                      uniforms))


def test_a_copy_with_other_probs_does_not_reuse_the_cdf():
    rng = np.random.default_rng(3)
    policy = TabularPolicy(random_table(rng, 3, 8))
    policy.sample_responses(jax.random.PRNGKey(0), jnp.arange(3), 2)  # fills the cache
    other = random_table(rng, 3, 8)
    copy = unchecked_replace(policy, probs=jnp.asarray(other))  # carries the cache along in its __dict__
    np.testing.assert_allclose(np.asarray(copy.cdf), numpy_cdf(other), rtol=1e-12, atol=1e-15)


def test_the_cdf_first_asked_for_while_tracing_is_kept_concrete():
    policy = TabularPolicy(random_table(np.random.default_rng(4), 3, 8))
    sample = jax.jit(lambda key: Oracle(policy).sample(key, jnp.arange(3), 6)[0].responses)
    traced = np.asarray(sample(jax.random.PRNGKey(5)))
    assert not isinstance(policy.__dict__["_cdf_cache"][1], jax.core.Tracer)
    np.testing.assert_array_equal(traced, np.asarray(policy.sample_responses(jax.random.PRNGKey(5), jnp.arange(3), 6)))


def test_a_traced_policy_computes_its_cdf_in_the_program():
    table = random_table(np.random.default_rng(5), 3, 8)
    sample = jax.jit(lambda probs, key: TabularPolicy(probs).sample_responses(key, jnp.arange(3), 7))
    np.testing.assert_array_equal(np.asarray(sample(jnp.asarray(table), jax.random.PRNGKey(6))),
                                  np.asarray(TabularPolicy(table).sample_responses(jax.random.PRNGKey(6),
                                                                                   jnp.arange(3), 7)))


def test_eager_log_prob_reads_the_entries_it_needs():
    table = random_table(np.random.default_rng(6), 4, 9)
    policy = TabularPolicy(table)
    prompts, responses = np.array([[0], [3], [2]]), np.array([[1, 2, 0], [4, 4, 8], [0, 5, 6]])
    with np.errstate(divide="ignore"):
        expected = np.log(table)[prompts, responses]
    np.testing.assert_array_equal(np.asarray(policy.log_prob(prompts, responses)), expected)
    jitted = jax.jit(lambda p, r: policy._log_prob_unchecked(p, r))(jnp.asarray(prompts), jnp.asarray(responses))
    np.testing.assert_array_equal(np.asarray(jitted), expected)


def test_a_float64_table_is_validated_without_a_copy():
    table = random_table(np.random.default_rng(7), 3, 5)
    value, view = policy_module._float_table(table, "probs")
    assert value is table and np.shares_memory(view, table)
    converted, _ = policy_module._float_table(np.ones((2, 2), dtype=np.int64), "probs")
    assert converted.dtype == np.float64


@pytest.mark.parametrize("bad, message", [
    (lambda t: t.__setitem__((5, 2), np.nan), r"probs must be finite; entry \(5, 2\) is nan"),
    (lambda t: t.__setitem__((6, 1), -0.25), r"probs must be non-negative; entry \(6, 1\) is -0.25"),
    (lambda t: t.__setitem__((4, 0), t[4, 0] + 0.5), r"probs row 4 must sum to 1"),
])
def test_blockwise_validation_names_the_entry_in_a_later_block(monkeypatch, bad, message):
    monkeypatch.setattr(policy_module, "CHECK_BLOCK_ENTRIES", 8)  # blocks of two rows of four
    table = np.full((7, 4), 0.25)
    bad(table)
    with pytest.raises(ValueError, match=message):
        TabularPolicy(table)
    TabularPolicy(np.full((7, 4), 0.25))  # a valid table passes block by block


@pytest.mark.slow  # a fresh compilation per drawn shape: seconds per example
@settings(max_examples=30, deadline=None)
@given(st.integers(4, 300), st.floats(0.05, 2.0), st.integers(0, 2**31 - 1))
def test_the_guided_search_gives_the_plain_searchs_answers(responses, concentration, seed):
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(responses, concentration), size=3)
    table[rng.random(table.shape) < 0.3] = 0.0
    table[:, -1] += 1e-12  # no empty row
    cdf = sampling.normalized_cdf(jnp.asarray(table / table.sum(axis=1, keepdims=True)))
    guide = sampling.guide_table(cdf)
    # the guide by a loop: how many entries of each row are ≤ k/K, and enough halvings for the widest bucket
    values = np.asarray(cdf)
    expected = np.array([[np.sum(row <= k / guide.buckets) for k in range(guide.buckets + 1)] for row in values])
    np.testing.assert_array_equal(np.asarray(guide.starts), expected)
    assert 2**guide.steps - 1 >= np.max(np.diff(expected, axis=1))
    rows = rng.integers(0, 3, size=(30, 1))
    uniforms = np.concatenate([rng.random((30, 6)), np.where(values[rows[:, 0], :3] < 1, values[rows[:, 0], :3], 0.0)],
                              axis=1)  # random points and cdf values (the bucket and interval boundaries)
    guided = np.asarray(sampling.search_cdf(cdf, jnp.asarray(rows), jnp.asarray(uniforms), guide))
    np.testing.assert_array_equal(guided, numpy_search(values, rows, uniforms))


def test_large_or_tiny_tables_get_no_guide(monkeypatch):
    assert sampling.guide_table(jnp.ones((2, 3))) is None  # |Y| < 4
    monkeypatch.setattr(sampling, "GUIDE_MAX_ENTRIES", 15)
    assert sampling.guide_table(jnp.ones((2, 8))) is None
    assert sampling.guide_table(jnp.ones((1, 8)).cumsum(axis=1) / 8) is not None
