"""rlhf_beta: the KL-regularized target π*_β ∝ π_base^{1+1/β} against β (Eq. 3, Lemma 4.1, Theorem J.2 step 1).

Claim. π*_β sharpens as β → 0, and for γ_margin ∈ (0, 1) (Theorem J.2's range) β ≤ β_δ = γ_margin/(2 log(2|Y|/δ))
guarantees π*_β(y*(x)|x) ≥ 1 − δ/2; the miss 1 − π*_β(y*|x) is at most (|Y| − 1)(1 + γ_margin)^{−(1+1/β)}.
The margin-1 cells sit on the range's closed end (the proof's step still holds there). The margin-3 cells lie
outside the theorem: their threshold is ``sharpening_beta``'s extension, log(1 + γ_margin)/log(2|Y|/δ) (the
printed formula has no guarantee there; the summary also reports it). Lemma 4.1: C_{π*_β} ≤ C_cov and
C_{π_base/π*_β;β} ≤ |Y| for every β.

Exact, no Monte Carlo: each cell is one ``near_tie`` instance (|Y| = 64, one prompt, C_cov = ``coverage``,
γ_margin = ``margin``), and the sweep evaluates π*_β on a fixed grid of β in one jitted vmap (one compilation for
the whole sweep: every cell has the same shapes). ``analysis.py`` adds the exact critical β (bisection) per cell.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.instances.registry import make
from sharpsim.referee.kl_regularized import concentrability, power_log_probs, power_policy
from sharpsim.referee.quantities import argmax_mask
from sharpsim.runner.experiment import Sweep
from sharpsim.core.jit import counted_jit

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


def worst_miss(policy, beta: float) -> float:
    """max_x (1 − π*_β(y*(x)|x)), exact."""
    outside = np.asarray(~argmax_mask(policy))
    return float(np.max(np.sum(np.where(outside, np.asarray(power_policy(policy, beta).probs), 0.0), axis=-1)))


def critical_beta(policy, delta: float = DELTA) -> float:
    """The largest β with π*_β(y*|x) ≥ 1 − δ/2 on every prompt (exact, by bisection on log β; the miss is
    increasing in β)."""
    low, high = 1e-12, 1e6
    if worst_miss(policy, high) <= delta / 2:
        return high
    for _ in range(80):
        middle = np.sqrt(low * high)
        low, high = (middle, high) if worst_miss(policy, middle) <= delta / 2 else (low, middle)
    return low


def run_cell(params, key, seeds):
    policy = instance(params["margin"], params["coverage"])
    miss, conc, loss_conc = target_curves(policy, jnp.asarray(BETAS))
    return {"beta": BETAS, "miss": miss, "concentrability": conc, "loss_concentrability": loss_conc}


SWEEP = Sweep(
    title="Sharpness of the KL-regularized target π*_β against β, with the Thm J.2 threshold (exact)",
    claim="Thm J.2 step 1 (γ_margin ∈ (0, 1)): β ≤ γ_margin/(2 log(2|Y|/δ)) ⇒ π*_β(y*|x) ≥ 1 − δ/2 (γ_margin = 3: "
          "extension past the theorem, β ≤ log(1 + γ_margin)/log(2|Y|/δ)); Lemma 4.1: C_{π*_β} ≤ C_cov, "
          "C_{π_base/π*_β;β} ≤ |Y|",
    grid={"margin": [0.01, 0.05, 0.2, 1.0, 3.0], "coverage": [4.0, 16.0]},
    seeds=1,
    settings={"num_responses": NUM_RESPONSES, "delta": DELTA,
              "betas": {"low": float(BETAS[0]), "high": float(BETAS[-1]), "count": len(BETAS)}},
    run_cell=run_cell,
    quick_grid={"margin": [0.05, 1.0], "coverage": [4.0]},
    quick_seeds=1,
)
