"""XPO's round objective from running sufficient statistics (Algorithm 1; Section 4.3, Appendix J), so that a round
costs the same at every t and a run of T rounds costs O(T).

The objective over the data of rounds i ≤ t,

    α Σ_i log π(ỹ_i|x_i) + s Σ_i (β[log π(y_i|x_i) − ℓ_i] − β[log π(ỹ_i|x_i) − ℓ̃_i] − (ℓ_i − ℓ̃_i))²,

is, for a class whose logits are linear in its parameters p (log π_p(y|x) = ⟨p, φ(x, y)⟩ − log Z_p(x)), a fixed
function of a few sums over the data. The pair (y_i, ỹ_i) shares the prompt x_i, so the partition cancels inside the
square, whose residual is β⟨p, Δφ_i⟩ − (1+β) g_i with Δφ_i = φ(x_i, y_i) − φ(x_i, ỹ_i) and g_i = ℓ_i − ℓ̃_i:

    Σ_i residual_i² = β² pᵀ G p − 2β(1+β) ⟨p, c⟩ + (1+β)² q,
    G = Σ Δφ_i Δφ_iᵀ,  c = Σ g_i Δφ_i,  q = Σ g_i²,
    Σ_i log π(ỹ_i|x_i) = ⟨p, Σ_i φ(x_i, ỹ_i)⟩ − Σ_x n_x log Z_p(x)   (n_x: rounds at prompt x).

``LinearSoftmaxClass`` (φ the features, p = θ [d]): G is [d, d]. ``TabularClass`` (φ(x, y) the indicator of (x, y),
p the logits [X, Y]): G is block-diagonal, one [Y, Y] block per prompt (the Laplacian of the pairs seen at x), so the
statistics hold X·Y² numbers. Each round adds its pair to the statistics in O(d²) or O(1); each optimizer step costs
O(d²) (O(X·Y²)) plus the partition of the α-term, independent of t.

Rounding: the expanded square is a difference of sums over the data, so the objective's *value* carries an absolute
rounding error of order machine-ε · (1+β)² q (it can read a few ulps of q below 0 where the data are fit exactly); the
gradient 2β(βGp − (1+β)c) loses only ε-relative accuracy against ‖βGp‖.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from sharpsim.classes.linear_softmax import LinearSoftmaxClass
from sharpsim.classes.tabular import TabularClass

# The tabular Gram has X·Y² entries and every optimizer step reads it all; at this size a step costs about as much as
# one on a buffer of ~10³ rounds (on a CPU), so beyond it the buffer is the cheaper default for the runs we do.
TABULAR_STATISTICS_LIMIT = 2**16
LINEAR_STATISTICS_LIMIT = 2**20  # d ≤ 1024: a Gram matrix of 8 MiB


class PairStatistics(NamedTuple):
    """The sums over rounds i ≤ t that determine XPO's round objective (see the module docstring): ``gram`` G
    ([d, d] or [X, Y, Y]), ``cross`` c = Σ g_i Δφ_i and ``base_features`` Σ φ(x_i, ỹ_i) (the shape of the parameters),
    ``squares`` q = Σ g_i², ``prompt_counts`` n [X]."""

    gram: jax.Array
    cross: jax.Array
    squares: jax.Array
    base_features: jax.Array
    prompt_counts: jax.Array


def supports_statistics(model_class) -> bool:
    """Whether the round objective of ``model_class`` runs on ``PairStatistics`` by default: for the linear class when
    d² ≤ ``LINEAR_STATISTICS_LIMIT`` (its d×d Gram matrix costs d² a step, the buffer T·|Y|·d); for the tabular class
    when X·Y² ≤ ``TABULAR_STATISTICS_LIMIT``."""
    if isinstance(model_class, LinearSoftmaxClass):
        return model_class.dimension**2 <= LINEAR_STATISTICS_LIMIT
    if isinstance(model_class, TabularClass):
        return model_class.num_prompts * model_class.num_responses**2 <= TABULAR_STATISTICS_LIMIT
    return False


def empty_statistics(model_class) -> PairStatistics:
    """The statistics of no data (round 0)."""
    if isinstance(model_class, LinearSoftmaxClass):
        dimension = model_class.dimension
        gram, vector = jnp.zeros((dimension, dimension)), jnp.zeros(dimension)
    elif isinstance(model_class, TabularClass):
        shape = (model_class.num_prompts, model_class.num_responses)
        gram, vector = jnp.zeros(shape + shape[-1:]), jnp.zeros(shape)
    else:
        raise TypeError(f"model_class: pair statistics exist for LinearSoftmaxClass and TabularClass, got "
                        f"{type(model_class).__name__}")
    zero = jnp.zeros((), jnp.float64)
    return PairStatistics(gram.astype(jnp.float64), vector.astype(jnp.float64), zero, vector.astype(jnp.float64),
                          jnp.zeros(model_class.num_prompts, jnp.float64))


def add_round(model_class, statistics: PairStatistics, prompt, on_policy, base_response, on_policy_log_base,
              base_log_base) -> PairStatistics:
    """The statistics after one more round's datum (x, y, ỹ, ℓ = log π_base(y|x), ℓ̃ = log π_base(ỹ|x)); scalars."""
    gap = on_policy_log_base - base_log_base
    counts = statistics.prompt_counts.at[prompt].add(1.0)
    squares = statistics.squares + gap**2
    if isinstance(model_class, LinearSoftmaxClass):
        features = jnp.asarray(model_class.features, jnp.float64)
        base_feature = features[prompt, base_response]
        difference = features[prompt, on_policy] - base_feature
        return PairStatistics(statistics.gram + jnp.outer(difference, difference),
                              statistics.cross + gap * difference, squares,
                              statistics.base_features + base_feature, counts)
    # tabular: Δφ = e_(x,y) − e_(x,ỹ); its outer product is +1 on both diagonal entries and −1 off them (0 if y = ỹ)
    rows = jnp.stack([on_policy, base_response, on_policy, base_response])
    columns = jnp.stack([on_policy, base_response, base_response, on_policy])
    gram = statistics.gram.at[prompt, rows, columns].add(jnp.array([1.0, 1.0, -1.0, -1.0]))
    cross = statistics.cross.at[prompt, on_policy].add(gap).at[prompt, base_response].add(-gap)
    return PairStatistics(gram, cross, squares, statistics.base_features.at[prompt, base_response].add(1.0), counts)


def statistics_loss(log_partition, params, statistics: PairStatistics, beta, alpha, loss_scale):
    """XPO's round objective (``xpo_objective`` over every round so far) at ``params`` from ``statistics``;
    ``log_partition(params) -> [X]`` is the class's log Z, needed only by the α-term (skipped when α is the Python
    number 0)."""
    quadratic = jnp.einsum("...i,...ij,...j->", params, statistics.gram, params)
    regression = (beta**2 * quadratic - 2.0 * beta * (1.0 + beta) * jnp.vdot(params, statistics.cross)
                  + (1.0 + beta) ** 2 * statistics.squares)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return loss_scale * regression
    optimism = jnp.vdot(params, statistics.base_features) - jnp.vdot(statistics.prompt_counts,
                                                                     log_partition(params))
    return alpha * optimism + loss_scale * regression
