"""SFT-Sharpening (Section 2.1; Theorem 4.1 / 4.1′): amortize best-of-N by maximum likelihood.

    1. x_1, …, x_n ∼ μ;
    2. y_{i,1}, …, y_{i,N} ∼ π_base(·|x_i);
    3. y_i^BoN = argmax_j log π_base(y_{i,j}|x_i)      (ties: the first sample, see ``best_of_n``);
    4. π̂ = argmax_{π∈Π} Σ_i log π(y_i^BoN|x_i)          (``model_class.fit``).

Thm 4.1: with n = c·log(|Π|/ρ)/(δε) and N = c·C_cov·log(2/δ)/ε, under Assumption 4.1 (π^BoN_N ∈ Π), w.p.
≥ 1 − ρ, P_x[π̂(y*(x)|x) ≤ 1 − δ] ≤ ε with m = n·N sample-and-evaluate queries (Eq. 7).

Usage (jit/vmap over seeds; ``num_prompts``/``num_samples`` are static Python ints)::

    run = jax.jit(jax.vmap(lambda key: sft_sharpen(key, oracle, model_class, n, N)[0]))
    results = run(jax.random.split(key, seeds))   # results.policy, results.queries.samples == n·N

With a budgeted oracle, wrap the transformed function with ``sharpsim.checked`` (``checked(jax.jit(...))``).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from sharpsim.algorithms.base import check_class_matches_oracle, queries_used, training_targets
from sharpsim.algorithms.best_of_n import best_of_n
from sharpsim.core.oracle import Oracle
from sharpsim.core.results import Result
from sharpsim.core.validation import check_positive_int


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class SFTResult(Result):
    """``policy``: the fit returned by ``model_class.fit`` (TabularPolicy or an object with ``.to_tabular()``);
    ``queries``: what this run was charged (prompts n, samples n·N, evaluations 0), not the oracle's
    cumulative ledger; ``prompts`` [n], ``responses`` [n] (the BoN picks, the SFT targets) and
    ``log_probs`` [n] = log π_base of each pick."""

    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array


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
    fitted = model_class.fit(prompts, training_targets(model_class, oracle, prompts, picks.responses))
    result = SFTResult(fitted, queries_used(start, oracle), prompts, picks.responses, picks.log_probs)
    return result, oracle
