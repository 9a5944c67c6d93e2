"""greedy_vs_argmax analysis: per decoder the Prop. 3.1 check (no miss above π(y*|x) = 1/2), the success rate at or
below 1/2, the ``greedy_threshold`` instances, and the binned success curve.

Panels: (a) P[greedy = y*] against π(y*|x) in bins, one series per H, with 95% Wilson intervals, the
Prop. 3.1 threshold and ``greedy_threshold`` instances (failures arbitrarily close to 1/2); (b) greedy vs beam
search k = 2, 4, all cells pooled; (c) the mass ratio π(ŷ|x)/π(y*|x) of the decoded sequence (how far from
the argmax a miss lands), one point per miss.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sharpsim.measure.statistics import wilson_interval
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import DECODERS, threshold_instances

BINS = np.linspace(0.0, 1.0, 21)
MARKERS = {"greedy": "o", "beam2": "s", "beam4": "^"}


def binned_success(p_star, correct):
    """Per bin of π(y*): (mean π(y*) in the bin, successes, trials) for the non-empty bins."""
    which = np.clip(np.digitize(p_star, BINS) - 1, 0, len(BINS) - 2)
    rows = []
    for b in range(len(BINS) - 1):
        inside = which == b
        if inside.any():
            rows.append((float(p_star[inside].mean()), int(correct[inside].sum()), int(inside.sum())))
    return rows


def unique_argmax(table: pd.DataFrame) -> pd.DataFrame:
    """Prompts with a singleton argmax, as Prop. 3.1 assumes (ties have probability 0 here)."""
    return table[table.argmax_size == 1]


def decoder_summary(table: pd.DataFrame, decoder: str) -> dict:
    p_star = table.p_star.to_numpy()
    correct = table[f"{decoder}_correct"].to_numpy().astype(bool)
    above = p_star > 0.5
    failures = p_star[~correct]
    rate_below = correct[~above].mean() if (~above).any() else float("nan")
    low, high = wilson_interval(correct[~above].sum(), max(1, (~above).sum()))
    return {
        "prompts_above_half": int(above.sum()),
        "failures_above_half": int((~correct & above).sum()),
        "prompts_at_or_below_half": int((~above).sum()),
        "success_at_or_below_half": float(rate_below),
        "success_at_or_below_half_wilson95": [float(low), float(high)],
        "largest_p_star_of_a_failure": float(failures.max()) if failures.size else None,
        "worst_mass_ratio": float((table[f"{decoder}_mass"] / table.p_star).min()),
    }


def summarize(table: pd.DataFrame) -> dict:
    unique = unique_argmax(table)
    per_cell = (table.groupby(["vocab_size", "horizon", "temperature"])
                .agg(mean_p_star=("p_star", "mean"), greedy=("greedy_correct", "mean"), beam2=("beam2_correct", "mean"),
                     beam4=("beam4_correct", "mean"), prompts=("p_star", "size")).reset_index())
    return {
        "decoders": {decoder: decoder_summary(unique, decoder) for decoder in DECODERS},
        "non_unique_argmax_prompts": int((table.argmax_size != 1).sum()),
        "greedy_threshold": threshold_instances(),
        "greedy_success_by_bin": [{"p_star_mean": c, "successes": s, "trials": t}
                                  for c, s, t in binned_success(unique.p_star.to_numpy(), unique.greedy_correct.to_numpy())],
        "cells": per_cell.to_dict(orient="records"),
    }


def _binned_points(ax, p_star, correct, **style):
    """The binned success rate as points with 95% Wilson bars, joined by a faint line; the points' artist."""
    center, successes, trials = (np.array(v) for v in zip(*binned_success(p_star, correct)))
    low, high = wilson_interval(successes, trials)
    line = ax.plot(center, successes / trials, linewidth=0.8, alpha=0.6, color=style.pop("color", None))[0]
    return plotting.errorbar_points(ax, center, successes / trials, low, high, color=line.get_color(), **style)


def _panel_horizons(ax, unique, thresholds) -> None:
    horizons, colors = sorted(unique.horizon.unique()), plotting.plt.get_cmap("viridis")
    for i, horizon in enumerate(horizons):
        rows = unique[unique.horizon == horizon]
        _binned_points(ax, rows.p_star.to_numpy(), rows.greedy_correct.to_numpy(),
                       color=colors(i / max(1, len(horizons) - 1) * 0.85), label=f"greedy, H={horizon}")
    ax.plot([r["p_star"] for r in thresholds], [r["greedy_correct"] for r in thresholds], "x", color="crimson",
            markersize=7, label=r"greedy_threshold: $\pi(y^*)=1/2-\eta$ (tight)")
    ax.set_ylabel(r"$P[\,\hat y^{\mathrm{greedy}}(x)=y^*(x)\,]$")
    ax.set_title("(a) greedy = sequence argmax?")


def _panel_decoders(ax_beam, ax_ratio, unique) -> None:
    for decoder in DECODERS:
        label = "greedy" if decoder == "greedy" else f"beam search, k={decoder[4:]}"
        points = _binned_points(ax_beam, unique.p_star.to_numpy(), unique[f"{decoder}_correct"].to_numpy(),
                                marker=MARKERS[decoder], label=label)
        misses = unique[~unique[f"{decoder}_correct"].astype(bool)]
        short = "greedy" if decoder == "greedy" else f"beam k={decoder[4:]}"
        ax_ratio.plot(misses.p_star, misses[f"{decoder}_mass"] / misses.p_star, MARKERS[decoder], markersize=2.5,
                      alpha=0.35, rasterized=True, color=points.lines[0].get_color(),
                      label=f"{short}: {len(misses)} misses")
    ax_beam.set_ylabel(r"$P[\,\hat y(x)=y^*(x)\,]$")
    ax_beam.set_title("(b) greedy vs beam search, pooled")
    ax_ratio.set_ylabel(r"$\pi(\hat y(x)\,|\,x)\,/\,\pi(y^*(x)\,|\,x)$ of a miss")
    ax_ratio.set_ylim(0, 1.05)
    ax_ratio.set_title("(c) how far from the argmax misses land")


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    figure, (ax_h, ax_beam, ax_ratio) = plotting.new_figure(3, height=5.2)
    unique = unique_argmax(table)
    _panel_horizons(ax_h, unique, summary["greedy_threshold"])
    _panel_decoders(ax_beam, ax_ratio, unique)
    for ax in (ax_h, ax_beam, ax_ratio):
        ax.axvline(0.5, **plotting.THEORY_STYLE, label=r"Prop. 3.1: $\pi(y^*|x)>1/2\Rightarrow$ decoded $=y^*$")
        ax.axvspan(0.5, 1.0, color="0.92", zorder=0)
        ax.set_xlim(0, 1.0)
        ax.set_xlabel(r"argmax mass $\pi(y^*(x)\,|\,x)$")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1 if ax is ax_ratio else 2)
    for ax in (ax_h, ax_beam):
        ax.set_ylim(-0.04, 1.06)
    seeds = int(table.groupby("cell_id").size().min())
    cells = table.cell_id.nunique()
    plotting.footnote(figure, f"random_tree policies (Dirichlet(1)^(1/T) conditionals), {cells} cells (|V|, H, T) × "
                      f"{seeds} prompts; exact y*(x) and π(y*|x) by enumeration. (a, b) 95% Wilson intervals per bin of "
                      "width 0.05; (c) every prompt where the decoder missed y* (exact masses).")
    figure.subplots_adjust(bottom=0.3, wspace=0.34)
    atomic_save_figure(figure, path)
    plotting.close(figure)
