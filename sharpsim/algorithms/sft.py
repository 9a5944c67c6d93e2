"""SFT-Sharpening (digest §3.3, Section 2.1; Thm 4.1 / 4.1′): amortise best-of-N by maximum likelihood.

    1. x_1, …, x_n ∼ μ;
    2. y_{i,1}, …, y_{i,N} ∼ π_base(·|x_i);
    3. y_i^BoN = argmax_j log π_base(y_{i,j}|x_i)      (ties: the first sample, see ``best_of_n``);
    4. π̂ = argmax_{π∈Π} Σ_i log π(y_i^BoN|x_i)          (``model_class.fit``).

Thm 4.1: with n = c·log(|Π|/ρ)/(δε) and N = c·C_cov·log(2/δ)/ε, under Assumption 4.1 (π^BoN_N ∈ Π), w.p.
≥ 1 − ρ, P_x[π̂(y*(x)|x) ≤ 1 − δ] ≤ ε with m = n·N sample-and-evaluate queries (Eq. 7).

Usage (jit/vmap over seeds; ``num_prompts``/``num_samples`` are static Python ints)::

    run = jax.jit(jax.vmap(lambda key: sft_sharpen(key, oracle, model_class, n, N)[0]))
    results = run(jax.random.split(key, seeds))   # results.policy, results.queries.samples == n·N
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from sharpsim.core.validation import check_positive_int
from sharpsim.algorithms.best_of_n import best_of_n
from sharpsim.core.oracle import Oracle, QueryCount


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class SFTResult:
    """``policy``: the fit returned by ``model_class.fit`` (TabularPolicy or an object with ``.to_tabular()``);
    ``queries``: the queries *this run* used (prompts n, samples n·N, evaluations 0), not the oracle's
    cumulative ledger; ``prompts`` [n], ``responses`` [n] (the BoN picks, the SFT targets) and
    ``log_probs`` [n] = log π_base of each pick."""

    policy: object
    queries: QueryCount
    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array


def queries_used(before: Oracle, after: Oracle) -> QueryCount:
    """The queries charged between two states of an oracle."""
    return jax.tree_util.tree_map(lambda a, b: a - b, after.queries, before.queries)


def check_class_matches_oracle(model_class, oracle) -> None:
    """A class must live on the base's prompt and response spaces; say which size differs and how to fix it."""
    if not isinstance(oracle, Oracle):
        raise TypeError(f"oracle must be a sharpsim Oracle, got {type(oracle).__name__}")
    if not callable(getattr(model_class, "fit", None)):
        raise TypeError(f"model_class must offer .fit(prompts, responses, weights=None); got {type(model_class).__name__}")
    base = oracle.base
    for size in ("num_prompts", "num_responses"):
        base_size, class_size = getattr(base, size, None), getattr(model_class, size, None)
        if base_size is not None and class_size is not None and int(base_size) != int(class_size):
            raise ValueError(
                f"model_class has {size}={class_size} but the oracle's base policy has {size}={base_size}; "
                "build the class on the base's spaces (e.g. TabularClass.like(base))"
            )


def check_finite_response_base(oracle, algorithm: str) -> None:
    """RLHF and XPO index responses by number; refuse an autoregressive base (its samples are token sequences)."""
    from sharpsim.policies.autoregressive import AutoregressivePolicy

    if isinstance(oracle.base, AutoregressivePolicy):
        raise TypeError(
            f"{algorithm} needs a base over a finite response set whose samples are response indices; the oracle's "
            f"base is a {type(oracle.base).__name__} (samples are token sequences). Pass Oracle(base.to_tabular()) "
            "to run it on the enumerated sequence space"
        )


def training_targets(model_class, base, prompts: jax.Array, responses: jax.Array) -> jax.Array:
    """The SFT targets in the form ``model_class.fit`` takes: token sequences [n, H] from an autoregressive
    base become response indices (lexicographic order, ``sequences_to_indices``) unless the class fits
    sequences itself (``takes_sequences = True``, e.g. ``AutoregressiveLinearClass``)."""
    if responses.ndim > prompts.ndim and not getattr(model_class, "takes_sequences", False):
        from sharpsim.policies.autoregressive import sequences_to_indices

        return sequences_to_indices(responses, base.vocab_size)
    return responses


def sft_sharpen(key: jax.Array, oracle: Oracle, model_class, num_prompts: int, num_samples: int):
    """SFT-Sharpening with n = ``num_prompts`` prompts and N = ``num_samples`` samples per prompt.

    Returns ``(SFTResult, oracle)``, the oracle charged exactly n prompts and n·N samples.
    Raises ``ValueError``/``TypeError`` for n or N not a positive integer, or a class on other spaces.
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_samples = check_positive_int(num_samples, "num_samples")
    check_class_matches_oracle(model_class, oracle)
    key_prompts, key_samples = jax.random.split(key)
    start = oracle
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    picks, oracle = best_of_n(key_samples, oracle, prompts, num_samples)
    fitted = model_class.fit(prompts, training_targets(model_class, oracle.base, prompts, picks.responses))
    result = SFTResult(fitted, queries_used(start, oracle), prompts, picks.responses, picks.log_probs)
    return result, oracle
