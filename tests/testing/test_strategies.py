"""sharpsim.testing.strategies and .instances: extreme rows stay valid, autoregressive strategies give valid
policies, and instances meet their target C_cov (Eq. 6), margin (Assumption 4.2) and argmax ties exactly (checked
by numpy references written here and, at fixed shapes, by the referee)."""

import math

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim.testing import (
    argmax_mass_range,
    coverage_masses,
    default_instance,
    strategies,
    targeted_policy,
)

TINY = np.finfo(np.float64).tiny


# --- numpy references ----------------------------------------------------------------------------------
def np_argmax_sets(probs):
    return probs == probs.max(axis=1, keepdims=True)


def np_coverage(probs, mu):
    mass = np.where(np_argmax_sets(probs), probs, 0.0).sum(axis=1)
    return float(np.sum(np.where(mu > 0, mu / mass, 0.0)))


def np_margin(probs, mu):
    top = probs.max(axis=1)
    runner_up = np.where(np_argmax_sets(probs), -1.0, probs).max(axis=1)
    margins = np.where(runner_up > 0, top / np.where(runner_up > 0, runner_up, 1.0) - 1.0, np.inf)
    return float(np.min(np.where(mu > 0, margins, np.inf)))


def np_tree_joint(levels, vocab):
    """P(y_{1:H}|x) by multiplying the conditionals along every sequence (lexicographic order)."""
    horizon, prompts = len(levels), levels[0].shape[0]
    joint = np.ones((prompts, vocab**horizon))
    for index in range(vocab**horizon):
        tokens = [(index // vocab ** (horizon - 1 - h)) % vocab for h in range(horizon)]
        for h in range(horizon):
            prefix = sum(tokens[i] * vocab ** (h - 1 - i) for i in range(h))
            joint[:, index] *= levels[h][:, prefix, tokens[h]]
    return joint


# --- rows with extreme masses --------------------------------------------------------------------------
@settings(max_examples=100)
@given(strategies.prob_rows(6, extreme=True))
def test_extreme_rows_are_valid_and_stay_normal_floats(row):
    assert np.all(row >= 0) and abs(row.sum() - 1.0) <= 1e-12
    assert np.all((row == 0) | (row >= TINY)), row  # no subnormals: 1e-300 / (a sum <= 6) is still normal
    ss.TabularPolicy(row[None])


@pytest.mark.slow  # compiles several jitted programs; the slow suite (CI) runs it
def test_extreme_rows_reach_1e_300_and_near_ties_of_1e_15():
    row = find(strategies.prob_rows(4, extreme=True), lambda r: 0 < r[r > 0].min() <= 1e-299)
    assert row[row > 0].min() >= TINY

    def near_tie(r):
        values = np.sort(r[r > 0])
        gaps = np.diff(values) / values[1:]
        return bool(np.any((gaps > 0) & (gaps < 1e-14)))

    assert near_tie(find(strategies.prob_rows(4, extreme=True), near_tie))


def test_a_near_tie_of_1e_15_stays_strict_through_normalization():
    for level in (0.3, 1e-12, 1e-300):
        values = np.array([level, level * (1 + 1e-15), 0.7, 0.1])
        row = values / values.sum()
        assert row[1] > row[0] and (row[1] - row[0]) / row[0] < 1e-14


@settings(max_examples=100)
@given(strategies.prob_rows(5))
def test_without_extreme_the_rows_keep_their_old_range(row):
    assert np.all((row == 0) | (row >= 1e-17))


# --- autoregressive strategies -----------------------------------------------------------------------------
@settings(max_examples=10)
@given(strategies.tree_policies(extreme=True))
def test_tree_policies_are_valid_laws_over_sequences(policy):
    assert 2 <= policy.vocab_size <= 3 and 1 <= policy.horizon <= 3 and 1 <= policy.num_prompts <= 3
    vocab, horizon = policy.vocab_size, policy.horizon
    conditionals = np.asarray(policy.conditionals)
    sizes = np.cumsum([0] + [vocab**h for h in range(horizon)])
    levels = [conditionals[:, sizes[h]:sizes[h + 1]] for h in range(horizon)]
    joint = np_tree_joint(levels, vocab)
    np.testing.assert_allclose(joint.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(policy.to_tabular().probs), joint, rtol=1e-12, atol=1e-300)


@settings(max_examples=8)
@given(strategies.markov_policies(vocab_size=(2, 3), horizon=(1, 3)))
def test_markov_policies_are_valid_laws_over_sequences(policy):
    assert 2 <= policy.vocab_size <= 3 and 1 <= policy.horizon <= 3
    initial, transitions = np.asarray(policy.initial), np.asarray(policy.transitions)
    vocab, horizon = policy.vocab_size, policy.horizon
    joint = np.ones((policy.num_prompts, vocab**horizon))
    for index in range(vocab**horizon):
        tokens = [(index // vocab ** (horizon - 1 - h)) % vocab for h in range(horizon)]
        joint[:, index] = initial[:, tokens[0]]
        for h in range(1, horizon):
            joint[:, index] *= transitions[:, h - 1, tokens[h - 1], tokens[h]]
    np.testing.assert_allclose(np.asarray(policy.to_tabular().probs), joint, rtol=1e-12, atol=1e-300)


# --- instances by target -------------------------------------------------------------------------------------
targets = st.fixed_dictionaries({
    "coverage": st.one_of(st.none(), st.just(1.0), st.floats(1.0001, 6.0)),
    "margin": st.one_of(st.none(), st.floats(1e-9, 50.0)),
    "argmax_ties": st.one_of(st.none(), st.integers(1, 3)),
})


def reachable(coverage, margin, ties, num_responses):
    """Whether some Y in the range (and k in 1..3, γ > 0 where not fixed) holds an instance with these targets, by
    brute force over the construction's condition 1/(C − 1) <= k(1 + γ) <= (Y − k)/(C − 1) with k < Y (a finite
    margin needs a response outside the argmax set; C = 1 needs margin ∞)."""
    low, high = num_responses
    for k in ([ties] if ties is not None else range(1, min(3, high) + 1)):
        for y in range(max(low, k), high + 1):
            if coverage is None:
                if margin is None or k < y:
                    return True
            elif coverage == 1.0:
                if margin is None:
                    return True
            elif k < y:
                # some γ > 0 (or the given one) with k(1 + γ)(C − 1) in [1, Y − k]
                least, most = 1.0, (y - k) * (1 + 1e-9)
                if margin is None and k * (coverage - 1) < most and most >= least:
                    return True
                if margin is not None and least * (1 - 1e-9) <= k * (1 + margin) * (coverage - 1) <= most:
                    return True
    return False


@settings(max_examples=120)
@given(st.data(), targets)
def test_instances_meet_their_targets(data, target):
    sizes = (2, 10)
    try:
        policy = data.draw(strategies.instances(num_prompts=(1, 4), num_responses=sizes, **target))
    except ValueError as error:  # refused only when out of reach
        assert not reachable(target["coverage"], target["margin"], target["argmax_ties"], sizes), error
        return
    assert reachable(target["coverage"], target["margin"], target["argmax_ties"], sizes)
    probs, mu = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    ties = np_argmax_sets(probs).sum(axis=1)
    assert np.all(ties == ties[0])
    if target["argmax_ties"] is not None:
        assert ties[0] == target["argmax_ties"]
    if target["coverage"] is not None:
        assert math.isclose(np_coverage(probs, mu), target["coverage"], rel_tol=1e-12)
    if target["margin"] is not None:
        assert math.isclose(np_margin(probs, mu), target["margin"], rel_tol=1e-12, abs_tol=1e-14)
    assert sizes[0] <= probs.shape[1] <= sizes[1]


@settings(max_examples=4)
@given(strategies.instances(num_prompts=3, num_responses=6, coverage=2.5, margin=0.5))
def test_instances_agree_with_the_referee(policy):
    assert math.isclose(float(ss.coverage_coefficient(policy)), 2.5, rel_tol=1e-12)
    assert math.isclose(float(ss.margin(policy)), 0.5, rel_tol=1e-12)
    ties = np.asarray(ss.argmax_mask(policy)).sum(axis=1)
    assert np.all(ties == ties[0])


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_instances_refuse_targets_out_of_reach():
    with pytest.raises(ValueError, match="coverage must be >= 1.0"):
        strategies.instances(coverage=0.5).example()
    with pytest.raises(ValueError, match="margin must be > 0"):
        strategies.instances(margin=0.0).example()
    with pytest.raises(ValueError, match="coverage 1 means no mass outside the argmax sets"):
        strategies.instances(coverage=1.0, margin=2.0).example()
    with pytest.raises(ValueError, match="no instance has C_cov=5.0"):  # C_cov <= Y/k = 4
        strategies.instances(num_responses=4, coverage=5.0).example()


@settings(max_examples=10)
@given(strategies.oracles(budget=7))
def test_oracles_over_instances(oracle):
    assert isinstance(oracle, ss.Oracle) and oracle.budget == 7 and 2 <= oracle.num_responses <= 8


def test_targeted_policy_at_the_ends_of_the_range():
    for num_responses, ties, margin in [(5, 1, 0.5), (6, 2, 3.0), (3, 2, 1e-9), (4, 1, 100.0)]:
        low, high = argmax_mass_range(num_responses, ties, margin)
        for mass in (low, high, 0.5 * (low + high)):
            policy = targeted_policy(num_responses, [mass, mass], ties, margin)
            probs = np.asarray(policy.probs)
            assert np.all(np_argmax_sets(probs).sum(axis=1) == ties)
            assert math.isclose(np_margin(probs, np.full(2, 0.5)), margin, rel_tol=1e-12, abs_tol=1e-14)
            assert math.isclose(np_coverage(probs, np.full(2, 0.5)), 1.0 / mass, rel_tol=1e-12)
        with pytest.raises(ValueError, match="outside the reachable range"):
            targeted_policy(num_responses, [high * 1.01], ties, margin)
        with pytest.raises(ValueError, match="outside the reachable range"):
            targeted_policy(num_responses, [low * 0.99], ties, margin)


def test_argmax_mass_range_matches_a_hand_count():
    # k ties of a/k, a runner-up a/(k(1 + γ)), at most Y − k − 1 more of that size: a ∈ [c/(c + Y − k), c/(c + 1)]
    assert argmax_mass_range(4, 1, 1.0) == pytest.approx((2 / 5, 2 / 3))
    assert argmax_mass_range(3, 3, 1.0) == (1.0, 1.0)
    assert argmax_mass_range(5, 2, math.inf) == (1.0, 1.0)
    with pytest.raises(ValueError, match="argmax_ties must be at most num_responses=2"):
        argmax_mass_range(2, 3, 1.0)
    with pytest.raises(ValueError, match=r"margin must lie in \(0, inf\]"):
        argmax_mass_range(4, 1, 0.0)


@settings(max_examples=50)
@given(st.floats(1.1, 2.4), st.lists(st.floats(-1, 1), min_size=3, max_size=3), st.floats(0, 1))
def test_coverage_masses_have_the_target_weighted_mean(coverage, spread, fraction):
    mu = np.array([0.5, 0.3, 0.2])
    masses = coverage_masses(coverage, mu, 0.4, 0.95, spread, fraction)
    assert np.all((masses >= 0.4 * (1 - 1e-12)) & (masses <= 0.95 * (1 + 1e-12)))
    assert math.isclose(float(np.sum(mu / masses)), coverage, rel_tol=1e-12)
    with pytest.raises(ValueError, match="out of reach"):
        coverage_masses(3.0, mu, 0.4, 0.95)


def test_the_default_instance_has_its_documented_features():
    probs, mu = np.asarray(default_instance().probs), np.asarray(default_instance().prompt_probs)
    assert probs.shape == (4, 6) and len(set(mu.tolist())) == 4
    assert np_argmax_sets(probs)[0].sum() == 2 and probs[0].min() == 0.0
    top = np.sort(probs[2])[::-1]
    assert 0 < (top[0] - top[1]) / top[0] < 1e-11
    assert probs[3].min() == 1e-12
