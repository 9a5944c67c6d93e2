"""Bad input to the public functions of ``sharpsim.measure`` (issue 12): non-numbers and wrong objects raise
``TypeError`` naming the argument; NaN, out-of-range values and mismatched shapes raise ``ValueError`` naming the
argument(s) and the value or shapes; sizes too large for memory are refused before anything is allocated; and the
new numerical paths (a confidence within 1e-16 of 1, budgets beyond int64) give finite answers checked against
references written here."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sharpsim as ss
from sharpsim.instances.sphere import sphere
from sharpsim.measure import allocation, complexity, first_success, hard_learners, rlhf_engine, sft_search, statistics

KEYS = jax.random.split(jax.random.PRNGKey(0), 4)
NOT_NUMBERS = ["abc", None, {"a": 1}, object()]


def always(keys, budget):
    return np.ones(np.shape(keys)[0], bool)


# --- statistics -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,argument", [
    (lambda v: statistics.wilson_interval(v, 10), "successes"),
    (lambda v: statistics.wilson_interval(3, v), "trials"),
    (lambda v: statistics.clopper_pearson_interval(v, 10), "successes"),
    (lambda v: statistics.wilson_interval(3, 10, v), "confidence"),
    (lambda v: statistics.mean_interval(v), "values"),
    (lambda v: statistics.mean_interval([0.1, 0.2], low=v), "low"),
    (lambda v: statistics.quantile_interval(v, 0.5), "samples"),
    (lambda v: statistics.quantile_interval([1.0, 2.0], v), "q"),
    (lambda v: statistics.fit_loglog_slope(v, [1.0, 2.0, 3.0]), "x"),
    (lambda v: statistics.bootstrap_slope_interval([1.0, 2.0, 3.0], v), "y_resamples"),
    (lambda v: statistics.slope_record([1.0, 2.0, 3.0], v), "measured"),
    (lambda v: statistics.slope_record([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], v), "min_points"),
    (lambda v: statistics.slope_against_theory([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], v), "theory"),
    (lambda v: statistics.fit_loglog_slope([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).predict(v), "x"),
    (lambda v: complexity.threshold_from_table(v, [1, 2], [2, 2], 0.5), "budgets"),
    (lambda v: complexity.threshold_from_table([1, 2], [1, 2], [2, 2], 0.5, interval=v), "interval"),
])
@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_non_numbers_are_refused_naming_the_argument(call, argument, value):
    with pytest.raises((TypeError, ValueError), match=rf"\b{argument}\b"):
        call(value)


@pytest.mark.parametrize("call,match", [
    # the example: a NaN among the x of a bootstrap slope returned (nan, nan)
    (lambda: statistics.bootstrap_slope_interval([1.0, 2.0, math.nan], np.ones((5, 3))),
     r"x must be positive and finite for a log-log slope; entry \(2,\) is nan"),
    (lambda: statistics.bootstrap_slope_interval([1.0, 2.0, 3.0], np.full((5, 3), math.inf)),
     "y_resamples must be positive"),
    (lambda: statistics.bootstrap_slope_interval([2.0, 2.0, 2.0], np.ones((5, 3))),
     "x must take at least two distinct"),
    (lambda: statistics.bootstrap_slope_interval([1.0, 2.0, 3.0], np.ones((0, 3))),
     r"y_resamples must have shape \[B, 3\]"),
    (lambda: statistics.bootstrap_slope_interval([[1.0, 2.0], [3.0, 4.0]], np.ones((5, 4))), "x must be a 1-d array"),
    (lambda: statistics.wilson_interval([1, 2], [3, 4, 5]),
     r"successes and trials must have shapes that broadcast together, got successes of shape \(2,\) and trials of "
     r"shape \(3,\)"),
    (lambda: statistics.wilson_interval([1, 5], [4, 4]), r"successes must lie in \[0, trials\]; entry \(1,\) is 5.0"),
    (lambda: statistics.clopper_pearson_interval(1, [4, math.nan]),
     r"trials must be positive and finite; entry \(1,\)"),
    (lambda: statistics.mean_interval([0.1, 0.2], low=math.nan), "low must be a real number"),
    (lambda: statistics.mean_interval([0.1, 0.2], low=1.0, high=0.0), "low must be at most high"),
    (lambda: statistics.quantile_interval([], 0.5), "samples must hold at least one sample"),
    (lambda: statistics.fit_loglog_slope([1.0, 2.0, 3.0], [1.0, math.nan, 3.0]),
     r"y must be positive and finite for a log-log fit; entry \(1,\) is nan"),
    (lambda: statistics.slope_record([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0]),
     r"x and measured must be 1-d arrays of one length, got shapes \(4,\) and \(3,\)"),
    (lambda: statistics.slope_against_theory([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0]),
     r"measured and theory must have one shape, got \(3,\) and \(2,\)"),
    (lambda: statistics.slope_against_theory([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 0.0, 2.0]),
     "theory must be positive and finite"),
    (lambda: statistics.slope_record([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 2), "min_points must be an integer >= 3"),
    (lambda: statistics.fit_loglog_slope([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).predict([-1.0, 2.0]), "x must be positive"),
])
def test_statistics_refuse_bad_values_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_broadcast_of_counts_too_large_for_memory_is_refused(monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", "1000")
    with pytest.raises(ValueError, match=r"the interval .*\(20, 20\)"):
        statistics.wilson_interval(np.ones((20, 1)), np.full((1, 20), 4.0))


CONFIDENCE_NEAR_ONE = 1.0 - 2.0**-53  # 0.5 + confidence/2 rounds to 1 in float64


def test_intervals_at_a_confidence_next_to_one_are_finite_and_match_the_upper_tail():
    z = -stats.norm.ppf((1.0 - CONFIDENCE_NEAR_ONE) / 2.0)  # the two-sided quantile from the lower tail
    assert 8.0 < z < 8.5
    k, n = np.array([0, 3, 10]), np.array([10, 10, 10])
    low, high = statistics.wilson_interval(k, n, CONFIDENCE_NEAR_ONE)
    phat = k / n
    center = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    np.testing.assert_allclose(low[1:], (center - half)[1:], rtol=1e-9)
    np.testing.assert_allclose(high[:2], (center + half)[:2], rtol=1e-9)
    assert low[0] == 0.0 and high[2] == 1.0
    values = np.array([0.1, 0.4, 0.35, 0.2])
    mean, lower, upper = statistics.mean_interval(values, CONFIDENCE_NEAR_ONE)
    assert upper - mean == pytest.approx(z * values.std(ddof=1) / 2.0, rel=1e-9)
    x = np.array([1.0, 2.0, 4.0, 8.0])
    fit = statistics.fit_loglog_slope(x, x**1.5 * np.array([1.0, 1.1, 0.9, 1.05]), CONFIDENCE_NEAR_ONE)
    t = -stats.t.ppf((1.0 - CONFIDENCE_NEAR_ONE) / 2.0, df=2)
    reference = statistics.fit_loglog_slope(x, x**1.5 * np.array([1.0, 1.1, 0.9, 1.05]), 0.95)
    t95 = stats.t.ppf(0.975, df=2)
    assert fit.slope_high - fit.slope == pytest.approx((reference.slope_high - reference.slope) * t / t95, rel=1e-9)


# --- the threshold search ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,error,match", [
    (lambda: complexity.sample_complexity(3, KEYS, 0.1), TypeError, "success_batch must be a callable"),
    (lambda: complexity.sample_complexity(always, "abc", 0.1), TypeError, "keys must be a batch of PRNG keys"),
    (lambda: complexity.sample_complexity(always, KEYS[0], 0.1), ValueError,
     r"keys must be a batch .* got shape \(2,\)"),
    (lambda: complexity.sample_complexity(lambda k, b: np.full(4, 0.5), KEYS, 0.1), ValueError,
     "success_batch must return booleans"),
    (lambda: complexity.sample_complexity(always, KEYS, 0.1, interval=["wilson"]), ValueError,
     "interval must be one of"),
    (lambda: complexity.vectorize_success(None), TypeError, "success must be a callable"),
    (lambda: complexity.threshold_from_table([math.nan, 2], [1, 2], [2, 2], 0.5), ValueError,
     r"budgets must be positive and finite; entry 0 is nan"),
    (lambda: complexity.threshold_from_table([1, 2], [1, 3], [2, 2], 0.5), ValueError,
     r"successes must lie in \[0, trials\]"),
    (lambda: complexity.fit_complexity_slope([1.0, 2.0], [1.0, 2.0]), TypeError,
     r"results\[0\] must be a SampleComplexity"),
    (lambda: complexity.fit_complexity_slope([1.0, 2.0], "ab"), TypeError,
     "results must be a list of SampleComplexity"),
    (lambda: complexity.bootstrap_complexity_slope([1.0, 2.0], [], seed=0), ValueError,
     r"x and results must have one entry per instance"),
])
def test_threshold_search_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _result(threshold, seeds=40):
    return complexity.sample_complexity(lambda k, b: np.full(seeds, b >= threshold), np.zeros((seeds, 2), np.uint32),
                                        0.1, max_budget=64)


@pytest.mark.parametrize("seed,error", [(-1, ValueError), (2.5, TypeError), ("a", TypeError), (math.nan, TypeError)])
def test_bootstrap_seed_and_size_are_checked(seed, error, monkeypatch):
    results = [_result(t) for t in (2, 4, 8)]
    with pytest.raises(error, match="seed"):
        complexity.bootstrap_complexity_slope([1.0, 2.0, 4.0], results, num_resamples=10, seed=seed)
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", "1000")
    with pytest.raises(ValueError, match=r"num_resamples .*\(10000, "):
        complexity.bootstrap_complexity_slope([1.0, 2.0, 4.0], results, num_resamples=10_000)


def test_a_search_past_int64_stops_at_the_largest_int64_budget():
    """Budgets reach ``success_batch`` as int64: with max_budget = 10**30 and no success the search ends at
    2**63 − 1 (upper = inf, not an overflow)."""
    seen = []

    def never(keys, budget):
        seen.append(int(budget))
        return np.zeros(4, bool)

    result = complexity.sample_complexity(never, KEYS, 0.1, max_budget=10**30)
    assert max(seen) == 2**63 - 1 and result.estimate == result.upper == math.inf
    assert result.budgets[-1] == 2**63 - 1 and [2**k for k in range(63)] == sorted(seen)[:63]


# --- allocations ------------------------------------------------------------------------------------------------------

def _rows():
    columns = allocation.search_allocations(lambda k, n, shape: np.full(40, n * shape["N"] >= 8), np.zeros((40, 2)),
                                            0.1, [{"N": 1.0}, {"N": 2.0}], lambda n, shape: n * shape["N"], max_size=16)
    return pd.DataFrame(columns)


@pytest.mark.parametrize("call,error,match", [
    (lambda: allocation.shape_grid(17, 16), ValueError, "low must be at most high, got low=17.0 and high=16.0"),
    (lambda: allocation.shape_grid(1, 1e30), ValueError, r"high must lie in \[1, 9.22337e\+18\]"),
    (lambda: allocation.shape_grid(1, 1e18, 1.0 + 1e-15), ValueError, r"shape_grid\(low=1, high=1e\+18, ratio="),
    (lambda: allocation.search_allocations(always, KEYS, 0.1, [{"N": 1.0}], 3, max_size=8), TypeError,
     "queries must be a callable"),
    (lambda: allocation.search_allocations(always, KEYS, 0.1, [1.0, 2.0], lambda n, s: n, max_size=8), TypeError,
     r"shapes\[0\] must be a mapping"),
    (lambda: allocation.search_allocations(always, KEYS, 0.1, "abc", lambda n, s: n, max_size=8), TypeError,
     "shapes must be a sequence of mappings"),
    (lambda: allocation.search_allocations(always, KEYS, 0.1, [{"N": "x"}], lambda n, s: n, max_size=8), ValueError,
     r"shapes\[0\]\['N'\] must be a finite number"),
    (lambda: allocation.shape_thresholds("abc", 0.9, ["N"]), TypeError, "rows must be a pandas DataFrame"),
    (lambda: allocation.allocation_threshold(pd.DataFrame(), 0.9, ["N"]), ValueError, "rows lacks the columns"),
    (lambda: allocation.allocation_threshold(_rows().iloc[:0], 0.9, ["N"]), ValueError,
     "rows must hold at least one row"),
    (lambda: allocation.allocation_threshold(_rows(), 0.9, ["bogus"]), ValueError, "shape_columns names columns"),
    (lambda: allocation.allocation_threshold(_rows(), 0.9, None), TypeError, "shape_columns must be a list"),
])
def test_allocation_search_refuses_bad_input(call, error, match, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**20))
    with pytest.raises(error, match=match):
        call()


# --- SFT searches -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,error,match", [
    (lambda: sft_search.ray_point(1e300, 1e300, 1.0), ValueError, "budget/1024 × prompts_unit .* must be finite"),
    (lambda: sft_search.samples_grid(math.nan), ValueError, r"prescribed must lie in \(0, inf\), got nan"),
    (lambda: sft_search.samples_grid("a"), TypeError, "prescribed must be a real number"),
    (lambda: sft_search.samples_grid(10.0, below=0.0), ValueError, "below must lie in"),
    (lambda: sft_search.prompt_padding(0.1, factor=0.0), ValueError, r"factor must lie in \(0, inf\)"),
    (lambda: sft_search.prompt_padding(1e-300, factor=1e300), ValueError, "factor/eps must be finite"),
    (lambda: sft_search.prompt_padding(1e-200, factor=1e100), ValueError, r"prompt_padding\(eps=1e-200"),
    (lambda: sft_search.search_sft_cell("bogus", None, None, KEYS, 0.1, 0.1, 0.1, 1.0, 1.0, 8, 8), ValueError,
     "search must be 'optimum' or 'ray'"),
    (lambda: sft_search.search_sft_ray(None, None, "abc", 0.1, 0.1, 0.1, 1.0, 1.0, 8), TypeError, "keys must be"),
    (lambda: sft_search.search_sft_ray(None, None, KEYS, 1.5, 0.1, 0.1, 1.0, 1.0, 8), ValueError, "eps must lie in"),
    (lambda: sft_search.search_sft_ray(None, None, KEYS, 0.1, 0.1, 0.1, 1.0, 1.0, 0), ValueError,
     "max_prompts must be an integer >= 1"),
    (lambda: sft_search.search_sft_ray(None, None, KEYS, 0.1, 0.1, 0.1, 1e9, 1.0, 8), ValueError,
     "max_prompts·1024/prompts_unit must be at least 1"),
    (lambda: sft_search.search_sft_ray(None, None, KEYS, 0.1, 0.1, 0.1, 1.0, 1.0, 10**9), ValueError,
     r"the padded prompts \(seeds × max_prompts\)"),
    (lambda: sft_search.search_sft_optimum(None, None, KEYS, 0.1, 0.1, 0.1, [4.0, math.nan], 8), ValueError,
     "samples_grid must be a non-empty increasing"),
    (lambda: sft_search.search_adaptive_optimum(None, None, KEYS, 0.1, 0.1, 0.1, [{"mu": 1.0, "cap": 9.0}], 8, 4),
     ValueError, r"shapes\[0\]\['cap'\] must be an integer in \[1, max_cap=4\]"),
    (lambda: sft_search.search_rows("abc", lambda b: (1, 1), lambda n, m: n), TypeError,
     "result must be a SampleComplexity"),
    (lambda: sft_search.cell_threshold(pd.DataFrame({"budget": [1.0]}), 0.9), ValueError, "rows lacks the columns"),
    (lambda: sft_search.cell_summary(None, 0.9), TypeError, "rows must be a pandas DataFrame"),
])
def test_sft_searches_refuse_bad_input(call, error, match, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**20))
    with pytest.raises(error, match=match):
        call()


# --- engines (jitted: checked before dispatch) ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sphere_instance():
    return sphere(4)


def test_first_success_refuses_bad_input(monkeypatch):
    policy = ss.make("needle", num_prompts=2, num_responses=8, coverage=4.0)
    with pytest.raises(TypeError, match="policy must be a TabularPolicy"):
        first_success.first_success("abc", KEYS, 4)
    with pytest.raises(TypeError, match="keys must be a batch of PRNG keys"):
        first_success.first_success(policy, jnp.zeros((4, 2), bool), 4)
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**20))
    with pytest.raises(ValueError, match=r"first_success .*\(4, 100000, 3\)"):
        first_success.first_success(policy, KEYS, 100_000)


@pytest.mark.parametrize("change,error,match", [
    (dict(beta=0.0), ValueError, r"beta must lie in \(0, inf\), got 0.0"),
    (dict(beta=jnp.array([0.1, 0.2])), ValueError, r"beta must be a single number, got an array of shape \(2,\)"),
    (dict(optimum=10**6), ValueError, r"optimum must lie in \[0, \d+\], got 1000000"),
    (dict(optimum=1.5), TypeError, "optimum must be an integer"),
    (dict(num_pairs=9), ValueError, r"num_pairs must lie in \[0, 8\], got 9"),
    (dict(max_pairs=0), ValueError, "max_pairs must be an integer >= 1"),
    (dict(keys="abc"), TypeError, "keys must be a batch"),
    (dict(policy="abc"), TypeError, "policy must be a TabularPolicy"),
    (dict(delta=1.0), ValueError, r"delta must lie in \(0, 1\)"),
])
def test_offline_rlhf_engines_refuse_bad_input_before_compiling(change, error, match, sphere_instance):
    arguments = dict(policy=sphere_instance.policy, model_class=sphere_instance.model_class, keys=KEYS, beta=0.1,
                     optimum=sphere_instance.optimum, num_pairs=4, max_pairs=8, delta=0.1)
    arguments.update(change)
    for engine in (rlhf_engine.offline_rlhf_success, rlhf_engine.offline_rlhf_min_norm_success):
        before = engine.trace_count
        with pytest.raises(error, match=match):
            engine(**arguments)
        assert engine.trace_count == before  # refused before tracing


@pytest.mark.parametrize("change,error,match", [
    (dict(alpha=-1.0), ValueError, r"alpha must lie in \[0, inf\)"),
    (dict(reward_range=0.0), ValueError, r"reward_range must lie in \(0, inf\)"),
    (dict(learning_rate=math.nan), ValueError, "learning_rate must lie in"),
    (dict(num_steps=0), ValueError, "num_steps must be an integer >= 1"),
    (dict(num_rounds=10**7), ValueError, r"xpo_success_curves .*\(4, 10000001, 1, \d+\)"),
])
def test_xpo_engine_refuses_bad_input_before_compiling(change, error, match, sphere_instance, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**20))
    arguments = dict(policy=sphere_instance.policy, model_class=sphere_instance.model_class, keys=KEYS, beta=0.1,
                     alpha=0.0, reward_range=2.0, optimum=sphere_instance.optimum, num_rounds=3, delta=0.1,
                     num_steps=2, num_validation=2, learning_rate=0.1)
    arguments.update(change)
    with pytest.raises(error, match=match):
        rlhf_engine.xpo_success_curves(**arguments)


def test_prechecked_engines_keep_their_name_docs_and_live_trace_count():
    engine = rlhf_engine.offline_rlhf_success
    assert engine.__name__ == "offline_rlhf_success" and "Eq. 8" in engine.__doc__
    assert engine.trace_count == engine._jitted.trace_count  # read through, not copied at decoration


def test_xpo_constants_needs_a_linear_instance():
    with pytest.raises(TypeError, match=r"instance must be a linear instance with .margin"):
        rlhf_engine.xpo_constants(object(), 10, 0.1, 0.1)


# --- the hard family --------------------------------------------------------------------------------------------------

HARD = ss.HardClass(2, 8, 0.5)


@pytest.mark.parametrize("call,error,match", [
    (lambda: hard_learners.sft_num_samples("abc"), TypeError, "model_class must be a HardClass"),
    (lambda: hard_learners.num_samples("sft", None), TypeError, "model_class must be a HardClass"),
    (lambda: hard_learners.check_learner(["sft"]), ValueError, "learner must be one of"),
    (lambda: hard_learners.hard_instance([1, 2]), TypeError, "point must be a mapping"),
    (lambda: hard_learners.padded_shapes([HARD, "abc"]), TypeError, r"classes\[1\] must be a HardClass"),
    (lambda: hard_learners.padded_shapes([HARD], "sft"), TypeError, "learners must be a sequence of learner names"),
    (lambda: hard_learners.run_learner(HARD, KEYS, 9, 1, "bayes", 8, 1), ValueError,
     r"budget must lie in \[0, 8\], got 9"),
    (lambda: hard_learners.run_learner(HARD, KEYS, 4, 5, "sft", 8, 4), ValueError,
     r"samples must lie in \[1, 4\], got 5"),
    (lambda: hard_learners.run_learner(HARD, KEYS, 4, 1, "greedy", 8, 4), ValueError, "learner must be one of"),
    (lambda: hard_learners.run_learner(HARD, KEYS, 4, 1, "bayes", 10**5, 10**4), ValueError, "the draws"),
    (lambda: hard_learners.run_adaptive_sft(HARD, KEYS, 4, -1.0, 8, 4), ValueError, r"mu must lie in \(0, inf\)"),
    (lambda: hard_learners.measure_learner("sft", HARD, KEYS, [("sft", (8, 4))]), TypeError,
     "shapes must be the mapping of padded_shapes"),
    (lambda: hard_learners.lower_bound_rates(HARD, 0.0), ValueError, r"eps must lie in \(0, 1\)"),
    (lambda: hard_learners.with_constant_columns({"a": [1, 2], "b": [1]}, {}), ValueError,
     "column 'b' has 1 rows, the first 2"),
    (lambda: hard_learners.adaptive_bayes_exact(HARD, -1), ValueError, "budget must be a finite number of prompts"),
    (lambda: hard_learners.adaptive_bayes_threshold(HARD, "a"), TypeError, "target_error must be a real number"),
    (lambda: hard_learners.allocation_shapes("sft", HARD, ["a"]), TypeError, "factors must hold real numbers"),
    (lambda: hard_learners.allocation_padding("sft", [HARD], [1.0], prompt_factor=2.7), TypeError, "prompt_factor"),
    (lambda: hard_learners.search_learner_allocations("sft", HARD, KEYS, [{"num_samples": 1.0}], 16), TypeError,
     "padding must be the pair"),
    (lambda: hard_learners.search_learner_allocations("sft", HARD, KEYS, [{"mu": 1.0}], (16, 4)), ValueError,
     "must give 'num_samples'"),
])
def test_hard_learners_refuse_bad_input(call, error, match, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**24))
    with pytest.raises(error, match=match):
        call()

