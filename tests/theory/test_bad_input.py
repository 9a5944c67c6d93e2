"""Bad input to every bound of ``sharpsim.theory`` (issue 12): non-numbers raise ``TypeError`` naming the argument,
NaN and out-of-range values ``ValueError`` naming it, arguments that do not broadcast ``ValueError`` naming both and
their shapes, and a broadcast too large for memory is refused before it is allocated."""

import inspect
import math

import numpy as np
import pytest

import sharpsim as ss
from sharpsim.theory import lower_bounds, rlhf, sft
from sharpsim.theory.rlhf import sequential_extrapolation_coefficient

VALID = dict(coverage=4.0, log_class_size=3.0, eps=0.1, delta=0.2, rho=0.05, p=1, constant=1.0, p_star=0.3,
             num_samples=5, effective_samples=10.0, num_prompts=100.0, mode_coverage=3.0, num_argmax=1, mu=2.0,
             concentrability=3.0, loss_concentrability=2.0, margin=0.5, sec=4.0, beta=0.1, gamma=0.0,
             num_responses=8, reward_range=2.0, log_ratio_range=1.0, log_net_size=5.0, num_rounds=10,
             eps_disc=0.01, radius=1.0, dimension=3)
UNIT, COVERAGE, POSITIVE = [0.0, 1.0, -0.5, math.inf], [0.5, -1.0, math.inf], [0.0, -1.0, math.inf]
COUNT = [0.0, 2.5, -1.0]
OUT_OF_RANGE = dict(eps=UNIT, delta=UNIT, rho=UNIT, p_star=[0.0, 1.5, math.inf], coverage=COVERAGE,
                    mode_coverage=COVERAGE, concentrability=COVERAGE, loss_concentrability=COVERAGE,
                    constant=POSITIVE, effective_samples=POSITIVE, num_prompts=POSITIVE, mu=POSITIVE, sec=POSITIVE,
                    beta=POSITIVE, reward_range=POSITIVE, radius=POSITIVE, log_class_size=[-1.0, math.inf],
                    log_net_size=[-1.0, math.inf], log_ratio_range=[-1.0, math.inf], eps_disc=[-1.0, math.inf],
                    num_samples=COUNT, num_argmax=COUNT, p=COUNT, num_responses=COUNT, dimension=COUNT,
                    margin=[0.0, -1.0], gamma=[1.0, -0.1], num_rounds=[0.0, -1.0])
NOT_NUMBERS = ["abc", None, {"a": 1}, object(), 1j, [[1.0], [1.0, 2.0]]]
BOUNDS = {name: getattr(module, name) for module in (sft, rlhf, lower_bounds) for name in module.__all__
          if name != "sequential_extrapolation_coefficient"}


def arguments_of(function):
    return [name for name in inspect.signature(function).parameters if name in VALID]


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_every_argument_refuses_non_numbers_nan_and_out_of_range_values(name):
    function = BOUNDS[name]
    arguments = arguments_of(function)
    assert function(**{a: VALID[a] for a in arguments}) is not None  # the valid point itself is accepted
    for argument in arguments:
        for bad in NOT_NUMBERS:
            with pytest.raises(TypeError, match=rf"\b{argument}\b"):
                function(**{**{a: VALID[a] for a in arguments}, argument: bad})
        for bad in [math.nan, [VALID[argument], math.nan], *OUT_OF_RANGE[argument]]:
            with pytest.raises(ValueError, match=rf"\b{argument} must"):
                function(**{**{a: VALID[a] for a in arguments}, argument: bad})


