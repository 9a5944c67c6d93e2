"""The unbiased pass@k estimator from (n, c) counts (Appendix A.2's coverage / pass@N skyline).

Of n independent draws for a prompt, c are correct. The probability that k draws taken without replacement from
those n contain at least one correct one,

    pass@k = 1 − C(n − c, k) / C(n, k) = 1 − Π_{i = n−c+1}^{n} (1 − k/i),

is an unbiased estimate of 1 − (1 − P[correct])^k. The binomial coefficients overflow and their ratio cancels for
n in the thousands, so the product is summed in log space (Σ log1p(−k/i)) and the result is −expm1 of that sum:
full relative precision both when pass@k is tiny and when it is close to 1.
"""

from __future__ import annotations

import numbers

import numpy as np

from sharpsim.core.validation import concrete_numbers


def _integer_array(value, name: str) -> np.ndarray:
    """``value`` as an int64 array, or ``TypeError`` naming ``name`` for anything that is not integer data."""
    allowed = "an integer or an array of integers"
    if isinstance(value, bool) or (isinstance(value, numbers.Number) and not isinstance(value, numbers.Integral)):
        raise TypeError(f"{name} must be {allowed}, got {value!r} ({type(value).__name__})")
    array = concrete_numbers(value, name, allowed)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64)


def _first_bad(bad: np.ndarray, array: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"entry {index} is {int(array[index])}" if index else f"got {int(array[index])}"


def pass_at_k(n, c, k) -> np.ndarray:
    """float64 [broadcast shape of n, c, k]: the unbiased pass@k estimate 1 − C(n − c, k)/C(n, k).

    Args:
      n: draws per prompt (integers ≥ 1).
      c: correct draws among them (integers, 0 ≤ c ≤ n).
      k: the budget (integers, 1 ≤ k ≤ n).

    It is 0 when c = 0 and exactly 1 when n − c < k (every k-subset holds a correct draw). Raises ``TypeError``
    for non-integer input and ``ValueError`` naming the argument and the first bad entry otherwise.
    """
    n, c, k = _integer_array(n, "n"), _integer_array(c, "c"), _integer_array(k, "k")
    if (n < 1).any():
        raise ValueError(f"n must be >= 1 (draws per prompt); {_first_bad(n < 1, n)}")
    try:
        n, c, k = np.broadcast_arrays(n, c, k)
    except ValueError:
        raise ValueError(f"n, c and k must broadcast together, got shapes {np.shape(n)}, {np.shape(c)}, "
                         f"{np.shape(k)}") from None
    bad_c = (c < 0) | (c > n)
    if bad_c.any():
        raise ValueError(f"c must lie in [0, n] (correct draws among n); {_first_bad(bad_c, c)} with n = "
                         f"{int(n[tuple(np.argwhere(bad_c)[0])])}")
    bad_k = (k < 1) | (k > n)
    if bad_k.any():
        raise ValueError(f"k must lie in [1, n] (a budget of at most n draws); {_first_bad(bad_k, k)} with n = "
                         f"{int(n[tuple(np.argwhere(bad_k)[0])])}")
    out = np.empty(n.shape, dtype=np.float64)
    for index in np.ndindex(n.shape):
        draws, correct, budget = int(n[index]), int(c[index]), int(k[index])
        if draws - correct < budget:
            out[index] = 1.0
        else:
            terms = np.arange(draws - correct + 1, draws + 1, dtype=np.float64)
            out[index] = -np.expm1(np.sum(np.log1p(-budget / terms)))
    return out
