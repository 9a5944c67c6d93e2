"""The referee (sharpsim.referee.quantities) against plain-numpy loops written here, plus the paper's properties.

References: argmax sets and C_cov,γ,p (Section 3, Eq. 6, Appendix F.1), C̄_cov (Appendix D), margin (Assumption 4.2),
(ε, δ, γ)-sharpening (Definition 3.1 / F.1), squared Hellinger without ½ and μ-averaged KL (Section 1).
"""

import math

import jax
import numpy as np
import pytest

from sharpsim import Oracle
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.numpy_reference import np_argmax_mask, np_set_mass
from sharpsim.testing.strategies import gammas, policy_pairs, prob_tables, tabular_policies
from sharpsim import (
    TabularPolicy,
    argmax_mask,
    argmax_mass,
    coverage_coefficient,
    hellinger_squared,
    hellinger_squared_per_prompt,
    is_sharpened,
    kl_divergence,
    kl_divergence_per_prompt,
    margin,
    mode_coverage_coefficient,
    prompt_margins,
    sharpening_error,
    sharpness,
)

RTOL = 1e-9
EXAMPLES = settings(max_examples=80, deadline=None)


# ---- plain-numpy references ----------------------------------------------------------------------------


def ref_coverage(probs, mu, gamma=0.0, p=1.0):
    mass = np_set_mass(probs, np_argmax_mask(probs, gamma))
    total = math.fsum(mu[x] * mass[x] ** (-p) for x in range(len(mu)) if mu[x] > 0)
    return total ** (1.0 / p)


def ref_mode_coverage(probs, mu):
    return math.fsum(mu[x] / max(probs[x]) for x in range(len(mu)) if mu[x] > 0)


def ref_prompt_margins(probs):
    out = []
    for row in probs:
        top = max(row)
        others = [v for v in row if v < top]
        runner = max(others) if others else 0.0
        out.append(np.inf if runner == 0.0 else top / runner - 1.0)
    return np.array(out)


def ref_margin(probs, mu):
    values = [m for m, w in zip(ref_prompt_margins(probs), mu) if w > 0]
    return min(values) if values else np.inf


def ref_sharpness(learned, base, gamma=0.0):
    return np_set_mass(learned, np_argmax_mask(base, gamma))


def ref_sharpening_error(learned, base, mu, delta, gamma=0.0):
    s = ref_sharpness(learned, base, gamma)
    return math.fsum(mu[x] for x in range(len(mu)) if s[x] < 1.0 - delta)


def ref_hellinger_per_prompt(p, q):
    return np.array([math.fsum((math.sqrt(a) - math.sqrt(b)) ** 2 for a, b in zip(rp, rq)) for rp, rq in zip(p, q)])


def ref_kl_per_prompt(p, q):
    out = []
    for rp, rq in zip(p, q):
        terms = []
        for a, b in zip(rp, rq):
            if a == 0.0:
                continue
            terms.append(np.inf if b == 0.0 else a * math.log(a / b))
        out.append(np.inf if np.inf in terms else math.fsum(terms))
    return np.array(out)


def ref_average(values, mu):
    return math.fsum(w * v for v, w in zip(values, mu) if w > 0)


def arrays(policy):
    return np.asarray(policy.probs), np.asarray(policy.prompt_probs)


# ---- hand-checked examples -----------------------------------------------------------------------------


def test_argmax_mask_ties_and_gamma_by_hand():
    policy = TabularPolicy([[0.4, 0.4, 0.2], [0.5, 0.3, 0.2], [0.3, 0.36, 0.34]])
    np.testing.assert_array_equal(
        np.asarray(argmax_mask(policy)), [[True, True, False], [True, False, False], [False, True, False]]
    )
    # γ = 0.5: threshold (1 − γ)·max; 0.2 = 0.5·0.4 is included (≥), 0.2 < 0.25 is not.
    np.testing.assert_array_equal(
        np.asarray(argmax_mask(policy, 0.5)), [[True, True, True], [True, True, False], [True, True, True]]
    )
    np.testing.assert_allclose(np.asarray(argmax_mass(policy)), [0.8, 0.5, 0.36], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(argmax_mass(policy, 0.5)), [1.0, 0.8, 1.0], rtol=1e-15)


