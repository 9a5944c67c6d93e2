"""A trained transformer as π_base: an ``AutoregressivePolicy`` over V^H whose conditionals are the network's
(Section 1's autoregressive model; Definition 3.2's π_base behind the sealed oracle).

``TransformerPolicy`` is a pytree whose leaves are the network's weights (float64) and μ; the task and the spaces
are static. It inherits from ``AutoregressivePolicy`` everything the oracle and the decoders use: batched sampling
with token-level temperature, greedy decoding and beam search (``sharpsim.greedy_decode``, ``beam_search``) and
enumeration (``to_tabular``) for small V^H, all under ``jit``/``vmap``. It overrides two things for speed, not
meaning: ``log_prob`` is one teacher-forced pass (all H conditionals from one forward) instead of H passes, and
enumeration runs one forward per length-(H−1) prefix, prompt block by prompt block.

The network computes in float64 here (weights trained in float32 are cast exactly), so log π(y|x) is float64 and
the conditionals are normalized in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import check_positive_int, is_concrete
from sharpsim.lm.model import Transformer, response_logits, with_dtype
from sharpsim.lm.task import ModularSumTask, _digits
from sharpsim.policies.autoregressive import (
    DEFAULT_MAX_SEQUENCES,
    AutoregressivePolicy,
    _indices_to_sequences,
    check_prompt_probs,
)

__all__ = ["TransformerPolicy"]

_ENUMERATION_BLOCK = 16  # prompts per block when enumerating V^H (bounds the forward pass's memory)


@validated_pytree(("network", "prompt_probs"), ("task", "vocab_size", "horizon", "max_sequences"))
@dataclass(frozen=True, eq=False, repr=False)
class TransformerPolicy(AutoregressivePolicy):
    """π(y|x) of a ``Transformer`` on a ``ModularSumTask``: prompts are the task's prompt indices in [0, p^k),
    responses token sequences in Z_p^H.

    Args:
      network: the trained ``Transformer`` (cast to float64).
      task: the ``ModularSumTask`` it was trained on (sets |V| = p, H = k − 1, |X| = p^k).
      prompt_probs: μ over the p^k prompts, uniform when omitted.
      max_sequences: enumeration limit of ``to_tabular`` (default 2^22).
    """

    network: Transformer
    prompt_probs: jax.Array
    task: ModularSumTask
    vocab_size: int
    horizon: int
    max_sequences: int = DEFAULT_MAX_SEQUENCES

    def __init__(self, network, task, prompt_probs=None, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        if not isinstance(task, ModularSumTask):
            raise TypeError(f"task must be a ModularSumTask, got {type(task).__name__}")
        if not isinstance(network, Transformer):
            raise TypeError(f"network must be a sharpsim.lm Transformer, got {type(network).__name__}")
        _check_network_fits(network, task)
        max_sequences = check_positive_int(max_sequences, "max_sequences")
        if prompt_probs is None or is_concrete(prompt_probs):
            prompt_probs = check_prompt_probs(prompt_probs, task.num_prompts)
        object.__setattr__(self, "network", with_dtype(network, jnp.float64))
        object.__setattr__(self, "prompt_probs", jnp.asarray(prompt_probs, dtype=jnp.float64))
        object.__setattr__(self, "task", task)
        object.__setattr__(self, "vocab_size", task.vocab_size)
        object.__setattr__(self, "horizon", task.horizon)
        object.__setattr__(self, "max_sequences", max_sequences)

    def _next_token_log_probs(self, prompts, tokens, position):
        log_probs = self._all_log_conditionals(prompts, tokens)
        return jax.lax.dynamic_index_in_dim(log_probs, position, axis=-2, keepdims=False)

    def _all_log_conditionals(self, prompts, tokens) -> jax.Array:
        """float [..., H, |V|]: log π_h(· | tokens_{<h}, x) at every position h, from one forward pass."""
        prompts, tokens = jnp.asarray(prompts), jnp.asarray(tokens)
        shape = jnp.broadcast_shapes(prompts.shape, tokens.shape[:-1])
        operands = _digits(jnp.broadcast_to(prompts, shape), self.task.modulus, self.task.num_operands)
        tokens = jnp.broadcast_to(tokens, shape + (self.horizon,)).astype(jnp.int64)
        logits = response_logits(self.network, operands, tokens, self.task.separator)
        return jax.nn.log_softmax(logits, axis=-1)

    def _log_prob_unchecked(self, prompts, responses) -> jax.Array:
        return _teacher_forced_log_prob(self, jnp.asarray(prompts), jnp.asarray(responses))

    def _log_joint(self) -> jax.Array:
        return self._log_joint_at(jnp.arange(self.num_prompts))

    def _log_joint_at(self, prompts) -> jax.Array:
        """float [n, |V|^H]: log π(y|x) of every response y (index order) at each of ``prompts``. Every sequence is
        y = (u, v) with u ∈ V^(H−1): one forward pass on u gives log π(u|x) and the last conditional."""
        vocab, horizon = self.vocab_size, self.horizon
        prefixes = _indices_to_sequences(jnp.arange(vocab ** (horizon - 1)), vocab, horizon - 1)
        padded = jnp.pad(prefixes, ((0, 0), (0, 1)))

        def one_prompt(prompt):
            log_probs = self._all_log_conditionals(prompt, padded)  # [|V|^(H−1), H, |V|]
            chosen = jnp.take_along_axis(log_probs[:, :-1], prefixes[..., None], axis=-1)[..., 0]
            return (jnp.sum(chosen, axis=-1)[:, None] + log_probs[:, -1]).reshape(-1)

        return jax.lax.map(one_prompt, prompts, batch_size=_ENUMERATION_BLOCK)

    def __repr__(self) -> str:
        task = self.task
        return (f"TransformerPolicy(modulus={task.modulus}, num_operands={task.num_operands}, "
                f"num_prompts={self.num_prompts}, vocab_size={self.vocab_size}, horizon={self.horizon})")


@jax.jit
def _teacher_forced_log_prob(policy: TransformerPolicy, prompts, responses) -> jax.Array:
    log_probs = policy._all_log_conditionals(prompts, responses)
    shape = log_probs.shape[:-2]
    tokens = jnp.broadcast_to(responses, shape + (policy.horizon,)).astype(jnp.int64)
    return jnp.sum(jnp.take_along_axis(log_probs, tokens[..., None], axis=-1)[..., 0], axis=-1)


def _check_network_fits(network: Transformer, task: ModularSumTask) -> None:
    """The network's vocabularies and context length must be the task's."""
    wanted = {"input vocabulary": (network.embedding.shape[0], task.input_vocab_size),
              "output vocabulary": (network.head.weight.shape[0], task.vocab_size)}
    for what, (has, needs) in wanted.items():
        if has != needs:
            raise ValueError(f"network has {what} {has}, but the task needs {needs} "
                             f"(modulus={task.modulus}, num_operands={task.num_operands})")
    length = task.num_operands + task.horizon
    if network.positions.shape[0] < length:
        raise ValueError(f"network has context length {network.positions.shape[0]}, but the task needs {length}")
