"""Plain-numpy references shared by several test modules, written independently of sharpsim's code."""

from __future__ import annotations

import numpy as np


def np_argmax_mask(probs: np.ndarray, gamma: float = 0.0) -> np.ndarray:
    """y ∈ y*_γ(x) ⇔ π(y|x) ≥ (1 − γ)·max_y' π(y'|x), by a loop over rows (Def. F.1)."""
    probs = np.asarray(probs, dtype=np.float64)
    mask = np.zeros(probs.shape, dtype=bool)
    for x in range(probs.shape[0]):
        top = max(probs[x])
        for y in range(probs.shape[1]):
            mask[x, y] = probs[x, y] >= (1.0 - gamma) * top
    return mask


def np_set_mass(probs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[X]: Σ_{y ∈ mask[x]} probs[x, y] by an explicit loop (math.fsum, so no summation-order error)."""
    import math

    return np.array([math.fsum(probs[x, y] for y in range(probs.shape[1]) if mask[x, y]) for x in range(len(probs))])


def chi_square_pvalue(counts: np.ndarray, probs: np.ndarray, min_expected: float = 5.0) -> float:
    """Pearson chi-square goodness-of-fit p-value of ``counts`` against ``probs``.

    Cells with expected count below ``min_expected`` are pooled into one cell (so the asymptotic law holds);
    a positive count in a zero-probability cell returns 0.
    """
    from scipy import stats

    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    total = counts.sum()
    if np.any((probs == 0) & (counts > 0)):
        return 0.0
    expected = probs * total
    big = expected >= min_expected
    obs = list(counts[big])
    exp = list(expected[big])
    if np.any(~big & (probs > 0)):
        obs.append(counts[~big].sum())
        exp.append(expected[~big].sum())
    if len(obs) < 2:
        return 1.0
    obs, exp = np.array(obs), np.array(exp)
    exp *= obs.sum() / exp.sum()
    return float(stats.chisquare(obs, exp).pvalue)
