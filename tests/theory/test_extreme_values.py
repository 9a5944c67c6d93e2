"""Every bound of ``sharpsim.theory`` at extreme valid inputs (C_cov up to 1e300, ε, δ, ρ down to 1e-320, class sizes
up to e^1e300) against the paper's formula evaluated here in 50-digit decimal arithmetic: the float result is the
correctly rounded value (within 1e-11, or a few subnormal units), ``inf`` only where the bound exceeds the float64
range and never NaN. This exercises the log-space fallback of ``theory.checks.stable``."""

import decimal
import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sharpsim.theory import lower_bounds, rlhf, sft

CONTEXT = decimal.Context(prec=50, Emax=10**6, Emin=-10**6)
SETTINGS = settings(deadline=None, max_examples=25, derandomize=True)


# --- 50-digit arithmetic ----------------------------------------------------------------------------------------------

def ln(x):
    return CONTEXT.ln(x)


def log1p(x):
    """log(1 + x) for |x| < 1, by its series where 1 + x would round to 1 at 50 digits."""
    if abs(x) > Decimal("1e-12"):
        return ln(CONTEXT.add(1, x))
    return CONTEXT.subtract(CONTEXT.add(x, CONTEXT.divide(CONTEXT.power(x, 3), 3)), CONTEXT.divide(x * x, 2))


def exp(x):
    return CONTEXT.exp(x)


def sqrt(x):
    return CONTEXT.sqrt(x)


def log_over_rho(log_size, rho):  # log(|Π|/ρ)
    return log_size - ln(rho)


def lower_bound(c, cov, log_size, eps, p, adaptive):
    power = Decimal(1) / p if adaptive else 1 + Decimal(1) / p
    return c * cov * log_size / (exp(power * ln(eps)) * (1 + ln(cov) - ln(eps) / p))


def alpha(beta, reward_range, log_ratio_range, sec, log_net_size, num_rounds, rho):
    return beta / (reward_range + log_ratio_range) * sqrt(
        (ln(Decimal(2)) + log_net_size + ln(num_rounds) - ln(rho)) / (sec * num_rounds))


def min_rounds(reward, sec, log_net, eps, delta, beta, rho, c):
    """The smallest T ≥ 1 with T ≥ A(b + log T), A = c R² SEC/(εδβ)², b = log(2N/ρ), by bisection on log T."""
    scale = c * reward**2 * sec / (eps * delta * beta) ** 2
    offset = ln(Decimal(2)) + log_net - ln(rho)
    if scale * offset <= 1:
        return Decimal(1)
    low, high = ln(scale * offset), ln(scale * offset) + ln(1 + ln(scale * offset) + ln(scale * offset + 1))
    for _ in range(400):  # h(T) = T − A(b + log T) ≥ 0 on the right of the root
        middle = (low + high) / 2
        low, high = (low, middle) if exp(middle) >= scale * (offset + middle) else (middle, high)
    return exp(high).to_integral_value(rounding=decimal.ROUND_CEILING, context=CONTEXT)


# --- argument kinds ---------------------------------------------------------------------------------------------------

def log_uniform(low, high):
    return st.floats(low, high).map(lambda exponent: 10.0**exponent)


UNIT = st.one_of(log_uniform(-320.0, -0.302), st.floats(0.5, 1.0 - 2.0**-53))  # (0, 1), subnormals included
POSITIVE = log_uniform(-300.0, 300.0)
KINDS = {
    "unit": UNIT,
    "unit_closed": st.one_of(UNIT, st.just(1.0)),
    "coverage": st.one_of(st.just(1.0), log_uniform(0.0, 300.0)),
    "positive": POSITIVE,
    "nonnegative": st.one_of(st.just(0.0), POSITIVE),
    "count": log_uniform(0.0, 300.0).map(math.floor).map(float),
    "p": st.integers(1, 10**6).map(float),
    "gamma": st.one_of(st.just(0.0), UNIT),
}

