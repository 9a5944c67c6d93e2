"""rlhf_beta and rlhf_margin: their exact pieces against numpy closed forms written here, one compilation per
sweep, and the claims (threshold guarantee; RLHF degrades as the margin closes, SFT does not)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from sharpsim.referee.exact_sft import exact_sft_expected_error
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import default_layout, run_experiment

rlhf_beta = experiment_module("rlhf_beta")
rlhf_beta_analysis = experiment_module("rlhf_beta", "analysis")
rlhf_margin = experiment_module("rlhf_margin")
rlhf_margin_analysis = experiment_module("rlhf_margin", "analysis")


def np_target(probs, beta):
    logs = np.log(probs) * (1 + 1 / beta)
    weights = np.exp(logs - logs.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def test_registered():
    assert get_experiment("rlhf_beta").sweep is rlhf_beta.SWEEP
    assert get_experiment("rlhf_margin").sweep is rlhf_margin.SWEEP


@pytest.mark.parametrize("margin,coverage", [(0.05, 4.0), (1.0, 16.0)])
def test_target_curves_match_closed_forms(margin, coverage):
    policy = rlhf_beta.instance(margin, coverage)
    probs = np.asarray(policy.probs)
    betas = np.array([0.02, 0.3, 5.0])
    miss, conc, loss_conc = (np.asarray(a) for a in rlhf_beta.target_curves(policy, jnp.asarray(betas)))
    for k, beta in enumerate(betas):
        target = np_target(probs, beta)
        assert miss[k] == pytest.approx(target[0, 1:].sum(), rel=1e-9)  # the needle is response 0
        assert conc[k] == pytest.approx(np.sum(target**2 / probs), rel=1e-9)
        z = np.sum(probs ** (1 + 1 / beta))  # C_{π_base/π*_β;β} = |supp| · Z^β exactly
        assert loss_conc[k] == pytest.approx(probs.shape[1] * z**beta, rel=1e-9)
        assert loss_conc[k] <= probs.shape[1] and conc[k] <= coverage * (1 + 1e-12)


def test_critical_beta_is_where_the_miss_crosses_half_delta():
    policy = rlhf_beta.instance(0.2, 4.0)
    probs = np.asarray(policy.probs)
    critical = rlhf_beta.critical_beta(policy)
    assert np_target(probs, critical)[0, 1:].sum() <= rlhf_beta.DELTA / 2
    assert np_target(probs, critical * 1.001)[0, 1:].sum() > rlhf_beta.DELTA / 2
    assert critical >= 0.2 / (2 * math.log(2 * probs.shape[1] / rlhf_beta.DELTA))


def test_rlhf_beta_summary_on_one_cell():
    """The threshold guarantee and Lemma 4.1's bounds, read from one exact cell."""
    params = {"margin": 0.2, "coverage": 4.0}
    table = pd.DataFrame({**rlhf_beta.run_cell(params, jax.random.PRNGKey(0), 1), **params})
    summary = rlhf_beta_analysis.summarize(table)
    (cell,) = summary["cells"]
    probs = np.asarray(rlhf_beta.instance(0.2, 4.0).probs)
    assert cell["miss_at_threshold"] == pytest.approx(np_target(probs, cell["beta_threshold"])[0, 1:].sum(), rel=1e-9)
    assert summary["all_guarantees_hold"] and cell["beta_critical"] >= cell["beta_threshold"]
    assert cell["max_concentrability"] <= 4.0 * (1 + 1e-12) and cell["max_loss_concentrability"] <= 64


@pytest.mark.slow
def test_rlhf_beta_quick_sweep(tmp_path):
    before = rlhf_beta.target_curves.trace_count
    output = run_experiment(get_experiment("rlhf_beta"), default_layout("rlhf_beta", tmp_path, quick=True), quick=True,
                            progress=False)
    assert rlhf_beta.target_curves.trace_count - before <= 1
    assert output.summary["all_guarantees_hold"]
    assert len(output.table) == 2 * len(rlhf_beta.BETAS)
    assert output.layout.figure_path.stat().st_size > 50_000


def test_population_error_matches_numpy():
    margins = np.array([0.01, 0.1, 1.0])
    got = rlhf_margin_analysis.population_error(margins, 8.0, 0.05)
    for gm, value in zip(margins, got):
        probs = np.asarray(rlhf_margin.instance(gm, 8.0).probs)
        expected = float(np.mean(np_target(probs, 0.05)[:, 0] < 1 - rlhf_margin.DELTA))
        assert value == expected
    assert list(got) == [1.0, 1.0, 0.0]


def test_unknown_budget_is_refused():
    with pytest.raises(ValueError, match=r"rlhf_margin knows budgets \[64, 512\], got 100"):
        rlhf_margin.sft_split(100)


@pytest.mark.slow
def test_rlhf_margin_quick_sweep_shows_the_margin_effect(tmp_path):
    before = rlhf_margin.errors.trace_count
    output = run_experiment(get_experiment("rlhf_margin"), default_layout("rlhf_margin", tmp_path, quick=True), quick=True,
                            seeds=60, progress=False)
    assert rlhf_margin.errors.trace_count - before <= 1  # one compilation for the three margins
    cells = {c["margin"]: c for c in output.summary["cells"]}
    assert all(c["rlhf_samples"] == c["sft_samples"] == c["budget"] == 512 for c in cells.values())
    # RLHF with a fixed β fails when the margin closes and succeeds when it is large
    assert cells[0.01]["rlhf_fixed_beta_error"]["mean"] > 0.9
    assert cells[1.0]["rlhf_fixed_beta_error"]["mean"] < 0.1
    # SFT is insensitive to the margin: every cell agrees with its exact expected error
    for margin, cell in cells.items():
        exact = float(exact_sft_expected_error(rlhf_margin.instance(margin, 8.0), 16, 32, rlhf_margin.DELTA))
        assert cell["sft_exact_expected_error"] == pytest.approx(exact)
        assert abs(cell["sft_error"]["mean"] - exact) < 0.08
    assert output.layout.figure_path.stat().st_size > 50_000
