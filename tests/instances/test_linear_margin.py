"""The ``linear_margin`` family: C_cov and γ_margin from the probabilities (numpy), π_{e_1} = π_base, realizability of
π*_β, the feature layout, exact identification by the minimum-norm fit of Eq. 8 with d generic pairs, validation."""

import jax
import numpy as np
import pytest

from sharpsim.algorithms.rlhf import linear_rlhf_min_norm_fit
from sharpsim.instances.linear_margin import linear_margin
from sharpsim.measure.rlhf_engine import offline_rlhf_min_norm_success


@pytest.mark.parametrize("coverage, margin", [(8.0, 0.01), (4.0, 0.5), (8.0, 2.0)])
def test_coverage_margin_and_realizability(coverage, margin):
    problem = linear_margin(num_responses=32, coverage=coverage, margin=margin, nuisance_dimension=5)
    probs = np.asarray(problem.policy.probs)[0]
    order = np.sort(probs)[::-1]
    assert 1.0 / probs.max() == pytest.approx(coverage)
    assert order[0] / order[1] - 1.0 == pytest.approx(margin)
    assert int(np.argmax(probs)) == problem.optimum == 0
    assert problem.coverage == coverage and problem.margin == margin
    # θ* = e_1 reproduces π_base, (1 + 1/β)e_1 reproduces π*_β ∝ π_base^{1+1/β}
    np.testing.assert_allclose(np.asarray(problem.model_class.policy(problem.theta_star).probs)[0], probs, rtol=1e-12)
    beta = 0.3
    target = probs ** (1 + 1 / beta) / np.sum(probs ** (1 + 1 / beta))
    np.testing.assert_allclose(np.asarray(problem.model_class.policy((1 + 1 / beta) * problem.theta_star).probs)[0],
                               target, rtol=1e-10)
    assert problem.realizes(beta) and problem.dimension == 6 and problem.num_responses == 32


def test_features_are_log_probs_and_scaled_nuisance():
    problem = linear_margin(num_responses=16, coverage=4.0, margin=0.2, nuisance_dimension=3, nuisance_scale=2.0,
                            seed=7)
    features = problem.features[0]
    np.testing.assert_allclose(features[:, 0], np.log(np.asarray(problem.policy.probs)[0]))
    expected = np.random.default_rng(7).normal(size=(16, 3)) * 2.0 / np.sqrt(3)
    np.testing.assert_allclose(features[:, 1:], expected)
    assert not linear_margin(radius=10.0).realizes(0.01)  # 1 + 1/β = 101 > B


@pytest.mark.slow
def test_min_norm_fit_identifies_pi_star_with_d_generic_pairs():
    problem = linear_margin(num_responses=32, coverage=4.0, margin=0.1, nuisance_dimension=4)
    responses = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])  # five pairs, d = 5
    log_probs = np.log(np.asarray(problem.policy.probs))[0][responses]
    fit = linear_rlhf_min_norm_fit(problem.model_class, np.zeros(5, int), responses, log_probs, 0.01)
    np.testing.assert_allclose(np.asarray(fit.theta), 101.0 * problem.theta_star, atol=1e-6)


@pytest.mark.slow
def test_engine_uniform_with_no_pairs_and_exact_with_many():
    problem = linear_margin(num_responses=32, coverage=4.0, margin=0.5, nuisance_dimension=2)
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    beta = 0.05
    _, mass, inside = offline_rlhf_min_norm_success(problem.policy, problem.model_class, keys, beta, 0, 0, 60, 0.1)
    np.testing.assert_allclose(np.asarray(mass), 1.0 / 32)  # θ = 0: π_zero
    success, mass, inside = offline_rlhf_min_norm_success(problem.policy, problem.model_class, keys, beta, 0, 60, 60,
                                                          0.1)
    probs = np.asarray(problem.policy.probs)[0]
    target = probs ** (1 + 1 / beta) / np.sum(probs ** (1 + 1 / beta))
    np.testing.assert_allclose(np.asarray(mass), target[0], rtol=1e-6)
    assert np.all(np.asarray(inside)) and np.all(np.asarray(success) == (target[0] >= 0.9))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"nuisance_dimension": -1}, ValueError, "nuisance_dimension must be an integer >= 0, got -1"),
    ({"nuisance_scale": -1.0}, ValueError, "nuisance_scale"),
    ({"radius": 0.0}, ValueError, "radius"),
    ({"num_responses": 2}, ValueError, "num_responses must be an integer >= 3, got 2"),
    ({"margin": 5.0, "num_responses": 8, "coverage": 6.0}, ValueError, "infeasible"),
])
def test_bad_parameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        linear_margin(**kwargs)
