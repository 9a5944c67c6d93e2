"""measure.first_success: best-of-N's first success against the geometric law, the exact one-prompt threshold
against a numpy search, and the single-target fit against a numpy maximum-likelihood solve."""

import math

import jax
import numpy as np
import pytest
from scipy import optimize

from sharpsim.instances.registry import make
from sharpsim.instances.sphere import sphere
from sharpsim.measure.first_success import bon_samples_needed, first_success, single_target_fit_mass


def _needle(coverage, num_prompts=2, num_responses=64):
    return make("needle", num_prompts=num_prompts, num_responses=num_responses, coverage=coverage)


@pytest.mark.slow
def test_first_success_is_geometric_in_law():
    """The first N with BoN_N ∈ y* is geometric(p*) on the needle (p* = 1/C_cov on every prompt)."""
    policy = _needle(8.0)
    keys = jax.random.split(jax.random.PRNGKey(3), 2000)
    prompts, first, samples = (np.asarray(a) for a in first_success(policy, keys, 256))
    assert np.all(samples == 256)
    assert set(np.unique(prompts)) <= {0, 1}
    assert np.all((first >= 1) & (first <= 256))  # (7/8)^256 ≈ 1e-15: every seed succeeds
    for n in (1, 4, 16):
        expected = 1 - (7 / 8) ** n
        assert abs(np.mean(first <= n) - expected) < 4 * math.sqrt(expected * (1 - expected) / first.size)


@pytest.mark.slow
def test_first_success_reports_censored_seeds_as_zero():
    """With N_max well below 1/p*, most seeds see no success: their first N is 0, at the geometric rate."""
    policy = _needle(50.0)
    keys = jax.random.split(jax.random.PRNGKey(4), 1500)
    first = np.asarray(first_success(policy, keys, 10, seed_batch=7)[1])
    assert np.all((first >= 0) & (first <= 10))
    expected = (1 - 1 / 50) ** 10
    assert abs(np.mean(first == 0) - expected) < 4 * math.sqrt(expected * (1 - expected) / first.size)


@pytest.mark.slow
def test_first_success_does_not_depend_on_the_seed_batch():
    policy = _needle(4.0)
    keys = jax.random.split(jax.random.PRNGKey(5), 10)
    whole = first_success(policy, keys, 32, seed_batch=256)
    split = first_success(policy, keys, 32, seed_batch=3)
    for a, b in zip(whole, split):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("max_samples,error", [(0, ValueError), (2.5, TypeError)])
def test_first_success_refuses_bad_max_samples(max_samples, error):
    with pytest.raises(error, match="max_samples"):
        first_success(_needle(4.0), jax.random.split(jax.random.PRNGKey(0), 3), max_samples)


def test_first_success_refuses_a_single_key():
    with pytest.raises(ValueError, match=r"keys must be a batch of PRNG keys \[seeds, 2\]"):
        first_success(_needle(4.0), jax.random.PRNGKey(0), 8)


@pytest.mark.parametrize("coverage,rho", [(1.5, 0.1), (6.66, 0.1), (98.2, 0.05), (3082.4, 0.1), (2.0, 0.5)])
def test_bon_samples_needed_is_the_first_n_with_success(coverage, rho):
    p = 1 / coverage
    n = 1
    while 1 - (1 - p) ** n < 1 - rho:
        n += 1
    assert bon_samples_needed(coverage, rho) == n
    assert n <= math.log(1 / rho) * coverage + 1  # Proposition C.1's sufficient N, up to rounding


def test_bon_samples_needed_edge_and_bad_input():
    assert bon_samples_needed(1.0, 0.1) == 1
    with pytest.raises(ValueError, match=r"coverage must lie in \[1, inf\), got 0.5"):
        bon_samples_needed(0.5, 0.1)
    with pytest.raises(ValueError, match=r"rho must lie in \(0, 1\), got 1.0"):
        bon_samples_needed(4.0, 1.0)


def _numpy_single_target_mass(instance, target):
    """argmax_{‖θ‖ ≤ B} log softmax(φθ)[target] by SLSQP, then softmax(φθ)[y*] (independent of sharpsim's fit)."""
    features = np.asarray(instance.features[0])
    radius = float(instance.radius)

    def negative_log_likelihood(theta):
        logits = features @ theta
        return -(logits[target] - np.logaddexp.reduce(logits))

    solution = optimize.minimize(negative_log_likelihood, np.zeros(features.shape[1]), method="SLSQP",
                                 constraints=[{"type": "ineq", "fun": lambda t: radius**2 - t @ t}],
                                 options={"ftol": 1e-12, "maxiter": 500})
    logits = features @ solution.x
    probs = np.exp(logits - np.logaddexp.reduce(logits))
    return probs[instance.optimum]


@pytest.mark.slow
def test_single_target_fit_mass_matches_a_numpy_solve():
    instance = sphere(4)
    at_optimum, at_other = single_target_fit_mass(instance)
    distances = np.sum(instance.codewords != instance.codewords[instance.optimum], axis=1)
    other = int(np.flatnonzero(distances == instance.min_distance)[0])
    assert at_optimum == pytest.approx(_numpy_single_target_mass(instance, instance.optimum), abs=1e-4)
    assert at_other == pytest.approx(_numpy_single_target_mass(instance, other), abs=1e-4)
    assert at_optimum >= 0.9 and at_other < 0.1


def test_single_target_fit_mass_needs_a_sphere_instance():
    with pytest.raises(TypeError, match=r"instance must be a SphereInstance \(with .model_class\), got TabularPolicy"):
        single_target_fit_mass(_needle(4.0))
