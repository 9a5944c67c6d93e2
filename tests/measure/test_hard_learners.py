"""sharpsim.measure.hard_learners: the budget formulas and padded shapes against hand computations, the fixed-shape
SFT against sft_sharpen and a numpy MLE, the Bayes learner's coordinate error against an exact numpy computation
(Lemma H.3's setting), one compilation per shape set, and the records builder."""

import math

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.core.oracle import Oracle
from sharpsim.measure import hard_learners
from sharpsim.measure.complexity import SampleComplexity


def exact_bayes_error(d, M, delta, m):
    """Coordinate error of the N = 1 Bayes learner after m samples, in numpy (γ = 1/2, a = 2/M): K ~ Bin(m, Δ/d)
    draws land at x_i; none is the argmax w.p. (1 − a)^K, the K draws are then uniform on the M − 1 others with D
    distinct (occupancy recursion), and the uniform posterior on the M − D unseen candidates is right w.p.
    1/(M − D)."""
    a = 2.0 / M
    draws = np.arange(m + 1)
    log_binom = np.array([math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1) for k in draws])
    weights = np.exp(log_binom + draws * math.log(delta / d) + (m - draws) * math.log1p(-delta / d))
    occupancy = np.zeros(M)  # P(D = j) for j = 0..M−1 after k non-argmax draws
    occupancy[0] = 1.0
    error = 0.0
    for k in range(m + 1):
        error += weights[k] * (1.0 - a) ** k * np.sum(occupancy * (1.0 - 1.0 / (M - np.arange(M))))
        stay = occupancy * np.arange(M) / (M - 1)
        move = np.concatenate([[0.0], occupancy[:-1] * (M - 1 - np.arange(M - 1)) / (M - 1)])
        occupancy = stay + move
    return error


def test_budget_formulas_by_hand():
    d, M, delta = 3, 10, 0.25
    model_class = ss.HardClass(d, M, delta)
    a, b = 2 / M, (M - 2) / (M * (M - 1))  # γ = 1/2
    boost = math.log(32)  # ln(2Δ/ε) with Δ = 16ε
    assert hard_learners.num_samples("bayes", model_class) == 1
    assert hard_learners.num_samples("bayes_adaptive", model_class) == 12 * M
    assert hard_learners.num_samples("sft", model_class) == math.ceil(boost / a)
    assert hard_learners.num_samples("adaptive_sft", model_class) == math.ceil(boost / b) + 1
    visits = d / delta * math.log(16)
    expected = {"bayes": visits / a, "bayes_adaptive": visits, "sft": 1.1 * visits, "adaptive_sft": 1.1 * visits}
    for learner, value in expected.items():
        assert hard_learners.predicted_budget(learner, model_class) == int(value)
        cap = hard_learners.budget_cap(learner, model_class)
        assert cap >= 4 * int(value) > cap / 2 and cap & (cap - 1) == 0  # the next power of two


def test_padded_shapes_take_the_maximum_and_bad_input_is_refused():
    small, large = ss.HardClass(2, 8, 0.5), ss.HardClass(5, 20, 0.25)
    shapes = hard_learners.padded_shapes([small, large])
    assert (shapes["max_rare"], shapes["max_candidates"]) == (5, 20)
    for learner in hard_learners.LEARNERS:
        caps = [hard_learners.budget_cap(learner, c) for c in (small, large)]
        samples = [hard_learners.num_samples(learner, c) for c in (small, large)]
        assert shapes[learner] == (max(caps), max(samples))
    assert hard_learners.padded_shapes([large, small]) == shapes
    assert set(hard_learners.padded_shapes([small], ("bayes",))) == {"max_rare", "max_candidates", "bayes"}
    with pytest.raises(ValueError, match="classes must hold at least one HardClass"):
        hard_learners.padded_shapes([])
    with pytest.raises(ValueError, match=r"learner must be one of .*got 'greedy'"):
        hard_learners.padded_shapes([small], ("greedy",))
    with pytest.raises(ValueError, match="shapes has no entry for learner 'sft'"):
        hard_learners.measure_learner("sft", small, jax.random.split(jax.random.key(0), 2), {"bayes": (4, 1)})