def test_coverage_by_hand():
    policy = TabularPolicy([[0.5, 0.5], [0.9, 0.1], [0.25, 0.75]], [0.5, 0.5, 0.0])
    # y* masses 1.0 and 0.9 on the support; the third prompt has weight 0.
    assert float(coverage_coefficient(policy)) == pytest.approx(0.5 / 1.0 + 0.5 / 0.9, rel=1e-14)
    assert float(coverage_coefficient(policy, p=2)) == pytest.approx(math.sqrt(0.5 + 0.5 / 0.81), rel=1e-14)
    # C̄_cov uses the single largest probability: 1/0.5 on the tied prompt.
    assert float(mode_coverage_coefficient(policy)) == pytest.approx(0.5 / 0.5 + 0.5 / 0.9, rel=1e-14)


def test_margin_by_hand_and_inf_cases():
    policy = TabularPolicy([[0.5, 0.25, 0.25], [0.4, 0.4, 0.2], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(np.asarray(prompt_margins(policy))[:2], [1.0, 1.0], rtol=1e-14)
    assert np.all(np.isinf(np.asarray(prompt_margins(policy))[2:]))
    assert float(margin(policy)) == pytest.approx(1.0, rel=1e-14)
    # Only "inf" prompts in the support → inf; a prompt outside supp μ does not count.
    assert np.isinf(float(margin(TabularPolicy(np.asarray(policy.probs), [0.0, 0.0, 0.5, 0.5]))))
    assert np.isinf(float(margin(TabularPolicy([[1.0]]))))
    assert float(margin(TabularPolicy([[0.6, 0.4], [0.9, 0.1]], [1.0, 0.0]))) == pytest.approx(0.5, rel=1e-14)


def test_hellinger_and_kl_by_hand():
    p = TabularPolicy([[1.0, 0.0], [0.5, 0.5]], [0.5, 0.5])
    q = TabularPolicy([[0.0, 1.0], [0.5, 0.5]], [0.5, 0.5])
    # Disjoint supports give 2 (no ½ in the paper's convention), identical rows give 0.
    np.testing.assert_allclose(np.asarray(hellinger_squared_per_prompt(p, q)), [2.0, 0.0], atol=1e-15)
    assert float(hellinger_squared(p, q)) == pytest.approx(1.0, rel=1e-14)
    kl_rows = np.asarray(kl_divergence_per_prompt(p, q))
    assert np.isinf(kl_rows[0]) and kl_rows[1] == pytest.approx(0.0, abs=1e-15)
    assert np.isinf(float(kl_divergence(p, q)))
    # KL(Bern(0.5) ‖ Bern(0.25)) = 0.5 log 2 + 0.5 log(2/3).
    a = TabularPolicy([[0.5, 0.5]])
    b = TabularPolicy([[0.25, 0.75]])
    assert float(kl_divergence(a, b)) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), rel=1e-13)


def test_divergences_ignore_prompts_outside_reference_support():
    p = TabularPolicy([[1.0, 0.0], [0.5, 0.5]])
    q = TabularPolicy([[0.0, 1.0], [0.25, 0.75]], [0.0, 1.0])  # μ from the reference (second argument)
    expected_kl = 0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    assert float(kl_divergence(p, q)) == pytest.approx(expected_kl, rel=1e-13)
    expected_h = (math.sqrt(0.5) - 0.5) ** 2 + (math.sqrt(0.5) - math.sqrt(0.75)) ** 2
    assert float(hellinger_squared(p, q)) == pytest.approx(expected_h, rel=1e-13)


