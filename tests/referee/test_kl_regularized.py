"""The KL-regularized target and its referee quantities (Section 2.2: Eq. 3, Eq. 9, Lemma 4.1, Theorem J.2 step 1)
against plain-numpy formulas written here, hand-computed reference values of π_base^(1+1/β), and the paper's
properties as hypothesis tests over random policies (ties, near-ties, tiny and dominant masses)."""

import math

import jax
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.numpy_reference import np_argmax_mask, np_set_mass
from sharpsim.testing.strategies import policy_pairs, prob_tables, tabular_policies
from sharpsim import TabularPolicy, coverage_coefficient, kl_divergence
from sharpsim.referee.kl_regularized import (
    concentrability,
    density_ratio_moment,
    expected_log_likelihood,
    log_ratio_range,
    loss_concentrability,
    power_policy,
    regularized_objective,
    reward_range,
    sharpening_beta,
)

EXAMPLES = settings(max_examples=40, deadline=None, derandomize=True)
betas = st.one_of(st.floats(min_value=0.05, max_value=20.0), st.sampled_from([1e-3, 0.1, 1.0, 100.0]))


# ---- plain-numpy references ----------------------------------------------------------------------------


def ref_power(probs, beta):
    """π^(1+1/β) normalized per row, by logs relative to the row maximum (zeros stay zero)."""
    out = np.zeros_like(probs)
    for x, row in enumerate(probs):
        positive = row > 0
        logs = np.log(row[positive]) * (1.0 + 1.0 / beta)
        weights = np.exp(logs - logs.max())
        out[x, positive] = weights / weights.sum()
    return out


def ref_expectation(mu, per_prompt):
    return math.fsum(mu[x] * per_prompt[x] for x in range(len(mu)) if mu[x] > 0)


def ref_J(p, q, mu):
    return ref_expectation(mu, [math.fsum(p[x, y] * math.log(q[x, y]) for y in range(p.shape[1]) if p[x, y] > 0)
                                if mu[x] > 0 else 0.0 for x in range(len(mu))])


def ref_ratio_moment(p, q, mu, beta):
    return ref_expectation(mu, [math.fsum(p[x, y] * (p[x, y] / q[x, y]) ** beta for y in range(p.shape[1])
                                          if p[x, y] > 0) if mu[x] > 0 else 0.0 for x in range(len(mu))])


def full_support(probs):
    return np.all(probs > 0)


# ---- power_policy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("beta,expected", [
    (1.0, (0.6578947368421053, 0.23684210526315788, 0.10526315789473684)),
    (0.5, (0.78125, 0.16875, 0.05)),
])
def test_power_policy_reference_values(beta, expected):
    out = power_policy(TabularPolicy([[0.5, 0.3, 0.2]]), beta)
    np.testing.assert_allclose(np.asarray(out.probs)[0], expected, rtol=0, atol=1e-9)


def test_power_policy_reference_values_small_beta():
    out = power_policy(TabularPolicy([[0.5, 0.3, 0.2]]), 0.1)
    np.testing.assert_allclose(np.asarray(out.probs)[0], (0.9963435049, 0.0036147049, 0.0000417897), atol=1e-9)