def test_hard_instance_follows_hard_parameters_and_pads():
    point = {"coverage": 4.0, "eps": 1 / 64, "d": 3}
    params = ss.hard_parameters(4.0, 1 / 64, 3)
    model_class = hard_learners.hard_instance(point, max_rare=6, max_candidates=40)
    assert (int(model_class.num_rare), int(model_class.num_candidates)) == (3, params["num_candidates"])
    assert float(model_class.delta) == pytest.approx(16 / 64, rel=1e-12)
    assert (model_class.max_rare, model_class.max_candidates) == (6, 40)
    with pytest.raises(ValueError, match="point must give coverage, eps and d"):
        hard_learners.hard_instance({"coverage": 4.0, "eps": 0.1})


@pytest.mark.slow
def test_fixed_shape_sft_is_sft_sharpen_at_full_shape():
    model_class = ss.HardClass(3, 9, 0.5)
    fit_class = model_class.bon_class(7)

    def both(key):
        key_index, key_run = jax.random.split(key)
        oracle = Oracle(model_class.random_member(key_index))
        expected, _ = sft_sharpen(key_run, oracle, fit_class, 30, 7)
        return hard_learners.sft_prefix(key_run, oracle, fit_class, 30, 7, 30, 7).index, expected.policy.index

    fitted, expected = jax.jit(jax.vmap(both))(jax.random.split(jax.random.PRNGKey(0), 20))
    assert np.array_equal(np.asarray(fitted), np.asarray(expected))


@pytest.mark.slow
def test_fixed_shape_sft_prefix_is_the_numpy_mle_of_the_first_picks():
    d, M, n_max, N_max, n, N = 3, 6, 40, 9, 17, 4
    model_class = ss.HardClass(d, M, 0.6)
    fit_class = model_class.bon_class(N)
    key_index, key_run = jax.random.split(jax.random.PRNGKey(3))
    oracle = Oracle(model_class.random_member(key_index))
    fit = hard_learners.sft_prefix(key_run, oracle, fit_class, n_max, N_max, n, N)
    key_prompts, key_samples = jax.random.split(key_run)  # the same draws, read in numpy
    prompts, oracle = oracle.draw_prompts(key_prompts, n_max)
    batch, _ = oracle.sample(key_samples, prompts, N_max)
    prompts, responses, log_probs = (np.asarray(v) for v in (prompts, batch.responses, batch.log_probs))
    picks = responses[np.arange(n_max), np.argmax(log_probs[:, :N], axis=1)]  # first maximum of the first N
    for i in range(1, d + 1):
        counts = np.bincount(picks[:n][prompts[:n] == i], minlength=M + 1)[1:]
        assert int(fit.index[i - 1]) == int(np.argmax(counts))  # most frequent pick, lowest index among ties


@pytest.mark.slow
def test_bayes_learner_matches_the_exact_coordinate_error_and_compiles_once():
    d, M, delta, seeds = 2, 8, 0.5, 256
    model_class = ss.HardClass(d, M, delta)
    shapes = hard_learners.padded_shapes([model_class], ("bayes",))
    num_prompts = shapes["bayes"][0]
    keys = jax.random.split(jax.random.PRNGKey(7), seeds)
    before = hard_learners.run_learner.trace_count
    for budget in (8, 24):
        correct, spent = hard_learners.run_learner(model_class, keys, np.int64(budget), np.int64(1), "bayes",
                                                   num_prompts, 1)
        np.testing.assert_array_equal(np.asarray(spent), budget)
        error = 1.0 - np.asarray(correct)[:, :d].mean()
        exact = exact_bayes_error(d, M, delta, budget)
        assert abs(error - exact) <= 4.5 * math.sqrt(exact * (1 - exact) / (seeds * d)), (budget, error, exact)
    assert hard_learners.run_learner.trace_count - before <= 1


