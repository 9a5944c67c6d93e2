"""lower_bound_adaptive: Thm D.2's ε-rate for the Bayes adaptive learner, down to ε = 1/1024 (Appendix H, Lemma H.4).

Claim (Thm D.2). On the hard family with Δ = 16ε and M ≍ C/ε, any learner with the adaptive oracle (Def. D.1) that
reaches E_I E P_x[π̂(y*_γ(x)|x) > 1/2] ≥ 1 − ε needs E[m] ≳ C log|Π| / (ε(1 + log(C/ε))).

What runs. One cell per ε at C = 4, d = 4 (``hard_parameters``), the ε axis of experiment ``lower_bound`` extended
eight-fold below its smallest ε = 1/128. Only the Bayes decision with sample-until-revealed (``"bayes_adaptive"`` of
``sharpsim.measure.hard_learners``) runs: it is the cheapest learner and the strongest adaptive one measured, so
its E[m]* is the empirical side of the bound. E[m]* is the mean samples used at the smallest budget (prompts n)
with coordinate error ≤ ε/Δ = 1/16 (Lemma H.2), searched with 95% Wilson intervals per budget at a finer
resolution than ``lower_bound`` and with 8× its seeds, so that local slopes between neighboring ε are resolved; the
spread of the samples used over seeds (``samples_sd``) is recorded for the intervals.

Exact reference: for this learner the coordinate error and E[m] at n prompts are closed forms
(``adaptive_bayes_exact``), so each cell also stores the exact threshold n* and E[m] there (``exact_m_star``).

Compilation: shapes are padded to the largest instance of the grid, so the learner compiles once per run.
"""

from __future__ import annotations

import jax
import numpy as np

from sharpsim import theory
from sharpsim.measure.hard_learners import (TARGET_ERROR, adaptive_bayes_threshold, hard_instance, measure_records,
                                            padded_shapes, with_constant_columns)
from sharpsim.runner.experiment import Sweep

LEARNERS = ("bayes_adaptive",)
COVERAGE, NUM_RARE = 4.0, 4
EPS = [1 / 32, 1 / 64, 1 / 128, 1 / 256, 1 / 512, 1 / 1024]
QUICK_EPS = [1 / 32, 1 / 64, 1 / 128]
RESOLUTION = {"full": 0.02, "quick": 0.1}  # relative width of the bisection on the budget (sample_complexity)


def point(eps: float) -> dict:
    return {"coverage": COVERAGE, "eps": float(eps), "d": NUM_RARE}


def grid_shapes(eps_values, extra: float | None = None) -> dict:
    """Padding for every ε of the grid (one compilation per run), widened for an ``extra`` ε outside it."""
    classes = [hard_instance(point(eps)) for eps in eps_values]
    return padded_shapes(classes + ([] if extra is None else [hard_instance(point(extra))]), LEARNERS)


def run_cell(params, key, seeds):
    eps = float(params["eps"])
    shapes = grid_shapes(QUICK_EPS if params["scale"] == "quick" else EPS, eps)
    model_class = hard_instance(point(eps), shapes["max_rare"], shapes["max_candidates"])
    keys = jax.random.split(key, seeds)
    columns = measure_records(LEARNERS, model_class, keys, shapes, RESOLUTION[params["scale"]], with_spread=True)
    exact_budget, exact_m_star = adaptive_bayes_threshold(model_class)
    coverage = model_class.coverage(1)
    extra = {"d": int(model_class.num_rare), "num_candidates": int(model_class.num_candidates),
             "delta": float(model_class.delta), "top_mass": float(model_class.top_mass),
             "coverage_actual": coverage, "log_class_size": float(model_class.log_size),
             "thm_d2": float(theory.thm_d2_lower_bound(coverage, model_class.log_size, eps)),
             "exact_budget": exact_budget, "exact_m_star": exact_m_star}
    return with_constant_columns(columns, extra)


SWEEP = Sweep(
    title="Thm D.2 down to ε = 1/1024: the Bayes adaptive learner's E[m]* and its ratio to the bound",
    claim="Thm D.2: E[m] ≳ C log|Π|/(ε(1+log(C/ε))) for every adaptive learner; does E[m]*/bound drift with ε?",
    grid={"eps": EPS, "scale": ["full"]},
    seeds=1024,
    settings={"coverage": COVERAGE, "num_rare": NUM_RARE, "eps": EPS, "quick_eps": QUICK_EPS,
              "resolution": RESOLUTION, "target_error": TARGET_ERROR, "learners": list(LEARNERS)},
    run_cell=run_cell,
    quick_grid={"eps": QUICK_EPS, "scale": ["quick"]},
    quick_seeds=64,
)
