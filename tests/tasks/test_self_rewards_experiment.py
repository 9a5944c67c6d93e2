"""The self_rewards experiment: its cells are consistent laws, its winner and margins are what they say, and its
analysis survives a single value on any axis."""

import itertools
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import experiment_module

FOLDER = Path(__file__).resolve().parents[2] / "experiments" / "self_rewards"


@pytest.fixture(scope="module")
def modules():
    return experiment_module(FOLDER, "sweep"), experiment_module(FOLDER, "analysis")


def synthetic_cell(ns, prompts=30, seed=0, tie=False):
    rng = np.random.default_rng(seed)
    frame = {"greedy_correct": rng.integers(0, 2, prompts).astype(float), "p_correct": rng.random(prompts),
             "argmax_correct": rng.integers(0, 2, prompts).astype(float)}
    frame["greedy_correct"][0] = 1.0
    for reward, n in itertools.product(("ll", "ln", "am", "mv"), ns):
        frame[f"acc_{reward}_{n}"] = rng.random(prompts) * (1 + (reward == "mv"))
    if tie:
        for n in ns:
            frame[f"acc_ln_{n}"] = frame[f"acc_ll_{n}"]
    return pd.DataFrame(frame)


def test_winner_margin_and_ties(modules):
    sweep, analysis = modules
    cell = synthetic_cell(sweep.NS)
    summary = analysis.cell_summary(cell)
    at_50 = {r: cell[f"acc_{r}_50"].mean() for r in analysis.CONTENDERS}
    best = max(at_50, key=at_50.get)
    second = sorted(at_50.values())[-2]
    assert summary["winner"] == best == "mv"
    mean, low, high = summary["margin"]
    assert mean == pytest.approx(at_50[best] - second, rel=1e-12) and low <= mean <= high
    greedy = cell.greedy_correct.mean()
    assert summary["lift_pct_at_50"]["ll"] == pytest.approx(100 * (at_50["ll"] - greedy) / greedy, rel=1e-12)
    p = cell.p_correct.to_numpy()
    assert summary["pass"][-1][0] == pytest.approx(np.mean(1 - (1 - p) ** 50), rel=1e-12)
    # identical columns (every response of one length): ll and ln tie, the margin is over the third
    tied = analysis.cell_summary(synthetic_cell(sweep.NS, seed=1, tie=True).assign(
        **{f"acc_mv_{n}": 0.0 for n in sweep.NS}))
    assert sorted(tied["tied_with_winner"]) == ["ll", "ln"] and tied["runner_up"] == "mv"


def synthetic_table(modules, signals=(0.0, 2.0), paths=(8, 48), biases=(-8.0, 4.0)):
    sweep, _ = modules
    frames = []
    for i, (s, c, b) in enumerate(itertools.product(signals, paths, biases)):
        frames.append(synthetic_cell(sweep.NS, prompts=12, seed=i).assign(signal=s, correct_paths=c, short_bias=b))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("axis", ["short_bias", pytest.param("signal", marks=pytest.mark.slow),
                                  pytest.param("correct_paths", marks=pytest.mark.slow)])  # about 2 s each
def test_analysis_survives_one_value_per_axis(modules, axis, tmp_path):
    _, analysis = modules
    table = synthetic_table(modules)
    table = table[table[axis] == table[axis].iloc[-1]]
    summary = analysis.summarize(table)
    analysis.plot(summary, table, tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 0


@pytest.mark.slow  # one cell of 16 prompts: a few seconds, mostly compiling
def test_cell_is_a_consistent_set_of_laws(modules):
    sweep, analysis = modules
    cell = pd.DataFrame(sweep.run_cell({"signal": 1.0, "correct_paths": 24, "short_bias": 4.0},
                                       jax.random.PRNGKey(11), 16))
    p = cell.p_correct.to_numpy()
    for reward in ("ll", "ln", "am", "mv"):
        np.testing.assert_allclose(cell[f"acc_{reward}_1"], p, atol=1e-12)  # N = 1: one temperature-1 draw
        for n in sweep.NS:  # pass@N, the ground-truth skyline, is above every self-reward, prompt by prompt
            assert (cell[f"acc_{reward}_{n}"].to_numpy() <= 1 - (1 - p) ** n + 1e-12).all()
    summary = analysis.cell_summary(cell)
    assert summary["margin"][0] >= 0
    assert summary["pass_minus_best_at_50"] >= -1e-12
