"""sft_epsilon analysis: m* per (ε, algorithm) from the stored search counts, log-log slopes against ε beside the
theorems' slopes on the same grid, and the figure: (a) success of SFT-Sharpening against samples, (b) m* against
ε with Theorems 4.1 and D.1 and the lower bounds of Theorems 3.1 and D.2 (constants set to 1)."""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.instances.rare_prompt import rare_prompt_coverage
from sharpsim.measure.sft_search import cell_threshold
from sharpsim.measure.statistics import slope_against_theory
from sharpsim.runner import figures as plotting

from .sweep import COVERAGE_SCALE, DELTA, MU, NUM_RARE, RHO

ALGORITHMS = ("sft", "adaptive")
STYLES = {"sft": ("o", "tab:blue", "SFT-Sharpening (Thm 4.1 ray)"),
          "adaptive": ("s", "tab:orange", "adaptive SFT, E[m] (Thm D.1)")}


def family(eps):
    """(C_cov, log|Π|) of the instance at each ε with M = COVERAGE_SCALE/ε unrounded (a smooth theory curve)."""
    eps = np.asarray(eps, dtype=float)
    candidates = COVERAGE_SCALE / eps
    return rare_prompt_coverage(candidates, 2 * eps), (NUM_RARE + 1) * np.log(candidates + 1)


def theory_rate(algorithm: str, eps):
    """The theorem's rate (c = 1) on this instance family: Theorem 4.1 for SFT, Theorem D.1 for adaptive SFT."""
    coverage, log_size = family(eps)
    if algorithm == "sft":
        return theory.thm_4_1_sample_complexity(coverage, log_size, eps, DELTA, RHO)
    return theory.thm_d1_sample_complexity(coverage, log_size, eps, DELTA, RHO)


def _cells(table, algorithm: str) -> list[dict]:
    rows = table[table.algorithm == algorithm]
    return [{"algorithm": algorithm, "eps": float(eps), "coverage": float(rows[rows.eps == eps].coverage.iloc[0]),
             **cell_threshold(rows[rows.eps == eps], 1 - RHO)} for eps in sorted(rows.eps.unique())]


def summarize(table) -> dict:
    summary = {"delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "mu": MU, "cells": [], "slopes": {}}
    for algorithm in [a for a in ALGORITHMS if a in set(table.algorithm)]:
        stats = _cells(table, algorithm)
        summary["cells"].extend(stats)
        epsilons = np.array([s["eps"] for s in stats])
        m_star = np.array([s["m_star"] for s in stats])
        fit = slope_against_theory(epsilons, m_star, theory_rate(algorithm, epsilons))
        if fit is not None:
            summary["slopes"][algorithm] = fit
    return summary


def _panel_thresholds(ax, summary, table) -> None:
    for algorithm in [a for a in ALGORITHMS if a in set(table.algorithm)]:
        stats = [c for c in summary["cells"] if c["algorithm"] == algorithm]
        marker, color, label = STYLES[algorithm]
        fit = summary["slopes"].get(algorithm)
        if fit is not None:
            label += (f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}] "
                      f"(theorem on grid {fit['theory_slope_on_grid']:.2f})")
        plotting.plot_thresholds(ax, [c["eps"] for c in stats], stats, label=label, marker=marker, color=color)
    eps_grid = np.geomspace(table.eps.min(), table.eps.max(), 50)
    coverage, log_size = family(eps_grid)
    ax.plot(eps_grid, theory_rate("sft", eps_grid), **plotting.THEORY_STYLE,
            label=r"Thm 4.1 (c=1): $\propto \epsilon^{-2}$")
    ax.plot(eps_grid, theory_rate("adaptive", eps_grid), color="black", linestyle=":", linewidth=1.4,
            label=r"Thm D.1 (c=1): $\propto \epsilon^{-1}$")
    ax.plot(eps_grid, theory.thm_3_1_lower_bound(coverage, log_size, eps_grid), color="0.5", linestyle="-.",
            linewidth=1.1, label=r"Thm 3.1 minimax lower bound (c=1, shape only)")
    ax.plot(eps_grid, theory.thm_d2_lower_bound(coverage, log_size, eps_grid), color="0.65", linestyle=(0, (1, 2)),
            linewidth=1.1, label=r"Thm D.2 adaptive minimax lower bound (c=1, shape only)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xticks(sorted(table.eps.unique()))
    ax.set_xlabel(r"target error $\epsilon$ (instance: $\Delta=2\epsilon$, $M=\lceil 2/\epsilon\rceil$)")
    ax.set_ylabel(r"samples $m^*$ (sharp w.p. $\geq 1-\rho$)")
    ax.set_title(rf"(b) $m^*$ vs $\epsilon$ ($\delta$={DELTA}, $\rho$={RHO})", fontsize=9)


def plot(summary, table, path) -> None:
    figure, (ax_curves, ax_star) = plotting.new_figure(2, width_per_panel=5.4, height=4.4)
    sft_rows = table[table.algorithm == "sft"] if "sft" in set(table.algorithm) else table
    plotting.plot_success_curves(ax_curves, sft_rows, "eps", sorted(sft_rows.eps.unique()),
                                 lambda e: rf"SFT, $\epsilon$={e:g}", 1 - RHO,
                                 xlabel=r"samples $m=nN$ along the Thm 4.1 ray $(n,N)=s\,(n_0,N_0)$",
                                 title="(a) success of SFT-Sharpening vs samples")
    _panel_thresholds(ax_star, summary, table)
    footnote = plotting.search_footnote(
        table, f"App. H rare prompts, d={NUM_RARE}, tabular class, adaptive μ = ln(2/δ); "
               "adaptive m* = n·E_x E[N_μ(x)], computed exactly for the stopping rule of Eq. 10.")
    plotting.finish(figure, [ax_curves, ax_star], footnote, path)
