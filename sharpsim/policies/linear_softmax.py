"""The multi-layer linear softmax class Π_{φ,B,H} (App. E):

    π_θ(y_{1:H}|x) = Π_h π_{θ_h}(y_h | x, y_{1:h−1}),   π_{θ_h}(y_h | x, y_{1:h−1}) ∝ exp⟨φ_h(x, y_{1:h}), θ_h⟩,

with ‖θ_h‖₂ ≤ B. The user supplies the feature map φ as a JAX-traceable function

    feature_map(prompt, tokens, position) -> float [d]

where ``tokens`` [H] holds y_{1:h} in ``tokens[:position + 1]`` (the candidate next token is
``tokens[position]``) and entries after ``position`` are arbitrary: φ_h must ignore them. ``position``
is 0-based and may be traced. The feature map is static pytree data (hashable, e.g. a module-level function).

``best_achievable_log_mass`` maximises log π_θ(y|x) over the class by projected gradient ascent; the
objective is a sum of log-softmaxes of linear functions, concave in each θ_h, so the ascent reaches the
global maximum over the product of balls (used to check Prop. E.2, ``families_autoregressive.not_closed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sharpsim.core.pytree import unchecked_replace, validated_pytree
from sharpsim.core.validation import as_float_array, check_in_interval, check_positive_int, is_concrete
from sharpsim.policies.autoregressive import DEFAULT_MAX_SEQUENCES, AutoregressivePolicy, _check_tokens, check_prompt_probs


@validated_pytree(("theta", "prompt_probs"), ("feature_map", "horizon", "max_sequences", "norm_bound", "vocab_size"))
@dataclass(frozen=True, eq=False, repr=False)
class LinearSoftmaxARPolicy(AutoregressivePolicy):
    """A member π_θ of Π_{φ,B,H}.

    Args:
      theta: [H, d], row h is θ_h.
      feature_map: φ as described in the module docstring; must return shape [d].
      vocab_size: |V| ≥ 2.
      num_prompts: |X| (prompts are the integers 0..X−1 passed to ``feature_map``), or give ``prompt_probs``.
      prompt_probs: [X] μ, uniform when omitted.
      norm_bound: B; when given, every ‖θ_h‖₂ must be ≤ B (1e-9 slack), else ``ValueError``.
      max_sequences: enumeration limit of ``to_tabular`` (default 2^22).
    """

    theta: jax.Array
    prompt_probs: jax.Array
    feature_map: Callable
    vocab_size: int
    horizon: int
    norm_bound: float | None = None
    max_sequences: int = DEFAULT_MAX_SEQUENCES

    def __init__(self, theta, feature_map: Callable, vocab_size: int, num_prompts: int | None = None,
                 prompt_probs=None, norm_bound: float | None = None, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        if not callable(feature_map):
            raise TypeError(f"feature_map must be callable (prompt, tokens, position) -> [d], got {feature_map!r}")
        vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
        max_sequences = check_positive_int(max_sequences, "max_sequences")
        if norm_bound is not None:
            norm_bound = check_in_interval(norm_bound, "norm_bound", 0.0, np.inf, True, False)
        if prompt_probs is None:
            num_prompts = 1 if num_prompts is None else check_positive_int(num_prompts, "num_prompts")
        elif num_prompts is None:
            num_prompts = int(np.shape(prompt_probs)[0])
        if is_concrete(theta, prompt_probs):
            theta = as_float_array(theta, "theta")
            prompt_probs = check_prompt_probs(prompt_probs, num_prompts)
            _check_theta(theta, norm_bound)
            _check_feature_map(feature_map, theta.shape, vocab_size)
        elif prompt_probs is None:
            prompt_probs = jnp.full(num_prompts, 1.0 / num_prompts)
        object.__setattr__(self, "theta", jnp.asarray(theta, dtype=jnp.float64))
        object.__setattr__(self, "prompt_probs", jnp.asarray(prompt_probs, dtype=jnp.float64))
        object.__setattr__(self, "feature_map", feature_map)
        object.__setattr__(self, "vocab_size", vocab_size)
        object.__setattr__(self, "horizon", int(jnp.shape(theta)[0]))
        object.__setattr__(self, "norm_bound", norm_bound)
        object.__setattr__(self, "max_sequences", max_sequences)

    def with_theta(self, theta) -> "LinearSoftmaxARPolicy":
        """The member of the same class with parameters ``theta`` (unchecked: usable under ``grad``/``jit``)."""
        return unchecked_replace(self, theta=theta)

    def features(self, prompts, tokens, position) -> jax.Array:
        """float [..., |V|, d]: φ_h(x, (y_{<h}, v)) for every candidate token v."""
        prompts, tokens = jnp.asarray(prompts), jnp.asarray(tokens)
        shape = jnp.broadcast_shapes(prompts.shape, tokens.shape[:-1])
        flat_prompts = jnp.broadcast_to(prompts, shape).reshape(-1)
        flat_tokens = jnp.broadcast_to(tokens, shape + (self.horizon,)).reshape(-1, self.horizon)
        candidates = jnp.arange(self.vocab_size)

        def per_row(prompt, row):
            def per_candidate(token):
                return self.feature_map(prompt, row.at[position].set(token), position)

            return jax.vmap(per_candidate)(candidates)

        features = jax.vmap(per_row)(flat_prompts, flat_tokens)
        return features.reshape(shape + features.shape[1:])

    def next_token_log_probs(self, prompts, tokens, position):
        logits = self.features(prompts, tokens, position) @ self.theta[position]
        return jax.nn.log_softmax(logits, axis=-1)


def _check_theta(theta: np.ndarray, norm_bound) -> None:
    if theta.ndim != 2 or theta.shape[0] == 0 or theta.shape[1] == 0:
        raise ValueError(f"theta must have shape [H, d] with H, d >= 1, got {theta.shape}")
    if not np.all(np.isfinite(theta)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(theta))[0])
        raise ValueError(f"theta must be finite; entry {index} is {theta[index]}")
    if norm_bound is not None:
        norms = np.linalg.norm(theta, axis=1)
        worst = int(np.argmax(norms))
        if norms[worst] > norm_bound * (1 + 1e-9) + 1e-12:
            raise ValueError(f"theta[{worst}] has norm {norms[worst]:.6g}, above norm_bound={norm_bound:g}")


def _check_feature_map(feature_map, theta_shape, vocab_size) -> None:
    horizon, dim = theta_shape
    try:
        out = jax.eval_shape(feature_map, jnp.zeros((), jnp.int64), jnp.zeros(horizon, jnp.int64),
                             jnp.zeros((), jnp.int64))
    except Exception as error:
        raise ValueError(f"feature_map(prompt, tokens [H={horizon}], position) failed when traced: {error}") from error
    if getattr(out, "shape", None) != (dim,):
        raise ValueError(
            f"feature_map must return shape (d,) = ({dim},) to match theta {theta_shape}, got "
            f"{getattr(out, 'shape', type(out).__name__)}"
        )


def project_to_balls(theta: jax.Array, radius) -> jax.Array:
    """Euclidean projection of every row θ[..., :] onto {‖θ_row‖₂ ≤ radius} (one ball per row; θ [H, d] or [d])."""
    norms = jnp.linalg.norm(theta, axis=-1, keepdims=True)
    return theta * jnp.minimum(1.0, radius / jnp.maximum(norms, 1e-300))


def best_achievable_log_mass(policy: LinearSoftmaxARPolicy, target, norm_bound, prompt: int = 0,
                             num_steps: int = 3000, learning_rate: float = 0.05):
    """max_{θ : ‖θ_h‖₂ ≤ B'} log π_θ(target | x) over the class of ``policy`` (its feature map), B' = norm_bound.

    Projected Adam ascent from θ = 0 (learning rate scaled by B'), keeping the best iterate. Each term
    log π_{θ_h}(y_h | x, y_{<h}) is concave in θ_h, so this approaches the global maximum. Returns
    ``(log_mass, theta)``.
    """
    norm_bound = check_in_interval(norm_bound, "norm_bound", 0.0, np.inf, False, False)
    num_steps = check_positive_int(num_steps, "num_steps")
    target = jnp.asarray(target)
    _check_tokens(target, policy.vocab_size, policy.horizon, "target")
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
