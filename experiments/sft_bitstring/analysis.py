"""sft_bitstring analysis: SFT-Sharpening's own m* (optimum over (n, N)) and the Theorem 4.1 ray per coverage level,
from the stored search counts; log-log slopes against C_cov and against the best-of-N scale
C_BoN = 1/(−log(1 − 1/C_cov)), the number of samples per prompt that finds y* with probability 1 − 1/e (Prop. C.1's
exact form of N ≍ C_cov: C_BoN = C_cov − 1/2 + O(1/C_cov), so its curvature at small C_cov steepens the slope
against C_cov on a grid starting at C_cov = 2). Figure: (a) the allocation landscape m*(N), (b) m* against C_cov
with Theorem 4.1's curve (c = 1)."""

from __future__ import annotations

import numpy as np

from sharpsim import theory
from sharpsim.measure.sft_search import cell_summary
from sharpsim.measure.statistics import slope_record
from sharpsim.runner import figures as plotting

from .sweep import DELTA, EPS, HORIZON, LOG_CLASS_SIZE, NUM_PROMPTS, RHO

STYLES = {"optimum": ("o", "tab:blue", r"own optimum over $(n, N)$"),
          "ray": ("s", "lightsteelblue", r"on the Thm 4.1 ray $(n,N)=s\,(n_0,N_0)$")}


def best_of_n_scale(coverage):
    """C_BoN = 1/(−log(1 − 1/C)): best-of-N with N = t·C_BoN misses a target of mass 1/C with probability e^{−t}."""
    return -1.0 / np.log1p(-1.0 / np.asarray(coverage, dtype=float))


def summarize(table) -> dict:
    summary = {"eps": EPS, "delta": DELTA, "rho": RHO, "horizon": HORIZON, "num_prompts": NUM_PROMPTS, "cells": [],
               "slopes": {}}
    for search in [s for s in STYLES if s in set(table.search)]:
        rows = table[table.search == search]
        stats = [{"coverage": float(c), "search": search, **cell_summary(rows[rows.coverage == c], 1 - RHO)}
                 for c in sorted(rows.coverage.unique())]
        summary["cells"].extend(stats)
        coverage = np.array([c["coverage"] for c in stats])
        m_star = [c["m_star"] for c in stats]
        fits = {"coverage": slope_record(coverage, m_star),
                "best_of_n_scale": slope_record(best_of_n_scale(coverage), m_star)}
        if search == "optimum":
            fits["n_star"] = slope_record(coverage, [c["n_star"] for c in stats])
            fits["N_star"] = slope_record(coverage, [c["N_star"] for c in stats])
        summary["slopes"][search] = {name: fit for name, fit in fits.items() if fit is not None}
    return summary


def _fit_text(fit) -> str:
    return f"{fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]"


def _panel_thresholds(ax, summary) -> None:
    for search, (marker, color, text) in STYLES.items():
        stats = [c for c in summary["cells"] if c["search"] == search]
        if not stats:
            continue
        fits = summary["slopes"].get(search, {})
        label = f"measured $m^*$, {text}"
        if "coverage" in fits:
            label += f": slope {_fit_text(fits['coverage'])}"
        if "best_of_n_scale" in fits:
            label += rf"; vs $C_{{BoN}}$: {_fit_text(fits['best_of_n_scale'])}"
        plotting.plot_thresholds(ax, [c["coverage"] for c in stats], stats, label=label, marker=marker, color=color)
    coverage = np.array([c["coverage"] for c in summary["cells"]])
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
    figure, (ax_profile, ax_star) = plotting.new_figure(2, width_per_panel=5.6, height=5.0)
    optimum = table[table.search == "optimum"]
    plotting.plot_allocation_profiles(ax_profile, optimum, "coverage", sorted(optimum.coverage.unique()),
                                      lambda c: rf"$C_{{cov}}$={c:g}", 1 - RHO)
    ax_profile.set_xlabel(r"samples per prompt $N$")
    ax_profile.set_ylabel(r"least $m=nN$ with success $\geq 1-\rho$ at this $N$")
    ax_profile.set_title(f"(a) allocation landscape on bitstring (H={HORIZON}, X={NUM_PROMPTS}; ringed: optimum)",
                         fontsize=9)
    _panel_thresholds(ax_star, summary)
    footnote = plotting.search_footnote(
        table, "Tabular class over sequences, log|Π| := X·H·log 2. C_BoN = 1/(−log(1−1/C_cov)) (Prop. C.1's exact "
               "best-of-N scale). Optimum interval: min over N of each N's interval ends.",
        simulation="runs simulated exactly in law on the enumerated 2^H sequences")
    plotting.finish(figure, [ax_profile, ax_star], footnote, path)
