"""Sample majority vote (self-consistency) over N draws: its exact law and a Monte-Carlo estimate (Appendix A.2).

Draw y_1, …, y_N ∼ π_base(·|x), count the answers, and return the most frequent answer; among tied answers the one
drawn first wins. Given the counts (c_a), the order of the draws is uniformly random, so the first draw among those
with a tied answer is uniform over them: a tied answer a wins with probability c_a / Σ_{b tied} c_b. Hence, with
p_a = π_base(ans = a | x),

    P[winner = a] = Σ_{c : Σ c = N} N!/Π_b c_b! · Π_b p_b^{c_b} · 1{c_a = max c} · c_a / Σ_{b: c_b = max c} c_b,

a sum over the C(N + m − 1, m − 1) count vectors of the m answers of positive mass (exact for small m and N). The
returned response is the first draw with the winning answer, distributed as π_base restricted to that answer.
"""

from __future__ import annotations

import itertools
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import gammaln

from sharpsim.core.validation import check_allocation, check_positive_int, check_real_array, check_rows_on_simplex
from sharpsim.tasks.best_of_n import sample_size_list
from sharpsim.theory.checks import check_flag
from sharpsim.tasks.self_rewards import _check_task, answer_mass
from sharpsim.tasks.task import Task

MAX_OUTCOMES = 2_000_000  # count vectors per N the exact law enumerates (an [X, outcomes] array is formed in chunks)


def count_vectors(n: int, m: int) -> np.ndarray:
    """int [C(n + m − 1, m − 1), m]: every vector of m non-negative counts summing to n (stars and bars)."""
    if m == 1:
        return np.full((1, 1), n, dtype=np.int64)
    bars = np.array(list(itertools.combinations(range(n + m - 1), m - 1)), dtype=np.int64).reshape(-1, m - 1)
    edges = np.concatenate([np.full((len(bars), 1), -1), bars, np.full((len(bars), 1), n + m - 1)], axis=1)
    return np.diff(edges, axis=1) - 1


def majority_winner_law(answer_probs, n: int, max_outcomes: int = MAX_OUTCOMES) -> np.ndarray:
    """[X, A]: P[the sample majority of n draws is answer a], from answer marginals ``answer_probs`` [X, A], by
    enumerating the count vectors over the answers of positive mass. ``ValueError`` when that is above
    ``max_outcomes`` (use ``majority_monte_carlo``)."""
    return _winner_law(answer_probs, n, max_outcomes, "n")


