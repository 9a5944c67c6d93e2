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
    check_allocation,
    check_in_interval,
    check_index_array,
    check_positive_int,
    check_real_array,
    check_rows_on_simplex,
    is_concrete,
)
from sharpsim.core.policy import BYTES_PER_DRAW, TabularPolicy
from sharpsim.core.sampling import sample_categorical_rows

DEFAULT_MAX_SEQUENCES = 2**22
_INDEX_LIMIT = 2**62  # response indices are int64


# --- the enumeration order ---------------------------------------------------------------------------
def check_index_range(vocab_size: int, horizon: int) -> None:
    """|V|^H must fit an int64 response index; refused without computing |V|^H when H alone rules it out (with
    |V| ≥ 2, H > 62 never fits, and |V|**H for a huge H would not finish)."""
    if vocab_size >= 2 and (horizon > 62 or vocab_size**horizon > _INDEX_LIMIT):
        raise ValueError(
            f"|V|^H = vocab_size**horizon = {vocab_size}^{horizon} does not fit an int64 response index "
            "(limit 2^62); work with token sequences instead of indices"
        )


def sequences_to_indices(sequences, vocab_size: int) -> jax.Array:
    """int [...]: the response index Σ_h y_h·|V|^(H−1−h) (0-based h) of token sequences [..., H] (H ≥ 1, tokens
    in [0, |V|), |V| ≥ 2 as for every policy over V^H)."""
    vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
    sequences = check_index_array(sequences, "sequences", vocab_size, "token")
    if sequences.ndim == 0 or sequences.shape[-1] == 0:
        raise ValueError(f"sequences must be token sequences [..., H] with H >= 1, got shape {sequences.shape}")
    horizon = sequences.shape[-1]
    check_index_range(vocab_size, horizon)
    weights = jnp.asarray([vocab_size ** (horizon - 1 - h) for h in range(horizon)], dtype=jnp.int64)
    return jnp.sum(sequences.astype(jnp.int64) * weights, axis=-1)


def indices_to_sequences(indices, vocab_size: int, horizon: int) -> jax.Array:
    """int [..., H]: the token sequences whose response indices (in [0, |V|^H)) are ``indices`` (inverse of the
    above)."""
    vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
    horizon = check_positive_int(horizon, "horizon")
    check_index_range(vocab_size, horizon)
    indices = check_index_array(indices, "indices", vocab_size**horizon)
    return _indices_to_sequences(indices, vocab_size, horizon)


def _indices_to_sequences(indices, vocab_size: int, horizon: int) -> jax.Array:
    """``indices_to_sequences`` without checks (H = 0 allowed: the empty prefix), for internal enumeration."""
    weights = jnp.asarray([vocab_size ** (horizon - 1 - h) for h in range(horizon)], dtype=jnp.int64)
    return (jnp.asarray(indices, dtype=jnp.int64)[..., None] // weights) % vocab_size


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
        """float [..., V]: log π_h(· | tokens[..., :position], x) with h = position (0-based in [0, H), may be
        traced).

        ``prompts`` (integer indices in [0, X)) broadcasts against ``tokens[..., 0]``; ``tokens`` [..., H] holds
        integer tokens in [0, |V|) (entries at ``position`` and beyond are ignored, but must be valid tokens).
        Bad input raises ``TypeError``/``ValueError`` naming the argument (traced: in checked mode).
        """
        prompts, tokens, position = check_step_inputs(self, prompts, tokens, position)
        return self._next_token_log_probs(prompts, tokens, position)

    def _next_token_log_probs(self, prompts, tokens, position) -> jax.Array:
        """``next_token_log_probs`` without input checks: what a representation implements (the samplers,
        scorers and decoders call it inside their compiled loops)."""
        raise NotImplementedError

    def _log_joint(self) -> jax.Array:
        """float [X, |V|^H]: log π(y|x) for every sequence in lexicographic order, built level by level
        (each prefix's log-mass plus its children's conditional log-probabilities)."""
        num_prompts, vocab, horizon = self.num_prompts, self.vocab_size, self.horizon
        prompts = jnp.arange(num_prompts)[:, None]
        log_joint = jnp.zeros((num_prompts, 1))
        for position in range(horizon):
            prefixes = _indices_to_sequences(jnp.arange(vocab**position), vocab, position)
            tokens = jnp.pad(prefixes, ((0, 0), (0, horizon - position)))
            step = self._next_token_log_probs(prompts, tokens[None], position)
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
        num_prompts = check_positive_int(num_prompts, "num_prompts")
        check_allocation((num_prompts,), "num_prompts", itemsize=BYTES_PER_DRAW)
        return sample_categorical_rows(key, self.prompt_probs[None, :], jnp.zeros((), jnp.int64), num_prompts)

    def sample_responses(self, key: jax.Array, prompts: jax.Array, num_samples: int, temperature=1.0) -> jax.Array:
        """int [*prompts.shape, num_samples, H]: y ∼ π(·|x) token by token (``lax.scan`` over positions).

        With ``temperature`` T ≠ 1 every conditional is tempered, π_h^(1/T) renormalized (token-level
        temperature sampling, as in LLM decoding; this is *not* π^(1/T) at the sequence level).
        """
        num_samples = check_positive_int(num_samples, "num_samples")
        prompts = check_prompts(prompts, self.num_prompts)
        # working arrays per draw: the tokens [H], and the tempered conditional and its CDF [|V|] at each step
        check_allocation((*prompts.shape, num_samples, self.horizon + 2 * self.vocab_size + 1), "num_samples")
        temperature = _check_temperature(temperature)
        return _sample_tokens(self, key, prompts, num_samples, temperature)

    def log_prob(self, prompts: jax.Array, responses: jax.Array) -> jax.Array:
        """float [...]: log π(y_{1:H}|x) = Σ_h log π_h(y_h | y_{<h}, x) for token sequences ``responses``
        [..., H]; ``prompts`` broadcasts against ``responses[..., 0]``."""
        prompts = check_prompts(prompts, self.num_prompts)
        responses = check_tokens(responses, self.vocab_size, self.horizon, "responses")
        _broadcast_prompts(prompts, responses, "responses")
        return self._log_prob_unchecked(prompts, responses)

    def _log_prob_unchecked(self, prompts, responses) -> jax.Array:
        """``log_prob`` without input checks, for the oracle scoring the responses it has just drawn."""
        prompts, responses = jnp.asarray(prompts), jnp.asarray(responses)
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
        probs = jax.nn.softmax(policy._next_token_log_probs(rows, tokens, position) / temperature, axis=-1)
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
        log_probs = policy._next_token_log_probs(rows, tokens, position)
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


def check_prompts(prompts, num_prompts: int) -> jax.Array:
    """Prompt indices in [0, X) as an int array; ``TypeError``/``ValueError`` naming ``prompts`` otherwise (a traced
    array: dtype always, values in checked mode)."""
    try:
        return check_index_array(prompts, "prompts", num_prompts, "prompt")
    except ValueError as error:  # concrete and out of range: also give the range of values seen
        array = np.asarray(prompts)
        first = str(error).split("; ", 1)[1]
        raise ValueError(f"prompts must lie in [0, {num_prompts}); got values in [{array.min()}, {array.max()}]; "
                         f"{first}") from None


def check_tokens(tokens, vocab_size: int, horizon: int, name: str) -> jax.Array:
    """Token sequences [..., H] with tokens in [0, |V|) as an int array; errors name ``name``."""
    if is_concrete(tokens):
        if tokens is None or isinstance(tokens, (str, bytes, dict, set)):
            raise TypeError(f"{name} must be integer token sequences [..., H={horizon}], got {type(tokens).__name__}")
        if not isinstance(tokens, (np.ndarray, jax.Array)):
            try:
                tokens = np.asarray(tokens)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be integer token sequences [..., H={horizon}], got a ragged "
                                f"{type(tokens).__name__}") from None
    dtype = tokens.dtype
    if dtype == np.bool_ or not np.issubdtype(dtype, np.integer):
        raise TypeError(f"{name} must be integer token sequences [..., H={horizon}], got dtype {dtype}")
    if jnp.ndim(tokens) == 0 or jnp.shape(tokens)[-1] != horizon:
        raise ValueError(
            f"{name} must have a trailing axis of length H={horizon} (one token per position), got shape "
            f"{jnp.shape(tokens)}"
        )
    return check_index_array(tokens, name, vocab_size, "token")


