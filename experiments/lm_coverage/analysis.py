"""lm_coverage analysis: per checkpoint, the exact coverage quantities of the trained transformer (C_cov, margin,
coverage profile, greedy/argmax agreement, accuracies) beside its held-out loss, and best-of-N success against N:
predicted exactly from π(y*|x) (Proposition C.1) against the Monte-Carlo observation through the oracle, with 95%
Wilson intervals over prompts (one best-of-N run per prompt; the prompts' success probabilities differ, so the
binomial interval is conservative for their mean).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sharpsim.measure.statistics import wilson_interval  # noqa: E402
from sharpsim.runner.sweep import atomic_save_figure  # noqa: E402

from .sweep import MC_STEPS, NS  # noqa: E402

PROFILE_NS = (1, 2, 3, 5, 10, 20, 50, 100, 1000)


def step_summary(cell: pd.DataFrame) -> dict:
    p_star = np.exp(cell.log_p_star.to_numpy())
    gaps = cell.log_p_star.to_numpy() - cell.log_p_second.to_numpy()
    out = {
        "prompts": len(cell),
        "eval_loss": float(cell.eval_loss.iloc[0]),
        "coverage": float(np.mean(1.0 / p_star)),
        "median_inverse_p_star": float(np.median(1.0 / p_star)),
        "mean_p_star": float(p_star.mean()),
        "margin": float(np.min(np.expm1(gaps))),
        "ties": int(np.sum(gaps == 0)),
        "search_matches_enumeration": float(cell.search_is_enum_argmax.mean()),
        "max_search_enum_gap": float(max(cell.search_enum_gap.max(), cell.enum_second_gap.max())),
        "mean_search_nodes": float(cell.search_nodes.mean()),
        "profile": {str(n): float(np.mean(cell.log_p_star >= -np.log(n))) for n in PROFILE_NS},
        "greedy_is_argmax": float(cell.greedy_is_argmax.mean()),
        "greedy_accuracy": float(cell.greedy_correct.mean()),
        "argmax_accuracy": float(cell.argmax_correct.mean()),
        "sampling_accuracy": float(cell.sampling_correct.mean()),
        "bon_predicted": [float(cell[f"bon_pred_{n}"].mean()) for n in NS],
        "prop_c1": [float(np.mean(-np.expm1(n * np.log1p(-p_star)))) for n in NS],
    }
    observed = cell[[f"bon_mc_{n}" for n in NS]].to_numpy()
    sampled = ~np.isnan(observed[:, 0])
    if sampled.any():
        hits = observed[sampled].sum(axis=0)
        trials = np.full(len(NS), int(sampled.sum()))
        low, high = wilson_interval(hits, trials)
        per_prompt = cell.loc[sampled, [f"bon_pred_{n}" for n in NS]].to_numpy()
        predicted = per_prompt.mean(axis=0)
        # given the prompts, the hits are independent Bernoulli(p_x): the exact standard error of their mean
        standard_error = np.sqrt(np.sum(per_prompt * (1 - per_prompt), axis=0)) / sampled.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(standard_error > 0, (hits / trials - predicted) / standard_error, 0.0)
        inside = (predicted >= low) & (predicted <= high)
        out["bon_observed"] = {"prompts": int(sampled.sum()), "mean": (hits / trials).tolist(), "low": low.tolist(),
                               "high": high.tolist(), "predicted_same_prompts": predicted.tolist(),
                               "inside": inside.tolist(), "z": z.tolist(),
                               "interval": "95% Wilson over prompts (one best-of-N run per prompt); z: (observed − "
                                           "predicted) / exact Poisson-binomial standard error given the prompts"}
    return out


def summarize(table: pd.DataFrame) -> dict:
    steps = sorted(int(s) for s in table.step.unique())
    per_step = {str(s): step_summary(table[table.step == s]) for s in steps}
    inside = [x for v in per_step.values() if "bon_observed" in v for x in v["bon_observed"]["inside"]]
    z = [x for v in per_step.values() if "bon_observed" in v for x in v["bon_observed"]["z"]]
    return {"steps": steps, "ns": list(NS), "per_step": per_step,
            "bon_comparisons": len(inside), "bon_prediction_outside_wilson": int(len(inside) - sum(inside)),
            "bon_abs_z_above_1_96": int(np.sum(np.abs(z) > 1.96)),
            "bon_max_abs_z": float(np.max(np.abs(z))) if z else None,
            "search_always_matches_enumeration": bool(all(v["search_matches_enumeration"] == 1.0
                                                          for v in per_step.values()))}


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    steps = np.asarray(summary["steps"])
    s = [summary["per_step"][str(t)] for t in steps]
    x = np.maximum(steps, 1)  # step 0 (initialization) drawn at 1 on the log axis
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    ax = axes[0, 0]
    ax.plot(x, [v["eval_loss"] for v in s], "o-", color="k")
    ax.set(xscale="log", xlabel="training step t (step 0 drawn at 1)", ylabel="held-out cross-entropy (nats/token)",
           title="(a) loss of π_base during training")
    ax = axes[0, 1]
    ax.plot(x, [v["coverage"] for v in s], "o-", label=r"$C_{cov}=E_x[1/\pi(y^*|x)]$ (Eq. 6)")
    ax.plot(x, [v["median_inverse_p_star"] for v in s], "s--", label=r"median$_x$ $1/\pi(y^*|x)$")
    ax.set(xscale="log", yscale="log", xlabel="training step t", ylabel="coverage", title="(b) coverage coefficient")
    ax.legend(fontsize=8)
    ax = axes[0, 2]
    ax.plot(x, [max(v["margin"], 1e-16) for v in s], "o-", color="tab:purple")
    ax.set(xscale="log", yscale="log", xlabel="training step t",
           ylabel=r"$\gamma_{margin}=\min_x \pi(y^*|x)/\pi(y_2|x)-1$", title="(c) margin (Assumption 4.2)")
    ax = axes[1, 0]
    for key, label, style in (("greedy_is_argmax", r"greedy $=y^*(x)$", "o-"),
                              ("argmax_accuracy", r"accuracy of $y^*(x)$", "s-"),
                              ("greedy_accuracy", "accuracy of greedy", "^--"),
                              ("sampling_accuracy", "accuracy of one draw (T = 1)", "v:")):
        ax.plot(x, [v[key] for v in s], style, label=label)
    ax.set(xscale="log", xlabel="training step t", ylabel="fraction of prompts", ylim=(0, 1.3),
           yticks=np.linspace(0, 1, 6), title="(d) agreement and accuracy (exact)")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    ax = axes[1, 1]
    norm = matplotlib.colors.LogNorm(vmin=1, vmax=max(x))
    for t, v in zip(x, s):
        ax.plot(PROFILE_NS, [v["profile"][str(n)] for n in PROFILE_NS], "o-", color=plt.cm.viridis(norm(t)), ms=3)
    ax.set(xscale="log", xlabel="N", ylabel=r"$P_x[\pi(y^*|x)\geq 1/N]$", ylim=(0, 1.02),
           title="(e) coverage profile, one curve per checkpoint")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="training step t (0 at 1)")
    ax = axes[1, 2]
    for t, c in zip(MC_STEPS, plt.cm.plasma(np.linspace(0, 0.8, len(MC_STEPS)))):
        v = summary["per_step"].get(str(t))
        if v is None or "bon_observed" not in v:
            continue
        o = v["bon_observed"]
        ax.plot(NS, o["predicted_same_prompts"], "-", color=c, label=f"t = {t}: Prop. C.1 (exact law)")
        mean = np.asarray(o["mean"])
        ax.errorbar(NS, mean, yerr=[mean - np.asarray(o["low"]), np.asarray(o["high"]) - mean], fmt="o", ms=3,
                    color=c, capsize=2, label=f"t = {t}: observed (oracle, {o['prompts']} prompts)")
    ax.set(xscale="log", xlabel="N", ylabel=r"$P[\mathrm{BoN}_N = y^*(x)]$", ylim=(0, 1.02),
           title="(f) best-of-N: predicted vs observed (95% Wilson)")
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("lm_coverage: a trained transformer π_base (modular sums, |X| = 2401, |V|^H = 343) across training")
    fig.tight_layout()
    atomic_save_figure(fig, path)
    plt.close(fig)
