"""Catalog entries of ``sharpsim.tasks`` (Appendix A's tasks with ground truth, self-rewards, the exact best-of-N
and majority laws). See ``catalog.py`` for the format.

The valid calls share one small task: |V| = 3, H = 2 (9 responses, 6 of them well formed), 2 prompts, answers the
last token before EOS (3 answer ids, id 0 the empty response). The pass@k estimator (``sharpsim.measure.pass_at_k``,
Appendix A.2's skyline from counts) is here too."""

from __future__ import annotations

import functools

import numpy as np

from sharpsim import tasks
from sharpsim.measure.pass_at_k import pass_at_k
from tests.fuzz.harness import Entry
from tests.fuzz.values import HUGE_SIZES, INF, KEY, NAN, POS_INT, Kind, Lazy, arr, fx, pos_int

V, H = 3, 2
# rows over V^H in lexicographic order: (0,0) (0,1) (0,2) (1,0) (1,1) (1,2) (2,0) (2,1) (2,2);
# (0,1) and (0,2) have a token after EOS and must have zero mass
JOINT = np.array([[0.0, 0.0, 0.0, 0.4, 0.3, 0.2, 0.0, 0.1, 0.0],
                  [0.1, 0.0, 0.0, 0.2, 0.0, 0.3, 0.25, 0.0, 0.15]])
CORRECT = np.array([1, 2])


@functools.cache
def _task() -> tasks.Task:
    return tasks.Task.from_joint(JOINT, V, CORRECT)


@functools.cache
def _scores() -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(JOINT)


TASK = Lazy("task(|V|=3, H=2, X=2)", _task)
SCORES = Lazy("log π_base scores [2, 9]", _scores)
NOT_A_TASK = Kind(["abc", None, {"a": 1}, 3, fx("tab"), arr("ndarray[2,9]", lambda: JOINT)])
NS = Kind([[0, 2], [-1], [2.5], [NAN], [INF], [], [[1, 2]], "abc", None, ["a"], [True]])
TABLE = Kind([np.full((2, 9), NAN), np.full((2, 9), INF), np.zeros((2, 8)), np.zeros(9), np.zeros((3, 9)),
              [["a"] * 9] * 2, "abc", None])
ANSWER_PROBS = Kind([[[NAN, 0.5, 0.5]], [[-0.5, 1.0, 0.5]], [[INF, 0.0, 0.0]], [[0.3, 0.3, 0.3]], [0.5, 0.5],
                     np.zeros((2, 0)), [["a", "b"]], "abc", None])
MAX_OUTCOMES = pos_int(1)


def _task_fields(**changes):
    """The fields of the fixture task, with ``changes``: Task's own constructor takes them as they are stored."""
    task = _task()
    fields = {"policy": task.policy, "table": task.table, "answers": task.answers, "lengths": task.lengths,
              "correct_answers": task.correct_answers, "num_answers": task.num_answers}
    fields.update(changes)
    return fields


def _unit_sum(result):
    values = np.asarray(result)
    if values.size and ((values < -1e-12).any() or (values > 1 + 1e-12).any()):
        return f"probabilities outside [0, 1]: {values.ravel()[:6]}"
    return None


