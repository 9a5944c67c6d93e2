"""Exact laws of the trained transformer π_base on its task, from the enumerated table over V^H: the log-probability
table of any prompt subset, the correctness of every response, best-of-N success at the argmax (Proposition C.1)
and the accuracy and log-likelihood of best-of-N under the self-rewards (Appendix A), and Monte-Carlo best-of-N
through the sealed oracle to check those laws against the network's own sampler.

Every response of the modular-sum task has length H, so the length-normalized log-likelihood log π/|y| orders the
responses exactly as log π does: its best-of-N law is the log-likelihood's, and only the latter is computed here.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.algorithms.best_of_n import _best_of_n_row, running_best_index
from sharpsim.core.oracle import Oracle
from sharpsim.core.validation import check_positive_int
from sharpsim.lm.policy import TransformerPolicy
from sharpsim.policies.autoregressive import check_prompts
from sharpsim.tasks.best_of_n import _pick_expectations, check_sample_sizes
from sharpsim.tasks.majority import _majority_monte_carlo, majority_winner_law

__all__ = ["bon_argmax_success", "bon_monte_carlo_picks", "correct_table", "log_prob_table", "self_reward_curves"]

EXACT_MAJORITY_OUTCOMES = 60_000  # count vectors of the exact majority law (C(N + 6, 6) for 7 answers: N ≤ 15)


def _check_policy(policy) -> None:
    if not isinstance(policy, TransformerPolicy):
        raise TypeError(f"policy must be a TransformerPolicy, got {type(policy).__name__}")


def _prompt_array(policy, prompts) -> jax.Array:
    if prompts is None:
        return jnp.arange(policy.num_prompts)
    prompts = check_prompts(prompts, policy.num_prompts)
    if prompts.ndim != 1:
        raise ValueError(f"prompts must be a 1-d array of prompt indices, got shape {prompts.shape}")
    return prompts


def log_prob_table(policy, prompts=None) -> np.ndarray:
    """float64 [n, |V|^H]: log π(y|x) for every response (lexicographic order, as ``sequences_to_indices``) at each
    of ``prompts`` (default: every prompt; then it is ``policy.to_tabular()`` in logs). One forward pass per
    length-(H−1) prefix gives the prefix's mass and the last conditional."""
    _check_policy(policy)
    return np.asarray(_log_table(policy, _prompt_array(policy, prompts)), dtype=np.float64)


@jax.jit
def _log_table(policy, prompts):
    return policy._log_joint_at(prompts)


def correct_table(task, prompts) -> np.ndarray:
    """bool [n, |V|^H]: whether each response (lexicographic order) answers each of ``prompts`` correctly (its last
    token is Σ x_i mod p)."""
    from sharpsim.lm.task import ModularSumTask

    if not isinstance(task, ModularSumTask):
        raise TypeError(f"task must be a ModularSumTask, got {type(task).__name__}")
    answers = np.asarray(task.answers(jnp.asarray(prompts)))
    last = np.arange(task.vocab_size**task.horizon) % task.vocab_size  # the last token of response index y
    return last[None, :] == answers[:, None]


def _check_log_table(log_table) -> np.ndarray:
    table = np.asarray(log_table, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] < 2:
        raise ValueError(f"log_table must be an array [n, |Y|] of log-probabilities, got shape {table.shape}")
    sums = np.exp(table).sum(axis=1)
    if np.isnan(table).any() or (table > 1e-12).any() or not np.allclose(sums, 1.0, rtol=0.0, atol=1e-9):
        raise ValueError("log_table must hold log-probabilities (<= 0, no NaN) whose rows sum to 1 in probability; "
                         f"row sums lie in [{sums.min()!r}, {sums.max()!r}]")
    return table


def bon_argmax_success(log_table, ns) -> np.ndarray:
    """float64 [K, n]: P[best-of-N under log π picks the argmax set y*(x)] at every N of ``ns``, exactly, from the
    law π^BoN_N (the rows of ``best_of_n_law``: ties share their level set's mass). Without ties this is
    Proposition C.1's 1 − (1 − π(y*|x))^N."""
    table = _check_log_table(log_table)
    ns = check_sample_sizes(ns)
    probs = jnp.asarray(np.exp(table))
    top = jnp.asarray(table == table.max(axis=1, keepdims=True))
    return np.stack([np.asarray(_argmax_hit(probs, top, jnp.float64(n))) for n in ns.tolist()])


@jax.jit
def _argmax_hit(probs, top, n):
    # the rows of best_of_n_law's π^BoN_N (one compilation for every N: n is traced)
    law = jax.vmap(lambda row: _best_of_n_row(row, n))(probs)
    return jnp.sum(jnp.where(top, law, 0.0), axis=1)