def _winner_law(answer_probs, n: int, max_outcomes: int, n_name: str) -> np.ndarray:
    """``majority_winner_law``, its sample size named ``n_name`` in errors (``ns`` for the curves)."""
    probs = np.asarray(check_real_array(answer_probs, "answer_probs"))
    if probs.ndim != 2 or probs.shape[1] == 0:
        raise ValueError(f"answer_probs must be an [X, A] array of probability rows (A >= 1), got shape "
                         f"{probs.shape}")
    check_rows_on_simplex(probs, "answer_probs")
    n = check_positive_int(n, n_name)
    max_outcomes = check_positive_int(max_outcomes, "max_outcomes")
    active = np.flatnonzero((probs > 0).any(axis=0))
    m = len(active)
    outcomes = math.comb(n + m - 1, m - 1)
    if outcomes > max_outcomes:
        raise ValueError(f"the exact majority law needs C(n + m − 1, m − 1) = {outcomes} count vectors for "
                         f"{n_name} = {n} and m = {m} answers, above max_outcomes = {max_outcomes}; use "
                         "majority_monte_carlo")
    counts = count_vectors(n, m)
    top = counts.max(axis=1, keepdims=True)
    tied = counts == top
    weights = np.where(tied, counts, 0) / np.where(tied, counts, 0).sum(axis=1, keepdims=True)  # [K, m]
    log_coefficient = gammaln(n + 1) - gammaln(counts + 1).sum(axis=1)  # [K]
    law = np.zeros_like(probs)
    log_p = np.log(np.where(probs[:, active] > 0, probs[:, active], 1.0))
    dead = probs[:, active] == 0
    chunk = max(1, 4_000_000 // max(1, len(counts)))
    for start in range(0, len(probs), chunk):
        stop = min(start + chunk, len(probs))
        log_mass = log_coefficient[None, :] + log_p[start:stop] @ counts.T  # [x, K]
        # an outcome that draws an answer of zero mass for this prompt has probability zero
        impossible = dead[start:stop].astype(np.int64) @ (counts > 0).T.astype(np.int64) > 0
        law[start:stop, active] = np.where(impossible, 0.0, np.exp(log_mass)) @ weights
    return law


def majority_accuracy(task: Task, ns, max_outcomes: int = MAX_OUTCOMES, per_prompt: bool = False) -> np.ndarray:
    """[K]: E_x∼μ P[the sample majority of N draws is the correct answer], exactly, for every N in ``ns``
    ([K, X] per prompt with ``per_prompt``)."""
    _check_task(task)
    per_prompt = check_flag(per_prompt, "per_prompt")
    mass = np.asarray(answer_mass(task))
    correct = np.asarray(task.correct_answers)
    out = np.stack([_winner_law(mass, n, max_outcomes, "ns")[np.arange(len(correct)), correct]
                    for n in sample_size_list(ns)])
    return out if per_prompt else out @ np.asarray(task.prompt_probs)


def majority_pick_log_likelihood(task: Task, ns, max_outcomes: int = MAX_OUTCOMES,
                                 per_prompt: bool = False) -> np.ndarray:
    """[K]: E_x∼μ E[log π_base(pick|x)] for the first draw with the majority answer (π restricted to the answer);
    [K, X] per prompt with ``per_prompt``."""
    _check_task(task)
    per_prompt = check_flag(per_prompt, "per_prompt")
    probs, answers = np.asarray(task.probs), np.asarray(task.answers)
    mass = np.asarray(answer_mass(task))
    one_hot = np.eye(task.num_answers)[answers]  # [X, Y, A]
    plogp = np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0)
    conditional = np.einsum("xy,xya->xa", plogp, one_hot) / np.where(mass > 0, mass, 1.0)  # E[log π | answer a]
    out = np.stack([(_winner_law(mass, n, max_outcomes, "ns") * conditional).sum(axis=1)
                    for n in sample_size_list(ns)])
    return out if per_prompt else out @ np.asarray(task.prompt_probs)


def majority_monte_carlo(key: jax.Array, task: Task, n: int, num_trials: int) -> jax.Array:
    """bool [num_trials, X]: whether the sample majority of n fresh draws (answers drawn from the answer marginal,
    first drawn wins among tied answers) is correct, for independent trials."""
    _check_task(task)
    n = check_positive_int(n, "n")
    num_trials = check_positive_int(num_trials, "num_trials")
    # the vote compares every draw with every answer: [num_trials, X, n, A] booleans, and uniforms [T, X, n]
    check_allocation((num_trials, task.num_prompts, n, task.num_answers + 8), "num_trials·n (the draws)", itemsize=1)
    return _majority_monte_carlo(key, answer_mass(task), task.correct_answers, n, num_trials)


@partial(jax.jit, static_argnums=(3, 4))
def _majority_monte_carlo(key, mass, correct, n, num_trials):
    num_prompts, num_answers = mass.shape
    cdf = jnp.cumsum(mass, axis=-1)
    uniforms = jax.random.uniform(key, (num_trials, num_prompts, n, 1), dtype=cdf.dtype) * cdf[None, :, None, -1:]
    # inverse CDF; answers of zero mass are never drawn (a strict comparison skips their flat step)
    draws = jnp.minimum(jnp.sum(uniforms >= cdf[None, :, None, :], axis=-1), num_answers - 1)
    hits = draws[..., None] == jnp.arange(num_answers)  # [T, X, n, A]
    counts = hits.sum(axis=-2)
    first = jnp.where(hits.any(axis=-2), jnp.argmax(hits, axis=-2), n)  # first draw of each answer
    tied = counts == counts.max(axis=-1, keepdims=True)
    winner = jnp.argmin(jnp.where(tied, first, n + 1), axis=-1)
    return winner == correct[None, :]