# name -> (function, {argument: kind}, reference(**decimals) -> Decimal or tuple, extra condition or None)
BOUNDS = {
    "prop_c1_num_samples": (sft.prop_c1_num_samples, dict(p_star="unit_closed", rho="unit", constant="positive"),
                            lambda p_star, rho, constant: constant * -ln(rho) / p_star),
    "prop_c1_miss_probability": (sft.prop_c1_miss_probability, dict(p_star="unit_closed", num_samples="count"),
                                 lambda p_star, num_samples: Decimal(0) if p_star == 1
                                 else exp(num_samples * log1p(-p_star))),
    "thm_4_1_num_prompts": (sft.thm_4_1_num_prompts, dict(log_class_size="nonnegative", eps="unit", delta="unit",
                                                          rho="unit", constant="positive"),
                            lambda log_class_size, eps, delta, rho, constant:
                            constant * log_over_rho(log_class_size, rho) / (delta * eps)),
    "thm_4_1_num_samples": (sft.thm_4_1_num_samples, dict(coverage="coverage", eps="unit", delta="unit",
                                                          constant="positive"),
                            lambda coverage, eps, delta, constant: constant * coverage * (ln(2 / delta)) / eps),
    "thm_4_1_sample_complexity": (sft.thm_4_1_sample_complexity,
                                  dict(coverage="coverage", log_class_size="nonnegative", eps="unit", delta="unit",
                                       rho="unit", constant="positive"),
                                  lambda coverage, log_class_size, eps, delta, rho, constant:
                                  constant * coverage * log_over_rho(log_class_size, rho) * -ln(delta)
                                  / (delta * eps**2)),
    "thm_4_1_prime_num_samples": (sft.thm_4_1_prime_num_samples, dict(effective_samples="positive", delta="unit"),
                                  lambda effective_samples, delta: effective_samples * ln(2 / delta)),
    "thm_4_1_prime_error_terms": (sft.thm_4_1_prime_error_terms,
                                  dict(log_class_size="nonnegative", num_prompts="positive",
                                       effective_samples="positive", coverage="coverage", delta="unit", rho="unit",
                                       constant="positive"),
                                  lambda log_class_size, num_prompts, effective_samples, coverage, delta, rho,
                                  constant: (constant * log_over_rho(log_class_size, rho) / (delta * num_prompts),
                                             constant * coverage / effective_samples)),
    "thm_d1_stopping_parameter": (sft.thm_d1_stopping_parameter, dict(delta="unit"), lambda delta: ln(2 / delta)),
    "thm_d1_expected_samples": (sft.thm_d1_expected_samples, dict(num_prompts="positive", mode_coverage="coverage",
                                                                  delta="unit", constant="positive"),
                                lambda num_prompts, mode_coverage, delta, constant:
                                constant * num_prompts * (1 + ln(2 / delta)) * mode_coverage),
    "thm_d1_error_bound": (sft.thm_d1_error_bound, dict(log_class_size="nonnegative", num_prompts="positive",
                                                        delta="unit", rho="unit", constant="positive"),
                           lambda log_class_size, num_prompts, delta, rho, constant:
                           constant * log_over_rho(log_class_size, rho) / (delta * num_prompts)),
    "thm_d1_sample_complexity": (sft.thm_d1_sample_complexity,
                                 dict(mode_coverage="coverage", log_class_size="nonnegative", eps="unit",
                                      delta="unit", rho="unit", constant="positive"),
                                 lambda mode_coverage, log_class_size, eps, delta, rho, constant:
                                 constant * mode_coverage * log_over_rho(log_class_size, rho) * -ln(delta)
                                 / (delta * eps)),
    "lemma_i1_expected_stopping_time": (sft.lemma_i1_expected_stopping_time,
                                        dict(p_star="unit_closed", num_argmax="count", mu="positive",
                                             constant="positive"),
                                        lambda p_star, num_argmax, mu, constant:
                                        constant * (mu + 1 / num_argmax) / p_star),
    "lemma_i1_miss_probability": (sft.lemma_i1_miss_probability, dict(num_argmax="count", mu="positive",
                                                                      constant="positive"),
                                  lambda num_argmax, mu, constant: constant * exp(-num_argmax * mu)),
    "lemma_f1_hellinger_bound": (sft.lemma_f1_hellinger_bound, dict(log_class_size="nonnegative",
                                                                    num_prompts="positive", rho="unit",
                                                                    constant="positive"),
                                 lambda log_class_size, num_prompts, rho, constant:
                                 2 * constant * log_over_rho(log_class_size, rho) / num_prompts),
    "thm_3_1_prime_lower_bound": (lower_bounds.thm_3_1_prime_lower_bound,
                                  dict(coverage="coverage", log_class_size="nonnegative", eps="unit", p="p",
                                       constant="positive"),
                                  lambda coverage, log_class_size, eps, p, constant:
                                  lower_bound(constant, coverage, log_class_size, eps, p, False)),
    "thm_3_1_lower_bound": (lower_bounds.thm_3_1_lower_bound, dict(coverage="coverage", log_class_size="nonnegative",
                                                                   eps="unit", constant="positive"),
                            lambda coverage, log_class_size, eps, constant:
                            lower_bound(constant, coverage, log_class_size, eps, 1, False)),
    "thm_d2_lower_bound": (lower_bounds.thm_d2_lower_bound, dict(coverage="coverage", log_class_size="nonnegative",
                                                                 eps="unit", constant="positive"),
                           lambda coverage, log_class_size, eps, constant:
                           lower_bound(constant, coverage, log_class_size, eps, 1, True)),
    "thm_4_2_sample_complexity": (rlhf.thm_4_2_sample_complexity,
                                  dict(concentrability="coverage", loss_concentrability="coverage",
                                       log_class_size="nonnegative", margin="positive", eps="unit", delta="unit",
                                       rho="unit", constant="positive"),
                                  lambda concentrability, loss_concentrability, log_class_size, margin, eps, delta,
                                  rho, constant: constant * concentrability
                                  * (ln(loss_concentrability) + log_over_rho(log_class_size, rho)) ** 3
                                  / (margin**2 * delta**2 * eps**2)),
    "thm_4_3_sample_complexity": (rlhf.thm_4_3_sample_complexity,
                                  dict(sec="positive", log_class_size="nonnegative", margin="positive", eps="unit",
                                       delta="unit", rho="unit", constant="positive"),
                                  lambda sec, log_class_size, margin, eps, delta, rho, constant:
                                  constant * sec * log_over_rho(log_class_size, rho) / (margin**2 * delta**2 * eps**2)),
    "thm_4_2_beta": (rlhf.thm_4_2_beta, dict(margin="positive", delta="unit", eps="unit", constant="positive"),
                     lambda margin, delta, eps, constant: constant * margin * delta * eps),
    "thm_4_2_prime_error_terms": (rlhf.thm_4_2_prime_error_terms,
                                  dict(concentrability="coverage", loss_concentrability="coverage",
                                       log_class_size="nonnegative", num_prompts="positive", beta="positive",
                                       margin="positive", delta="unit", rho="unit", gamma="gamma",
                                       constant="positive"),
                                  lambda concentrability, loss_concentrability, log_class_size, num_prompts, beta,
                                  margin, delta, rho, gamma, constant: tuple(
                                      constant / (margin * delta) * term for term in (
                                          sqrt(concentrability * (ln(loss_concentrability)
                                                                  + log_over_rho(log_class_size, rho)) ** 3
                                               / num_prompts),
                                          beta * ln(concentrability), gamma))),
    "thm_j2_beta": (rlhf.thm_j2_beta, dict(margin="positive", num_responses="count", delta="unit"),
                    lambda margin, num_responses, delta: margin / (2 * ln(2 * num_responses / delta))),
    "thm_j2_target_miss_bound": (rlhf.thm_j2_target_miss_bound, dict(margin="positive", beta="positive",
                                                                     num_responses="count"),
                                 lambda margin, beta, num_responses: min(Decimal(1), (num_responses - 1) * exp(
                                     -(1 + 1 / beta) * log1p(margin) if margin < 1 else -(1 + 1 / beta)
                                     * ln(1 + margin)))),
    "thm_j1_alpha": (rlhf.thm_j1_alpha, dict(beta="positive", reward_range="positive", log_ratio_range="nonnegative",
                                             sec="positive", log_net_size="nonnegative", num_rounds="count",
                                             rho="unit"), alpha),
    "thm_j1_regret_bound": (rlhf.thm_j1_regret_bound,
                            dict(sec="positive", log_net_size="nonnegative", num_rounds="count", rho="unit",
                                 reward_range="positive", log_ratio_range="nonnegative", beta="positive",
                                 eps_disc="nonnegative", constant="positive"),
                            lambda sec, log_net_size, num_rounds, rho, reward_range, log_ratio_range, beta, eps_disc,
                            constant: constant * ((reward_range + log_ratio_range) * sqrt(
                                sec * (ln(Decimal(2)) + log_net_size + ln(num_rounds) - ln(rho)) / num_rounds)
                                + beta * eps_disc * sqrt(sec * num_rounds))),
    "thm_j2_alpha": (rlhf.thm_j2_alpha, dict(beta="positive", reward_range="positive", sec="positive",
                                             log_net_size="nonnegative", num_rounds="count", delta="unit"),
                     lambda beta, reward_range, sec, log_net_size, num_rounds, delta:
                     alpha(beta, reward_range, 0, sec, log_net_size, num_rounds, delta)),
    "thm_j2_eps_disc": (rlhf.thm_j2_eps_disc, dict(eps="unit", delta="unit", sec="positive", num_rounds="positive",
                                                   constant="positive"),
                        lambda eps, delta, sec, num_rounds, constant: constant * eps * delta / sqrt(sec * num_rounds)),
    "thm_j2_sample_complexity": (rlhf.thm_j2_sample_complexity,
                                 dict(reward_range="positive", sec="positive", log_net_size="nonnegative",
                                      margin="positive", num_responses="count", eps="unit", delta="unit", rho="unit",
                                      constant="positive"),
                                 lambda reward_range, sec, log_net_size, margin, num_responses, eps, delta, rho,
                                 constant: constant * reward_range**2 * sec * log_over_rho(log_net_size, rho)
                                 * ln(num_responses / delta) ** 2 / (margin**2 * eps**2 * delta**2)),
    "lemma_j4_log_net_size": (rlhf.lemma_j4_log_net_size, dict(radius="positive", eps_disc="positive",
                                                               dimension="count"),
                              lambda radius, eps_disc, dimension: dimension * ln(6 * radius / eps_disc)),
    "lemma_j5_sec_bound": (rlhf.lemma_j5_sec_bound, dict(dimension="count", num_rounds="positive",
                                                         constant="positive"),
                           lambda dimension, num_rounds, constant: constant * dimension * log1p(num_rounds)
                           if num_rounds < 1 else constant * dimension * ln(1 + num_rounds)),
    "lemma_j5_min_lambda": (rlhf.lemma_j5_min_lambda, dict(beta="positive", radius="positive",
                                                           reward_range="positive"),
                            lambda beta, radius, reward_range: 4 * beta**2 * radius**2 + reward_range**2),
    "thm_j3_reward_range": (rlhf.thm_j3_reward_range, dict(beta="positive", radius="positive", num_responses="count"),
                            lambda beta, radius, num_responses:
                            sqrt(4 * beta**2 * radius**2 + (2 * radius + ln(num_responses)) ** 2)),
    "thm_j3_max_theta_norm": (rlhf.thm_j3_max_theta_norm, dict(margin="positive", radius="positive",
                                                               num_responses="count", delta="unit"),
                              lambda margin, radius, num_responses, delta:
                              margin * radius / (3 * ln(2 * num_responses / delta))),
}