def self_reward_curves(log_table, correct, ns, key: jax.Array | None = None, majority_trials: int = 256,
                       max_outcomes: int = EXACT_MAJORITY_OUTCOMES) -> dict:
    """Exact best-of-N per prompt under each self-reward, from the table (Appendix A); each entry [K, n] over ``ns``:

    * ``acc_ll`` / ``loglik_ll``: accuracy and E[log π(pick|x)] of the log-likelihood pick (= length-normalized here);
    * ``acc_am`` / ``loglik_am``: the answer-marginal reward r(y|x) = π(ans(y)|x) (the population vote; ties to the
      first drawn);
    * ``acc_mv`` / ``loglik_mv``: sample majority vote of the N answers (ties to the answer drawn first), returning
      the first draw with the winning answer: exact (``majority_winner_law``) while the count vectors number at most
      ``max_outcomes`` (the cost is |X| times that; the default allows N ≤ 15 for 7 answers); beyond, the accuracy is
      the mean over ``majority_trials`` Monte-Carlo
      votes per prompt (from ``key``) and the log-likelihood is NaN;
    * ``pass``: pass@N = 1 − (1 − P[correct|x])^N (a skyline that uses the ground truth).

    ``correct`` bool [n, |Y|] (``correct_table``); answers are the responses' last tokens (|V| answer ids)."""
    table = _check_log_table(log_table)
    correct = np.asarray(correct)
    if correct.shape != table.shape or correct.dtype != bool:
        raise ValueError(f"correct must be a bool array of the table's shape {table.shape}, got {correct.dtype} "
                         f"{correct.shape}")
    ns = check_sample_sizes(ns)
    majority_trials = check_positive_int(majority_trials, "majority_trials")
    max_outcomes = check_positive_int(max_outcomes, "max_outcomes")
    key = jax.random.key(0) if key is None else key
    probs = np.exp(table)
    vocab = _vocab_of(table.shape[1], correct)
    answers = np.arange(table.shape[1]) % vocab
    answer_mass = np.stack([probs[:, answers == a].sum(axis=1) for a in range(vocab)], axis=1)  # [n, A]
    values = {"acc": correct.astype(np.float64), "loglik": table}
    out = {}
    nsj = jnp.asarray(ns, jnp.float64)
    for reward, scores in (("ll", table), ("am", answer_mass[:, answers])):
        for name, value in values.items():
            out[f"{name}_{reward}"] = np.asarray(_pick_expectations(jnp.asarray(probs), jnp.asarray(scores),
                                                                    jnp.asarray(value), nsj))
    # majority: the winner's law over answers, then the first draw with that answer is π restricted to it
    correct_answer = _correct_answers(correct, answers, vocab)
    conditional = np.stack([(probs * table)[:, answers == a].sum(axis=1) / answer_mass[:, a]
                            for a in range(vocab)], axis=1)  # E[log π | answer a]
    rows = np.arange(len(table))
    shares = answer_mass / answer_mass.sum(axis=1, keepdims=True)
    acc_mv, loglik_mv = [], []
    for index, n in enumerate(ns.tolist()):
        if math.comb(n + vocab - 1, vocab - 1) <= max_outcomes:
            law = majority_winner_law(shares, n, max_outcomes)
            acc_mv.append(law[rows, correct_answer])
            loglik_mv.append((law * conditional).sum(axis=1))
        else:  # too many count vectors for the exact law: Monte Carlo over fresh draws of the N answers
            trials = _majority_monte_carlo(jax.random.fold_in(key, index), jnp.asarray(shares),
                                           jnp.asarray(correct_answer), n, majority_trials)
            acc_mv.append(np.asarray(trials, dtype=np.float64).mean(axis=0))
            loglik_mv.append(np.full(len(table), np.nan))
    out["acc_mv"], out["loglik_mv"] = np.stack(acc_mv), np.stack(loglik_mv)
    hit = np.clip((probs * correct).sum(axis=1), 0.0, 1.0)
    out["pass"] = -np.expm1(ns[:, None] * np.log1p(-np.minimum(hit, 1.0 - 1e-300))[None, :])
    return out


def _vocab_of(num_responses: int, correct: np.ndarray) -> int:
    # |V| from the table width: the smallest v >= 2 with a power equal to |Y| that makes each row's correct set one
    # last-token class (the modular-sum task's answers)
    for vocab in range(2, num_responses + 1):
        power = vocab
        while power < num_responses:
            power *= vocab
        if power == num_responses and _one_answer_class(correct, vocab):
            return vocab
    raise ValueError("correct must mark, in every row, exactly the responses of one last token (an answer class)")


def _one_answer_class(correct: np.ndarray, vocab: int) -> bool:
    answers = np.arange(correct.shape[1]) % vocab
    classes = np.stack([correct[:, answers == a].all(axis=1) for a in range(vocab)], axis=1)
    return bool((classes.sum(axis=1) == 1).all() and (correct.sum(axis=1) == correct.shape[1] // vocab).all())


def _correct_answers(correct: np.ndarray, answers: np.ndarray, vocab: int) -> np.ndarray:
    return np.argmax(np.stack([correct[:, answers == a].all(axis=1) for a in range(vocab)], axis=1), axis=1)


def bon_monte_carlo_picks(key: jax.Array, policy, prompts, num_samples: int) -> tuple[np.ndarray, dict]:
    """int [n, N]: the response index of best-of-k's pick (log π self-reward, first drawn among ties) among the first
    k of ``num_samples`` draws through the sealed ``Oracle(policy)`` at each of ``prompts``, for k = 1..N (one batch
    of N draws answers every k ≤ N). Returns the picks and the oracle's query count."""
    _check_policy(policy)
    prompts = _prompt_array(policy, prompts)
    num_samples = check_positive_int(num_samples, "num_samples")
    batch, oracle = Oracle(policy).sample(key, prompts, num_samples)
    picks = _picks(batch.responses, batch.log_probs, policy.vocab_size)
    return np.asarray(picks), {"samples": int(oracle.queries.samples)}


@partial(jax.jit, static_argnums=2)
def _picks(responses, log_probs, vocab):
    best = running_best_index(log_probs)  # [n, N]
    chosen = jnp.take_along_axis(responses, best[..., None], axis=1)  # [n, N, H]
    weights = jnp.asarray([vocab ** (responses.shape[-1] - 1 - h) for h in range(responses.shape[-1])], jnp.int64)
    return jnp.sum(chosen * weights, axis=-1)

