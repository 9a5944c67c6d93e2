"""lower_bound_p: instances follow Thm 3.1′'s M ≍ C ε^(−1/p), the bound column is Thm 3.1′'s rate, and a tiny run
measures a finite m* for both Bayes learners."""

import math

import numpy as np
import pytest

from sharpsim.runner.experiment import experiment_module
lower_bound_p = experiment_module("lower_bound_p")
from sharpsim.runner.sweep import default_layout, run_experiment


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("eps", [1 / 32, 1 / 128])
def test_instance_candidates_follow_the_p_formula(p, eps):
    c, delta, gamma = lower_bound_p.COVERAGE, 16 * eps, 0.5
    exact = ((c**p - (1 - delta)) / delta) ** (1 / p) / (1 - gamma)  # C_cov,γ,p = C solved for M
    model_class = lower_bound_p.instance(lower_bound_p.point(p, eps))
    assert int(model_class.num_candidates) == max(8, round(exact))
    coverage_p = ((1 - delta) + (int(model_class.num_candidates) * (1 - gamma)) ** p * delta) ** (1 / p)
    assert float(model_class.coverage(p)) == pytest.approx(coverage_p, rel=1e-12)


def test_tiny_run_bound_column_and_thresholds(tmp_path):
    output = run_experiment(lower_bound_p.EXPERIMENT, default_layout("lower_bound_p", tmp_path, quick=True),
                            quick=True, overrides={"eps": [1 / 32]}, seeds=16, progress=False)
    rows = lower_bound_p.summarize(output.table)
    assert set(rows.learner) == {"bayes", "bayes_adaptive"} and set(rows.p) == {2}
    for row in rows.itertuples():
        c, log_size, eps = row.coverage_p, row.log_class_size, row.eps
        power = eps ** (1 / 2) if row.learner == "bayes_adaptive" else eps ** 1.5
        assert row.bound == pytest.approx(c * log_size / (power * (1 + math.log(c * eps ** -0.5))), rel=1e-12)
        assert np.isfinite(row.m_star) and row.m_star_low <= row.m_star <= row.m_star_high
    by_learner = rows.set_index("learner").m_star
    assert by_learner["bayes_adaptive"] < by_learner["bayes"]  # sampling until revealed spends far less
