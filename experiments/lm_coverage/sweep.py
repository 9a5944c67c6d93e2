"""lm_coverage: the coverage of a trained transformer across its training checkpoints, and best-of-N predicted
from it (Eq. 6, Assumption 4.2, Proposition C.1) against best-of-N observed through the sealed oracle.

Claim (Section 3.2, Proposition C.1): best-of-N under the log-likelihood returns the sequence argmax y*(x) with
probability 1 − (1 − π(y*|x))^N (exactly, when y*(x) is unique), so the coverage profile P_x[π(y*|x) ≥ 1/N] and
C_cov = E_x[1/π(y*|x)] say how many draws inference-time sharpening needs. Here π_base is the network of
``sharpsim train-lm`` (the committed weights) on the modular-sum task, at each checkpoint; every quantity is exact
over the prompts (μ uniform): y*(x) from ``argmax_search`` (checked against the enumeration argmax), the margin,
greedy decoding and its agreement with y*, and the accuracy of greedy, of y* and of a temperature-1 draw. Best-of-N
is observed by Monte Carlo: N_max draws per prompt through ``Oracle(policy)`` (the network's own sampler), best-of-k
for every k ≤ N_max read off one batch (``running_best_index``), at the checkpoints in ``mc_steps``.

One row per prompt (the ``seed`` column indexes prompts); the full run covers all |X| prompts, the quick run a fixed
random subset (the same subset at every checkpoint).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sharpsim.lm import argmax_search, load_trained
from sharpsim.lm.exact import bon_argmax_success, bon_monte_carlo_picks, correct_table, log_prob_table
from sharpsim.policies.decoding import greedy_decode
from sharpsim.runner.experiment import Sweep

STEPS = (0, 25, 50, 100, 200, 300, 500, 1000, 2000, 3000)
NS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50)
MC_STEPS = (100, 300, 1000, 3000)
MC_SAMPLES = 50
MC_PROMPTS = 600  # prompts (of the cell's) with a Monte-Carlo best-of-N run
SUBSET_SEED = 0


@lru_cache(maxsize=1)
def trained():
    return load_trained()


def prompt_subset(num_prompts: int, size: int) -> np.ndarray:
    """The first ``size`` prompts of a fixed random order (all prompts, sorted, when size = |X|)."""
    if size >= num_prompts:
        return np.arange(num_prompts)
    return np.sort(np.random.default_rng(SUBSET_SEED).permutation(num_prompts)[:size])


def run_cell(params, key, seeds):
    run = trained()
    step = int(params["step"])
    task = run.config.task
    policy = run.policy(step)
    prompts = prompt_subset(task.num_prompts, seeds)
    seeds = len(prompts)
    table = log_prob_table(policy, prompts)  # [n, |Y|]
    correct = correct_table(task, prompts)
    search = argmax_search(policy, prompts, top_k=2, max_nodes=10_000, on_cap="raise")
    vocab, horizon = task.vocab_size, task.horizon
    powers = vocab ** np.arange(horizon - 1, -1, -1)
    star = search.argmax @ powers
    rows = np.arange(seeds)
    greedy = np.asarray(greedy_decode(policy, prompts)) @ powers
    ordered = np.sort(table, axis=1)
    columns = {
        "prompt": prompts,
        "log_p_star": search.log_probs[:, 0],
        "log_p_second": search.log_probs[:, 1],
        "search_nodes": search.nodes.astype(float),
        "search_is_enum_argmax": (star == table.argmax(axis=1)).astype(float),
        "search_enum_gap": np.abs(search.log_probs[:, 0] - ordered[:, -1]),
        "enum_second_gap": np.abs(search.log_probs[:, 1] - ordered[:, -2]),
        "greedy_is_argmax": (greedy == star).astype(float),
        "greedy_correct": correct[rows, greedy].astype(float),
        "argmax_correct": correct[rows, star].astype(float),
        "sampling_correct": np.sum(np.exp(table) * correct, axis=1),
        "log_p_greedy": table[rows, greedy],
        "eval_loss": np.full(seeds, run.eval_losses[step]),
    }
    predicted = bon_argmax_success(table, NS)
    columns.update({f"bon_pred_{n}": predicted[i] for i, n in enumerate(NS)})
    observed = np.full((len(NS), seeds), np.nan)
    if step in MC_STEPS:
        chosen = rows[:MC_PROMPTS]
        picks, _ = bon_monte_carlo_picks(key, policy, prompts[chosen], MC_SAMPLES)
        hits = picks == star[chosen, None]
        observed[:, chosen] = hits[:, np.asarray(NS) - 1].T
    columns.update({f"bon_mc_{n}": observed[i] for i, n in enumerate(NS)})
    return columns


SWEEP = Sweep(
    title="Coverage of a trained transformer across training; best-of-N predicted (Prop. C.1) vs observed",
    claim="Prop. C.1: P[BoN_N = y*(x)] = 1 − (1 − π(y*|x))^N, so C_cov (Eq. 6) and the coverage profile of the "
          "learned π_base predict inference-time sharpening",
    grid={"step": list(STEPS)},
    seeds=2401,  # prompts: all |X| = 7^4 of the committed task
    settings={"ns": list(NS), "mc_steps": list(MC_STEPS), "mc_samples": MC_SAMPLES, "mc_prompts": MC_PROMPTS,
              "subset_seed": SUBSET_SEED, "max_nodes": 10_000, "weights": "sharpsim/lm/weights/default"},
    seed_rows=True,
    run_cell=run_cell,
    quick_grid={"step": [3000]},
    quick_seeds=24,
)
