"""sft_bitstring analysis: m* per coverage level from the stored search counts, the log-log slope against C_cov,
and the figure: (a) success against samples along Theorem 4.1's ray, (b) m* against C_cov with Theorem 4.1's
curve (c = 1)."""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.measure.sft_search import cell_threshold
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner import figures as plotting

from .sweep import DELTA, EPS, HORIZON, LOG_CLASS_SIZE, NUM_PROMPTS, RHO


def summarize(table) -> dict:
    cells = [{"coverage": float(c), **cell_threshold(table[table.coverage == c], 1 - RHO)}
             for c in sorted(table.coverage.unique())]
    summary = {"eps": EPS, "delta": DELTA, "rho": RHO, "horizon": HORIZON, "num_prompts": NUM_PROMPTS,
               "cells": cells}
    m_star = np.array([c["m_star"] for c in cells])
    if np.all(np.isfinite(m_star)) and len(m_star) >= 3:
        fit = fit_loglog_slope([c["coverage"] for c in cells], m_star)
        summary["slope"] = {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}
    return summary


def _panel_thresholds(ax, summary) -> None:
    coverage = np.array([c["coverage"] for c in summary["cells"]])
    label = rf"measured $m^*$ (bitstring, H={HORIZON})"
    if "slope" in summary:
        fit = summary["slope"]
        label += f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]"
    plotting.plot_thresholds(ax, coverage, summary["cells"], label=label)
    grid = np.geomspace(coverage.min(), coverage.max(), 50)
    ax.plot(grid, theory.thm_4_1_sample_complexity(grid, LOG_CLASS_SIZE, EPS, DELTA, RHO), **plotting.THEORY_STYLE,
            label="Thm 4.1 (c=1), slope 1")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel(r"coverage coefficient $C_{cov}$ (bitstring knob)")
    ax.set_ylabel(r"samples $m^*=nN$ (sharp w.p. $\geq 1-\rho$)")
    ax.set_title(rf"(b) $m^*$ vs $C_{{cov}}$ ($\epsilon$={EPS}, $\delta$={DELTA}, $\rho$={RHO})", fontsize=9)


def plot(summary, table, path) -> None:
    figure, (ax_curves, ax_star) = plotting.new_figure(2, width_per_panel=5.4, height=4.4)
    plotting.plot_success_curves(ax_curves, table, "coverage", sorted(table.coverage.unique()),
                                 lambda c: rf"$C_{{cov}}$={c:g}", 1 - RHO,
                                 xlabel=r"samples $m = nN$ along the Thm 4.1 ray $(n,N)=s\,(n_0,N_0)$",
                                 title=f"(a) SFT-Sharpening on bitstring (H={HORIZON}, X={NUM_PROMPTS})")
    _panel_thresholds(ax_star, summary)
    footnote = plotting.search_footnote(table, "Tabular class over sequences, log|Π| := X·H·log 2.",
                                        simulation="runs simulated exactly in law on the enumerated 2^H sequences")
    plotting.finish(figure, [ax_curves, ax_star], footnote, path)
