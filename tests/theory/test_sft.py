"""The bounds of best-of-N and SFT-Sharpening (Proposition C.1, Theorems 4.1, 4.1′, D.1, Lemmas I.1, F.1) against
the formulas written out here, plus vectorization, monotonicity, limits and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.theory import sft

unit = st.floats(0.01, 0.99)
cover = st.floats(1.0, 1e4)
log_size = st.floats(0.0, 50.0)
SETTINGS = settings(deadline=None, max_examples=60, derandomize=True)


# --- formulas against independent scalar math --------------------------------------------------------------------------

def test_prop_c1():
    # N ≥ log(1/ρ)/p*; the reference table's p* = 0.1, ρ = 0.05 needs N = 29 (smallest integer with (0.9)^N ≤ 0.05)
    assert sft.prop_c1_num_samples(0.1, 0.05) == pytest.approx(math.log(20) / 0.1)
    assert math.ceil(sft.prop_c1_num_samples(0.1, 0.05)) >= 29
    assert sft.prop_c1_miss_probability(0.1, 16) == pytest.approx(1 - 0.8146979811148158, rel=1e-12)
    assert sft.prop_c1_miss_probability(1.0, 3) == 0.0


@SETTINGS
@given(p=st.floats(1e-6, 1.0), rho=unit)
def test_prop_c1_guarantee(p, rho):
    n = math.ceil(sft.prop_c1_num_samples(p, rho))
    assert (1 - p) ** n <= rho + 1e-12
    assert sft.prop_c1_miss_probability(p, n) <= math.exp(-n * p) + 1e-15


@SETTINGS
@given(c=cover, log_pi=log_size, eps=unit, delta=unit, rho=unit, k=st.floats(0.1, 10))
def test_thm_4_1(c, log_pi, eps, delta, rho, k):
    n = sft.thm_4_1_num_prompts(log_pi, eps, delta, rho, constant=k)
    big_n = sft.thm_4_1_num_samples(c, eps, delta, constant=k)
    m = sft.thm_4_1_sample_complexity(c, log_pi, eps, delta, rho, constant=k)
    assert n == pytest.approx(k * (log_pi + math.log(1 / rho)) / (delta * eps))
    assert big_n == pytest.approx(k * c * math.log(2 / delta) / eps)
    assert m == pytest.approx(k * c * (log_pi - math.log(rho)) * math.log(1 / delta) / (delta * eps ** 2))
    # n·N is the theorem's m with log(2/δ) in place of log(1/δ) and the constant squared
    assert n * big_n == pytest.approx(m * k * math.log(2 / delta) / math.log(1 / delta), rel=1e-9)


@SETTINGS
@given(c=cover, log_pi=log_size, delta=unit, rho=unit, n=st.floats(1, 1e6), n_star=st.floats(1, 1e6))
def test_thm_4_1_prime(c, log_pi, delta, rho, n, n_star):
    stat, cov = sft.thm_4_1_prime_error_terms(log_pi, n, n_star, c, delta, rho)
    assert stat == pytest.approx((log_pi + math.log(1 / rho)) / (delta * n))
    assert cov == pytest.approx(c / n_star)
    assert sft.thm_4_1_prime_error_bound(log_pi, n, n_star, c, delta, rho, constant=2.0) == pytest.approx(
        2 * (stat + cov))
    assert sft.thm_4_1_prime_num_samples(n_star, delta) == pytest.approx(n_star * math.log(2 / delta))


def test_thm_4_1_prime_prescription_reaches_eps():
    # Taking n = C log(|Π|/ρ)/(δε) and N* = C C_cov/ε makes each term ε/C, so the bound (constant 1) is 2ε/C.
    eps, delta, rho, c_cov, log_pi = 0.05, 0.2, 0.1, 7.0, 4.0
    n = sft.thm_4_1_num_prompts(log_pi, eps, delta, rho, constant=4.0)
    n_star = 4.0 * c_cov / eps
    assert sft.thm_4_1_prime_error_bound(log_pi, n, n_star, c_cov, delta, rho) == pytest.approx(eps / 2)


@SETTINGS
@given(cbar=cover, log_pi=log_size, eps=unit, delta=unit, rho=unit, n=st.floats(1, 1e6))
def test_thm_d1(cbar, log_pi, eps, delta, rho, n):
    mu = math.log(2 / delta)
    assert sft.thm_d1_stopping_parameter(delta) == pytest.approx(mu)
    assert sft.thm_d1_expected_samples(n, cbar, delta) == pytest.approx(n * (1 + mu) * cbar)
    assert sft.thm_d1_error_bound(log_pi, n, delta, rho) == pytest.approx((log_pi - math.log(rho)) / (delta * n))
    assert sft.thm_d1_num_prompts(log_pi, eps, delta, rho) == pytest.approx(
        (log_pi - math.log(rho)) / (delta * eps))
    assert sft.thm_d1_sample_complexity(cbar, log_pi, eps, delta, rho) == pytest.approx(
        cbar * (log_pi - math.log(rho)) * math.log(1 / delta) / (delta * eps))
    # at equal constants the adaptive rate is the non-adaptive one times ε (C̄ = C for a unique argmax)
    assert sft.thm_d1_sample_complexity(cbar, log_pi, eps, delta, rho) == pytest.approx(
        eps * sft.thm_4_1_sample_complexity(cbar, log_pi, eps, delta, rho))


@SETTINGS
@given(p=st.floats(1e-4, 1.0), k=st.integers(1, 5), mu=st.floats(0.01, 20))
def test_lemma_i1(p, k, mu):
    p = min(p, 1.0 / k)
    assert sft.lemma_i1_expected_stopping_time(p, k, mu) == pytest.approx((mu + 1 / k) / p)
    assert sft.lemma_i1_miss_probability(k, mu) == pytest.approx(math.exp(-k * mu))


def test_lemma_i1_against_exact_stopping_time():
    # P = (p, q, ..., q) with q < p: N_μ = min(max(T, ⌈μ/p⌉), ⌈μ/q⌉), T the first draw of y*, so
    # E[N_μ] = Σ_k P(N_μ ≥ k) is exact and must respect Lemma I.1.
    p, q_count = 0.05, 38
    q = (1 - p) / q_count
    mu = math.log(2 / 0.1)
    k_star = math.ceil(mu / p)  # once y* is seen the rule stops at the first k ≥ μ/p
    k_q = math.ceil(mu / q)  # stops even without y* once k ≥ μ/q
    expected = 0.0
    for k in range(1, k_q + 1):
        # P(N_μ ≥ k): k ≤ k_star always; otherwise y* not seen in the first k − 1 draws
        expected += 1.0 if k <= k_star else (1 - p) ** (k - 1)
    assert expected <= sft.lemma_i1_expected_stopping_time(p, 1, mu)


@SETTINGS
@given(log_pi=log_size, n=st.floats(1, 1e6), rho=unit)
def test_lemma_f1(log_pi, n, rho):
    assert sft.lemma_f1_hellinger_bound(log_pi, n, rho) == pytest.approx(2 * (log_pi + math.log(1 / rho)) / n)


# --- vectorization, monotonicity, limits -------------------------------------------------------------------------------

def test_vectorized_broadcasting():
    eps = np.array([0.05, 0.1, 0.2])
    coverage = np.array([[1.0], [4.0]])
    m = sft.thm_4_1_sample_complexity(coverage, 3.0, eps, 0.25, 0.1)
    assert m.shape == (2, 3)
    for i, c in enumerate([1.0, 4.0]):
        for j, e in enumerate(eps):
            assert m[i, j] == pytest.approx(sft.thm_4_1_sample_complexity(c, 3.0, e, 0.25, 0.1))


@SETTINGS
@given(c=cover, log_pi=log_size, eps=st.floats(0.01, 0.5), delta=unit, rho=unit)
def test_monotone_in_eps_and_coverage(c, log_pi, eps, delta, rho):
    # halving ε multiplies Theorem 4.1's m by exactly 4, Theorem D.1's by 2; doubling C_cov doubles both
    m = sft.thm_4_1_sample_complexity(c, log_pi, eps, delta, rho)
    assert sft.thm_4_1_sample_complexity(c, log_pi, eps / 2, delta, rho) == pytest.approx(4 * m)
    assert sft.thm_4_1_sample_complexity(2 * c, log_pi, eps, delta, rho) == pytest.approx(2 * m)
    md = sft.thm_d1_sample_complexity(c, log_pi, eps, delta, rho)
    assert sft.thm_d1_sample_complexity(c, log_pi, eps / 2, delta, rho) == pytest.approx(2 * md)


def test_limits():
    # the Theorem 4.1′ bound vanishes as n, N* → ∞ and the error terms blow up as n, N* → 0
    stat, cov = sft.thm_4_1_prime_error_terms(2.0, np.array([1e1, 1e12]), np.array([1e1, 1e12]), 5.0, 0.2, 0.1)
    assert stat[1] < 1e-9 and cov[1] < 1e-9 and stat[0] > stat[1] and cov[0] > cov[1]
    # log|Π| = 0 (a single model): only log(1/ρ) remains in the upper bound
    assert sft.thm_4_1_num_prompts(0.0, 0.1, 0.5, math.exp(-1)) == pytest.approx(20.0)
    # Lemma I.1 miss probability decays to 0 in μ
    assert sft.lemma_i1_miss_probability(1, 50.0) < 1e-21


# --- bad inputs -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: sft.thm_4_1_num_prompts(1.0, 0.0, 0.5, 0.1), r"eps must be in \(0, 1\), got 0.0"),
    (lambda: sft.thm_4_1_num_prompts(1.0, 0.1, 1.0, 0.1), r"delta must be in \(0, 1\), got 1.0"),
    (lambda: sft.thm_4_1_num_prompts(1.0, 0.1, 0.5, [0.1, 1.5]), r"rho must be in \(0, 1\), got 1.5"),
    (lambda: sft.thm_4_1_num_prompts(-1.0, 0.1, 0.5, 0.1), r"log_class_size must be in \[0, inf\)"),
    (lambda: sft.thm_4_1_num_samples(0.5, 0.1, 0.5), r"coverage must be in \[1, inf\), got 0.5"),
    (lambda: sft.thm_4_1_num_samples(2.0, 0.1, 0.5, constant=0.0), r"constant must be in \(0, inf\)"),
    (lambda: sft.thm_4_1_num_samples(2.0, float("nan"), 0.5), r"eps must not be NaN"),
    (lambda: sft.thm_4_1_prime_error_terms(1.0, 0, 10, 2.0, 0.2, 0.1), r"num_prompts must be in \(0, inf\)"),
    (lambda: sft.thm_d1_expected_samples(10, 0.9, 0.2), r"mode_coverage must be in \[1, inf\)"),
    (lambda: sft.prop_c1_num_samples(0.0, 0.1), r"p_star must be in \(0, 1\]"),
    (lambda: sft.prop_c1_miss_probability(0.5, 2.5), r"num_samples must be an integer"),
    (lambda: sft.lemma_i1_expected_stopping_time(0.6, 2, 1.0), r"num_argmax · p_star must be ≤ 1"),
    (lambda: sft.lemma_i1_miss_probability(0, 1.0), r"num_argmax must be an integer in \[1, inf\)"),
    (lambda: sft.lemma_i1_miss_probability(1, -1.0), r"mu must be in \(0, inf\)"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_input():
    with pytest.raises(TypeError, match="eps must hold real numbers"):
        sft.thm_4_1_num_prompts(1.0, "0.1", 0.5, 0.1)
