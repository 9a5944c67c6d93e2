"""xpo_vs_sft and offline_vs_online: their pieces against closed forms written here, the pair-dropping identity,
one small sweep, and the analyses on synthetic tables."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from sharpsim.algorithms.rlhf import linear_rlhf_fit
from sharpsim.runner.experiment import experiment_module
offline_vs_online = experiment_module("offline_vs_online")
xpo_vs_sft = experiment_module("xpo_vs_sft")
from sharpsim.runner.experiment import get_experiment
from sharpsim.instances.sphere import sphere
from sharpsim.core.oracle import Oracle
from sharpsim.runner.sweep import default_layout, run_experiment


def test_registered():
    assert get_experiment("xpo_vs_sft") is xpo_vs_sft.EXPERIMENT
    assert get_experiment("offline_vs_online") is offline_vs_online.EXPERIMENT


@pytest.mark.parametrize("coverage", [1.5, 6.66, 98.2, 3082.4])
def test_exact_sft_threshold_is_the_first_n_with_success(coverage):
    p = 1 / coverage
    n = 1
    while 1 - (1 - p) ** n < 1 - xpo_vs_sft.RHO:
        n += 1
    assert xpo_vs_sft.exact_sft_threshold(coverage) == n


def test_xpo_constants_follow_the_theorems():
    instance = sphere(8, delta=xpo_vs_sft.DELTA)
    rounds = 40
    got = xpo_vs_sft.xpo_constants(instance, rounds)
    size, radius, d, delta, eps = instance.num_responses, instance.radius, 8, xpo_vs_sft.DELTA, xpo_vs_sft.EPS
    beta = instance.margin / (2 * math.log(2 * size / delta))
    reward = math.sqrt(4 * beta**2 * radius**2 + (2 * radius + math.log(size)) ** 2)
    sec = d * math.log(rounds + 1)
    eps_disc = eps * delta / math.sqrt(sec * rounds)
    log_net = d * math.log(6 * radius / eps_disc)
    alpha = beta / reward * math.sqrt((math.log(2) + log_net + math.log(rounds) + math.log(1 / delta)) / (sec * rounds))
    assert got["beta"] == pytest.approx(beta, rel=1e-12)
    assert got["reward_range"] == pytest.approx(reward, rel=1e-12)
    assert got["log_net_size"] == pytest.approx(log_net, rel=1e-12)
    assert got["alpha_thm"] == pytest.approx(alpha, rel=1e-12)
    assert instance.realizes(beta)


def test_sft_first_hit_is_geometric_and_single_target_fits_behave():
    instance = sphere(4)
    p = 1 / instance.coverage
    first = np.asarray(xpo_vs_sft.sft_first_hit(instance.policy, jax.random.split(jax.random.PRNGKey(0), 3000), 256))
    assert np.all(first >= 1)  # (1 − p)^256 ≈ 1e-17
    for n in (1, 3, 10):
        expected = 1 - (1 - p) ** n
        assert abs(np.mean(first <= n) - expected) < 4 * math.sqrt(expected * (1 - expected) / first.size)
    at_optimum, at_other = xpo_vs_sft.sft_fit_mass(instance)
    assert at_optimum >= 1 - xpo_vs_sft.DELTA and at_other < xpo_vs_sft.DELTA


def test_dropped_pairs_are_exactly_absent_from_the_offline_fit():
    """Replacing pair (y, y') by (y, y) zeroes its residual for every θ, so the masked fit equals the fit on the
    kept pairs (the identity offline_vs_online's budget sweep relies on)."""
    instance = sphere(6, scale=2.0)
    beta = 0.2
    oracle = Oracle(instance.policy)
    prompts, oracle = oracle.draw_prompts(jax.random.PRNGKey(1), 20)
    batch, _ = oracle.sample(jax.random.PRNGKey(2), prompts, 2)
    kept = 9
    keep = (jnp.arange(20) < kept)[:, None]
    masked = linear_rlhf_fit(instance.model_class, prompts, jnp.where(keep, batch.responses, batch.responses[:, :1]),
                             jnp.where(keep, batch.log_probs, batch.log_probs[:, :1]), beta)
    truncated = linear_rlhf_fit(instance.model_class, prompts[:kept], batch.responses[:kept],
                                batch.log_probs[:kept], beta)
    assert bool(masked.converged) and bool(truncated.converged)
    np.testing.assert_allclose(masked.policy.probs, truncated.policy.probs, atol=1e-5)


def test_small_sweep_compiles_once_per_dimension_and_matches_the_exact_sft_threshold(tmp_path):
    before = xpo_vs_sft.xpo_success_curves.trace_count
    output = run_experiment(xpo_vs_sft.EXPERIMENT, default_layout("xpo_vs_sft", tmp_path, tag="t"),
                            overrides={"dimension": [4], "method": ["sft", "xpo_alpha0", "xpo_alpha_small"]},
                            seeds=40, progress=False)
    assert xpo_vs_sft.xpo_success_curves.trace_count - before <= 1  # α is traced: both XPO cells share it
    cells = {c["method"]: c for c in output.summary["cells"]}
    sft = cells["sft"]
    assert sft["m_star_lower"] <= sft["exact_sft_threshold"] <= sft["m_star_upper"]
    for method in ("xpo_alpha0", "xpo_alpha_small"):
        xpo = cells[method]
        assert math.isfinite(xpo["m_star"]) and xpo["m_star"] % 2 == 0 and xpo["m_star"] >= 2
        assert xpo["m_star_with_validation"] == xpo["m_star"] + (xpo["m_star"] / 2 + 1) * xpo_vs_sft.NUM_VALIDATION
        assert xpo["xpo_last_iterate_success"] >= 0.9
    assert output.layout.figure_path.stat().st_size > 20_000


def _synthetic_rows(method, x_name, x, thresholds, extra):
    frames = []
    for value, threshold in zip(x, thresholds):
        budgets = np.array([threshold / 2, threshold, 2 * threshold])
        frames.append(pd.DataFrame({x_name: value, "method": method, "budget": budgets,
                                    "successes": [0, 100, 100], "trials": 100,
                                    **{k: v(value) for k, v in extra.items()}}))
    return frames


def test_analyses_on_synthetic_tables_report_growth_and_crossover(tmp_path):
    dims = [4, 8, 12, 16]
    info = {"num_responses": lambda d: 2.0 ** (d / 2), "coverage": lambda d: 2.0 ** (d / 2) / 3,
            "margin": lambda d: 0.65, "beta": lambda d: 0.05, "alpha": lambda d: 0.0,
            "exact_threshold": lambda d: 2.0 ** (d / 2), "fit_mass_at_optimum": lambda d: 1.0,
            "last_iterate_success": lambda d: 1.0, "threshold_with_validation": lambda d: 40.0 * d,
            "threshold_with_validation_upper": lambda d: 50.0 * d}
    frames = (_synthetic_rows("sft", "dimension", dims, [2.0 ** (d / 2) for d in dims], info)
              + _synthetic_rows("xpo_alpha0", "dimension", dims, [4.0 * d for d in dims], info))
    summary = xpo_vs_sft.analyze(pd.concat(frames, ignore_index=True), tmp_path / "xvs.png")
    growth = summary["growth"]
    assert growth["sft"]["log_m_per_dimension"] == pytest.approx(math.log(2) / 2, rel=1e-9)
    assert growth["xpo_alpha0"]["loglog_slope"] == pytest.approx(1.0, abs=1e-9)
    assert summary["first_dimension_xpo_alpha0_beats_sft"] == 12  # 48 < 64, while 32 > 16 at d = 8
    assert (tmp_path / "xvs.png").stat().st_size > 20_000

    scales = [0.5, 1.0, 2.0]
    cover = {0.5: 150.0, 1.0: 100.0, 2.0: 40.0}
    extra = {"coverage": lambda s: cover[s], "margin": lambda s: 0.5, "beta": lambda s: 0.05,
             "exact_sft_threshold": lambda s: 2.3 * cover[s]}
    frames = (_synthetic_rows("sft", "scale", scales, [2.3 * cover[s] for s in scales], extra)
              + _synthetic_rows("rlhf_offline", "scale", scales, [24.0, 24.0, 24.0], extra))
    summary = offline_vs_online.analyze(pd.concat(frames, ignore_index=True), tmp_path / "ovo.png")
    assert summary["slopes"]["sft"]["slope"] == pytest.approx(1.0, abs=1e-9)
    assert summary["slopes"]["rlhf_offline"]["slope"] == pytest.approx(0.0, abs=1e-9)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="offline_vs_online knows methods"):
        offline_vs_online.run_cell({"scale": 1.0, "method": "dpo"}, jax.random.PRNGKey(0), 4)
