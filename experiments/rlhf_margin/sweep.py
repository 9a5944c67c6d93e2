"""rlhf_margin: sharpening error of offline RLHF-Sharpening at a fixed budget m against γ_margin, SFT beside it
(Theorem 4.2 / 4.2′ against Theorem 4.1).

Claim. RLHF-Sharpening needs a margin (it converts reward suboptimality into sharpness, and π*_β is only
sharp for β ≲ γ_margin), SFT-Sharpening does not (best-of-N picks y* however small the gap once y* is sampled).

Instance: ``near_tie`` with X = 4 prompts, |Y| = 32, C_cov = ``coverage``, γ_margin = ``margin``. Budget
m = ``budget`` sample-and-evaluate queries for every learner (64 or 512), tabular class:
* RLHF (Eq. 8): n = m/2 pairs, the tabular minimizer with ``tie_break="pessimistic"`` (the ``rlhf`` module
  docstring: π*_β conditioned on the sampled responses, no mass on unsampled ones; the tie-break most favorable to
  sharpness once y* is sampled); two choices of β on the same data: β = 0.05 fixed (what a practitioner would
  pick once), and β = γ_margin·δ·ε (Thm 4.2's prescription, with its unspecified constant set to 1);
* SFT: n × N = m (8 × 8 at m = 64, 16 × 32 at m = 512; ``sft_sharpen``), overlaid with its exact expected
  error (``exact_sft``).
One compilation per budget (the sample sizes are static shapes), shared by every margin and coverage.
The error is ε̂(δ) = P_{x∼μ}[π̂(y*(x)|x) < 1 − δ] with δ = 0.1, averaged over seeds (95% normal intervals).
``analysis.py`` adds the RLHF "n → ∞" line, the error of π*_β itself, computed exactly.

A note on what the tabular class shows. With r = log π_base the regression targets of Eq. 8 are noiseless, so
the tabular minimizer is π*_β conditioned on the sampled responses (``rlhf`` module docstring): its error
comes from unsampled responses (coverage) and from π*_β's own lack of sharpness when β is not small against
γ_margin. Thm 4.2's γ_margin^{-2} (a worst case over argmin ties in a general class) does not appear. The neutral
``tie_break="min_norm"`` (least-norm logits, unsampled responses at π_zero's logit 0) and a linear class where the
regression generalizes are measured in ``rlhf_margin_linear``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.algorithms.rlhf import rlhf_sharpen
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import TabularClass
from sharpsim.instances.registry import make
from sharpsim.core.oracle import Oracle
from sharpsim.referee.quantities import sharpening_error
from sharpsim.runner.experiment import Sweep
from sharpsim.core.jit import counted_jit
from sharpsim.theory.rlhf import thm_4_2_beta

NUM_PROMPTS = 4
NUM_RESPONSES = 32
SFT_SPLIT = {64: (8, 8), 512: (16, 32)}  # budget m → (n, N) for SFT with n·N = m
FIXED_BETA = 0.05
DELTA = 0.1
EPS = 0.1
SEED_BATCH = 256
# np.geomspace(0.005, 2.0, 11) written out: numpy versions differ in its last ulp, and the grid values are part of
# every stored cell's id
MARGINS = [0.005, 0.009102821015130396, 0.016572270086699935, 0.030170881682725807, 0.05492802716530588, 0.1,
           0.18205642030260796, 0.3314454017339986, 0.6034176336545162, 1.0985605433061172, 2.0]


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


SWEEP = Sweep(
    title="Offline RLHF vs SFT sharpening error at fixed m against the margin γ_margin (Thm 4.2 vs Thm 4.1)",
    claim="Thm 4.2 needs a margin (β ≲ γ_margin δ ε): RLHF degrades as γ_margin → 0; SFT (Thm 4.1) does not",
    grid={"margin": MARGINS, "coverage": [2.0, 8.0], "budget": [64, 512]},
    seeds=1000,
    settings={"num_prompts": NUM_PROMPTS, "num_responses": NUM_RESPONSES, "sft_split": SFT_SPLIT,
              "fixed_beta": FIXED_BETA, "delta": DELTA, "eps": EPS},
    seed_rows=True,
    run_cell=run_cell,
    quick_grid={"margin": [0.01, 0.1, 1.0], "coverage": [8.0], "budget": [512]},
    quick_seeds=100,
)
