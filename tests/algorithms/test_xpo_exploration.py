"""XPO's optimism term (Algorithm 1) on ``hidden_sphere``: the round objective's gradient against a numpy formula
written here, and the exploration mechanism it implies (only the α-term moves y*'s axis before y* is seen)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.algorithms.xpo import parametrization, round_loss
from sharpsim.instances.hidden_sphere import hidden_sphere

INSTANCE = hidden_sphere(4)  # 16 codewords + y*, class dimension 5
PARAM = parametrization(INSTANCE.model_class)
# one compilation for every example: β, α and the loss weight are traced arrays (as the experiments pass them)
GRADIENT = jax.jit(jax.grad(lambda p, data, beta, alpha, scale: round_loss(PARAM, p, data, beta, alpha, scale)))


def _numpy_gradient(theta, phi, prompts_y, prompts_base, ell, ell_base, mask, beta, alpha, loss_scale):
    """∇θ of α Σ m_i log π(ỹ_i) + L Σ m_i (β⟨φ(y_i) − φ(ỹ_i), θ⟩ − (1+β)(ℓ_i − ℓ̃_i))², by the softmax formula."""
    logits = phi @ theta
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    mean_feature = probs @ phi
    grad = np.zeros_like(theta)
    for y, base, l_y, l_base, m in zip(prompts_y, prompts_base, ell, ell_base, mask):
        if not m:
            continue
        diff = phi[y] - phi[base]
        residual = beta * diff @ theta - (1 + beta) * (l_y - l_base)
        grad += alpha * (phi[base] - mean_feature) + 2 * loss_scale * beta * residual * diff
    return grad


def _data(rng, rounds, include_optimum):
    n = INSTANCE.num_responses
    choices = n if include_optimum else n - 1  # the optimum is the last index
    on_policy = rng.integers(0, choices, size=rounds)
    base = rng.integers(0, choices, size=rounds)
    log_base = np.log(np.asarray(INSTANCE.policy.probs)[0])
    mask = np.arange(rounds) < rng.integers(1, rounds + 1)
    return on_policy, base, log_base[on_policy], log_base[base], mask


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([0.0, 1e-3, 0.3]), st.booleans())
def test_round_gradient_matches_numpy(seed, alpha, include_optimum):
    rng = np.random.default_rng(seed)
    on_policy, base, ell, ell_base, mask = _data(rng, 12, include_optimum)
    theta = rng.normal(scale=2.0, size=INSTANCE.dimension)
    beta, loss_scale = 0.07, 0.01
    data = (jnp.zeros(12, jnp.int64), jnp.asarray(on_policy), jnp.asarray(base), jnp.asarray(ell),
            jnp.asarray(ell_base), jnp.asarray(mask))
    grad = GRADIENT(jnp.asarray(theta), data, jnp.asarray(beta), jnp.asarray(alpha), jnp.asarray(loss_scale))
    expected = _numpy_gradient(theta, INSTANCE.features[0], on_policy, base, ell, ell_base, mask, beta, alpha,
                               loss_scale)
    np.testing.assert_allclose(np.asarray(grad), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 1e-6, 0.5])
def test_only_the_optimism_term_moves_the_hidden_axis_before_y_star_is_seen(alpha):
    """Without y* in the data the regression's gradient on y*'s axis is 0; the α-term's is
    −α·t·π(y*) (t = rounds so far), so descent raises that axis: optimism toward the never-sampled response."""
    rng = np.random.default_rng(3)
    on_policy, base, ell, ell_base, mask = _data(rng, 10, include_optimum=False)
    theta = rng.normal(size=INSTANCE.dimension)
    data = (jnp.zeros(10, jnp.int64), jnp.asarray(on_policy), jnp.asarray(base), jnp.asarray(ell),
            jnp.asarray(ell_base), jnp.asarray(mask))
    grad = GRADIENT(jnp.asarray(theta), data, jnp.asarray(0.05), jnp.asarray(alpha), jnp.asarray(1e-4))
    logits = INSTANCE.features[0] @ theta
    pi_star = math.exp(logits[-1]) / np.exp(logits).sum()
    expected = -alpha * int(mask.sum()) * pi_star
    if alpha == 0.0:
        # the partition cancels from the regression only up to rounding under jit (traced α computes it)
        assert abs(float(grad[-1])) <= 1e-12 * float(jnp.max(jnp.abs(grad)))
    else:
        assert float(grad[-1]) == pytest.approx(expected, rel=1e-8)
        assert float(grad[-1]) < 0.0
