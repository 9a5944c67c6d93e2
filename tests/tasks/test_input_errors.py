"""Bad input to ``sharpsim.tasks`` is refused with a ValueError/TypeError naming the argument (regressions of the fuzz
catalog's findings, tests/fuzz/catalog_tasks.py), and the valid extremes it found are answered correctly."""

import jax
import numpy as np
import pytest

from sharpsim import tasks
from sharpsim.tasks.majority import count_vectors

# |V| = 3, H = 2: responses (0,0) (0,1) (0,2) (1,0) (1,1) (1,2) (2,0) (2,1) (2,2); (0,1), (0,2) are malformed
JOINT = np.array([[0.0, 0.0, 0.0, 0.4, 0.3, 0.2, 0.0, 0.1, 0.0],
                  [0.1, 0.0, 0.0, 0.2, 0.0, 0.3, 0.25, 0.0, 0.15]])
TASK = tasks.Task.from_joint(JOINT, 3, [1, 2])
with np.errstate(divide="ignore"):
    SCORES = np.log(JOINT)


def fields(**changes):
    values = {"policy": TASK.policy, "table": TASK.table, "answers": TASK.answers, "lengths": TASK.lengths,
              "correct_answers": TASK.correct_answers, "num_answers": TASK.num_answers}
    return {**values, **changes}


def test_task_constructor_accepts_its_own_fields():
    task = tasks.Task(**fields(answers=np.asarray(TASK.answers).tolist()))
    np.testing.assert_array_equal(task.answers, TASK.answers)
    assert task.answers.dtype == np.int64 and task.num_answers == 3


@pytest.mark.parametrize("changes, error, match", [
    ({"policy": "abc"}, TypeError, "policy must be a TreePolicy"),
    ({"table": None}, TypeError, "table must be a TabularPolicy"),
    ({"table": tasks.Task.from_joint(JOINT[::-1], 3, [1, 2]).table}, ValueError, "table must be policy.to_tabular"),
    ({"answers": np.full((2, 9), 3)}, ValueError, r"answers must lie in \[0, 3\).*num_answers = 3"),
    ({"answers": np.zeros((2, 9))}, TypeError, "answers must be integer answer indices"),
    ({"answers": np.zeros((2, 8), int)}, ValueError, r"answers must have shape \[X, \|V\|\^H\]"),
    ({"lengths": np.zeros(9, int)}, ValueError, "lengths must be response_lengths"),
    ({"correct_answers": [1]}, ValueError, r"correct_answers must have shape \[X\]"),
    ({"correct_answers": [3, 1]}, ValueError, "correct_answers must lie in"),
    ({"num_answers": 2}, ValueError, r"answers must lie in \[0, 2\).*num_answers = 2"),
    ({"num_answers": 2.5}, TypeError, "num_answers must be an integer"),
])
def test_task_constructor_refuses_inconsistent_fields(changes, error, match):
    with pytest.raises(error, match=match):
        tasks.Task(**fields(**changes))


def test_from_joint_names_num_answers_too_small_for_default_answers():
    with pytest.raises(ValueError, match=r"num_answers must be at least \|V\| = 3 with the default answers"):
        tasks.Task.from_joint(JOINT, 3, [1, 2], num_answers=2)


@pytest.mark.parametrize("function", [
    lambda task: tasks.best_of_n_accuracy(task, SCORES, [1]),
    lambda task: tasks.pick_log_likelihood(task, SCORES, [1]),
    lambda task: tasks.pass_at_n(task, [1]),
])
def test_laws_refuse_a_non_task_by_name(function):
    with pytest.raises(TypeError, match="task must be a sharpsim.tasks.Task, got str"):
        function("abc")


@pytest.mark.parametrize("function", [tasks.response_lengths, tasks.last_token_answers])
@pytest.mark.parametrize("kwargs, error, match", [
    ({"vocab_size": 0}, ValueError, "vocab_size must be an integer >= 1, got 0"),
    ({"vocab_size": 2.0}, TypeError, "vocab_size must be an integer"),
    ({"vocab_size": "3"}, TypeError, "vocab_size must be an integer"),
    ({"horizon": 0}, ValueError, "horizon must be an integer >= 1, got 0"),
    ({"horizon": True}, TypeError, "horizon must be an integer"),
    ({"horizon": float("nan")}, TypeError, "horizon must be an integer"),
    ({"horizon": 10**9}, ValueError, "vocab_size\\*\\*horizon"),
    ({"vocab_size": 10**9}, ValueError, "vocab_size\\*\\*horizon"),
])
def test_enumeration_sizes_are_checked(function, kwargs, error, match, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**28))
    with pytest.raises(error, match=match):
        function(**{"vocab_size": 3, "horizon": 2, **kwargs})