def test_sharpening_error_and_is_sharpened_by_hand():
    base = TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.45, 0.45], [0.2, 0.2, 0.6]], [0.5, 0.3, 0.2])
    learned = TabularPolicy([[0.95, 0.05, 0.0], [0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(np.asarray(sharpness(learned, base)), [0.95, 0.5, 0.8], rtol=1e-15)
    assert float(sharpening_error(learned, base, delta=0.1)) == pytest.approx(0.5, rel=1e-15)
    assert float(sharpening_error(learned, base, delta=0.05)) == pytest.approx(0.5, rel=1e-15)  # 0.95 ≥ 0.95
    assert float(sharpening_error(learned, base, delta=0.6)) == pytest.approx(0.0, abs=0)
    assert bool(is_sharpened(learned, base, eps=0.5, delta=0.1))
    assert not bool(is_sharpened(learned, base, eps=0.49, delta=0.1))
    # γ = 0.5 on the base enlarges y*: for the first prompt {0, 1}, so the learned mass there is 1.0.
    np.testing.assert_allclose(np.asarray(sharpness(learned, base, gamma=0.5)), [1.0, 0.5, 0.8], rtol=1e-15)


# ---- hypothesis: every quantity against its numpy reference ---------------------------------------------


@pytest.mark.slow
@EXAMPLES
@given(prob_tables(), gammas)
def test_argmax_mask_and_mass_match_reference(table, gamma):
    probs, mu = table
    policy = TabularPolicy(probs, mu)
    mask = np_argmax_mask(probs, gamma)
    np.testing.assert_array_equal(np.asarray(argmax_mask(policy, gamma)), mask)
    np.testing.assert_allclose(np.asarray(argmax_mass(policy, gamma)), np_set_mass(probs, mask), rtol=1e-12)
    assert np.all(mask.any(axis=1))  # the argmax itself is always in the set


@EXAMPLES
@given(prob_tables(), gammas, st.sampled_from([1, 2, 3, 1.5]))
def test_coverage_coefficient_matches_reference(table, gamma, p):
    probs, mu = table
    policy = TabularPolicy(probs, mu)
    value = float(coverage_coefficient(policy, gamma, p))
    assert value == pytest.approx(ref_coverage(probs, mu, gamma, p), rel=RTOL)
    assert np.asarray(coverage_coefficient(policy, gamma, p)).dtype == np.float64


@pytest.mark.slow
@EXAMPLES
@given(prob_tables())
def test_mode_coverage_matches_reference_and_dominates(table):
    probs, mu = table
    policy = TabularPolicy(probs, mu)
    bar = float(mode_coverage_coefficient(policy))
    assert bar == pytest.approx(ref_mode_coverage(probs, mu), rel=RTOL)
    c = float(coverage_coefficient(policy))
    assert bar >= c * (1 - 1e-12)
    unique = np_argmax_mask(probs).sum(axis=1) == 1
    if np.all(unique[mu > 0]):
        assert bar == pytest.approx(c, rel=1e-12)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
@EXAMPLES
@given(prob_tables(), gammas)
def test_coverage_monotone_in_gamma_and_p(table, gamma):
    """C_cov,γ ≤ C_cov (Appendix F.1) and the L_p norm is non-decreasing in p."""
    policy = TabularPolicy(*table)
    c0 = float(coverage_coefficient(policy))
    assert float(coverage_coefficient(policy, gamma)) <= c0 * (1 + 1e-12)
    c1, c2 = float(coverage_coefficient(policy, gamma, 1)), float(coverage_coefficient(policy, gamma, 2))
    assert c1 <= c2 * (1 + 1e-12)


@EXAMPLES
@given(prob_tables(allow_tiny=False))
def test_coverage_at_least_one_with_equality_iff_deterministic(table):
    """C_cov ≥ 1, = 1 exactly when every prompt in supp μ puts all its mass on y*(x)."""
    probs, mu = table
    value = float(coverage_coefficient(TabularPolicy(probs, mu)))
    mass = np_set_mass(probs, np_argmax_mask(probs))
    all_on_argmax = all(mass[x] == pytest.approx(1.0, abs=1e-12) for x in range(len(mu)) if mu[x] > 0)
    assert value >= 1.0 - 1e-12
    if all_on_argmax:
        assert value == pytest.approx(1.0, abs=1e-12)
    else:
        assert value > 1.0 + 1e-6


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.data())
def test_coverage_is_one_for_deterministic_policies(num_prompts, num_responses, data):
    picks = data.draw(st.lists(st.integers(0, num_responses - 1), min_size=num_prompts, max_size=num_prompts))
    probs = np.zeros((num_prompts, num_responses))
    probs[np.arange(num_prompts), picks] = 1.0
    policy = TabularPolicy(probs)
    assert float(coverage_coefficient(policy)) == 1.0
    assert float(mode_coverage_coefficient(policy)) == 1.0
    assert np.isinf(float(margin(policy)))


@EXAMPLES
@given(prob_tables())
def test_margins_match_reference(table):
    probs, mu = table
    policy = TabularPolicy(probs, mu)
    np.testing.assert_allclose(np.asarray(prompt_margins(policy)), ref_prompt_margins(probs), rtol=RTOL)
    expected = ref_margin(probs, mu)
    value = float(margin(policy))
    if np.isinf(expected):
        assert np.isinf(value) and value > 0
    else:
        assert value == pytest.approx(expected, rel=RTOL)
        assert value > 0


@EXAMPLES
@given(policy_pairs(), gammas, st.floats(1e-6, 1 - 1e-6), st.floats(0.0, 1 - 1e-6))
def test_sharpness_error_and_predicate_match_reference(pair, gamma, delta, eps):
    learned, base = pair
    lp, _ = arrays(learned)
    bp, mu = arrays(base)
    s = ref_sharpness(lp, bp, gamma)
    # Avoid masses within rounding of the threshold 1 − δ, where the order of summation decides.
    assume(np.all(np.abs(s - (1.0 - delta)) > 1e-12))
    np.testing.assert_allclose(np.asarray(sharpness(learned, base, gamma)), s, rtol=1e-12, atol=1e-300)
    err = ref_sharpening_error(lp, bp, mu, delta, gamma)
    assert float(sharpening_error(learned, base, delta, gamma)) == pytest.approx(err, abs=1e-12)
    assume(abs((1.0 - err) - (1.0 - eps)) > 1e-12)
    assert bool(is_sharpened(learned, base, eps, delta, gamma)) == (1.0 - err >= 1.0 - eps)


@EXAMPLES
@given(policy_pairs(), gammas, st.lists(st.floats(1e-6, 1 - 1e-6), min_size=2, max_size=6))
def test_sharpening_error_non_increasing_in_delta(pair, gamma, deltas):
    learned, base = pair
    errors = [float(sharpening_error(learned, base, d, gamma)) for d in sorted(deltas)]
    assert all(a >= b - 1e-15 for a, b in zip(errors, errors[1:]))
    assert all(0.0 <= e <= 1.0 + 1e-12 for e in errors)


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(policy_pairs(num_prompts=(1, 3), num_responses=(1, 5)))
def test_divergences_match_reference(pair):
    policy, reference = pair
    p, _ = arrays(policy)
    q, mu = arrays(reference)
    h_rows = ref_hellinger_per_prompt(p, q)
    np.testing.assert_allclose(np.asarray(hellinger_squared_per_prompt(policy, reference)), h_rows, rtol=RTOL, atol=1e-15)
    assert float(hellinger_squared(policy, reference)) == pytest.approx(ref_average(h_rows, mu), rel=RTOL, abs=1e-15)
    assert np.all(h_rows <= 2 + 1e-12)
    kl_rows = ref_kl_per_prompt(p, q)
    got = np.asarray(kl_divergence_per_prompt(policy, reference))
    assert np.array_equal(np.isinf(got), np.isinf(kl_rows))
    finite = ~np.isinf(kl_rows)
    np.testing.assert_allclose(got[finite], kl_rows[finite], rtol=1e-8, atol=1e-12)
    expected = ref_average(kl_rows, mu)
    value = float(kl_divergence(policy, reference))
    if np.isinf(expected):
        assert value == np.inf
    else:
        assert value == pytest.approx(expected, rel=1e-8, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(tabular_policies(num_prompts=(1, 3), num_responses=(1, 5)))
def test_self_divergences_are_zero(policy):
    assert float(hellinger_squared(policy, policy)) == pytest.approx(0.0, abs=1e-15)
    assert float(kl_divergence(policy, policy)) == pytest.approx(0.0, abs=1e-15)
    assert float(sharpening_error(policy, policy, 0.5)) >= 0.0


# ---- jit / vmap ------------------------------------------------------------------------------------------


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_quantities_under_jit_and_vmap_over_gamma():
    probs = np.array([[0.5, 0.3, 0.2], [0.4, 0.35, 0.25]])
    mu = np.array([0.3, 0.7])
    policy = TabularPolicy(probs, mu)
    gs = np.array([0.0, 0.2, 0.5])
    jitted = jax.jit(coverage_coefficient)
    for g in gs:
        assert float(jitted(policy, g)) == pytest.approx(ref_coverage(probs, mu, g), rel=1e-12)
    batched = jax.vmap(lambda g: coverage_coefficient(policy, g))(gs)
    np.testing.assert_allclose(np.asarray(batched), [ref_coverage(probs, mu, g) for g in gs], rtol=1e-12)
    learned = TabularPolicy([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]])
    err = jax.jit(sharpening_error)(learned, policy, 0.15)
    assert float(err) == pytest.approx(ref_sharpening_error(np.asarray(learned.probs), probs, mu, 0.15), abs=1e-15)


# ---- bad inputs ------------------------------------------------------------------------------------------

P = TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
Q = TabularPolicy([[0.5, 0.5], [0.1, 0.9]])


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5, np.nan])
def test_bad_gamma(gamma):
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\), got"):
        argmax_mask(P, gamma)
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\)"):
        coverage_coefficient(P, gamma)
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\)"):
        sharpness(P, P, gamma)


