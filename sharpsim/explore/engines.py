"""Success engines that ``sharpsim explore`` needs beyond ``sharpsim.measure``: inference-time best-of-N's exact N
(Proposition C.1's quantity, at the level of (ε, δ)-sharpness), offline RLHF-Sharpening (Eq. 8, Theorem 4.2) and
XPO (Algorithm 1, Theorem 4.3) on tabular instances with many prompts, each compiled once per shape set.

* ``least_sharp_best_of_n``: the least N whose exact law π^BoN_N (``best_of_n_law``) is (ε, δ)-sharp
  (Definition 3.1). With the log-likelihood self-reward the mass of π^BoN_N on y*(x) is non-decreasing in N, so
  the error is non-increasing and doubling-then-bisection on the integers finds the exact least N.
* ``tabular_rlhf_success``: per seed, whether Eq. 8's tabular minimizer (``tabular_rlhf_fit_logits``, the fit of
  ``rlhf_sharpen``) on the first n of n_max pairs is (ε, δ)-sharp. A pair beyond the first n is replaced by a copy of
  pair 0: a repeated equation of a consistent least-squares problem leaves its set of minimizers (and either
  tie-break's choice among them) unchanged, so this is the fit on n pairs, with n traced (one compilation).
  At n = n_max it is ``rlhf_sharpen`` at n_max with the same key, draw for draw.
* ``tabular_xpo_success``: per seed, one XPO run of T_max rounds (``xpo_sharpen``, constant α, so the run with T
  rounds is its first T rounds; ``select_prefix``), and for every T ≤ T_max whether the output is (ε, δ)-sharp.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp

from sharpsim.algorithms.best_of_n import best_of_n_law
from sharpsim.algorithms.rlhf import tabular_rlhf_fit_logits
from sharpsim.algorithms.xpo import select_prefix, xpo_sharpen
from sharpsim.core.jit import counted_jit
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy, as_tabular
from sharpsim.core.validation import check_in_interval, check_positive_int
from sharpsim.referee.quantities import sharpening_error

MAX_BEST_OF_N = 2**50  # beyond this the search reports N* = inf (the law is sharp long before for any real instance)


@jax.jit
def _best_of_n_error(policy, num_samples, delta):
    return sharpening_error(best_of_n_law(policy, num_samples), policy, delta)


def best_of_n_error(policy, num_samples: int, delta: float) -> float:
    """The sharpening error P_x[π^BoN_N(y*(x)|x) < 1 − δ] of the exact best-of-N law (one compilation for every N)."""
    num_samples = check_positive_int(num_samples, "num_samples")
    return float(_best_of_n_error(as_tabular(policy), jnp.asarray(float(num_samples)), jnp.asarray(delta)))


def least_sharp_best_of_n(policy, eps: float, delta: float, max_samples: int = MAX_BEST_OF_N) -> tuple[float, dict]:
    """(N*, {N: error}) with N* the least N ≤ ``max_samples`` at which π^BoN_N is (ε, δ)-sharp (``inf`` if none),
    and every evaluated N with its exact error."""
    eps = check_in_interval(eps, "eps", 0.0, 1.0, closed_low=True, closed_high=False)
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)
    max_samples = check_positive_int(max_samples, "max_samples")
    errors: dict[int, float] = {}

    def sharp(n: int) -> bool:
        if n not in errors:
            errors[n] = best_of_n_error(policy, n, delta)
        return errors[n] <= eps

    if sharp(1):
        return 1.0, errors
    low, high = 1, 2
    while not sharp(high):  # low fails, double until high passes
        if high >= max_samples:
            return math.inf, errors
        low, high = high, min(2 * high, max_samples)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if sharp(middle) else (middle, high)
    return float(high), errors


@partial(counted_jit, static_argnames=("max_pairs", "tie_break"))
def tabular_rlhf_success(policy, keys, num_pairs, beta, eps, delta, max_pairs: int, tie_break: str = "pessimistic"):
    """bool [seeds]: is offline RLHF-Sharpening (Eq. 8) on the first ``num_pairs`` (traced) of ``max_pairs`` pairs,
    with regularization ``beta`` (traced) and the tabular class, (ε, δ)-sharp? See the module docstring."""
    num_prompts, num_responses = policy.probs.shape

    def one_seed(key):
        key_prompts, key_pairs = jax.random.split(key)  # rlhf_sharpen's split, so n = n_max is that run
        oracle = Oracle(policy)
        prompts, oracle = oracle.draw_prompts(key_prompts, max_pairs)
        batch, oracle = oracle.sample(key_pairs, prompts, 2)
        kept = jnp.arange(max_pairs) < num_pairs
        prompts = jnp.where(kept, prompts, prompts[0])
        responses = jnp.where(kept[:, None], batch.responses, batch.responses[:1])
        log_probs = jnp.where(kept[:, None], batch.log_probs, batch.log_probs[:1])
        logits = tabular_rlhf_fit_logits(prompts, responses, log_probs, beta, num_prompts, num_responses, tie_break)
        fitted = TabularPolicy.tree_unflatten(None, (jax.nn.softmax(logits, axis=-1), policy.prompt_probs))
        return sharpening_error(fitted, policy, delta) <= eps

    return jax.vmap(one_seed)(keys)


@partial(counted_jit, static_argnames=("num_rounds", "num_steps", "num_validation", "learning_rate", "seed_batch"))
def tabular_xpo_success(policy, model_class, keys, beta, alpha, reward_range, eps, delta, num_rounds: int,
                        num_steps: int = 20, num_validation: int = 32, learning_rate: float = 0.5,
                        seed_batch: int = 8):
    """bool [seeds, T_max + 1]: column T says whether XPO's output after T rounds (``select_prefix``) is
    (ε, δ)-sharp; one run of T_max = ``num_rounds`` rounds per seed (``xpo_sharpen`` with V_max = 0, α and β
    traced). ``seed_batch`` seeds run together (the iterates are [T_max + 1, X, Y] per seed)."""

    def one_seed(key):
        result, _ = xpo_sharpen(key, Oracle(policy), model_class, num_rounds, beta, alpha, num_steps=num_steps,
                                num_validation=num_validation, learning_rate=learning_rate,
                                reward_range=reward_range, value_range=0.0)
        sharp = jax.vmap(lambda logits: sharpening_error(
            TabularPolicy.tree_unflatten(None, (jax.nn.softmax(logits, axis=-1), policy.prompt_probs)),
            policy, delta) <= eps)(result.iterates)
        return sharp[select_prefix(result.validation, jnp.arange(num_rounds + 1))]

    return jax.lax.map(one_seed, keys, batch_size=seed_batch)
