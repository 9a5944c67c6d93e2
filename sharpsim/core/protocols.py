"""The interfaces the built-in algorithms rely on, written down once (``typing.Protocol``, runtime-checkable).

A user's own policy or model class that satisfies these works with ``Oracle`` and the algorithms; nothing
needs to subclass a sharpsim type. ``isinstance`` checks only that the members exist, not their signatures.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax


@runtime_checkable
class Policy(Protocol):
    """π(y|x) with a prompt distribution μ, as the oracle needs it (Definition 3.2: π_base).

    Spaces: ``num_prompts`` |X| and ``num_responses`` |Y|, static Python ints. Responses are indices in
    [0, |Y|), unless the policy also has ``vocab_size`` and ``horizon`` (``SequencePolicy``).

    ``sample_prompts(key, n) -> int [n]``: x_i ∼ μ i.i.d.
    ``sample_responses(key, prompts, N) -> int [*prompts.shape, N]`` (or [..., N, H] token sequences).
    ``log_prob(prompts, responses) -> float [...]``: log π(y|x) on broadcast pairs (−inf where π(y|x) = 0).
    All three must be jit/vmap-safe (pure functions of JAX arrays).
    """

    num_prompts: int
    num_responses: int

    def sample_prompts(self, key: jax.Array, num_prompts: int) -> jax.Array: ...

    def sample_responses(self, key: jax.Array, prompts: jax.Array, num_samples: int) -> jax.Array: ...

    def log_prob(self, prompts: jax.Array, responses: jax.Array) -> jax.Array: ...


@runtime_checkable
class SequencePolicy(Policy, Protocol):
    """A ``Policy`` whose responses are token sequences y ∈ V^H (Appendix E): ``vocab_size`` |V| and ``horizon`` H
    are static ints, responses are int arrays [..., H] with tokens in [0, |V|), and |Y| = |V|^H."""

    vocab_size: int
    horizon: int


@runtime_checkable
class ModelClass(Protocol):
    """A model class Π with a maximum-likelihood fit (SFT-Sharpening's step 4, Theorem 4.1).

    ``num_prompts``, ``num_responses``: the spaces it lives on (they must match the oracle's).
    ``fit(prompts, responses, weights=None)``: argmax_{π∈Π} Σ_i w_i log π(y_i|x_i) from ``prompts`` [n] and
    ``responses`` [n] (indices; token sequences [n, H] when the class sets ``takes_sequences = True``),
    returning a policy (a ``TabularPolicy``, or an object with ``.to_tabular()``); it must be jit/vmap-safe.
    """

    num_prompts: int
    num_responses: int

    def fit(self, prompts: jax.Array, responses: jax.Array, weights: jax.Array | None = None) -> Any: ...


@runtime_checkable
class SizedModelClass(ModelClass, Protocol):
    """A ``ModelClass`` that states log|Π| (``log_size``, a float; ``inf`` for an infinite class), the size
    Theorem 4.1's n ∝ log(|Π|/ρ)/(δε) needs."""

    log_size: float


@runtime_checkable
class Algorithm(Protocol):
    """A learner run through the oracle: ``algorithm(key, oracle, *hyperparameters) -> (result, oracle)``.

    ``result`` subclasses ``sharpsim.Result`` (``policy`` and ``queries``, the queries this run was charged);
    the returned oracle is the input oracle charged with those queries. Counts that set array shapes are
    static Python ints; algorithms are pure, so they can be jitted and vmapped over keys.
    """

    def __call__(self, key: jax.Array, oracle: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]: ...
