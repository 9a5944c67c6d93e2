"""Offline RLHF-Sharpening by reward regression (Section 4.2, Eq. 8; DPO/REBEL-style; Theorem 4.2 / 4.2′).

    1. x_1, …, x_n ∼ μ;   y_i, y'_i ∼ π_base(·|x_i) with log π_base of both (N = 2 per prompt, m = 2n);
    2. π̂ ∈ argmin_{π∈Π} Σ_i ( β log(π(y_i|x_i)/π_base(y_i|x_i)) − β log(π(y'_i|x_i)/π_base(y'_i|x_i))
                                 − (log π_base(y_i|x_i) − log π_base(y'_i|x_i)) )².

The residual simplifies to β(log π(y) − log π(y')) − (1 + β)(log π_base(y) − log π_base(y')): the data are
noiseless differences of the potential (1 + 1/β) log π_base, so under realizability (π*_β ∈ Π) the minimum
is 0, attained by π*_β ∝ π_base^{1+1/β}. The learner sees log π_base only at the sampled responses.

Tabular class (exact). Per prompt the loss constrains only logit *differences* along the sampled pairs, so the
minimizers are θ(x, y) = (1 + 1/β) log π_base(y|x) + c_C on each connected component C of the pair graph, and
anything on responses never sampled. Rule (documented choice among exact minimizers):
  * sampled responses: θ = (1 + 1/β) log π_base(y|x), one constant per prompt. The oracle returned the absolute
    log-likelihoods of these responses, so the learner can tie its components together; this is the minimizer
    that agrees with π*_β on every sampled response (a per-component constant would be arbitrary);
  * responses never sampled at x: θ = −∞ (no mass). π_base(y|x) is unknown there, hence so is π*_β(y|x); the
    pessimistic choice claims nothing the data do not support, as the tabular SFT MLE gives no mass to
    responses never picked. Then π̂(·|x) = π*_β(·|x) conditioned on the sampled set S_x, and π̂ is sharp at x
    iff y*(x) ∈ S_x and π*_β(y*(x)|x)/π*_β(S_x|x) ≥ 1 − δ: coverage enters through S_x, the margin through β;
  * prompts never drawn: uniform (θ = 0, the tabular class's unseen rule, as for SFT).
So the tabular minimizer is exact; ``loss`` reports the attained value (0 up to rounding).

Linear softmax class Π_{φ,B}: the loss is the convex quadratic f(θ) = (1/n) Σ_i (β⟨φ(x_i,y_i) − φ(x_i,y'_i), θ⟩
− (1 + β)d_i)² over ‖θ‖₂ ≤ B, solved by projected gradient (optax, Nesterov momentum, step 1/L with
L = λ_max(∇²f) computed exactly) from θ = 0 (π_zero, Def. J.3), stopping when the gradient-mapping norm is
≤ the class's ``tolerance``. The fit reports ``loss``, ``gradient_mapping_norm``, ``num_steps``, ``converged``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from sharpsim.core.validation import check_positive_int
from sharpsim.algorithms.base import check_class_matches_oracle, check_finite_response_base, queries_used
from sharpsim.classes.linear_softmax import LinearSoftmaxClass
from sharpsim.classes.optimizer import minimize_on_balls
from sharpsim.classes.tabular import TabularClass
from sharpsim.referee.kl_regularized import check_beta, power_logits
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.results import Result

PAIR = 2  # N = 2 responses per prompt (Eq. 8)


def rlhf_residuals(policy_log_probs, base_log_probs, beta, rewards=None) -> jax.Array:
    """[...]: β log(π(y)/π_base(y)) − β log(π(y')/π_base(y')) − (r(y) − r(y'))   (the bracket of Eq. 8).

    ``policy_log_probs``, ``base_log_probs`` (and ``rewards``) are [..., 2]: index 0 is y, index 1 is y'.
    ``rewards`` defaults to ``base_log_probs`` (r = log π_base, maximum-likelihood sharpening).
    """
    policy_log_probs = jnp.asarray(policy_log_probs, jnp.float64)
    base_log_probs = jnp.asarray(base_log_probs, jnp.float64)
    rewards = base_log_probs if rewards is None else jnp.asarray(rewards, jnp.float64)
    if policy_log_probs.shape[-1:] != (PAIR,) or base_log_probs.shape != policy_log_probs.shape \
            or rewards.shape != policy_log_probs.shape:
        raise ValueError(
            "policy_log_probs, base_log_probs and rewards must share a shape [..., 2] (y, y'); got "
            f"{policy_log_probs.shape}, {base_log_probs.shape} and {rewards.shape}"
        )
    log_ratio = beta * (policy_log_probs - base_log_probs)
    return (log_ratio[..., 0] - log_ratio[..., 1]) - (rewards[..., 0] - rewards[..., 1])


def rlhf_regression_loss(policy_log_probs, base_log_probs, beta, rewards=None, weights=None) -> jax.Array:
    """Σ_i w_i · residual_i²   (Eq. 8; the squared term of XPO's objective, Algorithm 1). See ``rlhf_residuals``."""
    residuals = rlhf_residuals(policy_log_probs, base_log_probs, beta, rewards)
    if weights is None:
        return jnp.sum(residuals**2)
    return jnp.sum(jnp.asarray(weights, jnp.float64) * residuals**2)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LinearRLHFFit:
    """Projected-gradient solution of Eq. 8 over Π_{φ,B}: ``policy`` π_θ̂, ``theta`` [d], ``loss`` (sum over pairs),
    ``gradient_mapping_norm`` (stopping statistic), ``num_steps``, ``converged``."""

    policy: TabularPolicy
    theta: jax.Array
    loss: jax.Array
    gradient_mapping_norm: jax.Array
    num_steps: jax.Array
    converged: jax.Array

    def to_tabular(self) -> TabularPolicy:
        return self.policy


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class RLHFResult(Result):
    """``policy``: TabularPolicy (tabular class) or ``LinearRLHFFit``; ``queries`` this run was charged (prompts n,
    samples 2n, evaluations 0); ``prompts`` [n], ``responses`` [n, 2] (y, y'), ``log_probs`` [n, 2] = log π_base;
    ``loss``: Eq. 8 at π̂ (sum over the n pairs)."""

    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array
    loss: jax.Array


def tabular_rlhf_logits(prompts, responses, log_probs, beta, num_prompts: int, num_responses: int) -> jax.Array:
    """[X, Y] logits of the exact tabular minimizer of Eq. 8 under the rule of the module docstring (jit-safe).

    ``prompts`` [n], ``responses`` [n, 2], ``log_probs`` [n, 2] as returned by the oracle. Logits (not
    probabilities) are kept so the loss stays exact when tiny β underflows non-argmax masses to 0.
    """
    rows = jnp.broadcast_to(jnp.asarray(prompts)[:, None], responses.shape).reshape(-1)
    cols = jnp.asarray(responses).reshape(-1)
    observed = jnp.zeros((num_prompts, num_responses), bool).at[rows, cols].set(True)
    base_log = jnp.full((num_prompts, num_responses), -jnp.inf).at[rows, cols].set(jnp.reshape(log_probs, -1))
    logits = power_logits(base_log, beta)  # unobserved responses: −inf
    seen = observed.any(axis=-1, keepdims=True)
    return jnp.where(seen, logits, 0.0)


def linear_rlhf_fit(model_class: LinearSoftmaxClass, prompts, responses, log_probs, beta) -> LinearRLHFFit:
    """argmin_{‖θ‖ ≤ B} (1/n) Σ_i residual_i(θ)² by projected gradient (``minimize_on_balls``); convergence is
    reported."""
    features = model_class.features[jnp.asarray(prompts)[:, None], jnp.asarray(responses)]  # [n, 2, d]
    difference = features[:, 0] - features[:, 1]  # [n, d]
    target = (1.0 + beta) * (log_probs[:, 0] - log_probs[:, 1])
    count = difference.shape[0]

    def objective(theta):
        return jnp.mean((beta * (difference @ theta) - target) ** 2)

    hessian = 2.0 * beta**2 * (difference.T @ difference) / count
    smoothness = jnp.maximum(jnp.linalg.eigvalsh(hessian)[-1], 1e-12)
    solution = minimize_on_balls(objective, jnp.zeros(model_class.dimension, jnp.float64), model_class.radius,
                                 smoothness, model_class.max_steps, model_class.tolerance, model_class.momentum)
    return LinearRLHFFit(
        policy=model_class.policy(solution.theta),
        theta=solution.theta,
        loss=solution.value * count,
        gradient_mapping_norm=solution.gradient_mapping_norm,
        num_steps=solution.num_steps,
        converged=solution.converged,
    )


def rlhf_sharpen(key: jax.Array, oracle: Oracle, model_class, num_prompts: int, beta):
    """Offline RLHF-Sharpening (Eq. 8) with n = ``num_prompts`` preference pairs and regularization β > 0.

    ``model_class``: ``TabularClass`` (exact minimizer, see the module docstring) or ``LinearSoftmaxClass``
    (projected gradient, convergence reported in ``result.policy``). Returns ``(RLHFResult, oracle)``, the
    oracle charged n prompts and 2n samples. jit/vmap over keys (``num_prompts`` static; β may be traced).
    Raises ``ValueError`` for β ≤ 0 or n < 1, ``TypeError`` for a class it cannot fit.
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    beta = check_beta(beta)
    if not isinstance(model_class, (TabularClass, LinearSoftmaxClass)):
        raise TypeError(
            "rlhf_sharpen fits TabularClass (exact) or LinearSoftmaxClass (projected gradient); "
            f"got {type(model_class).__name__}"
        )
    check_class_matches_oracle(model_class, oracle)
    check_finite_response_base(oracle, "rlhf_sharpen")
    key_prompts, key_pairs = jax.random.split(key)
    start = oracle
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    batch, oracle = oracle.sample(key_pairs, prompts, PAIR)
    if isinstance(model_class, TabularClass):
        logits = tabular_rlhf_logits(prompts, batch.responses, batch.log_probs, beta, model_class.num_prompts,
                                     model_class.num_responses)
        fitted = TabularPolicy.tree_unflatten(None, (jax.nn.softmax(logits, axis=-1), model_class.prompt_probs))
        policy_log_probs = jax.nn.log_softmax(logits, axis=-1)[prompts[:, None], batch.responses]
        loss = rlhf_regression_loss(policy_log_probs, batch.log_probs, beta)
    else:
        fitted = linear_rlhf_fit(model_class, prompts, batch.responses, batch.log_probs, beta)
        loss = fitted.loss
    result = RLHFResult(fitted, queries_used(start, oracle), prompts, batch.responses, batch.log_probs, loss)
    return result, oracle


