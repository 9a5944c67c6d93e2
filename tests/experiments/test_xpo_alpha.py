"""xpo_alpha: the analysis on synthetic tables against interpolations written here, one small cell, and the α = 0
labels of the XPO experiments."""

import math
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import experiment_module

FOLDER = Path(__file__).resolve().parents[2] / "experiments" / "xpo_alpha"
sweep = experiment_module(FOLDER)
analysis = experiment_module(FOLDER, "analysis")


def test_upper_edge_interpolates_in_log_alpha():
    alphas = np.array([1e-9, 1e-8, 1e-7, 1e-6])
    fractions = np.array([0.5, 0.95, 1.0, 0.2])
    # the crossing of 0.9 between 1e-7 (1.0) and 1e-6 (0.2), linear in log α: weight (1 − 0.9)/(1 − 0.2)
    expected = 10 ** (-7 + 0.1 / 0.8)
    assert analysis.upper_edge(alphas, fractions, 0.9) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(analysis.upper_edge(alphas, np.zeros(4), 0.9))
    assert analysis.upper_edge(alphas, np.ones(4), 0.9) == math.inf


def _synthetic_table(dimension=4):
    """Curve and search rows for α = 0 and three α > 0 whose success after T rounds is a step at T = T_k."""
    fixed = sweep.constants(dimension)
    rows = []
    steps = {0.0: 30, 1e-4: 5, 1e-2: 12, 1.0: None}  # None: never sharp
    for ratio, step in steps.items():
        rounds = sweep.max_rounds(dimension, ratio)
        t = np.arange(1, rounds + 1)
        succ = np.where(t >= step, 20, 0) if step is not None else np.zeros(rounds, int)
        estimate = 2.0 * step if step is not None else math.inf
        base = {"dimension": dimension, "alpha_ratio": ratio, "objective": "unit", "alpha": ratio * fixed["alpha_thm"],
                "alpha_thm": fixed["alpha_thm"], "beta": fixed["beta"], "reward_range": fixed["reward_range"],
                "coverage": 7.5, "margin": 0.5, "radius": 10.0, "num_responses": 17, "max_rounds": rounds,
                "last_iterate_success": 1.0, "threshold_estimate": estimate, "threshold_lower": estimate,
                "threshold_upper": estimate, "converged": True}
        curve = pd.DataFrame({**base, "kind": "curve", "budget": 2 * t, "successes": succ, "trials": 20})
        search = curve.iloc[::7].copy()
        search["kind"] = "search"
        rows += [curve, search]
    return pd.concat(rows, ignore_index=True)


@pytest.mark.slow
def test_summary_and_figure_on_a_synthetic_table(tmp_path):
    table = _synthetic_table()
    summary = analysis.summarize(table)
    by_ratio = {r["alpha_ratio"]: r for r in summary["cells"]}
    search = table[(table.kind == "search") & (table.alpha_ratio == 1e-4)]
    first = search.budget[search.successes == 20].min()
    assert by_ratio[1e-4]["m_star"] == first  # the smallest searched budget from which all 20 seeds succeed
    assert by_ratio[1.0]["m_star"] == math.inf
    info = summary["per_dimension"]["4"]
    assert info["sharp_window_alpha_ratio"] == [1e-4, 1e-2]
    assert info["alpha_zero_reference_m"] == 2 * math.ceil(math.log(0.1) / math.log(1 - 1 / 7.5))
    # after every T ≥ 12 both 1e-4 and 1e-2 are sharp, 1 is not: the edge is 1e-2 + (1 − 0.9)/(1 − 0)·2 decades
    extrapolation = info["extrapolation"]
    edge = 10 ** (math.log10(1e-2 * by_ratio[1e-2]["alpha_thm"]) + 0.1 * 2)
    np.testing.assert_allclose(extrapolation["alpha_crit"], edge, rtol=1e-12)
    assert extrapolation["fit_slope"] == pytest.approx(0.0, abs=1e-9)
    analysis.plot(summary, table, tmp_path / "xpo_alpha.png")
    assert (tmp_path / "xpo_alpha.png").stat().st_size > 20_000


@pytest.mark.slow
def test_small_cell_runs_and_counts_queries():
    columns = sweep.run_cell({"dimension": 4, "alpha_ratio": 1e-3}, jax.random.PRNGKey(0), 8)
    curve = columns["kind"] == "curve"
    rounds = sweep.max_rounds(4, 1e-3)
    assert curve.sum() == rounds and np.array_equal(columns["budget"][curve], 2 * np.arange(1, rounds + 1))
    assert np.all(columns["trials"] == 8)


def test_alpha_zero_rows_are_labeled_as_on_policy_regression():
    label = "on-policy regression, no exploration bonus"
    assert label in experiment_module("xpo_vs_sft", "analysis").LABELS["xpo_alpha0"]
    assert label in experiment_module("offline_vs_online", "analysis").LABELS["xpo"]
    assert label in analysis.LABEL_ZERO
    with pytest.raises(ValueError, match="alpha_ratio"):
        sweep.run_cell({"dimension": 4, "alpha_ratio": -1.0}, jax.random.PRNGKey(0), 2)
