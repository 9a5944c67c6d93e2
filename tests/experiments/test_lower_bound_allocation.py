"""lower_bound_allocation: point labels and paddings, the analysis against numpy on a synthetic table, bad input,
and (slow) the quick sweep end to end."""

import math

import numpy as np
import pandas as pd
import pytest

from sharpsim.measure import hard_learners
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import default_layout, run_experiment

FOLDER = "experiments/lower_bound_allocation"
sweep = experiment_module(FOLDER)
analysis = experiment_module(FOLDER, "analysis")
TARGET = 1 - hard_learners.TARGET_ERROR


def test_point_labels_round_trip_and_bad_input_is_refused():
    for axis, value in (("coverage", 8.0), ("eps", 1 / 96)):
        parsed_axis, point = sweep.parse_point(sweep.point_label(axis, value))
        assert parsed_axis == axis and point[axis] == pytest.approx(value)
    with pytest.raises(ValueError, match="point looks like 'coverage=8' or 'eps=1/128', got 'd=16'"):
        sweep.parse_point("d=16")
    with pytest.raises(ValueError, match="axis must be 'eps' or 'coverage', got 'd'"):
        sweep.point_label("d", 4)
    with pytest.raises(ValueError, match="scale must be 'full' or 'quick', got 'huge'"):
        sweep.sweep_padding("eps", "huge")


def test_padding_covers_every_shape_of_the_sweep():
    padding = sweep.sweep_padding("eps", "full")
    classes = [hard_learners.hard_instance({**sweep.BASE, "eps": eps}) for eps in sweep.SWEEPS["eps"]]
    assert padding["sft"][1] == max(hard_learners.sft_num_samples(c) for c in classes)  # f = 1 is the top of N
    for model_class in classes:
        assert max(s["num_samples"] for s in hard_learners.allocation_shapes("sft", model_class, sweep.N_FACTORS)) \
            <= padding["sft"][1]
        assert max(s["cap"] for s in hard_learners.allocation_shapes("adaptive_sft", model_class, sweep.MU_FACTORS)) \
            <= padding["adaptive_sft"][1]


# A synthetic table: per (point, learner) three shapes, each evaluated at budgets 10, 20, 40 with successes
# (fail, pass, pass) at 1024 trials, except shape 0 which never passes; samples = budget · cost(shape).
POINTS = {"eps=1/32": 1 / 32, "eps=1/64": 1 / 64, "eps=1/128": 1 / 128}
COST = {"sft": [3.0, 5.0, 9.0], "adaptive_sft": [2.0, 4.0, 6.0]}


def synthetic_table():
    rows = []
    for point, eps in POINTS.items():
        for learner, costs in COST.items():
            scale = 1 / eps  # shape 1 is the optimum at every point (its threshold budget is 20, shape 2's 10)
            for index, cost in enumerate(costs):
                thresholds = {0: math.inf, 1: 20, 2: 40}
                for budget in (10, 20, 40):
                    passed = budget >= thresholds[index]
                    rows.append({"point": point, "sweep": "eps", "learner": learner, "shape_index": index,
                                 "budget": budget, "successes": 1024 if passed else 800, "trials": 1024,
                                 "samples": budget * cost * scale, "num_samples": cost * 10 if learner == "sft"
                                 else math.nan, "mu": cost / 4 if learner == "adaptive_sft" else math.nan,
                                 "cap": 50.0 if learner == "adaptive_sft" else math.nan,
                                 "prescribed": index == 2, "eps": eps, "coverage_actual": 4.0, "d": 4,
                                 "num_candidates": 26, "N_C1": 90.0, "thm_3_1": eps ** -2.0, "thm_d2": eps ** -1.0})
    return pd.DataFrame(rows)


def test_summarize_matches_numpy_on_a_synthetic_table():
    table = synthetic_table()
    summary = analysis.summarize(table)
    cells = pd.DataFrame(summary["cells"])
    for point, eps in POINTS.items():
        for learner, costs in COST.items():
            # numpy: m(shape) = samples at the least budget from which every fraction ≥ 1 − ε/Δ
            expected = {1: 20 * costs[1] / eps, 2: 40 * costs[2] / eps}
            bound = eps ** (-2.0 if learner == "sft" else -1.0)
            opt = cells[(cells.point == point) & (cells.learner == learner) & (cells.series == "optimum")].iloc[0]
            pre = cells[(cells.point == point) & (cells.learner == learner) & (cells.series == "prescribed")].iloc[0]
            assert opt.m_star == pytest.approx(min(expected.values()))
            assert pre.m_star == pytest.approx(expected[2])
            assert opt.ratio == pytest.approx(min(expected.values()) / bound)
            assert opt.m_low <= opt.m_star <= opt.m_high
            shape_ratio = costs[1] * 10 / 90.0 if learner == "sft" else (costs[1] / 4) / hard_learners.BOOST
            assert opt.shape_ratio == pytest.approx(shape_ratio)
            assert not opt.at_top_edge and not opt.at_bottom_edge  # shape 0 is infeasible, shape 2 is worse
    gain = summary["prescribed_over_optimum_range"]
    assert gain["sft"] == pytest.approx([40 * 9 / (20 * 5)] * 2)
    assert gain["adaptive_sft"] == pytest.approx([40 * 6 / (20 * 4)] * 2)
    x = np.array(sorted(POINTS.values()))
    slope = np.polyfit(np.log(x), np.log(20 * COST["sft"][1] / x), 1)[0]
    assert summary["slopes"]["eps"]["sft/optimum"]["slope"] == pytest.approx(slope)
    assert summary["slopes"]["eps"]["thm_3_1_curve"]["slope"] == pytest.approx(-2.0)


def test_analysis_refuses_an_unknown_learner():
    table = synthetic_table()
    table.loc[table.learner == "sft", "learner"] = "bayes"
    with pytest.raises(ValueError, match="learner must be one of .*got 'bayes'"):
        analysis.cell_rows(table)


@pytest.mark.slow
def test_quick_sweep_end_to_end(tmp_path):
    experiment = get_experiment(FOLDER)
    before = hard_learners.run_adaptive_sft.trace_count
    output = run_experiment(experiment, default_layout(experiment.name, tmp_path, quick=True), quick=True,
                            progress=False)
    assert hard_learners.run_adaptive_sft.trace_count - before <= 1  # one padding for the whole quick grid
    table = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "results" / "quick" / experiment.name
                                                           / "cells").glob("*.parquet"))])
    assert set(table.learner) == set(hard_learners.ALLOCATION_LEARNERS)
    assert table.prescribed.any() and (table.trials == experiment.sweep.quick_seeds * table.d).all()
    cells = pd.DataFrame(analysis.summarize(table)["cells"])
    assert len(cells) == 2 * 2 * len(sweep.grid_points(sweep.QUICK_SWEEPS))
    finite = cells[cells.m_star.notna()]
    for (point, learner), part in finite.groupby(["point", "learner"]):  # the optimum is at most the prescription
        series = dict(zip(part.series, part.m_star))
        if "prescribed" in series and "optimum" in series:
            assert series["optimum"] <= series["prescribed"]
    assert (tmp_path / "figures" / "quick" / f"{experiment.name}.png").is_file()
    del output
