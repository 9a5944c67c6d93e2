"""rlhf_margin analysis: per cell the mean sharpening error of each learner (95% normal intervals), the exact error
of π*_β itself (RLHF as n → ∞) and SFT's exact expected error (``exact_sft``); one panel per (budget, coverage).
RLHF is the tabular minimizer with ``tie_break="pessimistic"`` (no mass on unsampled responses)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.policy import TabularPolicy
from sharpsim.measure.statistics import mean_interval
from sharpsim.referee.exact_sft import exact_sft_expected_error
from sharpsim.referee.kl_regularized import power_policy
from sharpsim.referee.quantities import sharpening_error
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure
from sharpsim.theory.rlhf import thm_j2_beta

from .sweep import DELTA, EPS, FIXED_BETA, NUM_PROMPTS, NUM_RESPONSES, SFT_SPLIT, betas_for, instance, sft_split

# (column, label, marker, color) of each learner
LEARNERS = [("rlhf_fixed_beta_error", f"RLHF (Eq. 8, pessimistic tie-break), β = {FIXED_BETA:g}, n = m/2 pairs",
              "o", "C0"),
            ("rlhf_thm42_beta_error", "RLHF (Eq. 8, pessimistic tie-break), β = γ_margin·δ·ε (Thm 4.2, c = 1)", "^",
             "C2"),
            ("sft_error", "SFT-Sharpening, n·N = m", "s", "C3")]
# Theorem J.2's sufficient margin for the fixed β: β ≤ γ/(2 log(2|Y|/δ)) ⇔ γ ≥ 2β log(2|Y|/δ)
SUFFICIENT_MARGIN = 2 * FIXED_BETA * np.log(2 * NUM_RESPONSES / DELTA)


@jax.jit
def _target_error(probs, prompt_probs, beta):
    policy = TabularPolicy.tree_unflatten(None, (probs, prompt_probs))
    return sharpening_error(power_policy(policy, beta), policy, DELTA)


def population_error(margins, coverage: float, beta: float) -> np.ndarray:
    """[len(margins)]: the error of π*_β itself (RLHF with every response sampled), exact."""
    policies = [instance(gm, coverage) for gm in np.atleast_1d(margins)]
    probs = jnp.stack([p.probs for p in policies])
    return np.asarray(jax.vmap(_target_error, in_axes=(0, None, None))(probs, policies[0].prompt_probs, beta))


def sft_exact_errors(margins, coverage: float, budget: int) -> list[float]:
    """SFT-Sharpening's exact expected error at each margin, with the (n, N) split of ``budget``."""
    sft_prompts, sft_samples = sft_split(budget)
    return [float(exact_sft_expected_error(instance(gm, coverage), sft_prompts, sft_samples, DELTA))
            for gm in margins]


def _panels(table):
    """(budget, coverage, rows, margins) per panel, budgets then coverages ascending."""
    for budget in sorted(int(b) for b in table.budget.unique()):
        for coverage in sorted(table.coverage.unique()):
            rows = table[(table.coverage == coverage) & (table.budget == budget)]
            yield budget, coverage, rows, np.array(sorted(rows.margin.unique()))


def _cell_summary(budget: int, coverage: float, margin: float, cell, sft_exact: float) -> dict:
    entry = {"budget": budget, "coverage": float(coverage), "margin": float(margin), "seeds": int(len(cell)),
             "thm42_beta": float(betas_for(margin)[1]),
             "rlhf_fixed_beta_population_error": float(population_error(margin, coverage, FIXED_BETA)[0]),
             "sft_exact_expected_error": sft_exact,
             "rlhf_samples": int(cell.rlhf_samples.iloc[0]), "sft_samples": int(cell.sft_samples.iloc[0])}
    for column, _, _, _ in LEARNERS:
        mean, low, high = mean_interval(cell[column], low=0.0, high=1.0)
        entry[column] = {"mean": mean, "low": low, "high": high}
    return entry


