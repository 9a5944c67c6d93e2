"""self_rewards: raw, length-normalized and majority self-rewards side by side against greedy decoding and pass@N,
and the regimes of the task's controls where each wins (Appendix A.2, Figure 2).

Claim (the paper's observation, Appendix A.2): best-of-N with the length-normalized likelihood and with majority vote
usually gains more over greedy than with the raw log-likelihood, and at N = 50 pass@N is nearly always correct.
Here the gain of each self-reward is mapped against the controls of ``reasoning_task``: the likelihood–correctness
signal s, the number of reasoning paths of the correct answer (``correct_paths``, wrong answers have a fixed
``wrong_paths``: more paths spread the correct answer's mass, so the answer marginal and the sequence likelihood
disagree) and the log-likelihood bonus b of short responses that skip the reasoning (``short_bias``; the lowest value
makes them all but absent). Theory (Section 3.2): BoN under a fixed self-reward r tends to the r-argmax, so each
self-reward wins where its argmax is correct more often: log π at the sequence argmax y*(x), log π/|y| away from
short responses, majority at the answer-marginal argmax.

Each seed is one prompt of ``reasoning_task`` (|V| = 5, H = 5, 4 answers). Every per-prompt number is exact given the
prompt: BoN laws of the fixed self-rewards (``sharpsim.tasks.pick_expectations``), the sample majority vote by
enumerating the answer counts, greedy decoding token by token, pass@N; only the prompts are random, and the analysis
puts paired bootstrap intervals over them.
"""

from __future__ import annotations

import numpy as np

from sharpsim.runner.experiment import Sweep
from sharpsim.tasks import (
    correct_mass, greedy_indices, majority_accuracy, pick_expectations, reasoning_task, self_reward,
)

NS = (1, 2, 5, 10, 20, 50)
REWARDS = {"ll": "log_likelihood", "ln": "length_normalized", "am": "answer_marginal"}
TASK = {"vocab_size": 5, "horizon": 5, "num_answers": 4, "wrong_paths": 24, "signal_spread": 1.0, "noise": 1.0,
        "short_signal": 0.0}


def run_cell(params, key, seeds):
    task = reasoning_task(key, seeds, signal=float(params["signal"]), correct_paths=int(params["correct_paths"]),
                          short_bias=float(params["short_bias"]), **TASK)
    correct = np.asarray(task.correct)
    rows = np.arange(seeds)
    columns = {
        "greedy_correct": correct[rows, np.asarray(greedy_indices(task))].astype(float),
        "p_correct": np.asarray(correct_mass(task)),
        "argmax_correct": correct[rows, np.asarray(task.probs).argmax(axis=1)].astype(float),
    }
    for short, name in REWARDS.items():
        table = np.asarray(pick_expectations(task, self_reward(task, name), correct.astype(float), NS))
        columns.update({f"acc_{short}_{n}": table[i] for i, n in enumerate(NS)})
    majority = majority_accuracy(task, NS, per_prompt=True)
    columns.update({f"acc_mv_{n}": majority[i] for i, n in enumerate(NS)})
    return columns


SWEEP = Sweep(
    title="Self-rewards side by side: log π, log π/|y|, majority vote vs greedy and pass@N (Appendix A.2, Fig. 2)",
    claim="App. A.2: length-normalized likelihood and majority vote usually gain more than log π; each self-reward "
          "wins where its argmax is correct (Section 3.2)",
    grid={"signal": [-1.0, 0.0, 1.0, 2.0, 3.0], "correct_paths": [8, 24, 48], "short_bias": [-8.0, 2.0, 4.0]},
    seeds=256,  # prompts per cell, as bon_lift (the paper scores 256 examples per benchmark)
    settings={"ns": list(NS), **TASK},
    seed_rows=True,
    run_cell=run_cell,
    quick_grid={"signal": [2.0], "correct_paths": [8, 48], "short_bias": [-8.0, 4.0]},  # each self-reward wins once
    quick_seeds=32,  # with correct_paths ≤ 48 the support pads to 128, as in bon_lift: shared compilations
)
