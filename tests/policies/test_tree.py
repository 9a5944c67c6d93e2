"""``TreePolicy``: one conditional per prefix. Enumeration against a numpy product in lexicographic order,
``from_joint`` round trips, validation naming prompt, position and prefix, pytree behavior, ``from_logits``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.policies.tree_reference import np_joint, random_levels
from sharpsim.policies.autoregressive import AutoregressivePolicy
from sharpsim.policies.tree import TreePolicy
from sharpsim.testing.strategies import prob_rows


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

# ---- pytree behavior --------------------------------------------------------------------------------------
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