def test_gamma_not_a_number():
    with pytest.raises(TypeError, match="gamma must be a real number"):
        argmax_mask(P, "a")


@pytest.mark.parametrize("p", [0.5, 0.0, -1.0, np.inf])
def test_bad_p(p):
    with pytest.raises(ValueError, match=r"p must lie in \[1, inf\), got"):
        coverage_coefficient(P, 0.0, p)


@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, 1.5])
def test_bad_delta(delta):
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\), got"):
        sharpening_error(P, P, delta)
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\)"):
        is_sharpened(P, P, 0.1, delta)


@pytest.mark.parametrize("eps", [-0.1, 1.0, 2.0])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match=r"eps must lie in \[0, 1\), got"):
        is_sharpened(P, P, eps, 0.1)


@pytest.mark.parametrize(
    "fn", [sharpness, hellinger_squared, hellinger_squared_per_prompt, kl_divergence, kl_divergence_per_prompt]
)
def test_shape_mismatch_names_both_shapes(fn):
    # the second argument is named as the function calls it: base (sharpness) or reference (the divergences)
    with pytest.raises(ValueError, match=r"shape \(2, 2\) but (base policy|base|reference) has shape \(2, 3\)"):
        fn(Q, P)


def test_shape_mismatch_in_sharpening_error():
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(2, 3\)"):
        sharpening_error(Q, P, 0.1)


def test_non_policy_is_type_error_naming_the_argument():
    with pytest.raises(TypeError, match="policy must be a TabularPolicy"):
        coverage_coefficient(np.array([[1.0]]))
    with pytest.raises(TypeError, match="base must be a TabularPolicy.*Oracle hides its base"):
        sharpening_error(P, Oracle(P), 0.1)
    with pytest.raises(TypeError, match="learned must be a TabularPolicy"):
        sharpening_error("abc", P, 0.1)


def test_coverage_coefficient_stays_finite_for_large_p():
    from scipy.special import logsumexp

    policy = TabularPolicy(np.array([[0.25, 0.2, 0.2, 0.2, 0.15], [0.5, 0.5, 0.0, 0.0, 0.0]]), np.array([0.7, 0.3]))
    mass = np.array([0.25, 1.0])  # the second prompt's two tied responses form its argmax set
    for p in (1.0, 2.0, 511.0, 512.0, 2000.0):
        expected = np.exp(logsumexp(np.log([0.7, 0.3]) - p * np.log(mass)) / p)
        assert float(coverage_coefficient(policy, p=p)) == pytest.approx(expected, rel=1e-12)