@pytest.mark.parametrize("name", sorted(name for name in BOUNDS if len(arguments_of(BOUNDS[name])) > 1))
def test_arguments_that_do_not_broadcast_are_named_with_their_shapes(name):
    function = BOUNDS[name]
    first, second = arguments_of(function)[:2]
    arguments = {a: VALID[a] for a in arguments_of(function)}
    arguments[first], arguments[second] = np.full(2, VALID[first]), np.full(3, VALID[second])
    with pytest.raises(ValueError, match=rf"{first} and {second} must have shapes that broadcast together, got "
                                         rf"{first} of shape \(2,\) and {second} of shape \(3,\)"):
        function(**arguments)
    # arguments that do broadcast give the broadcast shape (a tuple of terms: each term that uses both)
    arguments[second] = np.full((3, 1), VALID[second])
    outputs = function(**arguments)
    shapes = [np.shape(output) for output in (outputs if isinstance(outputs, tuple) else (outputs,))]
    assert (3, 2) in shapes and all(np.broadcast_shapes(shape, (3, 2)) == (3, 2) for shape in shapes)


@pytest.mark.parametrize("name", ["thm_4_1_sample_complexity", "thm_j2_min_rounds", "thm_3_1_prime_lower_bound"])
def test_a_broadcast_too_large_for_memory_is_refused_before_allocating(name, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", "1000")  # 125 float64 entries
    function = BOUNDS[name]
    first, second = arguments_of(function)[:2]
    arguments = {a: VALID[a] for a in arguments_of(function)}
    arguments[first], arguments[second] = np.full((20, 1), VALID[first]), np.full((1, 20), VALID[second])
    with pytest.raises(ValueError, match=rf"{name}'s result .*\(20, 20\)"):
        function(**arguments)
    arguments[second] = np.full((1, 5), VALID[second])
    assert np.shape(function(**arguments)) == (20, 5)


def test_flags_and_argument_names_in_composite_bounds():
    with pytest.raises(TypeError, match="adaptive must be True or False, got 'yes'"):
        lower_bounds.thm_3_1_prime_lower_bound(4.0, 3.0, 0.1, adaptive="yes")
    # Theorem J.2's α takes δ where Theorem J.1's takes ρ: the error names δ
    with pytest.raises(ValueError, match=r"delta must be in \(0, 1\), got 1.5"):
        rlhf.thm_j2_alpha(0.1, 2.0, 4.0, 5.0, 10, 1.5)
    with pytest.raises(ValueError, match="num_rounds must be in \\[1, inf\\), got 0.5"):  # log(2NT/ρ) < 0 below
        rlhf.thm_j1_alpha(0.1, 2.0, 0.0, 4.0, 0.0, 0.5, 0.9)
    with pytest.raises(ValueError, match=r"num_argmax · p_star must be ≤ 1 .* got num_argmax = 3.0 and p_star = 0.5"):
        sft.lemma_i1_expected_stopping_time([0.1, 0.5], [1, 3], 2.0)
    with pytest.raises(ValueError, match=r"eps_disc must be at most 6·radius = 6 .* got 7.0"):
        rlhf.lemma_j4_log_net_size([1.0, 2.0], [7.0, 1.0], 3)
    with pytest.raises(ValueError, match=r"log_class_size must not be NaN, got nan at index \(1,\)"):
        sft.thm_4_1_num_prompts([1.0, math.nan], 0.1, 0.1, 0.1)


def test_target_miss_bound_with_one_response_is_zero():
    """With |Y| = 1 nothing can be missed: exactly 0 (not the 1e-300 that keeps the logarithm finite)."""
    assert rlhf.thm_j2_target_miss_bound(0.5, 0.1, 1) == 0.0
    got = rlhf.thm_j2_target_miss_bound(0.5, 0.1, np.array([1, 3]))
    assert got[0] == 0.0 and got[1] == pytest.approx(2 * 1.5 ** -11, rel=1e-12)


# --- the sequential extrapolation coefficient -------------------------------------------------------------------------

BASE = ss.TabularPolicy(np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]), np.array([0.3, 0.7]))
ITERATES = [ss.TabularPolicy(np.array(p)) for p in ([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]],
                                                    [[0.2, 0.2, 0.6], [0.1, 0.1, 0.8]],
                                                    [[0.5, 0.4, 0.1], [0.3, 0.3, 0.4]])]


