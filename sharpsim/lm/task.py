"""A synthetic reasoning task with verifiable answers for a trained π_base: modular sums with a scratchpad.

A prompt is k operands x_1, …, x_k ∈ Z_p; a response is the chain of running sums r_1, …, r_{k−1} of the
operands taken in *some* order σ: r_1 = x_σ(1) + x_σ(2), r_j = r_{j−1} + x_σ(j+1) (mod p). The last token
r_{k−1} is the answer, correct iff it equals Σ_i x_i mod p, whatever the order, so one answer has several valid
reasoning paths (up to k!/2 distinct chains). Responses live in V^H with V = Z_p (|V| = p) and H = k − 1, so V^H
can be enumerated for small (p, k), and the prompt space is Z_p^k (|X| = p^k; prompt index = the operands read as
a base-p number, first operand most significant, as ``sequences_to_indices`` orders sequences).

The training distribution, the "pre-training data" of π_base: with probability ``order_bias`` the operands are
summed left to right, otherwise in a uniformly random order; with probability ``error_rate`` one running sum
slips by a nonzero offset, carried into the later sums, so the answer is wrong. This is the setting of the paper's
Section 1 (a model that generates correct answers with some probability among several paths and wrong answers
with the rest), with the ground truth checkable.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_allocation, check_in_interval, check_index_array, check_positive_int

__all__ = ["ModularSumTask"]

MAX_OPERANDS = 6  # k! orders are enumerated by the path checker
MAX_PROMPTS = 2**22  # |X| = p^k: the policy keeps μ as a dense [X] array


@dataclass(frozen=True)
class ModularSumTask:
    """Modular sums written as chains of running sums (module docstring). Hashable: a policy's static part.

    Args:
      modulus: p ≥ 2, the response vocabulary Z_p.
      num_operands: k in [2, 6]; the horizon is H = k − 1.
      order_bias: probability in [0, 1] that a training chain sums left to right (else a uniform order).
      error_rate: probability in [0, 1] that a training chain has one slipped running sum.
    """

    modulus: int = 7
    num_operands: int = 4
    order_bias: float = 0.5
    error_rate: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "modulus", check_positive_int(self.modulus, "modulus", minimum=2))
        operands = check_positive_int(self.num_operands, "num_operands", minimum=2)
        if operands > MAX_OPERANDS:
            raise ValueError(f"num_operands must be an integer in [2, {MAX_OPERANDS}], got {operands}")
        object.__setattr__(self, "num_operands", operands)
        if self.modulus**operands > MAX_PROMPTS:
            raise ValueError(f"modulus**num_operands = {self.modulus}^{operands} prompts exceeds {MAX_PROMPTS}; "
                             "choose a smaller modulus or fewer operands")
        for name in ("order_bias", "error_rate"):
            object.__setattr__(self, name, check_in_interval(getattr(self, name), name, 0.0, 1.0, True, True))

    # --- spaces ----------------------------------------------------------------------------------
    @property
    def horizon(self) -> int:
        """H = k − 1 running sums."""
        return self.num_operands - 1

    @property
    def vocab_size(self) -> int:
        """|V| = p: responses are residues."""
        return self.modulus

    @property
    def num_prompts(self) -> int:
        """|X| = p^k."""
        return self.modulus**self.num_operands

    @property
    def separator(self) -> int:
        """The token between prompt and response in the network's input (input vocabulary p + 1)."""
        return self.modulus

    @property
    def input_vocab_size(self) -> int:
        return self.modulus + 1

    # --- prompts ----------------------------------------------------------------------------------
    def prompt_tokens(self, prompts) -> jax.Array:
        """int [..., k]: the operands of prompt indices in [0, p^k) (base-p digits, first most significant)."""
        prompts = check_index_array(prompts, "prompts", self.num_prompts, "prompt")
        return _digits(prompts, self.modulus, self.num_operands)

    def answers(self, prompts) -> jax.Array:
        """int [...]: the correct answer Σ_i x_i mod p."""
        return jnp.sum(self.prompt_tokens(prompts), axis=-1) % self.modulus

    # --- the checker --------------------------------------------------------------------------------
    def is_correct(self, prompts, responses) -> jax.Array:
        """bool [...]: whether the response's answer (its last token) is Σ_i x_i mod p (the verifiable reward);
        ``prompts`` broadcasts against ``responses[..., 0]``."""
        prompts, responses = self._check_pair(prompts, responses)
        return responses[..., -1] == self.answers(prompts)

    def is_valid_chain(self, prompts, responses) -> jax.Array:
        """bool [...]: whether the whole response is a valid reasoning path, the running sums of the operands in
        some order (a valid chain always has the correct answer)."""
        prompts, responses = self._check_pair(prompts, responses)
        return _matches_a_chain(self.valid_chains_all(prompts), responses)

    def valid_chains_all(self, prompts) -> jax.Array:
        """int [..., k!, H]: the chain of every order σ (orders in ``itertools.permutations`` order; orders that
        differ only in their first two operands give the same chain)."""
        return _all_chains(self, self.prompt_tokens(prompts))

    def valid_chains(self, prompt: int) -> np.ndarray:
        """int [m, H]: the distinct valid chains of one prompt (sorted lexicographically)."""
        prompt = check_positive_int(prompt, "prompt", minimum=0)
        if prompt >= self.num_prompts:
            raise ValueError(f"prompt must lie in [0, {self.num_prompts}) (a prompt index), got {prompt}")
        chains = np.asarray(self.valid_chains_all(np.asarray([prompt])))
        return np.unique(chains[0], axis=0)

    def _check_pair(self, prompts, responses) -> tuple[jax.Array, jax.Array]:
        """Prompt indices and responses whose shapes broadcast (``prompts`` against ``responses[..., 0]``)."""
        responses = self._check_responses(responses)
        prompts = check_index_array(prompts, "prompts", self.num_prompts, "prompt")
        try:
            jnp.broadcast_shapes(prompts.shape, responses.shape[:-1])
        except ValueError:
            raise ValueError(f"prompts must broadcast against responses[..., 0]: shapes {prompts.shape} and "
                             f"{responses.shape[:-1]}") from None
        return prompts, responses

    def _check_responses(self, responses) -> jax.Array:
        responses = check_index_array(responses, "responses", self.modulus, "token")
        if responses.ndim == 0 or responses.shape[-1] != self.horizon:
            raise ValueError(f"responses must be token sequences [..., H] with H={self.horizon}, got shape "
                             f"{responses.shape}")
        return responses

    # --- the training distribution ------------------------------------------------------------------
    def data_law(self, prompts) -> jax.Array:
        """float64 [..., p^H]: the exact law of a training chain given the prompt, over V^H in lexicographic order
        (the distribution the network is fit to; its cross-entropy is the floor of the training loss)."""
        return _data_law(self, self.valid_chains_all(prompts))

    def sample(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        """(operands int [B, k], chains int [B, H]): B i.i.d. training examples (module docstring); jit-safe."""
        batch_size = check_positive_int(batch_size, "batch_size")
        # uniforms [B, 2k + 4] and a few arrays of that size (operands, orders, chains)
        check_allocation((batch_size, 4 * (2 * self.num_operands + 4)), "batch_size")
        return _sample(self, key, batch_size)


def _digits(indices, base: int, length: int) -> jax.Array:
    weights = jnp.asarray([base ** (length - 1 - i) for i in range(length)], dtype=jnp.int64)
    return (jnp.asarray(indices, jnp.int64)[..., None] // weights) % base


@partial(jax.jit, static_argnums=0)
def _data_law(task: ModularSumTask, chains) -> jax.Array:
    k, p, horizon = task.num_operands, task.modulus, task.horizon
    orders = _orders(k)
    order_probs = np.full(len(orders), (1.0 - task.order_bias) / len(orders))
    order_probs[0] += task.order_bias  # permutations() lists the identity first
    # each order's chain, then every (slip position, offset) with probability error_rate / (H (p − 1))
    slips = np.asarray([[int(h >= j) * offset for h in range(horizon)]
                        for j in range(horizon) for offset in range(1, p)], dtype=np.int64)
    variants = jnp.concatenate([chains[..., None, :],
                                (chains[..., None, :] + slips) % p], axis=-2)  # [..., k!, 1 + H(p−1), H]
    weights = np.concatenate([[1.0 - task.error_rate], np.full(len(slips), task.error_rate / len(slips))])
    masses = jnp.asarray(order_probs)[:, None] * jnp.asarray(weights)[None, :]
    powers = jnp.asarray([p ** (horizon - 1 - h) for h in range(horizon)], dtype=jnp.int64)
    indices = jnp.sum(variants * powers, axis=-1)
    leading = indices.shape[:-2]
    flat = indices.reshape((-1, indices.shape[-2] * indices.shape[-1]))
    table = jax.vmap(lambda row: jnp.zeros(p**horizon).at[row].add(masses.reshape(-1)))(flat)
    return table.reshape(leading + (p**horizon,))


@jax.jit
def _matches_a_chain(chains, responses) -> jax.Array:
    return jnp.any(jnp.all(chains == responses[..., None, :], axis=-1), axis=-1)


@partial(jax.jit, static_argnums=0)
def _all_chains(task: ModularSumTask, operands) -> jax.Array:
    orders = jnp.asarray(_orders(task.num_operands))  # [k!, k]
    return _chain(jnp.take(operands, orders, axis=-1), task.modulus)  # [..., k!, H]


def _chain(permuted, modulus: int) -> jax.Array:
    """Running sums of the operands in the given order, from the second on: [..., k] -> [..., k − 1]."""
    return (jnp.cumsum(permuted, axis=-1) % modulus)[..., 1:]


def _orders(num_operands: int) -> np.ndarray:
    return np.asarray(list(itertools.permutations(range(num_operands))), dtype=np.int64)


@partial(jax.jit, static_argnums=(0, 2))
def _sample(task: ModularSumTask, key, batch_size: int):
    k, p, horizon = task.num_operands, task.modulus, task.horizon
    # one uniform draw per example feeds every choice (a single threefry call: many small random calls make
    # XLA's compilation slow on CPU); columns: operands [k], order [k], bias, slip, where, offset
    u = jax.random.uniform(key, (batch_size, 2 * k + 4), dtype=jnp.float64)
    operands = jnp.minimum(jnp.floor(u[:, :k] * p), p - 1).astype(jnp.int64)
    shuffled = jnp.argsort(u[:, k:2 * k], axis=-1)
    left_to_right = u[:, 2 * k, None] < task.order_bias
    orders = jnp.where(left_to_right, jnp.arange(k)[None, :], shuffled)
    chains = _chain(jnp.take_along_axis(operands, orders, axis=-1), p)
    slipped = u[:, 2 * k + 1, None] < task.error_rate
    where = jnp.minimum(jnp.floor(u[:, 2 * k + 2, None] * horizon), horizon - 1)
    offset = 1 + jnp.minimum(jnp.floor(u[:, 2 * k + 3, None] * (p - 1)), p - 2).astype(jnp.int64)
    # the slip is carried forward: later sums are computed from the wrong value, so the answer is wrong
    carried = slipped & (jnp.arange(horizon)[None, :] >= where)
    return operands, (chains + jnp.where(carried, offset, 0)) % p