def test_measured_records_convert_budgets_to_samples():
    result = SampleComplexity(estimate=8.0, lower=4.0, upper=math.inf, target=15 / 16, confidence=0.95,
                              interval_method="wilson", budgets=np.array([2, 4, 8]), successes=np.array([1, 5, 9]),
                              trials=np.array([10, 10, 10]), converged=True)
    used = {2: 20.0, 4: 41.5, 8: 80.25}
    records = hard_learners.measured_records("sft", result, used)
    assert set(records) >= {"budget", "successes", "trials", "learner", "samples_mean", "m_star", "m_star_low",
                            "m_star_high", "threshold_estimate"}
    np.testing.assert_array_equal(records["samples_mean"], [20.0, 41.5, 80.25])
    np.testing.assert_array_equal(records["m_star"], [80.25] * 3)
    np.testing.assert_array_equal(records["m_star_low"], [41.5] * 3)
    assert np.all(np.isinf(records["m_star_high"]))
    assert list(records["learner"]) == ["sft"] * 3


@pytest.mark.slow
def test_adaptive_bayes_learner_matches_its_exact_error_and_mean_samples():
    """The sample-until-revealed learner through the oracle against the closed forms of ``adaptive_bayes_exact``
    (error (1 − Δ/d)^n (1 − 1/M), E[m] = d(1 − (1 − Δ/d)^n)(1 − γ)M), within 4.5 standard errors."""
    d, M, delta, seeds = 2, 8, 0.5, 512
    model_class = ss.HardClass(d, M, delta)
    num_prompts, max_samples = hard_learners.padded_shapes([model_class], ("bayes_adaptive",))["bayes_adaptive"]
    keys = jax.random.split(jax.random.PRNGKey(3), seeds)
    for budget in (2, 6):
        correct, spent = hard_learners.run_learner(model_class, keys, np.int64(budget), np.int64(1),
                                                   "bayes_adaptive", num_prompts, max_samples)
        error, spent = 1.0 - np.asarray(correct)[:, :d].mean(), np.asarray(spent, float)
        exact_error, exact_samples = hard_learners.adaptive_bayes_exact(model_class, budget)
        unvisited = (1 - delta / d) ** budget  # written out independently of the code under test
        assert exact_error == pytest.approx(unvisited * (1 - 1 / M), rel=1e-12)
        assert exact_samples == pytest.approx(d * (1 - unvisited) * M / 2, rel=1e-12)
        assert abs(error - exact_error) <= 4.5 * math.sqrt(exact_error * (1 - exact_error) / (seeds * d)), budget
        assert abs(spent.mean() - exact_samples) <= 4.5 * spent.std(ddof=1) / math.sqrt(seeds), budget


def test_adaptive_bayes_threshold_is_the_least_passing_budget():
    for d, M, delta in ((4, 26, 0.25), (4, 386, 1 / 64), (1, 8, 0.9), (3, 50, 0.02)):
        model_class = ss.HardClass(d, M, delta)
        budget, samples = hard_learners.adaptive_bayes_threshold(model_class)
        errors = [(1 - delta / d) ** n * (1 - 1 / M) for n in range(budget + 1)]  # numpy-free brute force
        assert errors[budget] <= 1 / 16 < errors[budget - 1]
        assert samples == pytest.approx(d * (1 - (1 - delta / d) ** budget) * M / 2, rel=1e-12)
    assert hard_learners.adaptive_bayes_threshold(ss.HardClass(2, 8, 0.5), target_error=0.9)[0] == 0
    with pytest.raises(ValueError, match="target_error must lie in \\(0, 1\\), got 1.5"):
        hard_learners.adaptive_bayes_threshold(ss.HardClass(2, 8, 0.5), target_error=1.5)


