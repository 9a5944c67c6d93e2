"""Tabular instance families: each documented C_cov / γ_margin formula against the referee and a numpy build, errors.

The formulas are the ones in each builder's docstring; the referee values are cross-checked with numpy here
(plain loops) so a wrong family and a wrong referee cannot agree by accident.
"""

import math

import jax
import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from tests.numpy_reference import np_argmax_mask, np_set_mass
from sharpsim import coverage_coefficient, make, margin, mode_coverage_coefficient

RTOL = 1e-9
EXAMPLES = settings(max_examples=40, deadline=None)


def np_coverage(probs, mu):
    mass = np_set_mass(probs, np_argmax_mask(probs))
    return math.fsum(w / m for w, m in zip(mu, mass) if w > 0)


def np_margin(probs, mu):
    values = []
    for row, w in zip(probs, mu):
        if w == 0:
            continue
        top = row.max()
        rest = row[row < top]
        if rest.size and rest.max() > 0:
            values.append(top / rest.max() - 1)
    return min(values) if values else math.inf


def check_coverage_and_margin(policy, coverage, gamma_margin):
    probs, mu = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    assert float(coverage_coefficient(policy)) == pytest.approx(coverage, rel=RTOL)
    assert np_coverage(probs, mu) == pytest.approx(coverage, rel=RTOL)
    for value in (float(margin(policy)), np_margin(probs, mu)):
        if math.isinf(gamma_margin):
            assert math.isinf(value)
        else:
            assert value == pytest.approx(gamma_margin, rel=RTOL, abs=1e-12)


# ---- needle / near_tie ------------------------------------------------------------------------------------------


@pytest.mark.slow
@EXAMPLES
@given(st.sampled_from([2, 3, 8]), st.sampled_from([3, 16]), st.floats(1.0, 1.0 - 1e-9 + 15), st.data())
def test_needle_without_margin(num_prompts, num_responses, coverage, data):
    assume(coverage < num_responses)
    policy = make("needle", num_prompts=num_prompts, num_responses=num_responses, coverage=coverage)
    p = 1 / coverage
    expected = np.full((num_prompts, num_responses), (1 - p) / (num_responses - 1))
    expected[:, 0] = p
    np.testing.assert_allclose(np.asarray(policy.probs), expected, rtol=1e-12, atol=1e-15)
    gamma = math.inf if p == 1 else p * (num_responses - 1) / (1 - p) - 1
    check_coverage_and_margin(policy, coverage, gamma)


@EXAMPLES
@given(st.sampled_from([3, 4, 16]), st.floats(0.0, 0.999), st.one_of(st.floats(1e-6, 0.3), st.floats(0.3, 3.0)))
def test_needle_with_margin_or_infeasible(num_responses, u, gamma):
    coverage = 1 + (num_responses - 1) * u
    p = 1 / coverage
    runner = p / (1 + gamma)
    rest = (1 - p - runner) / (num_responses - 2)
    feasible = rest >= 0 and rest <= runner
    # stay away from the feasibility boundary, where rounding decides
    assume(abs(rest - runner) > 1e-9 * runner and abs(rest) > 1e-12)
    event("feasible" if feasible else "infeasible")
    if not feasible:
        with pytest.raises(ValueError, match=r"infeasible for num_responses="):
            make("needle", num_prompts=2, num_responses=num_responses, coverage=coverage, margin=gamma)
        return
    policy = make("needle", num_prompts=2, num_responses=num_responses, coverage=coverage, margin=gamma)
    probs = np.asarray(policy.probs)
    np.testing.assert_allclose(probs[:, 0], p, rtol=1e-12)
    np.testing.assert_allclose(probs[:, 1], runner, rtol=1e-12)
    np.testing.assert_allclose(probs[:, 2:], rest, rtol=1e-9, atol=1e-15)
    check_coverage_and_margin(policy, coverage, gamma)


def test_needle_prompt_probs_pass_through():
    policy = make("needle", num_prompts=3, num_responses=8, coverage=4.0, prompt_probs=[0.5, 0.5, 0.0])
    np.testing.assert_array_equal(np.asarray(policy.prompt_probs), [0.5, 0.5, 0.0])
    check_coverage_and_margin(policy, 4.0, 0.25 * 7 / 0.75 - 1)