def test_enumeration_matches_a_numpy_reference():
    sequences = np.array([[a, b] for a in range(3) for b in range(3)])
    eos = sequences == 0
    lengths = np.where(eos.any(axis=1), eos.argmax(axis=1), 2)
    np.testing.assert_array_equal(tasks.response_lengths(3, 2), lengths)
    last = np.where(lengths > 0, sequences[np.arange(9), np.maximum(lengths - 1, 0)], 0)
    np.testing.assert_array_equal(tasks.last_token_answers(3, 2), last)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"max_outcomes": "3"}, TypeError, "max_outcomes must be an integer"),
    ({"max_outcomes": float("inf")}, TypeError, "max_outcomes must be an integer"),
    ({"max_outcomes": 0}, ValueError, "max_outcomes must be an integer >= 1"),
    ({"answer_probs": [["a", "b"]]}, TypeError, "answer_probs must be"),
    ({"answer_probs": [[np.nan, 0.5, 0.5]]}, ValueError, "answer_probs must be finite"),
    ({"answer_probs": [[0.3, 0.3, 0.3]]}, ValueError, "answer_probs row 0 must sum to 1"),
    ({"answer_probs": np.zeros((2, 0))}, ValueError, "answer_probs must be an"),
])
def test_majority_winner_law_refuses_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        tasks.majority_winner_law(**{"answer_probs": [[0.0, 0.6, 0.4]], "n": 3, "max_outcomes": 1000, **kwargs})


def test_majority_winner_law_with_one_live_answer():
    # a single answer of positive mass always wins (the count vectors of one answer: just (n,))
    np.testing.assert_array_equal(count_vectors(5, 1), [[5]])
    law = tasks.majority_winner_law(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), 4)
    np.testing.assert_array_equal(law, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("function", [tasks.majority_accuracy, tasks.majority_pick_log_likelihood])
def test_majority_curves_name_their_arguments(function):
    with pytest.raises(TypeError, match="per_prompt must be True or False"):
        function(TASK, [1], per_prompt="yes")
    with pytest.raises(TypeError, match="max_outcomes must be an integer"):
        function(TASK, [1], max_outcomes=None)
    with pytest.raises(ValueError, match="for ns = 1000000000"):
        function(TASK, [10**9], max_outcomes=1000)


@pytest.mark.parametrize("kwargs", [{"n": 10**9}, {"num_trials": 10**9}, {"n": 10**30}])
def test_majority_monte_carlo_refuses_huge_sizes_up_front(kwargs, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**28))
    with pytest.raises(ValueError, match="num_trials·n .* is too large"):
        tasks.majority_monte_carlo(jax.random.PRNGKey(0), TASK, **{"n": 3, "num_trials": 4, **kwargs})


def test_sample_sizes_beyond_int64_are_answered():
    # pass@N = 1 − (1 − P[correct|x])^N, reference in numpy from the table; N = 10^30 is a valid (if extreme) size
    correct = np.asarray(TASK.correct)
    mass = np.where(correct, JOINT, 0.0).sum(axis=1)
    ns = [3, 10**30]
    expected = [np.mean(1 - (1 - mass) ** float(n)) for n in ns]  # μ is uniform on the 2 prompts
    np.testing.assert_allclose(tasks.pass_at_n(TASK, ns), expected, rtol=1e-12)
    values = np.asarray(TASK.correct, float)
    at_huge = np.asarray(tasks.pick_expectations(TASK, SCORES, values, [10**30]))
    # N → ∞: BoN under log π picks the likeliest response; ties would share its level set (none here)
    top = JOINT.argmax(axis=1)
    np.testing.assert_allclose(at_huge[0], values[np.arange(2), top], atol=1e-12)
    with pytest.raises(TypeError, match="ns must be an integer"):
        tasks.pass_at_n(TASK, [[1, 2]])
    with pytest.raises(ValueError, match="ns must be a non-empty"):
        tasks.pass_at_n(TASK, [])


def test_reasoning_task_names_its_sizes(monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**28))
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match=r"vocab_size\*\*horizon = \|V\|\^H = 4\^40"):
        tasks.reasoning_task(key, 2, vocab_size=4, horizon=40)
    with pytest.raises(ValueError, match=r"vocab_size\*\*horizon .* 1000000000\^3"):
        tasks.reasoning_task(key, 2, vocab_size=10**9, horizon=3)
    with pytest.raises(ValueError, match="num_prompts .* is too large"):
        tasks.reasoning_task(key, 10**9, vocab_size=4, horizon=3, num_answers=2)


def test_self_reward_name_must_be_a_known_string():
    with pytest.raises(ValueError, match="self-reward name must be one of"):
        tasks.self_reward(TASK, ["log_likelihood"])