CONDITIONS = {  # the bounds' own preconditions, which the functions refuse
    "lemma_i1_expected_stopping_time": lambda a: a["num_argmax"] * a["p_star"] <= 1.0,
    "lemma_j4_log_net_size": lambda a: a["eps_disc"] <= 6.0 * a["radius"],
}


def test_every_public_bound_is_covered():
    public = {name for module in (sft, rlhf, lower_bounds) for name in module.__all__}
    # the sums of two terms and the one that takes policies are covered by their parts / elsewhere
    assert public - set(BOUNDS) == {"thm_4_1_prime_error_bound", "thm_4_2_prime_error_bound", "thm_d1_num_prompts",
                                    "thm_j2_min_rounds", "sequential_extrapolation_coefficient"}


def assert_rounded(got, reference, where):
    got = float(got)
    assert not math.isnan(got), where
    expected = float(reference)  # correctly rounded; inf beyond the float64 range, 0 below it
    if math.isinf(expected) or expected > 1.79e308:
        assert got >= 1.79e308, (got, reference, where)
        return
    assert math.isfinite(got), (got, reference, where)
    assert abs(got - expected) <= 1e-11 * expected + 1e-322, (got, reference, where)


def check_bound(name, arguments):
    function, kinds, reference = BOUNDS[name]
    with decimal.localcontext(CONTEXT):
        expected = reference(**{key: Decimal(value) for key, value in arguments.items()})
    got = function(**arguments)
    if isinstance(expected, tuple):
        for part, reference_part in zip(got, expected):
            assert_rounded(part, reference_part, (name, arguments))
    else:
        assert_rounded(got, expected, (name, arguments))


