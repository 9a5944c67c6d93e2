"""Tabular instance families: base policies over a finite response set with controllable coverage, margin and size.

Each family documents its coverage coefficient C_cov = E_μ[1/π(y*(x)|x)] (Eq. 6) and margin γ_margin
(Assumption 4.2) as formulas (tests check them against ``referee.quantities``). Families with randomness take an
explicit ``key``. All register with ``instances.registry`` (``make("needle", ...)``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.policy import TabularPolicy
from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.instances.registry import check_key, check_normal_float, register_family


def _check_table(family: str, num_prompts: int, num_responses: int) -> None:
    """Refuse a [num_prompts, num_responses] table that would not fit in memory, before building it."""
    check_allocation((num_prompts, num_responses),
                     f"{family} with num_prompts={num_prompts}, num_responses={num_responses}")


def _spread_rows(top: np.ndarray, top_count: np.ndarray, num_responses: int, runner_up: np.ndarray | None):
    """Rows with ``top_count`` responses at ``top``, optionally one at ``runner_up``, the rest shared evenly."""
    rows = []
    for p_top, k, r in zip(top, top_count, runner_up if runner_up is not None else [None] * len(top)):
        row = np.zeros(num_responses)
        row[:k] = p_top
        if r is None:
            row[k:] = (1.0 - k * p_top) / (num_responses - k) if num_responses > k else 0.0
        else:
            row[k] = r
            rest = num_responses - k - 1
            row[k + 1 :] = (1.0 - k * p_top - r) / rest if rest > 0 else 0.0
        rows.append(row)
    return np.stack(rows)


@register_family("needle")
def needle(num_prompts: int = 4, num_responses: int = 64, coverage: float = 8.0, margin: float | None = None,
           prompt_probs=None) -> TabularPolicy:
    """Every prompt puts p* = 1/coverage on response 0 (the needle) and spreads the rest.

    Without ``margin`` the other |Y| − 1 responses share 1 − p* evenly:
        C_cov = coverage,   γ_margin = p*(|Y| − 1)/(1 − p*) − 1.
    With ``margin`` = γ, response 1 gets p*/(1 + γ) and the remaining |Y| − 2 share the rest evenly, which
    must not exceed p*/(1 + γ):  C_cov = coverage, γ_margin = γ. Needs 1 ≤ coverage < |Y|.
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_responses = check_positive_int(num_responses, "num_responses", minimum=2)
    _check_table("needle", num_prompts, num_responses)
    coverage = check_in_interval(coverage, "coverage", 1.0, float(num_responses), True, False)
    p_star = 1.0 / coverage
    runner_up = None
    if margin is not None:
        margin = check_in_interval(margin, "margin", 0.0, np.inf, False, False)
        runner_up = p_star / (1.0 + margin)
        rest = num_responses - 2
        leftover = 1.0 - p_star - runner_up
        if leftover < -1e-12 or (rest == 0 and abs(leftover) > 1e-12) or (rest > 0 and leftover / rest > runner_up):
            raise ValueError(
                f"needle with coverage={coverage} and margin={margin} is infeasible for num_responses={num_responses}: "
                f"the runner-up gets {runner_up:.4g} and the other {rest} responses must share {leftover:.4g} "
                "without exceeding it; lower the margin or raise num_responses"
            )
        runner_up = np.full(num_prompts, runner_up)
    rows = _spread_rows(np.full(num_prompts, p_star), np.ones(num_prompts, int), num_responses, runner_up)
    return TabularPolicy(rows, prompt_probs)


@register_family("near_tie")
def near_tie(num_prompts: int = 4, num_responses: int = 16, coverage: float = 4.0, margin: float = 0.01,
             prompt_probs=None) -> TabularPolicy:
    """A needle whose runner-up is within a factor 1 + margin of the argmax (margin → 0 is the near-tie
    case that motivates the margin of Assumption 4.2: the RLHF reward must be optimized to high precision to
    separate y* from the runner-up):  C_cov = coverage, γ_margin = margin."""
    _check_table("near_tie", check_positive_int(num_prompts, "num_prompts"),
                 check_positive_int(num_responses, "num_responses", minimum=2))
    margin = check_in_interval(margin, "margin", 0.0, np.inf, False, False)  # None would build a plain needle
    return needle(num_prompts, num_responses, coverage, margin, prompt_probs)


