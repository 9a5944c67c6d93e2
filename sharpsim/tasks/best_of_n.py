"""Exact laws of best-of-N under a fixed self-reward, and the baselines it is compared with (Appendix A).

Draw y_1, …, y_N ∼ π_base(·|x) and keep the draw of the largest score r(y|x), the first drawn among tied maxima.
With F(y) = π({y' : r(y') < r(y)}) and G(y) = π({y' : r(y') ≤ r(y)}), the maximum lands in y's tie class with
probability G^N − F^N, and the first drawn member of the class is distributed as π restricted to it, so

    P[pick = y] = (G(y)^N − F(y)^N) · π(y|x) / (G(y) − F(y)).

For the log-likelihood the tie class is a level set of π and this is ``sharpsim.algorithms.best_of_n_law``.
Accuracy of BoN is Σ_y 1{y correct}·P[pick = y]; the pass@N skyline is 1 − (1 − P[correct])^N; greedy decoding is
scored on its single output. Averages over prompts are weighted by μ.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_positive_int, check_real_array, concrete_numbers
from sharpsim.policies.autoregressive import sequences_to_indices
from sharpsim.policies.decoding import greedy_decode
from sharpsim.tasks.self_rewards import _check_task
from sharpsim.tasks.task import Task


def check_sample_sizes(ns, name: str = "ns") -> np.ndarray:
    """[K]: the sample sizes N ≥ 1 (a scalar becomes one entry), int64, or float64 when one is beyond int64 (the
    laws take N as a real exponent, so N = 10^30 is a valid, if extreme, sample size)."""
    sizes = sample_size_list(ns, name)
    return np.asarray(sizes, dtype=np.int64 if max(sizes) < 2**63 else np.float64)


def sample_size_list(ns, name: str = "ns") -> list[int]:
    """The sample sizes N ≥ 1 as Python integers (exact at any size; a scalar becomes one entry)."""
    if isinstance(ns, (list, tuple)):  # Python integers beyond int64 stay exact (numpy would make them objects)
        values = list(ns)
    else:
        array = np.atleast_1d(concrete_numbers(ns, name, "sample sizes N >= 1 (integers)"))
        if array.ndim != 1:
            raise ValueError(f"{name} must be a non-empty 1-d list of sample sizes N >= 1, got shape {array.shape}")
        values = array.tolist()
    if not values:
        raise ValueError(f"{name} must be a non-empty 1-d list of sample sizes N >= 1, got an empty one")
    return [check_positive_int(value, name) for value in values]


def _check_scores(task: Task, scores) -> jax.Array:
    _check_task(task)
    scores = check_real_array(scores, "scores", finite=False)
    if scores.shape != task.probs.shape:
        raise ValueError(f"scores must have the shape of the task's table [X, |V|^H] = {task.probs.shape}, got "
                         f"{scores.shape}")
    return scores


def _tie_class_logs(probs: jax.Array, scores: jax.Array):
    """Per response (one prompt's row): log F, log G and the class mass G − F, each accurate near 0 and near 1."""
    order = jnp.argsort(scores, stable=True)
    sorted_scores, sorted_probs = scores[order], probs[order]
    head = jnp.concatenate([jnp.zeros(1), jnp.cumsum(sorted_probs)])  # mass strictly before position i
    tail = jnp.concatenate([jnp.cumsum(sorted_probs[::-1])[::-1], jnp.zeros(1)])  # mass from position i on
    first = jnp.searchsorted(sorted_scores, scores, side="left")
    after = jnp.searchsorted(sorted_scores, scores, side="right")

    def log_mass_below(index):
        # F = head[index] from the bottom when small, 1 − (mass from index on) when close to 1
        small = head[index] < 0.5
        return jnp.where(small, jnp.log(jnp.where(small, head[index], 1.0)),
                         jnp.log1p(-jnp.minimum(tail[index], 1.0)))

    class_mass = jnp.maximum(head[after] - head[first], 0.0)
    return log_mass_below(first), log_mass_below(after), class_mass


def _class_max_probability(log_f, log_g, n):
    """G^N − F^N = G^N·(1 − exp(N·(log F − log G))), accurate when F is close to G and when G is close to 1."""
    return jnp.exp(n * log_g) * -jnp.expm1(n * (log_f - log_g))


@jax.jit
def _pick_law(probs, scores, n):
    def row(p, s):
        log_f, log_g, class_mass = _tie_class_logs(p, s)
        live = p > 0
        log_g = jnp.where(live, log_g, 0.0)
        log_f = jnp.where(live, log_f, -jnp.inf)
        share = jnp.where(live, p / jnp.where(live, class_mass, 1.0), 0.0)
        return _class_max_probability(log_f, log_g, n) * share

    return jax.vmap(row)(probs, scores)


def pick_law(task: Task, scores, n: int) -> jax.Array:
    """[X, |V|^H]: P[BoN_N pick = y | x] under ``scores`` (first drawn among tied maxima)."""
    scores = _check_scores(task, scores)
    n = check_positive_int(n, "n")
    return _pick_law(task.probs, scores, jnp.float64(n))


@jax.jit
def _pick_expectations(probs, scores, values, ns):
    def prepare(p, s, v):
        log_f, log_g, class_mass = _tie_class_logs(p, s)
        live = p > 0
        weight = jnp.where(live, p * jnp.where(live, v, 0.0) / jnp.where(live, class_mass, 1.0), 0.0)
        return jnp.where(live, log_f, -jnp.inf), jnp.where(live, log_g, 0.0), weight

    log_f, log_g, weight = jax.vmap(prepare)(probs, scores, values)
    return jax.lax.map(lambda n: jnp.sum(_class_max_probability(log_f, log_g, n) * weight, axis=-1), ns)


def pick_expectations(task: Task, scores, values, ns) -> jax.Array:
    """[K, X]: E[values(pick) | x] for BoN_N under ``scores`` at every N in ``ns`` (``values`` [X, |V|^H] is read
    only where π > 0, so −inf there is harmless)."""
    scores = _check_scores(task, scores)
    values = check_real_array(values, "values", finite=False)
    if values.shape != task.probs.shape:
        raise ValueError(f"values must have the shape of the task's table {task.probs.shape}, got {values.shape}")
    ns = check_sample_sizes(ns)
    probs, scores, values = _support_only(task.probs, scores, values)
    return _pick_expectations(probs, scores, values, jnp.asarray(ns, jnp.float64))


def _support_only(probs, scores, values):
    """The columns of positive mass of every row, gathered into [X, S] with S the largest support rounded up to a
    power of two (zero-mass padding): the law only involves responses that can be drawn, and tasks put mass on few
    of |V|^H."""
    live = np.asarray(probs) > 0
    # rounded up to a power of two: tasks of one kind share a shape, so the law compiles once, not once a task
    size = min(probs.shape[1], 1 << max(0, int(live.sum(axis=1).max()) - 1).bit_length())
    order = jnp.asarray(np.argsort(~live, axis=1, kind="stable")[:, :size])
    return tuple(jnp.take_along_axis(a, order, axis=1) for a in (probs, scores, values))


def best_of_n_accuracy(task: Task, scores, ns) -> jax.Array:
    """[K]: E_x∼μ P[BoN_N pick is correct] under ``scores`` at every N in ``ns``."""
    _check_task(task)
    per_prompt = pick_expectations(task, scores, task.correct.astype(jnp.float64), ns)
    return per_prompt @ task.prompt_probs


def pick_log_likelihood(task: Task, scores, ns) -> jax.Array:
    """[K]: E_x∼μ E[log π_base(pick|x)], the mean log-likelihood of the BoN_N pick (Figure 4's curve)."""
    _check_task(task)
    return pick_expectations(task, scores, jnp.log(task.probs), ns) @ task.prompt_probs


def correct_mass(task: Task) -> jax.Array:
    """[X]: P[correct | x] = Σ_y 1{y correct}·π_base(y|x), the accuracy of one draw at temperature 1."""
    _check_task(task)
    return jnp.sum(jnp.where(task.correct, task.probs, 0.0), axis=-1)


def sampling_accuracy(task: Task) -> jax.Array:
    """E_x∼μ P[correct | x]: naive temperature-1 sampling (BoN with N = 1 for every self-reward)."""
    return correct_mass(task) @ task.prompt_probs


def pass_at_n(task: Task, ns) -> jax.Array:
    """[K]: the pass@N skyline E_x∼μ [1 − (1 − P[correct | x])^N] (uses ground truth)."""
    _check_task(task)
    ns = jnp.asarray(check_sample_sizes(ns), jnp.float64)
    miss = jnp.log1p(-jnp.minimum(correct_mass(task), 1.0))
    return -jnp.expm1(ns[:, None] * miss[None, :]) @ task.prompt_probs


def greedy_indices(task: Task) -> jax.Array:
    """int [X]: the response index of greedy decoding's output for every prompt."""
    _check_task(task)
    return sequences_to_indices(greedy_decode(task.policy), task.policy.vocab_size)


def greedy_accuracy(task: Task) -> jax.Array:
    """E_x∼μ 1{greedy output correct}: the paper's baseline (deterministic, one seed)."""
    index = greedy_indices(task)
    hit = jnp.take_along_axis(task.correct, index[:, None], axis=-1)[:, 0]
    return hit.astype(jnp.float64) @ task.prompt_probs
