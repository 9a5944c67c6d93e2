"""The lower bounds (Theorems 3.1, 3.1′, D.2) against the formulas written out here, monotonicity, bad input."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.theory import lower_bounds

unit = st.floats(0.01, 0.99)
cover = st.floats(1.0, 1e4)
log_size = st.floats(0.0, 50.0)
SETTINGS = settings(deadline=None, max_examples=60, derandomize=True)


@SETTINGS
@given(c=cover, log_pi=log_size, eps=unit, p=st.integers(1, 4))
def test_lower_bounds(c, log_pi, eps, p):
    factor = 1 + math.log(c * eps ** (-1 / p))
    assert lower_bounds.thm_3_1_prime_lower_bound(c, log_pi, eps, p=p) == pytest.approx(
        c * log_pi / (eps ** (1 + 1 / p) * factor))
    assert lower_bounds.thm_3_1_prime_lower_bound(c, log_pi, eps, p=p, adaptive=True, constant=3.0) == pytest.approx(
        3 * c * log_pi / (eps ** (1 / p) * factor))
    assert lower_bounds.thm_3_1_lower_bound(c, log_pi, eps) == pytest.approx(
        c * log_pi / (eps ** 2 * (1 + math.log(c / eps))))
    assert lower_bounds.thm_d2_lower_bound(c, log_pi, eps) == pytest.approx(c * log_pi / (eps * (1 + math.log(c / eps))))
    # the adaptive bound is never larger than the non-adaptive one (ε < 1)
    assert lower_bounds.thm_d2_lower_bound(c, log_pi, eps) <= lower_bounds.thm_3_1_lower_bound(c, log_pi, eps) * (1 + 1e-12)


@SETTINGS
@given(c=cover, log_pi=log_size, eps=st.floats(0.01, 0.5))
def test_lower_bound_decreases_in_eps_and_increases_in_coverage(c, log_pi, eps):
    lb = lower_bounds.thm_3_1_lower_bound(c, log_pi + 1, eps)
    assert lower_bounds.thm_3_1_lower_bound(c, log_pi + 1, eps / 2) > lb
    assert lower_bounds.thm_3_1_lower_bound(2 * c, log_pi + 1, eps) > lb


def test_single_model_class_needs_no_samples():
    assert lower_bounds.thm_3_1_lower_bound(2.0, 0.0, 0.1) == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"p must be an integer in \[1, inf\)"):
        lower_bounds.thm_3_1_prime_lower_bound(2.0, 1.0, 0.1, p=1.5)
    with pytest.raises(ValueError, match=r"coverage must be in \[1, inf\), got 0.5"):
        lower_bounds.thm_d2_lower_bound(0.5, 1.0, 0.1)
    with pytest.raises(ValueError, match=r"eps must be in \(0, 1\), got 1.0"):
        lower_bounds.thm_3_1_lower_bound(2.0, 1.0, 1.0)
