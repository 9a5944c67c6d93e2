"""sft_coverage analysis: m* per (M, r) from the stored search counts, log-log slopes against C_cov, and the
figure: (a) success against samples along the theorem's ray, (b) m* against C_cov with Theorem 4.1's curve.

Theorem 3.1's lower bound is not drawn: it is a minimax bound over a hard class (Appendix H, with log|Π| and
the instance tied to C and ε), not a bound on the samples needed for one fixed instance, so a point of this
instance below its curve would contradict nothing.
"""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.measure.sft_search import cell_threshold
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner import figures as plotting

from .sweep import DELTA, EPS, NUM_RARE, RARE_MASS, RHO, family_log_class_size


def _slope(x, y) -> dict | None:
    """The log-log slope with its 95% t-interval, or None when a point is missing (m* not reached) or too few."""
    y = np.asarray(y, dtype=float)
    if len(y) < 3 or not np.all(np.isfinite(y)):
        return None
    fit = fit_loglog_slope(x, y)
    return {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}


def _prescribed(summary) -> list[dict]:
    """The cells at the theorem's ratio r = 1 (or the first ratio when r = 1 was not run)."""
    ratios = sorted({c["ratio"] for c in summary["cells"]})
    chosen = 1.0 if 1.0 in ratios else ratios[0]
    return [c for c in summary["cells"] if c["ratio"] == chosen]


def _theory_curve(coverage):
    """Theorem 4.1 (c = 1) along the family: log|Π| = (d+1) log(M+1) with M = 2(C_cov − (1 − Δ))/Δ."""
    grid = np.geomspace(np.min(coverage), np.max(coverage), 50)
    log_size = family_log_class_size(2 * (grid - (1 - RARE_MASS)) / RARE_MASS)
    return grid, theory.thm_4_1_sample_complexity(grid, log_size, EPS, DELTA, RHO)


def summarize(table) -> dict:
    target = 1 - RHO
    levels, ratios = sorted(table.num_candidates.unique()), sorted(table.ratio.unique())
    cells = []
    for ratio in ratios:
        for level in levels:
            rows = table[(table.num_candidates == level) & (table.ratio == ratio)]
            cells.append({"num_candidates": int(level), "ratio": float(ratio),
                          "coverage": float(rows.coverage.iloc[0]), **cell_threshold(rows, target)})
    summary = {"eps": EPS, "delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "rare_mass": RARE_MASS, "cells": cells}
    prescribed = _prescribed(summary)
    coverage = np.array([c["coverage"] for c in prescribed])
    m_star = [c["m_star"] for c in prescribed]
    if _slope(coverage, m_star) is not None:
        summary["slope"] = _slope(coverage, m_star)
        summary["slope_vs_rare_coverage"] = _slope(coverage - (1 - RARE_MASS), m_star)
    if len(ratios) > 1:
        best = [min((c for c in cells if c["num_candidates"] == level), key=lambda c: c["m_star"]) for level in levels]
        fit = _slope([c["coverage"] for c in best], [c["m_star"] for c in best])
        if fit is not None:
            summary["slope_best_over_ratios"] = fit
        summary["best_over_ratios"] = best
    if coverage.min() < coverage.max():  # a single coverage level has no slope
        summary["theory_slope_on_grid"] = fit_loglog_slope(*_theory_curve(coverage)).slope
    return summary


def _fit_text(fit: dict, prefix: str = "slope ") -> str:
    return f"{prefix}{fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]"


def _panel_thresholds(ax, summary) -> None:
    prescribed = _prescribed(summary)
    coverage = np.array([c["coverage"] for c in prescribed])
    label = rf"measured $m^*$, Thm 4.1 ratio $r={prescribed[0]['ratio']:g}$"
    if "slope" in summary:
        label += (f": {_fit_text(summary['slope'])}; "
                  rf"vs $C_{{cov}}-(1-\Delta)$: {_fit_text(summary['slope_vs_rare_coverage'], '')}")
    plotting.plot_thresholds(ax, coverage, prescribed, label=label)
    if "best_over_ratios" in summary:
        best = summary["best_over_ratios"]
        ratios = sorted({c["ratio"] for c in summary["cells"]})
        label = r"measured $\min_r m^*$, $r \in$ {" + ", ".join(f"{r:g}" for r in ratios) + "}"
        if "slope_best_over_ratios" in summary:
            label += f": {_fit_text(summary['slope_best_over_ratios'])}"
        plotting.plot_thresholds(ax, [c["coverage"] for c in best], best, marker="s", color="tab:orange", label=label)
    grid, curve = _theory_curve(coverage)
    label = r"Thm 4.1 (c=1), log|$\Pi$| of the family"
    if "theory_slope_on_grid" in summary:
        label += f": local slope {summary['theory_slope_on_grid']:.2f}"
    ax.plot(grid, curve, **plotting.THEORY_STYLE, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel(r"coverage coefficient $C_{cov}=E_x[1/\pi_{base}(y^*(x)|x)]$")
    ax.set_ylabel(r"samples $m^*=nN$ (sharp w.p. $\geq 1-\rho$)")
    ax.set_title(rf"(b) SFT-Sharpening: $m^*$ vs $C_{{cov}}$ ($\epsilon$={EPS}, $\delta$={DELTA}, $\rho$={RHO})",
                 fontsize=9)


def plot(summary, table, path) -> None:
    figure, (ax_curves, ax_star) = plotting.new_figure(2, width_per_panel=5.4, height=4.4)
    ratio = _prescribed(summary)[0]["ratio"]
    shown = table[table.ratio == ratio]
    coverage_of = dict(zip(shown.num_candidates, shown.coverage))
    plotting.plot_success_curves(ax_curves, shown, "num_candidates", sorted(shown.num_candidates.unique()),
                                 lambda m: rf"$C_{{cov}}$={coverage_of[m]:.3g} (M={m})", 1 - RHO,
                                 xlabel=r"samples $m = nN$ along the Thm 4.1 ray $(n,N)=s\,(n_0,N_0)$",
                                 title=rf"(a) success of SFT-Sharpening vs samples (ratio $r$={ratio:g})")
    _panel_thresholds(ax_star, summary)
    footnote = plotting.search_footnote(
        table, f"Instance: App. H rare prompts, d={NUM_RARE}, Δ=2ε, tabular class. Thm 3.1's lower bound is not "
               "drawn: it is minimax over a hard class, not a bound for this one instance.")
    plotting.finish(figure, [ax_curves, ax_star], footnote, path)
