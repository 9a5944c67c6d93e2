"""sft_epsilon: measured sample complexity against ε: 1/ε² for SFT-Sharpening (Theorem 4.1), 1/ε for adaptive
SFT-Sharpening (Theorem D.1).

Claims. Theorem 4.1: at the prescribed n = c log(|Π|/ρ)/(δε), N = c C_cov log(2/δ)/ε,
m = O(C_cov log(|Π|/ρ) log(1/δ)/(δε²)). Theorem D.1: adaptive SFT (the stopping rule of Eq. 10, μ = ln(2/δ)) with
n ≳ log(|Π|/ρ)/(δε) prompts uses E[m] = n(1 + μ)C̄_cov = O(C̄_cov log(|Π|/ρ) log(1/δ)/(δε)). The lower bounds are
Theorem 3.1 (1/ε²) and Theorem D.2 (1/ε).

Instance: for each ε, ``rare_prompt_instance`` with d = 4 rare prompts of total mass Δ = 2ε and M = ⌈2/ε⌉
candidates (the scaling of Appendix H's family, M ≍ C/ε, Δ ≍ ε), so C_cov = C̄_cov = 1 − Δ + ΔM/2 ≈ 3 stays
constant while the rare prompts become rarer (n ∝ 1/ε) and their argmax harder to sample (N ∝ 1/ε). Class:
tabular.

Measured. SFT: the smallest scale s along (n, N) = s·(n₀, N₀), Theorem 4.1's prescription at c = 1, with success
≥ 1 − ρ; m* = n·N there. Adaptive: the smallest n = s·n₀ (Theorem D.1's n at c = 1) with success ≥ 1 − ρ; m* =
E[m] = n·E_x[E N_μ(x)], exact (``adaptive_hit_law``). Both simulated exactly in law (``sharpsim.referee.sft_laws``).
Expected slopes of log m* on log ε: −2 (SFT) and −1 (adaptive).
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim import theory
from sharpsim.classes import TabularClass
from sharpsim.instances.rare_prompt import rare_prompt_coverage, rare_prompt_instance
from sharpsim.measure.sft_search import RAY_UNITS, ray_point, search_adaptive, search_rows, search_sft_ray
from sharpsim.referee.sft_laws import adaptive_hit_law
from sharpsim.runner.experiment import Sweep

DELTA, RHO = 0.25, 0.1
NUM_RARE = 4
COVERAGE_SCALE = 2.0  # M = ⌈COVERAGE_SCALE/ε⌉
SMALLEST_EPS = 0.0125
MAX_RESPONSES = math.ceil(COVERAGE_SCALE / SMALLEST_EPS) + 1  # shared response padding (one compilation)
MU = math.log(2.0 / DELTA)  # Thm D.1's stopping parameter
# the largest tape the stopping rule can need: μ / (smallest response probability (1 − 2/M)/(M − 1)) at the smallest ε
MAX_CAP = math.ceil(MU * (MAX_RESPONSES - 2) / (1 - 2 / (MAX_RESPONSES - 1))) + 2


def instance_parameters(eps: float) -> tuple[int, float]:
    """(M, Δ) for this ε."""
    if eps < SMALLEST_EPS:
        raise ValueError(f"sft_epsilon supports eps ≥ {SMALLEST_EPS}, got {eps}")
    return math.ceil(COVERAGE_SCALE / eps - 1e-9), 2.0 * eps


def log_class_size(num_candidates: int) -> float:
    return (NUM_RARE + 1) * math.log(num_candidates + 1)


def max_prompts_for(prompts_unit: float) -> int:
    """Padding for the prompts: a power of two covering scale 1.5, at least 4096 (one compilation serves every
    cell with ε ≥ 0.05; smaller ε add one each)."""
    return max(4096, int(2 ** math.ceil(math.log2(1.5 * prompts_unit))))


def run_cell(params, key, seeds):
    eps, algorithm = float(params["eps"]), params["algorithm"]
    num_candidates, rare_mass = instance_parameters(eps)
    policy = rare_prompt_instance(NUM_RARE, num_candidates, rare_mass, num_responses=MAX_RESPONSES)
    coverage = rare_prompt_coverage(num_candidates, rare_mass)
    log_size = log_class_size(num_candidates)
    model_class = TabularClass.like(policy)
    keys = jax.random.split(key, seeds)
    prompts_unit = float(theory.thm_4_1_num_prompts(log_size, eps, DELTA, RHO))
    if algorithm == "sft":
        samples_unit = float(theory.thm_4_1_num_samples(coverage, eps, DELTA))
        result, _, _ = search_sft_ray(policy, model_class, keys, eps, DELTA, RHO, prompts_unit, samples_unit,
                                      max_prompts_for(prompts_unit))
        rows = search_rows(result, lambda b: ray_point(b, prompts_unit, samples_unit), lambda n, big_n: n * big_n)
    elif algorithm == "adaptive":
        cap = math.ceil(MU / float(np.min(policy.probs[policy.probs > 0]))) + 1  # never binds
        hit, expected = adaptive_hit_law(policy, MU, cap, max_cap=MAX_CAP)
        per_prompt = float(np.sum(np.asarray(policy.prompt_probs) * np.asarray(expected)))  # E_x E[N_μ(x)]
        result, _ = search_adaptive(policy, model_class, hit, keys, eps, DELTA, RHO, prompts_unit,
                                    max_prompts_for(prompts_unit))
        rows = search_rows(result, lambda b: (ray_point(b, prompts_unit, 1.0)[0], per_prompt),
                           lambda n, big_n: n * big_n)
    else:
        raise ValueError(f"algorithm must be 'sft' or 'adaptive', got {algorithm!r}")
    size = rows["budget"].size
    rows["coverage"] = np.full(size, coverage)
    rows["log_class_size"] = np.full(size, log_size)
    rows["num_candidates"] = np.full(size, num_candidates)
    return rows


SWEEP = Sweep(
    title="SFT-Sharpening: m* vs ε, slope −2 (Thm 4.1) and −1 adaptively (Thm D.1)",
    claim="Thm 4.1: m ∝ 1/ε² at the prescribed n, N; Thm D.1: E[m] ∝ 1/ε for adaptive SFT",
    grid={"eps": [0.2, 0.1, 0.05, 0.025, 0.0125], "algorithm": ["sft", "adaptive"]},
    seeds=200,
    settings={"delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "coverage_scale": COVERAGE_SCALE,
              "max_responses": MAX_RESPONSES, "mu": MU, "max_cap": MAX_CAP, "ray_units": RAY_UNITS},
    run_cell=run_cell,
    quick_grid={"eps": [0.2, 0.1, 0.05]},
    quick_seeds=64,
)
