"""The shared optimizer of the linear softmax classes: the projection onto a product of ℓ2 balls, and projected
gradient on a problem whose constrained minimizer is known in closed form (numpy reference written here)."""

import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim  # noqa: F401  (float64)
from sharpsim.classes.optimizer import minimize_on_balls, project_to_balls


def np_project(theta, radius):
    theta = np.asarray(theta, dtype=np.float64)
    norms = np.linalg.norm(theta, axis=-1, keepdims=True)
    return np.where(norms > radius, theta * radius / np.where(norms > 0, norms, 1.0), theta)


def test_projection_onto_balls():
    theta = jnp.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    np.testing.assert_allclose(project_to_balls(theta, 1.0), [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(5, 3)) * 3
    np.testing.assert_allclose(project_to_balls(jnp.asarray(theta), 2.0), np_project(theta, 2.0), rtol=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_minimize_on_balls_finds_the_projected_center_of_a_quadratic(momentum):
    """min ½‖θ − c‖² over ∏_rows {‖θ_row‖ ≤ r} is attained at the row-wise projection of c."""
    center = np.array([[3.0, -1.0, 2.0], [0.1, 0.2, -0.1]])
    radius = 1.5

    def objective(theta):
        return 0.5 * jnp.sum((theta - center) ** 2)

    solution = minimize_on_balls(objective, jnp.zeros_like(jnp.asarray(center)), radius, 1.0, 500, 1e-10, momentum)
    expected = np_project(center, radius)
    assert bool(solution.converged)
    np.testing.assert_allclose(solution.theta, expected, atol=1e-8)
    assert float(solution.value) == pytest.approx(0.5 * np.sum((expected - center) ** 2), rel=1e-9)
    assert 0.0 <= float(solution.frank_wolfe_gap) <= 1e-7
    assert float(solution.gradient_mapping_norm) <= 1e-10