def test_measured_records_carry_the_seeds_spread_when_asked():
    result = SampleComplexity(estimate=4.0, lower=2.0, upper=8.0, target=15 / 16, confidence=0.95,
                              interval_method="wilson", budgets=np.array([2, 4, 8]), successes=np.array([1, 9, 10]),
                              trials=np.array([10, 10, 10]), converged=True)
    records = hard_learners.measured_records("bayes_adaptive", result, {2: 3.0, 4: 5.0, 8: 9.0}, {2: 1.0, 4: 2.0})
    np.testing.assert_array_equal(records["samples_sd"][:2], [1.0, 2.0])
    assert math.isnan(records["samples_sd"][2])
    assert "samples_sd" not in hard_learners.measured_records("bayes_adaptive", result, {2: 3.0, 4: 5.0, 8: 9.0})


# --- the algorithms' own allocations ---------------------------------------------------------------------------


@pytest.mark.slow
def test_run_adaptive_sft_at_the_prescribed_mu_is_the_lower_bound_learner():
    model_class = ss.HardClass(3, 9, 0.5)
    keys = jax.random.split(jax.random.PRNGKey(4), 8)
    cap = hard_learners.num_samples("adaptive_sft", model_class)
    budget = jax.numpy.asarray(17, jax.numpy.int64)
    expected = hard_learners.run_learner(model_class, keys, budget, jax.numpy.asarray(1, jax.numpy.int64),
                                         "adaptive_sft", 40, cap)
    got = hard_learners.run_adaptive_sft(model_class, keys, budget, jax.numpy.asarray(hard_learners.BOOST), 40, cap)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
def test_run_adaptive_sft_mean_samples_match_eq10_in_numpy():
    """E[m] at n prompts = n·[(1 − Δ)⌈μ⌉ + Δ·E N_rare]; on a rare prompt with first argmax draw T ~ Geom(a) the
    rule stops at max(T, ⌈μ/a⌉) if T ≤ K = ⌈μ/b⌉, else at K."""
    d, M, delta, mu, n, seeds = 3, 9, 0.5, 0.9, 60, 256
    a = 2 / M
    b = (1 - a) / (M - 1)
    big_k, big_a = math.ceil(mu / b), math.ceil(mu / a)
    t = np.arange(1, big_k + 1)
    rare = np.sum((1 - a) ** (t - 1) * a * np.maximum(t, big_a)) + (1 - a) ** big_k * big_k
    expected = n * ((1 - delta) * math.ceil(mu) + delta * rare)
    model_class = ss.HardClass(d, M, delta)
    cap = hard_learners.adaptive_cap(model_class, mu)
    assert cap == big_k + 1
    _, spent = hard_learners.run_adaptive_sft(model_class, jax.random.split(jax.random.PRNGKey(1), seeds),
                                              jax.numpy.asarray(n, jax.numpy.int64), jax.numpy.asarray(mu), 80, cap)
    spent = np.asarray(spent, dtype=float)
    assert abs(spent.mean() - expected) < 4 * spent.std(ddof=1) / math.sqrt(seeds)


def test_allocation_shapes_and_padding_by_hand():
    model_class = ss.HardClass(3, 10, 0.25)
    a, b, boost = 2 / 10, (1 - 2 / 10) / 9, math.log(32)
    n_c1 = math.ceil(boost / a)
    assert hard_learners.sft_num_samples(model_class) == n_c1
    factors = [1 / 8, 1 / 4, 1 / 2, 1.0]
    sft = hard_learners.allocation_shapes("sft", model_class, factors)
    assert [s["num_samples"] for s in sft] == sorted({max(1, math.ceil(f * n_c1)) for f in factors})
    ada = hard_learners.allocation_shapes("adaptive_sft", model_class, factors[::-1])
    assert [s["mu"] for s in ada] == pytest.approx([f * boost for f in factors])
    assert [s["cap"] for s in ada] == [math.ceil(f * boost / b) + 1 for f in factors]
    assert hard_learners.prescribed_shape("sft", model_class) == {"num_samples": float(n_c1)}
    assert hard_learners.prescribed_shape("adaptive_sft", model_class)["cap"] == \
        hard_learners.num_samples("adaptive_sft", model_class)
    other = ss.HardClass(2, 20, 0.25)
    prompts, samples = hard_learners.allocation_padding("sft", [model_class, other], factors, prompt_factor=2)
    assert prompts == 2 * max(hard_learners.budget_cap("sft", c) for c in (model_class, other))
    assert samples == math.ceil(boost / (2 / 20))


