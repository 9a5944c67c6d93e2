"""SFT-Sharpening on best-of-N picks (sharpsim.tasks.amortization) against numpy references, and the amortisation
experiment's invariants."""

import itertools
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import experiment_module
from sharpsim.tasks import Task, correct_mass, greedy_indices, pick_law, reasoning_task, self_reward
from sharpsim.tasks.amortization import (
    bon_reference, greedy_from_table, run_uniforms, score_fit, sft_runs, support_table,
)
from sharpsim.tasks.task import well_formed

FOLDER = Path(__file__).resolve().parents[2] / "experiments" / "amortisation"


@pytest.fixture(scope="module")
def small_task():
    return reasoning_task(jax.random.PRNGKey(5), 6, vocab_size=3, horizon=3, num_answers=2, correct_paths=2,
                          wrong_paths=1, signal=1.0, short_bias=0.5)


def test_greedy_from_table_matches_greedy_decoding(small_task):
    task = reasoning_task(jax.random.PRNGKey(7), 12, vocab_size=4, horizon=3, num_answers=3, correct_paths=5,
                          wrong_paths=3, signal=0.5, noise=2.0, short_bias=1.0)
    for t in (small_task, task):
        got = greedy_from_table(t.probs, t.policy.vocab_size, t.policy.horizon)
        np.testing.assert_array_equal(got, np.asarray(greedy_indices(t)))


def test_bon_reference_against_brute_force():
    rng = np.random.default_rng(0)
    probs = rng.random((3, 4))
    probs[0, 3] = 0.0
    probs[1, 2] = probs[1, 1]  # a tie class: the first drawn of the tied responses wins
    probs /= probs.sum(axis=1, keepdims=True)
    values = rng.standard_normal((3, 4))
    for n in (1, 2, 3):
        expected = np.zeros(3)
        for x in range(3):
            for draws in itertools.product(range(4), repeat=n):
                weight = np.prod(probs[x, list(draws)])
                best = max(range(n), key=lambda j: (probs[x, draws[j]], -j))  # largest π, first drawn among ties
                expected[x] += weight * values[x, draws[best]]
        np.testing.assert_allclose(bon_reference(probs, values, [n])[0], expected, atol=1e-13)


def test_bon_reference_matches_pick_law():
    rng = np.random.default_rng(1)
    probs = rng.random((2, 9)) * well_formed(3, 2)
    probs[:, 0] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    task = Task.from_joint(probs, 3, correct_answers=np.array([1, 2]))
    law = np.asarray(pick_law(task, self_reward(task, "log_likelihood"), 7))
    values = np.asarray(task.correct, dtype=float)
    np.testing.assert_allclose(bon_reference(probs, values, [7])[0], (law * values).sum(axis=1), atol=1e-13)


def test_support_table_keeps_every_number(small_task):
    table = support_table(small_task, 16)
    probs = np.asarray(small_task.probs)
    np.testing.assert_allclose(table["probs"].sum(axis=1), 1.0, atol=1e-13)
    np.testing.assert_allclose((table["probs"] * table["correct"]).sum(axis=1), np.asarray(correct_mass(small_task)),
                               atol=1e-13)
    rows = np.arange(small_task.num_prompts)
    greedy = np.asarray(greedy_indices(small_task))
    np.testing.assert_allclose(table["log_probs"][rows, table["greedy"]], np.log(probs[rows, greedy]), atol=1e-13)
    assert np.isneginf(table["log_probs"][table["probs"] == 0]).all()
    with pytest.raises(ValueError, match="size must be at least"):
        support_table(small_task, 2)


def numpy_sft(uniforms, table, n, big_n):
    """SFT-Sharpening with the tabular MLE, from the same uniforms, in numpy (loops over runs and prompts)."""
    probs, correct, log_probs, greedy, mu = (table[k] for k in ("probs", "correct", "log_probs", "greedy",
                                                                  "prompt_probs"))
    out = {k: [] for k in ("acc_sample", "acc_argmax", "loglik_sample", "loglik_argmax", "seen")}
    prompt_cdf = np.cumsum(mu) / mu.sum()
    for u in uniforms:
        prompts = np.searchsorted(prompt_cdf, u[:, 0], side="right")[:n]
        counts = np.zeros_like(probs)
        for i, x in enumerate(prompts):
            cdf = np.cumsum(probs[x]) / probs[x].sum()
            draws = np.searchsorted(cdf, u[i, 1:1 + big_n], side="right")
            counts[x, draws[np.argmax(log_probs[x, draws])]] += 1
        seen = counts.sum(axis=1) > 0
        fitted = counts / np.where(seen, counts.sum(axis=1), 1.0)[:, None]
        for name, values in (("acc", correct), ("loglik", np.where(probs > 0, log_probs, 0.0))):
            sample, decoded = np.zeros(len(mu)), np.zeros(len(mu))
            for x in range(len(mu)):
                if seen[x]:
                    sample[x] = (fitted[x] * np.where(fitted[x] > 0, values[x], 0.0)).sum()
                    top = np.flatnonzero(fitted[x] == fitted[x].max())
                    decoded[x] = values[x, top[np.argmax(probs[x, top])]]
                else:
                    sample[x] = (probs[x] * values[x]).sum()
                    decoded[x] = values[x, greedy[x]]
            out[f"{name}_sample"].append(sample @ mu)
            out[f"{name}_argmax"].append(decoded @ mu)
        out["seen"].append(seen @ mu)
    return {k: np.array(v) for k, v in out.items()}


