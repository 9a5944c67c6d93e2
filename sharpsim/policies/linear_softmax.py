"""Members of the multi-layer linear softmax class Π_{φ,B,H} (Appendix E) as autoregressive policies:

    π_θ(y_{1:H}|x) = Π_h π_{θ_h}(y_h | x, y_{1:h−1}),   π_{θ_h}(y_h | x, y_{1:h−1}) ∝ exp⟨φ_h(x, y_{1:h}), θ_h⟩,

with ‖θ_h‖₂ ≤ B. The user supplies the feature map φ as a JAX-traceable function

    feature_map(prompt, tokens, position) -> float [d]

where ``tokens`` [H] holds y_{1:h} in ``tokens[:position + 1]`` (the candidate next token is
``tokens[position]``) and entries after ``position`` are arbitrary: φ_h must ignore them. ``position``
is 0-based and may be traced. The feature map is static pytree data (hashable, e.g. a module-level function).

Fitting members by maximum likelihood, and the best member for a target (Proposition E.2), live with the class
in ``classes/autoregressive_linear.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import unchecked_replace, validated_pytree
from sharpsim.core.validation import (
    as_float_array, check_in_interval, check_positive_int, check_real_array, is_concrete,
)
from sharpsim.policies.autoregressive import (
    DEFAULT_MAX_SEQUENCES, AutoregressivePolicy, check_prompt_probs, check_step_inputs,
)


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
        """The member of the same class with parameters ``theta`` [H, d] (usable under ``grad``/``jit``: a traced
        theta has its shape checked, its values in checked mode only). The norm bound is not re-checked."""
        theta = check_real_array(theta, "theta")
        if jnp.shape(theta) != jnp.shape(self.theta):
            raise ValueError(f"theta must have shape [H, d] = {tuple(jnp.shape(self.theta))} like this policy's, "
                             f"got {tuple(jnp.shape(theta))}")
        return unchecked_replace(self, theta=theta)

    def features(self, prompts, tokens, position) -> jax.Array:
        """float [..., |V|, d]: φ_h(x, (y_{<h}, v)) for every candidate token v (arguments as in
        ``next_token_log_probs``, checked the same way)."""
        prompts, tokens, position = check_step_inputs(self, prompts, tokens, position)
        return self._features(prompts, tokens, position)

    def _features(self, prompts, tokens, position) -> jax.Array:
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

    def _next_token_log_probs(self, prompts, tokens, position):
        logits = self._features(prompts, tokens, position) @ self.theta[position]
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
