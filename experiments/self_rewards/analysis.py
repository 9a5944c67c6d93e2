"""self_rewards analysis: accuracy of best-of-N under each self-reward against N, with greedy decoding and pass@N,
per cell of the task's controls, and which self-reward wins at N = 50 where; 95% paired bootstrap intervals over
prompts (the only randomness: every per-prompt number is an exact law).

Panels: (a), (b) accuracy against N for two regimes (short answers likelier than a reasoned path; the correct answer
spread over many paths), the Figure 2 analog; (c) the gain over log π at N = 50 against the signal s; (d)–(f) the
winner at N = 50 over (signal, paths of the correct answer), one map per short-answer bias, with its margin over the
runner-up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import NS

REWARD_LABELS = {"ll": r"BoN($\log\pi$)", "ln": r"BoN($\log\pi/|y|$)", "mv": "sample majority vote",
                 "am": "answer marginal (population vote)"}
REWARD_COLORS = {"ll": "tab:blue", "ln": "tab:orange", "mv": "tab:red", "am": "tab:green"}
CONTENDERS = ("ll", "ln", "mv")  # the paper's three self-rewards; the answer marginal is majority vote's N → ∞ limit
AXES = ("signal", "correct_paths", "short_bias")
SHORTCUT_CELL = {"signal": 1.0, "correct_paths": 24, "short_bias": 4.0}
MANY_PATHS_CELL = {"signal": 1.0, "correct_paths": 48, "short_bias": -8.0}
PROFILE = {"correct_paths": 24, "short_bias": -8.0}  # panel (c): as many paths per answer
BOOTSTRAP = 1000


def _bootstrap_rows(num_prompts: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, num_prompts, (BOOTSTRAP, num_prompts))


def _interval(per_prompt: np.ndarray, rows: np.ndarray) -> tuple[float, float, float]:
    """Mean over prompts and its 95% percentile bootstrap interval (same resampled prompts for every quantity)."""
    low, high = np.percentile(per_prompt[rows].mean(axis=1), [2.5, 97.5])
    return float(per_prompt.mean()), float(low), float(high)


def cell_summary(cell: pd.DataFrame) -> dict:
    rows = _bootstrap_rows(len(cell))
    greedy = cell.greedy_correct.to_numpy()
    p = cell.p_correct.to_numpy()
    out = {"prompts": len(cell), "greedy": _interval(greedy, rows), "sampling": _interval(p, rows),
           "argmax_correct": float(cell.argmax_correct.mean()),
           "pass": [_interval(1 - (1 - p) ** n, rows) for n in NS]}
    for reward in REWARD_LABELS:
        out[reward] = [_interval(cell[f"acc_{reward}_{n}"].to_numpy(), rows) for n in NS]
    at_50 = {r: cell[f"acc_{r}_{NS[-1]}"].to_numpy() for r in CONTENDERS}
    ranked = sorted(CONTENDERS, key=lambda r: -at_50[r].mean())
    winner = ranked[0]
    # without short answers every response has length L, so log π/|y| orders responses as log π does: a tie, and the
    # margin is taken over the best self-reward that differs
    tied = [r for r in ranked if np.array_equal(at_50[r], at_50[winner])]
    runner_up = next((r for r in ranked if r not in tied), ranked[1])
    margin = at_50[winner] - at_50[runner_up]
    resampled = np.stack([at_50[r][rows].mean(axis=1) for r in CONTENDERS])  # [rewards, resamples]
    wins = np.mean(np.isin(np.asarray(CONTENDERS)[resampled.argmax(axis=0)], tied))
    greedy_mean = greedy.mean()
    out.update({
        "winner": winner, "runner_up": runner_up, "tied_with_winner": tied, "margin": _interval(margin, rows),
        "winner_bootstrap_frequency": float(wins),
        "lift_pct_at_50": {r: (100 * (at_50[r].mean() - greedy_mean) / greedy_mean) if greedy_mean > 0 else None
                           for r in CONTENDERS},
        "gain_over_ll_at_50": {r: _interval(at_50[r] - at_50["ll"], rows) for r in ("ln", "mv")},
        "pass_minus_best_at_50": float((1 - (1 - p) ** NS[-1]).mean() - at_50[winner].mean()),
    })
    return out


def _key(params) -> tuple:
    return tuple(float(params[a]) for a in AXES)


def observations(cells: dict) -> dict:
    def significant(r):
        return [k for k, c in cells.items() if c["gain_over_ll_at_50"][r][1] > 0]

    def worse(r):
        return [k for k, c in cells.items() if c["gain_over_ll_at_50"][r][2] < 0]

    name = lambda k: "s={:g}/paths={:g}/b={:g}".format(*k)  # noqa: E731
    return {
        "cells": len(cells),
        "winner_counts": {r: sum(c["winner"] == r for c in cells.values()) for r in CONTENDERS},
        "ln_significantly_above_ll": [name(k) for k in significant("ln")],
        "ln_significantly_below_ll": [name(k) for k in worse("ln")],
        "mv_significantly_above_ll": [name(k) for k in significant("mv")],
        "mv_significantly_below_ll": [name(k) for k in worse("mv")],
        "significant_winners": {name(k): c["winner"] for k, c in cells.items() if c["margin"][1] > 0},
        "pass_at_50_minus_best_self_reward_min": min(c["pass_minus_best_at_50"] for c in cells.values()),
        "pass_at_50_min": min(c["pass"][-1][0] for c in cells.values()),
        "winner_by_short_bias": {f"{b:g}": {r: sum(c["winner"] == r for k, c in cells.items() if k[2] == b)
                                            for r in CONTENDERS} for b in sorted({k[2] for k in cells})},
    }


def summarize(table: pd.DataFrame) -> dict:
    groups = dict(list(table.groupby(list(AXES))))
    cells = {_key(dict(zip(AXES, k))): cell_summary(groups[k]) for k in sorted(groups)}
    return {"ns": list(NS), "contenders": list(CONTENDERS),
            "cells": [{**dict(zip(AXES, k)), **c} for k, c in cells.items()],
            "observations": observations(cells)}


def _cells(summary: dict) -> dict:
    return {_key(c): c for c in summary["cells"]}


def _nearest(cells: dict, target: dict) -> tuple:
    goal = np.array([float(target[a]) for a in AXES])
    scale = np.array([1.0, 24.0, 4.0])
    return min(cells, key=lambda k: float(np.sum(((np.array(k) - goal) / scale) ** 2)))


def _panel_curves(ax, cells, target, title) -> None:
    key = _nearest(cells, target)
    c = cells[key]
    for reward in REWARD_LABELS:
        mean, low, high = (np.array(v) for v in zip(*c[reward]))
        ax.plot(NS, mean, color=REWARD_COLORS[reward], label=REWARD_LABELS[reward],
                linestyle=":" if reward == "am" else "-", **plotting.EXACT_STYLE)
        ax.fill_between(NS, low, high, color=REWARD_COLORS[reward], alpha=0.12, linewidth=0)
    mean, low, high = (np.array(v) for v in zip(*c["pass"]))
    ax.plot(NS, mean, color="black", linestyle="--", label="pass@N (ground truth)")
    ax.axhline(c["greedy"][0], color="0.4", linestyle="-.", label="greedy decoding")
    ax.set_xscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel("N (samples)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{title}\n$s$ = {key[0]:g}, correct paths = {key[1]:g}, $b$ = {key[2]:g}")


def _panel_gains(ax, cells) -> None:
    paths = _nearest(cells, {"signal": 0.0, **PROFILE})[1]
    biases = sorted({k[2] for k in cells if k[1] == paths})
    styles = ["-", "--", ":", "-."]
    for b_index, bias in enumerate(biases):
        keys = sorted(k for k in cells if k[1] == paths and k[2] == bias)
        signals = np.array([k[0] for k in keys])
        for r_index, reward in enumerate(("ln", "mv")):
            mean, low, high = (100 * np.array(v) for v in zip(*[cells[k]["gain_over_ll_at_50"][reward] for k in keys]))
            shift = 0.04 * (2 * b_index + r_index - len(biases))
            plotting.errorbar_points(ax, signals + shift, mean, low, high, color=REWARD_COLORS[reward])
            ax.plot(signals + shift, mean, color=REWARD_COLORS[reward], linestyle=styles[b_index % 4], linewidth=1,
                    label=f"{REWARD_LABELS[reward]}, $b$ = {bias:g}")
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xlabel(r"likelihood–correctness signal $s$")
    ax.set_ylabel(r"accuracy gain over BoN($\log\pi$) at N = 50 (points)")
    ax.set_title(f"(c) gain over the raw likelihood at N = 50\n(correct paths = {paths:g}; line style: $b$)")


def _panel_map(ax, cells, short_bias, letter) -> None:
    keys = [k for k in cells if k[2] == short_bias]
    signals = sorted({k[0] for k in keys})
    paths = sorted({k[1] for k in keys})
    image = np.ones((len(paths), len(signals), 3))
    for k in keys:
        c = cells[k]
        i, j = paths.index(k[1]), signals.index(k[0])
        rgb = np.array(plotting.matplotlib.colors.to_rgb(REWARD_COLORS[c["winner"]]))
        significant = c["margin"][1] > 0
        image[i, j] = rgb if significant else 0.35 * rgb + 0.65
        mean, low, high = (100 * v for v in c["margin"])
        name = "=".join(c["tied_with_winner"]) + f" > {c['runner_up']}"
        ax.text(j, i, f"{name}\n{mean:+.1f}\n[{low:+.1f}, {high:+.1f}]", ha="center", va="center", fontsize=6.3,
                color="white" if significant else "black")
    ax.imshow(image, aspect="auto", origin="lower")
    ax.set_xticks(range(len(signals)), [f"{s:g}" for s in signals])
    ax.set_yticks(range(len(paths)), [f"{p:g}" for p in paths])
    ax.set_xlabel(r"likelihood–correctness signal $s$")
    ax.set_ylabel("reasoning paths of the correct answer\n(24 per wrong answer)")
    ax.set_title(f"({letter}) winner at N = 50, short-answer bias $b$ = {short_bias:g}"
                 + (" (≈ no short answers)" if short_bias <= -6 else ""), fontsize=9)


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    cells = _cells(summary)
    figure, axes = plotting.plt.subplots(2, 3, figsize=(17, 11))
    (ax_a, ax_b, ax_c), maps = axes
    _panel_curves(ax_a, cells, SHORTCUT_CELL, "(a) short answers likelier than a reasoned path")
    _panel_curves(ax_b, cells, MANY_PATHS_CELL, "(b) the correct answer spread over more paths")
    _panel_gains(ax_c, cells)
    biases = sorted({k[2] for k in cells})[:3]
    for ax, bias, letter in zip(maps, biases, "def"):
        _panel_map(ax, cells, bias, letter)
    for ax in maps[len(biases):]:
        ax.axis("off")
    for ax in (ax_a, ax_b, ax_c):
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    handles = [plotting.plt.Rectangle((0, 0), 1, 1, color=REWARD_COLORS[r]) for r in CONTENDERS]
    maps[0].legend(handles, [f"{r}: {REWARD_LABELS[r]}" for r in CONTENDERS], fontsize=7, loc="upper center",
                   bbox_to_anchor=(0.5, -0.16), ncol=3)
    prompts = int(table.groupby(list(AXES)).size().min())
    plotting.footnote(figure, f"{len(cells)} cells × {prompts} prompts of reasoning_task (|V| = 5, H = 5, 4 answers, "
                      "noise σ = 1, signal spread 1). Exact laws per prompt; bands, bars and [brackets]: 95% paired "
                      f"percentile bootstrap over prompts ({BOOTSTRAP} resamples). Maps: winner's margin over the "
                      "runner-up (\"ll=ln\": tied, lengths all equal) in accuracy points; pale = margin interval contains "
                      "0.")
    figure.subplots_adjust(hspace=0.62, wspace=0.38, bottom=0.13, top=0.94)
    atomic_save_figure(figure, path)
    plotting.close(figure)
