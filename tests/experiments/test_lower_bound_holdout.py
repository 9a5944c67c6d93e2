"""lower_bound's held-out check (figure panels (c), (d)): κ fitted on the C and d sweeps only, the ε sweep's cells
predicted, against numpy on a synthetic table."""

import math

import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import experiment_module

sweep = experiment_module("lower_bound")
analysis = experiment_module("lower_bound", "analysis")


def synthetic_rows():
    """m* = c·bound on the C and d sweeps, m* = c·bound·(ε·64)^(−0.1) on the ε sweep (a drift the fit can't see)."""
    rows = []
    for axis, values in sweep.SWEEPS.items():
        for value in values[:3]:
            label = sweep.point_label(axis, value)
            eps = value if axis == "eps" else sweep.BASE["eps"]
            for learner, c in (("bayes", 2.0), ("bayes_adaptive", 3.0), ("sft", 8.0), ("adaptive_sft", 30.0)):
                bound = float(np.exp(value if axis != "eps" else -math.log(value)))
                drift = (eps * 64) ** -0.1 if axis == "eps" else 1.0
                m_star = c * bound * drift
                rows.append({"point": label, "sweep": axis, "learner": learner, "m_star": m_star,
                             "m_star_low": 0.9 * m_star, "m_star_high": 1.2 * m_star, "eps": eps, "bound": bound,
                             "ratio": m_star / bound})
    return pd.DataFrame(rows)


def test_holdout_fits_on_c_and_d_and_predicts_the_eps_sweep():
    rows = synthetic_rows()
    result = analysis.holdout(rows)
    assert result["fit_sweeps"] == ["coverage", "d"]
    assert result["constants"] == pytest.approx({"thm_3_1": 2.0, "thm_d2": 3.0}, rel=1e-12)
    for learner in ("bayes", "bayes_adaptive"):
        held = result["held_out"][learner]
        eps = np.array(sorted(sweep.SWEEPS["eps"][:3], reverse=True))
        assert [r["point"] for r in held] == [sweep.point_label("eps", e) for e in eps]
        np.testing.assert_allclose([r["ratio"] for r in held], (eps * 64) ** -0.1, rtol=1e-12)
        np.testing.assert_allclose([r["low"] for r in held], 0.9 * (eps * 64) ** -0.1, rtol=1e-12)
        np.testing.assert_allclose([r["high"] for r in held], 1.2 * (eps * 64) ** -0.1, rtol=1e-12)
