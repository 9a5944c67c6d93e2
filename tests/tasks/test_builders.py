"""reasoning_task: its controls do what they claim."""

import jax
import numpy as np
import pytest

from sharpsim.tasks import (
    answer_mass, best_of_n_accuracy, pick_expectations, reasoning_task, response_lengths, self_reward,
)

SMALL = {"vocab_size": 5, "horizon": 3, "num_answers": 4}
KEY = jax.random.PRNGKey(0)


def argmax_correct(task):
    probs = np.asarray(task.probs)
    return np.asarray(task.correct)[np.arange(len(probs)), probs.argmax(axis=1)]


def test_support_and_structure_without_noise():
    task = reasoning_task(KEY, 6, correct_paths=5, wrong_paths=2, signal=0.0, noise=0.0, **SMALL)
    probs = np.asarray(task.probs)
    lengths = response_lengths(5, 3)
    correct = np.asarray(task.correct)
    # 5 + 3·2 equally likely reasoned responses of length H, all distinct, answers 1..4
    assert ((probs > 0).sum(axis=1) == 11).all()
    np.testing.assert_allclose(probs[probs > 0], 1 / 11, rtol=1e-12)
    assert (lengths[np.nonzero(probs > 0)[1]] == 3).all()
    np.testing.assert_allclose((probs * correct).sum(axis=1), 5 / 11, rtol=1e-12)
    assert set(np.asarray(task.correct_answers).tolist()) <= {1, 2, 3, 4}


def test_signal_moves_the_likelihood_argmax_from_correct_to_wrong():
    strong = reasoning_task(KEY, 40, signal=4.0, noise=0.3, **SMALL)
    inverted = reasoning_task(KEY, 40, signal=-4.0, noise=0.3, **SMALL)
    assert argmax_correct(strong).all()
    assert not argmax_correct(inverted).any()


def test_paths_make_the_answer_marginal_differ_from_the_sequence_likelihood():
    # one likelier path per wrong answer, many less likely paths to the correct answer
    task = reasoning_task(KEY, 40, correct_paths=12, wrong_paths=1, signal=-1.0, noise=0.1, **SMALL)
    marginal = np.asarray(answer_mass(task))
    assert (marginal.argmax(axis=1) == np.asarray(task.correct_answers)).all()
    assert not argmax_correct(task).any()


def test_short_bias_makes_loglik_bon_pick_short_wrong_answers():
    task = reasoning_task(KEY, 40, signal=3.0, noise=0.5, short_bias=4.0, **SMALL)
    lengths = np.broadcast_to(response_lengths(5, 3).astype(float), task.probs.shape)
    def pick_length(name):
        return np.asarray(pick_expectations(task, self_reward(task, name), lengths, [200]))[0]

    np.testing.assert_allclose(pick_length("log_likelihood"), 1.0, atol=1e-6)  # every prompt: a short response
    # dividing by |y| favors reasoned responses, though not on every prompt (log π(short) may beat log π(long)/H)
    assert pick_length("length_normalized").mean() > 2.5
    short = np.asarray(best_of_n_accuracy(task, self_reward(task, "log_likelihood"), [200]))[0]
    normalized = np.asarray(best_of_n_accuracy(task, self_reward(task, "length_normalized"), [200]))[0]
    assert short < 0.6 < normalized  # short responses carry no signal; the reasoned ones do


@pytest.mark.parametrize("kwargs, error, words", [
    ({"num_answers": 5}, ValueError, "num_answers"),
    ({"num_answers": 1}, ValueError, "num_answers"),
    ({"correct_paths": 17}, ValueError, "correct_paths"),
    ({"wrong_paths": 0}, ValueError, "wrong_paths"),
    ({"reason_length": 4}, ValueError, "reason_length"),
    ({"noise": -1.0}, ValueError, "noise"),
    ({"signal": float("nan")}, ValueError, "signal"),
    ({"short_bias": "big"}, TypeError, "short_bias"),
    ({"horizon": 8}, ValueError, "2\\^16"),
    ({"vocab_size": 2}, ValueError, "vocab_size"),
])
def test_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        reasoning_task(KEY, 2, **{**SMALL, **kwargs})
