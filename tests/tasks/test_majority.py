"""Sample majority vote: the exact law against every N-tuple of draws, and Monte Carlo against the exact law."""

import itertools
from math import comb

import jax
import numpy as np
import pytest

from sharpsim.measure.statistics import wilson_interval
from sharpsim.tasks import (
    Task, answer_mass, majority_accuracy, majority_monte_carlo, majority_pick_log_likelihood, majority_winner_law,
)
from sharpsim.tasks.majority import count_vectors
from sharpsim.tasks.task import last_token_answers, well_formed

V, H = 4, 2


def tiny_task(seed, num_prompts=2):
    rng = np.random.default_rng(seed)
    probs = rng.random((num_prompts, V**H)) * well_formed(V, H)
    probs[:, 0] = 0.0
    probs[1, last_token_answers(V, H) == 3] = 0.0  # prompt 1 never answers 3
    probs /= probs.sum(axis=1, keepdims=True)
    return Task.from_joint(probs, V, correct_answers=rng.integers(1, V, num_prompts))


def brute_force(task, n):
    """Winner law and E[log π(pick)] by enumerating N-tuples of responses; ties: the answer drawn first wins, and
    the pick is the first draw with the winning answer."""
    probs = np.asarray(task.probs)
    answers = last_token_answers(V, H)
    law = np.zeros((len(probs), V))
    loglik = np.zeros(len(probs))
    for x in range(len(probs)):
        support = np.flatnonzero(probs[x] > 0)
        for draws in itertools.product(support, repeat=n):
            mass = np.prod(probs[x, list(draws)])
            drawn = [answers[d] for d in draws]
            counts = np.bincount(drawn, minlength=V)
            tied = set(np.flatnonzero(counts == counts.max()))
            winner = next(a for a in drawn if a in tied)
            law[x, winner] += mass
            pick = next(d for d in draws if answers[d] == winner)
            loglik[x] += mass * np.log(probs[x, pick])
    return law, loglik


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_exact_law_matches_brute_force(n):
    task = tiny_task(seed=n)
    law, loglik = brute_force(task, n)
    np.testing.assert_allclose(majority_winner_law(np.asarray(answer_mass(task)), n), law, atol=1e-13)
    mu = np.asarray(task.prompt_probs)
    correct = np.asarray(task.correct_answers)
    assert majority_accuracy(task, [n])[0] == pytest.approx(law[np.arange(2), correct] @ mu, abs=1e-13)
    assert majority_pick_log_likelihood(task, [n])[0] == pytest.approx(loglik @ mu, abs=1e-12)


def test_count_vectors():
    vectors = count_vectors(5, 3)
    assert len(vectors) == comb(7, 2) and len({tuple(v) for v in vectors}) == len(vectors)
    assert (vectors.sum(axis=1) == 5).all() and (vectors >= 0).all()


def test_monte_carlo_agrees_with_exact_law():
    task = tiny_task(seed=7)
    n, trials = 9, 20000
    hits = np.asarray(majority_monte_carlo(jax.random.PRNGKey(1), task, n, trials))
    law = majority_winner_law(np.asarray(answer_mass(task)), n)
    exact = law[np.arange(2), np.asarray(task.correct_answers)]
    for x in range(2):
        low, high = wilson_interval(int(hits[:, x].sum()), trials, confidence=0.999)
        assert low <= exact[x] <= high


def test_bad_input():
    task = tiny_task(seed=0)
    with pytest.raises(ValueError, match="max_outcomes"):
        majority_winner_law(np.asarray(answer_mass(task)), 50, max_outcomes=100)
    with pytest.raises(ValueError, match="answer_probs"):
        majority_winner_law(np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="n must be"):
        majority_winner_law(np.asarray(answer_mass(task)), 0)
    with pytest.raises(ValueError, match="num_trials"):
        majority_monte_carlo(jax.random.PRNGKey(0), task, 3, 0)
    with pytest.raises(TypeError, match="task must be"):
        majority_accuracy(np.ones((2, 16)), [1])