def summarize(table) -> dict:
    cells = []
    for budget, coverage, rows, margins in _panels(table):
        for margin, exact in zip(margins, sft_exact_errors(margins, coverage, budget)):
            cells.append(_cell_summary(budget, coverage, margin, rows[rows.margin == margin], exact))
    return {"delta": DELTA, "eps": EPS, "fixed_beta": FIXED_BETA, "rlhf_tie_break": "pessimistic",
            "sft_split": {str(k): v for k, v in SFT_SPLIT.items()},
            "thm_j2_sufficient_margin_for_fixed_beta": float(SUFFICIENT_MARGIN),
            "thm_j2_beta_at_margin_1": float(thm_j2_beta(1.0, NUM_RESPONSES, DELTA)), "cells": cells}


def _panel(ax, summary: dict, budget: int, coverage: float, margins) -> None:
    """One (budget, coverage) panel: MC errors with intervals from the summary, the exact curves, Thm J.2's margin."""
    cells = {c["margin"]: c for c in summary["cells"] if c["budget"] == budget and c["coverage"] == coverage}
    ordered = [cells[float(gm)] for gm in margins]
    for column, label, marker, color in LEARNERS:
        plotting.errorbar_points(ax, margins, [c[column]["mean"] for c in ordered], [c[column]["low"] for c in ordered],
                                 [c[column]["high"] for c in ordered], marker=marker, color=color, label=f"MC: {label}")
    dense = np.geomspace(margins.min(), margins.max(), 80)
    ax.plot(dense, population_error(dense, coverage, FIXED_BETA), color="C0", linewidth=1,
            label=rf"exact: error of $\pi^*_\beta$ itself, β = {FIXED_BETA:g} (RLHF as n → ∞)")
    ax.plot(margins, [c["sft_exact_expected_error"] for c in ordered], color="C3", linewidth=1,
            label="exact: E[SFT error] (exact_sft)")
    ax.axvline(SUFFICIENT_MARGIN, **plotting.THEORY_STYLE,
               label=rf"Thm J.2: $\gamma_{{margin}}\geq 2\beta\log(2|Y|/\delta)$ makes $\pi^*_\beta$ sharp, "
                     rf"β = {FIXED_BETA:g}")
    sft_prompts, sft_samples = sft_split(budget)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel(r"margin $\gamma_{margin}$")
    ax.set_ylabel(rf"error $P_x[\hat\pi(y^*|x)<1-\delta]$, δ = {DELTA}")
    ax.set_title(rf"$C_{{cov}}$ = {coverage:g}, m = {budget} (SFT: n = {sft_prompts}, N = {sft_samples})",
                 fontsize=10)


def plot(summary: dict, table, path) -> None:
    budgets = sorted(int(b) for b in table.budget.unique())
    coverages = sorted(table.coverage.unique())
    figure, axes = plotting.plt.subplots(len(budgets), len(coverages),
                                         figsize=(5.4 * len(coverages), 3.6 * len(budgets) + 1.6), squeeze=False)
    for ax, (budget, coverage, _, margins) in zip(axes.ravel(), _panels(table)):
        if len(margins) == 0:
            ax.set_axis_off()
            continue
        _panel(ax, summary, budget, coverage, margins)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7.5, loc="lower center", ncol=2, bbox_to_anchor=(0.5, 0.045))
    seeds = int(table.groupby("cell_id").size().min())
    plotting.footnote(figure, f"Monte Carlo over {seeds} seeds per cell through the oracle (tabular class, X = "
                      f"{NUM_PROMPTS}, |Y| = {NUM_RESPONSES}, near_tie); points: mean error with 95% normal "
                      "intervals (clipped to [0, 1]; zero width: every seed gave the same error); every learner in a "
                      "panel uses the same m sample-and-evaluate queries.")
    figure.subplots_adjust(bottom=0.25, hspace=0.42, wspace=0.25)
    atomic_save_figure(figure, path)
    plotting.close(figure)
