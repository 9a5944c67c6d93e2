"""rlhf_margin_linear: offline RLHF-Sharpening's own sample complexity m* against γ_margin at fixed C_cov, in a
linear softmax class where the regression generalizes (Theorem 4.2: m = Õ(C_conc log³(C_loss|Π|/ρ)/(γ_margin² δ² ε²))).

Claim checked. Theorem 4.2 pays γ_margin^{-2}: the proof converts the regret J(π*) − J(π̂) ≲ √C_conc·ε_stat + β log C_conc
into sharpness through J(π*) − J(π̂) ≳ γ_margin·δ·P_x[π̂(y*|x) ≤ 1 − δ], and ε_stat ∝ n^{-1/2}.

Instance: ``linear_margin`` (``sharpsim/instances/linear_margin.py``): one prompt, |Y| = ``NUM_RESPONSES``,
C_cov = ``COVERAGE`` (needle profile, runner-up at ratio 1 + γ_margin), features φ(y) = (log π_base(y), σ·z_y) with
k nuisance coordinates (k = ``nuisance_dimension``, σ = ``NUISANCE_SCALE``), so d = 1 + k < |Y|. The class is
realizable (π*_β = π_{(1+1/β)e_1}, B = 1e10).

Learner: Eq. 8 over Π_{φ,B} with the minimum-norm tie-break (``linear_rlhf_min_norm_fit``: pseudo-inverse; the limit
of projected gradient from θ = 0 when the ball does not bind), n pairs, m = 2n samples. Two β:
* ``thm42``: β = γ_margin·δ·ε (Theorem 4.2's prescription, constant 1);
* ``best``: β = ``BEST_BETA`` (1e-6). For the minimum-norm fit θ̂(β) = (1 + 1/β)·θ̂(∞-scale) is a positive multiple of one
  vector, so π̂(y*) is non-increasing in β whenever y* is the argmax of the fitted logits and < 1 − δ for every β
  otherwise: the smallest β the class realizes is the algorithm's best, and 1e-6 is its limit to the precision shown.
Success: π̂(y*) ≥ 1 − δ (the single prompt makes (ε, δ)-sharpness "sharp at x"); m* = 2·n*, n* from
``complexity.sample_complexity`` (integer grid, 95% Wilson intervals per budget, common random numbers, ρ).
"""

from __future__ import annotations

import jax
import numpy as np

from sharpsim.instances.linear_margin import linear_margin
from sharpsim.measure.complexity import sample_complexity
from sharpsim.measure.rlhf_engine import offline_rlhf_min_norm_success
from sharpsim.runner.experiment import Sweep
from sharpsim.theory.rlhf import thm_4_2_beta

NUM_RESPONSES = 128
COVERAGE = 8.0
NUISANCE_SCALE = 3.0
DELTA = 0.1
EPS = 0.1
RHO = 0.1
BEST_BETA = 1e-6
PAIRS_PER_DIMENSION = 4  # n_max = 4·d: far above the d pairs that identify θ exactly
# np.geomspace(0.005, 2.0, 9) written out (the grid values are part of every cell id)
MARGINS = [0.005, 0.01057371263440564, 0.022360679774997897, 0.047287080450158794, 0.1, 0.21147425268811282,
           0.4472135954999579, 0.9457416090031758, 2.0]


def instance(margin: float, nuisance_dimension: int):
    return linear_margin(num_responses=NUM_RESPONSES, coverage=COVERAGE, margin=margin,
                         nuisance_dimension=nuisance_dimension, nuisance_scale=NUISANCE_SCALE)


def beta_for(rule: str, margin: float) -> float:
    if rule == "thm42":
        return float(thm_4_2_beta(margin, DELTA, EPS))
    if rule == "best":
        return BEST_BETA
    raise ValueError(f"beta_rule must be 'thm42' or 'best', got {rule!r}")


def run_cell(params, key, seeds):
    margin, dimension, rule = float(params["margin"]), int(params["nuisance_dimension"]), params["beta_rule"]
    problem = instance(margin, dimension)
    beta = beta_for(rule, margin)
    max_pairs = PAIRS_PER_DIMENSION * problem.dimension
    inside = []

    def success(keys, pairs):
        hit, _, in_ball = offline_rlhf_min_norm_success(problem.policy, problem.model_class, keys, beta,
                                                        problem.optimum, pairs, max_pairs, DELTA)
        inside.append(bool(np.all(np.asarray(in_ball))))
        return np.asarray(hit)

    result = sample_complexity(success, jax.random.split(key, seeds), RHO, initial_budget=problem.dimension,
                               max_budget=max_pairs, grid="integer")
    columns = result.records()
    for name in ("budget", "threshold_estimate", "threshold_lower", "threshold_upper"):
        columns[name] = 2 * np.asarray(columns[name], dtype=float)  # pairs → samples m = 2n
    size = len(columns["budget"])
    for name, value in {"beta": beta, "dimension": problem.dimension, "coverage": problem.coverage,
                        "fit_inside_ball": float(all(inside))}.items():
        columns[name] = np.full(size, value, dtype=float)
    return columns


SWEEP = Sweep(
    title="Offline RLHF (Eq. 8, min-norm tie-break) on a linear softmax class: m* vs γ_margin at fixed C_cov",
    claim="Thm 4.2: m = Õ(C_conc log³(C_loss|Π|/ρ)/(γ_margin² δ² ε²)), i.e. slope −2 in γ_margin",
    grid={"margin": MARGINS, "nuisance_dimension": [4, 16, 48], "beta_rule": ["thm42", "best"]},
    seeds=200,
    settings={"num_responses": NUM_RESPONSES, "coverage": COVERAGE, "nuisance_scale": NUISANCE_SCALE, "delta": DELTA,
              "eps": EPS, "rho": RHO, "best_beta": BEST_BETA, "pairs_per_dimension": PAIRS_PER_DIMENSION},
    run_cell=run_cell,
    quick_grid={"margin": [0.01, 0.1, 1.0], "nuisance_dimension": [4], "beta_rule": ["thm42"]},
    quick_seeds=40,
)
