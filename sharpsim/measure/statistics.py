"""Confidence intervals and slope fits for Monte-Carlo measurements (numpy/scipy; not traced).

Every Monte-Carlo number sharpsim plots carries an interval from here, and the figure says which method. Bad input
raises ``TypeError`` (not numbers) or ``ValueError`` (NaN, out of range, shapes that do not match) naming the
argument, its first offending entry and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sharpsim.core.shapes import broadcast_shape
from sharpsim.core.validation import as_float_array, check_in_interval, check_positive_int



def _scipy_stats():
    """scipy.stats, imported on first use: it takes a second or more to load, which every run of the command line
    would otherwise pay."""
    from scipy import stats

    return stats

def _check_confidence(confidence) -> float:
    return check_in_interval(confidence, "confidence", 0.0, 1.0, closed_low=False, closed_high=False)


def _two_sided(distribution, confidence: float, **parameters) -> float:
    """The (1 + confidence)/2 quantile of ``distribution``; from the upper tail where 0.5 + confidence/2 rounds to 1
    (confidence within 1e-16 of 1), so the interval stays finite."""
    upper = 0.5 + confidence / 2.0
    if upper < 1.0:
        return distribution.ppf(upper, **parameters)
    return distribution.isf((1.0 - confidence) / 2.0, **parameters)


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0]) if np.ndim(mask) else ()


def _check_counts(successes, trials) -> tuple[np.ndarray, np.ndarray]:
    successes, trials = as_float_array(successes, "successes"), as_float_array(trials, "trials")
    shape = broadcast_shape({"successes": successes, "trials": trials}, "the interval")
    bad = ~np.isfinite(trials) | ~(trials > 0)
    if bad.any():
        index = _first(bad)
        raise ValueError(f"trials must be positive and finite; entry {index} is {float(trials[index])!r}")
    every_trials = np.broadcast_to(trials, shape)
    bad = ~np.isfinite(successes) | ~((successes >= 0) & (successes <= trials))
    if bad.any():
        index = _first(bad)
        value = float(np.broadcast_to(successes, shape)[index])
        raise ValueError(f"successes must lie in [0, trials]; entry {index} is {value!r} with trials "
                         f"{float(every_trials[index])!r}")
    return successes, trials


def _positive_finite(array: np.ndarray, name: str, purpose: str) -> None:
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        index = _first(bad)
        raise ValueError(f"{name} must be positive and finite {purpose}; entry {index} is {float(array[index])!r}")


def _real_bound(value, name: str) -> float:
    """A clipping bound of ``mean_interval``: a real number, ±inf allowed, NaN not."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number (or ±inf), got {value!r}")
    array = as_float_array(value, name)
    if array.ndim != 0:
        raise ValueError(f"{name} must be a single number (or ±inf), got an array of shape {array.shape}")
    if np.isnan(array):
        raise ValueError(f"{name} must be a real number (or ±inf), got nan")
    return float(array)


