"""lower_bound: the minimax lower bound measured on the hard family of Appendix H (Thm 3.1, 3.1′, D.2; Lemmas H.2–H.4).

Claim. On Π = {π^I : I ∈ [M]^d} with Δ = 16ε and M ≍ C/ε, no learner reaches
E_I E P_x[π̂(y^I_γ(x)|x) > 1/2] ≥ 1 − ε with fewer than m ≳ C log|Π| / (ε²(1 + log(C/ε))) samples
(Thm 3.1), or E[m] ≳ C log|Π| / (ε(1 + log(C/ε))) adaptively (Thm D.2).

What runs. Each cell is one instance (C, ε, d) ↦ (d, M, Δ) by ``hard_parameters``, on one of three sweeps (over C,
over ε, over d, the other two at ``BASE``); each seed draws I uniformly (the prior of the lower bound) and runs four
learners through the oracle (``sharpsim.measure.hard_learners``): the Bayes-optimal non-adaptive learner (budget
m), the Bayes decision with sample-until-revealed (E[m] reported), SFT-Sharpening with Prop. C.1's N and adaptive
SFT-Sharpening with μ = ln(2Δ/ε) (Lemma I.1), both fitting the MLE over their realizable classes. m* is the
smallest budget with coordinate error ≤ ε/Δ = 1/16 (Lemma H.2), searched with 95% Wilson intervals per budget,
converted to the (mean) samples used there.

Compilation: the shapes are padded to the largest instance of the sweep (``sweep_shapes``), so each learner
compiles once per sweep (``hard_learners.run_learner.trace_count``), never per budget.
"""

from __future__ import annotations

import re

import jax
import numpy as np

from sharpsim.instances.hard import DELTA_PER_EPS
from sharpsim.measure.hard_learners import (LEARNERS, hard_instance, lower_bound_rates, measure_records,
                                            padded_shapes, with_constant_columns)
from sharpsim.runner.experiment import Sweep

BASE = {"coverage": 4.0, "eps": 1 / 64, "d": 4}
SWEEPS = {"coverage": [2.0, 4.0, 8.0, 16.0], "eps": [1 / 32, 1 / 48, 1 / 64, 1 / 96, 1 / 128],
          "d": [2, 4, 8, 16, 32]}
QUICK_SWEEPS = {"coverage": [2.0, 3.0, 4.0], "eps": [1 / 32, 1 / 48, 1 / 64], "d": [1, 2, 4]}
RESOLUTION = {"full": 0.08, "quick": 0.3}  # relative width of the bisection on the budget (sample_complexity)


def point_label(axis: str, value) -> str:
    """'coverage=8', 'eps=1/128', 'd=16': the sweep over ``axis`` at ``value``, the other two at BASE."""
    if axis == "eps":
        return f"eps=1/{1 / value:g}"
    return f"{axis}={value:g}"


def parse_point(label: str) -> tuple[str, dict]:
    """(sweep axis, {coverage, eps, d}) of a point label."""
    match = re.fullmatch(r"(coverage|eps|d)=(1/)?([0-9.]+)", label)
    if match is None:
        raise ValueError(f"a lower_bound point looks like 'coverage=8', 'eps=1/128' or 'd=16', got {label!r}")
    axis, value = match[1], float(match[3])
    value = 1.0 / value if match[2] else value
    return axis, {**BASE, axis: int(value) if axis == "d" else value}


def grid_points(sweeps) -> list[str]:
    return [point_label(axis, value) for axis, values in sweeps.items() for value in values]


def sweep_shapes(axis: str, scale: str, point: dict | None = None) -> dict:
    """Static shapes shared by every cell of one sweep (``quick`` shares one set across its three small sweeps).
    A ``point`` outside the sweep (``sharpsim run lower_bound --set point=d=64``) widens the shapes to fit it;
    points inside leave them, and hence their random streams, unchanged."""
    if scale not in ("full", "quick"):
        raise ValueError(f"scale must be 'full' or 'quick', got {scale!r}")
    sweeps = SWEEPS if scale == "full" else QUICK_SWEEPS
    axes = [axis] if scale == "full" else list(sweeps)
    classes = [hard_instance(parse_point(point_label(a, v))[1]) for a in axes for v in sweeps[a]]
    return padded_shapes(classes + ([] if point is None else [hard_instance(point)]))


def run_cell(params, key, seeds):
    axis, point = parse_point(params["point"])
    shapes = sweep_shapes(axis, params["scale"], point)
    model_class = hard_instance(point, shapes["max_rare"], shapes["max_candidates"])
    keys = jax.random.split(key, seeds)
    columns = measure_records(LEARNERS, model_class, keys, shapes, RESOLUTION[params["scale"]])
    extra = {"sweep": axis, "coverage_nominal": point["coverage"], "eps": point["eps"], "d": point["d"],
             "num_candidates": int(model_class.num_candidates), "delta": float(model_class.delta),
             "coverage_actual": model_class.coverage(1), "log_class_size": model_class.log_size,
             **lower_bound_rates(model_class, point["eps"])}
    return with_constant_columns(columns, extra)


SWEEP = Sweep(
    title="Lower bound on App. H's hard family: Bayes-optimal vs SFT / adaptive SFT (Thm 3.1, 3.1', D.2)",
    claim="Thm 3.1 / D.2: m ≳ C log|Π|/(ε²(1+log(C/ε))), E[m] ≳ C log|Π|/(ε(1+log(C/ε))) for every learner",
    grid={"point": grid_points(SWEEPS), "scale": ["full"]},
    seeds=128,
    settings={"base": BASE, "sweeps": SWEEPS, "quick_sweeps": QUICK_SWEEPS, "resolution": RESOLUTION,
              "learners": list(LEARNERS), "delta_per_eps": DELTA_PER_EPS},
    run_cell=run_cell,
    quick_grid={"point": grid_points(QUICK_SWEEPS), "scale": ["quick"]},
    quick_seeds=32,
)