@pytest.mark.parametrize("gamma", [1e-9, 1e-4, 0.01, 0.3])
def test_near_tie(gamma):
    policy = make("near_tie", num_prompts=3, num_responses=16, coverage=4.0, margin=gamma)
    probs = np.asarray(policy.probs)
    assert np.all(np_argmax_mask(probs).sum(axis=1) == 1)  # still a unique argmax
    np.testing.assert_allclose(np.sort(probs, axis=1)[:, -2], 0.25 / (1 + gamma), rtol=1e-12)
    check_coverage_and_margin(policy, 4.0, gamma)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(coverage=0.5), r"coverage must lie in \[1, 64\), got 0\.5"),
        (dict(num_responses=4, coverage=4.0), r"coverage must lie in \[1, 4\), got 4\.0"),
        (dict(num_responses=4, coverage=2.0, margin=5.0), r"needle with coverage=2\.0 and margin=5\.0 is infeasible"),
        (dict(num_responses=4, coverage=2.0, margin=0.0), r"margin must lie in \(0, inf\), got 0\.0"),
        (dict(num_responses=4, coverage=2.0, margin=-1.0), r"margin must lie in \(0, inf\), got -1\.0"),
        (dict(num_prompts=0), r"num_prompts must be an integer >= 1, got 0"),
        (dict(num_responses=1, coverage=1.0), r"num_responses must be an integer >= 2, got 1"),
        (dict(num_prompts=2, prompt_probs=[0.5, 0.6]), r"prompt_probs must sum to 1"),
    ],
)
def test_needle_errors(params, message):
    with pytest.raises(ValueError, match=message):
        make("needle", **params)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(margin=0.0), r"margin must lie in \(0, inf\), got 0\.0"),
        (dict(margin=-0.1), r"margin must lie in \(0, inf\)"),
        (dict(margin=100.0), r"infeasible"),
    ],
)
def test_near_tie_errors(params, message):
    with pytest.raises(ValueError, match=message):
        make("near_tie", **params)


# ---- two_type ------------------------------------------------------------------------------------------------------


@EXAMPLES
@given(
    st.sampled_from([2, 3, 5]),
    st.sampled_from([4, 64]),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.01, 0.99),
)
@pytest.mark.slow
def test_two_type(num_prompts, num_responses, a, b, weight):
    low = 1 / num_responses
    p_lo = low + (1 - low) * min(a, b)
    p_hi = low + (1 - low) * max(a, b)
    assume(p_lo > low * (1 + 1e-6))
    policy = make("two_type", num_prompts=num_prompts, num_responses=num_responses, p_hi=p_hi, p_lo=p_lo, weight_lo=weight)
    probs, mu = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    easy = math.ceil(num_prompts / 2)
    hard = num_prompts - easy
    np.testing.assert_allclose(probs[:easy, 0], p_hi, rtol=1e-12)
    np.testing.assert_allclose(probs[easy:, 0], p_lo, rtol=1e-12)
    np.testing.assert_allclose(probs[:easy, 1:], (1 - p_hi) / (num_responses - 1), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(probs[easy:, 1:], (1 - p_lo) / (num_responses - 1), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(mu[:easy], (1 - weight) / easy, rtol=1e-12)
    np.testing.assert_allclose(mu[easy:], weight / hard, rtol=1e-12)
    coverage = (1 - weight) / p_hi + weight / p_lo
    gammas = [math.inf if p == 1 else p * (num_responses - 1) / (1 - p) - 1 for p in (p_hi, p_lo)]
    check_coverage_and_margin(policy, coverage, min(gammas))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(num_responses=4, p_lo=0.2), r"p_lo must lie in \(0\.25, 0\.5\], got 0\.2"),
        (dict(p_lo=0.6, p_hi=0.5), r"p_lo must lie in \(0\.015625, 0\.5\], got 0\.6"),
        (dict(weight_lo=0.0), r"weight_lo must lie in \(0, 1\), got 0\.0"),
        (dict(weight_lo=1.0), r"weight_lo must lie in \(0, 1\), got 1\.0"),
        (dict(num_prompts=1), r"num_prompts must be an integer >= 2, got 1"),
        (dict(p_hi=1.5), r"p_hi must lie in \(0\.015625, 1\], got 1\.5"),
    ],
)
def test_two_type_errors(params, message):
    with pytest.raises(ValueError, match=message):
        make("two_type", **params)


# ---- ties -----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@EXAMPLES
@given(st.sampled_from([1, 4]), st.sampled_from([2, 5, 16]), st.integers(1, 16), st.floats(0.0, 1.0))
def test_ties(num_prompts, num_responses, k, t):
    assume(k <= num_responses)
    lowest = 1 / num_responses  # p_top must exceed the even share of the rest ⇔ p_top > 1/|Y|
    p_top = lowest + (1 / k - lowest) * t if k < num_responses else 1 / k
    assume(k == num_responses or p_top > lowest * (1 + 1e-6))
    policy = make("ties", num_prompts=num_prompts, num_responses=num_responses, num_tied=k, p_top=p_top)
    probs = np.asarray(policy.probs)
    mask = np_argmax_mask(probs)
    assert np.all(mask.sum(axis=1) == k)
    np.testing.assert_allclose(probs[mask], p_top, rtol=1e-12)
    if k < num_responses:
        np.testing.assert_allclose(probs[~mask], (1 - k * p_top) / (num_responses - k), rtol=1e-9, atol=1e-15)
    rest = 1 - k * p_top
    gamma = math.inf if k == num_responses or rest <= 0 else p_top * (num_responses - k) / rest - 1
    check_coverage_and_margin(policy, 1 / (k * p_top), gamma)
    assert float(mode_coverage_coefficient(policy)) == pytest.approx(1 / p_top, rel=RTOL)


