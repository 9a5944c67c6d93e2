"""The bon_lift experiment: its cell's columns are consistent laws, and its analysis helpers compute what they say."""

from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import experiment_module

FOLDER = Path(__file__).resolve().parents[2] / "experiments" / "bon_lift"


@pytest.fixture(scope="module")
def modules():
    return experiment_module(FOLDER, "sweep"), experiment_module(FOLDER, "analysis")


@pytest.fixture(scope="module")
def cell(modules):
    sweep, _ = modules
    return pd.DataFrame(sweep.run_cell({"task": "shortcut", "model": "shortcutter"}, jax.random.PRNGKey(3), 12))


@pytest.mark.slow  # one cell: about 10 s, mostly compiling and the majority law's 23426 answer counts at N = 50
def test_cell_columns_are_consistent_laws(modules, cell):
    sweep, _ = modules
    p = cell.p_correct.to_numpy()
    for reward in ("ll", "ln", "am", "mv"):
        np.testing.assert_allclose(cell[f"acc_{reward}_1"], p, atol=1e-12)  # one draw: temperature-1 sampling
        for n in sweep.NS:
            skyline = 1 - (1 - p) ** n
            assert (cell[f"acc_{reward}_{n}"].to_numpy() <= skyline + 1e-12).all()
    histogram = cell[[c for c in cell if c.startswith("hist_correct_")]].to_numpy().sum(axis=1)
    np.testing.assert_allclose(histogram, p, atol=1e-12)  # the correct responses' mass, binned
    # under log π the pick's log-likelihood never decreases with N (the max of more draws)
    loglik = cell[[f"loglik_ll_{n}" for n in sweep.NS]].to_numpy()
    assert (np.diff(loglik, axis=1) >= -1e-12).all()


def test_lift_curve_and_bootstrap(modules):
    _, analysis = modules
    ns = experiment_module(FOLDER, "sweep").NS
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"greedy_correct": rng.integers(0, 2, 40).astype(float)})
    frame.loc[0, "greedy_correct"] = 1.0
    for n in ns:
        frame[f"acc_ll_{n}"] = rng.random(40)
    rows = analysis._bootstrap_rows(40)
    curve = analysis.lift_curve(frame, "ll", rows)
    greedy = frame.greedy_correct.mean()
    for i, n in enumerate(ns):
        expected = 100 * (frame[f"acc_ll_{n}"].mean() - greedy) / greedy
        assert curve["lift"][i] == pytest.approx(expected, rel=1e-12)
        assert curve["low"][i] <= expected <= curve["high"][i]


def test_saturation_n(modules):
    _, analysis = modules
    ns = np.asarray(experiment_module(FOLDER, "sweep").NS, dtype=float)
    curve = 1 - np.exp(-ns / 5.0)  # 90% of the change from N = 1 to 50 is reached once exp(−N/5) ≲ 0.1·(e^−0.2)
    change = np.abs(curve - curve[-1])
    expected = next(n for i, n in enumerate(ns) if (change[i:] <= 0.1 * change.max()).all())
    assert analysis.saturation_n(curve) == expected
    assert analysis.saturation_n(np.ones(len(ns))) == ns[0]
