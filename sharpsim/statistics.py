"""Confidence intervals and slope fits for Monte-Carlo measurements (numpy/scipy; not traced).

Every Monte-Carlo number sharpsim plots carries an interval from here, and the figure says which method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def wilson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (elementwise over arrays of counts)."""
    successes = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    if np.any(trials <= 0):
        raise ValueError("trials must be positive for a Wilson interval")
    if np.any((successes < 0) | (successes > trials)):
        raise ValueError("successes must lie in [0, trials]")
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    phat = successes / trials
    denominator = 1.0 + z**2 / trials
    centre = (phat + z**2 / (2.0 * trials)) / denominator
    half_width = z * np.sqrt(phat * (1.0 - phat) / trials + z**2 / (4.0 * trials**2)) / denominator
    return np.clip(centre - half_width, 0.0, 1.0), np.clip(centre + half_width, 0.0, 1.0)


def clopper_pearson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) interval for a binomial proportion; conservative."""
    successes = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    alpha = 1.0 - confidence
    lower = np.where(successes > 0, stats.beta.ppf(alpha / 2, successes, trials - successes + 1), 0.0)
    upper = np.where(successes < trials, stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes), 1.0)
    return lower, upper


def quantile_interval(samples, q: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """Order-statistic (distribution-free) interval for the q-quantile of i.i.d. ``samples``.

    Returns (estimate, lower, upper) where the estimate is the empirical q-quantile (the smallest sample
    value v with fraction(samples ≤ v) ≥ q) and the bounds are order statistics chosen from the binomial
    law of the number of samples below the true quantile. Upper is ``inf`` when there are too few samples.
    """
    values = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = values.size
    if n == 0:
        raise ValueError("quantile_interval needs at least one sample")
    rank = int(np.ceil(q * n)) - 1
    estimate = values[max(rank, 0)]
    alpha = 1.0 - confidence
    low_rank = int(stats.binom.ppf(alpha / 2, n, q)) - 1
    high_rank = int(stats.binom.ppf(1 - alpha / 2, n, q))
    lower = values[low_rank] if low_rank >= 0 else -np.inf
    upper = values[high_rank] if high_rank < n else np.inf
    return float(estimate), float(lower), float(upper)


@dataclass(frozen=True)
class SlopeFit:
    """log y = intercept + slope·log x, by least squares, with a two-sided t-interval on the slope."""

    slope: float
    intercept: float
    slope_low: float
    slope_high: float
    confidence: float

    def predict(self, x):
        return np.exp(self.intercept) * np.asarray(x, dtype=np.float64) ** self.slope

    def describe(self, symbol: str = "slope") -> str:
        return (f"{symbol} = {self.slope:.3f} [{self.slope_low:.3f}, {self.slope_high:.3f}] "
                f"({100 * self.confidence:.0f}% CI)")


def fit_loglog_slope(x, y, confidence: float = 0.95) -> SlopeFit:
    """Ordinary least squares of log y on log x, with a t-interval for the slope (needs ≥ 3 points)."""
    log_x = np.log(np.asarray(x, dtype=np.float64))
    log_y = np.log(np.asarray(y, dtype=np.float64))
    if log_x.shape != log_y.shape or log_x.ndim != 1:
        raise ValueError(f"x and y must be 1-d arrays of one length, got shapes {log_x.shape} and {log_y.shape}")
    if log_x.size < 3:
        raise ValueError(f"a slope interval needs at least 3 points, got {log_x.size}")
    if not (np.all(np.isfinite(log_x)) and np.all(np.isfinite(log_y))):
        raise ValueError("x and y must be positive and finite for a log-log fit")
    result = stats.linregress(log_x, log_y)
    t = stats.t.ppf(0.5 + confidence / 2.0, df=log_x.size - 2)
    return SlopeFit(float(result.slope), float(result.intercept), float(result.slope - t * result.stderr),
                    float(result.slope + t * result.stderr), confidence)


def bootstrap_slope_interval(x, y_resamples, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the log-log slope over bootstrap resamples: ``y_resamples`` is [B, len(x)]."""
    log_x = np.log(np.asarray(x, dtype=np.float64))
    log_y = np.log(np.asarray(y_resamples, dtype=np.float64))
    centred = log_x - log_x.mean()
    slopes = (log_y - log_y.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)
    alpha = 1.0 - confidence
    low, high = np.quantile(slopes, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
