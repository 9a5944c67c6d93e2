"""Tests for the SFT sample-complexity experiments and their shared law engine (sharpsim.experiments._sft_common)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim.algorithms.adaptive_sft import adaptive_sft_sharpen
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import TabularClass
from sharpsim.referee.exact_sft import exact_sft_success_probability
from sharpsim.runner.experiment import experiment_module
from sharpsim.measure import sft_engine as common
from sharpsim.runner.experiment import get_experiment
from sharpsim.core.oracle import Oracle
from sharpsim.referee.quantities import coverage_coefficient, mode_coverage_coefficient, sharpening_error
from sharpsim.measure.statistics import wilson_interval
from sharpsim.runner.sweep import default_layout, run_experiment

EPS, DELTA = 0.1, 0.25


def rare_instance():
    return common.rare_prompt_instance(4, 10, 2 * EPS)


def test_rare_prompt_instance():
    policy = common.rare_prompt_instance(3, 8, 0.3, num_responses=12)
    probs = np.asarray(policy.probs)
    assert probs.shape == (4, 12) and np.allclose(probs.sum(axis=1), 1)
    assert np.allclose(np.asarray(policy.prompt_probs), [0.7, 0.1, 0.1, 0.1])
    assert probs[0, 0] == 1 and np.all(probs[1:, 0] == 0) and np.all(probs[:, 9:] == 0)
    assert [int(np.argmax(row)) for row in probs[1:]] == [1, 2, 3]
    assert np.allclose(probs[1:].max(axis=1), 2 / 8)
    c_cov = 0.7 * 1 + 0.3 * 8 / 2
    assert float(coverage_coefficient(policy)) == pytest.approx(c_cov)
    assert float(mode_coverage_coefficient(policy)) == pytest.approx(c_cov)
    assert common.rare_prompt_coverage(8, 0.3) == pytest.approx(c_cov)
    with pytest.raises(ValueError, match="num_candidates must be ≥ 3"):
        common.rare_prompt_instance(2, 2, 0.3)
    with pytest.raises(ValueError, match="num_responses must be ≥ num_candidates \\+ 1"):
        common.rare_prompt_instance(2, 8, 0.3, num_responses=5)


def test_law_engine_matches_exact_and_oracle():
    """The law engine's success fraction agrees with the exact P[err ≤ ε] (exact_sft) and with sft_sharpen
    run through the oracle."""
    policy = rare_instance()
    model_class = TabularClass.like(policy)
    n, big_n, seeds = 40, 6, 600
    exact = exact_sft_success_probability(policy, n, big_n, DELTA, EPS)
    assert 0.2 < exact < 0.95  # an informative budget
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    law = np.asarray(common.sft_success_law(policy, model_class, keys, jnp.asarray(n), jnp.asarray(float(big_n)),
                                            EPS, DELTA, 64))
    low, high = wilson_interval(law.sum(), seeds, confidence=0.999)
    assert low <= exact <= high
    run = jax.jit(jax.vmap(lambda k: sharpening_error(sft_sharpen(k, Oracle(policy), model_class, n, big_n)[0].policy,
                                                      policy, DELTA) <= EPS))
    oracle = np.asarray(run(jax.random.split(jax.random.PRNGKey(1), seeds)))
    low, high = wilson_interval(oracle.sum(), seeds, confidence=0.999)
    assert low <= exact <= high


def test_law_engine_masks_padding():
    # only the first n of the max_prompts padded pairs count (same compilation as the test above)
    policy = rare_instance()
    model_class = TabularClass.like(policy)
    keys = jax.random.split(jax.random.PRNGKey(2), 600)  # 600 seeds, like the test above: no recompilation
    small = common.sft_success_law(policy, model_class, keys, jnp.asarray(30), jnp.asarray(8.0), EPS, DELTA, 64)
    exact = exact_sft_success_probability(policy, 30, 8, DELTA, EPS)
    low, high = wilson_interval(int(np.sum(small)), 600, confidence=0.999)
    assert low <= exact <= high
    # n = 0 prompts would leave every rare prompt unseen: never sharp
    none = common.sft_success_law(policy, model_class, keys, jnp.asarray(0), jnp.asarray(8.0), EPS, DELTA, 64)
    assert not np.any(np.asarray(none))


def test_adaptive_hit_law_closed_form_and_lemma_i1():
    policy = rare_instance()
    mu = math.log(2 / DELTA)
    hit, expected = common.adaptive_hit_law(policy, mu, 400)
    hit, expected = np.asarray(hit), np.asarray(expected)
    m = 10
    q = (1 - 2 / m) / (m - 1)
    # x0 is deterministic: stops at ⌈μ⌉ with a sure hit; a rare prompt misses iff y* is unseen in ⌈μ/q⌉ draws
    assert hit[0] == pytest.approx(1.0) and expected[0] == pytest.approx(math.ceil(mu))
    assert hit[1:] == pytest.approx(1 - (1 - 2 / m) ** math.ceil(mu / q), rel=1e-12)
    # E[N_μ] = Σ_k P(N_μ > k) by hand: N_μ = min(max(T, ⌈μ/p*⌉), ⌈μ/q⌉), T geometric(p*)
    k_star, k_q = math.ceil(mu / (2 / m)), math.ceil(mu / q)
    by_hand = sum(1.0 if k < k_star else (1 - 2 / m) ** k for k in range(k_q))
    assert expected[1:] == pytest.approx(by_hand, rel=1e-12)
    # Lemma I.1: E[N_μ] ≤ (μ + 1/|y*|)/P*, miss ≤ e^{−μ}
    assert np.all(expected[1:] <= (mu + 1) / (2 / m)) and np.all(1 - hit <= math.exp(-mu))


def test_adaptive_hit_law_matches_algorithm():
    policy = common.rare_prompt_instance(2, 6, 0.5)
    mu, cap, seeds, n = 1.5, 64, 200, 60
    hit, expected = common.adaptive_hit_law(policy, mu, cap)
    run = jax.jit(jax.vmap(lambda k: adaptive_sft_sharpen(k, Oracle(policy), TabularClass.like(policy), n, mu, cap)[0]))
    result = run(jax.random.split(jax.random.PRNGKey(3), seeds))
    prompts = np.asarray(result.prompts).ravel()
    responses = np.asarray(result.responses).ravel()
    used = np.asarray(result.samples_per_prompt).ravel()
    top = np.asarray(policy.probs).argmax(axis=1)
    for x in range(3):
        chosen = prompts == x
        hits = int(np.sum(responses[chosen] == top[x]))
        low, high = wilson_interval(hits, int(chosen.sum()), confidence=0.999)
        assert low - 1e-12 <= float(hit[x]) <= high + 1e-12
        spread = used[chosen].std(ddof=1) / math.sqrt(chosen.sum()) + 1e-9
        assert abs(used[chosen].mean() - float(expected[x])) <= 5 * spread


def test_searches_compile_once_and_record():
    policy = rare_instance()
    model_class = TabularClass.like(policy)
    keys = jax.random.split(jax.random.PRNGKey(4), 600)
    before = common.pairs_success_law.trace_count
    result, n, big_n = common.search_sft_ray(policy, model_class, keys, EPS, DELTA, 0.1, 100.0, 30.0, 64)
    assert common.pairs_success_law.trace_count - before <= 1 and result.budgets.size > 3  # ≤ 1: maybe cached
    assert math.isfinite(result.estimate) and (n, big_n) == common.ray_point(result.estimate, 100.0, 30.0)
    rows = common.search_rows(result, lambda b: common.ray_point(b, 100.0, 30.0), lambda a, b: a * b)
    import pandas as pd

    frame = pd.DataFrame(rows)
    threshold = common.cell_threshold(frame, 0.9)
    assert threshold["m_star"] == n * big_n and threshold["m_low"] <= threshold["m_star"] <= threshold["m_high"]


def test_ray_point():
    assert common.ray_point(common.RAY_UNITS, 10.4, 3.2) == (11, 4)
    assert common.ray_point(1, 10.0, 3.0) == (1, 1)


@pytest.mark.parametrize("name, overrides, seeds", [
    ("sft_coverage", {"num_candidates": [8, 16, 32], "ratio": [1.0]}, 36),
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
            cells = sorted((c for c in summary["cells"] if c["algorithm"] == algorithm), key=lambda c: -c["eps"])
            assert cells[0]["m_star"] < cells[-1]["m_star"]
        assert summary["slopes"]["sft"]["slope"] < summary["slopes"]["adaptive"]["slope"] < 0


def test_bad_parameters():
    with pytest.raises(ValueError, match="algorithm must be 'sft' or 'adaptive'"):
        get_experiment("sft_epsilon").run_cell({"eps": 0.2, "algorithm": "dpo"}, jax.random.PRNGKey(0), 4)
    with pytest.raises(ValueError, match="sft_epsilon supports eps ≥"):
        get_experiment("sft_epsilon").run_cell({"eps": 0.001, "algorithm": "sft"}, jax.random.PRNGKey(0), 4)
    with pytest.raises(ValueError, match="model_class must be 'product' or 'tabular'"):
        get_experiment("sft_class_size").run_cell({"num_rare": 2, "model_class": "linear"}, jax.random.PRNGKey(0), 4)
    with pytest.raises(ValueError, match="num_rare must lie in"):
        get_experiment("sft_class_size").run_cell({"num_rare": 0, "model_class": "product"}, jax.random.PRNGKey(0), 4)


def test_adaptive_pick_law():
    policy = rare_instance()
    hit = jnp.array([1.0, 0.9, 0.8, 0.7, 0.6])
    law = np.asarray(common.adaptive_pick_law(policy, hit))
    assert np.allclose(law.sum(axis=1), 1)
    top = np.asarray(policy.probs).argmax(axis=1)
    assert np.allclose(law[np.arange(5), top], hit)
    # the rest sits on a response outside the argmax set that the base can produce
    for x in range(1, 5):
        other = np.flatnonzero((law[x] > 0) & (np.arange(law.shape[1]) != top[x]))
        assert other.size == 1 and np.asarray(policy.probs)[x, other[0]] > 0


def test_adaptive_hit_law_padding_and_cap():
    policy = rare_instance()
    mu = math.log(2 / DELTA)
    for cap in (3, 17, 60):
        plain = common.adaptive_hit_law(policy, mu, cap)
        padded = common.adaptive_hit_law(policy, mu, cap, max_cap=90)
        np.testing.assert_allclose(np.asarray(plain[0]), np.asarray(padded[0]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(np.asarray(plain[1]), np.asarray(padded[1]), rtol=1e-12)
        assert np.all(np.asarray(plain[1]) <= cap + 1e-12)
    with pytest.raises(ValueError, match=r"cap must lie in \[1, max_cap=10\], got 20"):
        common.adaptive_hit_law(policy, mu, 20, max_cap=10)
