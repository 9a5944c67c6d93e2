"""rlhf_beta analysis: per cell the Theorem J.2 threshold β_δ, the exact critical β, the miss at β_δ and the
maxima of both concentrabilities (Lemma 4.1); the three-panel figure.

β_δ is ``sharpening_beta``: Theorem J.2's printed γ_margin/(2 log(2|Y|/δ)) in the theorem's range γ_margin ∈ (0, 1)
and at its closed end γ_margin = 1 (outside the open range, flagged ``in_theorem_range`` false, but the proof's step
holds); for the margin-3 cells, outside the theorem, it is the extension log(1 + γ_margin)/log(2|Y|/δ). Each cell
also records the printed formula's value and whether it sharpens there.

Panels: (a) miss 1 − π*_β(y*) against β, with β_δ marked and Theorem J.2's bound; (b) C_{π*_β} against β with
Lemma 4.1's C_cov; (c) C_{π_base/π*_β;β} against β with Lemma 4.1's |Y|.
"""

from __future__ import annotations

import numpy as np

from sharpsim.referee.kl_regularized import sharpening_beta
from sharpsim.referee.quantities import coverage_coefficient
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure
from sharpsim.theory.rlhf import thm_j2_beta, thm_j2_target_miss_bound

from .sweep import BETAS, DELTA, NUM_RESPONSES, critical_beta, instance, worst_miss

STYLES = ["-", "--", "-.", ":"]  # one per coverage; the color is the margin


def _cells(table):
    """(margin, coverage, rows sorted by β) for every cell of the table, margins then coverages ascending."""
    for margin in sorted(table.margin.unique()):
        for coverage in sorted(table.coverage.unique()):
            rows = table[(table.margin == margin) & (table.coverage == coverage)].sort_values("beta")
            if not rows.empty:
                yield margin, coverage, rows


def _cell_summary(margin: float, coverage: float, rows) -> dict:
    policy = instance(margin, coverage)
    threshold = float(sharpening_beta(policy, DELTA))
    critical = critical_beta(policy)
    at_threshold = worst_miss(policy, threshold)
    printed = float(thm_j2_beta(margin, NUM_RESPONSES, DELTA))
    at_printed = worst_miss(policy, printed)
    return {"margin": float(margin), "coverage": float(coverage), "in_theorem_range": bool(margin < 1.0),
            "beta_threshold": threshold, "beta_printed": printed,
            "beta_critical": critical, "critical_over_threshold": critical / threshold,
            "miss_at_threshold": at_threshold, "guarantee_holds": at_threshold <= DELTA / 2,
            "miss_at_printed": at_printed, "printed_holds": at_printed <= DELTA / 2,
            "max_concentrability": float(rows.concentrability.max()),
            "coverage_computed": float(coverage_coefficient(policy)),
            "max_loss_concentrability": float(rows.loss_concentrability.max())}


def summarize(table) -> dict:
    cells = [_cell_summary(margin, coverage, rows) for margin, coverage, rows in _cells(table)]
    return {"delta": DELTA, "num_responses": NUM_RESPONSES, "cells": cells,
            "all_guarantees_hold": bool(all(c["guarantee_holds"] for c in cells))}


