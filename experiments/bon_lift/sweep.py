"""bon_lift: best-of-N with self-rewards against greedy decoding on a grid of synthetic models × tasks (Appendix A,
Figures 1, 4 and 6).

Claim (the paper's observations, Appendix A.1–A.2). BoN with the log-likelihood self-reward lifts accuracy over
greedy decoding for some models on every task and on some task for every model; accuracy and the pick's
log-likelihood saturate around N ≈ 10–20; the lift can fall with N when the likelihood is a weak signal of
correctness or when BoN favors short responses that skip the reasoning; length-normalized likelihood and majority
vote usually gain more. Theory (Section 3.2, Proposition C.1): under the log-likelihood the pick is the argmax with
probability 1 − (1 − π(y*|x))^N, so BoN's accuracy tends to P[y*(x) correct] and saturates at N ≈ 1/π(y*|x).

Each seed is one prompt of a ``preset_task`` (``sharpsim.tasks.presets``): a model (signal, noise, taste for short
answers) on a task (paths per answer, shortcuts, difficulty). Everything is exact given the prompts: the BoN laws
of the three fixed self-rewards (``sharpsim.tasks.best_of_n``), the sample majority vote by enumerating the answer
counts (``sharpsim.tasks.majority``), greedy decoding token by token, pass@N; only the prompts are random, and the
analysis puts bootstrap intervals over them.
"""

from __future__ import annotations

import numpy as np

from sharpsim.runner.experiment import Sweep
from sharpsim.tasks import (
    correct_mass, greedy_indices, majority_accuracy, majority_pick_log_likelihood, pick_expectations, self_reward,
)
from sharpsim.tasks.presets import MODELS, TASKS, preset_task

NS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50)
REWARDS = {"ll": "log_likelihood", "ln": "length_normalized", "am": "answer_marginal"}
HIST_EDGES = np.linspace(-14.0, 0.0, 29)  # log π_base(y|x) bins of the Figure 1(c) / 6 histograms


def log_likelihood_histogram(log_probs, probs, mask):
    """[X, bins]: the π-mass of the responses in ``mask`` per bin of log π (below the first edge: first bin)."""
    which = np.clip(np.digitize(log_probs, HIST_EDGES) - 1, 0, len(HIST_EDGES) - 2)
    out = np.zeros((probs.shape[0], len(HIST_EDGES) - 1))
    rows = np.broadcast_to(np.arange(probs.shape[0])[:, None], probs.shape)
    np.add.at(out, (rows[mask], which[mask]), probs[mask])
    return out


def run_cell(params, key, seeds):
    task = preset_task(key, params["task"], params["model"], seeds)
    probs = np.asarray(task.probs)
    correct = np.asarray(task.correct)
    lengths = np.broadcast_to(np.asarray(task.lengths, dtype=float), probs.shape)
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)
    rows = np.arange(seeds)
    greedy = np.asarray(greedy_indices(task))
    top = probs.argmax(axis=1)
    columns = {
        "greedy_correct": correct[rows, greedy].astype(float),
        "greedy_length": lengths[rows, greedy],
        "p_correct": np.asarray(correct_mass(task)),
        "argmax_correct": correct[rows, top].astype(float),
        "p_star": probs[rows, top],
    }
    for short, name in REWARDS.items():
        scores = self_reward(task, name)
        for what, values in (("acc", correct.astype(float)), ("loglik", log_probs), ("len", lengths)):
            table = np.asarray(pick_expectations(task, scores, values, NS))
            columns.update({f"{what}_{short}_{n}": table[i] for i, n in enumerate(NS)})
    majority = majority_accuracy(task, NS, per_prompt=True)
    majority_loglik = majority_pick_log_likelihood(task, NS, per_prompt=True)
    columns.update({f"acc_mv_{n}": majority[i] for i, n in enumerate(NS)})
    columns.update({f"loglik_mv_{n}": majority_loglik[i] for i, n in enumerate(NS)})
    live = probs > 0
    for label, mask in (("correct", live & correct), ("wrong", live & ~correct)):
        histogram = log_likelihood_histogram(log_probs, probs, mask)
        columns.update({f"hist_{label}_{b}": histogram[:, b] for b in range(histogram.shape[1])})
    return columns


SWEEP = Sweep(
    title="Best-of-N with self-rewards vs greedy on synthetic models × tasks (Appendix A, Figs. 1, 2, 4, 6)",
    claim="App. A: BoN-likelihood lifts accuracy over greedy for some model on every task; saturates near "
          "N ≈ 1/π(y*|x) (Prop. C.1); falls with N under a weak signal or a short-answer bias",
    grid={"task": list(TASKS), "model": list(MODELS)},
    seeds=256,  # prompts per cell, as the paper scores the first 256 examples of each benchmark
    settings={"ns": list(NS), "vocab_size": 5, "horizon": 5, "num_answers": 4, "tasks": TASKS, "models": MODELS},
    seed_rows=True,
    run_cell=run_cell,
    quick_grid={"task": ["plain", "shortcut"], "model": ["weak", "shortcutter"]},  # both failure mechanisms
    quick_seeds=32,
)
