"""lm_sharpening: sharpening the trained transformer for real. (a) Best-of-N with the self-rewards on the final
network, exact from its enumerated law (Appendix A, Figures 1 and 4); (b) SFT-Sharpening: fine-tune a copy of the
network on its own best-of-N picks with optax and score it exactly (Section 2.1, Theorem 4.1; Appendix A.3, Figure 9).

Claim (Appendix A.3; Theorem 4.1). Fine-tuning on BoN picks amortizes inference-time sharpening: the fine-tuned
greedy output gains accuracy and log π_base over the base's greedy output, recovering part of BoN's gain, more with
more prompts n and draws N; Theorem 4.1 bounds the sharpening error P_x[π̂(y*(x)|x) ≤ 1 − δ] through C_cov and
the class's complexity. The tabular class's exact expected error on the same enumerated base
(``exact_sft_expected_error``) is the reference: a class that cannot generalize across prompts.

(a) Every response has length H, so the length-normalized log-likelihood is the log-likelihood (same picks);
answer-marginal (population vote) and sample majority vote of the N answers; pass@N is the skyline.
(b) Per cell (n, N) and seed: n prompts x ∼ μ and N draws each through the sealed oracle of the enumerated base (the
network's exact law; ``bon_sft_data``), the max-log π_base draw kept; Adam (constant learning rate) for a fixed
number of steps on minibatches drawn from the n pairs (``sharpsim.lm.finetune``, compiled once for every cell);
then exactly over every prompt (the quick run: a fixed random subset, μ uniform on it): greedy accuracy, E_x[log π_base(greedy_ft) − log π_base(greedy_base)], the share
of BoN_N's gain recovered, the sharpening error at δ with y* the base's argmax, and mean π̂(y*|x) (whose share of
BoN_N's mass on y*, E_x[1 − (1 − π_base(y*|x))^N], is the amortized sharpening). Intervals over seeds
(t) in the analysis.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.lm import load_trained
from sharpsim.core.policy import TabularPolicy
from sharpsim.lm.exact import bon_argmax_success, correct_table, log_prob_table, self_reward_curves
from sharpsim.lm.finetune import bon_sft_data, finetune, finetuned_outputs
from sharpsim.policies.decoding import greedy_decode
from sharpsim.referee.exact_sft import exact_sft_expected_error
from sharpsim.runner.experiment import Sweep

BON_NS = (1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50)  # holds every N of SFT_SAMPLES
SFT_PROMPTS = (64, 128, 256, 512, 1024, 2048)
SFT_SAMPLES = (1, 10, 25, 50)
# 1000 Adam steps: with 200 the fit of n = 2048 pairs was visibly unfinished (training loss 0.02, error 0.06 against
# 0.03 at 1600 steps), and SFT-Sharpening's output is the maximum-likelihood fit, not a truncated one
FINETUNE = {"batch_size": 64, "learning_rate": 1e-3}
# the full run scores every prompt; the quick run a fixed random subset of prompts (μ uniform on it), few steps
SCALES = {"full": {"prompts": 2401, "steps": 1000, "max_prompts": max(SFT_PROMPTS), "bon_ns": BON_NS},
          "quick": {"prompts": 96, "steps": 60, "max_prompts": 64, "bon_ns": (1, 3, 10)}}
DELTA = 0.1
MAJORITY_TRIALS = 64
SUBSET_SEED = 0


def prompt_subset(num_prompts: int, size: int) -> np.ndarray:
    """The first ``size`` prompts of a fixed random order, sorted (every prompt when size ≥ |X|)."""
    if size >= num_prompts:
        return np.arange(num_prompts)
    return np.sort(np.random.default_rng(SUBSET_SEED).permutation(num_prompts)[:size])


@lru_cache(maxsize=2)
def base(scale: str = "full"):
    """The final network on the scale's prompts (μ uniform on them): their exact table, y*, greedy output and the
    exact best-of-N curves (part (a))."""
    run = load_trained()
    task = run.config.task
    policy = run.policy()
    prompts = prompt_subset(task.num_prompts, SCALES[scale]["prompts"])
    log_table = log_prob_table(policy, prompts)
    probs = np.exp(log_table)
    table = TabularPolicy(probs / probs.sum(axis=1, keepdims=True))  # rows: the scale's prompts, μ uniform
    rows = np.arange(len(prompts))
    correct = correct_table(task, prompts)
    powers = task.vocab_size ** np.arange(task.horizon - 1, -1, -1)
    greedy = np.asarray(greedy_decode(policy, jnp.asarray(prompts))) @ powers
    star = log_table.argmax(axis=1)
    bon_ns = SCALES[scale]["bon_ns"]
    curves = self_reward_curves(log_table, correct, bon_ns, key=jax.random.key(7), majority_trials=MAJORITY_TRIALS)
    hit = bon_argmax_success(log_table, bon_ns)
    summary = {
        "greedy_acc": float(correct[rows, greedy].mean()),
        "greedy_loglik": float(log_table[rows, greedy].mean()),
        "argmax_acc": float(correct[rows, star].mean()),
        "argmax_loglik": float(log_table[rows, star].mean()),
        "sampling_acc": float((probs * correct).sum(axis=1).mean()),
        "coverage": float(np.mean(1.0 / probs[rows, star])),
        "base_error": float(np.mean(probs[rows, star] <= 1 - DELTA)),
        "mean_p_star": float(probs[rows, star].mean()),
    }
    for name, values in curves.items():
        summary.update({f"{name}_{n}": float(np.mean(values[i])) for i, n in enumerate(bon_ns)})
    summary.update({f"hit_{n}": float(hit[i].mean()) for i, n in enumerate(bon_ns)})
    # π^BoN_N's own error: the limit n → ∞ of SFT with a class that contains π^BoN_N (Assumption 4.1)
    summary.update({f"target_error_{n}": float(np.mean(hit[i] <= 1 - DELTA)) for i, n in enumerate(bon_ns)})
    return run, prompts, table, log_table, correct, greedy, star, summary


def run_cell(params, key, seeds):
    scale = SCALES[params["scale"]]
    run, prompts, table, log_table, correct, greedy, star, summary = base(params["scale"])
    n, big_n = int(params["n"]), int(params["N"])
    data_keys = jax.random.split(jax.random.fold_in(key, 0), seeds)
    fit_keys = jax.random.split(jax.random.fold_in(key, 1), seeds)
    draws = [bon_sft_data(k, table, scale["max_prompts"], big_n) for k in data_keys]
    rows_drawn = np.stack([p for p, _ in draws])  # rows of the table, i.e. positions in ``prompts``
    picks = np.stack([q[:, -1] for _, q in draws])
    flats, losses = finetune(run.config, run.network, prompts[rows_drawn], picks, n, fit_keys,
                             steps=scale["steps"], **FINETUNE)
    outputs, log_star = finetuned_outputs(run.config, flats, star, prompts)
    rows = np.arange(len(prompts))
    acc = correct[rows[None, :], outputs].mean(axis=1)
    loglik = log_table[rows[None, :], outputs].mean(axis=1)
    picks_used, rows_used = picks[:, :n], rows_drawn[:, :n]
    columns = {
        "acc": acc,
        "loglik": loglik,
        "lift_loglik": loglik - summary["greedy_loglik"],
        "error": (np.exp(log_star) <= 1 - DELTA).mean(axis=1),
        "mean_p_star_hat": np.exp(log_star).mean(axis=1),
        "greedy_is_base_argmax": (outputs == star[None, :]).mean(axis=1),
        "pick_is_argmax": (picks_used == star[rows_used]).mean(axis=1),
        "pick_correct": correct[rows_used, picks_used].mean(axis=1),
        "loss_first": np.asarray(losses[:, 0], dtype=float),
        "loss_last": np.asarray(losses[:, -10:].mean(axis=1), dtype=float),
        "tabular_error": np.full(seeds, float(exact_sft_expected_error(table, n, big_n, DELTA))),
    }
    columns["bon_acc"] = np.full(seeds, summary[f"acc_ll_{big_n}"])
    columns["bon_loglik"] = np.full(seeds, summary[f"loglik_ll_{big_n}"])
    columns["bon_hit"] = np.full(seeds, summary[f"hit_{big_n}"])
    columns["target_error"] = np.full(seeds, summary[f"target_error_{big_n}"])
    columns.update({k: np.full(seeds, v) for k, v in summary.items()})
    return columns


SWEEP = Sweep(
    title="Sharpening a trained transformer: best-of-N self-rewards and SFT on its own BoN picks (Thm 4.1, Fig. 9)",
    claim="App. A.3 / Thm 4.1: fine-tuning on BoN picks amortizes inference-time sharpening; the sharpening error "
          "falls with n and N (tabular class: exact law from C_cov)",
    grid={"N": list(SFT_SAMPLES), "n": list(SFT_PROMPTS), "scale": ["full"]},
    seeds=4,
    settings={"finetune": FINETUNE, "scales": SCALES, "delta": DELTA,
              "majority_trials": MAJORITY_TRIALS, "subset_seed": SUBSET_SEED,
              "weights": "sharpsim/lm/weights/default"},
    seed_rows=True,
    run_cell=run_cell,
    quick_grid={"N": [10], "n": [64], "scale": ["quick"]},
    quick_seeds=2,
)
