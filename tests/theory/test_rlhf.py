"""RLHF bounds (sharpsim.theory.rlhf: Theorems 4.2, 4.2′, 4.3, J.1–J.3, Lemmas J.4, J.5) against the paper's
formulas written here in plain numpy/math, the SEC estimator against an explicit triple loop over (x, y, y'),
and validation messages."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.testing.strategies import tabular_policies
from sharpsim import TabularPolicy
from sharpsim.referee.kl_regularized import power_policy, sharpening_beta
from sharpsim.referee.quantities import margin
from sharpsim.theory.rlhf import (
    lemma_j4_log_net_size,
    lemma_j5_min_lambda,
    lemma_j5_sec_bound,
    sequential_extrapolation_coefficient,
    thm_4_2_beta,
    thm_4_2_sample_complexity,
    thm_4_2_prime_error_bound,
    thm_4_2_prime_error_terms,
    thm_j1_alpha,
    thm_j1_regret_bound,
    thm_j2_alpha,
    thm_j2_beta,
    thm_j2_eps_disc,
    thm_j2_min_rounds,
    thm_j2_sample_complexity,
    thm_j2_target_miss_bound,
    thm_4_3_sample_complexity,
    thm_j3_max_theta_norm,
    thm_j3_reward_range,
)


def test_rlhf_rates():
    c, cl, log_pi, g, eps, delta, rho = 3.0, 100.0, 2.0, 0.5, 0.1, 0.2, 0.05
    expected = c * (math.log(cl) + log_pi + math.log(1 / rho)) ** 3 / (g ** 2 * delta ** 2 * eps ** 2)
    assert thm_4_2_sample_complexity(c, cl, log_pi, g, eps, delta, rho) == pytest.approx(expected)
    assert thm_4_3_sample_complexity(5.0, log_pi, g, eps, delta, rho) == pytest.approx(
        5.0 * (log_pi + math.log(1 / rho)) / (g ** 2 * delta ** 2 * eps ** 2))
    with pytest.raises(ValueError, match=r"margin must be in \(0, inf\)"):
        thm_4_2_sample_complexity(1.0, 2.0, 1.0, 0.0, 0.1, 0.1, 0.1)


def test_offline_beta_and_thm_4_2_prime():
    assert float(thm_4_2_beta(0.2, 0.1, 0.05)) == pytest.approx(0.2 * 0.1 * 0.05)
    c_conc, c_loss, log_pi, n, beta, gm, delta, rho, gamma = 4.0, 16.0, 3.0, 1000, 0.01, 0.3, 0.2, 0.1, 0.05
    log_term = math.log(c_loss) + log_pi + math.log(1 / rho)
    expected = (math.sqrt(c_conc * log_term**3 / n) + beta * math.log(c_conc) + gamma) / (gm * delta)
    terms = thm_4_2_prime_error_terms(c_conc, c_loss, log_pi, n, beta, gm, delta, rho, gamma)
    assert float(sum(terms)) == pytest.approx(expected, rel=1e-12)
    assert float(thm_4_2_prime_error_bound(c_conc, c_loss, log_pi, n, beta, gm, delta, rho, gamma, constant=2.0)) \
        == pytest.approx(2 * expected, rel=1e-12)
    np.testing.assert_allclose(thm_4_2_prime_error_bound(c_conc, c_loss, log_pi, np.array([10, 1000]), beta, gm,
                                                         delta, rho), [
        (math.sqrt(c_conc * log_term**3 / k) + beta * math.log(c_conc)) / (gm * delta) for k in (10, 1000)])


def test_online_beta_and_target_miss_bound():
    assert float(thm_j2_beta(0.3, 16, 0.1)) == pytest.approx(0.3 / (2 * math.log(320)))
    assert float(thm_j2_beta(np.inf, 16, 0.1)) == np.inf
    beta = 0.3 / (2 * math.log(320))
    bound = float(thm_j2_target_miss_bound(0.3, beta, 16))
    assert bound == pytest.approx(15 * 1.3 ** (-(1 + 1 / beta)), rel=1e-12)
    assert bound <= 0.1 / 2  # the step of Theorem J.2: at the threshold β the miss is ≤ δ/2
    assert float(thm_j2_target_miss_bound(0.01, 100.0, 16)) == 1.0  # capped


@settings(max_examples=40, deadline=None, derandomize=True)
@given(base=tabular_policies(num_prompts=3, num_responses=5), fraction=st.floats(1e-3, 3.0))
def test_target_miss_bound_holds_for_every_beta(base, fraction):
    """1 − π*_β(y*|x) ≤ (|Y| − 1)(1 + γ_margin)^{−(1+1/β)} on supp μ, for any β (not only below the threshold)."""
    gm = float(margin(base))
    if not np.isfinite(gm):
        return
    beta = fraction * float(sharpening_beta(base, 0.1))
    probs = np.asarray(power_policy(base, beta).probs)
    base_probs, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    top = base_probs.max(axis=1, keepdims=True)
    miss = np.array([math.fsum(probs[x, base_probs[x] < top[x, 0]]) for x in range(3)])
    assert np.all(miss[mu > 0] <= float(thm_j2_target_miss_bound(gm, beta, 5)) * (1 + 1e-9) + 1e-12)


def test_xpo_constants():
    beta, r, v, sec, log_n, t, rho = 0.1, 5.0, 2.0, 3.0, 10.0, 100, 0.05
    log_term = math.log(2) + log_n + math.log(t) + math.log(1 / rho)
    assert float(thm_j1_alpha(beta, r, v, sec, log_n, t, rho)) == pytest.approx(
        beta / (r + v) * math.sqrt(log_term / (sec * t)), rel=1e-12)
    assert float(thm_j1_regret_bound(sec, log_n, t, rho, r, v, beta, 0.01)) == pytest.approx(
        (r + v) * math.sqrt(sec * log_term / t) + beta * 0.01 * math.sqrt(sec * t), rel=1e-12)
    assert float(thm_j2_alpha(beta, r, sec, log_n, t, 0.2)) == pytest.approx(
        beta / r * math.sqrt((math.log(2) + log_n + math.log(t) + math.log(5)) / (sec * t)), rel=1e-12)
    assert float(thm_j2_eps_disc(0.1, 0.2, sec, t)) == pytest.approx(0.02 / math.sqrt(sec * t))
    assert float(thm_j2_sample_complexity(r, sec, log_n, 0.3, 16, 0.1, 0.2, rho)) == pytest.approx(
        r**2 * sec * (log_n + math.log(1 / rho)) * math.log(16 / 0.2) ** 2 / (0.3**2 * 0.1**2 * 0.2**2), rel=1e-12)


@pytest.mark.parametrize("r,sec,log_n,eps,delta,beta,rho", [(5.0, 3.0, 10.0, 0.1, 0.1, 0.05, 0.1),
                                                           (1.0, 1.0, 0.0, 0.5, 0.5, 1.0, 0.5)])
def test_min_rounds_is_the_smallest_t_meeting_the_condition(r, sec, log_n, eps, delta, beta, rho):
    def meets(t):
        return t >= r**2 * sec * (math.log(2) + log_n + math.log(t) + math.log(1 / rho)) / (eps * delta * beta) ** 2
    t = float(thm_j2_min_rounds(r, sec, log_n, eps, delta, beta, rho))
    assert meets(t) and (t == 1 or not meets(t - 1))


def test_linear_class_lemmas():
    assert float(lemma_j4_log_net_size(2.0, 0.1, 5)) == pytest.approx(5 * math.log(120))
    assert float(lemma_j5_sec_bound(5, 99)) == pytest.approx(5 * math.log(100))
    assert float(lemma_j5_min_lambda(0.1, 3.0, 4.0)) == pytest.approx(4 * 0.01 * 9 + 16)
    assert float(thm_j3_reward_range(0.1, 3.0, 64)) == pytest.approx(math.sqrt(4 * 0.01 * 9 + (6 + math.log(64)) ** 2))
    assert float(thm_j3_max_theta_norm(0.5, 10.0, 64, 0.1)) == pytest.approx(5 / (3 * math.log(1280)))


@pytest.mark.parametrize("call,match", [
    (lambda: thm_j2_beta(0.0, 4, 0.1), r"margin must be in \(0, inf\], got 0.0"),
    (lambda: thm_j2_beta(0.3, 0, 0.1), r"num_responses must be an integer in \[1, inf\), got 0.0"),
    (lambda: thm_j2_beta(0.3, 4, 1.0), r"delta must be in \(0, 1\), got 1.0"),
    (lambda: thm_4_2_prime_error_bound(0.5, 4, 1, 10, 0.1, 0.3, 0.1, 0.1), r"concentrability must be in \[1, inf\)"),
    (lambda: thm_4_2_prime_error_bound(2, 4, 1, 10, -0.1, 0.3, 0.1, 0.1), r"beta must be in \(0, inf\), got -0.1"),
    (lambda: thm_j1_alpha(0.1, 1.0, 0.0, 1.0, 1.0, 0, 0.1), r"num_rounds must be in \[1, inf\), got 0.0"),
    (lambda: lemma_j4_log_net_size(1.0, 7.0, 3), r"eps_disc must be at most 6·radius = 6"),
    (lambda: lemma_j5_sec_bound(2.5, 10), r"dimension must be an integer in \[1, inf\), got 2.5"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- the sequential extrapolation coefficient ---------------------------------------------------------


def ref_sec(sequence, base, mu, beta, lam):
    """Definition J.1's ratio sum by explicit loops over (x, y, y') (r = log π_base)."""
    def g(t, x, y, yp):
        pt = sequence[t]
        return (beta * math.log(pt[x, y] / base[x, y]) - math.log(base[x, y])
                - beta * math.log(pt[x, yp] / base[x, yp]) + math.log(base[x, yp]))

    def moment(i, t, power):
        return math.fsum(mu[x] * sequence[i][x, y] * base[x, yp] * g(t, x, y, yp) ** power
                         for x in range(base.shape[0]) for y in range(base.shape[1]) for yp in range(base.shape[1]))

    return sum(moment(t, t, 1) ** 2 / max(lam, sum(moment(i, t, 2) for i in range(t)))
               for t in range(len(sequence)))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), rounds=st.integers(1, 4), beta=st.sampled_from([0.1, 1.0]),
       lam=st.sampled_from([1e-3, 1.0]))
def test_sec_matches_explicit_loops(seed, rounds, beta, lam):
    rng = np.random.default_rng(seed)
    base = rng.dirichlet(np.ones(4), size=2)
    mu = rng.dirichlet(np.ones(2))
    sequence = [rng.dirichlet(np.ones(4), size=2) for _ in range(rounds)]
    got = sequential_extrapolation_coefficient([TabularPolicy(p, mu) for p in sequence], TabularPolicy(base, mu),
                                               beta, lam)
    assert got == pytest.approx(ref_sec(sequence, base, mu, beta, lam), rel=1e-8, abs=1e-12)


def test_sec_of_the_target_is_zero_and_stacked_input_works():
    """For π^(t) = π*_β, h = β log(π*_β/π_base) − log π_base = −β log Z_x does not depend on y: every g is 0."""
    base = TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    target = power_policy(base, 0.4)
    assert sequential_extrapolation_coefficient([target] * 3, base, 0.4, 1.0) == pytest.approx(0.0, abs=1e-25)
    stacked = TabularPolicy.tree_unflatten(None, (np.stack([np.asarray(base.probs)] * 2), base.prompt_probs))
    value, numerators, denominators = sequential_extrapolation_coefficient(stacked, base, 0.4, 0.5, return_terms=True)
    assert numerators.shape == denominators.shape == (2,)
    assert value == pytest.approx(sequential_extrapolation_coefficient([base, base], base, 0.4, 0.5))


def test_sec_rejects_bad_input():
    base = TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match="at least one policy"):
        sequential_extrapolation_coefficient([], base, 0.5, 1.0)
    with pytest.raises(ValueError, match=r"lam must be in \(0, inf\), got 0.0"):
        sequential_extrapolation_coefficient([base], base, 0.5, 0.0)
    with pytest.raises(ValueError, match=r"policies have shape \(1, 3\) but the base has shape \(1, 2\)"):
        sequential_extrapolation_coefficient([TabularPolicy([[0.2, 0.3, 0.5]])], base, 0.5, 1.0)
