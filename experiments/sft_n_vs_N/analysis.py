"""sft_n_vs_N analysis: the two terms of Theorem 4.1′ against the exact error. The constants of the terms are
fitted on the decaying part of the slices at the largest N (statistical term, against n) and the largest n
(coverage term, against N), with the log-log slopes there; the figure shows (a) the exact error map with the
bound's contours and the line where the two terms are equal, (b) error against n, (c) error against N."""

from __future__ import annotations

import math

import numpy as np

from sharpsim import theory
from sharpsim.measure.statistics import SlopeFit, fit_loglog_slope
from sharpsim.runner import figures as plotting

from .sweep import DELTA, LEVELS, NUM_RESPONSES, RHO, log_class_size, theory_effective

FLOOR = 1e-4  # errors below this are the exact computation's floor, not a rate
CONTOUR_LEVELS = [0.01, 0.03, 0.1, 0.3]


def _decaying(y):
    """Points on the decaying part of a slice: error in (1e-4, 0.3) and above twice the slice's floor (where the
    other term takes over)."""
    y = np.asarray(y, float)
    return (y > FLOOR) & (y < 0.3) & (y > 2 * y.min())


def _fitted_constant(error, term) -> float:
    """c minimizing the squared log distance between c·term and the error on the decaying part."""
    error, term = np.asarray(error, float), np.asarray(term, float)
    keep = _decaying(error)
    if not keep.any():
        return 1.0
    return float(np.exp(np.mean(np.log(error[keep]) - np.log(term[keep]))))


def _slope(x, y) -> dict | None:
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = _decaying(y)
    if keep.sum() < 3:
        return None
    fit = fit_loglog_slope(x[keep], y[keep])
    return {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}


def _slices(table):
    """(error against n at the largest N, error against N at the largest n)."""
    top = table[table.num_samples == table.num_samples.max()].sort_values("num_prompts")
    right = table[table.num_prompts == table.num_prompts.max()].sort_values("num_samples")
    return top, right


def summarize(table) -> dict:
    top, right = _slices(table)
    # fit where the instance still has a tail: rarer prompts (n ≤ 1/min μ ≈ 4^L) and uncovered argmaxes
    # (N ≤ 1/min p* = 2^L); beyond them every prompt is seen and covered
    in_n_tail, in_big_n_tail = top.num_prompts <= 4 ** LEVELS, right.num_samples <= 2 ** LEVELS
    return {"delta": DELTA, "rho": RHO, "levels": LEVELS, "num_responses": NUM_RESPONSES,
            "coverage": float(table.coverage.iloc[0]), "log_class_size": log_class_size(),
            "slopes": {"error_vs_n": _slope(top.num_prompts[in_n_tail], top.expected_error[in_n_tail]),
                       "error_vs_N": _slope(right.num_samples[in_big_n_tail], right.expected_error[in_big_n_tail])},
            "fitted_constants": {"statistical": _fitted_constant(top.expected_error, top.statistical_term),
                                 "coverage": _fitted_constant(right.expected_error, right.coverage_term)}}


