"""bon_lift analysis: % lift over greedy of best-of-N under each self-reward against N, per (task, model) cell, with
95% bootstrap intervals over prompts (the only randomness: every per-prompt number is an exact law), and the
Appendix A observations as checks.

Panels: (a) % lift at N = 50 under the log-likelihood, tasks × models (Figure 1(a) analog); (b) % lift against N on
one task, every model, with the N → ∞ limit P[y*(x) correct] (Figure 1(b)); (c) the two failures, lift against N for
each self-reward; (d) the short-answer bias's mechanism, the mean length of the pick; (e) the weak signal's, the law
of log π_base(y|x) of one draw by correctness (Figure 1(c) / 6); (f) the mean log-likelihood of the pick against N
(Figure 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import HIST_EDGES, NS

REWARD_LABELS = {"ll": r"log-likelihood $\log\pi$", "ln": r"length-normalized $\log\pi/|y|$",
                 "am": "answer marginal (population vote)", "mv": "sample majority vote"}
REWARD_COLORS = {"ll": "tab:blue", "ln": "tab:orange", "am": "tab:green", "mv": "tab:red"}
FIGURE_TASK = "plain"  # panels (b) and (f): the MATH analog
WEAK_SIGNAL = ("many_paths", "weak")
LENGTH_BIAS = ("shortcut", "shortcutter")
HISTOGRAM_CELLS = (("plain", "strong"), WEAK_SIGNAL)
BOOTSTRAP = 1000


def _bootstrap_rows(num_prompts: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, num_prompts, (BOOTSTRAP, num_prompts))


def lift_curve(cell: pd.DataFrame, reward: str, rows: np.ndarray) -> dict:
    """% lift 100·(acc_BoN − acc_greedy)/acc_greedy at every N, with a paired 95% bootstrap over prompts."""
    accuracy = cell[[f"acc_{reward}_{n}" for n in NS]].to_numpy()
    greedy = cell.greedy_correct.to_numpy()
    lift = 100 * (accuracy.mean(axis=0) - greedy.mean()) / greedy.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        resampled = 100 * (accuracy[rows].mean(axis=1) - greedy[rows].mean(axis=1)[:, None]) / greedy[rows].mean(
            axis=1)[:, None]
    low, high = np.nanpercentile(resampled, [2.5, 97.5], axis=0)
    return {"lift": lift.tolist(), "low": low.tolist(), "high": high.tolist(),
            "accuracy": accuracy.mean(axis=0).tolist()}


def saturation_n(accuracy: np.ndarray, fraction: float = 0.9) -> int:
    """The least N of the grid from which the accuracy stays within (1 − fraction) of its whole change to N = 50."""
    change = np.abs(accuracy - accuracy[-1])
    scale = change.max()
    if scale == 0:
        return NS[0]
    inside = change <= (1 - fraction) * scale
    last_outside = np.flatnonzero(~inside)
    return NS[last_outside[-1] + 1] if len(last_outside) else NS[0]


def cell_summary(cell: pd.DataFrame) -> dict:
    rows = _bootstrap_rows(len(cell))
    curves = {reward: lift_curve(cell, reward, rows) for reward in REWARD_LABELS}
    greedy = float(cell.greedy_correct.mean())
    inverse = 1 / cell.p_star.to_numpy()
    return {
        "prompts": len(cell),
        "greedy_accuracy": greedy,
        "sampling_accuracy": float(cell.p_correct.mean()),
        "argmax_accuracy": float(cell.argmax_correct.mean()),
        "lift_limit_log_likelihood": 100 * (float(cell.argmax_correct.mean()) - greedy) / greedy,
        "pass_at_50": float((1 - (1 - cell.p_correct) ** 50).mean()),
        "median_inverse_argmax_mass": float(np.median(inverse)),
        "argmax_coverage": float(inverse.mean()),
        "saturation_n_log_likelihood": saturation_n(np.asarray(curves["ll"]["accuracy"])),
        "curves": curves,
        "pick_loglik": {r: [float(cell[f"loglik_{r}_{n}"].mean()) for n in NS] for r in REWARD_LABELS},
        "pick_length": {r: [float(cell[f"len_{r}_{n}"].mean()) for n in NS] for r in ("ll", "ln", "am")},
        "greedy_length": float(cell.greedy_length.mean()),
    }


def observations(cells: dict) -> dict:
    """The Appendix A observations as checks over the cells present (lift at N = 50 under each self-reward)."""
    at_50 = {key: {r: c["curves"][r]["lift"][-1] for r in REWARD_LABELS} for key, c in cells.items()}
    low_50 = {key: c["curves"]["ll"]["low"][-1] for key, c in cells.items()}
    tasks = sorted({t for t, _ in cells})
    models = sorted({m for _, m in cells})
    beats_sampling = [key for key, c in cells.items() if c["curves"]["ll"]["accuracy"][-1] > c["sampling_accuracy"]]
    falls = [key for key, c in cells.items()
             if c["curves"]["ll"]["lift"][-1] < max(c["curves"]["ll"]["lift"]) - 2.0]
    rises = [key for key, c in cells.items() if np.all(np.diff(c["pick_loglik"]["ll"]) >= -1e-12)]
    return {
        "ll_beats_sampling_at_50": [f"{t}/{m}" for t, m in beats_sampling],
        "ll_loses_to_sampling_at_50": [f"{t}/{m}" for t, m in cells if (t, m) not in beats_sampling],
        "tasks_with_a_gaining_model": {t: [m for m in models if (t, m) in cells and at_50[(t, m)]["ll"] > 0]
                                       for t in tasks},
        "models_with_a_gaining_task": {m: [t for t in tasks if (t, m) in cells and at_50[(t, m)]["ll"] > 0]
                                       for m in models},
        "significant_ll_gains_at_50": [f"{t}/{m}" for (t, m), low in low_50.items() if low > 0],
        "ll_lift_falls_by_2_points_from_its_peak": [f"{t}/{m}" for t, m in falls],
        "pick_loglik_nondecreasing_in_n": [f"{t}/{m}" for t, m in rises],
        "ln_beats_ll_at_50": [f"{t}/{m}" for (t, m), v in at_50.items() if v["ln"] > v["ll"]],
        "mv_beats_ll_at_50": [f"{t}/{m}" for (t, m), v in at_50.items() if v["mv"] > v["ll"]],
        "min_pass_at_50": min(c["pass_at_50"] for c in cells.values()),
    }


def summarize(table: pd.DataFrame) -> dict:
    from .sweep import MODELS, TASKS

    groups = dict(list(table.groupby(["task", "model"])))
    keys = sorted(groups, key=lambda k: (_rank(k[0], list(TASKS)), _rank(k[1], list(MODELS))))
    cells = {key: cell_summary(groups[key]) for key in keys}
    return {
        "ns": list(NS),
        "cells": [{"task": t, "model": m, **c} for (t, m), c in cells.items()],
        "observations": observations(cells),
    }


def _rank(value, reference: list) -> tuple:
    return (reference.index(value), "") if value in reference else (len(reference), str(value))


def _cells(summary: dict) -> dict:
    return {(c["task"], c["model"]): c for c in summary["cells"]}


def _order(values, reference) -> list:
    return [v for v in reference if v in values] + sorted(set(values) - set(reference))


def _panel_heatmap(ax, cells) -> None:
    from .sweep import MODELS, TASKS

    tasks = _order({t for t, _ in cells}, list(TASKS))
    models = _order({m for _, m in cells}, list(MODELS))
    grid = np.full((len(models), len(tasks)), np.nan)
    for (t, m), c in cells.items():
        grid[models.index(m), tasks.index(t)] = c["curves"]["ll"]["lift"][-1]
    bound = max(5.0, np.nanmax(np.abs(grid)))
    image = ax.imshow(grid, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    for i in range(len(models)):
        for j in range(len(tasks)):
            c = cells.get((tasks[j], models[i]))
            if c is not None:
                low, high = c["curves"]["ll"]["low"][-1], c["curves"]["ll"]["high"][-1]
                ax.text(j, i, f"{grid[i, j]:+.1f}\n[{low:+.0f}, {high:+.0f}]", ha="center", va="center", fontsize=7,
                        color="white" if abs(grid[i, j]) > 0.6 * bound else "black")
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_yticks(range(len(models)), models)
    ax.set_xlabel("task")
    ax.set_ylabel("model")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="% lift over greedy")
    ax.set_title("(a) BoN($\\log\\pi$), N = 50: % lift over greedy")


def _band(ax, curve, color, label, linestyle="-"):
    ax.plot(NS, curve["lift"], color=color, linestyle=linestyle, label=label, **plotting.EXACT_STYLE)
    ax.fill_between(NS, curve["low"], curve["high"], color=color, alpha=0.1, linewidth=0)


def _panel_models(ax, cells) -> None:
    task = FIGURE_TASK if any(t == FIGURE_TASK for t, _ in cells) else next(iter(cells))[0]
    colors = plotting.plt.get_cmap("tab10")
    for i, ((t, m), c) in enumerate((k, v) for k, v in cells.items() if k[0] == task):
        _band(ax, c["curves"]["ll"], colors(i), f"{m}")
        ax.axhline(c["lift_limit_log_likelihood"], color=colors(i), linestyle=":", linewidth=1)
        ax.plot([c["median_inverse_argmax_mass"]], [0], marker="^", color=colors(i), markersize=8,
                transform=ax.get_xaxis_transform(), clip_on=False)
    ax.plot([], [], "^", color="0.4", label=r"median $1/\pi(y^*|x)$: saturation scale (Prop. C.1)")
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_title(f"(b) task '{task}': lift vs N, BoN($\\log\\pi$)\n(dotted: N→∞ limit, P[$y^*(x)$ correct])")
    ax.set_ylabel("% lift over greedy")


def _panel_failures(ax, cells) -> None:
    for (t, m), style in ((WEAK_SIGNAL, "-"), (LENGTH_BIAS, "--")):
        c = cells.get((t, m))
        if c is None:
            continue
        # on 'many_paths' every response has length H, so the length-normalized reward orders as log π does
        for reward in ("ll", "ln", "mv") if (t, m) == LENGTH_BIAS else ("ll", "mv"):
            _band(ax, c["curves"][reward], REWARD_COLORS[reward], f"{t}/{m}: {REWARD_LABELS[reward]}", style)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_ylabel("% lift over greedy")
    ax.set_title("(c) failures: weak signal (—), short-answer bias (- -)")


def _panel_mechanism(ax, cells) -> None:
    c = cells.get(LENGTH_BIAS)
    if c is not None:
        for reward in ("ll", "ln"):
            ax.plot(NS, c["pick_length"][reward], color=REWARD_COLORS[reward], label=f"{LENGTH_BIAS[0]}/"
                    f"{LENGTH_BIAS[1]}: |pick|, {REWARD_LABELS[reward]}", **plotting.EXACT_STYLE)
        ax.axhline(c["greedy_length"], color="black", linestyle=":", label="|greedy output|")
    ax.set_ylabel("mean length |y| of the pick (tokens)")
    ax.set_title(f"(d) '{LENGTH_BIAS[0]}'/'{LENGTH_BIAS[1]}': BoN($\\log\\pi$) drifts to the short\n"
                 "responses, length normalization away from them")


def _panel_histograms(ax, table) -> None:
    bins = len(HIST_EDGES) - 1
    centers = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2
    colors = {"correct": "tab:green", "wrong": "tab:red"}
    for (t, m), style in zip(HISTOGRAM_CELLS, ("-", "--")):
        cell = table[(table.task == t) & (table.model == m)]
        if cell.empty:
            continue
        for label in ("correct", "wrong"):
            mass = cell[[f"hist_{label}_{b}" for b in range(bins)]].to_numpy().mean(axis=0)
            ax.step(centers, mass / max(mass.sum(), 1e-300), where="mid", color=colors[label], linestyle=style,
                    label=f"{t}/{m}: {label}")
    ax.set_xlabel(r"$\log\pi_{\mathrm{base}}(y|x)$ of one draw")
    ax.set_ylabel("probability (given correctness)")
    ax.set_title("(e) log-likelihood by correctness (N = 1):\nclear (strong) vs weak signal")


def _panel_pick_loglik(ax, cells) -> None:
    task = FIGURE_TASK if any(t == FIGURE_TASK for t, _ in cells) else next(iter(cells))[0]
    colors = plotting.plt.get_cmap("tab10")
    for i, ((t, m), c) in enumerate((k, v) for k, v in cells.items() if k[0] == task):
        ax.plot(NS, c["pick_loglik"]["ll"], color=colors(i), label=f"{m}: BoN($\\log\\pi$)", **plotting.EXACT_STYLE)
        ax.plot(NS, c["pick_loglik"]["mv"], color=colors(i), linestyle=":", label=f"{m}: majority vote")
    ax.set_ylabel(r"mean $\log\pi_{\mathrm{base}}$ of the pick")
    ax.set_title(f"(f) task '{task}': log-likelihood of the pick vs N")


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    cells = _cells(summary)
    figure, axes = plotting.plt.subplots(2, 3, figsize=(17, 11.5))
    (ax_a, ax_b, ax_c), (ax_d, ax_e, ax_f) = axes
    _panel_heatmap(ax_a, cells)
    _panel_models(ax_b, cells)
    _panel_failures(ax_c, cells)
    _panel_mechanism(ax_d, cells)
    _panel_histograms(ax_e, table)
    _panel_pick_loglik(ax_f, cells)
    for ax in (ax_b, ax_c, ax_d, ax_f):
        ax.set_xscale("log")
        ax.set_xlabel("N (samples)")
        plotting.plain_log_ticks(ax)
    for ax in (ax_b, ax_c, ax_d, ax_e, ax_f):
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13),
                      ncol=2 if len(handles) > 4 else 1)
    prompts = int(table.groupby(["task", "model"]).size().min())
    plotting.footnote(figure, f"{len(cells)} cells (task × model) × {prompts} prompts of reasoning_task (|V| = 5, "
                      "H = 5, 4 answers). Every per-prompt number is exact (BoN laws, majority by enumerating "
                      "answer counts, greedy token by token); bands and [brackets]: 95% paired bootstrap over prompts "
                      f"({BOOTSTRAP} resamples).")
    figure.subplots_adjust(hspace=0.75, wspace=0.42, bottom=0.13, top=0.95)
    atomic_save_figure(figure, path)
    plotting.close(figure)