@EXAMPLES
@given(table=prob_tables(num_prompts=3, num_responses=5), beta=betas)
def test_power_policy_matches_numpy(table, beta):
    probs, mu = table
    out = power_policy(TabularPolicy(probs, mu), beta)
    np.testing.assert_allclose(np.asarray(out.probs), ref_power(probs, beta), rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(np.asarray(out.prompt_probs), mu)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(table=prob_tables(num_prompts=(1, 3), num_responses=(1, 5)),
       beta=st.sampled_from([1e-12, 1e-100, 1e-300, 5e-324]))
@pytest.mark.slow
def test_tiny_beta_is_uniform_on_the_argmax_set_and_never_nan(table, beta):
    probs, mu = table
    out = np.asarray(power_policy(TabularPolicy(probs, mu), beta).probs)
    assert np.all(np.isfinite(out))
    mask = np_argmax_mask(probs)
    expected = mask / mask.sum(axis=1, keepdims=True)
    # responses within a relative 1e-9 of the max (the strategies' near-ties) keep a share only if 1/β is small
    np.testing.assert_allclose(out[~mask], 0.0, atol=1e-6 if beta == 1e-12 else 0)
    if beta < 1e-12:
        np.testing.assert_allclose(out, expected, atol=1e-12)


def test_infinite_beta_returns_the_policy_and_zeros_stay_zero():
    probs = np.array([[0.5, 0.0, 0.5], [0.1, 0.6, 0.3]])
    np.testing.assert_allclose(np.asarray(power_policy(TabularPolicy(probs), np.inf).probs), probs, rtol=1e-15)
    assert np.asarray(power_policy(TabularPolicy(probs), 0.3).probs)[0, 1] == 0.0


def test_power_policy_under_jit_and_vmap_over_beta():
    policy = TabularPolicy([[0.5, 0.3, 0.2]])
    betas_ = np.array([1.0, 0.5])
    out = jax.jit(jax.vmap(lambda b: power_policy(policy, b).probs))(betas_)
    expected = [ref_power(np.array([[0.5, 0.3, 0.2]]), b)[0] for b in betas_]
    np.testing.assert_allclose(np.asarray(out)[:, 0], expected, rtol=1e-12)


@pytest.mark.parametrize("beta,match", [(0.0, r"beta must lie in \(0, inf\], got 0.0"),
                                        (-1.0, r"beta must lie in \(0, inf\], got -1.0"),
                                        (float("nan"), r"beta must lie in \(0, inf\], got nan")])
def test_power_policy_rejects_bad_beta(beta, match):
    with pytest.raises(ValueError, match=match):
        power_policy(TabularPolicy([[0.5, 0.5]]), beta)


def test_power_policy_rejects_non_numbers():
    with pytest.raises(TypeError, match="beta must be a real number"):
        power_policy(TabularPolicy([[0.5, 0.5]]), "small")


# ---- J, J_β and the optimality of π*_β ---------------------------------------------------------------


@EXAMPLES
@given(pair=policy_pairs(num_prompts=3, num_responses=5))
def test_expected_log_likelihood_matches_numpy(pair):
    learned, base = pair
    p, q, mu = np.asarray(learned.probs), np.asarray(base.probs), np.asarray(base.prompt_probs)
    got = float(expected_log_likelihood(learned, base))
    if np.any((p > 0) & (q == 0) & (mu[:, None] > 0)):
        assert got == -np.inf
    else:
        assert got == pytest.approx(ref_J(p, q, mu), rel=1e-9, abs=1e-12)


@EXAMPLES
@given(pair=policy_pairs(num_prompts=3, num_responses=4, allow_zero=False), beta=betas)
def test_power_policy_maximizes_J_beta_with_gap_beta_kl(pair, beta):
    """Eq. 3: J_β(π*_β) − J_β(π) = β KL(π ‖ π*_β) ≥ 0 (Theorem J.1's identity), in numpy terms."""
    learned, base = pair
    target = power_policy(base, beta)
    p, q, mu = np.asarray(learned.probs), np.asarray(base.probs), np.asarray(base.prompt_probs)
    star = ref_power(q, beta)
    ref_jb = lambda r: ref_J(r, q, mu) - beta * ref_expectation(
        mu, [math.fsum(r[x, y] * math.log(r[x, y] / q[x, y]) for y in range(r.shape[1]) if r[x, y] > 0)
             for x in range(len(mu))])
    assert float(regularized_objective(learned, base, beta)) == pytest.approx(ref_jb(p), rel=1e-9, abs=1e-9)
    gap = float(regularized_objective(target, base, beta) - regularized_objective(learned, base, beta))
    scale = 1.0 + abs(ref_jb(p))
    assert gap >= -1e-9 * scale
    if np.all(star > 1e-250):
        kl = ref_expectation(mu, [math.fsum(p[x, y] * math.log(p[x, y] / star[x, y]) for y in range(p.shape[1])
                                            if p[x, y] > 0) for x in range(len(mu))])
        assert gap == pytest.approx(beta * kl, rel=1e-6, abs=1e-9 * scale)


def test_regularized_objective_rejects_bad_beta():
    with pytest.raises(ValueError, match="beta must lie in"):
        regularized_objective(TabularPolicy([[1.0]]), TabularPolicy([[1.0]]), -0.5)


# ---- concentrability coefficients and Lemma 4.1 ---------------------------------------------------------


@EXAMPLES
@given(pair=policy_pairs(num_prompts=3, num_responses=5), beta=betas)
def test_concentrabilities_match_numpy(pair, beta):
    learned, base = pair
    p, q, mu = np.asarray(learned.probs), np.asarray(base.probs), np.asarray(base.prompt_probs)
    leaks = np.any((p > 0) & (q == 0) & (mu[:, None] > 0))
    for got, b in ((concentrability(learned, base), 1.0), (density_ratio_moment(learned, base, beta), beta)):
        if leaks:
            assert float(got) == np.inf
        else:
            assert float(got) == pytest.approx(ref_ratio_moment(p, q, mu, b), rel=1e-9)


@EXAMPLES
@given(base=tabular_policies(num_prompts=3, num_responses=5), beta=betas)
def test_lemma_4_1_at_gamma_zero(base, beta):
    """Lemma 4.1: C_{π*_β} ≤ C_cov and C_{π_base/π*_β;β} ≤ |Y|, for every β > 0."""
    target = power_policy(base, beta)
    assert float(concentrability(target, base)) <= float(coverage_coefficient(base)) * (1 + 1e-9)
    # exact value |supp π_base(·|x)|·Z_x^β ≤ |Y|; only computable while π*_β has not underflowed to 0 somewhere
    assume(np.all((np.asarray(target.probs) > 0) == (np.asarray(base.probs) > 0)))
    assert float(density_ratio_moment(base, target, beta)) <= base.num_responses * (1 + 1e-9)


def ref_gamma_coverage(probs, mu, gamma):
    """C_cov,γ = E_x[1/π(y*_γ(x)|x)], y*_γ(x) = {y : π(y|x) ≥ (1 − γ) max π(·|x)} (Def. F.1), in numpy."""
    mass = np_set_mass(probs, np_argmax_mask(probs, gamma))
    return ref_expectation(mu, [1.0 / m if m > 0 else np.inf for m in mass])


@settings(max_examples=80, deadline=None, derandomize=True)
@given(base=tabular_policies(num_prompts=3, num_responses=5),
       beta=st.one_of(st.floats(1e-3, 50.0), st.sampled_from([1e-3, 0.01, 0.3, 1.0])),
       gamma=st.one_of(st.floats(0.0, 0.95), st.sampled_from([0.0, 0.1, 0.5])))
def test_lemma_4_1_prime_corrected_factor(base, beta, gamma):
    """Lemma 4.1′ with the corrected factor, C_{π*_β} ≤ (1 − γ)^{−1/β}·C_cov,γ, for every β > 0 and γ ∈ [0, 1)
    (per prompt: π*_β(y)/π(y) = π(y)^{1/β}/Z ≤ max π^{1/β}/Z and Z ≥ ((1 − γ) max π)^{1/β}·π(y*_γ)). For β ≥ 1
    it implies the printed C_cov,γ/(1 − γ); the next test shows the printed form failing for β < 1.
    Both sides in numpy, and sharpsim's C_{π*_β} and C_cov,γ against them."""
    probs, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    c = ref_ratio_moment(ref_power(probs, beta), probs, mu, 1.0)
    coverage = ref_gamma_coverage(probs, mu, gamma)
    assert float(concentrability(power_policy(base, beta), base)) == pytest.approx(c, rel=1e-8)
    assert float(coverage_coefficient(base, gamma)) == pytest.approx(coverage, rel=1e-9)
    log_factor = -math.log1p(-gamma) / beta  # (1 − γ)^{−1/β} in logs: it overflows for tiny β
    assert math.log(c) <= log_factor + math.log(coverage) + 1e-9
    if beta >= 1.0:
        assert c <= coverage / (1 - gamma) * (1 + 1e-9)


def test_lemma_4_1_prime_stated_form_fails_for_small_beta():
    """π_base = (0.5, 0.49, 0.01), γ = 0.1: y*_γ = {0, 1}, C_cov,γ = 1/0.99, but π*_β → δ_{y=0} as β → 0 gives
    C_{π*_β} → 2 > C_cov,γ/(1 − γ) ≈ 1.12 (at β = 0.01 already ≈ 1.59). The (1 − γ)^{−1/β} form still holds."""
    probs, mu = np.array([[0.5, 0.49, 0.01]]), np.array([1.0])
    base = TabularPolicy(probs)
    coverage = ref_gamma_coverage(probs, mu, 0.1)
    assert coverage == pytest.approx(1 / 0.99, rel=1e-12)
    for beta in (0.3, 0.1, 0.01, 1e-3):
        c = ref_ratio_moment(ref_power(probs, beta), probs, mu, 1.0)
        assert float(concentrability(power_policy(base, beta), base)) == pytest.approx(c, rel=1e-9)
        assert c <= coverage * 0.9 ** (-1 / beta)
        if beta <= 0.01:
            assert c > 1.4 * coverage / 0.9  # the printed form fails by more than 40%


@settings(max_examples=80, deadline=None, derandomize=True)
@given(base=tabular_policies(num_prompts=3, num_responses=(1, 5)), fraction=st.floats(1e-3, 1.0),
       delta=st.sampled_from([0.01, 0.1, 0.5, 0.9]))
@pytest.mark.slow
def test_margin_threshold_makes_the_target_sharp(base, fraction, delta):
    """Theorem J.2 step 1: β ≤ γ_margin/(2 log(2|Y|/δ)) ⇒ π*_β(y*(x)|x) ≥ 1 − δ/2 on supp μ."""
    probs, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    runner = [max([v for v in row if v < max(row)], default=0.0) for row in probs]
    margins = [np.inf if r == 0 else max(row) / r - 1 for row, r in zip(probs, runner)]
    gamma_margin = min(m for m, w in zip(margins, mu) if w > 0)
    threshold = min(gamma_margin / 2, math.log1p(gamma_margin)) / math.log(2 * probs.shape[1] / delta)
    assert float(sharpening_beta(base, delta)) == pytest.approx(threshold, rel=1e-9)
    if gamma_margin <= 2.5:  # the paper's γ_margin/(2 log(2|Y|/δ)) wherever its proof step holds
        assert threshold == pytest.approx(gamma_margin / (2 * math.log(2 * probs.shape[1] / delta)), rel=1e-12)
    beta = threshold * fraction if np.isfinite(threshold) else 1.0
    mass = np_set_mass(ref_power(probs, beta), np_argmax_mask(probs))
    assert np.all(mass[mu > 0] >= 1 - delta / 2 - 1e-9)
    got = np_set_mass(np.asarray(power_policy(base, beta).probs), np_argmax_mask(probs))
    assert np.all(got[mu > 0] >= 1 - delta / 2 - 1e-9)


def test_papers_beta_fails_above_margin_2_5_and_sharpening_beta_does_not():
    """|Y| = 1000, one dominant response with γ_margin = 10, δ = 0.1: the printed β = γ/(2 log(2|Y|/δ)) gives
    π*_β(y*) ≈ 0.56 < 1 − δ/2; sharpening_beta's log(1 + γ) form gives ≥ 1 − δ/2."""
    probs = np.full(1000, 1.0)
    probs[0] = 11.0
    probs = (probs / probs.sum())[None, :]
    base, delta = TabularPolicy(probs), 0.1
    printed = 10.0 / (2 * math.log(2 * 1000 / delta))
    assert ref_power(probs, printed)[0, 0] < 0.6
    beta = float(sharpening_beta(base, delta))
    assert beta == pytest.approx(math.log(11.0) / math.log(2 * 1000 / delta), rel=1e-12)
    assert ref_power(probs, beta)[0, 0] >= 1 - delta / 2


def test_sharpening_beta_rejects_bad_delta():
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\), got 1.5"):
        sharpening_beta(TabularPolicy([[0.6, 0.4]]), 1.5)


