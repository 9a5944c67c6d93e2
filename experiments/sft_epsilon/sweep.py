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

Measured (``search``):
* ``optimum`` — the algorithm's own m* (``measure.allocation``): SFT, the least n·N over all (n, N) with success
  ≥ 1 − ρ (N on ``samples_grid``, n searched at each up to ``prompt_padding(ε)``); adaptive SFT, the least
  E[m] = n·E_x E[min(N_μ(x), cap)] over n and the shapes (μ, cap) of ``adaptive_shapes`` (μ from ln(2/δ)/8 to
  4 ln(2/δ); cap = the never-binding cap ⌈μ/min π_base⌉ + 1, or a quarter or half of it).
* ``ray`` — the theorem's prescription, labelled as such: SFT along (n, N) = s·(n₀, N₀) (Theorem 4.1 at c = 1);
  adaptive along n = s·n₀ at Theorem D.1's μ = ln(2/δ), cap never binding.
E[N_μ] is exact (``adaptive_hit_law``). Everything is simulated exactly in law (``sharpsim.referee.sft_laws``).
Expected slopes of log m* on log ε: −2 (SFT) and −1 (adaptive).
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim import theory
from sharpsim.classes import TabularClass
from sharpsim.instances.rare_prompt import rare_prompt_coverage, rare_prompt_instance
from sharpsim.measure.sft_search import (PROMPT_PADDING_FACTOR, RAY_UNITS, SAMPLES_GRID_RATIO, prompt_padding,
                                         ray_point, search_adaptive, search_adaptive_optimum, search_rows,
                                         search_sft_cell)
from sharpsim.referee.sft_laws import adaptive_hit_law
from sharpsim.runner.experiment import Sweep

DELTA, RHO = 0.25, 0.1
NUM_RARE = 4
COVERAGE_SCALE = 2.0  # M = ⌈COVERAGE_SCALE/ε⌉
SMALLEST_EPS = 0.0125
MAX_RESPONSES = math.ceil(COVERAGE_SCALE / SMALLEST_EPS) + 1  # shared response padding (one compilation)
MU = math.log(2.0 / DELTA)  # Thm D.1's stopping parameter
MU_SCALES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)  # the optimum's μ grid, in units of Thm D.1's μ
CAP_FRACTIONS = (0.25, 0.5, 1.0)  # the optimum's caps, as fractions of the never-binding cap
# the largest tape the stopping rule can need: μ / (smallest response probability (1 − 2/M)/(M − 1)) at the smallest ε
MAX_CAP = math.ceil(max(MU_SCALES) * MU * (MAX_RESPONSES - 2) / (1 - 2 / (MAX_RESPONSES - 1))) + 2


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


def never_binding_cap(policy, mu: float) -> int:
    return math.ceil(mu / float(np.min(policy.probs[policy.probs > 0]))) + 1


def adaptive_shapes(policy) -> list[dict]:
    return [{"mu": scale * MU, "cap": max(1, math.ceil(fraction * never_binding_cap(policy, scale * MU)))}
            for scale in MU_SCALES for fraction in CAP_FRACTIONS]


def run_cell(params, key, seeds):
    eps, algorithm, search = float(params["eps"]), params["algorithm"], params["search"]
    if search not in ("optimum", "ray"):
        raise ValueError(f"search must be 'optimum' or 'ray', got {search!r}")
    num_candidates, rare_mass = instance_parameters(eps)
    policy = rare_prompt_instance(NUM_RARE, num_candidates, rare_mass, num_responses=MAX_RESPONSES)
    coverage = rare_prompt_coverage(num_candidates, rare_mass)
    log_size = log_class_size(num_candidates)
    model_class = TabularClass.like(policy)
    keys = jax.random.split(key, seeds)
    prompts_unit = float(theory.thm_4_1_num_prompts(log_size, eps, DELTA, RHO))
    if algorithm == "sft":
        samples_unit = float(theory.thm_4_1_num_samples(coverage, eps, DELTA))
        rows = search_sft_cell(search, policy, model_class, keys, eps, DELTA, RHO, prompts_unit, samples_unit,
                               max_prompts_for(prompts_unit), prompt_padding(eps))
    elif algorithm == "adaptive" and search == "optimum":
        rows = search_adaptive_optimum(policy, model_class, keys, eps, DELTA, RHO, adaptive_shapes(policy),
                                       prompt_padding(eps), MAX_CAP)
        rows["num_samples"] = rows.pop("expected_draws")
    elif algorithm == "adaptive":
        hit, expected = adaptive_hit_law(policy, MU, never_binding_cap(policy, MU), max_cap=MAX_CAP)
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
    title="SFT-Sharpening: its own m* vs ε, slope −2 (Thm 4.1) and −1 adaptively (Thm D.1)",
    claim="Thm 4.1: m ∝ 1/ε² at the prescribed n, N; Thm D.1: E[m] ∝ 1/ε for adaptive SFT",
    grid={"eps": [0.2, 0.1, 0.05, 0.025, 0.0125], "algorithm": ["sft", "adaptive"], "search": ["optimum", "ray"]},
    seeds=200,
    settings={"delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "coverage_scale": COVERAGE_SCALE,
              "max_responses": MAX_RESPONSES, "mu": MU, "max_cap": MAX_CAP, "ray_units": RAY_UNITS,
              "mu_scales": list(MU_SCALES), "cap_fractions": list(CAP_FRACTIONS),
              "samples_grid_ratio": SAMPLES_GRID_RATIO, "prompt_padding_factor": PROMPT_PADDING_FACTOR},
    run_cell=run_cell,
    quick_grid={"eps": [0.2, 0.1]},
    quick_seeds=40,
)
