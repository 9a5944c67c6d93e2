"""Confidence intervals and slope fits against scipy and exact binomial computations written here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sharpsim.measure.statistics import (
    SlopeFit,
    bootstrap_slope_interval,
    clopper_pearson_interval,
    fit_loglog_slope,
    mean_interval,
    quantile_interval,
    wilson_interval,
)

# ---- binomial intervals -------------------------------------------------------------------------------------


def scipy_ci(k, n, confidence, method):
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method=method)
    return ci.low, ci.high


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 500), st.data(), st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]))
def test_wilson_and_clopper_pearson_match_scipy(n, data, confidence):
    k = data.draw(st.integers(0, n))
    low, high = wilson_interval(k, n, confidence)
    ref = scipy_ci(k, n, confidence, "wilson")
    assert float(low) == pytest.approx(ref[0], abs=1e-12)
    assert float(high) == pytest.approx(ref[1], abs=1e-12)
    low, high = clopper_pearson_interval(k, n, confidence)
    ref = scipy_ci(k, n, confidence, "exact")
    assert float(low) == pytest.approx(ref[0], abs=1e-9)
    assert float(high) == pytest.approx(ref[1], abs=1e-9)


def test_wilson_closed_form_and_vectorized():
    k = np.array([0, 3, 7, 10])
    n = np.array([10, 10, 20, 10])
    z = stats.norm.ppf(0.975)
    phat = k / n
    center = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    low, high = wilson_interval(k, n)
    np.testing.assert_allclose(low, center - half, atol=1e-14)
    np.testing.assert_allclose(high, center + half, atol=1e-14)
    assert low[0] == pytest.approx(0.0, abs=1e-15) and high[-1] == pytest.approx(1.0, abs=1e-15)


def test_clopper_pearson_edges_and_vectorized():
    k = np.array([0, 1, 9, 10])
    low, high = clopper_pearson_interval(k, 10, 0.9)
    assert low[0] == 0.0 and high[-1] == 1.0
    # k = 0: upper = 1 − (α/2)^(1/n); k = n: lower = (α/2)^(1/n)
    assert high[0] == pytest.approx(1 - 0.05 ** (1 / 10), rel=1e-10)
    assert low[-1] == pytest.approx(0.05 ** (1 / 10), rel=1e-10)
    # beta-quantile form for the interior counts
    np.testing.assert_allclose(low[1:3], stats.beta.ppf(0.05, k[1:3], 10 - k[1:3] + 1), rtol=1e-10)
    np.testing.assert_allclose(high[1:3], stats.beta.ppf(0.95, k[1:3] + 1, 10 - k[1:3]), rtol=1e-10)


def test_clopper_pearson_is_conservative_and_wider_than_wilson():
    """Exact coverage ≥ confidence for every p on a grid (computed from the binomial law)."""
    n = 30
    ks = np.arange(n + 1)
    low, high = clopper_pearson_interval(ks, n, 0.9)
    wl, wh = wilson_interval(ks, n, 0.9)
    assert np.all(high - low >= wh - wl - 1e-12)
    for p in np.linspace(0.01, 0.99, 50):
        covered = (low <= p) & (p <= high)
        assert stats.binom.pmf(ks, n, p)[covered].sum() >= 0.9 - 1e-12


def test_binomial_interval_errors():
    with pytest.raises(ValueError, match=r"successes must lie in \[0, trials\]"):
        wilson_interval(5, 3)
    with pytest.raises(ValueError, match=r"successes must lie in \[0, trials\]"):
        wilson_interval(-1, 3)
    with pytest.raises(ValueError, match="trials must be positive"):
        wilson_interval(0, 0)


@pytest.mark.parametrize(
    "call, message",
    [
        pytest.param(lambda: clopper_pearson_interval(5, 3), r"successes"),
        pytest.param(lambda: clopper_pearson_interval(-1, 5), r"successes"),
        pytest.param(lambda: wilson_interval(1, 5, 1.5), r"confidence"),
        pytest.param(lambda: wilson_interval(1, 5, 1.0), r"confidence"),
        pytest.param(lambda: clopper_pearson_interval(1, 5, 1.5), r"confidence"),
        pytest.param(lambda: quantile_interval([1.0, 2.0, 3.0], 1.5), r"\bq\b"),
        pytest.param(lambda: quantile_interval([1.0, 2.0, 3.0], -0.1), r"\bq\b"),
        pytest.param(lambda: quantile_interval([1.0, np.nan, 3.0], 0.5), r"finite|NaN"),
        pytest.param(lambda: fit_loglog_slope([1, 2, 3], [1, 2, 3], 1.0), r"confidence"),
        pytest.param(
            lambda: bootstrap_slope_interval([1, 2, 3], [[1.0, 2.0]]), r"y_resamples"
        ),
        pytest.param(
            lambda: bootstrap_slope_interval([1, 2, 3], [[1.0, -2.0, 3.0]]), r"positive"
        ),
    ],
)
def test_statistics_bad_inputs_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- quantile interval ----------------------------------------------------------------------------------------


def ref_empirical_quantile(samples, q):
    """Smallest sample value v with fraction(samples ≤ v) ≥ q, by a loop."""
    for v in sorted(samples):
        if np.mean(np.asarray(samples) <= v) >= q:
            return v
    raise AssertionError


def exact_coverage(samples, q, low, high):
    """P[X_(l) ≤ ξ_q ≤ X_(u)] for a continuous law: P[l ≤ B ≤ u − 1], B ∼ Bin(n, q), from the returned ranks."""
    ordered = np.sort(samples)
    n = len(ordered)
    l_rank = 0 if low == -np.inf else int(np.searchsorted(ordered, low)) + 1
    u_rank = n + 1 if high == np.inf else int(np.searchsorted(ordered, high)) + 1
    return stats.binom.cdf(u_rank - 1, n, q) - stats.binom.cdf(l_rank - 1, n, q)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(5, 400),
    st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9, 0.95]),
    st.sampled_from([0.8, 0.9, 0.95]),
    st.integers(0, 2**31 - 1),
)
def test_quantile_interval_estimate_bounds_and_exact_coverage(n, q, confidence, seed):
    samples = np.random.default_rng(seed).random(n)
    estimate, low, high = quantile_interval(samples, q, confidence)
    if abs(q * n - round(q * n)) > 1e-9:  # away from the rounding boundary of ⌈qn⌉
        assert estimate == ref_empirical_quantile(samples, q)
    assert low <= estimate <= high
    for bound in (low, high):
        assert np.isinf(bound) or bound in samples
    assert exact_coverage(samples, q, low, high) >= confidence - 1e-12


def test_quantile_interval_too_few_samples_is_unbounded():
    estimate, low, high = quantile_interval(np.arange(3.0), 0.5)
    assert estimate == 1.0 and high == np.inf


def test_quantile_interval_monte_carlo_coverage():
    """Over 1500 data sets of 40 exponential samples, the 90% interval covers the true median ≥ 88% of the time."""
    rng = np.random.default_rng(0)
    truth = math.log(2)
    hits = 0
    reps = 1500
    for _ in range(reps):
        _, low, high = quantile_interval(rng.exponential(size=40), 0.5, 0.9)
        hits += low <= truth <= high
    assert hits / reps >= 0.88


def test_quantile_interval_errors():
    with pytest.raises(ValueError, match="at least one sample"):
        quantile_interval([], 0.5)


# ---- log-log slope fits -----------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.one_of(st.floats(-3, -1e-3), st.floats(1e-3, 3)), st.floats(1e-3, 1e3), st.integers(3, 12))
def test_fit_exact_power_law(slope, scale, num_points):
    # (near-)flat lines are test_fit_flat_power_law
    x = np.geomspace(1, 1000, num_points)
    y = scale * x**slope
    fit = fit_loglog_slope(x, y)
    assert isinstance(fit, SlopeFit)
    assert fit.slope == pytest.approx(slope, abs=1e-9)
    assert fit.intercept == pytest.approx(math.log(scale), abs=1e-8)
    assert fit.slope_low <= fit.slope <= fit.slope_high
    assert fit.slope_high - fit.slope_low < 1e-6
    np.testing.assert_allclose(fit.predict(np.array([2.0, 50.0])), scale * np.array([2.0, 50.0]) ** slope, rtol=1e-7)
    assert fit.confidence == 0.95


def test_fit_flat_power_law():
    fit = fit_loglog_slope([1.0, 10.0, 100.0], [5.0, 5.0, 5.0])
    assert fit.slope == pytest.approx(0.0, abs=1e-12)
    assert fit.slope_low == pytest.approx(0.0, abs=1e-12) and fit.slope_high == pytest.approx(0.0, abs=1e-12)


def test_fit_noisy_matches_linregress_with_t_interval():
    rng = np.random.default_rng(1)
    x = np.geomspace(1, 100, 9)
    y = 3.0 * x**1.1 * np.exp(rng.normal(0, 0.2, size=9))
    fit = fit_loglog_slope(x, y, confidence=0.9)
    ref = stats.linregress(np.log(x), np.log(y))
    t = stats.t.ppf(0.95, df=7)
    assert fit.slope == pytest.approx(ref.slope, rel=1e-12)
    assert fit.intercept == pytest.approx(ref.intercept, rel=1e-12)
    assert fit.slope_low == pytest.approx(ref.slope - t * ref.stderr, rel=1e-10)
    assert fit.slope_high == pytest.approx(ref.slope + t * ref.stderr, rel=1e-10)
    assert "1.1" in fit.describe() or f"{fit.slope:.3f}" in fit.describe()


def test_fit_interval_coverage_monte_carlo():
    """The 90% t-interval covers the true slope in roughly 90% of 600 noisy fits (loose band: 85%–95%)."""
    rng = np.random.default_rng(2)
    x = np.geomspace(1, 100, 6)
    hits = 0
    for _ in range(600):
        y = x**0.7 * np.exp(rng.normal(0, 0.3, size=6))
        fit = fit_loglog_slope(x, y, confidence=0.9)
        hits += fit.slope_low <= 0.7 <= fit.slope_high
    assert 0.85 <= hits / 600 <= 0.95


@pytest.mark.parametrize(
    "x, y, message",
    [
        ([1, 2], [1, 2], r"at least 3 points, got 2"),
        ([1, 2, -3], [1, 2, 3], r"positive and finite"),
        ([1, 2, 3], [0, 2, 3], r"positive and finite"),
        ([1, 2, np.inf], [1, 2, 3], r"positive and finite"),
        ([1, 2, 3], [1, 2], r"1-d arrays of one length, got shapes \(3,\) and \(2,\)"),
    ],
)
def test_fit_errors(x, y, message):
    with pytest.raises(ValueError, match=message):
        fit_loglog_slope(x, y)


def test_bootstrap_slope_interval_is_percentile_of_resample_slopes():
    rng = np.random.default_rng(3)
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    resamples = np.exp(rng.normal(0, 0.3, size=(400, 5))) * x**1.5
    low, high = bootstrap_slope_interval(x, resamples, confidence=0.9)
    slopes = np.array([np.polyfit(np.log(x), np.log(row), 1)[0] for row in resamples])
    ref_low, ref_high = np.quantile(slopes, [0.05, 0.95])
    assert low == pytest.approx(ref_low, rel=1e-9)
    assert high == pytest.approx(ref_high, rel=1e-9)
    # identical resamples of an exact power law collapse the interval onto the slope
    low, high = bootstrap_slope_interval(x, np.tile(2.0 * x**-0.5, (10, 1)))
    assert low == pytest.approx(-0.5, abs=1e-12) and high == pytest.approx(-0.5, abs=1e-12)


def test_wilson_interval_reaches_zero_and_one_exactly_at_the_extremes():
    """At 0 or n successes the Wilson bound is exactly 0 or 1 (not 1 − 1e-16), so exact values at the extremes are
    inside the interval."""
    lower, upper = wilson_interval(np.array([0, 7, 2000]), np.array([10, 7, 2000]))
    assert lower[0] == 0.0 and upper[1] == 1.0 and upper[2] == 1.0


# ---- mean with a normal interval ---------------------------------------------------------------------------


def test_mean_interval_matches_scipy_normal_interval():
    values = np.array([0.1, 0.4, 0.35, 0.2, 0.9, 0.05])
    mean, low, high = mean_interval(values, confidence=0.9)
    want_low, want_high = stats.norm.interval(0.9, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean(), rel=1e-15)
    assert (low, high) == (pytest.approx(want_low, rel=1e-12), pytest.approx(want_high, rel=1e-12))


def test_mean_interval_clips_and_degenerates():
    assert mean_interval([0.0, 0.0, 0.01], low=0.0, high=1.0)[1] == 0.0
    assert mean_interval([0.3, 0.3, 0.3]) == (0.3, 0.3, 0.3)
    assert mean_interval([0.7]) == (0.7, 0.7, 0.7)


@pytest.mark.parametrize("values, match", [([], "non-empty 1-d"), ([0.1, np.nan], "finite"),
                                           ([[0.1, 0.2]], "1-d")])
def test_mean_interval_bad_values(values, match):
    with pytest.raises(ValueError, match=match):
        mean_interval(values)


def test_slope_against_theory_matches_numpy_and_refuses_too_few_or_infinite_points():
    from sharpsim.measure.statistics import slope_against_theory

    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    measured = np.array([3.0, 7.0, 11.0, 26.0, 49.0])
    theory = 5.0 * x**1.5
    record = slope_against_theory(x, measured, theory)
    assert record["slope"] == pytest.approx(np.polyfit(np.log(x), np.log(measured), 1)[0], rel=1e-12)
    assert record["theory_slope_on_grid"] == pytest.approx(1.5, rel=1e-12)
    assert record["slope_low"] < record["slope"] < record["slope_high"]
    assert slope_against_theory(x[:2], measured[:2], theory[:2]) is None
    assert slope_against_theory(x, np.r_[measured[:-1], np.inf], theory) is None


def test_slope_record_matches_numpy_t_interval():
    from scipy import stats

    from sharpsim.measure.statistics import slope_record

    x = np.array([2.0, 3.0, 5.0, 9.0, 17.0, 33.0])
    measured = np.array([5.0, 6.5, 12.0, 20.0, 41.0, 70.0])
    record = slope_record(x, measured)
    fit = stats.linregress(np.log(x), np.log(measured))
    half = stats.t.ppf(0.975, x.size - 2) * fit.stderr
    assert record["slope"] == pytest.approx(fit.slope, rel=1e-12)
    assert (record["slope_low"], record["slope_high"]) == pytest.approx((fit.slope - half, fit.slope + half), rel=1e-9)
    assert slope_record(x[:2], measured[:2]) is None and slope_record(x, np.r_[measured[:-1], np.nan]) is None
