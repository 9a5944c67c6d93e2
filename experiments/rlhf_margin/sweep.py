"""rlhf_margin: sharpening error of offline RLHF-Sharpening at a fixed budget m against γ_margin, SFT beside it
(Thm 4.2 / 4.2′ vs Thm 4.1; digest §4 item 7, §6.2 item 6).

Claim. RLHF-Sharpening needs a margin (it converts reward suboptimality into sharpness, and π*_β is only
sharp for β ≲ γ_margin), SFT-Sharpening does not (best-of-N picks y* however small the gap once y* is sampled).

Instance: ``near_tie`` with X = 4 prompts, |Y| = 32, C_cov = ``coverage``, γ_margin = ``margin``. Budget
m = ``budget`` sample-and-evaluate queries for every learner (64 or 512), tabular class:
* RLHF (Eq. 8): n = m/2 pairs; two choices of β on the same data: β = 0.05 fixed (what a practitioner would
  pick once), and β = γ_margin·δ·ε (Thm 4.2's prescription, with its unspecified constant set to 1);
* SFT: n × N = m (8 × 8 at m = 64, 16 × 32 at m = 512; ``sft_sharpen``), overlaid with its exact expected
  error (``exact_sft``).
One compilation per budget (the sample sizes are static shapes), shared by every margin and coverage.
The error is ε̂(δ) = P_{x∼μ}[π̂(y*(x)|x) < 1 − δ] with δ = 0.1, averaged over seeds (95% t-intervals).
The RLHF "n → ∞" line is the error of π*_β itself, computed exactly.

A note on what the tabular class shows. With r = log π_base the regression targets of Eq. 8 are noiseless, so
the tabular minimiser is π*_β conditioned on the sampled responses (``rlhf`` module docstring): its error
comes from unsampled responses (coverage) and from π*_β's own lack of sharpness when β is not small against
γ_margin. Thm 4.2's γ_margin^{-2} (a worst case over argmin ties in a general class) does not appear.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.runner import figures as plotting
from sharpsim.algorithms.rlhf import rlhf_sharpen
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import TabularClass
from sharpsim.referee.exact_sft import exact_sft_expected_error
from sharpsim.instances.registry import make
from sharpsim.referee.kl_regularized import power_policy
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.referee.quantities import sharpening_error
from sharpsim.measure.statistics import mean_interval
from sharpsim.runner.sweep import Experiment, atomic_save_figure, counted_jit
from sharpsim.theory.rlhf import thm_4_2_beta, thm_j2_beta

NUM_PROMPTS = 4
NUM_RESPONSES = 32
SFT_SPLIT = {64: (8, 8), 512: (16, 32)}  # budget m → (n, N) for SFT with n·N = m
FIXED_BETA = 0.05
DELTA = 0.1
EPS = 0.1
SEED_BATCH = 256


def instance(margin: float, coverage: float):
    return make("near_tie", num_prompts=NUM_PROMPTS, num_responses=NUM_RESPONSES, coverage=coverage, margin=margin)


def betas_for(margin: float) -> np.ndarray:
    """[fixed β, Thm 4.2's β = γ_margin·δ·ε]."""
    return np.array([FIXED_BETA, float(thm_4_2_beta(margin, DELTA, EPS))])


def sft_split(budget) -> tuple[int, int]:
    if int(budget) not in SFT_SPLIT:
        raise ValueError(f"rlhf_margin knows budgets {sorted(SFT_SPLIT)}, got {budget!r}")
    return SFT_SPLIT[int(budget)]


@partial(counted_jit, static_argnames=("rlhf_pairs", "sft_prompts", "sft_samples"))
def errors(policy, betas, keys, rlhf_pairs: int, sft_prompts: int, sft_samples: int):
    """Per seed: sharpening errors of RLHF at each β (same pairs) and of SFT, and the queries each used."""
    model_class = TabularClass.like(policy)

    def one_seed(key):
        key_rlhf, key_sft = jax.random.split(key)
        oracle = Oracle(policy)
        rlhf = jax.vmap(lambda beta: rlhf_sharpen(key_rlhf, oracle, model_class, rlhf_pairs, beta)[0])(betas)
        rlhf_error = jax.vmap(lambda learned: sharpening_error(learned, policy, DELTA))(rlhf.policy)
        sft, _ = sft_sharpen(key_sft, oracle, model_class, sft_prompts, sft_samples)
        sft_error = sharpening_error(sft.policy, policy, DELTA)
        return rlhf_error, sft_error, rlhf.queries.samples[0], sft.queries.samples

    return jax.lax.map(one_seed, keys, batch_size=SEED_BATCH)


def run_cell(params, key, seeds):
    policy = instance(params["margin"], params["coverage"])
    sft_prompts, sft_samples = sft_split(params["budget"])
    rlhf_error, sft_error, rlhf_samples, sft_samples = errors(
        policy, jnp.asarray(betas_for(params["margin"])), jax.random.split(key, seeds),
        rlhf_pairs=int(params["budget"]) // 2, sft_prompts=sft_prompts, sft_samples=sft_samples)
    rlhf_error = np.asarray(rlhf_error)
    return {"rlhf_fixed_beta_error": rlhf_error[:, 0], "rlhf_thm42_beta_error": rlhf_error[:, 1],
            "sft_error": sft_error, "rlhf_samples": rlhf_samples, "sft_samples": sft_samples}


@jax.jit
def _target_error(probs, prompt_probs, beta):
    policy = TabularPolicy.tree_unflatten(None, (probs, prompt_probs))
    return sharpening_error(power_policy(policy, beta), policy, DELTA)


def population_error(margins, coverage: float, beta: float) -> np.ndarray:
    """[len(margins)]: the error of π*_β itself (RLHF with every response sampled), exact."""
    policies = [instance(gm, coverage) for gm in np.atleast_1d(margins)]
    probs = jnp.stack([p.probs for p in policies])
    return np.asarray(jax.vmap(_target_error, in_axes=(0, None, None))(probs, policies[0].prompt_probs, beta))


def analyze(table, figure_path):
    budgets = sorted(int(b) for b in table.budget.unique())
    coverages = sorted(table.coverage.unique())
    figure, axes = plotting.plt.subplots(len(budgets), len(coverages), figsize=(5.4 * len(coverages),
                                                                              3.6 * len(budgets) + 1.6),
                                         squeeze=False)
    columns = [("rlhf_fixed_beta_error", f"RLHF (Eq. 8), β = {FIXED_BETA:g}, n = m/2 pairs", "o", "C0"),
               ("rlhf_thm42_beta_error", "RLHF (Eq. 8), β = γ_margin·δ·ε (Thm 4.2, c = 1)", "^", "C2"),
               ("sft_error", "SFT-Sharpening, n·N = m", "s", "C3")]
    needed = 2 * FIXED_BETA * np.log(2 * NUM_RESPONSES / DELTA)
    cells = []
    for row_axes, budget in zip(axes, budgets):
        sft_prompts, sft_samples = sft_split(budget)
        for ax, coverage in zip(row_axes, coverages):
            rows = table[(table.coverage == coverage) & (table.budget == budget)]
            margins = np.array(sorted(rows.margin.unique()))
            if len(margins) == 0:
                ax.set_axis_off()
                continue
            for column, label, marker, color in columns:
                stats = [mean_interval(rows[rows.margin == gm][column], low=0.0, high=1.0) for gm in margins]
                plotting.errorbar_points(ax, margins, [v[0] for v in stats], [v[1] for v in stats],
                                         [v[2] for v in stats], marker=marker, color=color, label=f"MC: {label}")
            dense = np.geomspace(margins.min(), margins.max(), 80)
            ax.plot(dense, population_error(dense, coverage, FIXED_BETA), color="C0", linewidth=1,
                    label=rf"exact: error of $\pi^*_\beta$ itself, β = {FIXED_BETA:g} (RLHF as n → ∞)")
            sft_exact = [float(exact_sft_expected_error(instance(gm, coverage), sft_prompts, sft_samples, DELTA))
                         for gm in margins]
            ax.plot(margins, sft_exact, color="C3", linewidth=1, label="exact: E[SFT error] (exact_sft)")
            # Thm J.2's sufficient margin for the fixed β: β ≤ γ/(2 log(2|Y|/δ)) ⇔ γ ≥ 2β log(2|Y|/δ)
            ax.axvline(needed, **plotting.THEORY_STYLE,
                       label=rf"Thm J.2: $\gamma_{{margin}}\geq 2\beta\log(2|Y|/\delta)$ makes $\pi^*_\beta$ sharp, "
                             rf"β = {FIXED_BETA:g}")
            ax.set_xscale("log")
            ax.set_ylim(-0.03, 1.05)
            ax.set_xlabel(r"margin $\gamma_{margin}$")
            ax.set_ylabel(rf"error $P_x[\hat\pi(y^*|x)<1-\delta]$, δ = {DELTA}")
            ax.set_title(rf"$C_{{cov}}$ = {coverage:g}, m = {budget} (SFT: n = {sft_prompts}, N = {sft_samples})",
                         fontsize=10)
            for gm, exact in zip(margins, sft_exact):
                cell = rows[rows.margin == gm]
                entry = {"budget": budget, "coverage": float(coverage), "margin": float(gm), "seeds": int(len(cell)),
                         "thm42_beta": float(betas_for(gm)[1]),
                         "rlhf_fixed_beta_population_error": float(population_error(gm, coverage, FIXED_BETA)[0]),
                         "sft_exact_expected_error": exact,
                         "rlhf_samples": int(cell.rlhf_samples.iloc[0]), "sft_samples": int(cell.sft_samples.iloc[0])}
                for column, _, _, _ in columns:
                    mean, low, high = mean_interval(cell[column], low=0.0, high=1.0)
                    entry[column] = {"mean": mean, "low": low, "high": high}
                cells.append(entry)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7.5, loc="lower center", ncol=2, bbox_to_anchor=(0.5, 0.045))
    seeds = int(table.groupby("cell_id").size().min())
    plotting.footnote(figure, f"Monte Carlo over {seeds} seeds per cell through the oracle (tabular class, X = "
                      f"{NUM_PROMPTS}, |Y| = {NUM_RESPONSES}, near_tie); points: mean error with 95% normal "
                      "intervals (clipped to [0, 1]; zero width: every seed gave the same error); every learner in a panel "
                      "uses the same m sample-and-evaluate queries.")
    figure.subplots_adjust(bottom=0.25, hspace=0.42, wspace=0.25)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
    return {"delta": DELTA, "eps": EPS, "fixed_beta": FIXED_BETA, "sft_split": {str(k): v for k, v in SFT_SPLIT.items()},
            "thm_j2_sufficient_margin_for_fixed_beta": float(needed),
            "thm_j2_beta_at_margin_1": float(thm_j2_beta(1.0, NUM_RESPONSES, DELTA)), "cells": cells}


EXPERIMENT = Experiment(
    name="rlhf_margin",
    title="Offline RLHF vs SFT sharpening error at fixed m against the margin γ_margin (Thm 4.2 vs Thm 4.1)",
    claim="Thm 4.2 needs a margin (β ≲ γ_margin δ ε): RLHF degrades as γ_margin → 0; SFT (Thm 4.1) does not",
    grid={"margin": [float(v) for v in np.geomspace(0.005, 2.0, 11)], "coverage": [2.0, 8.0], "budget": [64, 512]},
    seeds=1000,
    settings={"num_prompts": NUM_PROMPTS, "num_responses": NUM_RESPONSES, "sft_split": SFT_SPLIT,
              "fixed_beta": FIXED_BETA, "delta": DELTA, "eps": EPS},
    seed_rows=True,
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"margin": [0.01, 0.1, 1.0], "coverage": [8.0], "budget": [512]},
    quick_seeds=100,
)
