"""Lemma H.4 (adaptive lower bound on the hard family of Appendix H): the printed intermediate inequality against
the replacement recorded in paper_notes.md, evaluated for the learners sharpsim has on that family.

Coordinate i of the hidden index is j_i ∼ Uniform([M]); m_i is the number of samples the learner takes at x_i and
"error" is P[ĵ_i ≠ j_i] (Lemma H.2's coordinate error). With k = ⌊M/3⌋ (m_i is an integer, so m_i ≤ M/3 ⇔ m_i ≤ k):

    printed (Lemma H.4):   error ≥ (1/(4e))·P[m_i ≤ M/3]          — false for an adaptive learner;
    replacement:           error ≥ ½·(1/(2e) − P[m_i > M/3])       — holds for every learner (M ≥ 6, γ = 1/2).

Both sides are computed exactly in numpy for the Bayes learners of ``sharpsim.algorithms.bayes_hard`` (the Bayes
decision is the smallest error any learner reaches with the same sampling rule, so these are the hardest cases for
the replacement), and the exact formulas are checked against Monte Carlo runs of those learners through the oracle.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim  # noqa: F401  (float64)
from sharpsim.algorithms.bayes_hard import adaptive_bayes_hard_learner, bayes_hard_learner
from sharpsim.core.oracle import Oracle
from sharpsim.instances.hard import HardClass

GAMMA = 0.5  # the family's γ (Appendix H): a = 1/((1 − γ)M) = 2/M on the argmax


def _top_mass(M: int) -> float:
    return 1.0 / ((1.0 - GAMMA) * M)


def _visits_pmf(n: int, d: int, delta: float) -> np.ndarray:
    """P[V = v], v = 0..n: V ∼ Bin(n, Δ/d) visits of x_i among n i.i.d. prompts from μ."""
    q = delta / d
    v = np.arange(n + 1)
    log_choose = np.array([math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) for j in v])
    with np.errstate(divide="ignore"):
        return np.exp(log_choose + v * math.log(q) + (n - v) * (math.log1p(-q) if q < 1 else -np.inf))


def _unrevealed_error(M: int, max_draws: int) -> np.ndarray:
    """h(s), s = 0..max_draws: P[none of s draws at x_i is the argmax]·E[1 − 1/(M − D_s)], the Bayes error after s
    draws. Given no reveal the draws are uniform on the M − 1 other candidates; D_s is their number of distinct
    values (occupancy recursion), and the posterior is uniform on the M − D_s unseen candidates."""
    a = _top_mass(M)
    occupancy = np.zeros(M)  # P[D_s = j], j = 0..M − 1
    occupancy[0] = 1.0
    unseen = M - np.arange(M)
    out = np.empty(max_draws + 1)
    for s in range(max_draws + 1):
        out[s] = (1.0 - a) ** s * np.sum(occupancy * (1.0 - 1.0 / unseen))
        stay = occupancy * np.arange(M) / (M - 1)
        move = np.concatenate([[0.0], occupancy[:-1] * (M - 1 - np.arange(M - 1)) / (M - 1)])
        occupancy = stay + move
    return out


def fixed_budget_sides(d, M, delta, n, N):
    """(error, P[m_i ≤ M/3]) of the non-adaptive Bayes learner with n prompts × N samples: m_i = N·V."""
    visits = _visits_pmf(n, d, delta)
    h = _unrevealed_error(M, N * n)
    error = float(np.sum(visits * h[N * np.arange(n + 1)]))
    at_most = float(np.sum(visits[: M // 3 // N + 1]))
    return error, at_most


def adaptive_sides(d, M, delta, n, cap):
    """(error, P[m_i ≤ M/3]) of the sample-until-revealed Bayes learner: m_i = 0 if x_i is never drawn, else
    min(T, cap) with T ∼ Geometric(a); unvisited coordinates have error h(0) = 1 − 1/M, capped ones h(cap),
    revealed ones 0."""
    a = _top_mass(M)
    unvisited = _visits_pmf(n, d, delta)[0]
    h = _unrevealed_error(M, cap)
    error = unvisited * h[0] + (1.0 - unvisited) * h[cap]
    k = M // 3
    at_most = unvisited + (1.0 - unvisited) * (1.0 - (1.0 - a) ** min(k, cap) if k < cap else 1.0)
    return float(error), float(at_most)


def printed_rhs(at_most):
    return at_most / (4.0 * math.e)


def replacement_rhs(at_most):
    return 0.5 * (1.0 / (2.0 * math.e) - (1.0 - at_most))


COUNTEREXAMPLE = dict(d=4, M=26, delta=0.25, n=80)
CAP = 12 * 26  # the per-prompt tape of hard_learners' "bayes_adaptive" (12M)


def test_printed_inequality_fails_at_the_counterexample_and_the_replacement_holds():
    error, at_most = adaptive_sides(**COUNTEREXAMPLE, cap=CAP)
    # independent closed form: error ≈ (1 − Δ/d)^n (1 − 1/M) (the cap term is (1 − 2/M)^{12M} ≈ e^{−24})
    q = 0.25 / 4
    assert error == pytest.approx((1 - q) ** 80 * (1 - 1 / 26), rel=1e-8)
    assert at_most == pytest.approx((1 - q) ** 80 + (1 - (1 - q) ** 80) * (1 - (1 - 2 / 26) ** 8), rel=1e-12)
    assert error < 0.2 * printed_rhs(at_most)  # 0.0055 against 0.044: fails by a factor 8
    assert error >= replacement_rhs(at_most)


BUDGETS = [0, 1, 5, 20, 80, 200, 600]
POINTS = [(4, 26, 0.25), (2, 6, 0.5), (8, 12, 0.1), (4, 40, 0.9), (1, 9, 0.05)]


@pytest.mark.parametrize("d, M, delta", POINTS)
def test_replacement_holds_for_every_bayes_learner_and_budget(d, M, delta):
    """Exact: the adaptive learner (caps M/3, 2M, 12M) and the fixed-budget learner (N = 1, 2, 5), n over BUDGETS.
    The printed form holds for the fixed-budget learners (m_i is independent of the draws at x_i there)."""
    assert float(HardClass(d, M, delta).top_mass) == pytest.approx(_top_mass(M), rel=1e-12)
    binding = 0  # points where the replacement's right-hand side is positive (not vacuous)
    for n in BUDGETS:
        for cap in (max(1, M // 3), 2 * M, 12 * M):
            error, at_most = adaptive_sides(d, M, delta, n, cap)
            assert error >= replacement_rhs(at_most) - 1e-12, ("adaptive", d, M, delta, n, cap)
            binding += replacement_rhs(at_most) > 0
        for N in (1, 2, 5):
            error, at_most = fixed_budget_sides(d, M, delta, n, N)
            assert error >= replacement_rhs(at_most) - 1e-12, ("fixed", d, M, delta, n, N)
            assert error >= printed_rhs(at_most) - 1e-12, ("fixed printed", d, M, delta, n, N)
            binding += replacement_rhs(at_most) > 0
    assert binding >= len(BUDGETS)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(d=st.integers(1, 8), M=st.integers(6, 40), delta=st.floats(0.01, 1.0), n=st.integers(0, 300),
       N=st.integers(1, 6), cap_factor=st.floats(0.05, 12.0))
def test_replacement_property_over_random_instances(d, M, delta, n, N, cap_factor):
    cap = max(1, int(cap_factor * M))
    for error, at_most in (adaptive_sides(d, M, delta, n, cap), fixed_budget_sides(d, M, delta, n, N)):
        assert 0.0 <= error <= 1.0 and 0.0 <= at_most <= 1.0 + 1e-12
        assert error >= replacement_rhs(at_most) - 1e-12


def test_printed_form_fails_for_the_adaptive_learner_over_a_range_of_budgets():
    """Not a single unlucky point: at (d, M, Δ) = (4, 26, 1/4) it fails for every n from 50 to 1000 (the error
    falls like (1 − Δ/d)^n while P[m_i ≤ M/3] tends to P[T ≤ ⌊M/3⌋] = 1 − (1 − 2/M)^8 ≈ 0.47), and holds at n ≤ 45."""
    for n in range(50, 1001, 10):
        error, at_most = adaptive_sides(4, 26, 0.25, n, CAP)
        assert error < printed_rhs(at_most), n
    error, at_most = adaptive_sides(4, 26, 0.25, 45, CAP)
    assert error >= printed_rhs(at_most)


# ---- Monte Carlo through the oracle: the exact formulas are those of sharpsim's learners ------------------------

def _run(model_class, keys, n, cap, N, adaptive):
    def one(key):
        key_index, key_run = jax.random.split(key)
        base = model_class.random_member(key_index)
        if adaptive:
            result, _ = adaptive_bayes_hard_learner(key_run, Oracle(base), model_class, n, cap)
        else:
            result, _ = bayes_hard_learner(key_run, Oracle(base), model_class, n, N)
        return result.index != base.index, result.samples_per_prompt

    wrong, spent = jax.jit(jax.vmap(one))(keys)
    return np.asarray(wrong), np.asarray(spent)


def _seed_mean_interval(per_seed, z=3.29):
    """Mean over seeds with a normal 99.9% interval from the spread of the per-seed means (the d coordinates of
    one seed share its prompt counts, so seeds, not coordinates, are the independent units)."""
    mean = float(per_seed.mean())
    half = z * float(per_seed.std(ddof=1)) / math.sqrt(per_seed.size)
    return mean, mean - half, mean + half


@pytest.mark.slow
@pytest.mark.parametrize("adaptive, N", [(True, 1), (False, 1), (False, 3)])
def test_monte_carlo_of_the_learners_matches_the_exact_sides(adaptive, N):
    """4000 seeds at the counterexample, through the oracle: the 99.9% intervals of the error and of
    P[m_i ≤ M/3] contain the exact values; for the adaptive learner the upper end of the error's interval lies
    below (1/(4e)) × the lower end of P[m_i ≤ M/3]'s (the printed form fails), and the replacement holds at the
    measured values' worst ends."""
    p = COUNTEREXAMPLE
    model_class = HardClass(p["d"], p["M"], p["delta"])
    keys = jax.random.split(jax.random.PRNGKey(41), 4000)
    wrong, spent = _run(model_class, keys, p["n"], CAP, N, adaptive)
    exact_error, exact_at_most = adaptive_sides(**p, cap=CAP) if adaptive else fixed_budget_sides(**p, N=N)
    error = _seed_mean_interval(wrong.mean(axis=1))
    at_most = _seed_mean_interval((spent <= p["M"] // 3).mean(axis=1))
    assert error[1] <= exact_error <= error[2], (error, exact_error)
    assert at_most[1] <= exact_at_most <= at_most[2], (at_most, exact_at_most)
    assert error[1] >= replacement_rhs(at_most[2])
    if adaptive:
        assert error[2] < printed_rhs(at_most[1])
