"""User methods for the explore tests, loaded by ``tests/explore/user_methods.py:FUNCTION`` as a user's would be."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import TabularClass
from sharpsim.core.policy import TabularPolicy

SAMPLES_PER_PROMPT = 2


def split_sft(key, oracle, num_queries):
    """SFT-Sharpening with N = 2 (N = 1 at m = 1) and n = ⌊m/N⌋ prompts (static budget: one compilation per budget)."""
    model_class = TabularClass(oracle.num_responses, num_prompts=oracle.num_prompts)
    samples = min(SAMPLES_PER_PROMPT, num_queries)
    return sft_sharpen(key, oracle, model_class, num_queries // samples, samples)


def first_seen(key, oracle, num_queries, *, max_queries):
    """π̂(·|x) = the point mass on the first response sampled at x (one sample per prompt; traced budget)."""
    key_prompts, key_samples = jax.random.split(key)
    prompts, oracle = oracle.draw_prompts(key_prompts, max_queries)
    active = jnp.arange(max_queries) < num_queries
    batch, oracle = oracle.sample(key_samples, prompts, 1, active=active)
    order = jnp.where(active, jnp.arange(max_queries), max_queries)
    first = jnp.full(oracle.num_prompts, max_queries).at[prompts].min(order)
    seen = first < max_queries
    response = batch.responses[jnp.minimum(first, max_queries - 1), 0]
    table = jax.nn.one_hot(response, oracle.num_responses)
    probs = jnp.where(seen[:, None], table, 1.0 / oracle.num_responses)
    return TabularPolicy(probs), oracle


def overspender(key, oracle, num_queries):
    """Spends twice its budget: explore must refuse it."""
    prompts, oracle = oracle.draw_prompts(key, 1)
    _, oracle = oracle.sample(key, prompts, 2 * num_queries)
    return TabularPolicy(jnp.full((oracle.num_prompts, oracle.num_responses), 1.0 / oracle.num_responses)), oracle


NOT_A_FUNCTION = 3
