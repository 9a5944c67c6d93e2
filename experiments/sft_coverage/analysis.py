"""sft_coverage analysis: SFT-Sharpening's own m* (optimum over (n, N)) and the Theorem 4.1 ray per instance, from
the stored search counts; log-log slopes against C_cov (and the optimum against the rare prompts' coverage
C_cov − (1 − Δ)); the optimal allocation. Figure: (a) the allocation landscape m*(N), (b) m* against C_cov with
Theorem 4.1's curve, (c) the optimal (n*, N*) against C_cov.

Theorem 3.1's lower bound is not drawn: it is a minimax bound over a hard class (Appendix H, with Δ = 16ε and
log|Π| tied to C and ε), not a bound on the samples one fixed instance needs, and this instance has Δ = 2ε.
"""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.measure.sft_search import cell_summary
from sharpsim.measure.statistics import fit_loglog_slope, slope_record
from sharpsim.runner import figures as plotting

from .sweep import DELTA, EPS, NUM_RARE, RARE_MASS, RHO, family_log_class_size

STYLES = {"optimum": ("o", "tab:blue", r"own optimum over $(n, N)$"),
          "ray": ("s", "lightsteelblue", r"on the Thm 4.1 ray $(n,N)=s\,(n_0,N_0)$")}


def _theory_curve(coverage):
    """Theorem 4.1 (c = 1) along the family: log|Π| = (d+1) log(M+1) with M = 2(C_cov − (1 − Δ))/Δ."""
    grid = np.geomspace(np.min(coverage), np.max(coverage), 50)
    log_size = family_log_class_size(2 * (grid - (1 - RARE_MASS)) / RARE_MASS)
    return grid, theory.thm_4_1_sample_complexity(grid, log_size, EPS, DELTA, RHO)


def summarize(table) -> dict:
    summary = {"eps": EPS, "delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "rare_mass": RARE_MASS, "cells": [],
               "slopes": {}}
    for search in [s for s in STYLES if s in set(table.search)]:
        rows = table[table.search == search]
        stats = [{"num_candidates": int(level), "search": search,
                  "coverage": float(rows[rows.num_candidates == level].coverage.iloc[0]),
                  **cell_summary(rows[rows.num_candidates == level], 1 - RHO)}
                 for level in sorted(rows.num_candidates.unique())]
        summary["cells"].extend(stats)
        coverage = np.array([c["coverage"] for c in stats])
        m_star = [c["m_star"] for c in stats]
        fits = {"coverage": slope_record(coverage, m_star)}
        if search == "optimum":
            fits["rare_coverage"] = slope_record(coverage - (1 - RARE_MASS), m_star)
            fits["n_star"] = slope_record(coverage, [c["n_star"] for c in stats])
            fits["N_star"] = slope_record(coverage, [c["N_star"] for c in stats])
        summary["slopes"][search] = {name: fit for name, fit in fits.items() if fit is not None}
    coverage = np.array(sorted({c["coverage"] for c in summary["cells"]}))
    if coverage.size > 1:  # a single coverage level has no slope
        summary["theory_slope_on_grid"] = fit_loglog_slope(*_theory_curve(coverage)).slope
    return summary


def _fit_text(fit: dict | None, prefix: str = "slope ") -> str:
    return "" if fit is None else f"{prefix}{fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]"


def _panel_thresholds(ax, summary) -> None:
    for search, (marker, color, text) in STYLES.items():
        stats = [c for c in summary["cells"] if c["search"] == search]
        if not stats:
            continue
        fits = summary["slopes"].get(search, {})
        label = f"measured $m^*$, {text}"
        if "coverage" in fits:
            label += f": {_fit_text(fits['coverage'])}"
        if "rare_coverage" in fits:
            label += rf"; vs $C_{{cov}}-(1-\Delta)$: {_fit_text(fits['rare_coverage'], '')}"
        plotting.plot_thresholds(ax, [c["coverage"] for c in stats], stats, label=label, marker=marker, color=color)
    coverage = [c["coverage"] for c in summary["cells"]]
    grid, curve = _theory_curve(coverage)
    label = r"Thm 4.1 (c=1), log|$\Pi$| of the family"
    if "theory_slope_on_grid" in summary:
        label += f": local slope {summary['theory_slope_on_grid']:.2f}"
    ax.plot(grid, curve, **plotting.THEORY_STYLE, label=label)
    _coverage_axis(ax)
    ax.set_ylabel(r"samples $m^*=nN$ (sharp w.p. $\geq 1-\rho$)")
    ax.set_title(rf"(b) SFT-Sharpening: $m^*$ vs $C_{{cov}}$ ($\epsilon$={EPS}, $\delta$={DELTA}, $\rho$={RHO})",
                 fontsize=9)


def _panel_allocation(ax, summary) -> None:
    stats = [c for c in summary["cells"] if c["search"] == "optimum"]
    fits = summary["slopes"].get("optimum", {})
    for name, marker, label in (("n_star", "^", r"prompts $n^*$"), ("N_star", "v", r"samples per prompt $N^*$")):
        ax.plot([c["coverage"] for c in stats], [c[name] for c in stats], marker=marker, linewidth=0.8,
                label=f"{label}: {_fit_text(fits.get(name))}")
    _coverage_axis(ax)
    plotting.plain_log_ticks(ax, "y")
    ax.set_ylabel("allocation at the optimum")
    ax.set_title("(c) SFT's optimal allocation (n*, N*)", fontsize=9)


def _coverage_axis(ax) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel(r"coverage coefficient $C_{cov}=E_x[1/\pi_{base}(y^*(x)|x)]$")


def plot(summary, table, path) -> None:
    figure, (ax_profile, ax_star, ax_allocation) = plotting.new_figure(3, width_per_panel=5.0, height=5.4)
    optimum = table[table.search == "optimum"]
    coverage_of = dict(zip(optimum.num_candidates, optimum.coverage))
    plotting.plot_allocation_profiles(ax_profile, optimum, "num_candidates", sorted(optimum.num_candidates.unique()),
                                      lambda m: rf"$C_{{cov}}$={coverage_of[m]:.3g} (M={m})", 1 - RHO)
    ax_profile.set_xlabel(r"samples per prompt $N$")
    ax_profile.set_ylabel(r"least $m=nN$ with success $\geq 1-\rho$ at this $N$")
    ax_profile.set_title("(a) SFT's allocation landscape (ringed: optimum)", fontsize=9)
    _panel_thresholds(ax_star, summary)
    _panel_allocation(ax_allocation, summary)
    footnote = plotting.search_footnote(
        table, f"Instance: App. H rare prompts, d={NUM_RARE}, Δ=2ε, tabular class. Optimum interval: min over N of "
               "each N's interval ends. Thm 3.1's lower bound is not drawn: it is minimax over a hard class with "
               "Δ=16ε, not a bound for this instance.")
    plotting.finish(figure, [ax_profile, ax_star, ax_allocation], footnote, path)
