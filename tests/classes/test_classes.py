"""Model classes: MLE of each class against plain numpy / scipy references written here."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import sharpsim  # noqa: F401  (float64)
from sharpsim.classes import FiniteClass, LinearSoftmaxClass, ProductClass, TabularClass
from sharpsim.core.policy import TabularPolicy


def random_rows(rng, shape):
    rows = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    return rows


def numpy_log_likelihood(probs, prompts, responses, weights):
    total = 0.0
    for x, y, w in zip(prompts, responses, weights):
        if w > 0:
            total += w * np.log(probs[x, y]) if probs[x, y] > 0 else -np.inf
    return total


# --- tabular ---------------------------------------------------------------------------------------


def test_tabular_mle_is_empirical_distribution_and_uniform_on_unseen():
    rng = np.random.default_rng(0)
    num_prompts, num_responses = 5, 4
    prompts = rng.choice([0, 1, 3], size=40)  # prompts 2 and 4 never seen
    responses = rng.integers(0, num_responses, size=40)
    weights = rng.uniform(0.1, 2.0, size=40)
    model_class = TabularClass(num_responses, num_prompts=num_prompts)
    for w in (None, weights):
        fitted = model_class.fit(jnp.asarray(prompts), jnp.asarray(responses), None if w is None else jnp.asarray(w))
        reference = np.full((num_prompts, num_responses), 1.0 / num_responses)
        ww = np.ones(40) if w is None else w
        for x in (0, 1, 3):
            row = np.array([ww[(prompts == x) & (responses == y)].sum() for y in range(num_responses)])
            reference[x] = row / row.sum()
        np.testing.assert_allclose(np.asarray(fitted.probs), reference, atol=1e-15)
        np.testing.assert_allclose(np.asarray(fitted.prompt_probs), np.full(num_prompts, 0.2))


def test_tabular_mle_maximizes_likelihood_over_random_policies():
    rng = np.random.default_rng(1)
    prompts, responses = rng.integers(0, 3, 30), rng.integers(0, 4, 30)
    fitted = TabularClass(4, num_prompts=3).fit(prompts, responses)
    best = numpy_log_likelihood(np.asarray(fitted.probs), prompts, responses, np.ones(30))
    for _ in range(200):
        assert numpy_log_likelihood(random_rows(rng, (3, 4)), prompts, responses, np.ones(30)) <= best + 1e-12


def test_tabular_like_carries_base_mu_and_fit_is_jittable_and_vmappable():
    base = TabularPolicy(np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]), np.array([0.2, 0.3, 0.5]))
    model_class = TabularClass.like(base)
    prompts = jnp.array([[0, 1, 1], [2, 2, 0]])
    responses = jnp.array([[1, 0, 1], [1, 1, 0]])
    batched = jax.jit(jax.vmap(model_class.fit))(prompts, responses)
    for seed in range(2):
        single = model_class.fit(prompts[seed], responses[seed])
        np.testing.assert_array_equal(np.asarray(batched.probs[seed]), np.asarray(single.probs))
    np.testing.assert_allclose(np.asarray(batched.prompt_probs[0]), [0.2, 0.3, 0.5])


def test_tabular_bad_inputs():
    with pytest.raises(ValueError, match="num_responses must be an integer >= 1"):
        TabularClass(0, num_prompts=2)
    with pytest.raises(ValueError, match="needs prompt_probs"):
        TabularClass(3)
    with pytest.raises(ValueError, match="prompt_probs must sum to 1"):
        TabularClass(3, prompt_probs=[0.5, 0.6])
    model_class = TabularClass(3, num_prompts=2)
    with pytest.raises(ValueError, match=r"responses must lie in \[0, 3\).*got index 3"):
        model_class.fit(np.array([0, 1]), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"prompts must lie in \[0, 2\)"):
        model_class.fit(np.array([0, -1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="prompts has shape .* but responses has shape"):
        model_class.fit(np.array([0, 1]), np.array([0]))
    with pytest.raises(TypeError, match="prompts must be an integer array"):
        model_class.fit(np.array([0.0, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"weights must be non-negative; entry \(1,\) is -1.0"):
        model_class.fit(np.array([0, 1]), np.array([0, 1]), np.array([1.0, -1.0]))


# --- finite and product classes ------------------------------------------------------------------


def test_finite_class_mle_by_brute_force_and_lowest_index_tie_break():
    rng = np.random.default_rng(2)
    members = random_rows(rng, (6, 3, 4))
    members[4] = members[1]  # an exact duplicate: the tie goes to the lower index
    members[5, 0] = [0.0, 0.0, 0.5, 0.5]  # zero mass on some targets: −inf likelihood when they are observed
    model_class = FiniteClass(members)
    assert model_class.log_size == pytest.approx(np.log(6))
    for trial in range(20):
        prompts, responses = rng.integers(0, 3, 15), rng.integers(0, 4, 15)
        weights = rng.uniform(0, 1, 15) if trial % 2 else np.ones(15)
        scores = [numpy_log_likelihood(m, prompts, responses, weights) for m in members]
        fitted = model_class.fit(prompts, responses, weights)
        assert int(fitted.index) == int(np.argmax(scores))
        assert float(fitted.log_likelihood) == pytest.approx(max(scores), rel=1e-12)
        np.testing.assert_array_equal(np.asarray(fitted.to_tabular().probs), members[int(np.argmax(scores))])
        assert int(fitted.index) != 4


def test_finite_class_reports_minus_infinity_when_no_member_explains_the_data():
    members = np.array([[[1.0, 0.0]], [[1.0, 0.0]]])
    fitted = FiniteClass(members).fit(np.array([0]), np.array([1]))
    assert int(fitted.index) == 0 and float(fitted.log_likelihood) == -np.inf


def test_product_class_mle_equals_brute_force_over_all_members():
    rng = np.random.default_rng(3)
    num_prompts, candidates, num_responses = 3, 3, 4
    rows = random_rows(rng, (num_prompts, candidates, num_responses))
    model_class = ProductClass(rows, prompt_probs=np.array([0.5, 0.25, 0.25]))
    assert model_class.log_size == pytest.approx(3 * np.log(3))
    for _ in range(10):
        prompts, responses = rng.integers(0, 2, 12), rng.integers(0, 4, 12)  # prompt 2 unseen
        best_score, best_choice = -np.inf, None
        for choice in itertools.product(range(candidates), repeat=num_prompts):  # lexicographic: first max wins
            member = rows[np.arange(num_prompts), list(choice)]
            score = numpy_log_likelihood(member, prompts, responses, np.ones(12))
            if score > best_score + 1e-12:
                best_score, best_choice = score, choice
        fitted = model_class.fit(prompts, responses)
        assert tuple(int(i) for i in fitted.index) == best_choice
        assert int(fitted.index[2]) == 0  # unseen prompt: all tie, lowest index
        assert float(fitted.log_likelihood) == pytest.approx(best_score, rel=1e-12)


def test_finite_classes_jit_vmap_and_shared_constructor():
    candidates = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [1 / 3, 1 / 3, 1 / 3]])
    model_class = ProductClass.shared(candidates, num_prompts=2)
    np.testing.assert_array_equal(np.asarray(model_class.rows[1]), candidates)
    prompts, responses = jnp.array([[0, 0, 1], [1, 1, 1]]), jnp.array([[0, 0, 2], [0, 2, 1]])
    fits = jax.jit(jax.vmap(model_class.fit))(prompts, responses)
    np.testing.assert_array_equal(np.asarray(fits.index), [[0, 1], [0, 2]])  # seed 1: prompt 0 unseen -> 0
    finite = FiniteClass.from_policies([TabularPolicy(candidates), TabularPolicy(candidates[::-1])])
    assert finite.size == 2 and finite.num_prompts == 3


def test_finite_bad_inputs():
    with pytest.raises(ValueError, match="policies must be a non-empty 3-d array"):
        FiniteClass(np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match="policies row .* must sum to 1"):
        FiniteClass(np.ones((2, 2, 3)))
    with pytest.raises(ValueError, match="prompt_probs has 3 entries but the class has 2 prompts"):
        FiniteClass(np.ones((2, 2, 3)) / 3, prompt_probs=np.ones(3) / 3)
    with pytest.raises(ValueError, match="all policies must share one shape"):
        FiniteClass.from_policies([TabularPolicy(np.ones((2, 3)) / 3), TabularPolicy(np.ones((2, 2)) / 2)])
    with pytest.raises(ValueError, match="rows must be a non-empty 3-d array"):
        ProductClass(np.ones((2, 0, 3)))


# --- linear softmax ------------------------------------------------------------------------------


def numpy_nll(theta, features, counts):
    logits = features @ theta
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return -(counts * log_probs).sum() / counts.sum()


def numpy_counts(prompts, responses, shape):
    counts = np.zeros(shape)
    np.add.at(counts, (prompts, responses), 1.0)
    return counts


def scipy_constrained_mle(features, counts, radius):
    dimension = features.shape[-1]
    result = minimize(
        numpy_nll, np.zeros(dimension), args=(features, counts), method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda t: radius**2 - t @ t}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return result.x, result.fun


@pytest.mark.slow
def test_linear_softmax_matches_scipy_on_the_norm_ball():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(3, 4, 3))
    prompts, responses = rng.integers(0, 3, 60), rng.choice([0, 1], 60)
    counts = numpy_counts(prompts, responses, (3, 4))
    free = minimize(numpy_nll, np.zeros(3), args=(features, counts), method="L-BFGS-B")
    assert np.linalg.norm(free.x) > 0.6  # so the ball of radius 0.5 cuts the unconstrained optimum off
    fitted = LinearSoftmaxClass(features, 0.5).fit(prompts, responses)
    theta, value = scipy_constrained_mle(features, counts, 0.5)
    assert bool(fitted.converged)
    assert np.linalg.norm(np.asarray(fitted.theta)) == pytest.approx(0.5, rel=1e-9)  # the constraint is active
    np.testing.assert_allclose(np.asarray(fitted.theta), theta, atol=1e-5)
    assert -float(fitted.log_likelihood) / 60 == pytest.approx(value, abs=1e-9)
    assert float(fitted.frank_wolfe_gap) >= -1e-12 and float(fitted.frank_wolfe_gap) < 1e-5


@pytest.mark.slow
def test_linear_softmax_unconstrained_matches_lbfgs():
    rng = np.random.default_rng(5)
    features = rng.normal(size=(4, 5, 2))
    prompts, responses = rng.integers(0, 4, 200), rng.integers(0, 5, 200)
    counts = numpy_counts(prompts, responses, (4, 5))
    fitted = LinearSoftmaxClass(features, 100.0).fit(prompts, responses)
    reference = minimize(numpy_nll, np.zeros(2), args=(features, counts), method="L-BFGS-B",
                         options={"gtol": 1e-12, "ftol": 1e-15})
    assert np.linalg.norm(reference.x) < 100.0  # interior optimum: the constraint is inactive
    assert bool(fitted.converged) and float(fitted.gradient_norm) < 1e-6
    np.testing.assert_allclose(np.asarray(fitted.theta), reference.x, atol=1e-6)
    policy = np.asarray(fitted.to_tabular().probs)
    logits = features @ reference.x
    np.testing.assert_allclose(policy, np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), atol=1e-6)


_PROPERTY_CLASS_FEATURES = (3, 3, 2)


@settings(deadline=None, max_examples=15, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    radius=st.sampled_from([0.05, 0.5, 2.0, 20.0]),
    scale=st.sampled_from([0.1, 1.0, 5.0]),
)
def test_linear_softmax_property_feasible_and_no_worse_than_scipy(seed, radius, scale):
    rng = np.random.default_rng(seed)
    features = scale * rng.normal(size=_PROPERTY_CLASS_FEATURES)
    prompts, responses = rng.integers(0, 3, 24), rng.integers(0, 3, 24)
    fitted = _jitted_fit(jnp.asarray(features), radius, jnp.asarray(prompts), jnp.asarray(responses))
    counts = numpy_counts(prompts, responses, (3, 3))
    theta_ref, value_ref = scipy_constrained_mle(features, counts, radius)
    assert np.linalg.norm(np.asarray(fitted.theta)) <= radius * (1 + 1e-12)
    assert bool(fitted.converged), (float(fitted.gradient_mapping_norm), int(fitted.num_steps))
    value = numpy_nll(np.asarray(fitted.theta), features, counts)
    assert value <= value_ref + 1e-8
    # the Frank-Wolfe gap certifies suboptimality: f(θ) − f* ≤ gap, and scipy's value is ≥ f*
    assert value - value_ref <= float(fitted.frank_wolfe_gap) + 1e-10


@jax.jit
def _jitted_fit(features, radius, prompts, responses):
    return LinearSoftmaxClass(features, radius, max_steps=20000).fit(prompts, responses)


@pytest.mark.slow  # compiles several jitted programs; the slow suite (CI) runs it
def test_linear_softmax_reports_non_convergence_and_handles_no_data():
    rng = np.random.default_rng(6)
    features = rng.normal(size=(3, 4, 3))
    prompts, responses = rng.integers(0, 3, 30), rng.integers(0, 4, 30)
    stopped = LinearSoftmaxClass(features, 10.0, max_steps=2).fit(prompts, responses)
    assert int(stopped.num_steps) == 2 and not bool(stopped.converged)
    assert float(stopped.gradient_mapping_norm) > 1e-7
    empty = LinearSoftmaxClass(features, 10.0).fit(prompts, responses, jnp.zeros(30))
    np.testing.assert_allclose(np.asarray(empty.theta), 0.0)
    np.testing.assert_allclose(np.asarray(empty.policy.probs), 0.25)
    assert bool(empty.converged)


@pytest.mark.slow
def test_linear_softmax_vmaps_over_seeds():
    rng = np.random.default_rng(7)
    features = rng.normal(size=(3, 4, 2))
    model_class = LinearSoftmaxClass(features, 1.0)
    prompts, responses = jnp.asarray(rng.integers(0, 3, (3, 20))), jnp.asarray(rng.integers(0, 4, (3, 20)))
    fits = jax.vmap(model_class.fit)(prompts, responses)
    for seed in range(3):
        single = model_class.fit(prompts[seed], responses[seed])
        np.testing.assert_allclose(np.asarray(fits.theta[seed]), np.asarray(single.theta), atol=1e-6)
    assert fits.converged.shape == (3,) and bool(jnp.all(fits.converged))


def test_linear_softmax_bad_inputs():
    with pytest.raises(ValueError, match="features must be a non-empty 3-d array"):
        LinearSoftmaxClass(np.ones((3, 4)), 1.0)
    with pytest.raises(ValueError, match="features must be finite"):
        LinearSoftmaxClass(np.full((1, 2, 1), np.nan), 1.0)
    with pytest.raises(ValueError, match=r"radius must lie in \(0, inf\)"):
        LinearSoftmaxClass(np.ones((1, 2, 1)), 0.0)
    with pytest.raises(ValueError, match="max_steps must be an integer >= 1"):
        LinearSoftmaxClass(np.ones((1, 2, 1)), 1.0, max_steps=0)
    with pytest.raises(ValueError, match="momentum must lie in"):
        LinearSoftmaxClass(np.ones((1, 2, 1)), 1.0, momentum=1.0)
    with pytest.raises(ValueError, match="tolerance must lie in"):
        LinearSoftmaxClass(np.ones((1, 2, 1)), 1.0, tolerance=0.0)
