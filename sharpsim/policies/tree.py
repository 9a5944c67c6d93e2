"""Tree policies: an autoregressive policy over V^H with one conditional for every prefix (Appendix E).

The most general representation of π(y_{1:H}|x) = Π_h π_h(y_h | y_{<h}, x): a |V|-ary tree of depth H whose
nodes hold the conditionals, so it can represent any law over V^H (``TreePolicy.from_joint`` factorizes one)
but needs (|V|^H − 1)/(|V| − 1) rows per prompt, i.e. small |V|^H.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.policy import TabularPolicy
from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import as_float_array, check_positive_int, check_rows_on_simplex, is_concrete
from sharpsim.policies.autoregressive import (
    DEFAULT_MAX_SEQUENCES,
    AutoregressivePolicy,
    check_index_range,
    check_conditionals,
    check_prompt_probs,
    _indices_to_sequences,
    check_logits,
)


@validated_pytree(("conditionals", "prompt_probs"), ("horizon", "max_sequences", "vocab_size"))
@dataclass(frozen=True, eq=False, repr=False)
class TreePolicy(AutoregressivePolicy):
    """Autoregressive policy with a conditional for every prefix (a |V|-ary tree of depth H).

    Args:
      levels: sequence of H arrays; ``levels[h]`` has shape [X, |V|^h, |V|] and row ``levels[h][x, p]`` is
        π_{h+1}(· | prefix p, x), the prefix read as a base-|V| index (``sequences_to_indices``).
      prompt_probs: [X] μ, uniform when omitted.
      max_sequences: enumeration limit of ``to_tabular`` (default 2^22).

    Stored flat: ``conditionals`` [X, (|V|^H − 1)/(|V| − 1), |V|], level by level, so the prefix
    y_{<h} sits at node Σ_{i<h} (y_i + 1)·|V|^(h−1−i) (heap order) and a traced position needs one gather.
    Invalid conditionals raise ``ValueError`` naming the prompt, position and prefix.
    """

    conditionals: jax.Array
    prompt_probs: jax.Array
    vocab_size: int
    horizon: int
    max_sequences: int = DEFAULT_MAX_SEQUENCES

    def __init__(self, levels, prompt_probs=None, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        max_sequences = check_positive_int(max_sequences, "max_sequences")
        levels = _level_list(levels, "levels")
        if is_concrete(levels, prompt_probs):
            levels, prompt_probs = _validated_levels(levels, prompt_probs)
        else:
            if prompt_probs is None:
                prompt_probs = jnp.full(jnp.shape(levels[0])[0], 1.0 / jnp.shape(levels[0])[0])
            for h, level in enumerate(levels):  # checked mode (sharpsim.checked): the same checks, traced
                check_rows_on_simplex(level, f"levels[{h}]", "conditional")
            check_rows_on_simplex(prompt_probs, "prompt_probs")
        flat = jnp.concatenate([jnp.asarray(level, dtype=jnp.float64) for level in levels], axis=1)
        object.__setattr__(self, "conditionals", flat)
        object.__setattr__(self, "prompt_probs", jnp.asarray(prompt_probs, dtype=jnp.float64))
        object.__setattr__(self, "vocab_size", int(jnp.shape(levels[0])[-1]))
        object.__setattr__(self, "horizon", len(levels))
        object.__setattr__(self, "max_sequences", max_sequences)

    @classmethod
    def from_logits(cls, level_logits, prompt_probs=None, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        """Conditionals softmax(level_logits[h][x, p]) (``-inf`` gives zero probability)."""
        level_logits = _level_list(level_logits, "level_logits")
        if is_concrete(level_logits):
            level_logits = [check_logits(logits, f"level_logits[{h}]") for h, logits in enumerate(level_logits)]
            _check_level_shapes(level_logits, "level_logits")
        return cls([jax.nn.softmax(jnp.asarray(l, dtype=jnp.float64), axis=-1) for l in level_logits],
                   prompt_probs, max_sequences)

    @classmethod
    def from_joint(cls, probs, vocab_size: int, prompt_probs=None, max_sequences: int = DEFAULT_MAX_SEQUENCES):
        """The tree policy whose sequence law is ``probs`` [X, |V|^H] (lexicographic order):

            π_h(v | y_{<h}, x) = P(y_{<h} v | x) / P(y_{<h} | x),

        with P(prefix | x) the marginal of the joint; a prefix of zero mass gets uniform conditionals.
        Hence ``from_joint(p, V).to_tabular().probs == p`` (to rounding).
        """
        vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
        joint = TabularPolicy(probs, prompt_probs)
        array = np.asarray(joint.probs)
        num_prompts, num_sequences = array.shape
        horizon = _exact_log(num_sequences, vocab_size)
        if horizon is None:
            raise ValueError(
                f"probs has {num_sequences} responses per prompt, which is not |V|^H for vocab_size={vocab_size} "
                "and an integer horizon H >= 1"
            )
        levels = []
        for position in range(horizon):
            children = array.reshape(num_prompts, vocab_size ** (position + 1), -1).sum(axis=-1)
            children = children.reshape(num_prompts, vocab_size**position, vocab_size)
            parent = children.sum(axis=-1, keepdims=True)
            safe = np.where(parent > 0, parent, 1.0)
            levels.append(np.where(parent > 0, children / safe, 1.0 / vocab_size))
        return cls(levels, joint.prompt_probs, max_sequences=max_sequences)

    @property
    def levels(self) -> list[jax.Array]:
        """[levels[h]] of shape [X, |V|^h, |V|]: the conditionals of position h, prefixes in order."""
        offsets = np.cumsum([0] + [self.vocab_size**h for h in range(self.horizon)])
        return [self.conditionals[:, offsets[h] : offsets[h + 1]] for h in range(self.horizon)]

    def _next_token_log_probs(self, prompts, tokens, position):
        h = jnp.arange(self.horizon)
        exponents = jnp.clip(position - 1 - h, 0, None)
        weights = jnp.where(h < position, jnp.power(self.vocab_size, exponents), 0).astype(jnp.int64)
        node = jnp.sum((jnp.asarray(tokens, jnp.int64) + 1) * weights, axis=-1)
        return jnp.log(self.conditionals[jnp.asarray(prompts), node])

    def _log_joint(self):
        log_joint = jnp.zeros((self.num_prompts, 1))
        for level in self.levels:
            log_joint = (log_joint[..., None] + jnp.log(level)).reshape(self.num_prompts, -1)
        return log_joint


def _validated_levels(levels, prompt_probs):
    arrays = [as_float_array(level, f"levels[{h}]") for h, level in enumerate(levels)]
    num_prompts, vocab = _check_level_shapes(arrays, "levels")
    for h, array in enumerate(arrays):

        def describe(index, h=h):
            prefix = tuple(int(t) for t in np.asarray(_indices_to_sequences(index[1], vocab, h)))
            return f"the conditional at prompt {index[0]}, position {h}, prefix {prefix}"

        check_conditionals(array, f"levels[{h}]", describe)
    return arrays, check_prompt_probs(prompt_probs, num_prompts)


def _level_list(levels, name: str) -> list:
    """``levels`` (or ``level_logits``) as a non-empty list of H per-position arrays; errors name ``name``."""
    if isinstance(levels, (jax.Array, np.ndarray)):
        raise TypeError(f"{name} must be a list of H arrays ({name}[h] of shape [X, |V|^h, |V|]), not one array")
    if levels is None or isinstance(levels, (str, bytes, dict, set)) or not hasattr(levels, "__iter__"):
        raise TypeError(f"{name} must be a list of H arrays ({name}[h] of shape [X, |V|^h, |V|]), got "
                        f"{type(levels).__name__} {levels!r:.40}")
    levels = list(levels)
    if not levels:
        raise ValueError(f"{name} must hold at least one position (H >= 1), got an empty list")
    return levels


def _check_level_shapes(arrays, name: str) -> tuple[int, int]:
    """``arrays[h]`` must have shape [X, |V|^h, |V|] with X >= 1 and |V| >= 2; returns (X, |V|)."""
    first = arrays[0]
    if first.ndim != 3 or first.shape[1] != 1:
        raise ValueError(f"{name}[0] must have shape [X, 1, |V|] (one empty prefix), got {first.shape}")
    num_prompts, _, vocab = first.shape
    if num_prompts == 0 or vocab < 2:
        raise ValueError(f"{name} need at least one prompt and a vocabulary of >= 2 tokens, got {name}[0] of "
                         f"shape {first.shape}")
    check_index_range(vocab, len(arrays))
    for h, array in enumerate(arrays):
        expected = (num_prompts, vocab**h, vocab)
        if array.shape != expected:
            raise ValueError(f"{name}[{h}] must have shape {expected} = [X, |V|^{h}, |V|], got {array.shape}")
    return num_prompts, vocab


def _exact_log(value: int, base: int) -> int | None:
    """The integer H ≥ 1 with base^H = value, or None."""
    power, exponent = 1, 0
    while power < value:
        power, exponent = power * base, exponent + 1
    return exponent if power == value and exponent >= 1 else None
