"""The Bayes-optimal learner on the hard family of App. H (Thm 3.1 / D.2), under the uniform prior on I.

The learner knows the class Π = {π^I : I ∈ [M]^d} (so d, M, Δ, and the masses a = π^I(y_{j_i}|x_i),
b = π^I(y_k|x_i) for k ≠ j_i) and sees only oracle answers: the prompts drawn and, for every sample, the pair
(y, log π_base(y|x)). Its target is the success criterion of Thm 3.1′, E_I E P_x[π̂(y^I_γ(x)|x) > 1/2].

Exact posterior. Write the answers at rare prompt x_i as (y_{k_1}, ℓ_1), …, (y_{k_r}, ℓ_r). Under π^I the
likelihood of the whole record is

    Π_t μ(x_t) · π^I(y_t|x_t) · 1{ℓ_t = log π^I(y_t|x_t)},

μ does not depend on I, and π^I(·|x_i) depends on I only through j_i, so with the uniform (product) prior the
posterior is a product over rare prompts, p(I | data) = Π_i p_i(j_i), with

    p_i(j) ∝ Π_t π_j(y_{k_t}) 1{ℓ_t = log π_j(y_{k_t})},   π_j(y_k) = a if k = j else b   (a > b since γ > 0).

The log-likelihood *reveals* the argmax: ℓ_t = log a iff k_t = j_i. Hence
* if some sample at x_i had ℓ_t = log a (at response y_k): p_i = δ_k (the indicator kills every j ≠ k);
* otherwise every ℓ_t = log b: p_i(j) ∝ b^r · 1{j ∉ S_i}, uniform on the M − |S_i| candidates never drawn
  at x_i (S_i = the set of distinct responses seen there; unseen prompts have S_i = ∅ and p_i uniform).
(Without the log-likelihoods the posterior would be ∝ (a/b)^{c_j} with c_j the count of y_j; with them it is
sharper: every drawn non-argmax response is ruled out.)

Bayes decision. For the 0-1 criterion "π̂(y_{j_i}|x_i) > 1/2", the best output at x_i puts all its mass on a
posterior mode; its success probability is max_j p_i(j): 1 if revealed, else 1/(M − |S_i|). We take the
lowest-index mode. At x_0 the class forces P_0 = δ_{y_0}, which is output without sampling knowledge.
Consequences used in the tests: on the same data the Bayes learner is right wherever SFT-Sharpening (whose MLE
can only be right at x_i if y_{j_i} was drawn there, or if i is unseen and j_i is candidate 0) is right.

Sampling rules.
* ``bayes_hard_learner`` (Def. 3.2): n prompts, N samples each, m = nN (the same draws as ``sft_sharpen``
  with the same key). On this family N = 1 is the best split of a budget m: coordinate i is found with
  probability ≈ 1 − exp(−(nΔ/d)(1 − (1 − a)^N)), and n(1 − (1 − a)^N) at fixed nN is largest at N = 1.
* ``adaptive_bayes_hard_learner`` (Def. D.1): draw n prompts; take no sample at x_0 (the class fixes it);
  at a rare prompt, sample until the argmax is revealed, and take no sample at a prompt already revealed.
  Samples at a revealed prompt carry no information, so this spends E[m] = (a^{-1})·#{rare prompts visited};
  we do not claim it is the optimal adaptive rule, only the natural one matching Lemma H.4's E[m_i] ≳ M.
  A finite per-prompt tape of ``max_samples`` stands in for the infinite one (as in ``adaptive_sft``):
  a prompt whose argmax is not found within it is reported in ``hit_cap``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from sharpsim.algorithms.base import check_class_matches_oracle, check_oracle, queries_used
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.results import Result
from sharpsim.core.validation import (
    check_finite_nonnegative, check_index_array, check_positive_int, check_real_array, is_concrete,
)
from sharpsim.instances.hard import HardClass


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class BayesHardResult(Result):
    """``policy``: π̂ (δ_{y_0} at x_0, δ on the posterior mode at each rare prompt); ``queries`` this run was
    charged; ``index`` [d] the 0-based modes; ``posterior`` [d, M]; ``samples_per_prompt`` [d] samples spent
    at each rare prompt; ``hit_cap`` [d] (adaptive rule only: tape exhausted before the argmax appeared)."""

    index: jax.Array
    posterior: jax.Array
    samples_per_prompt: jax.Array
    hit_cap: jax.Array


def _check_class(model_class) -> HardClass:
    if not isinstance(model_class, HardClass):
        raise TypeError(f"model_class must be the hard family's HardClass, got {type(model_class).__name__}")
    return model_class


def reveals_argmax(model_class: HardClass, log_probs) -> jax.Array:
    """ℓ = log π(y|x_i) reveals the argmax iff it is closer to log a than to log b (they differ: a > b)."""
    return log_probs > 0.5 * (jnp.log(model_class.top_mass) + jnp.log(model_class.other_mass))


def observation_sets(model_class: HardClass, prompts, responses, log_probs, weights=None):
    """(seen, revealed), bool [max_rare, max_candidates]: candidate j of rare prompt i was drawn / was drawn
    with ℓ = log a.

    ``prompts`` [n], ``responses`` and ``log_probs`` [n, N] (one row of samples per drawn prompt);
    ``weights`` [n] (optional): prompts with weight 0 are ignored (a prefix mask for fixed-shape budgets).
    Revealed means ℓ closer to log a than to log b (they differ: a > b).
    """
    model_class = _check_class(model_class)
    prompts, responses, log_probs = jnp.asarray(prompts), jnp.asarray(responses), jnp.asarray(log_probs)
    if is_concrete(prompts, responses, log_probs) and (
            responses.shape != log_probs.shape or responses.shape[:1] != prompts.shape or prompts.ndim != 1):
        raise ValueError(f"need prompts [n] and responses, log_probs [n, N]; got shapes {prompts.shape}, "
                         f"{responses.shape}, {log_probs.shape}")
    active = jnp.ones(prompts.shape, bool) if weights is None else jnp.asarray(weights) > 0
    active = jnp.broadcast_to(active[:, None], responses.shape)
    is_top = reveals_argmax(model_class, log_probs)
    rows = jnp.broadcast_to(prompts[:, None], responses.shape)
    shape = (model_class.num_prompts, model_class.num_responses)
    seen = jnp.zeros(shape, bool).at[rows, responses].max(active)
    revealed = jnp.zeros(shape, bool).at[rows, responses].max(active & is_top)
    return seen[1:, 1:], revealed[1:, 1:]


def posterior_from_sets(seen: jax.Array, revealed: jax.Array, candidate_mask=None) -> jax.Array:
    """[d, M]: p_i = δ on the revealed candidate if any, else uniform on the unseen ones (module docstring).
    ``candidate_mask`` [M] marks the real candidates of a padded class. (If every candidate was seen and none
    revealed — impossible under Π — the row falls back to uniform on the real candidates.)"""
    real = jnp.ones(seen.shape[-1], bool) if candidate_mask is None else candidate_mask
    support = jnp.where(jnp.any(revealed, axis=-1, keepdims=True), revealed, ~seen & real)
    support = jnp.where(jnp.any(support, axis=-1, keepdims=True), support, real)
    return support / jnp.sum(support, axis=-1, keepdims=True)


def hard_posterior(model_class: HardClass, prompts, responses, log_probs, weights=None) -> jax.Array:
    """The exact posterior [max_rare, max_candidates] of the 0-based hidden index I under the uniform prior,
    from oracle answers (rows past d are meaningless).

    ``prompts`` [n] and ``responses`` [n, N] are indices into the class's spaces (an out-of-range index is an
    error, not clamped), ``log_probs`` [n, N] the oracle's log-likelihoods (not NaN), ``weights`` [n] finite and
    non-negative."""
    model_class = _check_class(model_class)
    prompts = check_index_array(prompts, "prompts", model_class.num_prompts, "prompt")
    responses = check_index_array(responses, "responses", model_class.num_responses, "response")
    log_probs = check_real_array(log_probs, "log_probs", finite=False)
    if weights is not None:
        weights = check_real_array(weights, "weights")
        check_finite_nonnegative(weights, "weights")
        if jnp.shape(weights) != jnp.shape(prompts):
            raise ValueError(f"weights must have the shape of prompts {tuple(jnp.shape(prompts))} (one weight a "
                             f"drawn prompt), got shape {tuple(jnp.shape(weights))}")
    sets = observation_sets(model_class, prompts, responses, log_probs, weights)
    return posterior_from_sets(*sets, model_class.candidate_mask)


def bayes_policy(model_class: HardClass, index: jax.Array) -> TabularPolicy:
    """π̂ = δ_{y_0} at x_0 and δ_{y_{index_i + 1}} at x_i: the Bayes decision for the criterion π̂(y*|x) > 1/2."""
    table = jnp.zeros((model_class.num_prompts, model_class.num_responses)).at[0, 0].set(1.0)
    table = table.at[jnp.arange(1, model_class.num_prompts), index + 1].set(1.0)  # padded rows: any δ
    return TabularPolicy.tree_unflatten(None, (table, model_class.prompt_probs))


def _result(model_class, seen, revealed, queries, samples_per_prompt, hit_cap) -> BayesHardResult:
    posterior = posterior_from_sets(seen, revealed, model_class.candidate_mask)
    index = jnp.argmax(posterior, axis=-1)  # lowest-index mode
    return BayesHardResult(bayes_policy(model_class, index), queries, index, posterior, samples_per_prompt,
                           hit_cap)


def _check_num_active(num_active, num_prompts: int):
    """``num_active`` defaults to n; a concrete value must lie in [1, n] (a traced one is the caller's promise)."""
    if num_active is None:
        return num_prompts
    if is_concrete(num_active):
        num_active = check_positive_int(num_active, "num_active")
        if num_active > num_prompts:
            raise ValueError(f"num_active must be <= num_prompts={num_prompts}, got {num_active}")
    return num_active


def bayes_hard_learner(key: jax.Array, oracle: Oracle, model_class: HardClass, num_prompts: int,
                       num_samples: int = 1, num_active=None):
    """Non-adaptive Bayes learner: n prompts × N samples (Def. 3.2), then the posterior mode per rare prompt.

    The draws are those of ``sft_sharpen(key, oracle, …, n, N)`` (same key split and oracle calls).
    ``num_active`` (optional, may be traced, ≤ n): sample only at the first ``num_active`` prompts — the same
    algorithm at n = num_active, reading a prefix of the i.i.d. draws — so one compiled function serves every
    budget. The oracle is charged n prompts (all are drawn) and num_active·N samples; ``queries`` reports
    exactly that. Returns ``(BayesHardResult, oracle)``.
    """
    model_class = _check_class(model_class)
    check_class_matches_oracle(model_class, oracle)
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_samples = check_positive_int(num_samples, "num_samples")
    num_active = _check_num_active(num_active, num_prompts)
    start = check_oracle(oracle)
    key_prompts, key_samples = jax.random.split(key)
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    active = jnp.arange(num_prompts) < num_active
    batch, oracle = oracle.sample(key_samples, prompts, num_samples, active=active)
    seen, revealed = observation_sets(model_class, prompts, batch.responses, batch.log_probs, active)
    per_prompt = jnp.zeros(model_class.num_prompts, jnp.int64).at[prompts].add(active * num_samples)[1:]
    result = _result(model_class, seen, revealed, queries_used(start, oracle), per_prompt,
                     jnp.zeros(model_class.max_rare, bool))
    return result, oracle


def adaptive_bayes_hard_learner(key: jax.Array, oracle: Oracle, model_class: HardClass, num_prompts: int,
                                max_samples: int, num_active=None):
    """Adaptive Bayes learner (Def. D.1): n prompts; sample each newly visited rare prompt until its argmax is
    revealed (at most ``max_samples``); nothing at x_0 or at a prompt already revealed.

    Each rare prompt's samples come from ``Oracle.sample_until`` on its own tape of ``max_samples`` i.i.d.
    draws (the concatenation of its visits' streams: with "sample until revealed" only the first visit
    samples), stopping at the first draw whose ℓ reveals the argmax (the running maximum of ℓ is closer to
    log a than to log b); rare prompts never visited draw nothing. The oracle is charged n prompts and exactly
    Σ_i 1{x_i visited}·min(T_i, max_samples) samples, T_i the first revealing draw. ``num_active`` as in
    ``bayes_hard_learner`` (only the first ``num_active`` prompts count as visits). Returns
    ``(BayesHardResult, oracle)``.
    """
    model_class = _check_class(model_class)
    check_class_matches_oracle(model_class, oracle)
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    max_samples = check_positive_int(max_samples, "max_samples")
    num_active = _check_num_active(num_active, num_prompts)
    start = check_oracle(oracle)
    key_prompts, key_samples = jax.random.split(key)
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    active = jnp.arange(num_prompts) < num_active
    visited = jnp.zeros(model_class.num_prompts, bool).at[prompts].max(active)[1:]
    rare = jnp.arange(1, model_class.num_prompts)
    tape, oracle = oracle.sample_until(key_samples, rare, max_samples,
                                       lambda k, running_max: reveals_argmax(model_class, running_max),
                                       active=visited)
    drawn = tape.responses >= 0
    candidates = jnp.where(drawn, tape.responses - 1, 0)
    rows = jnp.arange(model_class.max_rare)[:, None]
    seen = jnp.zeros((model_class.max_rare, model_class.max_candidates), bool).at[rows, candidates].max(drawn)
    found = drawn & reveals_argmax(model_class, tape.log_probs)
    revealed = jnp.zeros_like(seen).at[rows, candidates].max(found)
    result = _result(model_class, seen, revealed, queries_used(start, oracle), tape.num_samples,
                     tape.hit_cap)
    return result, oracle
