"""SFT-Sharpening and adaptive SFT-Sharpening: query accounting, recovery, Lemma I.1, Thm D.1's E[m], errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta

import sharpsim  # noqa: F401  (float64)
from sharpsim.algorithms.adaptive_sft import adaptive_sft_sharpen, adaptive_stopping_time
from sharpsim.algorithms.best_of_n import best_of_n_law
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import FiniteClass, LinearSoftmaxClass, TabularClass
from sharpsim.core.oracle import Oracle, QueryBudgetExceeded
from sharpsim.core.policy import TabularPolicy
from sharpsim.referee.quantities import mode_coverage_coefficient, sharpening_error

BASE = TabularPolicy(
    np.array([[0.3, 0.25, 0.25, 0.2], [0.1, 0.6, 0.2, 0.1], [0.05, 0.05, 0.1, 0.8]]), np.array([0.5, 0.3, 0.2])
)


def empirical_policy(prompts, responses, num_prompts, num_responses):
    probs = np.full((num_prompts, num_responses), 1.0 / num_responses)
    for x in range(num_prompts):
        targets = responses[prompts == x]
        if targets.size:
            probs[x] = np.bincount(targets, minlength=num_responses) / targets.size
    return probs


# --- SFT-Sharpening ------------------------------------------------------------------------------


@pytest.mark.slow
def test_sft_query_counts_are_exactly_n_times_N_eager_jit_and_vmap():
    model_class = TabularClass.like(BASE)
    _, used = Oracle(BASE).sample(jax.random.PRNGKey(9), jnp.array([0]), 7)  # history: results report this run's use
    result, oracle = sft_sharpen(jax.random.PRNGKey(0), used, model_class, 13, 9)
    assert (int(result.queries.prompts), int(result.queries.samples), int(result.queries.evaluations)) == (13, 117, 0)
    assert int(oracle.queries.samples) == 7 + 117
    run = jax.jit(jax.vmap(lambda key: sft_sharpen(key, Oracle(BASE), model_class, 13, 9)[0]))
    results = run(jax.random.split(jax.random.PRNGKey(1), 5))
    np.testing.assert_array_equal(np.asarray(results.queries.samples), np.full(5, 13 * 9))
    np.testing.assert_array_equal(np.asarray(results.queries.prompts), np.full(5, 13))


@pytest.mark.slow  # compiles several jitted programs; the slow suite (CI) runs it
def test_sft_fits_the_class_on_its_best_of_n_picks():
    result, _ = sft_sharpen(jax.random.PRNGKey(2), Oracle(BASE), TabularClass.like(BASE), 40, 3)
    prompts, responses = np.asarray(result.prompts), np.asarray(result.responses)
    np.testing.assert_allclose(np.asarray(result.log_probs), np.log(np.asarray(BASE.probs))[prompts, responses])
    np.testing.assert_allclose(np.asarray(result.policy.probs), empirical_policy(prompts, responses, 3, 4), atol=1e-15)
    np.testing.assert_allclose(np.asarray(result.policy.prompt_probs), [0.5, 0.3, 0.2])


@pytest.mark.slow
def test_sft_with_large_N_on_the_tabular_class_is_sharpened():
    # P[miss y*] per pick ≤ 0.7^60 ≈ 5e-10; 300 prompts see every x w.p. ≥ 1 − 3·0.8^300
    run = jax.jit(jax.vmap(lambda key: sft_sharpen(key, Oracle(BASE), TabularClass.like(BASE), 300, 60)[0]))
    results = run(jax.random.split(jax.random.PRNGKey(3), 20))
    errors = jax.vmap(lambda policy: sharpening_error(policy, BASE, 0.01))(results.policy)
    np.testing.assert_array_equal(np.asarray(errors), 0.0)


@pytest.mark.slow
def test_sft_on_a_realizable_finite_class_selects_the_best_of_n_law():
    num_samples = 8
    members = np.stack([np.asarray(BASE.probs), np.asarray(best_of_n_law(BASE, num_samples).probs), np.full((3, 4), 0.25)])
    model_class = FiniteClass(members, BASE.prompt_probs)
    run = jax.jit(jax.vmap(lambda key: sft_sharpen(key, Oracle(BASE), model_class, 200, num_samples)[0]))
    results = run(jax.random.split(jax.random.PRNGKey(4), 10))
    np.testing.assert_array_equal(np.asarray(results.policy.index), 1)
    errors = jax.vmap(lambda fit: sharpening_error(fit, BASE, 0.5))(results.policy)
    np.testing.assert_array_equal(np.asarray(errors), 0.0)  # π^BoN_8 puts ≥ 0.94 on every argmax


@pytest.mark.slow
def test_sft_with_the_linear_class_reports_convergence():
    features = np.eye(12).reshape(3, 4, 12)  # one-hot features: the per-prompt softmax with ‖θ‖ ≤ B
    model_class = LinearSoftmaxClass(features, 8.0, BASE.prompt_probs)
    result, _ = sft_sharpen(jax.random.PRNGKey(5), Oracle(BASE), model_class, 100, 30)
    assert bool(result.policy.converged)
    assert float(sharpening_error(result.policy, BASE, 0.1)) == 0.0


def test_sft_bad_hyper_parameters():
    model_class, oracle, key = TabularClass.like(BASE), Oracle(BASE), jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="num_prompts must be an integer >= 1, got 0"):
        sft_sharpen(key, oracle, model_class, 0, 4)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1, got -2"):
        sft_sharpen(key, oracle, model_class, 4, -2)
    with pytest.raises(TypeError, match="num_samples must be an integer"):
        sft_sharpen(key, oracle, model_class, 4, 2.5)
    with pytest.raises(ValueError, match="model_class has num_responses=5 but the oracle's base policy has num_responses=4"):
        sft_sharpen(key, oracle, TabularClass(5, prompt_probs=BASE.prompt_probs), 4, 2)
    with pytest.raises(ValueError, match="model_class has num_prompts=2 but the oracle's base policy has num_prompts=3"):
        sft_sharpen(key, oracle, FiniteClass(np.full((1, 2, 4), 0.25)), 4, 2)
    with pytest.raises(TypeError, match="model_class must offer .fit"):
        sft_sharpen(key, oracle, object(), 4, 2)
    with pytest.raises(TypeError, match="oracle must be a sharpsim Oracle"):
        sft_sharpen(key, BASE, model_class, 4, 2)
    with pytest.raises(QueryBudgetExceeded, match="budget is 10"):
        sft_sharpen(key, Oracle(BASE, budget=10), model_class, 4, 3)


# --- adaptive SFT-Sharpening ---------------------------------------------------------------------


def numpy_stopping_time(probs_tape, mu):
    """Eq. 10 read literally: the first k with 1 / max_{j≤k} p_j ≤ k / μ; the cap when none."""
    best = 0.0
    for k, p in enumerate(probs_tape, start=1):
        best = max(best, p)
        if 1.0 / best <= k / mu:
            return k, False
    return len(probs_tape), True


def test_stopping_time_matches_eq_10_literally():
    rng = np.random.default_rng(0)
    for mu in (0.2, 1.0, math.log(2 / 0.1), 7.5):
        tapes = rng.choice([0.5, 0.25, 0.125, 0.1, 0.025], size=(200, 30))
        stop, capped = adaptive_stopping_time(jnp.log(tapes), mu)
        for row, k, hit in zip(tapes, np.asarray(stop), np.asarray(capped)):
            assert (int(k), bool(hit)) == numpy_stopping_time(row, mu)


@pytest.mark.slow
def test_adaptive_sft_charges_exactly_the_stopping_times_and_picks_within_them():
    key, num_prompts, mu, cap = jax.random.PRNGKey(6), 50, math.log(2 / 0.1), 64
    _, used = Oracle(BASE).sample(jax.random.PRNGKey(9), jnp.array([0]), 3)  # an oracle with history
    result, oracle = adaptive_sft_sharpen(key, used, TabularClass.like(BASE), num_prompts, mu, cap)
    stop = np.asarray(result.samples_per_prompt)
    assert int(result.queries.samples) == stop.sum() and int(oracle.queries.samples) == 3 + stop.sum()
    assert int(result.queries.prompts) == num_prompts
    # white box: rebuild each prompt's tape from the same key split and replay Eq. 10 and best-of-N_μ in numpy
    _, key_samples = jax.random.split(key)
    tape = np.asarray(BASE.sample_responses(key_samples, result.prompts, cap))
    probs = np.asarray(BASE.probs)
    for x, row, k, pick in zip(np.asarray(result.prompts), tape, stop, np.asarray(result.responses)):
        expected_k, hit = numpy_stopping_time(probs[x, row], mu)
        assert int(k) == expected_k and not hit
        prefix = probs[x, row[:k]]
        assert pick == row[int(np.argmax(prefix))]
    assert int(result.num_capped) == 0
    np.testing.assert_allclose(
        np.asarray(result.policy.probs), empirical_policy(np.asarray(result.prompts), np.asarray(result.responses), 3, 4)
    )


@pytest.mark.slow
def test_adaptive_sft_reports_prompts_that_hit_the_cap():
    # μ = 20 needs k · max p ≥ 20, impossible within 5 samples: every prompt is capped, and says so
    result, _ = adaptive_sft_sharpen(jax.random.PRNGKey(7), Oracle(BASE), TabularClass.like(BASE), 12, 20.0, 5)
    assert bool(jnp.all(result.hit_cap)) and int(result.num_capped) == 12
    np.testing.assert_array_equal(np.asarray(result.samples_per_prompt), 5)
    assert int(result.queries.samples) == 60


@pytest.mark.slow
def test_adaptive_sft_budget_sees_only_the_charged_prefix():
    model_class = TabularClass.like(BASE)
    # uncapped use here is at most 10 · ⌈3/0.05⌉ but typically ~10 · 6; the tape of 10 · 200 is never charged
    result, oracle = adaptive_sft_sharpen(jax.random.PRNGKey(8), Oracle(BASE, budget=1000), model_class, 10, 3.0, 200)
    assert int(oracle.queries.samples) == int(result.queries.samples) < 200
    with pytest.raises(QueryBudgetExceeded, match="budget is 5"):
        adaptive_sft_sharpen(jax.random.PRNGKey(8), Oracle(BASE, budget=5), model_class, 10, 3.0, 200)


@pytest.mark.slow
def test_adaptive_sft_vmaps_over_seeds_and_mu_and_meets_thm_d1_expected_queries():
    delta, num_prompts, seeds = 0.1, 40, 400
    mu = math.log(2 / delta)
    model_class = TabularClass.like(BASE)
    run = jax.jit(jax.vmap(lambda key, m: adaptive_sft_sharpen(key, Oracle(BASE), model_class, num_prompts, m, 256)[0]))
    results = run(jax.random.split(jax.random.PRNGKey(9), seeds), jnp.full(seeds, mu))
    assert int(jnp.sum(results.num_capped)) == 0
    samples = np.asarray(results.queries.samples, dtype=float)
    np.testing.assert_array_equal(samples, np.asarray(results.samples_per_prompt).sum(axis=1))
    # Thm D.1: E[m] ≤ n (1 + μ) C̄_cov  (Lemma I.1 averaged over x ∼ μ)
    bound = num_prompts * (1 + mu) * float(mode_coverage_coefficient(BASE))
    assert samples.mean() - 5 * samples.std() / math.sqrt(seeds) <= bound
    # Lemma I.1 ⇒ π^AdaBoN(y*|x) ≥ 1 − δ/2 on every prompt: with the tabular class error at δ is rare
    errors = np.asarray(jax.vmap(lambda p: sharpening_error(p, BASE, 0.5))(results.policy))
    assert errors.mean() < 0.05


def test_adaptive_sft_bad_hyper_parameters():
    model_class, oracle, key = TabularClass.like(BASE), Oracle(BASE), jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match=r"mu must lie in \(0, inf\), got 0.0"):
        adaptive_sft_sharpen(key, oracle, model_class, 4, 0.0, 10)
    with pytest.raises(ValueError, match=r"mu must lie in \(0, inf\), got -1.0"):
        adaptive_sft_sharpen(key, oracle, model_class, 4, -1.0, 10)
    with pytest.raises(ValueError, match=r"mu must lie in \(0, inf\), got nan"):
        adaptive_sft_sharpen(key, oracle, model_class, 4, float("nan"), 10)
    with pytest.raises(ValueError, match="max_samples must be an integer >= 1, got 0"):
        adaptive_sft_sharpen(key, oracle, model_class, 4, 1.0, 0)
    with pytest.raises(ValueError, match="num_prompts must be an integer >= 1, got 0"):
        adaptive_sft_sharpen(key, oracle, model_class, 0, 1.0, 10)
    with pytest.raises(ValueError, match="model_class has num_responses=3"):
        adaptive_sft_sharpen(key, oracle, TabularClass(3, prompt_probs=BASE.prompt_probs), 4, 1.0, 10)


# --- Lemma I.1 as a property ---------------------------------------------------------------------

_TAPES, _CAP, _Y = 4000, 512, 6


@jax.jit
def _stop_and_pick(log_probs, mu):
    from sharpsim.algorithms.best_of_n import running_best_index

    stop, capped = adaptive_stopping_time(log_probs, mu)
    pick = jnp.take_along_axis(running_best_index(log_probs), (stop - 1)[:, None], axis=-1)[:, 0]
    return stop, capped, pick


@settings(deadline=None, max_examples=25, derandomize=True)
@given(
    weights=st.lists(st.sampled_from([1e-4, 0.01, 0.1, 0.5, 1.0, 1.0, 2.0, 3.0]), min_size=_Y, max_size=_Y),
    mu=st.sampled_from([0.3, 1.0, math.log(2 / 0.1), 5.0]),
    seed=st.integers(0, 2**31 - 1),
)
@pytest.mark.slow
def test_lemma_i1_expected_stopping_time_and_miss_probability(weights, mu, seed):
    probs = np.asarray(weights) / np.sum(weights)
    top = probs.max()
    in_argmax = probs == top
    size = int(in_argmax.sum())
    rng = np.random.default_rng(seed)
    tapes = rng.choice(_Y, size=(_TAPES, _CAP), p=probs)
    stop, capped, pick = _stop_and_pick(jnp.log(probs[tapes]), mu)
    assert not bool(jnp.any(capped))  # N_μ ≤ max(first argmax draw, ⌈μ/P*⌉) ≪ 512 here
    stop = np.asarray(stop, dtype=float)
    bound = (mu + 1.0 / size) / top
    assert stop.mean() - 5 * stop.std() / math.sqrt(_TAPES) <= bound
    picks = tapes[np.arange(_TAPES), np.asarray(pick)]
    misses = int((~in_argmax[picks]).sum())
    lower = beta.ppf(1e-6, misses, _TAPES - misses + 1) if misses else 0.0  # Clopper–Pearson lower end
    assert lower <= math.exp(-size * mu)


# --- Lemma F.1: the MLE guarantee behind Thm 4.1 ---------------------------------------------------


@pytest.mark.slow
def test_lemma_f1_mle_hellinger_bound_on_realizable_finite_classes():
    """E_x[D_H²(π̂, π^BoN_N)] ≤ 2 log(|Π|/ρ)/n with probability ≥ 1 − ρ (Lemma F.1), for an explicit class
    and a product class that both contain π^BoN_N."""
    from sharpsim.classes import ProductClass
    from sharpsim.referee.quantities import hellinger_squared

    num_samples, num_prompts, seeds, rho = 4, 30, 200, 0.1
    law = np.asarray(best_of_n_law(BASE, num_samples).probs)
    rng = np.random.default_rng(12)
    mixtures = rng.uniform(0.05, 0.6, size=(15, 1, 1))
    members = np.concatenate([law[None], (1 - mixtures) * law + mixtures * rng.dirichlet(np.ones(4), size=(15, 3))])
    rows = np.swapaxes(members[:4], 0, 1)  # [X, 4 candidates, Y]: the product of the first four members' rows
    for model_class in (FiniteClass(members, BASE.prompt_probs), ProductClass(rows, BASE.prompt_probs)):
        run = jax.jit(jax.vmap(lambda key: sft_sharpen(key, Oracle(BASE), model_class, num_prompts, num_samples)[0]))
        results = run(jax.random.split(jax.random.PRNGKey(13), seeds))
        reference = TabularPolicy(law, BASE.prompt_probs)
        distances = np.asarray(jax.vmap(lambda fit: hellinger_squared(fit, reference))(results.policy))
        bound = 2 * np.log(np.exp(model_class.log_size) / rho) / num_prompts
        # the guarantee is loose (no constant hidden here: 2 log(|Π|/ρ)/n is the lemma's own bound), so the
        # exceedance rate must simply stay below ρ
        assert (distances > bound).mean() <= rho
