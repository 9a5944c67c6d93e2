"""Tests for the SFT sample-complexity experiments sft_coverage, sft_epsilon, sft_class_size and sft_n_vs_N: their
cell functions, their analyzes on synthetic tables (against numpy), and end-to-end runs on tiny grids (slow)."""

import math

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import default_layout, run_experiment

SEARCH_EXPERIMENTS = ("sft_coverage", "sft_epsilon", "sft_class_size")


def synthetic_search_table(levels: dict, extra=None) -> pd.DataFrame:
    """Search rows whose threshold is known: for level value v, budgets 1..4 of m = v·budget, and only budgets
    ≥ 3 succeed (1000/1000), so m* = 3v with the interval [3v, 3v]. ``levels``: column → values (zipped)."""
    frames = []
    for values in zip(*levels.values()):
        scale = float(values[0])
        frame = pd.DataFrame({"budget": [1, 2, 3, 4], "successes": [0, 100, 1000, 1000], "trials": [1000] * 4,
                              "samples": [scale * b for b in (1, 2, 3, 4)], "num_prompts": [1, 2, 3, 4],
                              "num_samples": [scale] * 4})
        for column, value in zip(levels, values):
            frame[column] = value
        for column, value in (extra or {}).items():
            frame[column] = value(values) if callable(value) else value
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def synthetic_optimum_table(levels: dict, extra=None) -> pd.DataFrame:
    """Allocation-optimum rows whose answer is known: per level value v, two shapes N = 1 and N = 2 searched over
    budgets 1..4 (success from budget 3 on), with m = v·budget at N = 1 and m = (v/2)·budget at N = 2, so
    m* = 3v/2 at N* = 2, n* = 3."""
    frames = []
    for shape_index, big_n in enumerate((1.0, 2.0)):
        frame = synthetic_search_table(levels, extra)
        frame["samples"] = frame["samples"] / big_n
        frame["num_samples"] = big_n
        frame["shape_index"] = shape_index
        frames.append(frame.assign(search="optimum"))
    return pd.concat(frames, ignore_index=True)


def numpy_slope(x, y):
    return np.polyfit(np.log(x), np.log(y), 1)[0]


def test_sft_coverage_summarize_matches_numpy():
    analysis = experiment_module("sft_coverage", "analysis")
    candidates = [8, 16, 32]
    values = [10.0, 25.0, 70.0]
    coverage_of = {"coverage": lambda v: 1 + v[1] / 8}
    table = pd.concat([
        synthetic_search_table({"value": values, "num_candidates": candidates}, extra=coverage_of).assign(search="ray"),
        synthetic_optimum_table({"value": [v / 4 for v in values], "num_candidates": candidates}, extra=coverage_of)])
    summary = analysis.summarize(table)
    coverage = 1 + np.array(candidates) / 8
    ray = [c for c in summary["cells"] if c["search"] == "ray"]
    optimum = [c for c in summary["cells"] if c["search"] == "optimum"]
    assert [c["m_star"] for c in ray] == [3 * v for v in values]
    assert [c["m_star"] for c in optimum] == [3 * v / 8 for v in values]
    assert all(c["N_star"] == 2.0 and c["n_star"] == 3 for c in optimum)
    assert summary["slopes"]["ray"]["coverage"]["slope"] == pytest.approx(numpy_slope(coverage, values), rel=1e-12)
    assert summary["slopes"]["optimum"]["coverage"]["slope"] == pytest.approx(numpy_slope(coverage, values))
    assert summary["slopes"]["optimum"]["rare_coverage"]["slope"] == pytest.approx(
        numpy_slope(coverage - 0.8, values), rel=1e-12)
    assert "theory_slope_on_grid" in summary


