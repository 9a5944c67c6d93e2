"""An example user method for ``sharpsim explore --methods ...,sharpsim.explore.example_method:pooled_argmax``.

It follows the protocol of ``explore.user`` (``FUNCTION(key, oracle, num_queries, *, max_queries) -> (result,
oracle)``) and is loaded by the same ``MODULE:FUNCTION`` path as any user's function: the default map shows it as a
user algorithm would appear.

``pooled_argmax`` is the learner that memorizes, per prompt, the most likely response it has seen: m prompts
x_i ∼ μ with one sample y_i ∼ π_base(·|x_i) each (m queries), then π̂(·|x) uniform on the responses of highest
log π_base(y|x) seen at x, pooled over every visit of x (the uniform row where x was never drawn). It is sharp at x
as soon as y*(x) has been sampled there once, so it needs about log(|X|/ρ)/(μ(x)π_base(y*(x)|x)) samples per prompt:
a coupon-collector baseline against SFT, which needs a majority of y*(x) among the picks at x.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sharpsim.core.policy import TabularPolicy


def pooled_argmax(key, oracle, num_queries, *, max_queries: int):
    """The learner of the module docstring with a traced budget ``num_queries`` ≤ ``max_queries`` (static): the
    draws are padded to ``max_queries`` and only the first ``num_queries`` are sampled (and charged)."""
    key_prompts, key_samples = jax.random.split(key)
    prompts, oracle = oracle.draw_prompts(key_prompts, max_queries)
    active = jnp.arange(max_queries) < num_queries
    batch, oracle = oracle.sample(key_samples, prompts, 1, active=active)
    responses, log_probs = batch.responses[:, 0], batch.log_probs[:, 0]  # inactive draws: −1, −inf
    num_prompts, num_responses = oracle.num_prompts, oracle.num_responses
    best = jnp.full(num_prompts, -jnp.inf).at[prompts].max(log_probs)
    is_best = active & (log_probs == best[prompts])
    marks = jnp.zeros((num_prompts, num_responses)).at[prompts, jnp.where(is_best, responses, 0)].max(
        is_best.astype(jnp.float64))
    counts = marks.sum(axis=-1, keepdims=True)
    probs = jnp.where(counts > 0, marks / jnp.maximum(counts, 1.0), 1.0 / num_responses)
    return TabularPolicy(probs), oracle
