"""The shared machinery of ``AutoregressivePolicy`` (exercised through the tree representation): enumeration
order and index helpers, sequence log-probs, sampling, the enumeration limit.

References are plain numpy loops over itertools.product written here or in ``tree_reference.py``, never the
code's own output.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.numpy_reference import chi_square_pvalue
from tests.policies.tree_reference import np_prefix_index, np_sequence_prob, random_levels
from sharpsim.policies.autoregressive import (
    DEFAULT_MAX_SEQUENCES,
    indices_to_sequences,
    sequences_to_indices,
)
from sharpsim.policies.tree import TreePolicy


# ---- enumeration order and index helpers --------------------------------------------------------------
def test_index_helpers_match_base_v_reading():
    vocab, horizon = 3, 4
    sequences = np.array(list(itertools.product(range(vocab), repeat=horizon)))
    expected = np.array([int("".join(map(str, s)), 3) for s in sequences])
    np.testing.assert_array_equal(sequences_to_indices(sequences, vocab), expected)
    np.testing.assert_array_equal(indices_to_sequences(expected, vocab, horizon), sequences)
    np.testing.assert_array_equal(indices_to_sequences(np.arange(vocab**horizon), vocab, horizon), sequences)


def test_index_helpers_refuse_overflow():
    with pytest.raises(ValueError, match="does not fit an int64"):
        indices_to_sequences(jnp.arange(3), 2, 63)

def test_log_prob_is_sum_of_conditional_log_probs():
    rng = np.random.default_rng(0)
    vocab, horizon = 3, 4
    levels = random_levels(rng, 2, vocab, horizon)
    policy = TreePolicy(levels)
    prompts = rng.integers(0, 2, size=(5,))
    responses = rng.integers(0, vocab, size=(5, 7, horizon))
    expected = np.array([[sum(math.log(levels[h][prompts[i], np_prefix_index(responses[i, j, :h], vocab),
                                                 responses[i, j, h]]) for h in range(horizon))
                          for j in range(7)] for i in range(5)])
    got = policy.log_prob(prompts[:, None], responses)  # the Oracle's call pattern
    assert got.shape == (5, 7) and got.dtype == jnp.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # a scalar prompt broadcasts too
    np.testing.assert_allclose(policy.log_prob(1, responses[0]),
                               [np.log(np_sequence_prob(levels, 1, r, vocab)) for r in responses[0]], rtol=1e-12)


def test_log_prob_of_zero_probability_sequence_is_minus_inf():
    levels = [np.array([[[1.0, 0.0]]]), np.array([[[0.5, 0.5], [0.5, 0.5]]])]
    policy = TreePolicy(levels)
    assert policy.log_prob(0, jnp.array([1, 0])) == -jnp.inf
    assert np.isclose(policy.log_prob(0, jnp.array([0, 1])), np.log(0.5))

# ---- sampling ------------------------------------------------------------------------------------------
def test_sampling_frequencies_match_enumerated_probabilities():
    rng = np.random.default_rng(3)
    vocab, horizon, num_samples = 3, 3, 60_000
    policy = TreePolicy(random_levels(rng, 2, vocab, horizon, zero_prob=0.15))
    samples = policy.sample_responses(jax.random.key(0), jnp.array([0, 1]), num_samples)
    assert samples.shape == (2, num_samples, horizon) and samples.dtype == jnp.int64
    probs = np.asarray(policy.to_tabular().probs)
    for x in range(2):
        counts = np.bincount(np.asarray(sequences_to_indices(samples[x], vocab)), minlength=vocab**horizon)
        assert chi_square_pvalue(counts, probs[x]) > 1e-4
        assert not np.any(counts[probs[x] == 0])  # zero-probability sequences are never drawn


def test_sampling_shapes_and_prompt_sampling():
    policy = TreePolicy(random_levels(np.random.default_rng(1), 3, 2, 2), prompt_probs=[0.0, 0.0, 1.0])
    assert policy.sample_responses(jax.random.key(1), jnp.zeros((4, 5), int), 6).shape == (4, 5, 6, 2)
    np.testing.assert_array_equal(policy.sample_prompts(jax.random.key(2), 10), np.full(10, 2))


def test_sampling_rejects_bad_arguments():
    policy = TreePolicy(random_levels(np.random.default_rng(1), 2, 2, 2))
    with pytest.raises(ValueError, match="prompts must lie in \\[0, 2\\)"):
        policy.sample_responses(jax.random.key(0), jnp.array([2]), 3)
    with pytest.raises(TypeError, match="prompts must be integer"):
        policy.sample_responses(jax.random.key(0), jnp.array([0.5]), 3)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        policy.sample_responses(jax.random.key(0), jnp.array([0]), 0)
    with pytest.raises(ValueError, match=r"temperature must lie in \(0, inf\)"):
        policy.sample_responses(jax.random.key(0), jnp.array([0]), 3, temperature=0.0)


def test_log_prob_rejects_bad_responses():
    policy = TreePolicy(random_levels(np.random.default_rng(1), 2, 3, 2))
    with pytest.raises(ValueError, match="trailing axis of length H=2"):
        policy.log_prob(0, jnp.zeros((4, 3), int))
    with pytest.raises(ValueError, match="tokens must lie in \\[0, 3\\)"):
        policy.log_prob(0, jnp.array([0, 3]))
    with pytest.raises(TypeError, match="integer token sequences"):
        policy.log_prob(0, jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="do not broadcast"):
        policy.log_prob(jnp.zeros(3, int), jnp.zeros((4, 2), int))

# ---- enumeration limit -----------------------------------------------------------------------------------
def test_enumeration_limit_is_default_and_settable():
    policy = TreePolicy(random_levels(np.random.default_rng(0), 1, 2, 5))
    assert policy.max_sequences == DEFAULT_MAX_SEQUENCES == 2**22
    with pytest.raises(ValueError, match="2\\^5 = 32 sequences, above the limit max_sequences=16"):
        policy.to_tabular(max_sequences=16)
    small = policy.with_max_sequences(16)
    with pytest.raises(ValueError, match="above the limit max_sequences=16"):
        small.to_tabular()
    assert small.to_tabular(max_sequences=32).probs.shape == (1, 32)
    with pytest.raises(ValueError, match="max_sequences must be an integer >= 1"):
        policy.with_max_sequences(0)


def test_referee_quantities_refuse_too_large_enumeration():
    from sharpsim import coverage_coefficient

    policy = TreePolicy(random_levels(np.random.default_rng(0), 1, 2, 3), max_sequences=4)
    with pytest.raises(ValueError, match="above the limit"):
        coverage_coefficient(policy)
