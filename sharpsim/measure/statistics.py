"""Confidence intervals and slope fits for Monte-Carlo measurements (numpy/scipy; not traced).

Every Monte-Carlo number sharpsim plots carries an interval from here, and the figure says which method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def _check_confidence(confidence) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    return confidence


def _check_counts(successes, trials) -> tuple[np.ndarray, np.ndarray]:
    successes = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    if np.any(~np.isfinite(trials)) or np.any(trials <= 0):
        raise ValueError(f"trials must be positive and finite, got {trials.tolist()}")
    if np.any(~np.isfinite(successes)) or np.any((successes < 0) | (successes > trials)):
        raise ValueError(f"successes must lie in [0, trials], got successes={successes.tolist()} trials={trials.tolist()}")
    return successes, trials


def wilson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (elementwise over arrays of counts)."""
    confidence = _check_confidence(confidence)
    successes, trials = _check_counts(successes, trials)
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    phat = successes / trials
    denominator = 1.0 + z**2 / trials
    center = (phat + z**2 / (2.0 * trials)) / denominator
    half_width = z * np.sqrt(phat * (1.0 - phat) / trials + z**2 / (4.0 * trials**2)) / denominator
    # at 0 or all successes the Wilson bound is exactly 0 or 1; say so rather than trust rounding
    lower = np.where(successes == 0, 0.0, np.clip(center - half_width, 0.0, 1.0))
    upper = np.where(successes == trials, 1.0, np.clip(center + half_width, 0.0, 1.0))
    return lower, upper


def clopper_pearson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) interval for a binomial proportion; conservative."""
    confidence = _check_confidence(confidence)
    successes, trials = _check_counts(successes, trials)
    alpha = 1.0 - confidence
    lower = np.where(successes > 0, stats.beta.ppf(alpha / 2, successes, trials - successes + 1), 0.0)
    upper = np.where(successes < trials, stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes), 1.0)
    return lower, upper


def mean_interval(values, confidence: float = 0.95, low: float = -np.inf,
                  high: float = np.inf) -> tuple[float, float, float]:
    """(mean, lower, upper): the sample mean with a normal (CLT) interval z·s/√n, clipped to [low, high] (e.g.
    [0, 1] for errors that are probabilities). Zero width when every value is equal or there is one value."""
    confidence = _check_confidence(confidence)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"values must be a non-empty 1-d array of finite numbers, got shape {values.shape}")
    mean = float(values.mean())
    if values.size == 1:
        return mean, mean, mean
    half = stats.norm.ppf(0.5 + confidence / 2.0) * float(values.std(ddof=1)) / np.sqrt(values.size)
    return mean, max(low, mean - half), min(high, mean + half)


def quantile_interval(samples, q: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """Order-statistic (distribution-free) interval for the q-quantile of i.i.d. ``samples``.

    Returns (estimate, lower, upper) where the estimate is the empirical q-quantile (the smallest sample
    value v with fraction(samples ≤ v) ≥ q) and the bounds are order statistics chosen from the binomial
    law of the number of samples below the true quantile. Upper is ``inf`` when there are too few samples.
    """
    confidence = _check_confidence(confidence)
    q = float(q)
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must lie in (0, 1), got {q!r}")
    values = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = values.size
    if n == 0:
        raise ValueError("quantile_interval needs at least one sample")
    if np.any(np.isnan(values)):
        raise ValueError("samples must not contain NaN (use inf for censored values)")
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
    confidence = _check_confidence(confidence)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d arrays of one length, got shapes {x.shape} and {y.shape}")
    if x.size < 3:
        raise ValueError(f"a slope interval needs at least 3 points, got {x.size}")
    if not (np.all(np.isfinite(x) & (x > 0)) and np.all(np.isfinite(y) & (y > 0))):
        raise ValueError("x and y must be positive and finite for a log-log fit")
    log_x, log_y = np.log(x), np.log(y)
    centered = log_x - log_x.mean()
    spread = centered @ centered
    if spread == 0:
        raise ValueError("x must take at least two distinct values for a slope")
    slope = centered @ (log_y - log_y.mean()) / spread
    intercept = log_y.mean() - slope * log_x.mean()
    residuals = log_y - intercept - slope * log_x
    # the textbook standard error; an exact power law has zero residuals and a zero-width interval
    stderr = np.sqrt(residuals @ residuals / (log_x.size - 2) / spread)
    t = stats.t.ppf(0.5 + confidence / 2.0, df=log_x.size - 2)
    return SlopeFit(float(slope), float(intercept), float(slope - t * stderr), float(slope + t * stderr), confidence)


def bootstrap_slope_interval(x, y_resamples, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the log-log slope over bootstrap resamples: ``y_resamples`` is [B, len(x)]."""
    confidence = _check_confidence(confidence)
    x = np.asarray(x, dtype=np.float64)
    y_resamples = np.asarray(y_resamples, dtype=np.float64)
    if y_resamples.ndim != 2 or y_resamples.shape[1] != x.size:
        raise ValueError(f"y_resamples must have shape [B, {x.size}] (one row per resample), got {y_resamples.shape}")
    if np.any(x <= 0) or np.any(~(y_resamples > 0)):
        raise ValueError("x and y_resamples must be positive for a log-log slope")
    log_x, log_y = np.log(x), np.log(y_resamples)
    centered = log_x - log_x.mean()
    slopes = (log_y - log_y.mean(axis=1, keepdims=True)) @ centered / (centered @ centered)
    alpha = 1.0 - confidence
    low, high = np.quantile(slopes, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def slope_record(x, measured, min_points: int = 3) -> dict | None:
    """The log-log slope of ``measured`` on ``x`` with its 95% t-interval as a JSON-able record; None when there
    are fewer than ``min_points`` points or a measurement is not finite (a threshold beyond the searched budgets)."""
    x, measured = np.asarray(x, dtype=float), np.asarray(measured, dtype=float)
    if len(x) < min_points or not np.all(np.isfinite(measured)):
        return None
    fit = fit_loglog_slope(x, measured)
    return {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}


def slope_against_theory(x, measured, theory, min_points: int = 3) -> dict | None:
    """The log-log slope of ``measured`` on ``x`` with its 95% t-interval, beside the slope of a theory curve
    evaluated on the same grid (``theory_slope_on_grid``); None when there are fewer than ``min_points`` points or a
    measurement is not finite (a threshold beyond the searched budgets)."""
    record = slope_record(x, measured, min_points)
    if record is None:
        return None
    return {**record, "theory_slope_on_grid": fit_loglog_slope(x, theory).slope}