def test_sft_epsilon_summarize_matches_numpy():
    analysis = experiment_module("sft_epsilon", "analysis")
    eps = [0.2, 0.1, 0.05] * 2
    algorithms = ["sft"] * 3 + ["adaptive"] * 3
    values = [1 / e**2 for e in eps[:3]] + [1 / e for e in eps[3:]]
    levels = {"value": values, "eps": eps, "algorithm": algorithms}
    table = pd.concat([synthetic_search_table(levels, extra={"coverage": 3.0}).assign(search="ray"),
                       synthetic_optimum_table(levels, extra={"coverage": 3.0})])
    summary = analysis.summarize(table)
    for search in ("ray", "optimum"):
        assert summary["slopes"][f"sft_{search}"]["slope"] == pytest.approx(-2.0, rel=1e-12)
        assert summary["slopes"][f"adaptive_{search}"]["slope"] == pytest.approx(-1.0, rel=1e-12)
    assert summary["allocation_slopes"]["sft_N_star"]["slope"] == pytest.approx(0.0, abs=1e-12)
    # the theorems' slopes on the grid, against numpy on the rates of Thm 4.1 and D.1 at the unrounded M = 2/ε
    epsilons = np.array([0.2, 0.1, 0.05])
    candidates = 2 / epsilons
    coverage = 1 - 2 * epsilons + epsilons * candidates
    log_size = 5 * np.log(candidates + 1)
    thm_4_1 = (log_size + np.log(1 / 0.1)) / (0.25 * epsilons) * coverage * np.log(2 / 0.25) / epsilons
    assert summary["slopes"]["sft_optimum"]["theory_slope_on_grid"] == pytest.approx(numpy_slope(epsilons, thm_4_1))


def test_sft_class_size_summarize_matches_numpy():
    analysis = experiment_module("sft_class_size", "analysis")
    rare = [2, 4, 8]
    sizes = [(d + 1) * math.log(9) for d in rare]
    levels = {"value": [s * 7 for s in sizes], "num_rare": rare, "model_class": ["product"] * 3}
    extra = {"log_class_size": lambda v: v[0] / 7}
    table = pd.concat([synthetic_search_table(levels, extra=extra).assign(search="fixed_N"),
                       synthetic_optimum_table(levels, extra=extra)])
    summary = analysis.summarize(table)
    assert summary["slopes"]["product_fixed_N"]["slope"] == pytest.approx(1.0, rel=1e-12)
    assert summary["slopes"]["product_optimum"]["slope"] == pytest.approx(1.0, rel=1e-12)
    theory_n = (np.array(sizes) + math.log(10)) / (0.25 * 0.1)
    assert summary["slopes"]["product_optimum"]["theory_slope_on_grid"] == pytest.approx(numpy_slope(sizes, theory_n))
    assert [c["log_class_size"] for c in summary["cells"]] == pytest.approx(sizes * 2)


def test_sft_n_vs_N_summarize_fits_the_terms():
    sweep = experiment_module("sft_n_vs_N")
    analysis = experiment_module("sft_n_vs_N", "analysis")
    ns, big_ns = 2.0 ** np.arange(1, 9), 2.0 ** np.arange(0, 7)
    n, big_n = (a.ravel() for a in np.meshgrid(ns, big_ns, indexing="ij"))
    # an exact sum of the two terms with known constants: the fits recover them where one term dominates
    statistical, coverage_term = 0.5 / n, 0.2 / big_n
    table = pd.DataFrame({"num_prompts": n, "num_samples": big_n, "expected_error": statistical + coverage_term,
                          "statistical_term": statistical / 0.01, "coverage_term": coverage_term / 0.1,
                          "coverage": 6.0})
    summary = analysis.summarize(table)
    assert summary["levels"] == sweep.LEVELS and summary["coverage"] == 6.0
    top = table[table.num_samples == big_ns.max()]
    keep = analysis._decaying(top.expected_error)
    ratio = np.asarray(top.expected_error)[keep] / np.asarray(top.statistical_term)[keep]
    assert summary["fitted_constants"]["statistical"] == pytest.approx(np.exp(np.mean(np.log(ratio))), rel=1e-12)
    assert -1.2 < summary["slopes"]["error_vs_n"]["slope"] < -0.5