# ---- C_loss, R_max, V_max --------------------------------------------------------------------------


@pytest.mark.slow
def test_loss_concentrability_is_the_max_over_a_list_or_a_stacked_policy():
    base = TabularPolicy([[0.5, 0.3, 0.2], [0.7, 0.2, 0.1]])
    members = [power_policy(base, b) for b in (0.1, 1.0, 10.0)]
    q, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    expected = max(ref_ratio_moment(q, np.asarray(m.probs), mu, 0.3) for m in members)
    assert float(loss_concentrability(base, members, 0.3)) == pytest.approx(expected, rel=1e-12)
    stacked = jax.vmap(lambda b: power_policy(base, b))(np.array([0.1, 1.0, 10.0]))
    assert float(loss_concentrability(base, stacked, 0.3)) == pytest.approx(expected, rel=1e-12)
    assert float(loss_concentrability(base, power_policy(base, 0.3), 0.3)) <= base.num_responses  # Lemma 4.1


def test_loss_concentrability_rejects_empty_and_mismatched():
    base = TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match="at least one policy"):
        loss_concentrability(base, [], 0.5)
    with pytest.raises(ValueError, match=r"policies have shape \(1, 3\) but the base has shape \(1, 2\)"):
        loss_concentrability(base, [TabularPolicy([[0.2, 0.3, 0.5]])], 0.5)


