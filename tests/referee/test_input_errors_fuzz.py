"""Issue 12, regressions of the fuzz findings in ``sharpsim.referee``: messages that named the wrong argument (``base``
reported as ``reference``, ``reference`` as "base policy"), token targets given strings, huge sample counts, and
the exact SFT law at extreme N (10**30, beyond int64) and large n (its expectation exceeded 1 by rounding). The
expectation is compared here with a SciPy reference written independently of the code under test."""

import time

import jax
import numpy as np
import pytest
from scipy.stats import binom

import sharpsim as ss

KEY = jax.random.PRNGKey(0)
PROBS = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])


@pytest.fixture(scope="module")
def tab():
    return ss.TabularPolicy(PROBS)


@pytest.fixture(scope="module")
def tree():
    return ss.TreePolicy.from_joint([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]], 2)


TARGETS = np.array([[0, 0], [1, 1]])


@pytest.mark.parametrize("value", ["abc", None, {"a": 1}, 3, np.zeros((2, 3))])
def test_concentrability_names_base(tab, value):
    with pytest.raises(TypeError, match=r"^base must be a TabularPolicy"):
        ss.concentrability(tab, value)


@pytest.mark.parametrize("fn", [lambda p, r: ss.density_ratio_moment(p, r, 0.5), ss.hellinger_squared,
                                ss.hellinger_squared_per_prompt, ss.kl_divergence, ss.kl_divergence_per_prompt])
def test_shape_mismatch_names_policy_and_reference(tab, fn):
    with pytest.raises(ValueError, match=r"^policy has shape \(2, 3\) but reference has shape \(3, 3\)"):
        fn(tab, ss.TabularPolicy(np.full((3, 3), 1.0 / 3.0)))


def test_concentrability_shape_mismatch_names_base(tab):
    with pytest.raises(ValueError, match=r"^policy has shape \(2, 3\) but base policy has shape \(3, 3\)"):
        ss.concentrability(tab, ss.TabularPolicy(np.full((3, 3), 1.0 / 3.0)))


@pytest.mark.parametrize("value, message", [
    ("abc", r"^policies must be a list of policies .* got str"),
    (None, r"^policies must be a list of policies .* got NoneType"),
    (3, r"^policies must be a list of policies .* got int"),
])
def test_loss_concentrability_names_policies(tab, value, message):
    with pytest.raises(TypeError, match=message):
        ss.loss_concentrability(tab, value, 0.5)


def test_loss_concentrability_names_the_bad_member(tab):
    with pytest.raises(TypeError, match=r"^policies\[1\] must be a TabularPolicy .* got str"):
        ss.loss_concentrability(tab, [tab, "abc"], 0.5)


@pytest.mark.parametrize("value", ["abc", None, 3, np.zeros((2, 3))])
def test_sequence_sharpening_error_names_learned(value):
    with pytest.raises(TypeError, match=r"^learned must be an AutoregressivePolicy"):
        ss.sequence_sharpening_error(value, TARGETS, 0.1)


@pytest.mark.parametrize("call", [
    lambda policy, targets: ss.target_mass(policy, targets),
    lambda policy, targets: ss.estimate_target_mass(KEY, policy, targets, 8),
    lambda policy, targets: ss.sequence_sharpening_error(policy, targets, 0.1),
])
@pytest.mark.parametrize("targets, error", [("ab", TypeError), (None, TypeError), ([["a", "b"], ["c", "d"]], TypeError),
                                            ([[0, 2], [1, 1]], ValueError)])
def test_target_functions_name_bad_targets(tree, call, targets, error):
    with pytest.raises(error, match=r"^targets "):
        call(tree, targets)


@pytest.mark.parametrize("num_samples", [10**9, 10**30])
def test_estimate_target_mass_refuses_a_huge_num_samples_at_once(tree, num_samples, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", str(2**28))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^num_samples is too large"):
        ss.estimate_target_mass(KEY, tree, TARGETS, num_samples)
    assert time.perf_counter() - start < 2.0


def _scipy_expected_error(probs, mu, n, num_samples, delta):
    """E[err] of SFT-Sharpening with Π_tab, from scipy's binomial law (Theorem 4.1's setting, γ = 0, unique argmax)."""
    top = probs.max(axis=1)
    hit = 1.0 - (1.0 - top) ** num_samples
    counts = np.arange(n + 1)
    total = 0.0
    for x in range(probs.shape[0]):
        fail = np.empty(n + 1)
        fail[0] = float(1.0 / probs.shape[1] < 1.0 - delta)  # unseen prompt: uniform row
        for c in range(1, n + 1):
            k = np.arange(c + 1)
            fail[c] = np.sum(binom.pmf(k, c, hit[x])[k / c < 1.0 - delta])
        total += mu[x] * np.sum(binom.pmf(counts, n, mu[x]) * fail)
    return total


@pytest.mark.parametrize("n", [4, pytest.param(60, marks=pytest.mark.slow)])
def test_exact_sft_expected_error_matches_scipy(tab, n):
    expected = _scipy_expected_error(PROBS, np.asarray(tab.prompt_probs), n, 2, 0.1)
    assert float(ss.exact_sft_expected_error(tab, n, 2, 0.1)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.slow
def test_exact_sft_expected_error_stays_a_probability_at_large_n(tab):
    """At n = 10**5 the binomial pmf's log-gamma rounding made the expectation 1 + 1e-10; scipy's own sum is 1 to
    rounding too, so renormalizing and clipping into [0, 1] loses nothing."""
    value = float(ss.exact_sft_expected_error(tab, 10**5, 2, 0.1))
    assert 0.0 <= value <= 1.0
    counts = np.arange(10**5 + 1)
    # every prompt is seen ~5·10^4 times; a prompt fails unless ≥ 90% of its picks hit its argmax, which has
    # probability q = 0.75 (x0) and 0.84 (x1) per pick: the expectation is 1 minus the (vanishing) chance of passing
    mu = np.asarray(tab.prompt_probs)
    reference = sum(mu[x] * np.sum(binom.pmf(counts, 10**5, mu[x])) for x in range(2))
    assert value == pytest.approx(min(reference, 1.0), abs=1e-12)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
@pytest.mark.parametrize("num_samples", [10**30, 2**62])
def test_exact_sft_law_answers_num_samples_beyond_int64(tab, num_samples):
    """N enters only through (1 − p)^N: at N = 10**30 every argmax is hit, so a prompt fails only when unseen."""
    n, delta = 4, 0.1
    mu = np.asarray(tab.prompt_probs)
    # unseen prompts fail (a uniform row has mass 1/3 < 1 − δ); a seen prompt never fails when q = 1
    expected = sum(mu[x] * (1.0 - mu[x]) ** n for x in range(2))
    assert float(ss.exact_sft_expected_error(tab, n, num_samples, delta)) == pytest.approx(expected, abs=1e-14)
    values, probabilities = ss.exact_sft_error_distribution(tab, n, num_samples, delta)
    assert float(np.sum(values * probabilities)) == pytest.approx(expected, abs=1e-12)
    both_seen = 1.0 - 2 * 0.5**n  # μ uniform on 2 prompts: err = 0 iff both prompts are drawn
    assert ss.exact_sft_success_probability(tab, n, num_samples, delta, 0.0) == pytest.approx(both_seen, abs=1e-12)