@pytest.mark.parametrize("name", sorted(BOUNDS))
@SETTINGS
@given(data=st.data())
def test_bounds_at_extreme_inputs_match_the_50_digit_formula(name, data):
    _, kinds, _ = BOUNDS[name]
    arguments = {argument: data.draw(KINDS[kind], label=argument) for argument, kind in kinds.items()}
    assume(CONDITIONS.get(name, lambda a: True)(arguments))
    check_bound(name, arguments)


ENDS = {"unit": (1e-300, 1.0 - 2.0**-53), "unit_closed": (1e-300, 1.0), "coverage": (1e300, 1.0),
        "positive": (1e-300, 1e300), "nonnegative": (1e300, 0.0), "count": (1e300, 1.0), "p": (1.0, 1e6),
        "gamma": (1e-300, 0.0)}


@pytest.mark.parametrize("name", sorted(BOUNDS))
@pytest.mark.parametrize("end", [0, 1])
def test_bounds_at_the_corners(name, end):
    """Every argument at one end of its range at once (C_cov = 1e300 with ε = δ = ρ = 1e-300, and the reverse)."""
    _, kinds, _ = BOUNDS[name]
    arguments = {argument: ENDS[kind][end] for argument, kind in kinds.items()}
    if not CONDITIONS.get(name, lambda a: True)(arguments):
        pytest.skip("outside the bound's precondition")
    check_bound(name, arguments)