def _curves(axes, summary: dict, table) -> None:
    """The exact curves of every cell on the three panels, and β_δ with Theorem J.2's bound on panel (a)."""
    ax_miss, ax_conc, ax_loss = axes
    margins, coverages = sorted(table.margin.unique()), sorted(table.coverage.unique())
    colors = plotting.plt.get_cmap("viridis")
    thresholds = {(c["margin"], c["coverage"]): c["beta_threshold"] for c in summary["cells"]}
    for margin, coverage, rows in _cells(table):
        color = colors(margins.index(margin) / max(1, len(margins) - 1) * 0.85)
        style = STYLES[coverages.index(coverage) % len(STYLES)]
        label = rf"$\gamma_{{margin}}$={margin:g}, $C_{{cov}}$={coverage:g}"
        ax_miss.plot(rows.beta, np.maximum(rows.miss, 1e-300), color=color, linestyle=style, label=label)
        ax_conc.plot(rows.beta, rows.concentrability, color=color, linestyle=style, label=label)
        ax_loss.plot(rows.beta, rows.loss_concentrability, color=color, linestyle=style, label=label)
        if coverage == coverages[0]:
            beyond = margin > 1.0  # outside Theorem J.2's range: sharpening_beta's extension, drawn apart
            ax_miss.axvline(thresholds[(float(margin), float(coverage))], color=color,
                            linestyle="-." if beyond else ":", linewidth=1)
            ax_miss.plot(rows.beta, thm_j2_target_miss_bound(margin, rows.beta.to_numpy(), NUM_RESPONSES),
                         color=color, linewidth=0.8, alpha=0.6, linestyle=(0, (1, 3)))


def _decorate_miss(ax) -> None:
    ax.axhline(DELTA / 2, color="0.5", linewidth=0.8)
    ax.plot([], [], color="0.3", linestyle=":",
            label=r"Thm J.2: $\beta_\delta=\gamma_{margin}/(2\log\frac{2|Y|}{\delta})$")
    ax.plot([], [], color="0.3", linestyle="-.", linewidth=1,
            label=r"$\gamma_{margin}$=3, past Thm J.2: $\log(1+\gamma_{margin})/\log\frac{2|Y|}{\delta}$")
    ax.plot([], [], color="0.3", linestyle=(0, (1, 3)),
            label=r"Thm J.2: $(|Y|-1)(1+\gamma_{margin})^{-(1+1/\beta)}$")
    ax.plot([], [], color="0.5", linewidth=0.8, label=rf"$\delta/2$ ($\delta$={DELTA})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-12, 1.5)
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel(r"$1-\pi^*_\beta(y^*|x)$ (exact)")
    ax.set_title(r"(a) sharpness of $\pi^*_\beta\propto\pi_{base}^{1+1/\beta}$")


def _decorate_concentrability(ax_conc, ax_loss, coverages) -> None:
    for index, coverage in enumerate(coverages):
        ax_conc.axhline(coverage, color="black", linestyle=STYLES[index % len(STYLES)], linewidth=0.8)
    ax_conc.plot([], [], color="black", linewidth=0.8, label=r"Lemma 4.1: $C_{cov}$")
    ax_conc.set_xscale("log")
    ax_conc.set_xlabel(r"$\beta$")
    ax_conc.set_ylabel(r"$C_{\pi^*_\beta}=E_{\pi^*_\beta}[\pi^*_\beta/\pi_{base}]$")
    ax_conc.set_title(r"(b) concentrability of $\pi^*_\beta$ (Lemma 4.1)")
    ax_loss.axhline(NUM_RESPONSES, **plotting.THEORY_STYLE, label=rf"Lemma 4.1: $|Y|$={NUM_RESPONSES}")
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel(r"$\beta$")
    ax_loss.set_ylabel(r"$C_{\pi_{base}/\pi^*_\beta;\beta}$")
    ax_loss.set_title(r"(c) loss concentrability (Lemma 4.1)")


def plot(summary: dict, table, path) -> None:
    figure, axes = plotting.new_figure(3, height=5.2)
    _curves(axes, summary, table)
    _decorate_miss(axes[0])
    _decorate_concentrability(axes[1], axes[2], sorted(table.coverage.unique()))
    for ax in axes:
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    plotting.footnote(figure, f"Exact, no Monte Carlo: near_tie, one prompt, |Y| = {NUM_RESPONSES}, {len(BETAS)} "
                      "values of β. Verticals: β_δ per margin (dash-dotted: γ_margin = 3, past Thm J.2's range "
                      "(0, 1)); below β_δ the miss must be ≤ δ/2.")
    figure.subplots_adjust(bottom=0.36, wspace=0.32)
    atomic_save_figure(figure, path)
    plotting.close(figure)
