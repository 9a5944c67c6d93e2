"""lm_sharpening analysis: (a) exact best-of-N curves of the final network under each self-reward (accuracy and
log-likelihood lift over greedy against N); (b) SFT-Sharpening of the network on its own BoN picks against n and N:
fine-tuned greedy accuracy, log-likelihood lift, share of BoN's gain recovered and sharpening error, each a mean over
seeds with a 95% Student-t interval, beside the tabular class's exact expected error on the same base (Theorem 4.1's
setting with |Π| finite but no generalization across prompts).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from scipy import stats  # noqa: E402

from sharpsim.runner.sweep import atomic_save_figure  # noqa: E402

from .sweep import DELTA, SCALES  # noqa: E402

REWARDS = {"ll": "log-likelihood (= length-normalized here)", "am": "answer marginal (population vote)",
           "mv": "sample majority vote"}


def t_interval(values, low: float = -np.inf, high: float = np.inf) -> dict:
    """Mean with a 95% Student-t interval over seeds, clipped to [low, high] (e.g. [0, 1] for probabilities)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2 or np.all(values == values[0]):
        return {"mean": mean, "low": mean, "high": mean}
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return {"mean": mean, "low": max(low, mean - half), "high": min(high, mean + half)}


def summarize(table: pd.DataFrame) -> dict:
    first = table.iloc[0]
    bon_ns = list(SCALES[str(first["scale"])]["bon_ns"])
    base = {k: float(first[k]) for k in ("greedy_acc", "greedy_loglik", "argmax_acc", "argmax_loglik",
                                         "sampling_acc", "coverage", "base_error", "mean_p_star")}
    curves = {}
    for reward in REWARDS:
        curves[reward] = {
            "acc": [float(first[f"acc_{reward}_{n}"]) for n in bon_ns],
            "lift_pct": [100 * (float(first[f"acc_{reward}_{n}"]) - base["greedy_acc"]) / base["greedy_acc"]
                         for n in bon_ns],
            "loglik_lift": [float(first[f"loglik_{reward}_{n}"]) - base["greedy_loglik"] for n in bon_ns],
        }
    curves["pass"] = {"acc": [float(first[f"pass_{n}"]) for n in bon_ns]}
    sft = {}
    for (big_n, n), cell in table.groupby(["N", "n"]):
        gain_acc = float(cell.bon_acc.iloc[0]) - base["greedy_acc"]
        gain_ll = float(cell.bon_loglik.iloc[0]) - base["greedy_loglik"]
        entry = {
            "seeds": len(cell),
            "acc": t_interval(cell.acc, 0, 1),
            "lift_loglik": t_interval(cell.lift_loglik),
            "error": t_interval(cell.error, 0, 1),
            "mean_p_star_hat": t_interval(cell.mean_p_star_hat, 0, 1),
            "greedy_is_base_argmax": t_interval(cell.greedy_is_base_argmax, 0, 1),
            "pick_is_argmax": t_interval(cell.pick_is_argmax, 0, 1),
            "bon_mass_on_argmax": float(cell.bon_hit.iloc[0]),
            "recovered_mass": (t_interval((cell.mean_p_star_hat - base["mean_p_star"])
                                          / (float(cell.bon_hit.iloc[0]) - base["mean_p_star"]))
                               if float(cell.bon_hit.iloc[0]) > base["mean_p_star"] + 1e-12 else None),
            "bon_acc": float(cell.bon_acc.iloc[0]),
            "bon_loglik_lift": gain_ll,
            "recovered_acc": t_interval((cell.acc - base["greedy_acc"]) / gain_acc) if gain_acc != 0 else None,
            "recovered_loglik": t_interval(cell.lift_loglik / gain_ll) if gain_ll != 0 else None,
            "tabular_error": float(cell.tabular_error.iloc[0]),
            "target_error": float(cell.target_error.iloc[0]),
            "loss_first": float(cell.loss_first.mean()),
            "loss_last": float(cell.loss_last.mean()),
        }
        sft.setdefault(str(int(big_n)), {})[str(int(n))] = entry
    return {"base": base, "bon_ns": bon_ns, "delta": DELTA, "bon_curves": curves, "sft": sft,
            "interval": "95% Student-t over seeds (each seed: fresh data and fine-tuning keys)"}


