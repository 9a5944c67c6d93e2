"""rlhf_beta: the KL-regularised target π*_β ∝ π_base^{1+1/β} against β (Eq. 3, Lemma 4.1, Thm J.2 step 1).

Claim. π*_β sharpens as β → 0, and β ≤ β_δ = γ_margin/(2 log(2|Y|/δ)) guarantees π*_β(y*(x)|x) ≥ 1 − δ/2 (for
γ_margin ≤ 2.513; ``sharpening_beta`` uses log(1 + γ_margin) in place of γ_margin/2 above that, where the paper's
proof step fails: the margin-3 cell); the
miss 1 − π*_β(y*|x) is at most (|Y| − 1)(1 + γ_margin)^{−(1+1/β)}. Lemma 4.1: C_{π*_β} ≤ C_cov and
C_{π_base/π*_β;β} ≤ |Y| for every β.

Exact, no Monte Carlo: each cell is one ``near_tie`` instance (|Y| = 64, one prompt, C_cov = ``coverage``,
γ_margin = ``margin``), and the sweep evaluates π*_β on a fixed grid of β in one jitted vmap (one
compilation for the whole sweep: every cell has the same shapes).

Panels: (a) miss 1 − π*_β(y*) against β, with β_δ marked and Thm J.2's bound; (b) C_{π*_β} against β with
Lemma 4.1's C_cov; (c) C_{π_base/π*_β;β} against β with Lemma 4.1's |Y|.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.runner import figures as plotting
from sharpsim.instances.registry import make
from sharpsim.referee.kl_regularized import concentrability, power_log_probs, power_policy, sharpening_beta
from sharpsim.referee.quantities import argmax_mask, coverage_coefficient
from sharpsim.runner.sweep import Experiment, atomic_save_figure, counted_jit
from sharpsim.theory.rlhf import thm_j2_target_miss_bound

NUM_RESPONSES = 64
DELTA = 0.1
BETAS = np.geomspace(1e-4, 1e2, 121)


def instance(margin: float, coverage: float):
    return make("near_tie", num_prompts=1, num_responses=NUM_RESPONSES, coverage=coverage, margin=margin)


@counted_jit
def target_curves(policy, betas):
    """Per β: miss 1 − π*_β(y*) (summed over non-argmax responses, no cancellation), C_{π*_β}, C_{π_base/π*_β;β}."""
    outside = ~argmax_mask(policy)

    def one(beta):
        target = power_policy(policy, beta)
        miss = jnp.sum(policy.prompt_probs * jnp.sum(jnp.where(outside, target.probs, 0.0), axis=-1))
        # C_{π_base/π*_β;β} = E Σ π_base·exp(β(log π_base − log π*_β)), from log π*_β: at tiny β the
        # probabilities of π*_β underflow to 0 and the ratio would read inf
        base_probs = policy.probs
        log_ratio = jnp.where(base_probs > 0, jnp.log(jnp.where(base_probs > 0, base_probs, 1.0))
                              - power_log_probs(policy, beta), 0.0)
        loss_conc = jnp.sum(policy.prompt_probs * jnp.sum(base_probs * jnp.exp(beta * log_ratio), axis=-1))
        return miss, concentrability(target, policy), loss_conc

    return jax.vmap(one)(betas)


def critical_beta(policy, delta: float = DELTA) -> float:
    """The largest β with π*_β(y*|x) ≥ 1 − δ/2 on every prompt (exact, by bisection on log β; the miss is
    increasing in β)."""
    outside = np.asarray(~argmax_mask(policy))

    def miss(beta):
        return float(np.max(np.sum(np.where(outside, np.asarray(power_policy(policy, beta).probs), 0.0), axis=-1)))

    low, high = 1e-12, 1e6
    if miss(high) <= delta / 2:
        return high
    for _ in range(80):
        middle = np.sqrt(low * high)
        low, high = (middle, high) if miss(middle) <= delta / 2 else (low, middle)
    return low


def run_cell(params, key, seeds):
    policy = instance(params["margin"], params["coverage"])
    miss, conc, loss_conc = target_curves(policy, jnp.asarray(BETAS))
    return {"beta": BETAS, "miss": miss, "concentrability": conc, "loss_concentrability": loss_conc}


def analyze(table, figure_path):
    figure, (ax_miss, ax_conc, ax_loss) = plotting.new_figure(3, height=5.2)
    colors = plotting.plt.get_cmap("viridis")
    margins = sorted(table.margin.unique())
    coverages = sorted(table.coverage.unique())
    cells, styles = [], ["-", "--", "-.", ":"]
    for i, gm in enumerate(margins):
        color = colors(i / max(1, len(margins) - 1) * 0.85)
        for j, cov in enumerate(coverages):
            rows = table[(table.margin == gm) & (table.coverage == cov)].sort_values("beta")
            if rows.empty:
                continue
            policy = instance(gm, cov)
            threshold = float(sharpening_beta(policy, DELTA))
            critical = critical_beta(policy)
            at_threshold = float(np.max(np.sum(np.where(np.asarray(argmax_mask(policy)), 0.0,
                                                         np.asarray(power_policy(policy, threshold).probs)), axis=-1)))
            cells.append({"margin": float(gm), "coverage": float(cov), "beta_threshold": threshold,
                          "beta_critical": critical, "critical_over_threshold": critical / threshold,
                          "miss_at_threshold": at_threshold, "guarantee_holds": at_threshold <= DELTA / 2,
                          "max_concentrability": float(rows.concentrability.max()),
                          "coverage_computed": float(coverage_coefficient(policy)),
                          "max_loss_concentrability": float(rows.loss_concentrability.max())})
            style = styles[j % len(styles)]
            label = rf"$\gamma_{{margin}}$={gm:g}, $C_{{cov}}$={cov:g}"
            ax_miss.plot(rows.beta, np.maximum(rows.miss, 1e-300), color=color, linestyle=style, label=label)
            ax_conc.plot(rows.beta, rows.concentrability, color=color, linestyle=style, label=label)
            ax_loss.plot(rows.beta, rows.loss_concentrability, color=color, linestyle=style, label=label)
            if j == 0:
                ax_miss.axvline(threshold, color=color, linestyle=":", linewidth=1)
                ax_miss.plot(rows.beta, thm_j2_target_miss_bound(gm, rows.beta.to_numpy(), NUM_RESPONSES),
                             color=color, linewidth=0.8, alpha=0.6, linestyle=(0, (1, 3)))
    ax_miss.axhline(DELTA / 2, color="0.5", linewidth=0.8)
    ax_miss.plot([], [], color="0.3", linestyle=":", label=r"Thm J.2: $\beta_\delta=\min(\gamma_{margin}/2,\log(1+\gamma_{margin}))/\log(2|Y|/\delta)$")
    ax_miss.plot([], [], color="0.3", linestyle=(0, (1, 3)), label=r"Thm J.2: $(|Y|-1)(1+\gamma_{margin})^{-(1+1/\beta)}$")
    ax_miss.plot([], [], color="0.5", linewidth=0.8, label=rf"$\delta/2$ ($\delta$={DELTA})")
    ax_miss.set_xscale("log")
    ax_miss.set_yscale("log")
    ax_miss.set_ylim(1e-12, 1.5)
    ax_miss.set_xlabel(r"$\beta$")
    ax_miss.set_ylabel(r"$1-\pi^*_\beta(y^*|x)$ (exact)")
    ax_miss.set_title(r"(a) sharpness of $\pi^*_\beta\propto\pi_{base}^{1+1/\beta}$")
    for j, cov in enumerate(coverages):
        ax_conc.axhline(cov, color="black", linestyle=styles[j % len(styles)], linewidth=0.8)
    ax_conc.plot([], [], color="black", linewidth=0.8, label=r"Lemma 4.1: $C_{cov}$")
    ax_conc.set_xscale("log")
    ax_conc.set_xlabel(r"$\beta$")
    ax_conc.set_ylabel(r"$C_{\pi^*_\beta}=E_{\pi^*_\beta}[\pi^*_\beta/\pi_{base}]$")
    ax_conc.set_title(r"(b) concentrability of $\pi^*_\beta$ (Lemma 4.1)")
    ax_loss.axhline(NUM_RESPONSES, **plotting.THEORY_STYLE, label=rf"Lemma 4.1: $|Y|$={NUM_RESPONSES}")
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel(r"$\beta$")
    ax_loss.set_ylabel(r"$C_{\pi_{base}/\pi^*_\beta;\beta}$")
    ax_loss.set_title(r"(c) loss concentrability (Lemma 4.1)")
    for ax in (ax_miss, ax_conc, ax_loss):
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    plotting.footnote(figure, f"Exact computation (no Monte Carlo) on near_tie instances with one prompt and "
                      f"|Y| = {NUM_RESPONSES}; {len(BETAS)} values of β. Dotted verticals: the Thm J.2 threshold "
                      "β_δ per margin; below it the miss must be ≤ δ/2.")
    figure.subplots_adjust(bottom=0.36, wspace=0.32)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
    return {"delta": DELTA, "num_responses": NUM_RESPONSES, "cells": cells,
            "all_guarantees_hold": bool(all(c["guarantee_holds"] for c in cells))}


EXPERIMENT = Experiment(
    name="rlhf_beta",
    title="Sharpness of the KL-regularised target π*_β against β, with the Thm J.2 threshold (exact)",
    claim="Thm J.2 step 1: β ≤ γ_margin/(2 log(2|Y|/δ)) ⇒ π*_β(y*|x) ≥ 1 − δ/2; Lemma 4.1: C_{π*_β} ≤ C_cov, "
          "C_{π_base/π*_β;β} ≤ |Y|",
    grid={"margin": [0.01, 0.05, 0.2, 1.0, 3.0], "coverage": [4.0, 16.0]},
    seeds=1,
    settings={"num_responses": NUM_RESPONSES, "delta": DELTA,
              "betas": {"low": float(BETAS[0]), "high": float(BETAS[-1]), "count": len(BETAS)}},
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"margin": [0.05, 1.0], "coverage": [4.0]},
    quick_seeds=1,
)