@pytest.mark.parametrize("change,error,match", [
    (dict(policies="abc"), TypeError, "policies must be a TabularPolicy"),
    (dict(policies=[BASE, "abc"]), TypeError, r"policies\[1\] must be a TabularPolicy"),
    (dict(base=np.ones((2, 3)) / 3), TypeError, "base must be a TabularPolicy"),
    (dict(beta="a"), TypeError, "beta must hold real numbers"),
    (dict(beta=[0.1, 0.2]), ValueError, r"beta must be a single number, got an array of shape \(2,\)"),
    (dict(lam=math.nan), ValueError, "lam must not be NaN"),
    (dict(rewards="abc"), TypeError, "rewards must hold real numbers"),
    (dict(rewards=np.zeros((2, 2))), ValueError, r"rewards must have shape \(2, 3\), got \(2, 2\)"),
    (dict(rewards=np.where(np.eye(2, 3) > 0, np.nan, 0.0)), ValueError,
     r"rewards must be finite where the base has mass; entry \(0, 0\) is nan"),
    (dict(return_terms="no"), TypeError, "return_terms must be True or False"),
])
def test_sec_refuses_bad_input(change, error, match):
    arguments = dict(policies=ITERATES, base=BASE, beta=0.5, lam=1.0, rewards=None, return_terms=False)
    arguments.update(change)
    with pytest.raises(error, match=match):
        sequential_extrapolation_coefficient(**arguments)


def test_sec_refuses_moments_too_large_for_memory(monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", "500")  # [T, T, X, Y] = [3, 3, 2, 3] needs 432 bytes; 4 rounds 768
    sequential_extrapolation_coefficient(ITERATES, BASE, 0.5, 1.0)
    with pytest.raises(ValueError, match=r"moments \[T, T, X, Y\] .*\(4, 4, 2, 3\)"):
        sequential_extrapolation_coefficient(ITERATES + ITERATES[:1], BASE, 0.5, 1.0)


def sec_by_definition(iterates, base, beta, lam, rewards):
    """Definition J.1 by explicit sums over (x, y, y') of g_t = h_t(x, y) − h_t(x, y'), h_t = β log(π^(t)/π_base) − r,
    in exact rational arithmetic on float inputs (only the logarithms are rounded, in float64 then rescaled)."""
    from fractions import Fraction

    mu = [Fraction(float(m)) for m in np.asarray(base.prompt_probs)]
    base_probs = np.asarray(base.probs)
    probs = [np.asarray(p.probs) for p in iterates]
    beta = Fraction(beta)

    def h(t, x, y):
        return beta * Fraction(math.log(probs[t][x, y] / base_probs[x, y])) - Fraction(float(rewards[x, y]))

    def moment(i, t, power):
        return sum(mu[x] * Fraction(float(probs[i][x, y])) * Fraction(float(base_probs[x, z]))
                   * (h(t, x, y) - h(t, x, z)) ** power
                   for x in range(len(mu)) for y in range(base_probs.shape[1]) for z in range(base_probs.shape[1]))

    total = Fraction(0)
    for t in range(len(probs)):
        total += moment(t, t, 1) ** 2 / max(Fraction(lam), sum((moment(i, t, 2) for i in range(t)), Fraction(0)))
    return total


@pytest.mark.parametrize("beta,lam", [(0.5, 1.0), (1e200, 1e300), (1e300, 1e-300)])
def test_sec_matches_its_definition_even_where_squares_overflow(beta, lam):
    """For β = 1e200 the squares of g overflow float64 (the moments are rescaled); the value is then finite when λ
    is large enough and ``inf`` only when the value itself exceeds the float64 range."""
    rewards = np.array([[0.3, -1.2, 0.7], [2.0, 0.1, -0.4]])
    expected = sec_by_definition(ITERATES, BASE, beta, lam, rewards)
    got = sequential_extrapolation_coefficient(ITERATES, BASE, beta, lam, rewards=rewards)
    if expected > 1.79e308:
        assert got == math.inf
    else:
        assert got == pytest.approx(float(expected), rel=1e-9)
