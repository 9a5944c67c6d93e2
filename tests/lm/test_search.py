"""The exact argmax search against brute-force enumeration (random networks, random next-token tables), the node
cap, and C_cov, the margin and the coverage profile against numpy computations from the enumerated law."""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim
from sharpsim.lm.policy import TransformerPolicy
from sharpsim.lm.search import (
    ArgmaxSearch,
    argmax_search,
    lm_coverage_coefficient,
    lm_coverage_profile,
    lm_margin,
)
from sharpsim.lm.task import ModularSumTask
from tests.lm.test_model import CONFIG, random_network

TASK = ModularSumTask(modulus=4, num_operands=4)  # |X| = 256, |V|^H = 64
POLICY = TransformerPolicy(random_network(7, scale=3.0, task=TASK, config=CONFIG), TASK)


def enumerated_log_joint(policy):
    """float64 [X, |V|^H] by teacher forcing every sequence (the log_prob path, not the search's)."""
    sequences = sharpsim.indices_to_sequences(jnp.arange(policy.num_responses), policy.vocab_size, policy.horizon)
    return np.asarray(policy.log_prob(jnp.arange(policy.num_prompts)[:, None], sequences[None]))


LOG_JOINT = enumerated_log_joint(POLICY)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_top_k_matches_brute_force_on_a_random_network():
    search = argmax_search(POLICY, top_k=3)
    order = np.argsort(-LOG_JOINT, axis=-1, kind="stable")[:, :3]
    found = np.asarray(sharpsim.sequences_to_indices(jnp.asarray(search.sequences), TASK.modulus))
    np.testing.assert_array_equal(found, order)
    np.testing.assert_allclose(search.log_probs, np.take_along_axis(LOG_JOINT, order, -1), rtol=1e-12, atol=1e-12)
    assert search.log_probs.dtype == np.float64 and not search.capped.any()
    assert (search.nodes < (TASK.modulus**TASK.horizon - 1) / (TASK.modulus - 1)).all()  # fewer than all prefixes
    np.testing.assert_array_equal(search.argmax, search.sequences[:, 0])


SMALL = ModularSumTask(modulus=3, num_operands=3)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.5, 2.0, 5.0]), st.integers(1, 3))
def test_search_matches_enumeration_on_random_networks(seed, scale, top_k):
    # one network structure: every example reuses the compiled search step
    policy = TransformerPolicy(random_network(seed, scale=scale, task=SMALL, config=CONFIG), SMALL)
    log_joint = enumerated_log_joint(policy)
    search = argmax_search(policy, top_k=top_k)
    order = np.argsort(-log_joint, axis=-1, kind="stable")[:, :top_k]
    np.testing.assert_allclose(search.log_probs, np.take_along_axis(log_joint, order, -1), rtol=1e-12, atol=1e-12)
    found = np.asarray(sharpsim.sequences_to_indices(jnp.asarray(search.sequences[:, 0]), SMALL.modulus))
    np.testing.assert_array_equal(found, order[:, 0])


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_coverage_margin_and_profile_against_enumeration():
    search = argmax_search(POLICY, top_k=2)
    top = np.sort(LOG_JOINT, axis=-1)[:, ::-1]
    mu = np.full(TASK.num_prompts, 1 / TASK.num_prompts)
    expected_cov = np.sum(mu / np.exp(top[:, 0]))
    assert lm_coverage_coefficient(POLICY, search) == pytest.approx(expected_cov, rel=1e-12)
    assert lm_coverage_coefficient(POLICY) == pytest.approx(expected_cov, rel=1e-12)  # runs its own search
    expected_margin = np.min(np.exp(top[:, 0]) / np.exp(top[:, 1]) - 1)
    assert lm_margin(POLICY, search) == pytest.approx(expected_margin, rel=1e-9)
    sizes = np.asarray([1, 2, 3, 5, 10, 100])
    expected_profile = [(np.exp(top[:, 0]) >= 1 / n).mean() for n in sizes]
    np.testing.assert_allclose(lm_coverage_profile(POLICY, sizes, search), expected_profile, atol=1e-15)
    # the referee's enumerated quantities agree (a second, independent path through to_tabular)
    table = POLICY.to_tabular()
    assert float(sharpsim.coverage_coefficient(table)) == pytest.approx(expected_cov, rel=1e-9)


def test_weighted_prompts():
    mu = np.random.default_rng(0).dirichlet(np.ones(TASK.num_prompts))
    mu[:10] = 0.0
    mu /= mu.sum()
    policy = TransformerPolicy(POLICY.network, TASK, prompt_probs=mu)
    search = argmax_search(policy, top_k=2)
    top = np.sort(LOG_JOINT, axis=-1)[:, ::-1]
    support = mu > 0
    assert lm_coverage_coefficient(policy, search) == pytest.approx(np.sum(mu[support] / np.exp(top[support, 0])),
                                                                    rel=1e-12)
    assert lm_margin(policy, search) == pytest.approx(np.min(np.expm1(top[support, 0] - top[support, 1])),
                                                      rel=1e-9)