def test_sft_runs_match_numpy_reference(small_task):
    table = support_table(small_task, 16)
    uniforms = run_uniforms(jax.random.PRNGKey(0), 7, 10, 5)
    for n, big_n in ((1, 1), (4, 3), (10, 5)):
        got = sft_runs(uniforms, table, n, big_n)
        expected = numpy_sft(uniforms, table, n, big_n)
        for key in expected:
            np.testing.assert_allclose(got[key], expected[key], atol=1e-12, err_msg=f"{key} at n={n}, N={big_n}")


def test_score_fit_argmax_ties_go_to_the_likelier_base_response():
    fitted = np.array([[0.5, 0.0, 0.5]])
    probs = np.array([[0.2, 0.3, 0.5]])
    values = np.array([[1.0, 2.0, 3.0]])
    out = score_fit(fitted, np.array([True]), probs, values, np.array([0]), np.array([1.0]))
    assert float(out["argmax"]) == 3.0
    assert float(out["sample"]) == pytest.approx(2.0, abs=1e-15)
    unseen = score_fit(fitted, np.array([False]), probs, values, np.array([1]), np.array([1.0]))
    assert float(unseen["argmax"]) == 2.0 and float(unseen["sample"]) == pytest.approx(0.2 + 0.6 + 1.5, abs=1e-15)


def test_sft_runs_refuses_bad_input(small_task):
    table = support_table(small_task, 16)
    uniforms = run_uniforms(jax.random.PRNGKey(0), 2, 4, 3)
    with pytest.raises(ValueError, match="num_prompts must be at most n_max = 4"):
        sft_runs(uniforms, table, 5, 1)
    with pytest.raises(ValueError, match="num_samples must be at most N_max = 3"):
        sft_runs(uniforms, table, 1, 4)
    with pytest.raises(ValueError, match="uniforms must be an array"):
        sft_runs(uniforms[0], table, 1, 1)
    with pytest.raises(ValueError, match="num_prompts"):
        sft_runs(uniforms, table, 0, 1)
    with pytest.raises(ValueError, match="seeds"):
        run_uniforms(jax.random.PRNGKey(0), 0, 4, 3)


def test_coverage_and_interval_helpers():
    analysis = experiment_module(FOLDER, "analysis")
    for n in (1, 8, 512):
        assert analysis.coverage(n, 64) == pytest.approx(1 - (63 / 64) ** n, rel=1e-12)
    values = np.random.default_rng(0).random(50)
    mean, low, high = analysis._interval(values, lambda m: 2 * m)
    assert mean == pytest.approx(2 * values.mean(), rel=1e-12) and low <= mean <= high


def synthetic_table(pairs=("plain/strong", "shortcut/medium"), ns=(8, 512), big_ns=(1, 10, 50), seeds=20):
    rng = np.random.default_rng(0)
    frames = []
    for pair, n, big_n in itertools.product(pairs, ns, big_ns):
        frames.append(pd.DataFrame({
            "pair": pair, "n": n, "N": big_n, "seed": np.arange(seeds),
            **{f"{q}_{e}": rng.random(seeds) - (q == "loglik") * 3 for q in ("acc", "loglik")
               for e in ("sample", "argmax")},
            "seen": rng.random(seeds), "greedy_acc": 0.5, "greedy_loglik": -2.0, "sampling_acc": 0.4,
            "sampling_loglik": -3.0, "bon_acc": 0.4 + 0.01 * big_n, "bon_loglik": -3.0 + 0.02 * big_n}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("axis", ["pair", pytest.param("n", marks=pytest.mark.slow),
                                  pytest.param("N", marks=pytest.mark.slow)])  # about 2 s each (the figure)
def test_analysis_survives_one_value_per_axis(axis, tmp_path):
    analysis = experiment_module(FOLDER, "analysis")
    table = synthetic_table()
    table = table[table[axis] == table[axis].iloc[-1]]
    summary = analysis.summarize(table)
    analysis.plot(summary, table, tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 0


@pytest.mark.slow  # two cells of 40 SFT runs: about 10 s, mostly compiling
def test_cells_keep_the_invariants():
    sweep, analysis = experiment_module(FOLDER, "sweep"), experiment_module(FOLDER, "analysis")
    frames = [pd.DataFrame({"pair": "shortcut/medium", "n": n, "N": big_n, **sweep.run_cell(
        {"pair": "shortcut/medium", "n": n, "N": big_n}, jax.random.PRNGKey(n + big_n), 40)})
        for n, big_n in ((512, 1), (32, 25))]
    summary = analysis.summarize(pd.concat(frames, ignore_index=True))
    cells = {(c["n"], c["N"]): c for c in summary["cells"]}
    # N = 1: the picks are plain draws, so a temperature-1 draw of π̂ is as accurate as one of π_base on average
    mean, low, high = cells[(512, 1)]["acc_sample"]
    assert low <= cells[(512, 1)]["sampling_acc"] <= high
    assert cells[(512, 1)]["recovered"] is None
    # unseen prompts keep the base: the recovered fraction is the coverage 1 − (1 − 1/X)^n, inside [0, 1]
    fraction = cells[(32, 25)]["recovered"]
    assert fraction[1] <= cells[(32, 25)]["coverage_theory"] <= fraction[2]
    assert -0.05 < fraction[0] < 1.05
    for c in cells.values():
        assert 0 <= c["seen"][0] <= 1
