"""sft_class_size analysis: m* per (d, class) from the stored search counts, log-log slopes against log|Π| beside
Theorem 4.1's slope on the same grid, and the figure: (a) success of SFT-Sharpening (product class) against
samples, (b) m* against log|Π| with Theorem 4.1 (c = 1) and the minimax lower bound of Theorem 3.1 (c = 1)."""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.measure.sft_search import cell_threshold
from sharpsim.measure.statistics import slope_against_theory
from sharpsim.runner import figures as plotting

from .sweep import COVERAGE, DELTA, EPS, NUM_CANDIDATES, NUM_SAMPLES, RHO

CLASSES = ("product", "tabular")
STYLES = {"product": ("o", "tab:blue", "product class (finite)"), "tabular": ("s", "tab:orange", "tabular class")}


def _cells(table, learner: str) -> list[dict]:
    rows = table[table.model_class == learner]
    stats = []
    for level in sorted(rows.num_rare.unique()):
        cell = rows[rows.num_rare == level]
        stats.append({"model_class": learner, "num_rare": int(level),
                      "log_class_size": float(cell.log_class_size.iloc[0]), **cell_threshold(cell, 1 - RHO)})
    return stats


def summarize(table) -> dict:
    summary = {"eps": EPS, "delta": DELTA, "rho": RHO, "num_candidates": NUM_CANDIDATES, "num_samples": NUM_SAMPLES,
               "cells": [], "slopes": {}}
    for learner in [c for c in CLASSES if c in set(table.model_class)]:
        stats = _cells(table, learner)
        summary["cells"].extend(stats)
        sizes = np.array([s["log_class_size"] for s in stats])
        m_star = np.array([s["m_star"] for s in stats])
        fit = slope_against_theory(sizes, m_star, theory.thm_4_1_num_prompts(sizes, EPS, DELTA, RHO))
        if fit is not None:
            summary["slopes"][learner] = fit
    return summary


def _panel_thresholds(ax, summary, table) -> None:
    for learner in [c for c in CLASSES if c in set(table.model_class)]:
        stats = [c for c in summary["cells"] if c["model_class"] == learner]
        marker, color, label = STYLES[learner]
        fit = summary["slopes"].get(learner)
        if fit is not None:
            label += f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]"
        plotting.plot_thresholds(ax, [s["log_class_size"] for s in stats], stats, label=label, marker=marker,
                                 color=color)
    grid = np.geomspace(table.log_class_size.min(), table.log_class_size.max(), 50)
    ax.plot(grid, theory.thm_4_1_num_prompts(grid, EPS, DELTA, RHO) * NUM_SAMPLES, **plotting.THEORY_STYLE,
            label=r"Thm 4.1 (c=1): $n_0 N$, $n_0=\log(|\Pi|/\rho)/(\delta\epsilon)$")
    ax.plot(grid, theory.thm_3_1_lower_bound(COVERAGE, grid, EPS), color="0.5", linestyle="-.", linewidth=1.1,
            label=r"Thm 3.1 minimax lower bound (c=1, shape only)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel(r"$\log|\Pi| = (d+1)\log(M+1)$ of the product class")
    ax.set_ylabel(rf"samples $m^*=n^*N$ (N={NUM_SAMPLES})")
    ax.set_title(rf"(b) $m^*$ vs class size ($\epsilon$={EPS}, $\delta$={DELTA}, $\rho$={RHO})", fontsize=9)


def plot(summary, table, path) -> None:
    figure, (ax_curves, ax_star) = plotting.new_figure(2, width_per_panel=5.4, height=4.4)
    shown = "product" if "product" in set(table.model_class) else table.model_class.iloc[0]
    rows = table[table.model_class == shown]
    plotting.plot_success_curves(ax_curves, rows, "num_rare", sorted(rows.num_rare.unique()),
                                 lambda d: f"{shown} class, d={d}", 1 - RHO,
                                 xlabel=rf"samples $m=nN$ (N={NUM_SAMPLES} fixed, n searched)",
                                 title="(a) success of SFT-Sharpening vs samples")
    _panel_thresholds(ax_star, summary, table)
    footnote = plotting.search_footnote(table, f"App. H rare prompts, M={NUM_CANDIDATES}, Δ=2ε; d rare prompts; "
                                               "the tabular class is drawn at the product class's log|Π|.")
    plotting.finish(figure, [ax_curves, ax_star], footnote, path)
