"""sft_class_size analysis: m* per (d, class, search) from the stored search counts — SFT-Sharpening's own optimum
over (n, N) and n at Theorem 4.1's fixed N₀ — log-log slopes against log|Π| beside Theorem 4.1's slope on the same
grid, and the figure: (a) the optimal allocation (n*, N*) against log|Π|, (b) m* against log|Π| with Theorem 4.1
(c = 1). Theorem 3.1's minimax lower bound is not drawn: it holds over the hard class of Appendix H (Δ = 16ε), not
for this instance (Δ = 2ε)."""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.measure.sft_search import cell_summary
from sharpsim.measure.statistics import slope_against_theory, slope_record
from sharpsim.runner import figures as plotting

from .sweep import DELTA, EPS, NUM_CANDIDATES, NUM_SAMPLES, RHO

SERIES = {("product", "optimum"): ("o", "tab:blue", "product class (finite), own optimum over (n, N)"),
          ("product", "fixed_N"): ("o", "lightsteelblue", "product class, n at Thm 4.1's N₀"),
          ("tabular", "optimum"): ("s", "tab:orange", "tabular class, own optimum over (n, N)"),
          ("tabular", "fixed_N"): ("s", "navajowhite", "tabular class, n at Thm 4.1's N₀")}


def _series(table):
    return [s for s in SERIES if ((table.model_class == s[0]) & (table.search == s[1])).any()]


def _cells(table, learner: str, search: str) -> list[dict]:
    rows = table[(table.model_class == learner) & (table.search == search)]
    stats = []
    for level in sorted(rows.num_rare.unique()):
        cell = rows[rows.num_rare == level]
        stats.append({"model_class": learner, "search": search, "num_rare": int(level),
                      "log_class_size": float(cell.log_class_size.iloc[0]), **cell_summary(cell, 1 - RHO)})
    return stats


def summarize(table) -> dict:
    summary = {"eps": EPS, "delta": DELTA, "rho": RHO, "num_candidates": NUM_CANDIDATES, "num_samples": NUM_SAMPLES,
               "cells": [], "slopes": {}}
    for learner, search in _series(table):
        stats = _cells(table, learner, search)
        summary["cells"].extend(stats)
        sizes = np.array([s["log_class_size"] for s in stats])
        prescribed = theory.thm_4_1_num_prompts(sizes, EPS, DELTA, RHO)
        fit = slope_against_theory(sizes, [s["m_star"] for s in stats], prescribed)
        if fit is not None:
            summary["slopes"][f"{learner}_{search}"] = fit
        if search == "optimum":  # n* against Thm 4.1's n₀; N* against nothing (the theorem's N₀ is constant here)
            for name, fit in (("n_star", slope_against_theory(sizes, [s["n_star"] for s in stats], prescribed)),
                              ("N_star", slope_record(sizes, [s["N_star"] for s in stats]))):
                if fit is not None:
                    summary["slopes"][f"{learner}_{name}"] = fit
    return summary


def _panel_thresholds(ax, summary, table) -> None:
    for learner, search in _series(table):
        stats = [c for c in summary["cells"] if c["model_class"] == learner and c["search"] == search]
        marker, color, label = SERIES[(learner, search)]
        fit = summary["slopes"].get(f"{learner}_{search}")
        if fit is not None:
            label += (f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}] "
                      f"(theorem on grid {fit['theory_slope_on_grid']:.2f})")
        plotting.plot_thresholds(ax, [s["log_class_size"] for s in stats], stats, label=label, marker=marker,
                                 color=color)
    grid = np.geomspace(table.log_class_size.min(), table.log_class_size.max(), 50)
    ax.plot(grid, theory.thm_4_1_num_prompts(grid, EPS, DELTA, RHO) * NUM_SAMPLES, **plotting.THEORY_STYLE,
            label=r"Thm 4.1 (c=1): $n_0 N$, $n_0=\log(|\Pi|/\rho)/(\delta\epsilon)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel(r"$\log|\Pi| = (d+1)\log(M+1)$ of the product class")
    ax.set_ylabel(r"samples $m^*=n^*N^*$ (sharp w.p. $\geq 1-\rho$)")
    ax.set_title(rf"(b) $m^*$ vs class size ($\epsilon$={EPS}, $\delta$={DELTA}, $\rho$={RHO})", fontsize=9)


def _panel_allocation(ax, summary) -> None:
    for learner, marker, color in (("product", "o", "tab:blue"), ("tabular", "s", "tab:orange")):
        stats = [c for c in summary["cells"] if c["model_class"] == learner and c["search"] == "optimum"]
        if not stats:
            continue
        sizes = [c["log_class_size"] for c in stats]
        for name, linestyle, text in (("n_star", "-", "$n^*$"), ("N_star", "--", "$N^*$")):
            fit = summary["slopes"].get(f"{learner}_{name}")
            slope = f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]" if fit else ""
            ax.plot(sizes, [c[name] for c in stats], marker=marker, linestyle=linestyle, linewidth=0.8, color=color,
                    label=f"{learner}, {text}{slope}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    plotting.plain_log_ticks(ax, "y")
    ax.set_xlabel(r"$\log|\Pi| = (d+1)\log(M+1)$ of the product class")
    ax.set_ylabel("allocation at the optimum")
    ax.set_title("(a) SFT's optimal allocation: prompts n*, samples per prompt N*", fontsize=9)


def plot(summary, table, path) -> None:
    figure, (ax_allocation, ax_star) = plotting.new_figure(2, width_per_panel=5.6, height=5.2)
    _panel_allocation(ax_allocation, summary)
    _panel_thresholds(ax_star, summary, table)
    footnote = plotting.search_footnote(table, f"App. H rare prompts, M={NUM_CANDIDATES}, Δ=2ε; d rare prompts; "
                                               "the tabular class is drawn at the product class's log|Π|. "
                                               "Optimum interval: min over N of each N's interval ends.")
    plotting.finish(figure, [ax_allocation, ax_star], footnote, path)
