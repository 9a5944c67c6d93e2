"""lower_bound_allocation: SFT-Sharpening's and adaptive SFT's OWN sample complexity on the hard family of Appendix H,
against their prescribed allocations and the rates of Thm 3.1 / Thm D.2.

Claim. Thm 3.1 (Thm D.2) bounds the samples of every learner, and hence of SFT-Sharpening at its best allocation
(n, N) (adaptive SFT at its best (n, μ, cap)), from below by C log|Π| / (ε²(1 + log(C/ε))) (by the same with ε in
place of ε²). Experiment ``lower_bound`` runs both algorithms at one prescription: N_C1 = ⌈ln(2Δ/ε)/a⌉ (Prop. C.1)
and μ = ln(2Δ/ε) (Lemma I.1). Here m* = min over the allocation (``sharpsim.measure.allocation``), the
prescription kept as a second, labelled series.

What runs. On ``lower_bound``'s ε sweep and coverage sweep (C = 16 left out for run time; d = 4 at BASE), each cell is
one instance (C, ε, d) ↦ (d, M, Δ) by ``hard_parameters``; I is drawn uniformly per seed (the lower bound's prior)
and, per learner, ``search_learner_allocations`` scans the shape grid with common random numbers: SFT over
N = ⌈f·N_C1⌉, f on a √2 grid from 1/8 to 1 (below N ≈ ln 2/a the BoN class's top mass is ≤ 1/2 and no n succeeds),
adaptive SFT over μ = f·BOOST, f ∈ ``MU_FACTORS``, with the cap ⌈μ/b⌉ + 1 (Eq. 10 fires by then, so any larger cap
is the same run), searching at each shape the least n with coordinate error ≤ ε/Δ (Lemma H.2; 95% Wilson intervals
per n). m = nN for SFT and the mean samples used at n for adaptive SFT. f = 1 is the prescription.

Compilation: the prompt and sample paddings are shared by the cells of one sweep (``sweep_padding``); N and μ are
traced, so each learner compiles once per sweep.
"""

from __future__ import annotations

import math
import re

import jax
import numpy as np

from sharpsim.instances.hard import DELTA_PER_EPS
from sharpsim.measure.hard_learners import (ALLOCATION_LEARNERS, allocation_padding, allocation_shapes,
                                            hard_instance, lower_bound_rates, padded_shapes,
                                            search_learner_allocations, sft_num_samples, with_constant_columns)
from sharpsim.runner.experiment import Sweep

BASE = {"coverage": 4.0, "eps": 1 / 64, "d": 4}
SWEEPS = {"eps": [1 / 32, 1 / 48, 1 / 64, 1 / 96, 1 / 128], "coverage": [2.0, 4.0, 8.0]}
QUICK_SWEEPS = {"eps": [1 / 32, 1 / 48], "coverage": [2.0]}
N_FACTORS = [2.0 ** (-k / 2) for k in range(6, -1, -1)]  # N = ⌈f·N_C1⌉: √2 grid, N_C1/8 … N_C1
MU_FACTORS = [1 / 8, 1 / 4, 1 / 2, 1.0]  # μ = f·ln(2Δ/ε)
FACTORS = {"sft": N_FACTORS, "adaptive_sft": MU_FACTORS}
RESOLUTION = {"full": 0.15, "quick": 0.4}  # relative width of the bisection on n


def point_label(axis: str, value) -> str:
    """'coverage=8' or 'eps=1/128': the sweep over ``axis`` at ``value``, the rest at BASE."""
    if axis not in ("eps", "coverage"):
        raise ValueError(f"axis must be 'eps' or 'coverage', got {axis!r}")
    return f"eps=1/{1 / value:g}" if axis == "eps" else f"coverage={value:g}"


def parse_point(label: str) -> tuple[str, dict]:
    """(sweep axis, {coverage, eps, d}) of a point label."""
    match = re.fullmatch(r"(coverage|eps)=(1/)?([0-9.]+)", str(label))
    if match is None:
        raise ValueError(f"a lower_bound_allocation point looks like 'coverage=8' or 'eps=1/128', got {label!r}")
    value = float(match[3])
    return match[1], {**BASE, match[1]: 1.0 / value if match[2] else value}


def grid_points(sweeps) -> list[str]:
    return [point_label(axis, value) for axis, values in sweeps.items() for value in values]


def sweep_padding(axis: str, scale: str, point: dict | None = None) -> dict:
    """Paddings shared by one sweep's cells (``quick``: one set for all): max d and M, and per learner
    (prompts, samples) covering every shape of its grid; an extra ``point`` widens them to fit."""
    if scale not in ("full", "quick"):
        raise ValueError(f"scale must be 'full' or 'quick', got {scale!r}")
    sweeps = SWEEPS if scale == "full" else QUICK_SWEEPS
    axes = [axis] if scale == "full" else list(sweeps)
    classes = [hard_instance(parse_point(point_label(a, v))[1]) for a in axes for v in sweeps[a]]
    classes += [] if point is None else [hard_instance(point)]
    padding = {k: v for k, v in padded_shapes(classes, ALLOCATION_LEARNERS).items() if k.startswith("max_")}
    return {**padding, **{learner: allocation_padding(learner, classes, FACTORS[learner])
                          for learner in ALLOCATION_LEARNERS}}


def run_cell(params, key, seeds):
    axis, point = parse_point(params["point"])
    padding = sweep_padding(axis, params["scale"], point)
    model_class = hard_instance(point, padding["max_rare"], padding["max_candidates"])
    keys = jax.random.split(key, seeds)
    columns: dict[str, list] = {}
    for learner in ALLOCATION_LEARNERS:
        shapes = allocation_shapes(learner, model_class, FACTORS[learner])
        rows = search_learner_allocations(learner, model_class, keys, shapes, padding[learner],
                                          RESOLUTION[params["scale"]])
        size = rows["budget"].size
        rows.setdefault("num_samples", np.full(size, math.nan))
        rows.setdefault("mu", np.full(size, math.nan))
        rows.setdefault("cap", np.full(size, math.nan))
        rows["prompt_padding"] = np.full(size, padding[learner][0])
        rows["sample_padding"] = np.full(size, padding[learner][1])
        for name, values in rows.items():
            columns.setdefault(name, []).extend(np.asarray(values).tolist())
    extra = {"sweep": axis, "coverage_nominal": point["coverage"], "eps": point["eps"], "d": point["d"],
             "num_candidates": int(model_class.num_candidates), "delta": float(model_class.delta),
             "top_mass": float(model_class.top_mass), "N_C1": sft_num_samples(model_class),
             "coverage_actual": model_class.coverage(1), "log_class_size": model_class.log_size,
             **lower_bound_rates(model_class, point["eps"])}
    return with_constant_columns(columns, extra)


SWEEP = Sweep(
    title="SFT / adaptive SFT at their own best allocation on App. H's hard family vs prescription (Thm 3.1, D.2)",
    claim="Thm 3.1 / D.2 bound every learner, hence SFT's min over (n, N) and adaptive SFT's min over (n, μ, cap)",
    grid={"point": grid_points(SWEEPS), "scale": ["full"]},
    seeds=64,
    settings={"base": BASE, "sweeps": SWEEPS, "quick_sweeps": QUICK_SWEEPS, "factors": FACTORS,
              "resolution": RESOLUTION, "learners": list(ALLOCATION_LEARNERS), "delta_per_eps": DELTA_PER_EPS},
    run_cell=run_cell,
    quick_grid={"point": grid_points(QUICK_SWEEPS), "scale": ["quick"]},
    quick_seeds=16,
)