def test_allocation_helpers_refuse_bad_input():
    model_class = ss.HardClass(3, 10, 0.25)
    with pytest.raises(ValueError, match="learner must be one of .*got 'bayes'"):
        hard_learners.allocation_shapes("bayes", model_class, [1.0])
    with pytest.raises(ValueError, match="factors must be positive finite numbers"):
        hard_learners.allocation_shapes("sft", model_class, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"mu must lie in \(0, inf\), got -1.0"):
        hard_learners.adaptive_cap(model_class, -1.0)
    with pytest.raises(ValueError, match="prompt_factor must be an integer >= 1, got 0"):
        hard_learners.allocation_padding("sft", [model_class], [1.0], prompt_factor=0)
    shapes = hard_learners.allocation_shapes("sft", model_class, [1.0])
    with pytest.raises(ValueError, match=r"padding \(16, 2\) is below the largest num_samples"):
        hard_learners.search_learner_allocations("sft", model_class, jax.random.split(jax.random.PRNGKey(0), 4),
                                                 shapes, (16, 2))


@pytest.mark.slow
def test_search_learner_allocations_rows_flag_the_prescription_and_charge_nN():
    model_class = ss.HardClass(2, 6, 0.5)
    factors = [1 / 2, 1.0]
    shapes = hard_learners.allocation_shapes("sft", model_class, factors)
    padding = hard_learners.allocation_padding("sft", [model_class], factors)
    rows = hard_learners.search_learner_allocations("sft", model_class, jax.random.split(jax.random.PRNGKey(2), 16),
                                                    shapes, padding, resolution=0.5)
    np.testing.assert_array_equal(rows["samples"], rows["budget"] * rows["num_samples"])
    assert set(rows["num_samples"][rows["prescribed"]]) == {float(hard_learners.sft_num_samples(model_class))}
    assert set(rows["learner"]) == {"sft"} and np.all(rows["trials"] == 16 * 2)
    # adaptive SFT: each row's samples is the mean over seeds of the samples used at that n, recomputed directly
    keys = jax.random.split(jax.random.PRNGKey(3), 16)
    shapes = hard_learners.allocation_shapes("adaptive_sft", model_class, factors)
    padding = hard_learners.allocation_padding("adaptive_sft", [model_class], factors)
    rows = hard_learners.search_learner_allocations("adaptive_sft", model_class, keys, shapes, padding, resolution=0.5)
    for budget, mu, samples in list(zip(rows["budget"], rows["mu"], rows["samples"]))[:3]:
        _, spent = hard_learners.run_adaptive_sft(model_class, keys, jax.numpy.asarray(budget, jax.numpy.int64),
                                                  jax.numpy.asarray(mu), *padding)
        assert samples == pytest.approx(np.mean(np.asarray(spent, dtype=float)))
    assert rows["prescribed"].any()
    np.testing.assert_allclose(rows["mu"][rows["prescribed"]], hard_learners.BOOST)


def test_with_constant_columns_repeats_each_constant_on_every_row():
    from sharpsim.measure.hard_learners import with_constant_columns

    table = with_constant_columns({"budget": [1, 2, 3], "successes": np.array([0, 4, 9])}, {"eps": 0.25, "d": 4})
    assert set(table) == {"budget", "successes", "eps", "d"}
    np.testing.assert_array_equal(table["budget"], [1, 2, 3])
    np.testing.assert_array_equal(table["eps"], [0.25] * 3)
    np.testing.assert_array_equal(table["d"], [4] * 3)
