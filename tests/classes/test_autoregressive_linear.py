"""The autoregressive linear softmax class Π_{φ,B,H}: MLE against scipy, and SFT on autoregressive bases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

import sharpsim  # noqa: F401  (float64)
from sharpsim.algorithms.adaptive_sft import adaptive_sft_sharpen
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import AutoregressiveLinearClass, TabularClass
from sharpsim.policies.linear_softmax import LinearSoftmaxARPolicy
from sharpsim.core.oracle import Oracle
from sharpsim.referee.quantities import sharpening_error

H, X, V, D = 2, 3, 3, 2
TABLE_NP = np.random.default_rng(0).normal(size=(H, X, V + 1, V, D))  # φ_h(x, y_{h−1}, y_h), y_0 = "start"
TABLE = jnp.asarray(TABLE_NP)


def feature_map(prompt, tokens, position):
    previous = jnp.where(position > 0, tokens[jnp.maximum(position - 1, 0)] + 1, 0)
    return TABLE[position, prompt, previous, tokens[position]]


BASE = LinearSoftmaxARPolicy(np.array([[1.0, -0.5], [0.3, 0.8]]), feature_map, V, num_prompts=X)


def numpy_nll(theta_flat, prompts, sequences):
    theta = theta_flat.reshape(H, D)
    total = 0.0
    for x, seq in zip(prompts, sequences):
        for h in range(H):
            previous = 0 if h == 0 else seq[h - 1] + 1
            logits = TABLE_NP[h, x, previous] @ theta[h]  # [V]
            total -= logits[seq[h]] - np.log(np.exp(logits).sum())
    return total / len(prompts)


def numpy_sequence_law(theta):
    law = np.zeros((X, V**H))
    for x in range(X):
        for index in range(V**H):
            seq = [index // V, index % V]
            p = 1.0
            for h in range(H):
                previous = 0 if h == 0 else seq[h - 1] + 1
                logits = TABLE_NP[h, x, previous] @ theta[h]
                p *= np.exp(logits[seq[h]]) / np.exp(logits).sum()
            law[x, index] = p
    return law


def data(seed, size):
    rng = np.random.default_rng(seed)
    return rng.integers(0, X, size), rng.integers(0, V, (size, H))


@pytest.mark.slow
@pytest.mark.parametrize("radius", [0.3, 50.0])
def test_autoregressive_linear_mle_matches_scipy(radius):
    prompts, sequences = data(1, 60)
    fitted = AutoregressiveLinearClass(feature_map, V, H, D, radius, num_prompts=X).fit(prompts, sequences)
    constraints = [{"type": "ineq", "fun": (lambda t, h=h: radius**2 - t.reshape(H, D)[h] @ t.reshape(H, D)[h])}
                   for h in range(H)]
    reference = minimize(numpy_nll, np.zeros(H * D), args=(prompts, sequences), method="SLSQP",
                         constraints=constraints, options={"ftol": 1e-15, "maxiter": 1000})
    theta = np.asarray(fitted.theta)
    assert bool(fitted.converged)
    np.testing.assert_allclose(theta, reference.x.reshape(H, D), atol=1e-5)
    assert -float(fitted.log_likelihood) / 60 == pytest.approx(reference.fun, abs=1e-9)
    assert np.all(np.linalg.norm(theta, axis=1) <= radius * (1 + 1e-12))
    if radius < 1:
        assert np.linalg.norm(theta, axis=1).max() == pytest.approx(radius, rel=1e-9)  # a ball constraint is active
    np.testing.assert_allclose(np.asarray(fitted.to_tabular().probs), numpy_sequence_law(theta), atol=1e-12)


@pytest.mark.slow
def test_autoregressive_linear_fit_vmaps_and_reports_non_convergence():
    model_class = AutoregressiveLinearClass.like(BASE, 5.0)
    prompts = jnp.stack([jnp.asarray(data(s, 40)[0]) for s in range(3)])
    sequences = jnp.stack([jnp.asarray(data(s, 40)[1]) for s in range(3)])
    fits = jax.jit(jax.vmap(model_class.fit))(prompts, sequences)
    single = model_class.fit(prompts[2], sequences[2])
    np.testing.assert_allclose(np.asarray(fits.theta[2]), np.asarray(single.theta), atol=1e-6)
    stopped = AutoregressiveLinearClass.like(BASE, 5.0, max_steps=1).fit(prompts[0], sequences[0])
    assert int(stopped.num_steps) == 1 and not bool(stopped.converged)


@pytest.mark.slow
def test_adaptive_sft_on_an_autoregressive_base_with_both_classes():
    oracle = Oracle(BASE)
    linear, _ = adaptive_sft_sharpen(jax.random.PRNGKey(0), oracle, AutoregressiveLinearClass.like(BASE, 3.0), 200, 3.0, 256)
    assert linear.responses.shape == (200, H)
    assert int(linear.queries.samples) == int(jnp.sum(linear.samples_per_prompt)) and int(linear.num_capped) == 0
    assert bool(linear.policy.converged)
    tabular, _ = adaptive_sft_sharpen(jax.random.PRNGKey(0), oracle, TabularClass.like(BASE), 200, 3.0, 256)
    # same key, same picks: the tabular class sees them as lexicographic response indices
    indices = np.asarray(linear.responses) @ np.array([V, 1])
    counts = np.zeros((X, V**H))
    np.add.at(counts, (np.asarray(linear.prompts), indices), 1.0)
    np.testing.assert_allclose(np.asarray(tabular.policy.probs), counts / counts.sum(1, keepdims=True))
    assert float(sharpening_error(tabular.policy, BASE, 0.5)) == 0.0


@pytest.mark.slow
def test_sft_on_an_autoregressive_base_with_both_classes():
    oracle = Oracle(BASE)
    linear, _ = sft_sharpen(jax.random.PRNGKey(1), oracle, AutoregressiveLinearClass.like(BASE, 3.0), 50, 8)
    assert linear.responses.shape == (50, H) and int(linear.queries.samples) == 400
    assert bool(linear.policy.converged)
    tabular, _ = sft_sharpen(jax.random.PRNGKey(1), oracle, TabularClass.like(BASE), 50, 8)
    np.testing.assert_array_equal(np.asarray(tabular.responses), np.asarray(linear.responses))  # same key, same picks
    indices = np.asarray(linear.responses) @ np.array([V, 1])
    counts = np.zeros((X, V**H))
    np.add.at(counts, (np.asarray(linear.prompts), indices), 1.0)
    seen = counts.sum(1, keepdims=True)
    expected = np.where(seen > 0, counts / np.maximum(seen, 1), 1.0 / V**H)
    np.testing.assert_allclose(np.asarray(tabular.policy.probs), expected)


def test_autoregressive_linear_bad_inputs():
    model_class = AutoregressiveLinearClass(feature_map, V, H, D, 1.0, num_prompts=X)
    with pytest.raises(ValueError, match=r"responses must be token sequences of shape \(n, H\) = \(2, 2\)"):
        model_class.fit(np.array([0, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"tokens must lie in \[0, 3\)"):
        model_class.fit(np.array([0, 1]), np.array([[0, 1], [3, 0]]))
    with pytest.raises(ValueError, match=r"radius must lie in \(0, inf\)"):
        AutoregressiveLinearClass(feature_map, V, H, D, -1.0, num_prompts=X)
    with pytest.raises(ValueError, match="feature_map must return shape"):
        AutoregressiveLinearClass(feature_map, V, H, 3, 1.0, num_prompts=X)
    with pytest.raises(ValueError, match="model_class has num_responses=9 but the oracle's base policy has num_responses=4"):
        adaptive_sft_sharpen(jax.random.PRNGKey(0), Oracle(sharpsim.TabularPolicy(np.full((3, 4), 0.25))),
                             model_class, 5, 1.0, 10)
