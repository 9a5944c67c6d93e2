"""The hidden_sphere family (XPO's exploration test) against a plain-numpy construction written here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.instances.hidden_sphere import hidden_sphere
from sharpsim.instances.registry import make
from sharpsim.referee.quantities import coverage_coefficient, margin


def _greedy_code(d, h):
    kept = []
    for word in range(2**d):
        if all(bin(word ^ other).count("1") >= h for other in kept):
            kept.append(word)
    return np.array([[(w >> (d - 1 - i)) & 1 for i in range(d)] for w in kept])


def _numpy_instance(d, scale, gamma, h, decoy=None):
    bits = _greedy_code(d, h)
    n = len(bits)
    c0 = n - 1 if decoy is None else decoy
    phi = np.zeros((n + 1, d + 1))
    for i in range(n):
        for j in range(d):
            phi[i, j] = (1.0 - 2.0 * bits[i, j]) / math.sqrt(d)
    phi[n, d] = 1.0
    theta = np.zeros(d + 1)
    theta[:d] = scale * phi[c0, :d]
    theta[d] = scale + math.log(1.0 + gamma)
    logits = phi @ theta
    probs = np.exp(logits) / np.exp(logits).sum()
    return bits, phi, theta, probs, n, c0


@pytest.mark.parametrize("d,scale,gamma,h,decoy", [(4, 1.0, 0.5, 1, None), (6, 0.5, 0.3, 2, 0), (8, 0.25, 0.9, 2, 5),
                                                     (10, 2.0, 0.5, 3, None)])
def test_construction_margin_and_coverage_match_numpy(d, scale, gamma, h, decoy):
    instance = hidden_sphere(d, scale=scale, margin=gamma, min_distance=h, decoy=decoy)
    bits, phi, theta, probs, n, c0 = _numpy_instance(d, scale, gamma, h, decoy)
    np.testing.assert_array_equal(instance.codewords, bits)
    np.testing.assert_allclose(instance.features[0], phi, atol=1e-15)
    np.testing.assert_allclose(instance.theta_star, theta, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(instance.policy.probs)[0], probs, rtol=1e-12)
    assert instance.optimum == n == int(np.argmax(probs)) and instance.decoy == c0
    assert instance.num_responses == n + 1 and instance.dimension == d + 1
    assert instance.margin == pytest.approx(gamma, rel=1e-10)
    assert float(margin(instance.policy)) == pytest.approx(gamma, rel=1e-10)
    # the module docstring's closed form for C_cov, from Hamming distances to the decoy
    distances = (bits != bits[c0]).sum(axis=1)
    closed_form = 1.0 + np.exp(-2.0 * scale * distances / d).sum() / (1.0 + gamma)
    assert instance.coverage == pytest.approx(1.0 / probs[n], rel=1e-10)
    assert instance.coverage == pytest.approx(closed_form, rel=1e-10)
    assert float(coverage_coefficient(instance.policy)) == pytest.approx(closed_form, rel=1e-10)
    np.testing.assert_allclose(np.linalg.norm(phi, axis=1), 1.0)  # ‖φ‖ = 1 (Definition J.3)


def test_default_radius_realizes_theorem_j2_beta_and_meets_theorem_j3():
    for d in (4, 8, 12):
        instance = hidden_sphere(d, delta=0.1)
        log_term = math.log(2 * instance.num_responses / 0.1)
        beta = instance.margin / (2 * log_term)  # Theorem J.2 / 4.3
        assert instance.realizes(beta)
        assert np.linalg.norm(instance.theta_star) <= instance.margin * instance.radius / (3 * log_term) * (1 + 1e-9)
        np.testing.assert_allclose(instance.model_class.policy(instance.theta_star).probs, instance.policy.probs,
                                   rtol=1e-12)
    small = hidden_sphere(8, radius=float(np.linalg.norm(hidden_sphere(8).theta_star)) * 1.5)
    assert not small.realizes(small.margin / (2 * math.log(2 * small.num_responses / 0.1)))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 127), st.integers(0, 127), st.floats(-3, 3), st.floats(-3, 3))
def test_pairs_without_the_optimum_carry_no_information_on_its_axis(i, j, shift_a, shift_b):
    """The regression sees θ only through ⟨φ(y) − φ(ỹ), θ⟩: unless y* is in the pair, moving θ along y*'s axis
    leaves every logit difference unchanged (why on-policy regression without the bonus cannot find y*)."""
    instance = hidden_sphere(8)  # 128 codewords + y*
    phi = instance.features[0]
    rng = np.random.default_rng(i * 131 + j)
    theta = rng.normal(size=instance.dimension)
    moved = theta.copy()
    moved[-1] += shift_a - shift_b
    diff = phi[i] - phi[j]
    assert diff[-1] == 0.0
    assert diff @ moved == pytest.approx(diff @ theta, abs=1e-12)
    with_optimum = phi[instance.optimum] - phi[j]
    assert with_optimum[-1] == 1.0


def test_registered_and_bad_input():
    assert make("hidden_sphere", dimension=4).num_responses == hidden_sphere(4).num_responses
    with pytest.raises(ValueError, match="dimension"):
        hidden_sphere(1)
    with pytest.raises(ValueError, match="dimension"):
        hidden_sphere(25)
    with pytest.raises(ValueError, match="scale"):
        hidden_sphere(4, scale=0.0)
    with pytest.raises(ValueError, match="margin"):
        hidden_sphere(4, margin=-0.1)
    with pytest.raises(ValueError, match="decoy"):
        hidden_sphere(4, decoy=10**6)
    with pytest.raises(ValueError, match="radius"):
        hidden_sphere(4, radius=1e-3)
    with pytest.raises(ValueError, match="delta"):
        hidden_sphere(4, delta=1.5)
