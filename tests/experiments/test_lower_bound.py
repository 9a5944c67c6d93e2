"""lower_bound: point labels, the committed cells' ids, the analysis against numpy on a synthetic table, and (slow)
the quick sweep: one compilation per learner, the Bayes threshold against an exact numpy computation."""

import math

import numpy as np
import pandas as pd
import pytest

from sharpsim.measure import hard_learners
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import cell_id, default_layout, run_experiment
from tests.measure.test_hard_learners import exact_bayes_error

sweep = experiment_module("lower_bound")
analysis = experiment_module("lower_bound", "analysis")


def test_point_labels_round_trip_and_bad_labels_are_refused():
    for axis, value in (("coverage", 8.0), ("eps", 1 / 96), ("d", 16)):
        parsed_axis, point = sweep.parse_point(sweep.point_label(axis, value))
        assert parsed_axis == axis and point[axis] == pytest.approx(value)
        assert {k: v for k, v in point.items() if k != axis} == {k: v for k, v in sweep.BASE.items() if k != axis}
    with pytest.raises(ValueError, match="a lower_bound point looks like 'coverage=8'.*got 'C=8'"):
        sweep.parse_point("C=8")
    with pytest.raises(ValueError, match="scale must be 'full' or 'quick', got 'huge'"):
        sweep.sweep_shapes("d", "huge")


def test_the_committed_cells_keep_their_ids():
    experiment = get_experiment("lower_bound")
    folder = experiment.folder.parent.parent / "results" / "lower_bound" / "cells"
    if not folder.is_dir():
        pytest.skip("no committed results in this checkout")
    for params in experiment.cells(experiment.resolved_grid()):
        identifier = cell_id("lower_bound", params, experiment.seeds, 0, experiment.settings)
        assert (folder / f"{identifier}.parquet").is_file(), params


def synthetic_table():
    """Two budgets per (point, learner) on the ε sweep: m* = c_learner · ε^(−s_learner), bound = ε^(−2)."""
    rows = []
    for learner, (c, s) in {"bayes": (2.0, 2.0), "bayes_adaptive": (3.0, 1.0), "sft": (5.0, 1.9),
                            "adaptive_sft": (7.0, 1.1)}.items():
        for eps in (1 / 32, 1 / 64, 1 / 128):
            m_star = c * eps ** -s
            for budget, successes in ((10, 200), (20, 255)):
                rows.append({"point": sweep.point_label("eps", eps), "sweep": "eps", "learner": learner,
                             "m_star": m_star, "m_star_low": 0.9 * m_star, "m_star_high": 1.1 * m_star,
                             "threshold_estimate": 20.0, "coverage_actual": 4.0, "eps": eps, "d": 4,
                             "num_candidates": int(4 / eps), "delta": 16 * eps, "log_class_size": 4 * math.log(4 / eps),
                             "thm_3_1": eps ** -2.0, "thm_d2": eps ** -1.0, "budget": budget, "successes": successes,
                             "trials": 256, "samples_mean": float(budget)})
    return pd.DataFrame(rows)


def test_summary_against_numpy_on_a_synthetic_table():
    summary = analysis.summarize(synthetic_table())
    assert summary["constants"]["thm_3_1"] == pytest.approx(2.0, rel=1e-12)  # m*/bound = 2 at every ε
    assert summary["constants"]["thm_d2"] == pytest.approx(3.0, rel=1e-12)
    eps = np.array([1 / 128, 1 / 64, 1 / 32])
    for learner, (c, s) in {"sft": (5.0, 1.9), "adaptive_sft": (7.0, 1.1)}.items():
        expected = np.polyfit(np.log(eps), np.log(c * eps ** -s), 1)[0]
        assert summary["slopes"]["eps"][learner]["slope"] == pytest.approx(expected, rel=1e-9)
        scaled = c * eps ** -s / ({"sft": 2.0 * eps ** -2.0, "adaptive_sft": 3.0 * eps ** -1.0}[learner])
        assert summary["ratio_band"][learner] == pytest.approx([scaled.min(), scaled.max()], rel=1e-12)
    assert summary["slopes"]["eps"]["thm_3_1_curve"]["slope"] == pytest.approx(-2.0, rel=1e-9)
    assert summary["slopes"]["coverage"] == {} and summary["slopes"]["d"] == {}
    assert len(summary["cells"]) == 12 and summary["target_coordinate_error"] == 1 / 16


@pytest.mark.slow
def test_quick_sweep_compiles_once_per_learner_and_matches_the_exact_bayes_threshold(tmp_path):
    before = hard_learners.run_learner.trace_count
    output = run_experiment(get_experiment("lower_bound"), default_layout("lower_bound", tmp_path, quick=True),
                            quick=True, progress=False)
    assert hard_learners.run_learner.trace_count - before <= len(hard_learners.LEARNERS)  # 9 cells, one shape set
    rows = analysis.cell_rows(output.table)
    assert len(rows) == 9 * len(hard_learners.LEARNERS)
    for point in rows.point.unique():
        cell = rows[rows.point == point].set_index("learner")
        d, big_m, delta = int(cell.d["bayes"]), int(cell.num_candidates["bayes"]), float(cell.delta["bayes"])
        low_m, high_m = 1, 1  # the exact error decreases in m: bracket, then bisect to width 1
        while exact_bayes_error(d, big_m, delta, high_m) > hard_learners.TARGET_ERROR:
            low_m, high_m = high_m, 2 * high_m
        while high_m - low_m > 1:
            middle = (low_m + high_m) // 2
            passes = exact_bayes_error(d, big_m, delta, middle) <= hard_learners.TARGET_ERROR
            low_m, high_m = (low_m, middle) if passes else (middle, high_m)
        assert 0.85 * cell.m_star_low["bayes"] <= high_m <= 1.15 * cell.m_star_high["bayes"], (point, high_m)
        assert cell.m_star["sft"] > cell.m_star["bayes"]  # the algorithms sit above the Bayes learners
        assert cell.m_star["adaptive_sft"] > cell.m_star["bayes_adaptive"]
    bayes_band = output.summary["ratio_band"]["bayes"]
    assert 0.5 < bayes_band[0] <= bayes_band[1] < 2.0
    assert output.summary["ratio_band"]["adaptive_sft"][0] > output.summary["ratio_band"]["bayes_adaptive"][1]
    assert output.layout.figure_path.stat().st_size > 50_000
