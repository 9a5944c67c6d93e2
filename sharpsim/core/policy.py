"""Finite policies π(y|x) over X × Y with a prompt distribution μ (Section 1: the base
model π_base : X → Δ(Y) and the prompt distribution μ ∈ Δ(X)).

A ``TabularPolicy`` is the base model π_base of the paper (or any learned π̂) when the response space is
finite and small enough to enumerate. It is a frozen dataclass registered as a JAX pytree, so it can be
passed through ``jit``/``vmap`` and returned from them; its two arrays are the only leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.checked import checks_functionalized
from sharpsim.core.validation import (
    SIMPLEX_TOLERANCE, as_float_array, check_allocation, check_index_array, check_positive_int, check_rows_on_simplex,
    is_concrete,
)
from sharpsim.core.sampling import guide_table, normalized_cdf, sample_categorical_rows, table_cdf


# bytes a draw needs: its uniform, the binary search's bounds and row, and the answer (8 bytes each)
BYTES_PER_DRAW = 5 * 8
# entries per block when a concrete table is checked block by block (temporaries of ~8 MiB, not of the table's size)
CHECK_BLOCK_ENTRIES = 2**20


@validated_pytree(("probs", "prompt_probs"), ())
@dataclass(frozen=True, eq=False)
class TabularPolicy:
    """π(y|x) for x in a finite prompt set X (size X) and y in a finite response set Y (size Y).

    Args:
      probs: [X, Y] array, each row a probability vector (non-negative, finite, sums to 1 within 1e-9).
      prompt_probs: [X] prompt distribution μ; uniform when omitted.

    Attributes:
      probs, prompt_probs: float64 jax arrays.
      log_probs: log π(y|x), with ``-inf`` where π(y|x) = 0.
      num_prompts, num_responses: |X| and |Y|.

    A concrete policy computes the CDF its sampler searches once, on its first draw, and keeps it (``cdf``); a
    float64 table is validated block by block, without a float copy.

    Raises ``ValueError`` naming the offending row/entry (negative, NaN, infinite, not normalized) or both
    shapes when ``prompt_probs`` does not match ``probs``; ``TypeError`` for non-numeric input. Inside a JAX
    transformation the same checks run in checked mode (``sharpsim.checked``) and are skipped otherwise.
    """

    probs: jax.Array
    prompt_probs: jax.Array

    def __init__(self, probs, prompt_probs=None):
        if is_concrete(probs, prompt_probs):
            probs, prompt_probs = _validated(probs, prompt_probs)
        else:
            if prompt_probs is None:
                prompt_probs = jnp.full(jnp.shape(probs)[0], 1.0 / jnp.shape(probs)[0])
            if checks_functionalized():
                _check_traced(probs, prompt_probs)
        object.__setattr__(self, "probs", jnp.asarray(probs, dtype=jnp.float64))
        object.__setattr__(self, "prompt_probs", jnp.asarray(prompt_probs, dtype=jnp.float64))

    @classmethod
    def from_logits(cls, logits, prompt_probs=None) -> "TabularPolicy":
        """π(y|x) = softmax(logits[x])_y. ``-inf`` logits give zero probability; a row of all ``-inf`` is an error."""
        if is_concrete(logits):
            array = as_float_array(logits, "logits")
            if array.ndim != 2:
                raise ValueError(f"logits must be a 2-d array [X, Y], got shape {array.shape}")
            if 0 in array.shape:
                raise ValueError(f"logits must have at least one prompt and one response, got shape {array.shape}")
            if np.isnan(array).any() or np.isposinf(array).any():
                index = tuple(int(i) for i in np.argwhere(np.isnan(array) | np.isposinf(array))[0])
                raise ValueError(f"logits must not be NaN or +inf; entry {index} is {array[index]}")
            dead = np.isneginf(array).all(axis=1)
            if dead.any():
                raise ValueError(f"logits row {int(np.argmax(dead))} is all -inf, so it has no probability mass")
        return cls(jax.nn.softmax(jnp.asarray(logits, dtype=jnp.float64), axis=-1), prompt_probs)

    @property
    def log_probs(self) -> jax.Array:
        return jnp.log(self.probs)

    @property
    def cdf(self) -> jax.Array:
        """[X, Y]: the normalized cumulative sums of each row that inverse-CDF sampling searches
        (``sampling.normalized_cdf``). Computed once per concrete policy and kept (also when first asked for inside
        a transformation: it is then a constant of the traced program); recomputed from traced ``probs``."""
        return self._sampler_tables()[0]

    def _sampler_tables(self):
        """(cdf, guide): the CDF and, for a concrete table up to ``GUIDE_MAX_ENTRIES``, its ``sampling.Guide``."""
        probs = self.probs
        if not is_concrete(probs):
            return normalized_cdf(probs), None
        cached = self.__dict__.get("_cdf_cache")
        if cached is not None and cached[0] is probs:  # keyed by the array itself: a copy with other probs recomputes
            return cached[1:]
        with jax.ensure_compile_time_eval():  # concrete even when first asked for while tracing
            cdf = table_cdf(probs)
            guide = guide_table(cdf)
        object.__setattr__(self, "_cdf_cache", (probs, cdf, guide))
        return cdf, guide

    @property
    def num_prompts(self) -> int:
        return self.probs.shape[0]

    @property
    def num_responses(self) -> int:
        return self.probs.shape[1]

    def to_tabular(self) -> "TabularPolicy":
        return self

    # --- the sampler interface the Oracle uses (an AutoregressivePolicy offers the same three methods).
    def sample_prompts(self, key: jax.Array, num_prompts: int) -> jax.Array:
        """int [num_prompts]: x_i ∼ μ i.i.d."""
        num_prompts = check_positive_int(num_prompts, "num_prompts")
        check_allocation((num_prompts,), "num_prompts", itemsize=BYTES_PER_DRAW)
        return sample_categorical_rows(key, self.prompt_probs[None, :], jnp.zeros((), jnp.int64), num_prompts)

    def sample_responses(self, key: jax.Array, prompts: jax.Array, num_samples: int) -> jax.Array:
        """int [*prompts.shape, num_samples]: y ∼ π(·|x) i.i.d. for every prompt x in ``prompts`` (integer
        indices in [0, X): ``ValueError``/``TypeError`` otherwise, checked in checked mode when traced)."""
        num_samples = check_positive_int(num_samples, "num_samples")
        prompts = check_index_array(prompts, "prompts", self.num_prompts, "prompt")
        check_allocation((*prompts.shape, num_samples), "num_samples", itemsize=BYTES_PER_DRAW)
        cdf, guide = self._sampler_tables()
        return sample_categorical_rows(key, self.probs, prompts, num_samples, cdf=cdf, guide=guide)

    def log_prob(self, prompts: jax.Array, responses: jax.Array) -> jax.Array:
        """log π(y|x) for broadcastable int arrays of prompts (in [0, X)) and responses (in [0, Y))."""
        prompts = check_index_array(prompts, "prompts", self.num_prompts, "prompt")
        responses = check_index_array(responses, "responses", self.num_responses, "response")
        try:
            jnp.broadcast_shapes(prompts.shape, responses.shape)
        except ValueError:
            raise ValueError(f"prompts of shape {prompts.shape} do not broadcast against responses of shape "
                             f"{responses.shape}") from None
        return self._log_prob_unchecked(prompts, responses)

    def _log_prob_unchecked(self, prompts, responses) -> jax.Array:
        """``log_prob`` without input checks, for the oracle scoring the responses it has just drawn."""
        if is_concrete(self.probs, prompts, responses):
            return _log_of_entries(self.probs, prompts, responses)  # no [X, Y] log table for an eager call
        return self.log_probs[prompts, responses]

    def replace(self, probs=None, prompt_probs=None) -> "TabularPolicy":
        """A copy with the given fields changed (validated like the constructor)."""
        return TabularPolicy(
            self.probs if probs is None else probs, self.prompt_probs if prompt_probs is None else prompt_probs
        )

    def __repr__(self) -> str:
        return f"TabularPolicy(num_prompts={self.num_prompts}, num_responses={self.num_responses})"


@jax.jit
def _log_of_entries(probs, prompts, responses):
    # the same values as log_probs[prompts, responses]: log is elementwise
    return jnp.log(probs[prompts, responses])


def _float_table(value, name: str):
    """``value`` as a float64 array without a copy when it already is one (numpy, or a concrete JAX array read
    through a view); other input through ``as_float_array`` (a converted copy)."""
    if isinstance(value, (np.ndarray, jax.Array)) and value.dtype == np.float64:
        return value, np.asarray(value)
    array = as_float_array(value, name)
    return array, array


def _check_table_rows(array: np.ndarray, name: str) -> None:
    """``check_rows_on_simplex`` block by block: temporaries of one block, not several of the table's size. A
    block that fails runs the full check, which raises naming the first bad entry."""
    rows_per_block = max(1, CHECK_BLOCK_ENTRIES // max(1, array.shape[-1]))
    for start in range(0, array.shape[0], rows_per_block):
        block = array[start:start + rows_per_block]
        sums = block.sum(axis=-1)
        if not (np.isfinite(block).all() and (block >= 0).all() and (np.abs(sums - 1.0) <= SIMPLEX_TOLERANCE).all()):
            check_rows_on_simplex(array, name)
            return


def _validated(probs, prompt_probs):
    probs, view = _float_table(probs, "probs")
    if view.ndim != 2:
        raise ValueError(f"probs must be a 2-d array [X, Y] (prompts × responses), got shape {view.shape}")
    if view.shape[0] == 0 or view.shape[1] == 0:
        raise ValueError(f"probs needs at least one prompt and one response, got shape {view.shape}")
    _check_table_rows(view, "probs")
    if prompt_probs is None:
        prompt_probs = np.full(view.shape[0], 1.0 / view.shape[0])
    prompt_probs = as_float_array(prompt_probs, "prompt_probs")
    if prompt_probs.shape != (view.shape[0],):
        raise ValueError(
            f"prompt_probs has shape {prompt_probs.shape} but probs has shape {view.shape}; "
            f"prompt_probs must have shape ({view.shape[0]},), one entry per prompt"
        )
    check_rows_on_simplex(prompt_probs, "prompt_probs")
    # the policy owns its tables: on CPU, jnp.asarray of an aligned numpy array shares its memory, and a caller's later
    # write would change a validated policy (and leave its kept CDF stale). One copy of the input, made after the
    # checks read it in place.
    if isinstance(probs, np.ndarray):
        probs = jnp.array(probs, dtype=jnp.float64, copy=True)
    return probs, jnp.array(prompt_probs, dtype=jnp.float64, copy=True)


def _check_traced(probs, prompt_probs) -> None:
    """The constructor's checks on traced arrays (checked mode): shapes now, values once the computation runs."""
    if jnp.ndim(probs) != 2 or jnp.shape(prompt_probs) != (jnp.shape(probs)[0],):
        raise ValueError(f"probs must be [X, Y] and prompt_probs [X], got shapes {jnp.shape(probs)} and "
                         f"{jnp.shape(prompt_probs)}")
    check_rows_on_simplex(probs, "probs")
    check_rows_on_simplex(prompt_probs, "prompt_probs")


def as_tabular(policy, name: str = "policy") -> TabularPolicy:
    """The enumerated ``TabularPolicy`` of any policy that offers ``.to_tabular()`` (tabular, autoregressive);
    ``name`` is the caller's argument, named in the error for anything else."""
    if isinstance(policy, TabularPolicy):
        return policy
    to_tabular = getattr(policy, "to_tabular", None)
    if to_tabular is None:
        hint = "; an Oracle hides its base: pass the instance itself" if type(policy).__name__ == "Oracle" else ""
        raise TypeError(
            f"{name} must be a TabularPolicy or a policy with .to_tabular(), got {type(policy).__name__}{hint}"
        )
    return to_tabular()
