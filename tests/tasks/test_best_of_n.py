"""Best-of-N laws under each self-reward against brute force over all N-tuples of draws, and Monte Carlo."""

import itertools

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sharpsim.measure.statistics import wilson_interval
from sharpsim.tasks import (
    SELF_REWARDS, Task, best_of_n_accuracy, majority_accuracy, pass_at_n, pick_expectations, pick_law,
    pick_log_likelihood, sampling_accuracy, self_reward,
)
from sharpsim.tasks.task import last_token_answers, response_lengths, well_formed

V, H = 3, 2  # 9 responses, 7 well formed (the empty one gets no mass below)


def tiny_task(seed, num_prompts=2, tie=False):
    rng = np.random.default_rng(seed)
    probs = rng.random((num_prompts, V**H)) * well_formed(V, H)
    probs[:, 0] = 0.0
    if tie:  # two responses with the same probability: a tie class of the log-likelihood
        probs[:, 4] = probs[:, 3]
    probs /= probs.sum(axis=1, keepdims=True)
    return Task.from_joint(probs, V, correct_answers=rng.integers(1, V, num_prompts))


def reference_scores(task, name):
    """The self-rewards from their formulas, in numpy."""
    probs = np.asarray(task.probs)
    answers = last_token_answers(V, H)
    with np.errstate(divide="ignore"):
        log_p = np.log(probs)
    if name == "log_likelihood":
        return log_p
    if name == "length_normalized":
        return log_p / np.maximum(response_lengths(V, H), 1)
    marginal = np.stack([[probs[x, answers == answers[y]].sum() for y in range(V**H)] for x in range(len(probs))])
    return np.where(probs > 0, marginal, -np.inf)


def brute_force_pick_law(probs, scores, n):
    """Σ over every N-tuple of its probability, credited to the first draw among the tied maxima."""
    num_prompts, num_responses = probs.shape
    law = np.zeros_like(probs)
    for x in range(num_prompts):
        for draws in itertools.product(range(num_responses), repeat=n):
            mass = np.prod(probs[x, list(draws)])
            if mass == 0:
                continue
            values = [scores[x, d] for d in draws]
            law[x, draws[int(np.argmax(values))]] += mass  # np.argmax: the first maximum
    return law


@pytest.mark.parametrize("name", sorted(SELF_REWARDS))
@pytest.mark.parametrize("n", [1, 2, 4])
def test_pick_law_matches_brute_force(name, n):
    task = tiny_task(seed=n, tie=True)
    scores = reference_scores(task, name)
    np.testing.assert_allclose(np.asarray(self_reward(task, name)), scores, rtol=1e-13)
    expected = brute_force_pick_law(np.asarray(task.probs), scores, n)
    np.testing.assert_allclose(np.asarray(pick_law(task, scores, n)), expected, atol=1e-13)
    correct = np.asarray(task.correct)
    mu = np.asarray(task.prompt_probs)
    accuracy = float(best_of_n_accuracy(task, scores, [n])[0])
    assert accuracy == pytest.approx(float(((expected * correct).sum(axis=1)) @ mu), abs=1e-13)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.where(expected > 0, np.log(np.asarray(task.probs)), 0.0)
    assert float(pick_log_likelihood(task, scores, [n])[0]) == pytest.approx(float((expected * log_p).sum(1) @ mu),
                                                                              abs=1e-12)


def test_ties_are_shared_in_proportion_to_mass():
    # answer-marginal: responses with one answer tie; the first drawn among them is drawn ∝ π
    task = tiny_task(seed=5)
    scores = np.asarray(self_reward(task, "answer_marginal"))
    law = np.asarray(pick_law(task, scores, 3))
    probs, answers = np.asarray(task.probs), last_token_answers(V, H)
    for x in range(2):
        for a in range(1, V):
            members = (answers == a) & (probs[x] > 0)
            shares, masses = law[x, members], probs[x, members]
            np.testing.assert_allclose(shares / shares.sum(), masses / masses.sum(), rtol=1e-12)