@SETTINGS
@given(reward=POSITIVE, sec=POSITIVE, log_net=KINDS["nonnegative"], eps=UNIT, delta=UNIT, beta=POSITIVE, rho=UNIT,
       constant=POSITIVE)
def test_min_rounds_at_extreme_inputs_is_the_smallest_horizon(reward, sec, log_net, eps, delta, beta, rho, constant):
    with decimal.localcontext(CONTEXT):
        arguments = [Decimal(v) for v in (reward, sec, log_net, eps, delta, beta, rho, constant)]
        scale = arguments[7] * arguments[0] ** 2 * arguments[1] / (arguments[3] * arguments[4] * arguments[5]) ** 2
        offset = ln(Decimal(2)) + arguments[2] - ln(arguments[6])
        # near A·(b + log A) = A the fixed point is tangent and the iteration converges too slowly to compare
        assume(scale * offset < Decimal("0.5") or scale * offset > 10)
        expected = min_rounds(*arguments)
    got = float(rlhf.thm_j2_min_rounds(reward, sec, log_net, eps, delta, beta, rho, constant))
    assert not math.isnan(got)
    if expected > Decimal("1.79e308"):
        assert got == math.inf
    else:
        assert abs(got - float(expected)) <= 1e-9 * float(expected) + 1.0


def test_log_space_keeps_ordinary_values_bit_for_bit():
    """Where the formula as written is accurate, ``stable`` returns it unchanged (committed results rely on it)."""
    coverage, log_size, eps, delta, rho = 40.0, 7.5, 0.05, 0.1, 0.05
    assert sft.thm_4_1_sample_complexity(coverage, log_size, eps, delta, rho) == (
        1.0 * coverage * (log_size + np.log(1.0 / rho)) * np.log(1.0 / delta) / (delta * eps**2))
    assert lower_bounds.thm_3_1_lower_bound(coverage, log_size, eps) == (
        1.0 * coverage * log_size / (eps ** 2.0 * (1.0 + np.log(coverage * eps ** -1.0))))
