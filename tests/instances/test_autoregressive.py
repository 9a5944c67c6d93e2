"""Autoregressive instance families: closed forms written here in numpy, Proposition 3.1's tightness, Proposition E.2's
best achievable mass (optimized by the code, checked against a grid search here), Proposition E.1's max-cut encoding
(against brute-force max cut)."""

import itertools

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim import argmax_mask, coverage_coefficient, family_names, make, margin
from sharpsim.referee.sequence_mass import target_mass
from sharpsim.policies.decoding import greedy_decode, sequence_argmax, viterbi_decode
from sharpsim.instances.autoregressive import (
    NOT_CLOSED_TARGET,
    cut_value,
    max_cut_brute_force,
    not_closed_best_mass,
    random_graph,
    sequences_of,
)


def test_families_are_registered():
    for name in ("pivotal", "greedy_threshold", "not_closed", "maxcut", "bitstring", "random_tree", "random_markov"):
        assert name in family_names()


# ---- pivotal ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("vocab,horizon,p", [(2, 2, 0.6), (3, 3, 0.8), (2, 4, 0.85)])
def test_pivotal_greedy_misses_the_argmax(vocab, horizon, p):
    policy = make("pivotal", vocab_size=vocab, horizon=horizon, p_first=p)
    expected = np.zeros(vocab**horizon)
    expected[: vocab ** (horizon - 1)] = p / vocab ** (horizon - 1)  # first token 0, then uniform
    expected[vocab ** (horizon - 1)] = 1 - p  # (1, 0, …, 0)
    np.testing.assert_allclose(policy.to_tabular().probs[0], expected, atol=1e-15)
    np.testing.assert_array_equal(sequence_argmax(policy).sequences[0], [1] + [0] * (horizon - 1))
    np.testing.assert_array_equal(greedy_decode(policy)[0], [0] * horizon)


def test_pivotal_rejects_parameters_without_a_pivot():
    with pytest.raises(ValueError, match=r"p_first must lie in \(0.5, 0.666667\)"):
        make("pivotal", vocab_size=2, horizon=2, p_first=0.7)
    with pytest.raises(ValueError, match="p_first must lie in"):
        make("pivotal", p_first=0.5)
    with pytest.raises(ValueError, match="horizon must be an integer >= 2"):
        make("pivotal", horizon=1)


# ---- greedy_threshold: Proposition 3.1 is tight ------------------------------------------------------------------
@settings(deadline=None, max_examples=30, derandomize=True)
@given(eta=st.one_of(st.sampled_from([1e-12, 1e-9, 1e-6, 0.1, 0.2, 0.3, 0.45]), st.floats(1e-9, 0.16)))
def test_greedy_threshold_has_mass_one_half_minus_eta_and_greedy_fails(eta):
    policy = make("greedy_threshold", eta=eta)
    probs = np.asarray(policy.to_tabular().probs[0])
    vocab = policy.vocab_size
    assert vocab > (1 + 2 * eta) / (1 - 2 * eta)
    star = 1 * vocab + 0  # the sequence (1, 0)
    np.testing.assert_allclose(probs[star], 0.5 - eta, rtol=1e-12)
    assert np.all(np.delete(probs, star) < probs[star])  # unique argmax
    decoded = np.asarray(greedy_decode(policy)[0])
    assert tuple(decoded) != (1, 0)
    np.testing.assert_allclose(probs[decoded[0] * vocab + decoded[1]], (0.5 + eta) / vocab, rtol=1e-12)


def test_greedy_threshold_validation():
    with pytest.raises(ValueError, match="eta must lie in \\(0, 0.5\\)"):
        make("greedy_threshold", eta=0.5)
    with pytest.raises(ValueError, match="needs vocab_size > "):
        make("greedy_threshold", eta=0.3, vocab_size=3)


# ---- not_closed: Proposition E.2 -----------------------------------------------------------------------------------
def np_not_closed_table(n, bound):
    b = np.exp(bound)
    first = np.array([b, b] + [1.0] * (n - 2))
    first /= first.sum()
    second = np.full((n, n), 1.0 / n)  # φ_2(i ≠ 2, ·) = 0: uniform
    second[1] = np.array([b] + [1.0] * (n - 1)) / (b + n - 1)
    return first[:, None] * second


def np_ball_max(objective, radius, grid=200_001):
    """max of objective(a, b) over the disc of the given radius: the objectives here increase along a
    direction, so the maximum lies on the circle; a fine grid over the angle."""
    angles = np.linspace(-np.pi, np.pi, grid)
    return np.max(objective(radius * np.cos(angles), radius * np.sin(angles)))


def np_best_not_closed_mass(n, radius):
    step1 = np_ball_max(lambda a, b: a - np.logaddexp(np.log(2) + a, np.log(n - 2) + b), radius)
    step2 = np_ball_max(lambda c, d: c - np.logaddexp(c, np.log(n - 1) + d), radius)
    return np.exp(step1 + step2)


@pytest.mark.parametrize("n", [3, 16])
def test_not_closed_base_policy(n):
    policy = make("not_closed", vocab_size=n)
    table = np_not_closed_table(n, np.log(n))
    np.testing.assert_allclose(np.asarray(policy.to_tabular().probs[0]).reshape(n, n), table, rtol=1e-12)
    assert np.argmax(table) == NOT_CLOSED_TARGET[0] * n + NOT_CLOSED_TARGET[1]
    assert np.sort(table.ravel())[-2] < table.max()  # unique argmax
    np.testing.assert_array_equal(sequence_argmax(policy).sequences[0], NOT_CLOSED_TARGET)
    assert tuple(np.asarray(greedy_decode(policy)[0])) != NOT_CLOSED_TARGET  # tokens 0 and 1 tie at step 1
    assert np.all(np.linalg.norm(np.asarray(policy.theta), axis=1) <= policy.norm_bound + 1e-12)


