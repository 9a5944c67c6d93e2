"""amortisation: SFT-Sharpening on best-of-N picks, against n prompts and N draws per prompt (Appendix A.3, Figure 9,
Table 1).

Claim (the paper's observation, Appendix A.3): fine-tuning on the BoN picks (N = 50 draws, the most likely kept)
lifts both accuracy and log-likelihood over the base's greedy output, recovers part but not all of BoN's inference-time
gain, and more so with larger N (Figure 9: N ∈ {10, 25, 50}). Theory (Theorem 4.1, Section 2.1): SFT-Sharpening fits
π̂ → π^BoN_N as n → ∞ when the class contains π^BoN_N (Assumption 4.1); the tabular class contains it for every base,
so on a prompt with picks E[π̂(·|x)] = π^BoN_N(·|x), and what π̂ misses is the prompts it never saw: with μ uniform
on X prompts, the expected fraction of BoN's gain recovered by temperature-1 sampling from π̂ is 1 − (1 − 1/X)^n.

The data set is one fixed ``preset_task`` per ``pair`` (X = 64 prompts, built from ``task_seed``), so BoN's, greedy's
and sampling's accuracies are exact numbers; each seed is one SFT run: n prompts x_i ∼ μ, N draws each, the log π_base
argmax kept, π̂ the tabular MLE (``sharpsim.tasks.amortization.sft_runs``, one compilation for every (n, N)). π̂ is
scored by a temperature-1 draw (Table 1's evaluation) and by its argmax response; prompts without a pick keep the
base. The analysis puts percentile bootstrap intervals over seeds.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import numpy as np

from sharpsim.runner.experiment import Sweep
from sharpsim.tasks.amortization import bon_reference, run_uniforms, sft_runs, support_table
from sharpsim.tasks.presets import preset_task

DATASET = {"task_seed": 2024, "num_prompts": 64, "support": 128, "max_prompts": 512, "max_samples": 50}
PAIRS = ("plain/strong", "shortcut/medium")  # pairs where BoN(log π) beats greedy at N = 50, as the paper chose


@lru_cache(maxsize=8)
def dataset(pair: str):
    """The pair's task, its support table and the exact references of greedy decoding and temperature-1 sampling."""
    task_name, model = pair.split("/")
    task = preset_task(jax.random.PRNGKey(DATASET["task_seed"]), task_name, model, DATASET["num_prompts"])
    table = support_table(task, DATASET["support"])
    log_probs = np.where(table["probs"] > 0, table["log_probs"], 0.0)
    mu = table["prompt_probs"]
    rows = np.arange(len(mu))
    references = {
        "greedy_acc": float(table["correct"][rows, table["greedy"]] @ mu),
        "greedy_loglik": float(table["log_probs"][rows, table["greedy"]] @ mu),
        "sampling_acc": float((table["probs"] * table["correct"]).sum(axis=1) @ mu),
        "sampling_loglik": float((table["probs"] * log_probs).sum(axis=1) @ mu),
    }
    return task, table, references


def run_cell(params, key, seeds):
    _, table, references = dataset(params["pair"])
    mu = table["prompt_probs"]
    n, big_n = int(params["n"]), int(params["N"])
    uniforms = run_uniforms(key, seeds, DATASET["max_prompts"], DATASET["max_samples"])
    out = sft_runs(uniforms, table, n, big_n)
    log_probs = np.where(table["probs"] > 0, table["log_probs"], 0.0)
    exact = {**references, "bon_acc": float(bon_reference(table["probs"], table["correct"], [big_n])[0] @ mu),
             "bon_loglik": float(bon_reference(table["probs"], log_probs, [big_n])[0] @ mu)}
    return {**out, **{k: np.full(seeds, v) for k, v in exact.items()}}


SWEEP = Sweep(
    title="SFT-Sharpening on BoN picks: accuracy and log-likelihood lift, fraction of BoN's gain recovered "
          "(Appendix A.3, Fig. 9, Table 1)",
    claim="App. A.3: SFT on BoN picks recovers part of BoN's gain, more with larger N; Thm 4.1: π̂ → π^BoN_N, the "
          "tabular fit misses only unseen prompts, expected fraction 1 − (1 − 1/X)^n",
    grid={"pair": list(PAIRS), "n": [8, 32, 128, 512], "N": [1, 10, 25, 50]},
    seeds=200,  # SFT runs per cell
    settings={**DATASET},
    seed_rows=True,
    run_cell=run_cell,
    quick_grid={"pair": ["plain/strong"], "n": [32, 512], "N": [1, 50]},
    quick_seeds=50,
)
