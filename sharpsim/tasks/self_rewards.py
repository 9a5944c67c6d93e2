"""Self-rewards: scores a model gives its own responses, from the base's table alone (Appendix A.1–A.2).

Each self-reward maps a ``Task`` to a score [X, |V|^H] per prompt and response; best-of-N keeps the draw of the
largest score (``sharpsim.tasks.best_of_n``). Responses of zero mass are never drawn and score −inf.

* ``log_likelihood``: r(y|x) = log π_base(y|x), the paper's main self-reward (Section 3.2).
* ``length_normalized``: r(y|x) = log π_base(y|x)/|y|, |y| the number of tokens before EOS (an empty response,
  |y| = 0, is divided by 1).
* ``answer_marginal``: r(y|x) = Σ_{y' : ans(y') = ans(y)} π_base(y'|x), the population version of majority vote
  (self-consistency); its sample version, the majority over the N draws, is not a fixed score and lives in
  ``sharpsim.tasks.majority``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sharpsim.tasks.task import Task


def _check_task(task) -> None:
    if not isinstance(task, Task):
        raise TypeError(f"task must be a sharpsim.tasks.Task, got {type(task).__name__}")


def log_likelihood(task: Task) -> jax.Array:
    """[X, |V|^H]: log π_base(y|x) (−inf at zero mass)."""
    _check_task(task)
    return jnp.log(task.probs)


def length_normalized(task: Task) -> jax.Array:
    """[X, |V|^H]: log π_base(y|x)/max(|y|, 1) (−inf at zero mass)."""
    _check_task(task)
    return jnp.log(task.probs) / jnp.maximum(task.lengths, 1)[None, :]


def answer_mass(task: Task) -> jax.Array:
    """[X, A]: the answer marginal π_base(ans = a | x) = Σ_{y : ans(y) = a} π_base(y|x)."""
    _check_task(task)
    one_hot = jax.nn.one_hot(task.answers, task.num_answers, dtype=task.probs.dtype)  # [X, Y, A]
    return jnp.einsum("xy,xya->xa", task.probs, one_hot)


def answer_marginal(task: Task) -> jax.Array:
    """[X, |V|^H]: π_base(ans = ans(y) | x) for responses of positive mass, −inf at zero mass."""
    marginal = jnp.take_along_axis(answer_mass(task), task.answers, axis=-1)
    return jnp.where(task.probs > 0, marginal, -jnp.inf)


SELF_REWARDS = {
    "log_likelihood": log_likelihood,
    "length_normalized": length_normalized,
    "answer_marginal": answer_marginal,
}


def self_reward(task: Task, name: str) -> jax.Array:
    """The scores [X, |V|^H] of the self-reward called ``name`` (a key of ``SELF_REWARDS``)."""
    if not isinstance(name, str) or name not in SELF_REWARDS:
        raise ValueError(f"self-reward name must be one of {sorted(SELF_REWARDS)}, got {name!r}")
    return SELF_REWARDS[name](task)
