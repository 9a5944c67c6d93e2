"""AutoregressivePolicy (tree representation) and the shared machinery: enumeration order, sequence
log-probs, from_joint, sampling, size limit, pytree behaviour and validation.

References are plain numpy loops over itertools.product written here, never the code's own output.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.numpy_reference import chi_square_pvalue
from sharpsim.testing.strategies import prob_rows
from sharpsim.policies.autoregressive import (
    DEFAULT_MAX_SEQUENCES,
    AutoregressivePolicy,
    TreePolicy,
    indices_to_sequences,
    sequences_to_indices,
)


# ---- numpy references --------------------------------------------------------------------------------
def random_levels(rng, num_prompts, vocab, horizon, zero_prob=0.0):
    levels = []
    for h in range(horizon):
        level = rng.dirichlet(np.ones(vocab), size=(num_prompts, vocab**h))
        if zero_prob:
            level = np.where(rng.random(level.shape) < zero_prob, 0.0, level)
            level[..., 0] += (level.sum(-1) == 0)
            level /= level.sum(-1, keepdims=True)
        levels.append(level)
    return levels


def np_prefix_index(prefix, vocab):
    index = 0
    for token in prefix:
        index = index * vocab + token
    return index


def np_sequence_prob(levels, x, sequence, vocab):
    """Π_h π_h(y_h | y_{<h}, x), with the conditional of prefix y_{<h} looked up by its base-|V| index."""
    return math.prod(levels[h][x, np_prefix_index(sequence[:h], vocab), sequence[h]] for h in range(len(sequence)))


def np_joint(levels, vocab):
    num_prompts, horizon = levels[0].shape[0], len(levels)
    sequences = list(itertools.product(range(vocab), repeat=horizon))  # lexicographic, first token most significant
    return np.array([[np_sequence_prob(levels, x, s, vocab) for s in sequences] for x in range(num_prompts)])


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


@pytest.mark.parametrize("vocab,horizon", [(2, 1), (2, 4), (3, 3), (5, 2)])
def test_to_tabular_matches_numpy_product_in_lexicographic_order(vocab, horizon):
    rng = np.random.default_rng(vocab * 10 + horizon)
    levels = random_levels(rng, 3, vocab, horizon, zero_prob=0.2)
    policy = TreePolicy(levels, prompt_probs=[0.2, 0.3, 0.5])
    table = policy.to_tabular()
    np.testing.assert_allclose(table.probs, np_joint(levels, vocab), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(table.prompt_probs, [0.2, 0.3, 0.5])
    assert policy.num_responses == vocab**horizon and table.num_responses == vocab**horizon
    assert (policy.num_prompts, policy.vocab_size, policy.horizon) == (3, vocab, horizon)


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


# ---- from_joint ----------------------------------------------------------------------------------------
@settings(deadline=None, max_examples=60, derandomize=True)
@given(rows=st.lists(prob_rows(8), min_size=2, max_size=2))
def test_from_joint_round_trip_with_zeros_and_tiny_masses(rows):
    joint = np.stack(rows)  # V = 2, H = 3; rows contain zeros, 1e-12 masses and near-ties
    policy = AutoregressivePolicy.from_joint(joint, 2)
    assert isinstance(policy, TreePolicy) and policy.horizon == 3
    np.testing.assert_allclose(policy.to_tabular().probs, joint, rtol=1e-9, atol=1e-15)


def test_from_joint_conditionals_and_uniform_for_zero_mass_prefix():
    # V = 2, H = 2. Prompt 0: P(00) = .75, P(01) = .25, prefix (1) has no mass. Prompt 1: P(0·) = P(1·) = .5.
    joint = np.array([[0.75, 0.25, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0]])
    policy = AutoregressivePolicy.from_joint(joint, 2, prompt_probs=[0.5, 0.5])
    first, second = (np.asarray(level) for level in policy.levels)
    np.testing.assert_allclose(first[0, 0], [1.0, 0.0])
    np.testing.assert_allclose(second[0], [[0.75, 0.25], [0.5, 0.5]])  # prefix (1) has zero mass: uniform
    np.testing.assert_allclose(first[1, 0], [0.5, 0.5])
    np.testing.assert_allclose(second[1], [[0.5, 0.5], [1.0, 0.0]])


def test_from_joint_rejects_bad_input():
    with pytest.raises(ValueError, match="not \\|V\\|\\^H"):
        AutoregressivePolicy.from_joint(np.full((1, 6), 1 / 6), 4)
    with pytest.raises(ValueError, match="not \\|V\\|\\^H"):
        AutoregressivePolicy.from_joint(np.ones((1, 1)), 2)
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 2"):
        AutoregressivePolicy.from_joint(np.full((1, 4), 0.25), 1)
    with pytest.raises(ValueError, match="row 0 must sum to 1"):
        AutoregressivePolicy.from_joint(np.full((1, 4), 0.3), 2)
    with pytest.raises(ValueError, match="prompt_probs"):
        AutoregressivePolicy.from_joint(np.full((2, 4), 0.25), 2, prompt_probs=[1.0])


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
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
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


# ---- validation ------------------------------------------------------------------------------------------
def test_tree_validation_names_prompt_position_and_prefix():
    levels = random_levels(np.random.default_rng(0), 2, 2, 3)
    bad = [level.copy() for level in levels]
    bad[2][1, 3] = [0.7, 0.7]  # prompt 1, position 2, prefix index 3 = (1, 1)
    with pytest.raises(ValueError, match=r"prompt 1, position 2, prefix \(1, 1\) must sum to 1"):
        TreePolicy(bad)
    bad = [level.copy() for level in levels]
    bad[1][0, 1] = [1.5, -0.5]
    with pytest.raises(ValueError, match=r"prompt 0, position 1, prefix \(1,\) must be non-negative"):
        TreePolicy(bad)
    bad = [level.copy() for level in levels]
    bad[0][0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"prompt 0, position 0, prefix \(\) must be finite"):
        TreePolicy(bad)


def test_tree_validation_of_shapes():
    levels = random_levels(np.random.default_rng(0), 2, 2, 3)
    with pytest.raises(ValueError, match=r"levels\[1\] must have shape \(2, 2, 2\)"):
        TreePolicy([levels[0], levels[2], levels[1]])
    with pytest.raises(ValueError, match=r"levels\[0\] must have shape \[X, 1, \|V\|\]"):
        TreePolicy([levels[1]])
    with pytest.raises(ValueError, match="at least one position"):
        TreePolicy([])
    with pytest.raises(TypeError, match="list of H arrays"):
        TreePolicy(levels[0])
    with pytest.raises(ValueError, match="vocabulary of >= 2"):
        TreePolicy([np.ones((1, 1, 1))])
    with pytest.raises(ValueError, match="prompt_probs has shape"):
        TreePolicy(levels, prompt_probs=[1.0])
    with pytest.raises(TypeError, match="must hold real numbers"):
        TreePolicy([np.array([[["a", "b"]]])])


# ---- pytree behaviour --------------------------------------------------------------------------------------
def test_tree_policy_is_a_pytree_under_jit_and_vmap():
    rng = np.random.default_rng(5)
    policies = [TreePolicy(random_levels(rng, 2, 2, 3)) for _ in range(3)]
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *policies)
    responses = jnp.array([[0, 1, 1], [1, 1, 0]])
    batched = jax.vmap(lambda p: p.log_prob(jnp.array([0, 1]), responses))(stacked)
    expected = np.stack([p.log_prob(jnp.array([0, 1]), responses) for p in policies])
    np.testing.assert_allclose(batched, expected, rtol=1e-12)
    tables = jax.jit(lambda p: p.to_tabular().probs)(policies[0])
    np.testing.assert_allclose(tables, policies[0].to_tabular().probs)
    leaves, treedef = jax.tree_util.tree_flatten(policies[0])
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(rebuilt, TreePolicy) and rebuilt.horizon == 3 and rebuilt.vocab_size == 2
    assert "TreePolicy(num_prompts=2, vocab_size=2, horizon=3)" == repr(policies[0])


def test_from_logits_builds_softmax_conditionals():
    logits = [np.array([[[0.0, np.log(3.0)]]]), np.array([[[0.0, 0.0], [-np.inf, 0.0]]])]
    policy = TreePolicy.from_logits(logits)
    np.testing.assert_allclose(policy.to_tabular().probs, [[0.125, 0.125, 0.0, 0.75]])