@st.composite
def tree_policies(draw):
    """Random next-token tables (TreePolicy) with |V|^H ≤ 64, some peaked, some flat, some with exact ties."""
    vocab = draw(st.integers(2, 4))
    horizon = draw(st.integers(1, 3))
    prompts = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.0, 0.3, 1.0, 4.0]))
    rng = np.random.default_rng(seed)
    joint = np.exp(scale * rng.normal(size=(prompts, vocab**horizon)))
    if draw(st.booleans()):  # exact ties: duplicate the best mass
        best = joint.argmax(-1)
        joint[:, (best + 1) % joint.shape[1]] = joint[np.arange(prompts), best]
    return sharpsim.TreePolicy.from_joint(joint / joint.sum(-1, keepdims=True), vocab)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
@settings(max_examples=12, deadline=None)
@given(tree_policies(), st.integers(1, 4))
def test_search_matches_enumeration_on_random_tables(policy, top_k):
    log_joint = np.log(np.asarray(policy.to_tabular().probs))
    search = argmax_search(policy, top_k=top_k)
    assert not search.capped.any()
    k = min(top_k, policy.num_responses)
    expected = -np.sort(-log_joint, axis=-1)[:, :k]
    np.testing.assert_allclose(search.log_probs[:, :k], expected, rtol=1e-9, atol=1e-12)
    # every returned sequence really has the mass reported (ties may be returned in any order among equals)
    index = np.asarray(sharpsim.sequences_to_indices(jnp.asarray(search.sequences[:, :k]), policy.vocab_size))
    np.testing.assert_allclose(np.take_along_axis(log_joint, index, -1), search.log_probs[:, :k], rtol=1e-9,
                               atol=1e-12)
    assert all(len(set(row)) == k for row in index)  # distinct sequences
    if top_k > policy.num_responses:
        assert np.all(search.log_probs[:, k:] == -np.inf) and np.all(search.sequences[:, k:] == -1)


def test_node_cap_is_reported():
    flat = sharpsim.TreePolicy.from_joint(np.full((2, 4**3), 1 / 4**3), 4)  # uniform: no pruning possible
    with pytest.warns(RuntimeWarning, match="node cap max_nodes=3"):
        search = argmax_search(flat, max_nodes=3)
    assert search.capped.all() and (search.nodes == 3).all()
    # the frontier bound is an upper bound on the true maximum; the sequence found a lower bound
    assert (search.frontier_bound >= np.log(1 / 4**3)).all()
    with pytest.raises(RuntimeError, match="node cap"):
        argmax_search(flat, max_nodes=3, on_cap="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = argmax_search(flat, max_nodes=3, on_cap="ignore")
    assert quiet.capped.all()
    with pytest.raises(ValueError, match="node cap"):
        lm_coverage_coefficient(flat, quiet)
    complete = argmax_search(flat, max_nodes=1 + 4 + 16)  # every prefix of length < 3
    assert not complete.capped.any() and np.all(complete.frontier_bound == -np.inf)
    np.testing.assert_allclose(complete.argmax_log_prob, np.log(1 / 4**3), rtol=1e-12)


def test_bad_input():
    with pytest.raises(TypeError, match="policy"):
        argmax_search(np.ones((2, 3)))
    with pytest.raises(ValueError, match="top_k"):
        argmax_search(POLICY, top_k=0)
    with pytest.raises(TypeError, match="max_nodes"):
        argmax_search(POLICY, max_nodes=1.5)
    with pytest.raises(ValueError, match="on_cap"):
        argmax_search(POLICY, on_cap="sometimes")
    with pytest.raises(ValueError, match="prompts"):
        argmax_search(POLICY, prompts=[0, 256])
    partial = argmax_search(POLICY, prompts=[0, 1])
    with pytest.raises(ValueError, match="every prompt"):
        lm_coverage_coefficient(POLICY, partial)
    with pytest.raises(ValueError, match="top_k"):
        lm_margin(POLICY, argmax_search(POLICY, top_k=1))
    with pytest.raises(TypeError, match="search"):
        lm_margin(POLICY, {"log_probs": 0})
    with pytest.raises(ValueError, match="num_samples"):
        lm_coverage_profile(POLICY, [0, 4])
    with pytest.raises(ValueError, match="num_samples"):
        lm_coverage_profile(POLICY, [1.5])
    assert isinstance(partial, ArgmaxSearch)
