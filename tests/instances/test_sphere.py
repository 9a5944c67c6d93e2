"""The sphere family (Example J.1) against a plain-numpy construction written here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.instances.registry import family_names, make
from sharpsim.instances.sphere import lexicode, sphere
from sharpsim.referee.quantities import coverage_coefficient, margin


def _greedy_code(d, h):
    """The lexicode by its definition: scan 0..2^d − 1, keep a word at distance ≥ h from every kept word."""
    kept = []
    for word in range(2**d):
        if all(bin(word ^ other).count("1") >= h for other in kept):
            kept.append(word)
    return np.array([[(w >> (d - 1 - i)) & 1 for i in range(d)] for w in kept])


def _numpy_instance(d, scale, h, optimum=None):
    bits = _greedy_code(d, h)
    points = (1 - 2 * bits) / math.sqrt(d)
    star = len(bits) - 1 if optimum is None else optimum
    logits = scale * points @ points[star]
    probs = np.exp(logits) / np.exp(logits).sum()
    return bits, points, star, probs


@pytest.mark.parametrize("d,scale,h", [(4, 1.0, 1), (6, 1.0, 2), (8, 0.7, 2), (9, 2.0, 3), (10, 1.0, 4)])
def test_code_size_margin_and_coverage_match_numpy(d, scale, h):
    instance = sphere(d, scale=scale, min_distance=h)
    bits, points, star, probs = _numpy_instance(d, scale, h)
    np.testing.assert_array_equal(instance.codewords, bits)
    assert instance.num_responses == len(bits)
    np.testing.assert_allclose(instance.features[0], points, atol=1e-15)
    np.testing.assert_allclose(np.asarray(instance.policy.probs)[0], probs, rtol=1e-12)
    assert instance.optimum == star and np.argmax(probs) == star
    others = np.delete(probs, star)
    expected_margin = probs[star] / others.max() - 1
    expected_coverage = 1 / probs[star]
    assert instance.margin == pytest.approx(expected_margin, rel=1e-10)
    assert float(margin(instance.policy)) == pytest.approx(expected_margin, rel=1e-10)
    assert instance.coverage == pytest.approx(expected_coverage, rel=1e-10)
    assert float(coverage_coefficient(instance.policy)) == pytest.approx(expected_coverage, rel=1e-10)
    # Example J.1's claims: C_cov ≥ |Y| e^{−2·scale} (= Ω(|Y|)) and ‖y‖ = 1.
    assert expected_coverage >= len(bits) * math.exp(-2 * scale)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0)
    distances = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    assert distances[~np.eye(len(bits), dtype=bool)].min() == instance.min_distance >= h
    euclid = np.linalg.norm(points[:, None] - points[None], axis=-1)[~np.eye(len(bits), dtype=bool)]
    assert euclid.min() == pytest.approx(instance.packing_distance, rel=1e-12)


def test_default_distance_is_a_unit_packing_with_constant_margin():
    for d in (4, 8, 12, 16):
        instance = sphere(d)
        assert instance.min_distance == math.ceil(d / 4)
        assert instance.packing_distance >= 1.0 - 1e-12
        assert instance.margin == pytest.approx(math.expm1(0.5), rel=1e-12)  # h = d/4 exactly
    assert sphere(16).num_responses == 2048  # the extended Hamming code [16, 11, 4]
    assert sphere(8).num_responses == 128  # the even-weight code


def test_lexicode_is_linear_and_matches_definition_for_a_larger_case():
    bits = lexicode(12, 3)
    np.testing.assert_array_equal(bits, _greedy_code(12, 3))
    words = bits @ (1 << np.arange(11, -1, -1))
    assert set((words[:, None] ^ words[None, :]).ravel()) == set(words)


def test_class_is_realizable_and_contains_the_base():
    instance = sphere(8, delta=0.1)
    np.testing.assert_allclose(instance.model_class.policy(instance.theta_star).probs, instance.policy.probs,
                               rtol=1e-12)
    beta = instance.margin / (2 * math.log(2 * instance.num_responses / 0.1))  # Theorem J.2 / 4.3
    assert instance.realizes(beta)
    assert instance.radius == pytest.approx(3 * math.log(2 * 128 / 0.1) / instance.margin)
    tight = sphere(8, radius=5.0)
    assert not tight.realizes(beta) and tight.realizes(1.0)  # (1 + 1/β)·1 ≤ 5 ⇔ β ≥ 1/4


def test_registered_and_built_through_make():
    assert "sphere" in family_names()
    instance = make("sphere", dimension=6, optimum=3)
    assert instance.optimum == 3 and int(np.argmax(np.asarray(instance.policy.probs)[0])) == 3
    assert instance.coverage == pytest.approx(sphere(6).coverage, rel=1e-12)  # linear code: y* is arbitrary


@pytest.mark.parametrize("kwargs,message", [
    ({"dimension": 1}, "dimension must be an integer >= 2, got 1"),
    ({"dimension": 25}, "dimension must be ≤ 24"),
    ({"dimension": 6, "min_distance": 7}, r"min_distance must lie in \[1, dimension=6\], got 7"),
    ({"dimension": 6, "min_distance": 0}, "min_distance must be an integer >= 1, got 0"),
    ({"scale": 0.0}, r"scale must lie in \(0, inf\), got 0.0"),
    ({"scale": 2.0, "radius": 1.0}, r"radius must lie in \[2, inf\), got 1.0"),
    ({"delta": 1.0}, r"delta must lie in \(0, 1\), got 1.0"),
    ({"dimension": 4, "optimum": 16}, r"optimum must be a codeword index in \[0, 16\), got 16"),
])
def test_bad_parameters_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sphere(**kwargs)


def test_realizes_rejects_bad_beta():
    with pytest.raises(ValueError, match=r"beta must lie in \(0, inf\), got -1.0"):
        sphere(4).realizes(-1.0)


@settings(deadline=None, max_examples=30, derandomize=True)
@given(st.integers(2, 11), st.floats(0.05, 6.0), st.data())
def test_example_j1_properties_hold_for_random_parameters(d, scale, data):
    """Margin = e^{2·scale·h/d} − 1 and C_cov ≥ |Y|·e^{−2·scale} for every dimension, scale and distance."""
    h = data.draw(st.integers(1, d))
    instance = sphere(d, scale=scale, min_distance=h)
    probs = np.asarray(instance.policy.probs)[0]
    star = instance.optimum
    assert np.argmax(probs) == star and np.sum(probs == probs.max()) == 1
    runner_up = np.max(np.delete(probs, star))
    assert probs[star] / runner_up - 1 == pytest.approx(math.expm1(2 * scale * instance.min_distance / d), rel=1e-9)
    assert 1 / probs[star] == pytest.approx(instance.coverage, rel=1e-9)
    assert instance.coverage >= instance.num_responses * math.exp(-2 * scale) * (1 - 1e-12)
    assert instance.min_distance >= h
    beta = instance.margin / (2 * math.log(2 * instance.num_responses / 0.1))
    assert instance.realizes(beta) and instance.radius >= scale  # the default B holds π_base and π*_β