def wilson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (elementwise over arrays of counts)."""
    confidence = _check_confidence(confidence)
    successes, trials = _check_counts(successes, trials)
    z = _two_sided(_scipy_stats().norm, confidence)
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
    lower = np.where(successes > 0, _scipy_stats().beta.ppf(alpha / 2, successes, trials - successes + 1), 0.0)
    upper = np.where(successes < trials, _scipy_stats().beta.ppf(1 - alpha / 2, successes + 1, trials - successes), 1.0)
    return lower, upper


def mean_interval(values, confidence: float = 0.95, low: float = -np.inf,
                  high: float = np.inf) -> tuple[float, float, float]:
    """(mean, lower, upper): the sample mean with a normal (CLT) interval z·s/√n, clipped to [low, high] (e.g.
    [0, 1] for errors that are probabilities). Zero width when every value is equal or there is one value."""
    confidence = _check_confidence(confidence)
    if _real_bound(low, "low") > _real_bound(high, "high"):
        raise ValueError(f"low must be at most high, got low={low!r} and high={high!r}")
    values = as_float_array(values, "values")
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-d array of finite numbers, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        index = _first(~np.isfinite(values))
        raise ValueError(f"values must be a non-empty 1-d array of finite numbers; entry {index} is "
                         f"{float(values[index])!r}")
    mean = float(values.mean())
    if values.size == 1:
        return mean, mean, mean
    half = _two_sided(_scipy_stats().norm, confidence) * float(values.std(ddof=1)) / np.sqrt(values.size)
    return mean, max(low, mean - half), min(high, mean + half)


def quantile_interval(samples, q: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """Order-statistic (distribution-free) interval for the q-quantile of i.i.d. ``samples``.

    Returns (estimate, lower, upper) where the estimate is the empirical q-quantile (the smallest sample
    value v with fraction(samples ≤ v) ≥ q) and the bounds are order statistics chosen from the binomial
    law of the number of samples below the true quantile. Upper is ``inf`` when there are too few samples.
    """
    confidence = _check_confidence(confidence)
    q = check_in_interval(q, "q", 0.0, 1.0, closed_low=False, closed_high=False)
    values = np.sort(as_float_array(samples, "samples").ravel())
    n = values.size
    if n == 0:
        raise ValueError("samples must hold at least one sample, got none")
    if np.any(np.isnan(values)):
        raise ValueError(f"samples must not contain NaN (use inf for censored values); {np.isnan(values).sum()} of "
                         f"{n} are NaN")
    rank = int(np.ceil(q * n)) - 1
    estimate = values[max(rank, 0)]
    alpha = 1.0 - confidence
    low_rank = int(_scipy_stats().binom.ppf(alpha / 2, n, q)) - 1
    high_rank = int(_scipy_stats().binom.ppf(1 - alpha / 2, n, q))
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
        x = as_float_array(x, "x")
        _positive_finite(x, "x", "for a power law")
        return np.exp(self.intercept) * x ** self.slope

    def describe(self, symbol: str = "slope") -> str:
        return (f"{symbol} = {self.slope:.3f} [{self.slope_low:.3f}, {self.slope_high:.3f}] "
                f"({100 * self.confidence:.0f}% CI)")


def fit_loglog_slope(x, y, confidence: float = 0.95) -> SlopeFit:
    """Ordinary least squares of log y on log x, with a t-interval for the slope (needs ≥ 3 points)."""
    return _loglog_fit(x, y, confidence, "x", "y")


def _loglog_fit(x, y, confidence, x_name: str, y_name: str) -> SlopeFit:
    confidence = _check_confidence(confidence)
    x, y = as_float_array(x, x_name), as_float_array(y, y_name)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"{x_name} and {y_name} must be 1-d arrays of one length, got shapes {x.shape} and {y.shape}")
    if x.size < 3:
        raise ValueError(f"a slope interval needs at least 3 points, got {x.size}")
    _positive_finite(x, x_name, "for a log-log fit")
    _positive_finite(y, y_name, "for a log-log fit")
    log_x, log_y = np.log(x), np.log(y)
    centered = log_x - log_x.mean()
    spread = centered @ centered
    if spread == 0:
        raise ValueError(f"{x_name} must take at least two distinct values for a slope, got {x.tolist()}")
    slope = centered @ (log_y - log_y.mean()) / spread
    intercept = log_y.mean() - slope * log_x.mean()
    residuals = log_y - intercept - slope * log_x
    # the textbook standard error; an exact power law has zero residuals and a zero-width interval
    stderr = np.sqrt(residuals @ residuals / (log_x.size - 2) / spread)
    t = _two_sided(_scipy_stats().t, confidence, df=log_x.size - 2)
    return SlopeFit(float(slope), float(intercept), float(slope - t * stderr), float(slope + t * stderr), confidence)


def bootstrap_slope_interval(x, y_resamples, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the log-log slope over bootstrap resamples: ``y_resamples`` is [B, len(x)]."""
    confidence = _check_confidence(confidence)
    x, y_resamples = as_float_array(x, "x"), as_float_array(y_resamples, "y_resamples")
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x must be a 1-d array of at least 2 points, got shape {x.shape}")
    if y_resamples.ndim != 2 or y_resamples.shape[1] != x.size or y_resamples.shape[0] == 0:
        raise ValueError(f"y_resamples must have shape [B, {x.size}] with B ≥ 1 (one row per resample, one column "
                         f"per x), got {y_resamples.shape}")
    _positive_finite(x, "x", "for a log-log slope")
    _positive_finite(y_resamples, "y_resamples", "for a log-log slope")
    log_x, log_y = np.log(x), np.log(y_resamples)
    centered = log_x - log_x.mean()
    if centered @ centered == 0:
        raise ValueError(f"x must take at least two distinct values for a slope, got {x.tolist()}")
    slopes = (log_y - log_y.mean(axis=1, keepdims=True)) @ centered / (centered @ centered)
    alpha = 1.0 - confidence
    low, high = np.quantile(slopes, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def slope_record(x, measured, min_points: int = 3) -> dict | None:
    """The log-log slope of ``measured`` on ``x`` with its 95% t-interval as a JSON-able record; None when there
    are fewer than ``min_points`` points or a measurement is not finite (a threshold beyond the searched budgets)."""
    x, measured = as_float_array(x, "x"), as_float_array(measured, "measured")
    min_points = check_positive_int(min_points, "min_points", minimum=3)
    if x.shape != measured.shape or x.ndim != 1:
        raise ValueError(f"x and measured must be 1-d arrays of one length, got shapes {x.shape} and {measured.shape}")
    if len(x) < min_points or not np.all(np.isfinite(measured)):
        return None
    fit = _loglog_fit(x, measured, 0.95, "x", "measured")
    return {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}


def slope_against_theory(x, measured, theory, min_points: int = 3) -> dict | None:
    """The log-log slope of ``measured`` on ``x`` with its 95% t-interval, beside the slope of a theory curve
    evaluated on the same grid (``theory_slope_on_grid``); None when there are fewer than ``min_points`` points or a
    measurement is not finite (a threshold beyond the searched budgets)."""
    theory = as_float_array(theory, "theory")
    if theory.shape != np.shape(measured):
        raise ValueError(f"measured and theory must have one shape, got {np.shape(measured)} and {theory.shape}")
    record = slope_record(x, measured, min_points)
    if record is None:
        return None
    return {**record, "theory_slope_on_grid": _loglog_fit(x, theory, 0.95, "x", "theory").slope}