@register_family("two_type")
def two_type(num_prompts: int = 2, num_responses: int = 64, p_hi: float = 0.5, p_lo: float = 0.05,
             weight_lo: float = 0.5) -> TabularPolicy:
    """Two kinds of prompts: the first ⌈X/2⌉ ("easy") put p_hi on response 0, the rest ("hard") put p_lo;
    the other responses share the remainder evenly. μ gives total weight 1 − w to easy prompts and w to hard
    ones (uniform within a kind):
        C_cov = (1 − w)/p_hi + w/p_lo,
        γ_margin = min over the kinds present of p(|Y| − 1)/(1 − p) − 1.
    Needs 1/|Y| < p_lo ≤ p_hi ≤ 1, X ≥ 2 and w ∈ (0, 1).
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts", minimum=2)
    num_responses = check_positive_int(num_responses, "num_responses", minimum=2)
    _check_table("two_type", num_prompts, num_responses)
    p_hi = check_in_interval(p_hi, "p_hi", 1.0 / num_responses, 1.0, False, True)
    p_lo = check_in_interval(p_lo, "p_lo", 1.0 / num_responses, p_hi, False, True)
    weight_lo = check_in_interval(weight_lo, "weight_lo", 0.0, 1.0, False, False)
    num_easy = (num_prompts + 1) // 2
    is_easy = np.arange(num_prompts) < num_easy
    top = np.where(is_easy, p_hi, p_lo)
    rows = _spread_rows(top, np.ones(num_prompts, int), num_responses, None)
    prompt_probs = np.where(is_easy, (1.0 - weight_lo) / num_easy, weight_lo / (num_prompts - num_easy))
    return TabularPolicy(rows, prompt_probs)


@register_family("ties")
def ties(num_prompts: int = 4, num_responses: int = 16, num_tied: int = 2, p_top: float = 0.2,
         prompt_probs=None) -> TabularPolicy:
    """|y*(x)| = num_tied responses at p_top each; the others share 1 − k·p_top evenly:
        C_cov = 1/(k·p_top),  C̄_cov = 1/p_top,  γ_margin = p_top(|Y| − k)/(1 − k·p_top) − 1 (inf if k = |Y|).
    Needs k·p_top ≤ 1 and, when k < |Y|, p_top > (1 − k·p_top)/(|Y| − k)."""
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_responses = check_positive_int(num_responses, "num_responses")
    num_tied = check_positive_int(num_tied, "num_tied")
    _check_table("ties", num_prompts, num_responses)
    if num_tied > num_responses:
        raise ValueError(f"num_tied must be ≤ num_responses={num_responses}, got {num_tied}")
    p_top = check_in_interval(p_top, "p_top", 0.0, 1.0 / num_tied, False, True)
    if num_tied == num_responses and abs(p_top * num_tied - 1.0) > 1e-12:
        raise ValueError(f"with num_tied = num_responses = {num_tied}, p_top must be 1/{num_tied}, got {p_top}")
    if num_tied < num_responses and p_top <= (1.0 - num_tied * p_top) / (num_responses - num_tied):
        raise ValueError(
            f"p_top={p_top} is not above the even share of the other responses; raise p_top above "
            f"{1.0 / num_responses:.4g}"
        )
    rows = _spread_rows(np.full(num_prompts, p_top), np.full(num_prompts, num_tied), num_responses, None)
    return TabularPolicy(rows, prompt_probs)


@register_family("dirichlet")
def dirichlet(key: jax.Array, num_prompts: int = 8, num_responses: int = 16, concentration: float = 1.0,
              temperature: float = 1.0) -> TabularPolicy:
    """Rows π(·|x) ∝ q_x^(1/T) with q_x ∼ Dirichlet(concentration·1); μ uniform. No closed form for C_cov
    or γ_margin (random); small T sharpens (C_cov → 1), large T flattens (C_cov → |Y|)."""
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_responses = check_positive_int(num_responses, "num_responses")
    _check_table("dirichlet", num_prompts, num_responses)
    concentration = check_normal_float(
        check_in_interval(concentration, "concentration", 0.0, np.inf, False, False), "concentration")
    temperature = check_normal_float(
        check_in_interval(temperature, "temperature", 0.0, np.inf, False, False), "temperature")
    check_key(key)
    shape = (num_prompts, num_responses)
    gammas = jax.random.gamma(key, concentration, shape, dtype=jnp.float64)
    # tempering in log space keeps tiny Dirichlet draws from underflowing to exact zeros; a draw below the smallest
    # normal float (small concentration) takes its log from loggamma, the same draw computed in log space
    tiny = jnp.finfo(jnp.float64).tiny
    log_draws = jnp.log(jnp.maximum(gammas, tiny))
    if concentration < 1.0:
        log_draws = jnp.where(gammas >= tiny, log_draws, jax.random.loggamma(key, concentration, shape, jnp.float64))
    logits = log_draws / temperature
    # a temperature so small that log q / T overflows: shift each such row by its maximum first (the limit is the
    # row's argmax); rows that did not overflow keep the unshifted logits bit for bit
    shifted = (log_draws - jnp.max(log_draws, axis=-1, keepdims=True)) / temperature
    logits = jnp.where(jnp.all(jnp.isfinite(logits), axis=-1, keepdims=True), logits, shifted)
    return TabularPolicy.from_logits(logits)


@register_family("zipf")
def zipf(num_prompts: int = 4, num_responses: int = 64, exponent: float = 1.0, temperature: float = 1.0,
         key: jax.Array | None = None) -> TabularPolicy:
    """π(y|x) ∝ rank(y)^(−s/T) with s = exponent; ranks are 1..|Y| in response order, or a random
    permutation per prompt when ``key`` is given. With a = s/T and H_a = Σ_{k=1}^{|Y|} k^(−a):
        C_cov = H_a,   γ_margin = 2^a − 1.
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_responses = check_positive_int(num_responses, "num_responses", minimum=2)
    _check_table("zipf", num_prompts, num_responses)
    exponent = check_in_interval(exponent, "exponent", 0.0, np.inf, False, False)
    temperature = check_in_interval(temperature, "temperature", 0.0, np.inf, False, False)
    if key is not None:
        check_key(key)
    ranks = np.tile(np.arange(1, num_responses + 1, dtype=np.float64), (num_prompts, 1))
    if key is not None:
        keys = jax.random.split(key, num_prompts)
        ranks = np.asarray(jax.vmap(lambda k, r: jax.random.permutation(k, r))(keys, jnp.asarray(ranks)))
    # s/T beyond the float range (e.g. 1e300/1e-300) is the point mass on rank 1; a finite cap gives it (inf would
    # make rank 1's logit inf·log 1 = NaN) and keeps every logit finite
    power = min(exponent / temperature, float(np.finfo(np.float64).max) / max(1.0, math.log(num_responses)))
    return TabularPolicy.from_logits(-power * np.log(ranks))