def _panel_map(figure, ax, summary, table) -> None:
    ns, big_ns = np.sort(table.num_prompts.unique()), np.sort(table.num_samples.unique())
    grid = table.pivot_table(index="num_samples", columns="num_prompts", values="expected_error").reindex(
        index=big_ns, columns=ns).to_numpy()
    stat_c, cov_c, coverage = (summary["fitted_constants"]["statistical"], summary["fitted_constants"]["coverage"],
                               summary["coverage"])
    mesh = ax.pcolormesh(ns, big_ns, np.log10(np.maximum(grid, FLOOR)), shading="nearest", cmap="magma",
                         vmin=math.log10(FLOOR), vmax=0)
    figure.colorbar(mesh, ax=ax, label=r"$\log_{10} E[\mathrm{err}]$ (exact)")
    if len(ns) > 1 and len(big_ns) > 1:
        ax.clabel(ax.contour(ns, big_ns, grid, levels=CONTOUR_LEVELS, colors="white", linewidths=0.9), fontsize=6,
                  fmt="%g")
        n_dense, big_n_dense = np.meshgrid(np.geomspace(ns.min(), ns.max(), 80),
                                           np.geomspace(big_ns.min(), big_ns.max(), 80))
        statistical, coverage_term = theory.thm_4_1_prime_error_terms(
            log_class_size(), n_dense, theory_effective(big_n_dense), coverage, DELTA, RHO)
        ax.contour(n_dense, big_n_dense, stat_c * statistical + cov_c * coverage_term, levels=CONTOUR_LEVELS,
                   colors="cyan", linewidths=0.9, linestyles="--")
    line_n = np.geomspace(ns.min(), ns.max(), 50)
    # where c_s·log(|Π|/ρ)/(δn) = c_c·C_cov/N*, i.e. N = (c_c/c_s)·C_cov δ n log(2/δ)/log(|Π|/ρ)
    boundary = (cov_c / stat_c) * coverage * DELTA * line_n * math.log(2 / DELTA) / (log_class_size()
                                                                                     + math.log(1 / RHO))
    ax.plot(line_n, boundary, color="lime", linestyle=":", linewidth=1.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(big_ns.min(), big_ns.max())
    ax.set_xlabel("n (prompts)")
    ax.set_ylabel("N (samples per prompt)")
    ax.set_title("(a) exact E[error] of SFT (tabular)", fontsize=9)
    ax.plot([], [], color="white", label="exact E[err] contours (0.01, 0.03, 0.1, 0.3)")
    ax.plot([], [], color="cyan", linestyle="--", label="Thm 4.1′ bound (fitted c), same levels")
    ax.plot([], [], color="lime", linestyle=":", label=r"Thm 4.1′ boundary: the two terms equal (fitted c)")


def _panel_slice(ax, rows, x: str, term: str, constant: float, fit, style: dict) -> None:
    """One slice of the exact error with its fitted Theorem 4.1′ term and the slope on the decaying part."""
    ax.plot(rows[x], rows.expected_error, "o-", color=style["color"], markersize=3, label=style["label"])
    ax.plot(rows[x], constant * rows[term], **plotting.THEORY_STYLE, label=style["theory"].format(c=constant))
    if fit is not None:
        plotting.annotate_slope(ax, SlopeFit(fit["slope"], math.nan, fit["slope_low"], fit["slope_high"], 0.95),
                                style["fit"], location=(0.03, 0.1))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-5, float(rows.expected_error[rows.expected_error > 0].min()) / 3), 2)
    ax.set_xlabel(style["xlabel"])
    ax.set_ylabel(style["ylabel"])
    ax.set_title(style["title"], fontsize=9)


def plot(summary, table, path) -> None:
    figure, (ax_map, ax_n, ax_big_n) = plotting.new_figure(3, width_per_panel=4.8, height=4.4)
    top, right = _slices(table)
    _panel_map(figure, ax_map, summary, table)
    constants, slopes = summary["fitted_constants"], summary["slopes"]
    _panel_slice(ax_n, top, "num_prompts", "statistical_term", constants["statistical"], slopes["error_vs_n"], {
        "color": "tab:blue", "label": f"exact E[err], N={top.num_samples.max()}", "fit": "exact vs n",
        "theory": r"Thm 4.1′ term $c\,\log(|\Pi|/\rho)/(\delta n)$, c={c:.2g} fitted", "xlabel": "n (prompts)",
        "ylabel": r"$E[\mathrm{err}]$, err $=P_x[\hat\pi(y^*(x)|x)<1-\delta]$",
        "title": "(b) statistical term: error vs n"})
    _panel_slice(ax_big_n, right, "num_samples", "coverage_term", constants["coverage"], slopes["error_vs_N"], {
        "color": "tab:orange", "label": f"exact E[err], n={right.num_prompts.max()}", "fit": "exact vs N",
        "theory": r"Thm 4.1′ term $c\,C_{{cov}}/N^*$ ($N^*=N/\log(2/\delta)$), c={c:.2g} fitted",
        "xlabel": "N (samples per prompt)", "ylabel": r"$E[\mathrm{err}]$", "title": "(c) coverage term: error vs N"})
    footnote = (f"err = E[P_x[π̂(y*|x) < 1 − δ]], exact over the algorithm's randomness (exact_sft, tabular class), "
                f"δ={DELTA}, ρ={RHO}; two-tailed instance, X={LEVELS ** 2}, |Y|={NUM_RESPONSES}, "
                f"C_cov={summary['coverage']:.3g}, log|Π|:=X log|Y|. Slopes: least squares on the decaying part "
                "(error in [1e-4, 0.3], above twice the floor set by the other term, n ≤ 1/min μ, N ≤ 1/min p*), "
                "95% t-intervals; (b, c) theory constants fitted there; (a) theory contours and boundary use them.")
    plotting.finish(figure, [ax_map, ax_n, ax_big_n], footnote, path, wspace=0.5)
