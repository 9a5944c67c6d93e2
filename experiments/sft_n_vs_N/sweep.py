"""sft_n_vs_N: the exact sharpening error of SFT-Sharpening over (n, N), against the two terms of Theorem 4.1′.

Claim (Theorem 4.1′). With N = N*·log(2/δ) samples per prompt and any n, w.p. ≥ 1 − ρ,

    P_x[π̂(y*(x)|x) ≤ 1 − 2δ] ≲ (1/δ)·log(|Π|/ρ)/n  +  C_cov/N*:

a statistical term (too few prompts) and a coverage term (too few samples per prompt). The error is
limited by n on one side of the line where the terms are equal, N = C_cov δ n log(2/δ)/log(|Π|/ρ), by N on the
other.

Instance ("two-tailed"): prompts x = (i, j), i, j = 1..L, with μ(x) ∝ 2^(−i−j) and π_base(y*(x)|x) = 2^(−j)
(the other |Y| − 1 responses share the rest). Under μ, P[1/π_base(y*) > t] ∝ 1/t — the Markov step of the
proof is tight, so the coverage error decays as 1/N — and the prompt masses are geometric, so the mass of
prompts seen too rarely decays as 1/n. Class: tabular, so E[error] is computed exactly (``sharpsim.referee.exact_sft``).
log|Π| := X log|Y| (the product class of deterministic rows) for the theory's statistical term.

Measured: err = E[P_x[π̂(y*(x)|x) < 1 − δ]] (the referee's sharpening error at δ), which is the theorem's left side
at δ/2. The terms are drawn at δ with constants fitted on the decaying parts, which absorb the change (a factor 2
in the statistical term, log(4/δ)/log(2/δ) in N*): only the shapes 1/n and 1/N* are tested, not the constants.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import theory
from sharpsim.core.policy import TabularPolicy
from sharpsim.referee.exact_sft import exact_sft_expected_error
from sharpsim.referee.quantities import coverage_coefficient
from sharpsim.runner.experiment import Sweep

DELTA, RHO = 0.25, 0.1
LEVELS = 6
NUM_RESPONSES = 2 ** LEVELS * 2


def instance() -> TabularPolicy:
    """The two-tailed instance: X = L² prompts, μ ∝ 2^(−i−j), π_base(y*|x) = 2^(−j), |Y| = 2^(L+1)."""
    i, j = np.meshgrid(np.arange(1, LEVELS + 1), np.arange(1, LEVELS + 1), indexing="ij")
    mu = 2.0 ** (-(i + j)).ravel()
    p_star = 2.0 ** (-j.ravel().astype(float))
    probs = np.tile(((1 - p_star) / (NUM_RESPONSES - 1))[:, None], (1, NUM_RESPONSES))
    probs[:, 0] = p_star
    return TabularPolicy(probs, mu / mu.sum())


def log_class_size() -> float:
    return LEVELS ** 2 * math.log(NUM_RESPONSES)


def run_cell(params, key, seeds):
    """Exact E[error] at n = ``num_prompts`` for every N in ``max_samples``' log grid (no randomness: seeds unused)."""
    policy = instance()
    num_prompts = int(params["num_prompts"])
    samples = np.unique(np.geomspace(1, int(params["max_samples"]), int(params["num_sample_levels"])).astype(int))
    # one compilation per n (the count axis has length n + 1): padding it to the largest n makes every cell pay for
    # n = 4096, which was tried and was slower than compiling once per n
    errors = jax.vmap(lambda big_n: exact_sft_expected_error(policy, num_prompts, big_n, DELTA))(
        jnp.asarray(samples, jnp.float64))
    coverage = float(coverage_coefficient(policy))
    statistical, coverage_term = theory.thm_4_1_prime_error_terms(
        log_class_size(), num_prompts, theory_effective(samples), coverage, DELTA, RHO)
    return {"num_samples": samples, "expected_error": np.asarray(errors),
            "statistical_term": np.broadcast_to(statistical, samples.shape).astype(float),
            "coverage_term": np.asarray(coverage_term, dtype=float), "coverage": np.full(samples.size, coverage)}


def theory_effective(samples):
    """N* = N / log(2/δ) (Thm 4.1′)."""
    return np.asarray(samples, dtype=float) / math.log(2 / DELTA)


SWEEP = Sweep(
    title="SFT-Sharpening: exact error over (n, N) and the two terms of Thm 4.1′",
    claim="Thm 4.1′: error ≲ log(|Π|/ρ)/(δn) + C_cov/N*",
    grid={"num_prompts": [2 ** k for k in range(1, 13)], "max_samples": [4096], "num_sample_levels": [25]},
    seeds=1,
    settings={"delta": DELTA, "rho": RHO, "levels": LEVELS, "num_responses": NUM_RESPONSES},
    run_cell=run_cell,
    quick_grid={"num_prompts": [8, 256], "max_samples": [512], "num_sample_levels": [7]},
    quick_seeds=1,
)