def _band(ax, x, entries, key, color, label, style="o-"):
    mean = np.asarray([e[key]["mean"] for e in entries])
    low = np.asarray([e[key]["low"] for e in entries])
    high = np.asarray([e[key]["high"] for e in entries])
    ax.plot(x, mean, style, color=color, label=label, ms=4)
    ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    base, curves, bon_ns = summary["base"], summary["bon_curves"], summary["bon_ns"]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    colors = {"ll": "tab:blue", "am": "tab:green", "mv": "tab:red"}
    ax = axes[0, 0]
    for reward, label in REWARDS.items():
        ax.plot(bon_ns, curves[reward]["acc"], "o-", ms=3, color=colors[reward], label=f"BoN: {label}")
    ax.plot(bon_ns, curves["pass"]["acc"], "k:", label="pass@N (skyline)")
    ax.axhline(base["greedy_acc"], color="gray", ls="--", label="greedy")
    ax.axhline(base["argmax_acc"], color="tab:blue", ls=":", lw=1, label=r"$y^*(x)$ (BoN, $N\to\infty$)")
    ax.set(xscale="log", xlabel="N", ylabel="accuracy (exact)", title="(a) best-of-N accuracy, final network")
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[0, 1]
    for reward, label in REWARDS.items():
        ax.plot(bon_ns, curves[reward]["loglik_lift"], "o-", ms=3, color=colors[reward], label=label)
    ax.axhline(0, color="gray", ls="--")
    ax.set(xscale="log", xlabel="N", ylabel=r"$E[\log\pi_{base}(\mathrm{pick})]-E[\log\pi_{base}(\mathrm{greedy})]$",
           title="(b) log-likelihood lift over greedy (exact)")
    ax.legend(fontsize=7)
    sft = summary["sft"]
    big_ns = sorted(sft, key=int)
    palette = plt.cm.viridis(np.linspace(0, 0.85, len(big_ns)))
    panels = ((axes[0, 2], "acc", "greedy accuracy of π̂", "(c) SFT: fine-tuned greedy accuracy"),
              (axes[1, 0], "lift_loglik", r"$E_x[\log\pi_{base}(\hat y)-\log\pi_{base}(y_{greedy})]$",
               "(d) SFT: log-likelihood lift of π̂'s greedy output"),
              (axes[1, 1], "recovered_mass",
               r"$(E\hat\pi(y^*|x)-E\pi_{base}(y^*|x))\,/\,(E\pi^{BoN}_N(y^*|x)-E\pi_{base}(y^*|x))$",
               "(e) SFT: share of BoN$_N$'s sharpening recovered"))
    for ax, key, ylabel, title in panels:
        for big_n, color in zip(big_ns, palette):
            ns = sorted(sft[big_n], key=int)
            entries = [sft[big_n][n] for n in ns]
            if any(e.get(key) is None for e in entries):
                continue
            _band(ax, [int(n) for n in ns], entries, key, color, f"N = {big_n}")
        ax.set(xscale="log", xlabel="n (SFT prompts)", ylabel=ylabel, title=title)
    axes[0, 2].axhline(base["greedy_acc"], color="gray", ls="--", label="base greedy")
    axes[0, 2].axhline(base["argmax_acc"], color="tab:blue", ls=":", lw=1, label=r"$y^*(x)$")
    axes[0, 2].legend(fontsize=7, loc="lower right")
    axes[1, 0].axhline(0, color="gray", ls="--")
    axes[1, 0].legend(fontsize=7)
    axes[1, 1].axhline(1, color="gray", ls="--")
    axes[1, 1].legend(fontsize=7)
    ax = axes[1, 2]
    for big_n, color in zip(big_ns, palette):
        ns = sorted(sft[big_n], key=int)
        entries = [sft[big_n][n] for n in ns]
        x = [int(n) for n in ns]
        _band(ax, x, entries, "error", color, None)
        ax.plot(x, [e["tabular_error"] for e in entries], "x--", color=color, lw=1)
        ax.plot(x, [e["target_error"] for e in entries], ls=(0, (1, 3)), color=color, lw=1.5)
    ax.axhline(base["base_error"], color="gray", ls=":")
    handles = [Line2D([], [], color="gray", marker="o", label="network, fine-tuned (measured)"),
               Line2D([], [], color="gray", marker="x", ls="--", label="tabular class, exact E[err] (Thm 4.1 setting)"),
               Line2D([], [], color="gray", ls=(0, (1, 3)), lw=1.5,
                      label=r"$\pi^{BoN}_N$ itself, exact ($n\to\infty$, Assumption 4.1)"),
               Line2D([], [], color="gray", ls=":", label=r"$\pi_{base}$"),
               Line2D([], [], color="none", label="colors: N as in (c)")]
    ax.set(xscale="log", xlabel="n (SFT prompts)", ylim=(-0.02, 1.02),
           ylabel=rf"$P_x[\hat\pi(y^*|x)\leq 1-\delta]$, δ = {summary['delta']}",
           title="(f) sharpening error")
    ax.legend(handles=handles, fontsize=7, loc="center left")
    fig.suptitle(f"lm_sharpening: best-of-N and SFT-Sharpening of the trained transformer "
                 f"(C_cov = {base['coverage']:.2f}; bands: 95% t over seeds)")
    fig.tight_layout()
    atomic_save_figure(fig, path)
    plt.close(fig)
