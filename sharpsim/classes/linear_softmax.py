"""The linear softmax class Π_{φ,B} = { π_θ(y|x) ∝ exp⟨φ(x, y), θ⟩ : ‖θ‖₂ ≤ B } (Definition J.3;
Appendix E with H = 1), a model class for SFT-Sharpening and RLHF-Sharpening.

Maximum likelihood over Π_{φ,B} (step 4 of SFT-Sharpening, Section 2.1) is the convex problem

    min_{‖θ‖₂ ≤ B}  f(θ) = −(1/W) Σ_{x,y} c(x, y) [ ⟨φ(x, y), θ⟩ − log Σ_{y'} exp⟨φ(x, y'), θ⟩ ],

c the weighted target counts and W = Σ c. ∇²f = (1/W) Σ_x c(x) Cov_{π_θ(·|x)}[φ] ⪯ R² I with R = max ‖φ(x, y)‖₂,
so projected gradient with step 1/R² (``minimize_on_balls``: optax with Nesterov momentum, then the
projection onto the ball) converges. It runs inside ``lax.while_loop`` for at most ``max_steps`` steps and stops once the
gradient mapping G(θ) = (θ − P_B(θ − ∇f(θ)/R²))·R² — zero exactly at the constrained optimum — has norm ≤
``tolerance``. The result reports ‖∇f‖, ‖G‖, the Frank–Wolfe gap ⟨∇f, θ⟩ + B‖∇f‖ (a certified upper bound on
f(θ) − min f) and ``converged``; a fit that ran out of steps says so, it is never silent.

With no data (W = 0) the gradient is 0 and θ = 0: the uniform policy, the tabular class's unseen rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import (
    as_float_array,
    check_finite_nonnegative,
    check_in_interval,
    check_positive_int,
    is_concrete,
)
from sharpsim.classes.optimizer import minimize_on_balls
from sharpsim.classes.tabular import check_prompt_probs, check_targets, target_counts
from sharpsim.core.policy import TabularPolicy


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LinearSoftmaxFit:
    """The projected-gradient MLE over Π_{φ,B}: ``policy`` π_θ̂, ``theta`` [d], ``log_likelihood`` Σ w log π_θ̂,
    ``gradient_norm`` ‖∇f‖, ``gradient_mapping_norm`` ‖G‖ (the stopping statistic), ``frank_wolfe_gap``
    (≥ f(θ̂) − min f, per unit weight), ``num_steps`` taken and ``converged`` (‖G‖ ≤ tolerance)."""

    policy: TabularPolicy
    theta: jax.Array
    log_likelihood: jax.Array
    gradient_norm: jax.Array
    gradient_mapping_norm: jax.Array
    frank_wolfe_gap: jax.Array
    num_steps: jax.Array
    converged: jax.Array

    def to_tabular(self) -> TabularPolicy:
        return self.policy


@validated_pytree(("features", "radius", "prompt_probs"), ("max_steps", "tolerance", "momentum"))
@dataclass(frozen=True, eq=False)
class LinearSoftmaxClass:
    """Π_{φ,B}: ``features`` φ [X, Y, d], ``radius`` B > 0; fitted policies carry ``prompt_probs`` (μ).

    ``max_steps``, ``tolerance`` (on the gradient-mapping norm) and ``momentum`` (Nesterov, 0 for plain
    projected gradient) set the optimizer (``classes/optimizer.py``); they are static, so changing them recompiles.
    """

    features: jax.Array
    radius: jax.Array
    prompt_probs: jax.Array
    max_steps: int = 5000
    tolerance: float = 1e-7
    momentum: float = 0.9

    def __init__(self, features, radius, prompt_probs=None, max_steps=5000, tolerance=1e-7, momentum=0.9):
        if is_concrete(features):
            array = as_float_array(features, "features")
            if array.ndim != 3 or 0 in array.shape:
                raise ValueError(f"features must be a non-empty 3-d array [X, Y, d], got shape {array.shape}")
            if not np.all(np.isfinite(array)):
                raise ValueError("features must be finite")
        if is_concrete(radius):
            radius = check_in_interval(radius, "radius", 0.0, np.inf, closed_low=False, closed_high=False)
        features = jnp.asarray(features, jnp.float64)
        if prompt_probs is None:
            prompt_probs = jnp.full(features.shape[0], 1.0 / features.shape[0])
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "radius", jnp.asarray(radius, jnp.float64))
        object.__setattr__(self, "prompt_probs", check_prompt_probs(prompt_probs, features.shape[0]))
        object.__setattr__(self, "max_steps", check_positive_int(max_steps, "max_steps"))
        object.__setattr__(self, "tolerance", check_in_interval(tolerance, "tolerance", 0.0, np.inf, False, False))
        object.__setattr__(self, "momentum", check_in_interval(momentum, "momentum", 0.0, 1.0, True, False))

    @property
    def num_prompts(self) -> int:
        return self.features.shape[0]

    @property
    def num_responses(self) -> int:
        return self.features.shape[1]

    @property
    def dimension(self) -> int:
        """d; the class is infinite, so Theorem 4.1's log|Π| is replaced by a covering number ≈ d·log(B·R·n)."""
        return self.features.shape[2]

    def policy(self, theta) -> TabularPolicy:
        """π_θ(y|x) = softmax_y ⟨φ(x, y), θ⟩, with the class's μ (no norm check: use it to build bases)."""
        if is_concrete(theta):
            self._check_theta(theta)
        logits = self.features @ jnp.asarray(theta, jnp.float64)
        return TabularPolicy.tree_unflatten(None, (jax.nn.softmax(logits, axis=-1), self.prompt_probs))

    def _check_theta(self, theta) -> None:
        array = as_float_array(theta, "theta")
        if array.shape != (self.dimension,):
            raise ValueError(f"theta must have shape (d,) = ({self.dimension},), got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"theta must be finite, got {array.tolist()}")

    def negative_log_likelihood(self, theta, counts) -> jax.Array:
        """f(θ) = −(1/W) Σ c(x, y) log π_θ(y|x) (0 when W = 0)."""
        if is_concrete(theta):
            self._check_theta(theta)
        if is_concrete(counts):
            array = as_float_array(counts, "counts")
            if array.shape != (self.num_prompts, self.num_responses):
                raise ValueError(f"counts must have shape [X, Y] = ({self.num_prompts}, {self.num_responses}), got "
                                 f"{array.shape}")
            check_finite_nonnegative(array, "counts")
        logits = self.features @ theta
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        total = jnp.sum(counts)
        return -jnp.sum(counts * log_probs) / jnp.where(total > 0, total, 1.0)

    def fit(self, prompts, responses, weights=None) -> LinearSoftmaxFit:
        """argmin_{‖θ‖ ≤ B} f(θ) by projected gradient (optax); see the module docstring for the certificate."""
        check_targets(prompts, responses, weights, self.num_prompts, self.num_responses)
        counts = target_counts(prompts, responses, weights, self.num_prompts, self.num_responses)
        smoothness = jnp.max(jnp.sum(self.features**2, axis=-1))  # R²
        solution = minimize_on_balls(
            lambda theta: self.negative_log_likelihood(theta, counts),
            jnp.zeros(self.dimension, jnp.float64), self.radius, smoothness, self.max_steps, self.tolerance,
            self.momentum,
        )
        return LinearSoftmaxFit(
            policy=self.policy(solution.theta),
            theta=solution.theta,
            log_likelihood=-solution.value * jnp.sum(counts),
            gradient_norm=solution.gradient_norm,
            gradient_mapping_norm=solution.gradient_mapping_norm,
            frank_wolfe_gap=solution.frank_wolfe_gap,
            num_steps=solution.num_steps,
            converged=solution.converged,
        )

    def __repr__(self) -> str:
        return (
            f"LinearSoftmaxClass(num_prompts={self.num_prompts}, num_responses={self.num_responses}, "
            f"dimension={self.dimension}, max_steps={self.max_steps}, tolerance={self.tolerance:g})"
        )