@EXAMPLES
@given(pair=policy_pairs(num_prompts=3, num_responses=5), beta=betas)
def test_reward_and_log_ratio_ranges_match_numpy(pair, beta):
    learned, base = pair
    p, q, mu = np.asarray(learned.probs), np.asarray(base.probs), np.asarray(base.prompt_probs)
    r_max = max(-math.log(q[x, y]) for x in range(len(mu)) for y in range(q.shape[1]) if mu[x] > 0 and q[x, y] > 0)
    assert float(reward_range(base)) == pytest.approx(r_max, rel=1e-12, abs=1e-15)
    values = []
    for x in range(len(mu)):
        for y in range(q.shape[1]):
            if mu[x] == 0 or (p[x, y] == 0 and q[x, y] == 0):
                continue
            values.append(np.inf if (p[x, y] == 0) != (q[x, y] == 0) else abs(beta * math.log(p[x, y] / q[x, y])))
    got = float(log_ratio_range(learned, base, beta))
    assert got == pytest.approx(max(values), rel=1e-9, abs=1e-12) if np.isfinite(max(values)) else got == np.inf


def test_concentrability_of_the_base_is_one_and_kl_matches():
    base = TabularPolicy([[0.5, 0.3, 0.2]])
    assert float(concentrability(base, base)) == pytest.approx(1.0, rel=1e-15)
    assert float(regularized_objective(base, base, 2.0)) == pytest.approx(float(expected_log_likelihood(base, base)))
    assert float(kl_divergence(base, base)) == 0.0


def test_power_log_probs_stays_finite_where_probabilities_underflow():
    """log π*_β = (1 + 1/β)(log π − log π_max) − log Σ exp(·): at β = 1e-3 the runner-up's probability underflows
    to 0 but its log stays exact; zero-probability responses stay at −inf."""
    from sharpsim.referee.kl_regularized import power_log_probs

    probs = np.array([[0.5, 0.3, 0.2, 0.0]])
    beta = 1e-3
    got = np.asarray(power_log_probs(TabularPolicy(probs), beta))[0]
    exponent = 1 + 1 / beta
    logits = exponent * (np.log(probs[0, :3]) - np.log(0.5))
    expected = logits - (logits.max() + np.log(np.sum(np.exp(logits - logits.max()))))
    np.testing.assert_allclose(got[:3], expected, rtol=1e-12)
    assert got[3] == -np.inf and np.asarray(power_policy(TabularPolicy(probs), beta).probs)[0, 2] == 0.0
    np.testing.assert_allclose(np.exp(np.asarray(power_log_probs(TabularPolicy(probs), 0.5))),
                               np.asarray(power_policy(TabularPolicy(probs), 0.5).probs), rtol=1e-12)
