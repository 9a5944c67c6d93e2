"""The unbiased pass@k estimator against math.comb and exact rationals."""

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import given, strategies as st

from sharpsim.measure.pass_at_k import pass_at_k


def exact(n, c, k) -> Fraction:
    return 1 - Fraction(comb(n - c, k), comb(n, k))


def test_closed_form_small():
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - comb(7, 5) / comb(10, 5), rel=1e-14)
    assert pass_at_k(10, 3, 5) == pytest.approx(11 / 12, rel=1e-14)


@pytest.mark.parametrize("n, c, k", [(5000, 1, 1), (5000, 1, 4999), (4000, 37, 100), (3000, 2900, 50),
                                     (6000, 3, 2), (2000, 1000, 1)])
def test_stable_at_thousands(n, c, k):
    reference = exact(n, c, k)
    assert float(pass_at_k(n, c, k)) == pytest.approx(float(reference), rel=1e-12)


def test_tiny_values_keep_relative_precision():
    # 1 − (1 − 1/n) = 1/n: a naive 1 − ratio of floats would lose digits; the log-space product does not
    n = 10**6
    assert float(pass_at_k(n, 1, 1)) == pytest.approx(1 / n, rel=1e-12)


def test_edges():
    assert pass_at_k(20, 0, 7) == 0.0
    assert pass_at_k(20, 20, 1) == 1.0
    assert pass_at_k(20, 15, 6) == 1.0  # n − c = 5 < k: every 6-subset holds a correct draw
    assert pass_at_k(20, 15, 5) == pytest.approx(1 - 1 / comb(20, 5), rel=1e-14)


def test_vectorized_broadcast():
    n = np.array([10, 50, 100])
    c = np.array([[0], [3]])
    out = pass_at_k(n, c, 5)
    assert out.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert out[i, j] == pytest.approx(float(exact(int(n[j]), int(c[i, 0]), 5)), rel=1e-13, abs=0)


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_matches_exact_rational(args):
    n, c, k = args
    assert float(pass_at_k(n, c, k)) == pytest.approx(float(exact(n, c, k)), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("n, c, k, error, words", [
    (10, 3, 2.0, TypeError, "k must"), (10.0, 3, 2, TypeError, "n must"), (10, True, 2, TypeError, "c must"),
    ("10", 3, 2, TypeError, "n must"), (10, None, 2, TypeError, "c must"), (0, 0, 1, ValueError, "n must be >= 1"),
    (10, 11, 2, ValueError, "c must lie in"), (10, -1, 2, ValueError, "c must lie in"),
    (10, 3, 0, ValueError, "k must lie in"), (10, 3, 11, ValueError, "k must lie in"),
    ([10, 11], [1, 2, 3], 1, ValueError, "broadcast"),
])
def test_bad_input(n, c, k, error, words):
    with pytest.raises(error, match=words):
        pass_at_k(n, c, k)
