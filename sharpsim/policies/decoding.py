"""Decoding autoregressive policies: token-level heuristics and the exact sequence argmax
(Proposition 3.1; Proposition E.1).

* ``greedy_decode``: ŷ_h = argmax_v π_h(v | ŷ_{<h}, x). Proposition 3.1: if y*(x) is a singleton and
  π(y*(x)|x) > 1/2 then greedy returns y*(x) (each conditional along y* must exceed 1/2); below 1/2 it
  can fail (instance family ``greedy_threshold``).
* ``beam_search``: keeps the ``width`` most likely prefixes at every position; width |V|^H is exact.
* ``sample_with_temperature``: token-level tempering π_h^(1/T), the "low-temperature sampling" heuristic.
* ``sequence_argmax``: y*(x) = argmax_y π(y|x) by enumerating V^H (NP-hard in general, Proposition E.1).
* ``viterbi_decode``: the exact argmax of a ``MarkovPolicy`` by dynamic programming, O(H·|V|²) per prompt.

Ties are broken towards the smaller token (greedy, Viterbi) or the lexicographically first sequence
(``sequence_argmax``); ``in_argmax_set`` tests membership of the whole argmax set y*(x), ties included.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp

from sharpsim.core.validation import check_allocation, check_positive_int
from sharpsim.policies.autoregressive import (
    AutoregressivePolicy,
    check_prompts,
    check_tokens,
    indices_to_sequences,
    sequences_to_indices,
)
from sharpsim.policies.markov import MarkovPolicy
from sharpsim.referee.quantities import argmax_mask


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Decoded:
    """``sequences`` int [..., H] and their log-probabilities ``log_probs`` [...] under the policy."""

    sequences: jax.Array
    log_probs: jax.Array


def _check_policy(policy) -> None:
    if not isinstance(policy, AutoregressivePolicy):
        raise TypeError(f"policy must be an AutoregressivePolicy (tree, Markov or linear softmax), got {type(policy).__name__}")


def _prompts_or_all(policy, prompts) -> jax.Array:
    if prompts is None:
        return jnp.arange(policy.num_prompts)
    return check_prompts(prompts, policy.num_prompts)


def greedy_decode(policy: AutoregressivePolicy, prompts=None) -> jax.Array:
    """int [X, H] (or [*prompts.shape, H]): token-wise greedy decoding ŷ_h = argmax_v π_h(v | ŷ_{<h}, x)."""
    _check_policy(policy)
    return _greedy(policy, _prompts_or_all(policy, prompts))


@jax.jit
def _greedy(policy, prompts):
    def step(tokens, position):
        token = jnp.argmax(policy._next_token_log_probs(prompts, tokens, position), axis=-1)
        return tokens.at[..., position].set(token), None

    initial = jnp.zeros(prompts.shape + (policy.horizon,), dtype=jnp.int64)
    tokens, _ = jax.lax.scan(step, initial, jnp.arange(policy.horizon))
    return tokens


def beam_search(policy: AutoregressivePolicy, width: int, prompts=None) -> Decoded:
    """Beam search of width k: at each position extend the k best prefixes by every token and keep the k
    with the largest log-probability; return the best complete sequence per prompt.

    Width 1 is greedy decoding. Width ≥ |V|^(H−1) (in particular |V|^H) keeps every prefix, so it returns the
    exact sequence argmax (up to ties). Placeholder beams carry −inf and never beat a live one.
    """
    _check_policy(policy)
    width = check_positive_int(width, "width")
    prompts = _prompts_or_all(policy, prompts)
    # the beams' tokens [k, H] and their k·|V| candidate scores (and top-k's indices), per prompt
    check_allocation((*prompts.shape, width, policy.horizon + 2 * policy.vocab_size), "width")
    return _beam(policy, width, prompts)


@partial(jax.jit, static_argnums=1)
def _beam(policy, width, prompts):
    vocab, horizon = policy.vocab_size, policy.horizon
    rows = jnp.broadcast_to(prompts[..., None], prompts.shape + (width,))

    def step(carry, position):
        tokens, scores = carry  # [..., k, H], [..., k]
        candidates = scores[..., None] + policy._next_token_log_probs(rows, tokens, position)  # [..., k, V]
        flat = candidates.reshape(prompts.shape + (width * vocab,))
        best_scores, best = jax.lax.top_k(flat, width)
        parent, token = best // vocab, best % vocab
        tokens = jnp.take_along_axis(tokens, parent[..., None], axis=-2).at[..., position].set(token)
        return (tokens, best_scores), None

    # one live beam to start; the other k − 1 are placeholders at −inf so no prefix is kept twice
    scores = jnp.full(prompts.shape + (width,), -jnp.inf).at[..., 0].set(0.0)
    tokens = jnp.zeros(prompts.shape + (width, horizon), dtype=jnp.int64)
    (tokens, scores), _ = jax.lax.scan(step, (tokens, scores), jnp.arange(horizon))
    return Decoded(tokens[..., 0, :], scores[..., 0])


def sample_with_temperature(key: jax.Array, policy: AutoregressivePolicy, prompts, num_samples: int,
                            temperature: float) -> jax.Array:
    """int [*prompts.shape, num_samples, H]: token-level temperature sampling, y_h ∼ π_h(·|y_{<h}, x)^(1/T)
    renormalized. T → 0 approaches greedy decoding; T = 1 is ordinary sampling."""
    _check_policy(policy)
    return policy.sample_responses(key, check_prompts(prompts, policy.num_prompts), num_samples,
                                   temperature=temperature)


def sequence_argmax(policy: AutoregressivePolicy, max_sequences: int | None = None) -> Decoded:
    """The exact sequence argmax y*(x) = argmax_{y ∈ V^H} π(y|x) for every prompt, by enumeration
    (lexicographically first on ties). Cost |V|^H per prompt; raises ``ValueError`` above the limit."""
    _check_policy(policy)
    table = policy.to_tabular(max_sequences)
    best = jnp.argmax(table.probs, axis=-1)
    return Decoded(indices_to_sequences(best, policy.vocab_size, policy.horizon),
                   jnp.log(jnp.take_along_axis(table.probs, best[:, None], axis=-1)[:, 0]))


def in_argmax_set(policy: AutoregressivePolicy, sequences, gamma=0.0, max_sequences: int | None = None) -> jax.Array:
    """bool [X]: whether sequences[x] ∈ y*_γ(x), the (γ-)argmax set of the enumerated policy, ties included
    (the referee's ``argmax_mask`` on ``policy.to_tabular()``)."""
    _check_policy(policy)
    sequences = check_tokens(sequences, policy.vocab_size, policy.horizon, "sequences")
    if sequences.shape != (policy.num_prompts, policy.horizon):
        raise ValueError(
            f"sequences must have shape [X, H] = ({policy.num_prompts}, {policy.horizon}), got {sequences.shape}"
        )
    mask = argmax_mask(policy.to_tabular(max_sequences), gamma)
    index = sequences_to_indices(sequences, policy.vocab_size)
    return jnp.take_along_axis(mask, index[:, None], axis=-1)[:, 0]


def viterbi_decode(policy: MarkovPolicy) -> Decoded:
    """The exact sequence argmax of a first-order Markov policy by dynamic programming (Viterbi):

        V_1(v) = log π_1(v|x),  V_h(b) = max_a V_{h−1}(a) + log π_h(b|a, x),  max_y log π(y|x) = max_b V_H(b),

    then backtracking. O(X·H·|V|²) work, so H may be far beyond enumeration. Ties go to the smaller token.
    """
    if not isinstance(policy, MarkovPolicy):
        raise TypeError(f"viterbi_decode needs a MarkovPolicy as policy, got {type(policy).__name__}; "
                        "use sequence_argmax to enumerate other policies")
    return _viterbi(policy)


@jax.jit
def _viterbi(policy: MarkovPolicy) -> Decoded:
    log_initial = jnp.log(policy.initial)  # [X, V]
    log_transitions = jnp.moveaxis(jnp.log(policy.transitions), 1, 0)  # [H−1, X, V, V]

    def forward(values, log_step):
        scores = values[..., :, None] + log_step  # [X, a, b]
        return jnp.max(scores, axis=-2), jnp.argmax(scores, axis=-2)

    values, backpointers = jax.lax.scan(forward, log_initial, log_transitions)  # backpointers [H−1, X, V]
    last = jnp.argmax(values, axis=-1)

    def backward(token, pointers):
        previous = jnp.take_along_axis(pointers, token[:, None], axis=-1)[:, 0]
        return previous, token

    first, later = jax.lax.scan(backward, last, backpointers, reverse=True)  # later [H−1, X]: tokens 2..H
    sequences = jnp.concatenate([first[:, None], later.T], axis=1)
    return Decoded(sequences, jnp.max(values, axis=-1))
