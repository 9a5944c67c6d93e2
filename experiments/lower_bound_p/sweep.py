"""lower_bound_p: Thm 3.1′'s ε-exponent 1 + 1/p measured with the Bayes-optimal learners on the hard family of
Appendix H.

Claim (Thm 3.1′, γ = 1/2). For every integer p ≥ 1 there is a class with C_cov,γ,p ≲ C and log|Π| ≍ d(1 + log(C
ε^(−1/p))) on which any learner reaching E_I E P_x[π̂(y*_γ(x)|x) > 1/2] ≥ 1 − ε needs

    m ≳ C log|Π| / (ε^(1+1/p) (1 + log(C ε^(−1/p))))          (sample-and-evaluate oracle),
    E[m] ≳ C log|Π| / (ε^(1/p) (1 + log(C ε^(−1/p))))          (adaptive oracle, Def. D.1).

Instance: ``hard_parameters(C, ε, d, p)``: Δ = 16ε and the M whose C_cov,γ,p = ((1 − Δ) + (M(1 − γ))^p Δ)^(1/p) is
closest to C, so M ≍ C ε^(−1/p). The two Bayes learners of ``sharpsim.measure.hard_learners`` (the strongest
learners, so their m* is an empirical lower bound for every algorithm) are searched for m* = the smallest budget
with coordinate error ≤ ε/Δ = 1/16 (Lemma H.2), with 95% Wilson intervals per budget. Lemma H.3 predicts m* ∝ dM/Δ
∝ ε^(−(1+1/p)) and Lemma H.4 E[m]* ∝ dM ∝ ε^(−1/p), up to the log factor and M's rounding.

Compilation: shapes are padded to the largest instance of the grid, so each learner compiles once per run.
"""

from __future__ import annotations

import jax
import numpy as np

from sharpsim import theory
from sharpsim.measure.hard_learners import (TARGET_ERROR, hard_instance, measure_records, padded_shapes,
                                            with_constant_columns)
from sharpsim.runner.experiment import Sweep

LEARNERS = ("bayes", "bayes_adaptive")
COVERAGE, NUM_RARE = 4.0, 4
GRID = {"p": [1, 2, 3], "eps": [1 / 32, 1 / 48, 1 / 64, 1 / 96, 1 / 128]}
QUICK_GRID = {"p": [2], "eps": [1 / 32, 1 / 64]}
RESOLUTION = {"full": 0.08, "quick": 0.3}  # relative width of the bisection on the budget (sample_complexity)


def point(p: int, eps: float) -> dict:
    return {"coverage": COVERAGE, "eps": float(eps), "d": NUM_RARE, "p": int(p)}


def grid_shapes(grid, extra: dict | None = None) -> dict:
    """Padding for every instance of ``grid`` (so every cell shares one compilation per learner), widened for an
    ``extra`` point outside it (``sharpsim run lower_bound_p --set eps=0.001``)."""
    classes = [hard_instance(point(p, eps)) for p in grid["p"] for eps in grid["eps"]]
    return padded_shapes(classes + ([] if extra is None else [hard_instance(extra)]), LEARNERS)


def bound(model_class, eps: float, p: int, learner: str) -> float:
    """Thm 3.1′'s rate (constant 1) at the instance: non-adaptive for ``bayes``, adaptive otherwise."""
    return float(theory.thm_3_1_prime_lower_bound(model_class.coverage(p), model_class.log_size, eps, p=p,
                                                  adaptive=learner == "bayes_adaptive"))


def run_cell(params, key, seeds):
    p, eps = int(params["p"]), float(params["eps"])
    grid = QUICK_GRID if params["scale"] == "quick" else GRID
    shapes = grid_shapes(grid, point(p, eps))
    model_class = hard_instance(point(p, eps), shapes["max_rare"], shapes["max_candidates"])
    keys = jax.random.split(key, seeds)
    columns = measure_records(LEARNERS, model_class, keys, shapes, RESOLUTION[params["scale"]])
    rates = {learner: bound(model_class, eps, p, learner) for learner in LEARNERS}
    columns["bound"] = [rates[learner] for learner in columns["learner"]]
    extra = {"num_candidates": int(model_class.num_candidates), "delta": float(model_class.delta),
             "coverage_p": float(model_class.coverage(p)), "log_class_size": float(model_class.log_size)}
    return with_constant_columns(columns, extra)


SWEEP = Sweep(
    title="Thm 3.1′: the Bayes-optimal m* against ε for p = 1, 2, 3 (exponent 1 + 1/p; 1/p adaptively)",
    claim="Thm 3.1′: m ≳ C log|Π|/(ε^{1+1/p}(1+log(Cε^{−1/p}))), E[m] ≳ C log|Π|/(ε^{1/p}(…)) adaptively",
    grid={**GRID, "scale": ["full"]},
    seeds=128,
    settings={"coverage": COVERAGE, "num_rare": NUM_RARE, "grid": GRID, "quick_grid": QUICK_GRID,
              "resolution": RESOLUTION, "target_error": TARGET_ERROR},
    run_cell=run_cell,
    quick_grid={**QUICK_GRID, "scale": ["quick"]},
    quick_seeds=16,
)