def test_not_closed_large_n_has_constant_argmax_mass():
    n = 1000
    table = np_not_closed_table(n, np.log(n))
    assert 0.16 < table[1, 0] < 0.17 and np.sort(table.ravel())[-2] < 1 / n


@pytest.mark.slow
@pytest.mark.parametrize("radius", [0.5, 2.0, 8.0, 40.0])
def test_not_closed_best_achievable_mass_is_at_most_one_half(radius):
    n = 16
    policy = make("not_closed", vocab_size=n)
    best = not_closed_best_mass(policy, radius, num_steps=2000)
    assert best <= 0.5 + 1e-12
    np.testing.assert_allclose(best, np_best_not_closed_mass(n, radius), rtol=1e-5)
    if radius >= 40:
        assert best > 0.5 - 1e-9  # the supremum 1/2 is approached but never exceeded


# ---- maxcut: Proposition E.1 ------------------------------------------------------------------------------------
def np_cut(adjacency, sides):
    n = len(sides)
    return sum(adjacency[i, j] for i in range(n) for j in range(i + 1, n) if sides[i] != sides[j])


@pytest.mark.slow
@settings(deadline=None, max_examples=12, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), edge_prob=st.sampled_from([0.3, 0.5, 0.8]))
def test_maxcut_argmax_set_is_the_set_of_maximum_cuts(seed, edge_prob):
    num_vertices = 5
    adjacency = random_graph(jax.random.key(seed), num_vertices, edge_prob)
    policy = make("maxcut", adjacency=adjacency)
    assert policy.horizon == num_vertices + 2 and policy.vocab_size == 2
    labelings = list(itertools.product((0, 1), repeat=num_vertices))
    cuts = np.array([np_cut(adjacency, s) for s in labelings])
    best_value, best = max_cut_brute_force(adjacency)
    assert best_value == cuts.max()
    expected = {s + (1, 1) for s, c in zip(labelings, cuts) if c == cuts.max()}
    mask = np.asarray(argmax_mask(policy.to_tabular())[0])
    assert {tuple(int(t) for t in s) for s in sequences_of(policy)[mask]} == expected
    assert {tuple(s) + (1, 1) for s in best.tolist()} == expected
    np.testing.assert_array_equal(cut_value(adjacency, np.array(labelings)), cuts)


def test_maxcut_from_key_and_validation():
    policy = make("maxcut", key=jax.random.key(3), num_vertices=4)
    assert policy.horizon == 6 and policy.theta.shape == (6, 6 + 36 + 216)
    with pytest.raises(ValueError, match="needs an adjacency matrix or a key"):
        make("maxcut")
    with pytest.raises(ValueError, match="symmetric 0/1"):
        make("maxcut", adjacency=np.triu(np.ones((3, 3)), 1))
    with pytest.raises(ValueError, match="at least one edge"):
        make("maxcut", adjacency=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="zero diagonal"):
        make("maxcut", adjacency=np.ones((3, 3)))
    with pytest.raises(ValueError, match="scale must lie in"):
        make("maxcut", key=jax.random.key(0), scale=0.5)


# ---- bitstring and random families ---------------------------------------------------------------------
@pytest.mark.slow
def test_bitstring_coverage_and_margin_formulas():
    horizon, coverage = 8, 5.0
    policy = make("bitstring", horizon=horizon, coverage=coverage, key=jax.random.key(0), num_prompts=3)
    q = coverage ** (-1 / horizon)
    np.testing.assert_allclose(coverage_coefficient(policy), coverage, rtol=1e-10)
    np.testing.assert_allclose(margin(policy), q / (1 - q) - 1, rtol=1e-10)
    target = viterbi_decode(policy).sequences
    np.testing.assert_array_equal(greedy_decode(policy), target)
    np.testing.assert_array_equal(sequence_argmax(policy).sequences, target)


def test_bitstring_scales_in_horizon_with_exact_target_mass():
    target = np.tile([0, 1, 1, 0], 64)
    policy = make("bitstring", horizon=256, coverage=100.0, target=target)
    np.testing.assert_array_equal(viterbi_decode(policy).sequences[0], target)
    np.testing.assert_allclose(target_mass(policy, target[None]), [0.01], rtol=1e-10)
    with pytest.raises(ValueError, match="coverage must lie in \\[1, 16\\)"):
        make("bitstring", horizon=4, coverage=16.0)
    with pytest.raises(ValueError, match="target must be 0/1"):
        make("bitstring", horizon=4, target=[0, 2, 1, 1])


def test_random_families_temperature_controls_argmax_mass():
    key = jax.random.key(0)
    masses = []
    for temperature in (0.1, 1.0, 10.0):
        policy = make("random_tree", key=key, num_prompts=64, vocab_size=2, horizon=4, temperature=temperature)
        masses.append(float(np.mean(np.max(np.asarray(policy.to_tabular().probs), axis=1))))
    assert masses[0] > 0.8 and masses[0] > masses[1] > masses[2] and masses[2] < 1.5 / 16
    markov = make("random_markov", key=key, num_prompts=5, vocab_size=3, horizon=40, temperature=0.5)
    assert markov.transitions.shape == (5, 39, 3, 3)
    with pytest.raises(ValueError, match="temperature must lie in"):
        make("random_tree", key=key, temperature=0.0)
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 2"):
        make("random_markov", key=key, vocab_size=1)
