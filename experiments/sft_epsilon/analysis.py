"""sft_epsilon analysis: each algorithm's own m* (the optimum over its allocation) and the theorem's ray per ε,
from the stored search counts; log-log slopes against ε beside the theorems' slopes on the same grid; the optimal
allocation (n*, N*) against ε. Figure: (a) SFT's allocation landscape m*(N), (b) m* against ε with Theorems 4.1
and D.1 (constants set to 1), (c) the optimal allocation.

The lower bounds of Theorems 3.1 and D.2 are not drawn: they are minimax over the hard class of Appendix H
(Δ = 16ε), not bounds on what this one instance (Δ = 2ε) needs; ``lower_bound`` measures them.
"""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.instances.rare_prompt import rare_prompt_coverage
from sharpsim.measure.sft_search import cell_summary
from sharpsim.measure.statistics import slope_against_theory, slope_record
from sharpsim.runner import figures as plotting

from .sweep import COVERAGE_SCALE, DELTA, MU, NUM_RARE, RHO

SERIES = {("sft", "optimum"): ("o", "tab:blue", "SFT-Sharpening, own optimum over (n, N)"),
          ("sft", "ray"): ("o", "lightsteelblue", "SFT-Sharpening on the Thm 4.1 ray"),
          ("adaptive", "optimum"): ("s", "tab:orange", "adaptive SFT, E[m], own optimum over (n, μ, cap)"),
          ("adaptive", "ray"): ("s", "navajowhite", "adaptive SFT, E[m], Thm D.1's n-ray at μ = ln(2/δ)")}


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


def _series(table):
    return [s for s in SERIES if ((table.algorithm == s[0]) & (table.search == s[1])).any()]


def summarize(table) -> dict:
    summary = {"delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "mu": MU, "cells": [], "slopes": {},
               "allocation_slopes": {}}
    for algorithm, search in _series(table):
        rows = table[(table.algorithm == algorithm) & (table.search == search)]
        stats = [{"algorithm": algorithm, "search": search, "eps": float(eps),
                  "coverage": float(rows[rows.eps == eps].coverage.iloc[0]),
                  **cell_summary(rows[rows.eps == eps], 1 - RHO)} for eps in sorted(rows.eps.unique())]
        summary["cells"].extend(stats)
        epsilons = np.array([s["eps"] for s in stats])
        fit = slope_against_theory(epsilons, [s["m_star"] for s in stats], theory_rate(algorithm, epsilons))
        if fit is not None:
            summary["slopes"][f"{algorithm}_{search}"] = fit
        if search == "optimum":
            for name in ("n_star", "N_star"):
                fit = slope_record(epsilons, [s[name] for s in stats])
                if fit is not None:
                    summary["allocation_slopes"][f"{algorithm}_{name}"] = fit
    return summary


def _panel_thresholds(ax, summary, table) -> None:
    for algorithm, search in _series(table):
        stats = [c for c in summary["cells"] if c["algorithm"] == algorithm and c["search"] == search]
        marker, color, label = SERIES[(algorithm, search)]
        fit = summary["slopes"].get(f"{algorithm}_{search}")
        if fit is not None:
            label += (f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}] "
                      f"(theorem on grid {fit['theory_slope_on_grid']:.2f})")
        plotting.plot_thresholds(ax, [c["eps"] for c in stats], stats, label=label, marker=marker, color=color)
    eps_grid = np.geomspace(table.eps.min(), table.eps.max(), 50)
    ax.plot(eps_grid, theory_rate("sft", eps_grid), **plotting.THEORY_STYLE,
            label=r"Thm 4.1 (c=1): $\propto \epsilon^{-2}$")
    ax.plot(eps_grid, theory_rate("adaptive", eps_grid), color="black", linestyle=":", linewidth=1.4,
            label=r"Thm D.1 (c=1): $\propto \epsilon^{-1}$")
    _eps_axis(ax, table)
    ax.set_ylabel(r"samples $m^*$ (sharp w.p. $\geq 1-\rho$)")
    ax.set_title(rf"(b) $m^*$ vs $\epsilon$ ($\delta$={DELTA}, $\rho$={RHO})", fontsize=9)


def _panel_allocation(ax, summary) -> None:
    stats = [c for c in summary["cells"] if c["algorithm"] == "sft" and c["search"] == "optimum"]
    eps = [c["eps"] for c in stats]
    for name, marker, label in (("n_star", "^", r"prompts $n^*$"), ("N_star", "v", r"samples per prompt $N^*$")):
        fit = summary["allocation_slopes"].get(f"sft_{name}")
        text = f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]" if fit else ""
        ax.plot(eps, [c[name] for c in stats], marker=marker, linestyle="-", linewidth=0.8, label=label + text)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(eps)
    plotting.plain_log_ticks(ax)
    plotting.plain_log_ticks(ax, "y")
    ax.set_xlabel(r"target error $\epsilon$")
    ax.set_ylabel("allocation at the optimum")
    ax.set_title("(c) SFT's optimal allocation (n*, N*)", fontsize=9)


def _eps_axis(ax, table) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xticks(sorted(table.eps.unique()))
    ax.set_xlabel(r"target error $\epsilon$ (instance: $\Delta=2\epsilon$, $M=\lceil 2/\epsilon\rceil$)")


def plot(summary, table, path) -> None:
    figure, (ax_profile, ax_star, ax_allocation) = plotting.new_figure(3, width_per_panel=5.0, height=5.4)
    sft = table[(table.algorithm == "sft") & (table.search == "optimum")]
    plotting.plot_allocation_profiles(ax_profile, sft, "eps", sorted(sft.eps.unique()),
                                      lambda e: rf"$\epsilon$={e:g}", 1 - RHO)
    ray_n = [c["N_star"] for c in summary["cells"] if c["algorithm"] == "sft" and c["search"] == "ray"]
    for big_n in ray_n:
        ax_profile.axvline(big_n, color="0.7", linewidth=0.6, linestyle=":")
    ax_profile.set_xlabel(r"samples per prompt $N$ (dotted: $N$ at the Thm 4.1 ray's $m^*$)")
    ax_profile.set_ylabel(r"least $m=nN$ with success $\geq 1-\rho$ at this $N$")
    ax_profile.set_title("(a) SFT's allocation landscape (ringed: optimum)", fontsize=9)
    _panel_thresholds(ax_star, summary, table)
    _panel_allocation(ax_allocation, summary)
    footnote = plotting.search_footnote(
        table, f"App. H rare prompts, d={NUM_RARE}, tabular class; adaptive m* = n·E_x E[min(N_μ(x), cap)], exact "
               "for the stopping rule of Eq. 10. Optimum interval: min over shapes of each shape's interval ends.")
    plotting.finish(figure, [ax_profile, ax_star, ax_allocation], footnote, path)
