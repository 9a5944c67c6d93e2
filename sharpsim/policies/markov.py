"""First-order Markov autoregressive policies: π_h(y_h | y_{<h}, x) = π_h(y_h | y_{h−1}, x).

The conditionals depend on the prompt, the position and the previous token only, so a policy over V^H
costs O(X·H·|V|²) numbers and H can be large: sampling and log-probabilities are ``lax.scan``s over
positions, and the exact sequence argmax is found by dynamic programming (``decoding.viterbi_decode``)
instead of enumerating |V|^H sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import as_float_array, check_positive_int, check_rows_on_simplex, is_concrete
from sharpsim.policies.autoregressive import (
    DEFAULT_MAX_SEQUENCES,
    AutoregressivePolicy,
    check_conditionals,
    check_logits,
    check_prompt_probs,
)


@validated_pytree(("initial", "transitions", "prompt_probs"), ("horizon", "max_sequences", "vocab_size"))
@dataclass(frozen=True, eq=False, repr=False)
class MarkovPolicy(AutoregressivePolicy):
    """π(y_{1:H}|x) = π_1(y_1|x) · Π_{h=2}^{H} π_h(y_h | y_{h−1}, x).

    Args:
      initial: [X, |V|], row x is π_1(·|x).
      transitions: [X, H − 1, |V|, |V|]; ``transitions[x, h − 1, a]`` is π_{h+1}(· | y_h = a, x) for 0-based
        position h ≥ 1 (an empty second axis gives H = 1).
      prompt_probs: [X] μ, uniform when omitted.
      max_sequences: enumeration limit of ``to_tabular`` (default 2^22).

    Invalid conditionals raise ``ValueError`` naming the prompt, position and previous token.
    """

    initial: jax.Array
    transitions: jax.Array
    prompt_probs: jax.Array
    vocab_size: int
    horizon: int
    max_sequences: int = DEFAULT_MAX_SEQUENCES

    def __init__(self, initial, transitions, prompt_probs=None, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        max_sequences = check_positive_int(max_sequences, "max_sequences")
        if is_concrete(initial, transitions, prompt_probs):
            initial, transitions, prompt_probs = _validated(initial, transitions, prompt_probs)
        else:
            if prompt_probs is None:
                prompt_probs = jnp.full(jnp.shape(initial)[0], 1.0 / jnp.shape(initial)[0])
            for name, array in (("initial", initial), ("transitions", transitions), ("prompt_probs", prompt_probs)):
                check_rows_on_simplex(array, name, "conditional")  # checked mode (sharpsim.checked): the same checks, traced
        object.__setattr__(self, "initial", jnp.asarray(initial, dtype=jnp.float64))
        object.__setattr__(self, "transitions", jnp.asarray(transitions, dtype=jnp.float64))
        object.__setattr__(self, "prompt_probs", jnp.asarray(prompt_probs, dtype=jnp.float64))
        object.__setattr__(self, "vocab_size", int(jnp.shape(initial)[-1]))
        object.__setattr__(self, "horizon", int(jnp.shape(transitions)[1]) + 1)
        object.__setattr__(self, "max_sequences", max_sequences)

    @classmethod
    def from_logits(cls, initial_logits, transition_logits, prompt_probs=None,
                    max_sequences: int = DEFAULT_MAX_SEQUENCES) -> "MarkovPolicy":
        """Conditionals softmax(logits) along the last axis (``-inf`` gives zero probability; NaN, +inf or a row
        of all ``-inf`` is an error naming the argument)."""
        if is_concrete(initial_logits, transition_logits):
            initial_logits = check_logits(initial_logits, "initial_logits")
            transition_logits = check_logits(transition_logits, "transition_logits")
            _check_shapes(initial_logits, transition_logits, "initial_logits", "transition_logits")
        return cls(jax.nn.softmax(jnp.asarray(initial_logits, jnp.float64), axis=-1),
                   jax.nn.softmax(jnp.asarray(transition_logits, jnp.float64), axis=-1), prompt_probs, max_sequences)

    def _next_token_log_probs(self, prompts, tokens, position):
        prompts, tokens = jnp.asarray(prompts), jnp.asarray(tokens)
        step = jnp.clip(position - 1, 0, max(self.horizon - 2, 0))
        previous = tokens[..., jnp.maximum(position - 1, 0)]
        first = jnp.log(self.initial[prompts])
        if self.horizon == 1:
            return jnp.broadcast_to(first, jnp.broadcast_shapes(prompts.shape, previous.shape) + (self.vocab_size,))
        later = jnp.log(self.transitions[prompts, step, previous])
        return jnp.where(position == 0, first, later)

    def _log_joint(self):
        # the last token of prefix index p is p mod |V|: one gather per level instead of decoding prefixes
        log_joint = jnp.log(self.initial)
        log_transitions = jnp.log(self.transitions)
        for position in range(1, self.horizon):
            last = jnp.arange(log_joint.shape[1]) % self.vocab_size
            step = log_transitions[:, position - 1][:, last]  # [X, |V|^h, |V|]
            log_joint = (log_joint[..., None] + step).reshape(self.num_prompts, -1)
        return log_joint


def _validated(initial, transitions, prompt_probs):
    initial = as_float_array(initial, "initial")
    transitions = as_float_array(transitions, "transitions")
    num_prompts, vocab = _check_shapes(initial, transitions, "initial", "transitions")
    check_conditionals(initial, "initial", lambda index: f"the conditional at prompt {index[0]}, position 0")
    check_conditionals(
        transitions, "transitions",
        lambda index: f"the conditional at prompt {index[0]}, position {index[1] + 1}, previous token {index[2]}",
    )
    return initial, transitions, check_prompt_probs(prompt_probs, num_prompts)


def _check_shapes(initial, transitions, initial_name: str, transitions_name: str) -> tuple[int, int]:
    """``initial`` [X, |V|] (X >= 1, |V| >= 2) and ``transitions`` [X, H − 1, |V|, |V|]; returns (X, |V|)."""
    if initial.ndim != 2 or initial.shape[0] == 0 or initial.shape[1] < 2:
        raise ValueError(f"{initial_name} must have shape [X, |V|] with X >= 1 and |V| >= 2, got {initial.shape}")
    num_prompts, vocab = initial.shape
    if transitions.ndim != 4 or transitions.shape[0] != num_prompts or transitions.shape[2:] != (vocab, vocab):
        raise ValueError(
            f"{transitions_name} must have shape [X, H − 1, |V|, |V|] = [{num_prompts}, H − 1, {vocab}, {vocab}] "
            f"to match {initial_name} {initial.shape}, got {transitions.shape}"
        )
    return num_prompts, vocab
