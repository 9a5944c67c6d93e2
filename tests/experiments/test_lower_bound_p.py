"""lower_bound_p: instances follow Thm 3.1′'s M ≍ C ε^(−1/p), the committed cells keep their ids, the analysis
against numpy on a synthetic table, and (slow) a tiny run measures a finite m* for both Bayes learners with the
bound column equal to Thm 3.1′'s rate."""

import math

import numpy as np
import pandas as pd
import pytest

from sharpsim.measure.hard_learners import hard_instance
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import cell_id, default_layout, run_experiment

sweep = experiment_module("lower_bound_p")
analysis = experiment_module("lower_bound_p", "analysis")


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("eps", [1 / 32, 1 / 128])
def test_instance_candidates_follow_the_p_formula(p, eps):
    c, delta, gamma = sweep.COVERAGE, 16 * eps, 0.5
    exact = ((c**p - (1 - delta)) / delta) ** (1 / p) / (1 - gamma)  # C_cov,γ,p = C solved for M
    model_class = hard_instance(sweep.point(p, eps))
    assert int(model_class.num_candidates) == max(8, round(exact))
    coverage_p = ((1 - delta) + (int(model_class.num_candidates) * (1 - gamma)) ** p * delta) ** (1 / p)
    assert float(model_class.coverage(p)) == pytest.approx(coverage_p, rel=1e-12)


def test_the_committed_cells_keep_their_ids():
    experiment = get_experiment("lower_bound_p")
    folder = experiment.folder.parent.parent / "results" / "lower_bound_p" / "cells"
    if not folder.is_dir():
        pytest.skip("no committed results in this checkout")
    for params in experiment.cells(experiment.resolved_grid()):
        identifier = cell_id("lower_bound_p", params, experiment.seeds, 0, experiment.settings)
        assert (folder / f"{identifier}.parquet").is_file(), params


def test_summary_against_numpy_on_a_synthetic_table():
    eps = np.array([1 / 32, 1 / 64, 1 / 128])
    rows = []
    for learner, p, c, s in (("bayes", 1, 2.0, 2.1), ("bayes_adaptive", 1, 0.5, 0.9)):
        for e in eps:
            m_star = c * e ** -s
            rows.append({"p": p, "eps": e, "learner": learner, "m_star": m_star, "m_star_low": 0.9 * m_star,
                         "m_star_high": 1.1 * m_star, "bound": e ** -2.0, "num_candidates": 8, "delta": 16 * e,
                         "coverage_p": 4.0, "log_class_size": 8.0, "trials": 512})
    summary = analysis.summarize(pd.DataFrame(rows))
    for learner, c, s, exponent in (("bayes", 2.0, 2.1, -2.0), ("bayes_adaptive", 0.5, 0.9, -1.0)):
        ratio = c * eps ** -s / eps ** -2.0
        kappa = math.exp(np.mean(np.log(ratio)))
        assert summary["constants"][learner]["1"] == pytest.approx(kappa, rel=1e-12)
        slope = summary["slopes"][learner]["1"]
        assert slope["slope"] == pytest.approx(-s, rel=1e-9)
        assert slope["theorem_curve_slope"] == pytest.approx(-2.0, rel=1e-9) and slope["exponent"] == exponent
        assert summary["ratio_band"][learner] == pytest.approx([ratio.min() / kappa, ratio.max() / kappa], rel=1e-12)


@pytest.mark.slow
def test_tiny_run_bound_column_and_thresholds(tmp_path):
    output = run_experiment(get_experiment("lower_bound_p"), default_layout("lower_bound_p", tmp_path, quick=True),
                            quick=True, overrides={"eps": [1 / 32]}, seeds=16, progress=False)
    rows = analysis.cell_rows(output.table)
    assert set(rows.learner) == {"bayes", "bayes_adaptive"} and set(rows.p) == {2}
    for row in rows.itertuples():
        c, log_size, eps = row.coverage_p, row.log_class_size, row.eps
        power = eps ** (1 / 2) if row.learner == "bayes_adaptive" else eps ** 1.5
        assert row.bound == pytest.approx(c * log_size / (power * (1 + math.log(c * eps ** -0.5))), rel=1e-12)
        assert np.isfinite(row.m_star) and row.m_star_low <= row.m_star <= row.m_star_high
    by_learner = rows.set_index("learner").m_star
    assert by_learner["bayes_adaptive"] < by_learner["bayes"]  # sampling until revealed spends far less
