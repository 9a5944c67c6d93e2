"""A user's own sharpening algorithm, not one of the paper's: best-of-N under the *answer-majority* self-reward
(self-consistency), amortized by SFT.

For an autoregressive base over V^H the *answer* of a response y is its last token y_H (a chain of thought y_1..y_{H-1}
followed by an answer); for a tabular base the answer is the response itself.

    1. x_1, …, x_n ∼ μ;  y_{i,1}, …, y_{i,N} ∼ π_base(·|x_i)                  (n·N sample queries);
    2. a_i = the most frequent answer among the N samples (ties: the smallest answer);
    3. y_i = the most likely sample, by log π_base(y|x_i), among those whose answer is a_i (ties: the first);
    4. π̂ = the tabular MLE of the pairs (x_i, y_i)  (SFT, as in SFT-Sharpening, Section 2.1).

Unlike SFT-Sharpening's pick (the most likely of the N samples), the pick must agree with the majority answer. It is
sharp for the sequence argmax y*(x) of π_base where y*(x) carries the most likely answer (``claim.py`` states where
the promise is claimed).

* ``answer_majority_sft(key, oracle, model_class, num_prompts, num_samples)``: the algorithm;
* ``make_algorithm(instance, num_prompts=64, num_samples=8)``: the builder ``sharpsim check`` / ``check_algorithm``
  / ``check_guarantee`` take;
* ``method(key, oracle, num_queries)``: the same algorithm as an explore method (``sharpsim explore --methods
  examples/user_algorithm/algorithm.py:method``): it splits a budget of m queries as N = ⌈√m⌉, n = ⌊m/N⌋;
* ``example_instance()``: a small tree policy (V = 2, H = 2) to run the conformance checks on.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

import sharpsim as ss


def answers_of(responses, oracle):
    """The answer of each response: the last token of a sequence, or the response itself (tabular base)."""
    return responses[..., -1] if oracle.horizon is not None else responses


def majority_picks(responses, log_probs, oracle):
    """[n] picks (responses as the oracle returned them): the most likely sample with the majority answer."""
    answers = answers_of(responses, oracle)  # [n, N]
    num_answers = oracle.vocab_size if oracle.horizon is not None else oracle.num_responses
    votes = jax.nn.one_hot(answers, num_answers, dtype=jnp.int64).sum(axis=-2)  # [n, A]
    majority = jnp.argmax(votes, axis=-1)  # the smallest answer among tied counts
    score = jnp.where(answers == majority[:, None], log_probs, -jnp.inf)
    best = jnp.argmax(score, axis=-1)
    index = best.reshape(best.shape + (1,) * (responses.ndim - best.ndim))
    return jnp.take_along_axis(responses, index, axis=1).squeeze(1)


def fit_picks(model_class, oracle, prompts, picks):
    """SFT: the class's maximum-likelihood fit to (prompt, pick), picks as response indices."""
    targets = ss.sequences_to_indices(picks, oracle.vocab_size) if oracle.horizon is not None else picks
    return model_class.fit(prompts, targets)


def answer_majority_sft(key, oracle, model_class, num_prompts: int, num_samples: int):
    """The algorithm of the module docstring; returns ``(ss.Result, oracle)``, charged n prompts and n·N samples."""
    start = oracle
    key_prompts, key_samples = jax.random.split(key)
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    batch, oracle = oracle.sample(key_samples, prompts, num_samples)
    picks = majority_picks(batch.responses, batch.log_probs, oracle)
    policy = fit_picks(model_class, oracle, prompts, picks)
    used = jax.tree_util.tree_map(jnp.subtract, oracle.queries, start.queries)
    return ss.Result(policy, used), oracle


def make_algorithm(instance, num_prompts: int = 64, num_samples: int = 8):
    """The builder: the algorithm with the tabular class on ``instance``'s spaces and μ (what a class may know)."""
    return functools.partial(answer_majority_sft, model_class=ss.TabularClass.like(instance),
                             num_prompts=int(num_prompts), num_samples=int(num_samples))


def method(key, oracle, num_queries):
    """Explore's protocol ``FUNCTION(key, oracle, num_queries) -> (result, oracle)``: N = ⌈√m⌉ samples per prompt,
    n = ⌊m/N⌋ prompts (n·N ≤ m queries), μ unknown to the class (uniform; the referee weighs prompts by the
    base's μ)."""
    num_queries = int(num_queries)
    num_samples = max(1, math.ceil(math.sqrt(num_queries)))
    num_prompts = max(1, num_queries // num_samples)
    model_class = ss.TabularClass(oracle.num_responses, num_prompts=oracle.num_prompts)
    return answer_majority_sft(key, oracle, model_class, num_prompts, num_samples)


def example_instance():
    """Three prompts, V = 2, H = 2 (4 responses, lexicographic: 00, 01, 10, 11): at every prompt the argmax
    sequence carries the most likely answer (the last token)."""
    joint = np.array([[0.1, 0.45, 0.15, 0.3],
                      [0.5, 0.1, 0.25, 0.15],
                      [0.05, 0.2, 0.15, 0.6]])
    return ss.TreePolicy.from_joint(joint, 2, np.array([0.5, 0.3, 0.2]))