def check_position(position, horizon: int):
    """A 0-based position in [0, H): a Python/numpy integer, or a traced integer scalar (checked mode)."""
    if is_concrete(position):
        if isinstance(position, (bool, np.bool_)) or not isinstance(position, (int, np.integer)) and not (
            isinstance(position, (np.ndarray, jax.Array)) and np.ndim(position) == 0
            and np.issubdtype(np.asarray(position).dtype, np.integer)
        ):
            raise TypeError(f"position must be an integer in [0, {horizon}) (0-based), got {position!r:.40} "
                            f"({type(position).__name__})")
        position = int(position)
        if not 0 <= position < horizon:
            raise ValueError(f"position must be an integer in [0, {horizon}) (0-based), got {position}")
        return position
    if jnp.ndim(position) != 0:
        raise ValueError(f"position must be a scalar, got a traced array of shape {jnp.shape(position)}")
    return check_index_array(position, "position", horizon, "position")


def check_step_inputs(policy, prompts, tokens, position):
    """The arguments of ``next_token_log_probs`` (and ``features``) checked; errors name the argument."""
    position = check_position(position, policy.horizon)
    prompts = check_prompts(prompts, policy.num_prompts)
    tokens = check_tokens(tokens, policy.vocab_size, policy.horizon, "tokens")
    _broadcast_prompts(prompts, tokens, "tokens")
    return prompts, tokens, position


def _broadcast_prompts(prompts, tokens, name: str) -> tuple:
    """The broadcast shape of ``prompts`` and ``tokens[..., 0]``, or ``ValueError`` naming both."""
    try:
        return jnp.broadcast_shapes(prompts.shape, tokens.shape[:-1])
    except ValueError:
        raise ValueError(
            f"prompts of shape {prompts.shape} do not broadcast against {name} of shape {tokens.shape} "
            f"(prompts must broadcast against {name}[..., 0])"
        ) from None


def check_logits(value, name: str) -> np.ndarray:
    """Logits of conditionals (softmax along the last axis): real numbers, not NaN or +inf (``-inf`` gives zero
    probability), at least one token, no row of all ``-inf``; errors name ``name``. Returns a float64 array."""
    array = np.asarray(check_real_array(value, name, finite=False))
    if array.ndim == 0 or array.shape[-1] == 0:
        raise ValueError(f"{name} must have a last axis of |V| >= 1 token logits, got shape {array.shape}")
    dead = np.isneginf(array).all(axis=-1)
    if dead.any():
        index = tuple(int(i) for i in np.argwhere(dead)[0])
        raise ValueError(f"{name} row {index} is all -inf, so it has no probability mass")
    return array


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
