"""Tests for the sft_bitstring experiment (SFT-Sharpening's m* vs C_cov on the autoregressive bitstring family)."""

import math

import numpy as np
import pytest

from sharpsim.measure.complexity import threshold_from_table
from sharpsim.measure.sft_search import ray_point
from sharpsim.referee import sft_laws
from sharpsim.referee.exact_sft import exact_sft_success_probability
from sharpsim.referee.quantities import coverage_coefficient
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import default_layout, run_experiment

sb = experiment_module("sft_bitstring")


def test_instance_is_the_enumerated_bitstring():
    policy = sb.instance(8.0)
    probs = np.asarray(policy.probs)
    assert probs.shape == (sb.NUM_PROMPTS, 2**sb.HORIZON) and np.allclose(probs.sum(axis=1), 1)
    q = 8.0 ** (-1 / sb.HORIZON)
    # independent numpy: each sequence's probability is q^(#agreements)(1−q)^(#disagreements) with the argmax row
    bits = (np.arange(2**sb.HORIZON)[:, None] >> np.arange(sb.HORIZON)[::-1]) & 1  # lexicographic order
    for row in probs:
        target = bits[np.argmax(row)]
        agree = (bits == target).sum(axis=1)
        assert np.allclose(row, q**agree * (1 - q) ** (sb.HORIZON - agree))
    assert float(coverage_coefficient(policy)) == pytest.approx(8.0)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match=r"coverage must lie in \(1, 2\^horizon\)"):
        sb.instance(1.0)
    with pytest.raises(ValueError, match=r"coverage must lie in \(1, 2\^horizon\)"):
        sb.instance(2.0**sb.HORIZON)


def test_ray_units_are_theorem_4_1_at_c_1():
    n0, big_n0, log_size = sb.ray_units(8.0)
    assert log_size == pytest.approx(sb.NUM_PROMPTS * sb.HORIZON * math.log(2))
    assert n0 == pytest.approx((log_size + math.log(1 / sb.RHO)) / (sb.DELTA * sb.EPS))
    assert big_n0 == pytest.approx(8.0 * math.log(2 / sb.DELTA) / sb.EPS)


@pytest.mark.slow
def test_quick_sweep_compiles_once_and_brackets_the_exact_threshold(tmp_path):
    experiment = get_experiment("sft_bitstring")
    assert experiment.sweep is sb.SWEEP
    layout = default_layout("sft_bitstring", tmp_path, quick=True)
    sb.instance(2.0)  # warm: the enumeration itself is not the law engine
    before = sft_laws.pairs_success_law.trace_count
    output = run_experiment(experiment, layout, quick=True, progress=False)
    # every coverage level shares the [X, 2^H] shapes: one trace for the whole sweep (0 if already cached)
    assert sft_laws.pairs_success_law.trace_count - before <= 1
    assert layout.figure_path.exists() and layout.summary_path.exists()
    cells = output.summary["cells"]
    for search in ("optimum", "ray"):
        assert [c["coverage"] for c in cells if c["search"] == search] == experiment.sweep.quick_grid["coverage"]
    assert all(math.isfinite(c["m_star"]) and c["m_low"] <= c["m_star"] <= c["m_high"] for c in cells)
    # the exact success probability (binomial counts, exact_sft) crosses 1 − ρ inside the measured interval:
    # P ≥ 1 − ρ at the interval's upper budget and < 1 − ρ one budget below its lower end
    coverage = 8.0
    rows = output.table[(output.table.coverage == coverage) & (output.table.search == "ray")].sort_values("budget")
    _, lower, upper = threshold_from_table(rows.budget, rows.successes, rows.trials, 1 - sb.RHO)
    policy = sb.instance(coverage)
    prompts_unit, samples_unit, _ = sb.ray_units(coverage)

    def exact(budget):
        n, big_n = ray_point(int(budget), prompts_unit, samples_unit)
        return exact_sft_success_probability(policy, n, big_n, sb.DELTA, sb.EPS)

    assert exact(upper) >= 1 - sb.RHO
    assert exact(lower - 1) < 1 - sb.RHO


@pytest.mark.slow
def test_oracle_run_on_the_autoregressive_base_matches_the_law_engine():
    """sft_sharpen run token-level through the Oracle on the bitstring MarkovPolicy (tabular class fitted on the
    picked sequences) succeeds as often as the exact law on the enumerated policy the experiment uses."""
    import jax

    from sharpsim.algorithms.sft import sft_sharpen
    from sharpsim.classes import TabularClass
    from sharpsim.instances.autoregressive import bitstring
    from sharpsim.core.oracle import Oracle
    from sharpsim.referee.quantities import sharpening_error
    from sharpsim.measure.statistics import wilson_interval

    base = bitstring(horizon=sb.HORIZON, coverage=8.0, key=jax.random.PRNGKey(sb.TARGET_SEED),
                     num_prompts=sb.NUM_PROMPTS)
    table = sb.instance(8.0)
    assert np.allclose(np.asarray(base.to_tabular().probs), np.asarray(table.probs))
    model_class = TabularClass.like(base)
    n, big_n, seeds = 74, 17, 400

    def sharp(key):
        learned = sft_sharpen(key, Oracle(base), model_class, n, big_n)[0].policy
        return sharpening_error(learned.to_tabular(), table, sb.DELTA) <= sb.EPS

    hits = np.asarray(jax.jit(jax.vmap(sharp))(jax.random.split(jax.random.PRNGKey(5), seeds)))
    exact = exact_sft_success_probability(table, n, big_n, sb.DELTA, sb.EPS)
    assert 0.2 < exact < 0.99  # an informative budget
    low, high = wilson_interval(int(hits.sum()), seeds, confidence=0.999)
    assert low <= exact <= high
