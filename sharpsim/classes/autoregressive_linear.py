"""The autoregressive linear softmax class Π_{φ,B,H} (Appendix E): maximum likelihood on token sequences, and the
best member for a target sequence (Proposition E.2).

    π_θ(y_{1:H}|x) = Π_h π_{θ_h}(y_h | x, y_{1:h−1}),   π_{θ_h}(y_h | x, y_{<h}) ∝ exp⟨φ_h(x, y_{1:h}), θ_h⟩,   ‖θ_h‖₂ ≤ B.

Members are ``LinearSoftmaxARPolicy`` instances (``sharpsim.policies.linear_softmax``), with the same feature map
convention ``feature_map(prompt, tokens [H], position) -> [d]``. The SFT objective (step 4 of SFT-Sharpening,
Section 2.1)

    f(θ) = −(1/W) Σ_i w_i Σ_h log π_{θ_h}(y_{i,h} | x_i, y_{i,<h})

is a sum over positions of convex multinomial-logistic losses, each in its own θ_h, over a product of balls:
projected gradient (``minimize_on_balls``: optax, Nesterov momentum, step 1/R² with R the largest feature
norm over the data's candidate tokens, gradient-mapping stopping rule, Frank–Wolfe certificate) solves it.
The targets are token sequences [n, H] (``takes_sequences = True``), as the oracle returns them.

``best_achievable_log_mass`` maximizes log π_θ(y|x) over the class by projected gradient ascent; the objective is
a sum of log-softmaxes of linear functions, concave in each θ_h, so the ascent reaches the global maximum over the
product of balls (Proposition E.2: the class is not closed under sharpening; instance family ``not_closed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import (
    as_float_array,
    check_allocation,
    check_finite_nonnegative,
    check_in_interval,
    check_positive_int,
    is_concrete,
)
from sharpsim.classes.optimizer import check_num_steps, minimize_on_balls, project_to_balls
from sharpsim.policies.autoregressive import DEFAULT_MAX_SEQUENCES, check_prompts, check_tokens
from sharpsim.policies.linear_softmax import LinearSoftmaxARPolicy


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class AutoregressiveLinearFit:
    """The MLE over Π_{φ,B,H}: ``policy`` (a ``LinearSoftmaxARPolicy``), ``theta`` [H, d], ``log_likelihood``
    Σ_i w_i log π_θ̂(y_i|x_i), ``gradient_norm``, ``gradient_mapping_norm``, ``frank_wolfe_gap`` (per unit
    weight), ``num_steps`` and ``converged``, as for ``LinearSoftmaxFit``."""

    policy: LinearSoftmaxARPolicy
    theta: jax.Array
    log_likelihood: jax.Array
    gradient_norm: jax.Array
    gradient_mapping_norm: jax.Array
    frank_wolfe_gap: jax.Array
    num_steps: jax.Array
    converged: jax.Array

    def to_tabular(self):
        """The enumerated sequence law (|V|^H must be within the policy's ``max_sequences``)."""
        return self.policy.to_tabular()


@validated_pytree(("template", "radius"), ("max_steps", "tolerance", "momentum"))
@dataclass(frozen=True, eq=False)
class AutoregressiveLinearClass:
    """Π_{φ,B,H} with feature map φ (``feature_map``, static), |V| = ``vocab_size``, H = ``horizon``,
    d = ``dimension`` and radius B (``radius``, a leaf); fitted policies carry ``prompt_probs`` (μ)."""

    template: LinearSoftmaxARPolicy
    radius: jax.Array
    max_steps: int = 5000
    tolerance: float = 1e-7
    momentum: float = 0.9
    takes_sequences = True

    def __init__(self, feature_map: Callable, vocab_size: int, horizon: int, dimension: int, radius,
                 prompt_probs=None, num_prompts: int | None = None, max_steps: int = 5000, tolerance: float = 1e-7,
                 momentum: float = 0.9, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        horizon = check_positive_int(horizon, "horizon")
        dimension = check_positive_int(dimension, "dimension")
        check_allocation((horizon, dimension), f"AutoregressiveLinearClass with horizon={horizon}, dimension={dimension}")
        if is_concrete(radius):
            radius = check_in_interval(radius, "radius", 0.0, np.inf, closed_low=False, closed_high=False)
        if prompt_probs is not None and is_concrete(prompt_probs):
            prompt_probs = as_float_array(prompt_probs, "prompt_probs")
        try:
            template = LinearSoftmaxARPolicy(np.zeros((horizon, dimension)), feature_map, vocab_size,
                                             num_prompts=num_prompts, prompt_probs=prompt_probs,
                                             max_sequences=max_sequences)
        except ValueError as error:
            if str(error).startswith("feature_map must return shape"):
                raise ValueError(f"dimension={dimension} does not match the feature map: {error}") from None
            raise
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "radius", jnp.asarray(radius, jnp.float64))
        object.__setattr__(self, "max_steps", check_positive_int(max_steps, "max_steps"))
        object.__setattr__(self, "tolerance", check_in_interval(tolerance, "tolerance", 0.0, np.inf, False, False))
        object.__setattr__(self, "momentum", check_in_interval(momentum, "momentum", 0.0, 1.0, True, False))

    @classmethod
    def like(cls, base: LinearSoftmaxARPolicy, radius, **options) -> "AutoregressiveLinearClass":
        """The class of a linear-softmax base (its φ, |V|, H, d, μ) with radius ``radius``: realizable for
        SFT when the BoN law is (approximately) a member, e.g. the base itself as N → 1."""
        if not isinstance(base, LinearSoftmaxARPolicy):
            raise TypeError(f"base must be a LinearSoftmaxARPolicy, got {type(base).__name__}")
        horizon, dimension = base.theta.shape
        return cls(base.feature_map, base.vocab_size, horizon, dimension, radius, prompt_probs=base.prompt_probs,
                   max_sequences=base.max_sequences, **options)

    prompt_probs = property(lambda self: self.template.prompt_probs)
    num_prompts = property(lambda self: self.template.num_prompts)
    num_responses = property(lambda self: self.template.num_responses)
    vocab_size = property(lambda self: self.template.vocab_size)
    horizon = property(lambda self: self.template.horizon)
    dimension = property(lambda self: self.template.theta.shape[1])

    def policy(self, theta) -> LinearSoftmaxARPolicy:
        """The member π_θ (no norm check; validated when concrete)."""
        if is_concrete(theta):
            array = as_float_array(theta, "theta")
            if array.shape != (self.horizon, self.dimension):
                raise ValueError(f"theta must have shape (H, d) = ({self.horizon}, {self.dimension}), got {array.shape}")
            if not np.all(np.isfinite(array)):
                raise ValueError("theta must be finite")
        return self.template.with_theta(jnp.asarray(theta, jnp.float64))

    def fit(self, prompts, responses, weights=None) -> AutoregressiveLinearFit:
        """argmin over ∏_h {‖θ_h‖ ≤ B} of f(θ) for prompts [n] and token sequences ``responses`` [n, H]."""
        if is_concrete(prompts, responses, weights):
            self._check_targets(prompts, responses, weights)
        prompts, responses = jnp.asarray(prompts).reshape(-1), jnp.asarray(responses)
        responses = responses.reshape(-1, responses.shape[-1])
        if is_concrete(prompts, responses, weights):
            # the per-position features of every example and candidate token: [H, n, V, d]
            check_allocation((self.horizon, prompts.shape[0], self.vocab_size, self.dimension),
                             f"AutoregressiveLinearClass.fit on n={prompts.shape[0]} sequences")
        weights = jnp.ones(prompts.shape, jnp.float64) if weights is None else jnp.asarray(weights, jnp.float64).reshape(-1)
        # φ_h(x_i, (y_{i,<h}, v)) for every position h, example i and candidate token v: [H, n, V, d]
        # (feature maps take a traced position, checked at construction, so one vmap replaces H unrolled copies)
        features = jax.vmap(lambda h: self.template.features(prompts, responses, h))(jnp.arange(self.horizon))
        targets = responses.T  # [H, n]
        total = jnp.sum(weights)
        normalizer = jnp.where(total > 0, total, 1.0)

        def negative_log_likelihood(theta):
            log_probs = jax.nn.log_softmax(jnp.einsum("hnvd,hd->hnv", features, theta), axis=-1)
            chosen = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
            return -jnp.sum(chosen * weights[None, :]) / normalizer

        smoothness = jnp.max(jnp.sum(features**2, axis=-1))
        theta0 = jnp.zeros((self.horizon, self.dimension), jnp.float64)
        solution = minimize_on_balls(negative_log_likelihood, theta0, self.radius, smoothness, self.max_steps,
                                     self.tolerance, self.momentum)
        return AutoregressiveLinearFit(
            policy=self.policy(solution.theta),
            theta=solution.theta,
            log_likelihood=-solution.value * total,
            gradient_norm=solution.gradient_norm,
            gradient_mapping_norm=solution.gradient_mapping_norm,
            frank_wolfe_gap=solution.frank_wolfe_gap,
            num_steps=solution.num_steps,
            converged=solution.converged,
        )

    def _check_targets(self, prompts, responses, weights) -> None:
        """Concrete training data: prompt indices [n] (or any shape), token sequences [n, H] (prompts' shape + H),
        weights of the prompts' shape, finite and ≥ 0."""
        prompts, responses = np.asarray(prompts), np.asarray(responses)
        check_prompts(prompts, self.num_prompts)
        if not np.issubdtype(responses.dtype, np.integer):
            raise TypeError(f"responses must be integer token sequences, got dtype {responses.dtype}")
        if responses.shape != prompts.shape + (self.horizon,):
            raise ValueError(
                f"responses must be token sequences of shape (n, H) = {prompts.shape + (self.horizon,)}, "
                f"got {responses.shape}"
            )
        check_tokens(responses, self.vocab_size, self.horizon, "responses")
        if weights is not None:
            weights = as_float_array(weights, "weights")
            if weights.shape != prompts.shape:
                raise ValueError(f"weights has shape {weights.shape} but prompts has shape {prompts.shape}; they must match")
            check_finite_nonnegative(weights, "weights")

    def __repr__(self) -> str:
        return (f"AutoregressiveLinearClass(num_prompts={self.num_prompts}, vocab_size={self.vocab_size}, "
                f"horizon={self.horizon}, dimension={self.dimension})")


def best_achievable_log_mass(policy: LinearSoftmaxARPolicy, target, norm_bound, prompt: int = 0,
                             num_steps: int = 3000, learning_rate: float = 0.05):
    """max_{θ : ‖θ_h‖₂ ≤ B'} log π_θ(target | x) over the class of ``policy`` (its feature map), B' = norm_bound.

    Projected Adam ascent from θ = 0 (learning rate scaled by B'), keeping the best iterate; ``num_steps`` at
    most ``MAX_STEPS`` (``sharpsim.classes.optimizer``). Each term
    log π_{θ_h}(y_h | x, y_{<h}) is concave in θ_h, so this approaches the global maximum. Returns
    ``(log_mass, theta)``.
    """
    if not isinstance(policy, LinearSoftmaxARPolicy):
        raise TypeError(f"policy must be a LinearSoftmaxARPolicy (a member of the class), got {type(policy).__name__}")
    norm_bound = check_in_interval(norm_bound, "norm_bound", 0.0, np.inf, False, False)
    num_steps = check_num_steps(num_steps)
    learning_rate = check_in_interval(learning_rate, "learning_rate", 0.0, np.inf, False, False)
    prompt = check_positive_int(prompt, "prompt", minimum=0)
    if prompt >= policy.num_prompts:
        raise ValueError(f"prompt must be a prompt index in [0, {policy.num_prompts}), got {prompt}")
    check_tokens(target, policy.vocab_size, policy.horizon, "target")
    target = jnp.asarray(target)
    if target.ndim != 1:
        raise ValueError(f"target must be one token sequence of shape (H,) = ({policy.horizon},), got {target.shape}")
    return _ascend(policy, target, jnp.asarray(prompt), float(norm_bound), num_steps, float(learning_rate))


def _ascend(policy, target, prompt, radius, num_steps, learning_rate):
    optimizer = optax.adam(learning_rate * radius)

    def objective(theta):
        return policy.with_theta(theta).log_prob(prompt, target)

    def step(state, _):
        theta, opt_state, best_value, best_theta = state
        value, grad = jax.value_and_grad(objective)(theta)
        updates, opt_state = optimizer.update(-grad, opt_state)
        better = value > best_value
        best_value = jnp.where(better, value, best_value)
        best_theta = jnp.where(better, theta, best_theta)
        theta = project_to_balls(optax.apply_updates(theta, updates), radius)
        return (theta, opt_state, best_value, best_theta), None

    @jax.jit
    def run(theta0):
        state = (theta0, optimizer.init(theta0), -jnp.inf, theta0)
        (theta, _, best_value, best_theta), _ = jax.lax.scan(step, state, None, length=num_steps)
        final = objective(theta)
        return jnp.where(final > best_value, final, best_value), jnp.where(final > best_value, theta, best_theta)

    return run(jnp.zeros_like(policy.theta))