def test_ties_with_no_mass_outside_the_tie_has_infinite_margin():
    policy = make("ties", num_prompts=2, num_responses=6, num_tied=4, p_top=0.25)
    check_coverage_and_margin(policy, 1.0, math.inf)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(num_tied=5, p_top=0.3), r"p_top must lie in \(0, 0\.2\], got 0\.3"),
        (dict(num_responses=4, num_tied=2, p_top=0.2), r"p_top=0\.2 is not above the even share"),
        (dict(num_tied=0), r"num_tied must be an integer >= 1, got 0"),
        (dict(num_responses=4, num_tied=5, p_top=0.2), r"num_tied must be ≤ num_responses=4, got 5"),
    ],
)
def test_ties_errors(params, message):
    with pytest.raises(ValueError, match=message):
        make("ties", **params)


# ---- dirichlet ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dirichlet_shape_reproducibility_and_temperature():
    key = jax.random.key(0)
    base = make("dirichlet", key=key, num_prompts=5, num_responses=7, concentration=0.7)
    probs = np.asarray(base.probs)
    assert probs.shape == (5, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(base.prompt_probs), np.full(5, 0.2))
    again = make("dirichlet", key=key, num_prompts=5, num_responses=7, concentration=0.7)
    np.testing.assert_array_equal(np.asarray(again.probs), probs)
    other = make("dirichlet", key=jax.random.key(1), num_prompts=5, num_responses=7, concentration=0.7)
    assert not np.allclose(np.asarray(other.probs), probs)
    # π_T ∝ q^(1/T) with the same q (same key): the T = 1/2 rows are the squared T = 1 rows, renormalized.
    sharp = np.asarray(make("dirichlet", key=key, num_prompts=5, num_responses=7, concentration=0.7, temperature=0.5).probs)
    squared = probs**2 / (probs**2).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(sharp, squared, rtol=1e-9, atol=1e-300)
    cold = make("dirichlet", key=key, num_prompts=5, num_responses=7, concentration=0.7, temperature=0.01)
    hot = make("dirichlet", key=key, num_prompts=5, num_responses=7, concentration=0.7, temperature=100.0)
    assert float(coverage_coefficient(cold)) < 1.01
    assert float(coverage_coefficient(hot)) > 6.5


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(concentration=0.0), r"concentration must lie in \(0, inf\), got 0\.0"),
        (dict(temperature=0.0), r"temperature must lie in \(0, inf\), got 0\.0"),
        (dict(temperature=-1.0), r"temperature must lie in \(0, inf\)"),
    ],
)
def test_dirichlet_errors(params, message):
    with pytest.raises(ValueError, match=message):
        make("dirichlet", key=jax.random.key(0), **params)


# ---- zipf -------------------------------------------------------------------------------------------------------


@EXAMPLES
@given(st.sampled_from([2, 10, 64]), st.floats(0.05, 5.0), st.floats(0.1, 4.0))
def test_zipf(num_responses, exponent, temperature):
    policy = make("zipf", num_prompts=3, num_responses=num_responses, exponent=exponent, temperature=temperature)
    a = exponent / temperature
    weights = np.arange(1, num_responses + 1, dtype=np.float64) ** (-a)
    np.testing.assert_allclose(np.asarray(policy.probs), np.tile(weights / weights.sum(), (3, 1)), rtol=1e-12)
    harmonic = math.fsum(weights)
    check_coverage_and_margin(policy, harmonic, 2.0**a - 1)


def test_zipf_with_key_permutes_each_row():
    plain = np.asarray(make("zipf", num_prompts=6, num_responses=20, exponent=1.3).probs)
    keyed = np.asarray(make("zipf", num_prompts=6, num_responses=20, exponent=1.3, key=jax.random.key(0)).probs)
    np.testing.assert_allclose(np.sort(keyed, axis=1), np.sort(plain, axis=1), rtol=1e-15)
    assert not np.array_equal(keyed, plain)
    assert len({tuple(np.argsort(row)) for row in keyed}) > 1  # different permutations per prompt


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(temperature=0.0), r"temperature must lie in \(0, inf\), got 0\.0"),
        (dict(exponent=-1.0), r"exponent must lie in \(0, inf\), got -1\.0"),
        (dict(exponent=0.0), r"exponent must lie in \(0, inf\), got 0\.0"),
        (dict(num_responses=1), r"num_responses must be an integer >= 2, got 1"),
    ],
)
def test_zipf_errors(params, message):
    with pytest.raises(ValueError, match=message):
        make("zipf", **params)