ENTRIES = [
    # --- the task ----------------------------------------------------------------------------------------------
    Entry("tasks.Task", "tasks", lambda **kw: tasks.Task(**_task_fields(**kw)),
          {"num_answers": 3},
          bad={"policy": Kind(["abc", None, fx("tab"), fx("markov")]),
               "table": Kind(["abc", None, fx("tree"), fx("tab")]),
               "answers": Kind([np.full((2, 9), 3), np.full((2, 9), -1), np.zeros((2, 9)), np.zeros((2, 8), int),
                                "abc", None]),
               "lengths": Kind([np.zeros(8, int), np.full(9, -1), np.full(9, 3), np.zeros(9), "abc", None]),
               "correct_answers": Kind([[3, 1], [-1, 1], [1.0, 2.0], [1], [1, 2, 0], "abc", None]),
               "num_answers": pos_int(1) + [2]},
          fast=("answers", "num_answers")),
    Entry("tasks.Task.from_joint", "tasks", lambda **kw: tasks.Task.from_joint(**kw),
          {"probs": JOINT, "vocab_size": V, "correct_answers": CORRECT, "answers": None, "num_answers": None,
           "prompt_probs": None},
          bad={"probs": TABLE + [JOINT[:, :3], JOINT[:, [1, 0, 2, 3, 4, 5, 6, 7, 8]]],
               "vocab_size": pos_int(2) + [4],
               "correct_answers": Kind([[3, 1], [-1, 1], [1.0, 2.0], [1], [1, 2, 0], "abc", None]),
               "answers": Kind([np.full(9, 3), np.full(9, -1), np.zeros(9), np.zeros(8, int), np.zeros((3, 9), int),
                                "abc"]),
               "num_answers": Kind([0, -1, 2.5, "3", NAN, 2]),
               "prompt_probs": Kind([[NAN, 1.0], [-1.0, 2.0], [0.3, 0.3], [1.0], "ab", {"a": 1}])},
          extreme={"prompt_probs": [[1.0, 0.0], [1 - 1e-300, 1e-300]],
                   "probs": [np.array([[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                                       [1e-300, 0, 0, 1.0 - 1e-300, 0, 0, 0, 0, 0]])]},
          fast=("probs", "vocab_size")),
    Entry("tasks.response_lengths", "tasks", lambda **kw: tasks.response_lengths(**kw),
          {"vocab_size": 3, "horizon": 2},
          bad={"vocab_size": pos_int(1), "horizon": POS_INT}, either={"vocab_size": HUGE_SIZES, "horizon": HUGE_SIZES},
          extreme={"vocab_size": [1]}),
    Entry("tasks.last_token_answers", "tasks", lambda **kw: tasks.last_token_answers(**kw),
          {"vocab_size": 3, "horizon": 2},
          bad={"vocab_size": pos_int(1), "horizon": POS_INT}, either={"vocab_size": HUGE_SIZES, "horizon": HUGE_SIZES},
          fast=("horizon",)),
    Entry("tasks.reasoning_task", "tasks", lambda **kw: tasks.reasoning_task(**kw),
          {"key": fx("key"), "num_prompts": 3, "vocab_size": 4, "horizon": 3, "num_answers": 2, "correct_paths": 2,
           "wrong_paths": 1, "reason_length": None, "signal": 1.0, "signal_spread": 0.5, "noise": 1.0,
           "short_bias": None, "short_signal": 0.0},
          bad={"key": KEY, "num_prompts": POS_INT, "vocab_size": pos_int(3) + [10**9], "horizon": pos_int(2) + [40],
               "num_answers": pos_int(2) + [4], "correct_paths": POS_INT + [10], "wrong_paths": POS_INT + [10],
               "reason_length": Kind([1, 4, 2.5, "3", NAN]),
               "signal": Kind([NAN, INF, -INF, "1", True, [1.0, 2.0]]),
               "signal_spread": Kind([NAN, INF, "1", [1.0]]), "noise": Kind([-1.0, NAN, INF, "1"]),
               "short_bias": Kind([NAN, INF, "1"]), "short_signal": Kind([NAN, -INF, "1"])},
          either={"num_prompts": HUGE_SIZES},
          extreme={"signal": [1e300, -1e300, 0.0], "noise": [0.0, 1e300], "short_bias": [-1e300, 1e300],
                   "signal_spread": [1e300], "reason_length": [2, 3]},
          fast=("num_prompts", "signal", "noise")),
    # --- self-rewards ------------------------------------------------------------------------------------------
    *[Entry(f"tasks.{name}", "tasks", lambda name=name, **kw: getattr(tasks, name)(**kw), {"task": TASK},
            bad={"task": NOT_A_TASK}, allow_inf=name != "answer_mass", fast=("task",) if name == "answer_mass" else ())
      for name in ("log_likelihood", "length_normalized", "answer_mass", "answer_marginal")],
    Entry("tasks.self_reward", "tasks", lambda **kw: tasks.self_reward(**kw), {"task": TASK, "name": "answer_marginal"},
          bad={"task": NOT_A_TASK, "name": Kind(["bogus", None, 3, ["log_likelihood"]])}, allow_inf=True),
    # --- exact best-of-N laws and baselines ------------------------------------------------------------------
    Entry("tasks.pick_law", "tasks", lambda **kw: tasks.pick_law(**kw), {"task": TASK, "scores": SCORES, "n": 3},
          bad={"task": NOT_A_TASK, "scores": TABLE, "n": POS_INT},
          extreme={"n": [10**9, 10**30, 2**62], "scores": [np.zeros((2, 9)), -np.full((2, 9), 1e300)]},
          check=_unit_sum, fast=("scores", "n"), unsized=("n",)),
    Entry("tasks.pick_expectations", "tasks", lambda **kw: tasks.pick_expectations(**kw),
          {"task": TASK, "scores": SCORES, "values": arr("correct [2, 9]", lambda: np.asarray(_task().correct, float)),
           "ns": [1, 4]},
          bad={"task": NOT_A_TASK, "scores": TABLE, "values": TABLE, "ns": NS},
          either={"ns": [[10**9], [10**30]]}, extreme={"values": [np.full((2, 9), 1e300)]}),
    Entry("tasks.best_of_n_accuracy", "tasks", lambda **kw: tasks.best_of_n_accuracy(**kw),
          {"task": TASK, "scores": SCORES, "ns": [1, 2, 8]},
          bad={"task": NOT_A_TASK, "scores": TABLE, "ns": NS}, extreme={"ns": [[10**9], 5]},
          check=_unit_sum, fast=("ns",), unsized=("ns",)),
    Entry("tasks.pick_log_likelihood", "tasks", lambda **kw: tasks.pick_log_likelihood(**kw),
          {"task": TASK, "scores": SCORES, "ns": [1, 2]},
          bad={"task": NOT_A_TASK, "scores": TABLE, "ns": NS}, extreme={"ns": [[10**9]]}, unsized=("ns",)),
    Entry("tasks.pass_at_n", "tasks", lambda **kw: tasks.pass_at_n(**kw), {"task": TASK, "ns": [1, 3]},
          bad={"task": NOT_A_TASK, "ns": NS}, extreme={"ns": [[10**9, 10**30]]}, check=_unit_sum, unsized=("ns",)),
    *[Entry(f"tasks.{name}", "tasks", lambda name=name, **kw: getattr(tasks, name)(**kw), {"task": TASK},
            bad={"task": NOT_A_TASK}, check=_unit_sum if name != "greedy_indices" else None)
      for name in ("correct_mass", "sampling_accuracy", "greedy_indices", "greedy_accuracy")],
    Entry("pass_at_k", "measure", lambda **kw: pass_at_k(**kw), {"n": [10, 10], "c": [0, 3], "k": [1, 4]},
          bad={"n": Kind([[0, 10], [-1, 10], [2.5, 10], [NAN, 10], "abc", None, [True, True], [1, 2, 3]]),
               "c": Kind([[11, 3], [-1, 3], [0.5, 3], [NAN, 3], "abc", None, [[0, 1, 2]]]),
               "k": Kind([[0, 4], [11, 4], [1.5, 4], [INF, 4], "abc", None])},
          extreme={"n": [[10**6, 10**6]], "k": [[10, 10], 1], "c": [[10, 10], 0]},
          check=_unit_sum, fast=("c", "k"), unsized=("n",)),
    # --- majority vote -----------------------------------------------------------------------------------------
    Entry("tasks.majority_winner_law", "tasks", lambda **kw: tasks.majority_winner_law(**kw),
          {"answer_probs": np.array([[0.0, 0.6, 0.4], [0.2, 0.3, 0.5]]), "n": 3, "max_outcomes": 1000},
          bad={"answer_probs": ANSWER_PROBS, "n": POS_INT, "max_outcomes": MAX_OUTCOMES},
          either={"n": HUGE_SIZES, "max_outcomes": [10**30]},
          extreme={"answer_probs": [np.array([[1.0, 0.0, 0.0]]), np.array([[1 - 1e-300, 1e-300, 0.0]])]},
          check=_unit_sum, fast=("answer_probs", "max_outcomes")),
    Entry("tasks.majority_accuracy", "tasks", lambda **kw: tasks.majority_accuracy(**kw),
          {"task": TASK, "ns": [1, 3], "max_outcomes": 1000, "per_prompt": False},
          bad={"task": NOT_A_TASK, "ns": NS, "max_outcomes": MAX_OUTCOMES, "per_prompt": Kind(["yes", None, 2])},
          either={"ns": [[10**9]]}, check=_unit_sum),
    Entry("tasks.majority_pick_log_likelihood", "tasks", lambda **kw: tasks.majority_pick_log_likelihood(**kw),
          {"task": TASK, "ns": [1, 3], "max_outcomes": 1000, "per_prompt": True},
          bad={"task": NOT_A_TASK, "ns": NS, "max_outcomes": MAX_OUTCOMES, "per_prompt": Kind(["yes", None, 2])},
          either={"ns": [[10**9]]}),
    Entry("tasks.majority_monte_carlo", "tasks", lambda **kw: tasks.majority_monte_carlo(**kw),
          {"key": fx("key"), "task": TASK, "n": 3, "num_trials": 4},
          bad={"key": KEY, "task": NOT_A_TASK, "n": POS_INT, "num_trials": POS_INT},
          either={"n": HUGE_SIZES, "num_trials": HUGE_SIZES}, fast=("n", "key")),
]