def test_bad_parameters():
    epsilon, class_size = experiment_module("sft_epsilon"), experiment_module("sft_class_size")
    coverage = experiment_module("sft_coverage")
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="algorithm must be 'sft' or 'adaptive'"):
        epsilon.run_cell({"eps": 0.2, "algorithm": "dpo", "search": "ray"}, key, 4)
    with pytest.raises(ValueError, match="search must be 'optimum' or 'ray'"):
        epsilon.run_cell({"eps": 0.2, "algorithm": "sft", "search": "grid"}, key, 4)
    with pytest.raises(ValueError, match="sft_epsilon supports eps ≥"):
        epsilon.run_cell({"eps": 0.001, "algorithm": "sft", "search": "ray"}, key, 4)
    with pytest.raises(ValueError, match="search must be 'optimum' or 'ray'"):
        coverage.run_cell({"num_candidates": 8, "search": "best"}, key, 4)
    with pytest.raises(ValueError, match="model_class must be 'product' or 'tabular'"):
        class_size.run_cell({"num_rare": 2, "model_class": "linear", "search": "fixed_N"}, key, 4)
    with pytest.raises(ValueError, match="search must be 'optimum' or 'fixed_N'"):
        class_size.run_cell({"num_rare": 2, "model_class": "product", "search": "ray"}, key, 4)
    with pytest.raises(ValueError, match="num_rare must lie in"):
        class_size.run_cell({"num_rare": 0, "model_class": "product", "search": "fixed_N"}, key, 4)


def test_class_size_instance_pads_with_massless_prompts():
    class_size = experiment_module("sft_class_size")
    policy = class_size.instance(3)
    probs, mu = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    assert probs.shape == (class_size.MAX_RARE + 1, class_size.NUM_CANDIDATES + 1)
    assert np.allclose(mu[:4], [0.8, 0.2 / 3, 0.2 / 3, 0.2 / 3]) and np.all(mu[4:] == 0)
    assert np.allclose(probs.sum(axis=1), 1) and np.all(probs[4:, 0] == 1)


@pytest.mark.slow
@pytest.mark.parametrize("name, overrides, seeds", [
    ("sft_coverage", {"num_candidates": [8, 16, 32]}, 36),
    ("sft_epsilon", {"eps": [0.4, 0.2, 0.1]}, 36),
    ("sft_class_size", {"num_rare": [1, 2, 4], "model_class": ["product", "tabular"]}, 36),
    ("sft_n_vs_N", {"num_prompts": [2, 16, 64], "max_samples": [64], "num_sample_levels": [4]}, 1),
])
def test_experiment_runs_on_a_tiny_grid(tmp_path, name, overrides, seeds):
    experiment = get_experiment(name)
    layout = default_layout(name, tmp_path, quick=True)
    output = run_experiment(experiment, layout, quick=True, overrides=overrides, seeds=seeds, progress=False)
    assert layout.figure_path.exists() and layout.summary_path.exists()
    summary = output.summary
    if name == "sft_n_vs_N":
        assert np.all((output.table.expected_error >= 0) & (output.table.expected_error <= 1))
        # more prompts or more samples never hurt much: the exact error at the largest (n, N) is the smallest
        corner = output.table[(output.table.num_prompts == 64) & (output.table.num_samples == 64)]
        assert float(corner.expected_error.iloc[0]) <= output.table.expected_error.min() + 1e-12
    else:
        m_star = [cell["m_star"] for cell in summary["cells"]]
        assert all(np.isfinite(m_star)) and all(m > 0 for m in m_star)
        assert all(c["m_low"] <= c["m_star"] <= c["m_high"] for c in summary["cells"])
    if name == "sft_epsilon":
        # halving ε can only make the problem harder, for both algorithms
        for algorithm in ("sft", "adaptive"):
            for search in ("optimum", "ray"):
                cells = sorted((c for c in summary["cells"] if c["algorithm"] == algorithm and c["search"] == search),
                               key=lambda c: -c["eps"])
                assert cells[0]["m_star"] < cells[-1]["m_star"]
        assert summary["slopes"]["sft_optimum"]["slope"] < summary["slopes"]["adaptive_optimum"]["slope"] < 0
    if name != "sft_n_vs_N":
        # the algorithm's own optimum is never above the theorem's prescription on the same seeds' grid
        for cell in (c for c in summary["cells"] if c.get("search") == "optimum"):
            twins = [c for c in summary["cells"] if c.get("search") != "optimum"
                     and all(c.get(k) == cell.get(k) for k in ("eps", "algorithm", "num_candidates", "num_rare",
                                                               "model_class"))]
            assert all(cell["m_star"] <= 1.05 * twin["m_star"] for twin in twins)