def test_monte_carlo_agrees_with_exact_law():
    task = tiny_task(seed=11, num_prompts=2)
    n, trials = 5, 20000
    scores = np.asarray(self_reward(task, "length_normalized"))
    sequences = np.asarray(task.policy.sample_responses(jax.random.PRNGKey(0), np.array([0, 1]), n * trials))
    index = (sequences @ (V ** np.arange(H - 1, -1, -1))).reshape(2, trials, n)
    draw_scores = np.take_along_axis(scores[:, None, :], index.reshape(2, 1, -1), axis=2).reshape(2, trials, n)
    picks = np.take_along_axis(index, np.argmax(draw_scores, axis=2)[..., None], axis=2)[..., 0]
    correct = np.take_along_axis(np.asarray(task.correct), picks, axis=1)
    exact = np.asarray(pick_expectations(task, scores, np.asarray(task.correct, float), [n]))[0]
    for x in range(2):
        low, high = wilson_interval(int(correct[x].sum()), trials, confidence=0.999)
        assert low <= exact[x] <= high


def test_pass_at_n_and_sampling():
    task = tiny_task(seed=3)
    p = (np.asarray(task.probs) * np.asarray(task.correct)).sum(axis=1)
    mu = np.asarray(task.prompt_probs)
    np.testing.assert_allclose(np.asarray(pass_at_n(task, [1, 7])), [p @ mu, (1 - (1 - p) ** 7) @ mu], rtol=1e-13)
    assert float(sampling_accuracy(task)) == pytest.approx(p @ mu, rel=1e-13)


@settings(max_examples=15)
@given(st.integers(0, 10**6))
def test_loglik_bon_tends_to_argmax_correctness(seed):
    task = tiny_task(seed)
    probs = np.asarray(task.probs)
    argmax_correct = np.asarray(task.correct)[np.arange(2), probs.argmax(axis=1)].astype(float)
    limit = np.asarray(pick_expectations(task, self_reward(task, "log_likelihood"), np.asarray(task.correct, float),
                                         [10**5]))[0]
    np.testing.assert_allclose(limit, argmax_correct, atol=1e-9)


@settings(max_examples=10)
@given(st.integers(0, 10**6))
def test_pass_at_n_dominates_every_self_reward(seed):
    task = tiny_task(seed)
    ns = [1, 2, 3, 8, 30]
    skyline = np.asarray(pass_at_n(task, ns))
    for name in SELF_REWARDS:
        assert (np.asarray(best_of_n_accuracy(task, self_reward(task, name), ns)) <= skyline + 1e-12).all()
    assert (majority_accuracy(task, ns) <= skyline + 1e-12).all()


@pytest.mark.parametrize("call, error, words", [
    (lambda t: self_reward(t, "reward_model"), ValueError, "self-reward name"),
    (lambda t: self_reward(np.ones((2, 9)), "log_likelihood"), TypeError, "task must be"),
    (lambda t: pick_law(t, np.zeros((2, 8)), 2), ValueError, "scores must have the shape"),
    (lambda t: pick_law(t, np.full((2, 9), np.nan), 2), ValueError, "scores"),
    (lambda t: pick_law(t, np.zeros((2, 9)), 0), ValueError, "n must be"),
    (lambda t: best_of_n_accuracy(t, np.zeros((2, 9)), [1, 0]), ValueError, "ns must be"),
    (lambda t: best_of_n_accuracy(t, np.zeros((2, 9)), [1.5]), TypeError, "ns must be"),
    (lambda t: pass_at_n(t, []), ValueError, "ns must be"),
    (lambda t: pick_expectations(t, np.zeros((2, 9)), np.zeros((9,)), [1]), ValueError, "values must have"),
])
def test_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call(tiny_task(seed=0))


@pytest.mark.parametrize("n", [1, 3, 50])
def test_log_likelihood_law_is_the_algorithms_best_of_n_law(n):
    # the package's BoN law for log π (uniform shares in a level set, which equal π-proportional ones there)
    from sharpsim.algorithms.best_of_n import best_of_n_law

    task = tiny_task(seed=n + 100, tie=True)
    np.testing.assert_allclose(np.asarray(pick_law(task, self_reward(task, "log_likelihood"), n)),
                               np.asarray(best_of_n_law(task.table, n).probs), atol=1e-13)
