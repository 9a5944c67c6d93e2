"""Task: EOS padding, lengths, answers, the tree's law and greedy decoding, against loops written here."""

import itertools

import numpy as np
import pytest

from sharpsim.tasks import EOS, Task, greedy_indices, last_token_answers, response_lengths

V, H = 3, 3


def all_sequences(vocab, horizon):
    return list(itertools.product(range(vocab), repeat=horizon))  # lexicographic = index order


def reference_length(seq):
    for i, t in enumerate(seq):
        if t == EOS:
            return i
    return len(seq)


def well_formed(seq):
    n = reference_length(seq)
    return all(t == EOS for t in seq[n:])


def random_joint(rng, num_prompts):
    mask = np.array([well_formed(s) for s in all_sequences(V, H)])
    probs = rng.random((num_prompts, V**H)) * mask
    probs[:, 0] = 0.0  # no empty response
    return probs / probs.sum(axis=1, keepdims=True)


def test_lengths_and_answers_match_loops():
    seqs = all_sequences(V, H)
    lengths = np.array([reference_length(s) for s in seqs])
    answers = np.array([s[reference_length(s) - 1] if reference_length(s) > 0 else EOS for s in seqs])
    np.testing.assert_array_equal(response_lengths(V, H), lengths)
    np.testing.assert_array_equal(last_token_answers(V, H), answers)


def test_tree_reproduces_joint_and_pads_with_eos():
    rng = np.random.default_rng(0)
    probs = random_joint(rng, 2)
    task = Task.from_joint(probs, V, correct_answers=[1, 2])
    np.testing.assert_allclose(np.asarray(task.probs), probs, atol=1e-14)
    levels = [np.asarray(level) for level in task.policy.levels]
    for h in range(1, H):
        for p, prefix in enumerate(all_sequences(V, h)):
            if EOS in prefix:
                np.testing.assert_array_equal(levels[h][:, p], np.tile(np.eye(V)[EOS], (2, 1)))
    correct = np.asarray(task.correct)
    answers = last_token_answers(V, H)
    np.testing.assert_array_equal(correct, answers[None, :] == np.array([[1], [2]]))


def test_greedy_matches_token_by_token_loop():
    rng = np.random.default_rng(1)
    probs = random_joint(rng, 4)
    task = Task.from_joint(probs, V, correct_answers=[1, 1, 2, 2])
    seqs = np.array(all_sequences(V, H))
    for x in range(4):
        prefix = []
        for h in range(H):
            # mass of each one-token extension of the prefix, summed over completions
            match = np.all(seqs[:, :h] == prefix, axis=1) if h else np.ones(len(seqs), bool)
            mass = [probs[x, match & (seqs[:, h] == v)].sum() for v in range(V)]
            prefix.append(int(np.argmax(mass)))
        index = int(np.dot(prefix, V ** np.arange(H - 1, -1, -1)))
        assert int(greedy_indices(task)[x]) == index


def test_custom_answers():
    rng = np.random.default_rng(2)
    probs = random_joint(rng, 2)
    answers = np.arange(V**H) % 2
    task = Task.from_joint(probs, V, correct_answers=[0, 1], answers=answers, num_answers=2)
    assert task.num_answers == 2
    np.testing.assert_array_equal(np.asarray(task.correct)[1], answers == 1)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"probs": np.full((1, 8), 1 / 8), "vocab_size": 3}, ValueError, "not \\|V\\|\\^H"),
    ({"probs": np.full(9, 1 / 9), "vocab_size": 3}, ValueError, "2-d"),
    ({"probs": np.full((1, 9), 1 / 9), "vocab_size": 3}, ValueError, "token after EOS"),
    ({"correct_answers": [5]}, ValueError, "correct_answers"),
    ({"correct_answers": [0, 1]}, ValueError, "correct_answers must have shape"),
    ({"answers": np.zeros(27, int)}, TypeError, "num_answers"),
    ({"answers": np.zeros(5, int), "num_answers": 2}, ValueError, "answers must have shape"),
    ({"answers": np.full(27, 3), "num_answers": 2}, ValueError, "answers"),
    ({"vocab_size": 1}, ValueError, "vocab_size"),
])
def test_bad_input(kwargs, error, words):
    probs = np.zeros((1, 27))
    probs[0, 9] = 1.0  # (1, 0, 0)
    arguments = {"probs": probs, "vocab_size": V, "correct_answers": [1], **kwargs}
    with pytest.raises(error, match=words):
        Task.from_joint(**arguments)
