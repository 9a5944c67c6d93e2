"""Autoregressive policies over V^H (Section 1, "autoregressive models"; Appendix E):

    π(y_{1:H} | x) = Π_{h=1}^{H} π_h(y_h | y_{1:h−1}, x).

``AutoregressivePolicy`` is the interface shared by three representations of the conditionals:

* ``TreePolicy`` (``policies/tree.py``): one conditional for every prefix (small |V|^H);
* ``MarkovPolicy`` (``policies/markov.py``): π_h(y_h | y_{h−1}, x), so H can be large (Viterbi finds the argmax);
* ``LinearSoftmaxARPolicy`` (``policies/linear_softmax.py``): a member of the linear softmax class Π_{φ,B,H}.

A representation supplies one method, ``next_token_log_probs(prompts, tokens, position)``; everything else
(sampling by ``lax.scan`` over positions, sequence log-probabilities, enumeration) is built on it here, with the
input checks the representations share. Positions are 0-based in code (the paper's h = position + 1).

Enumeration order (API contract): ``to_tabular()`` lists V^H lexicographically; the response index of
y_{1:H} is Σ_h y_h·|V|^(H−h), the sequence read as a base-|V| number with the first token most significant
(``sequences_to_indices`` / ``indices_to_sequences``). Enumerating more than ``max_sequences`` sequences
(default 2^22, settable per policy with ``with_max_sequences`` or per call) raises ``ValueError``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import unchecked_replace
from sharpsim.core.validation import (
    SIMPLEX_TOLERANCE,
    as_float_array,
    check_in_interval,
    check_positive_int,
    check_rows_on_simplex,
    is_concrete,
)
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.sampling import sample_categorical_rows

DEFAULT_MAX_SEQUENCES = 2**22
_INDEX_LIMIT = 2**62  # response indices are int64


# --- the enumeration order ---------------------------------------------------------------------------
def check_index_range(vocab_size: int, horizon: int) -> None:
    if vocab_size**horizon > _INDEX_LIMIT:
        raise ValueError(
            f"|V|^H = {vocab_size}^{horizon} does not fit an int64 response index (limit 2^62); "
            "work with token sequences instead of indices"
        )


def sequences_to_indices(sequences, vocab_size: int) -> jax.Array:
    """int [...]: the response index Σ_h y_h·|V|^(H−1−h) (0-based h) of token sequences [..., H]."""
    sequences = jnp.asarray(sequences)
    horizon = sequences.shape[-1]
    check_index_range(vocab_size, horizon)
    weights = jnp.asarray([vocab_size ** (horizon - 1 - h) for h in range(horizon)], dtype=jnp.int64)
    return jnp.sum(sequences.astype(jnp.int64) * weights, axis=-1)


def indices_to_sequences(indices, vocab_size: int, horizon: int) -> jax.Array:
    """int [..., H]: the token sequences whose response indices are ``indices`` (inverse of the above)."""
    check_index_range(vocab_size, horizon)
    indices = jnp.asarray(indices, dtype=jnp.int64)
    weights = jnp.asarray([vocab_size ** (horizon - 1 - h) for h in range(horizon)], dtype=jnp.int64)
    return (indices[..., None] // weights) % vocab_size


# --- the shared interface --------------------------------------------------------------------------
class AutoregressivePolicy:
    """Interface of every policy over V^H. Subclasses are frozen dataclasses registered as pytrees with
    fields ``prompt_probs`` [X] (μ), and static ``vocab_size``, ``horizon``, ``max_sequences``; they
    implement ``next_token_log_probs``.

    Attributes: ``prompt_probs``, ``num_prompts`` (|X|), ``vocab_size`` (|V|), ``horizon`` (H),
    ``num_responses`` (|V|^H, a Python int that may exceed int64).
    """

    prompt_probs: jax.Array
    vocab_size: int
    horizon: int
    max_sequences: int

    # --- what a representation provides -----------------------------------------------------------
    def next_token_log_probs(self, prompts: jax.Array, tokens: jax.Array, position) -> jax.Array:
        """float [..., V]: log π_h(· | tokens[..., :position], x) with h = position (0-based, may be traced).

        ``prompts`` broadcasts against ``tokens[..., 0]``; entries of ``tokens`` at ``position`` and beyond
        are ignored.
        """
        raise NotImplementedError

    def _log_joint(self) -> jax.Array:
        """float [X, |V|^H]: log π(y|x) for every sequence in lexicographic order, built level by level
        (each prefix's log-mass plus its children's conditional log-probabilities)."""
        num_prompts, vocab, horizon = self.num_prompts, self.vocab_size, self.horizon
        prompts = jnp.arange(num_prompts)[:, None]
        log_joint = jnp.zeros((num_prompts, 1))
        for position in range(horizon):
            prefixes = indices_to_sequences(jnp.arange(vocab**position), vocab, position)
            tokens = jnp.pad(prefixes, ((0, 0), (0, horizon - position)))
            step = self.next_token_log_probs(prompts, tokens[None], position)
            log_joint = (log_joint[..., None] + step).reshape(num_prompts, -1)
        return log_joint

    # --- sizes ------------------------------------------------------------------------------------
    @property
    def num_prompts(self) -> int:
        return self.prompt_probs.shape[0]

    @property
    def num_responses(self) -> int:
        return self.vocab_size**self.horizon

    def with_max_sequences(self, max_sequences: int):
        """A copy whose ``to_tabular()`` (and hence every referee quantity) may enumerate up to
        ``max_sequences`` sequences."""
        max_sequences = check_positive_int(max_sequences, "max_sequences")
        return unchecked_replace(self, max_sequences=max_sequences)

    # --- enumeration --------------------------------------------------------------------------------
    def to_tabular(self, max_sequences: int | None = None) -> TabularPolicy:
        """The ``TabularPolicy`` [X, |V|^H] of sequence probabilities in lexicographic order.

        Raises ``ValueError`` when |V|^H exceeds ``max_sequences`` (default: the policy's limit, 2^22
        unless changed), instead of exhausting memory.
        """
        limit = self.max_sequences if max_sequences is None else check_positive_int(max_sequences, "max_sequences")
        if self.num_responses > limit:
            raise ValueError(
                f"to_tabular would enumerate |V|^H = {self.vocab_size}^{self.horizon} = {self.num_responses} "
                f"sequences, above the limit max_sequences={limit}; raise it with "
                "policy.with_max_sequences(n) or to_tabular(max_sequences=n), or use sequence-level tools "
                "that do not enumerate (log_prob, Viterbi for Markov policies, Monte-Carlo mass estimates)"
            )
        return _enumerate(self)

    # --- the sampler interface used by the Oracle -------------------------------------------------
    def sample_prompts(self, key: jax.Array, num_prompts: int) -> jax.Array:
        """int [num_prompts]: x_i ∼ μ i.i.d."""
        return sample_categorical_rows(key, self.prompt_probs[None, :], jnp.zeros((), jnp.int64), num_prompts)

    def sample_responses(self, key: jax.Array, prompts: jax.Array, num_samples: int, temperature=1.0) -> jax.Array:
        """int [*prompts.shape, num_samples, H]: y ∼ π(·|x) token by token (``lax.scan`` over positions).

        With ``temperature`` T ≠ 1 every conditional is tempered, π_h^(1/T) renormalized (token-level
        temperature sampling, as in LLM decoding; this is *not* π^(1/T) at the sequence level).
        """
        num_samples = check_positive_int(num_samples, "num_samples")
        prompts = jnp.asarray(prompts)
        if is_concrete(prompts):
            check_prompts(prompts, self.num_prompts)
        temperature = _check_temperature(temperature)
        return _sample_tokens(self, key, prompts, num_samples, temperature)

    def log_prob(self, prompts: jax.Array, responses: jax.Array) -> jax.Array:
        """float [...]: log π(y_{1:H}|x) = Σ_h log π_h(y_h | y_{<h}, x) for token sequences ``responses``
        [..., H]; ``prompts`` broadcasts against ``responses[..., 0]``."""
        prompts, responses = jnp.asarray(prompts), jnp.asarray(responses)
        if is_concrete(prompts, responses):
            check_prompts(prompts, self.num_prompts)
            check_tokens(responses, self.vocab_size, self.horizon, "responses")
            try:
                shape = jnp.broadcast_shapes(prompts.shape, responses.shape[:-1])
            except ValueError:
                raise ValueError(
                    f"prompts of shape {prompts.shape} do not broadcast against responses of shape "
                    f"{responses.shape} (prompts must broadcast against responses[..., 0])"
                ) from None
        else:
            shape = jnp.broadcast_shapes(prompts.shape, responses.shape[:-1])
        return _sequence_log_probs(self, jnp.broadcast_to(prompts, shape),
                                   jnp.broadcast_to(responses, shape + (self.horizon,)))

    # --- factorizing a joint ------------------------------------------------------------------------
    @staticmethod
    def from_joint(probs, vocab_size: int, prompt_probs=None, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        """The ``TreePolicy`` whose sequence law is ``probs`` [X, |V|^H] (see ``TreePolicy.from_joint``)."""
        from sharpsim.policies.tree import TreePolicy  # tree.py subclasses this module's base class

        return TreePolicy.from_joint(probs, vocab_size, prompt_probs, max_sequences)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_prompts={self.num_prompts}, vocab_size={self.vocab_size}, "
                f"horizon={self.horizon})")


@partial(jax.jit, static_argnums=3)
def _sample_tokens(policy: AutoregressivePolicy, key, prompts, num_samples: int, temperature) -> jax.Array:
    shape = prompts.shape + (num_samples,)
    rows = jnp.broadcast_to(prompts[..., None], shape)

    def step(tokens, inputs):
        position, step_key = inputs
        probs = jax.nn.softmax(policy.next_token_log_probs(rows, tokens, position) / temperature, axis=-1)
        cdf = jnp.cumsum(probs, axis=-1)
        uniforms = jax.random.uniform(step_key, shape, dtype=jnp.float64) * cdf[..., -1]
        # inverse CDF: the first token whose cumulative mass exceeds u (never a zero-probability token)
        token = jnp.minimum(jnp.sum(cdf <= uniforms[..., None], axis=-1), policy.vocab_size - 1)
        return tokens.at[..., position].set(token), None

    initial = jnp.zeros(shape + (policy.horizon,), dtype=jnp.int64)
    keys = jax.random.split(key, policy.horizon)
    tokens, _ = jax.lax.scan(step, initial, (jnp.arange(policy.horizon), keys))
    return tokens


@jax.jit
def _sequence_log_probs(policy: AutoregressivePolicy, rows, tokens) -> jax.Array:
    def step(total, position):
        log_probs = policy.next_token_log_probs(rows, tokens, position)
        chosen = jnp.take_along_axis(log_probs, tokens[..., position][..., None], axis=-1)[..., 0]
        return total + chosen, None

    total, _ = jax.lax.scan(step, jnp.zeros(rows.shape), jnp.arange(policy.horizon))
    return total


@jax.jit
def _enumerate(policy: AutoregressivePolicy) -> TabularPolicy:
    # one compiled program per policy structure (the level loop unrolls; H is static)
    probs = jnp.exp(policy._log_joint())
    # conditionals are normalized to 1e-9; renormalizing removes the accumulated rounding
    probs = probs / jnp.sum(probs, axis=-1, keepdims=True)
    return TabularPolicy.tree_unflatten(None, (probs, policy.prompt_probs))


# --- validation shared by the representations --------------------------------------------------------
def _check_temperature(temperature) -> float:
    return check_in_interval(temperature, "temperature", 0.0, np.inf, closed_low=False, closed_high=False)


def check_prompts(prompts, num_prompts: int) -> None:
    array = np.asarray(prompts)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"prompts must be integer prompt indices, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= num_prompts):
        raise ValueError(f"prompts must lie in [0, {num_prompts}); got values in [{array.min()}, {array.max()}]")


def check_tokens(tokens, vocab_size: int, horizon: int, name: str) -> None:
    array = np.asarray(tokens)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be integer token sequences, got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[-1] != horizon:
        raise ValueError(
            f"{name} must have a trailing axis of length H={horizon} (one token per position), got shape {array.shape}"
        )
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        raise ValueError(f"{name} tokens must lie in [0, {vocab_size}); got values in [{array.min()}, {array.max()}]")


def check_conditionals(array: np.ndarray, name: str, describe) -> None:
    """Every row ``array[..., :]`` must be a distribution over V; ``describe(index)`` names the
    conditional (prompt, position, prefix) in the error message."""
    bad = ~np.isfinite(array)
    if not bad.any():
        bad = array < 0
        problem = "must be non-negative"
    else:
        problem = "must be finite"
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: {describe(index[:-1])} {problem}; token {index[-1]} has {array[index]}")
    sums = array.sum(axis=-1)
    off = np.abs(sums - 1.0) > SIMPLEX_TOLERANCE
    if off.any():
        index = tuple(int(i) for i in np.argwhere(off)[0])
        raise ValueError(
            f"{name}: {describe(index)} must sum to 1 (within {SIMPLEX_TOLERANCE:g}); it sums to {float(sums[index])!r}"
        )


def check_prompt_probs(prompt_probs, num_prompts: int) -> np.ndarray:
    if prompt_probs is None:
        return np.full(num_prompts, 1.0 / num_prompts)
    prompt_probs = as_float_array(prompt_probs, "prompt_probs")
    if prompt_probs.shape != (num_prompts,):
        raise ValueError(
            f"prompt_probs has shape {prompt_probs.shape}; it must have shape ({num_prompts},), one entry per prompt"
        )
    check_rows_on_simplex(prompt_probs, "prompt_probs")
    return prompt_probs
