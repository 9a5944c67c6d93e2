"""The optimizer shared by the linear softmax classes: projected gradient over a product of ℓ2 balls.

Maximum likelihood over Π_{φ,B} (Definition J.3) and Π_{φ,B,H} (Appendix E), step 4 of SFT-Sharpening
(Section 2.1), and the regression of Eq. 8 over Π_{φ,B} are convex problems min f(θ) subject to ‖θ_h‖₂ ≤ B
for every row θ_h; ``minimize_on_balls`` solves them with a stopping rule and a certificate of optimality,
and ``project_to_balls`` is the Euclidean projection onto the constraint set.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sharpsim.core.validation import as_float_array, check_in_interval, check_positive_int, is_concrete


MAX_STEPS = 10**6  # optimizer steps one call may run: minutes on one CPU core for the small classes sharpsim fits


def check_num_steps(num_steps, name: str = "num_steps", maximum: int = MAX_STEPS) -> int:
    """A count of optimizer steps in [1, ``maximum``]: a larger count (10**9, 10**30) is refused at once, naming
    ``name``, rather than run for hours or overflow int64 inside ``jit``."""
    num_steps = check_positive_int(num_steps, name)
    if num_steps > maximum:
        raise ValueError(f"{name} must be an integer in [1, {maximum}] (sharpsim's cap on optimizer steps a call "
                         f"runs), got {num_steps}")
    return num_steps


def project_to_balls(theta: jax.Array, radius) -> jax.Array:
    """Euclidean projection of every row θ[..., :] onto {‖θ_row‖₂ ≤ radius} (one ball per row; θ [H, d] or [d])."""
    if is_concrete(radius):
        check_in_interval(radius, "radius", 0.0, np.inf, closed_low=True, closed_high=False)
    norms = jnp.linalg.norm(theta, axis=-1, keepdims=True)
    return theta * jnp.minimum(1.0, radius / jnp.maximum(norms, 1e-300))


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class BallSolution:
    """What ``minimize_on_balls`` returns: θ, f(θ), ‖∇f‖, ‖G‖, Frank–Wolfe gap, steps taken, converged."""

    theta: jax.Array
    value: jax.Array
    gradient_norm: jax.Array
    gradient_mapping_norm: jax.Array
    frank_wolfe_gap: jax.Array
    num_steps: jax.Array
    converged: jax.Array


def minimize_on_balls(objective, theta0, radius, smoothness, max_steps: int, tolerance: float,
                      momentum: float) -> BallSolution:
    """min f(θ) over ∏_rows {‖θ_row‖₂ ≤ radius} for a convex f with ∇f ``smoothness``-Lipschitz: optax SGD
    (step 1/smoothness, Nesterov ``momentum``) followed by the projection, under ``lax.while_loop`` until the
    gradient-mapping norm ‖θ − P(θ − ∇f/L)‖·L ≤ ``tolerance`` or ``max_steps``. The Frank–Wolfe gap
    Σ_rows ⟨∇f_row, θ_row⟩ + radius·‖∇f_row‖ bounds f(θ) − min f from above."""
    _check_problem(objective, theta0, radius, smoothness, max_steps, tolerance, momentum)
    step = 1.0 / jnp.maximum(smoothness, 1e-12)
    value_and_grad = jax.value_and_grad(objective)
    optimizer = optax.sgd(step, momentum=momentum or None, nesterov=momentum > 0)

    def mapping_norm(theta, gradient):
        return jnp.linalg.norm(theta - project_to_balls(theta - step * gradient, radius)) / step

    # the state carries ∇f(θ_k): each step evaluates the gradient once, at the new iterate, for both the stopping
    # test and the next update
    def keep_going(state):
        steps, _, _, _, gradient_mapping = state
        return (steps < max_steps) & (gradient_mapping > tolerance)

    def advance(state):
        steps, theta, gradient, opt_state, _ = state
        updates, opt_state = optimizer.update(gradient, opt_state, theta)
        theta = project_to_balls(optax.apply_updates(theta, updates), radius)
        _, gradient = value_and_grad(theta)
        return steps + 1, theta, gradient, opt_state, mapping_norm(theta, gradient)

    _, gradient0 = value_and_grad(theta0)
    state = (jnp.zeros((), jnp.int64), theta0, gradient0, optimizer.init(theta0), mapping_norm(theta0, gradient0))
    steps, theta, gradient, _, gradient_mapping = jax.lax.while_loop(keep_going, advance, state)
    value = objective(theta)
    gap = jnp.sum(gradient * theta) + radius * jnp.sum(jnp.linalg.norm(gradient, axis=-1))
    return BallSolution(theta, value, jnp.linalg.norm(gradient), gradient_mapping, gap, steps,
                        gradient_mapping <= tolerance)


def _check_problem(objective, theta0, radius, smoothness, max_steps, tolerance, momentum) -> None:
    """Eager checks of ``minimize_on_balls``' arguments (traced ``theta0``, ``radius``, ``smoothness`` are trusted;
    ``max_steps``, ``tolerance`` and ``momentum`` are static)."""
    if not callable(objective):
        raise TypeError(f"objective must be callable θ -> f(θ), got {objective!r}")
    if is_concrete(theta0):
        array = as_float_array(theta0, "theta0")
        if array.ndim not in (1, 2) or array.size == 0:
            raise ValueError(f"theta0 must be a non-empty [d] or [H, d] array, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError("theta0 must be finite")
    if is_concrete(radius):
        check_in_interval(radius, "radius", 0.0, np.inf, closed_low=False, closed_high=False)
    if is_concrete(smoothness):
        check_in_interval(smoothness, "smoothness", 0.0, np.inf, closed_low=True, closed_high=False)
    check_positive_int(max_steps, "max_steps")
    check_in_interval(tolerance, "tolerance", 0.0, np.inf, closed_low=False, closed_high=False)
    check_in_interval(momentum, "momentum", 0.0, 1.0, closed_low=True, closed_high=False)
