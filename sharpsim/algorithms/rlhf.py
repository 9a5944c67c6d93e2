"""Offline RLHF-Sharpening by reward regression (Section 4.2, Eq. 8; DPO/REBEL-style; Theorem 4.2 / 4.2′).

    1. x_1, …, x_n ∼ μ;   y_i, y'_i ∼ π_base(·|x_i) with log π_base of both (N = 2 per prompt, m = 2n);
    2. π̂ ∈ argmin_{π∈Π} Σ_i ( β log(π(y_i|x_i)/π_base(y_i|x_i)) − β log(π(y'_i|x_i)/π_base(y'_i|x_i))
                                 − (log π_base(y_i|x_i) − log π_base(y'_i|x_i)) )².

The residual simplifies to β(log π(y) − log π(y')) − (1 + β)(log π_base(y) − log π_base(y')): the data are
noiseless differences of the potential (1 + 1/β) log π_base, so under realizability (π*_β ∈ Π) the minimum
is 0, attained by π*_β ∝ π_base^{1+1/β}. The learner sees log π_base only at the sampled responses.

Tabular class (exact). Per prompt the loss constrains only logit *differences* along the sampled pairs, so the
minimizers are θ(x, y) = (1 + 1/β) log π_base(y|x) + c_C on each connected component C of the pair graph, and
anything on responses never sampled. Which minimizer is returned is a documented choice, ``tie_break``:

``"pessimistic"`` (default; the rule most favorable to sharpness when y* was sampled):
  * sampled responses: θ = (1 + 1/β) log π_base(y|x), one constant per prompt. The oracle returned the absolute
    log-likelihoods of these responses, so the learner can tie its components together; this is the minimizer
    that agrees with π*_β on every sampled response (a per-component constant would be arbitrary);
  * responses never sampled at x: θ = −∞ (no mass). π_base(y|x) is unknown there, hence so is π*_β(y|x); the
    pessimistic choice claims nothing the data do not support, as the tabular SFT MLE gives no mass to
    responses never picked. Then π̂(·|x) = π*_β(·|x) conditioned on the sampled set S_x, and π̂ is sharp at x
    iff y*(x) ∈ S_x and π*_β(y*(x)|x)/π*_β(S_x|x) ≥ 1 − δ: coverage enters through S_x, the margin through β;
  * prompts never drawn: uniform (θ = 0, the tabular class's unseen rule, as for SFT).

``"min_norm"`` (neutral: uses nothing but what Eq. 8 sees): the exact minimizer of least Euclidean norm of the
logit table θ ∈ R^{X×Y}, i.e. θ = D⁺t with D the [n, X·Y] design of rows e_{x,y} − e_{x,y'} and t the targets
(1 + 1/β)(log π_base(y) − log π_base(y')). It is the limit of gradient descent on Eq. 8 from θ = 0 (π_zero, the
uniform policy: the gradient never leaves the row space of D), and it is the linear class's ``min_norm`` rule with
one-hot features φ(x, y) = e_{x,y}. Explicitly: on each connected component C of prompt x's pair graph,
θ(x, y) = (1 + 1/β)(log π_base(y|x) − mean_C log π_base); unsampled responses and unseen prompts keep θ = 0, the
logit of π_zero. The absolute log-likelihoods are *not* used to tie components together (Eq. 8 does not see them),
so y* wins against another component only if its centered logit is larger: there the margin enters.

Either way the tabular minimizer is exact; ``loss`` reports the attained value (0 up to rounding).
Linear softmax class Π_{φ,B}: the loss is the convex quadratic f(θ) = (1/n) Σ_i (β⟨φ(x_i,y_i) − φ(x_i,y'_i), θ⟩
− (1 + β)d_i)² over ‖θ‖₂ ≤ B. Default solver (``linear_rlhf_fit``): projected gradient (optax, Nesterov momentum,
step 1/L with L = λ_max(∇²f) computed exactly) from θ = 0 (π_zero, Def. J.3), stopping when the gradient-mapping
norm is ≤ the class's ``tolerance``. Its iterates never leave the row space of the difference matrix (gradients
and the radial projection stay in it), so when the ball does not bind it tends to the minimum-norm minimizer, the
same tie-break as ``tie_break="min_norm"`` (``linear_rlhf_min_norm_fit``), which computes that minimizer directly
with a pseudo-inverse and flags (``converged = False``) the case where it lies outside the ball. Both report
``loss``, ``gradient_mapping_norm``, ``num_steps``, ``converged``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from sharpsim.core.validation import check_finite_nonnegative, check_positive_int, check_real_array
from sharpsim.algorithms.base import check_class_matches_oracle, check_finite_response_base, queries_used
from sharpsim.classes.linear_softmax import LinearSoftmaxClass
from sharpsim.classes.optimizer import minimize_on_balls
from sharpsim.classes.tabular import TabularClass
from sharpsim.referee.kl_regularized import check_beta, power_logits
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.results import Result

PAIR = 2  # N = 2 responses per prompt (Eq. 8)
TIE_BREAKS = ("pessimistic", "min_norm")


def rlhf_residuals(policy_log_probs, base_log_probs, beta, rewards=None) -> jax.Array:
    """[...]: β log(π(y)/π_base(y)) − β log(π(y')/π_base(y')) − (r(y) − r(y'))   (the bracket of Eq. 8).

    ``policy_log_probs``, ``base_log_probs`` (and ``rewards``) are [..., 2]: index 0 is y, index 1 is y'.
    ``rewards`` defaults to ``base_log_probs`` (r = log π_base, maximum-likelihood sharpening). Log-probabilities
    may be −inf (probability zero) but not NaN; rewards must be finite; β > 0 finite.
    """
    policy_log_probs = check_real_array(policy_log_probs, "policy_log_probs", finite=False)
    base_log_probs = check_real_array(base_log_probs, "base_log_probs", finite=False)
    rewards = base_log_probs if rewards is None else check_real_array(rewards, "rewards")
    beta = check_beta(beta)
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
    weights = check_real_array(weights, "weights")
    check_finite_nonnegative(weights, "weights")
    if weights.shape != residuals.shape:
        raise ValueError(f"weights must have shape {tuple(residuals.shape)} (one weight a pair), got shape "
                         f"{tuple(weights.shape)}")
    return jnp.sum(weights * residuals**2)


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


def tabular_rlhf_min_norm_logits(prompts, responses, log_probs, beta, num_prompts: int,
                                 num_responses: int) -> jax.Array:
    """[X, Y] logits of the minimum-norm exact minimizer of Eq. 8 over the tabular class (``tie_break="min_norm"``,
    module docstring): θ = D⁺t with one-hot differences D [n, X·Y]; jit-safe. Pairs with y = y' are zero rows."""
    rows = jnp.arange(jnp.shape(prompts)[0])
    width = num_prompts * num_responses
    flat = jnp.asarray(prompts)[:, None] * num_responses + jnp.asarray(responses)  # [n, 2]
    design = (jnp.zeros((rows.size, width)).at[rows, flat[:, 0]].add(1.0).at[rows, flat[:, 1]].add(-1.0))
    target = (1.0 + 1.0 / beta) * (log_probs[:, 0] - log_probs[:, 1])
    return (jnp.linalg.pinv(design) @ target).reshape(num_prompts, num_responses)


def tabular_rlhf_fit_logits(prompts, responses, log_probs, beta, num_prompts: int, num_responses: int,
                            tie_break: str = "pessimistic") -> jax.Array:
    """[X, Y] logits of the exact tabular minimizer of Eq. 8 chosen by ``tie_break`` (module docstring)."""
    if tie_break == "min_norm":
        return tabular_rlhf_min_norm_logits(prompts, responses, log_probs, beta, num_prompts, num_responses)
    return tabular_rlhf_logits(prompts, responses, log_probs, beta, num_prompts, num_responses)


MIN_NORM_CUTOFF = 1e-10  # eigenvalues of DᵀD below this fraction of the largest count as 0 (singular values 1e-5)


def min_norm_solution(design, target) -> jax.Array:
    """D⁺t, the minimum-norm least-squares solution, through the eigendecomposition of the [d, d] Gram DᵀD (a vmapped
    SVD of the tall [n, d] design is much slower on CPU); directions with eigenvalue ≤ ``MIN_NORM_CUTOFF``·λ_max are
    the null space. Zero rows of D (dropped pairs) do not change it."""
    eigenvalues, vectors = jnp.linalg.eigh(design.T @ design)
    keep = eigenvalues > MIN_NORM_CUTOFF * jnp.maximum(eigenvalues[-1], 1e-300)
    inverse = jnp.where(keep, 1.0 / jnp.where(keep, eigenvalues, 1.0), 0.0)
    return vectors @ (inverse * (vectors.T @ (design.T @ target)))


def linear_rlhf_min_norm_fit(model_class: LinearSoftmaxClass, prompts, responses, log_probs, beta) -> LinearRLHFFit:
    """The minimum-norm minimizer θ = (βD)⁺(1 + β)d of Eq. 8 over R^d (``tie_break="min_norm"``), with D the
    [n, d] feature differences; pairs with y = y' are zero rows (dropped). Within the ball it is the minimum-norm
    minimizer over Π_{φ,B}; outside it is projected onto the ball and ``converged`` is False (then use the
    projected-gradient ``linear_rlhf_fit``). ``gradient_mapping_norm`` is ‖∇f(θ)‖ of f = mean squared residual
    (the gradient mapping inside the ball), ``num_steps`` 0. jit/vmap-safe."""
    features = model_class.features[jnp.asarray(prompts)[:, None], jnp.asarray(responses)]  # [n, 2, d]
    difference = features[:, 0] - features[:, 1]
    target = (1.0 + beta) * (log_probs[:, 0] - log_probs[:, 1])
    count = difference.shape[0]
    theta = min_norm_solution(beta * difference, target)
    norm = jnp.linalg.norm(theta)
    inside = norm <= model_class.radius * (1.0 + 1e-9)
    theta = jnp.where(inside, theta, theta * model_class.radius / jnp.maximum(norm, 1e-300))
    residual = beta * (difference @ theta) - target
    gradient = 2.0 * beta * (difference.T @ residual) / count
    return LinearRLHFFit(
        policy=model_class.policy(theta),
        theta=theta,
        loss=jnp.sum(residual**2),
        gradient_mapping_norm=jnp.linalg.norm(gradient),
        num_steps=jnp.zeros((), jnp.int32),
        converged=inside,
    )


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


def check_tie_break(tie_break) -> str:
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
    return tie_break


def rlhf_sharpen(key: jax.Array, oracle: Oracle, model_class, num_prompts: int, beta, tie_break: str = "pessimistic"):
    """Offline RLHF-Sharpening (Eq. 8) with n = ``num_prompts`` preference pairs and regularization β > 0.

    ``model_class``: ``TabularClass`` (exact minimizer chosen by ``tie_break``, see the module docstring) or
    ``LinearSoftmaxClass`` (``tie_break="min_norm"``: pseudo-inverse, ``linear_rlhf_min_norm_fit``; otherwise
    projected gradient from θ = 0; convergence reported in ``result.policy``). Returns ``(RLHFResult, oracle)``,
    the oracle charged n prompts and 2n samples. jit/vmap over keys (``num_prompts``, ``tie_break`` static; β may
    be traced). Raises ``ValueError`` for β ≤ 0, n < 1 or an unknown ``tie_break``, ``TypeError`` for a class it
    cannot fit.
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    beta = check_beta(beta)
    tie_break = check_tie_break(tie_break)
    if not isinstance(model_class, (TabularClass, LinearSoftmaxClass)):
        raise TypeError(
            "model_class: rlhf_sharpen fits TabularClass (exact) or LinearSoftmaxClass (projected gradient); "
            f"got {type(model_class).__name__}"
        )
    check_class_matches_oracle(model_class, oracle)
    check_finite_response_base(oracle, "rlhf_sharpen")
    key_prompts, key_pairs = jax.random.split(key)
    start = oracle
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    batch, oracle = oracle.sample(key_pairs, prompts, PAIR)
    if isinstance(model_class, TabularClass):
        logits = tabular_rlhf_fit_logits(prompts, batch.responses, batch.log_probs, beta, model_class.num_prompts,
                                         model_class.num_responses, tie_break)
        fitted = TabularPolicy.tree_unflatten(None, (jax.nn.softmax(logits, axis=-1), model_class.prompt_probs))
        policy_log_probs = jax.nn.log_softmax(logits, axis=-1)[prompts[:, None], batch.responses]
        loss = rlhf_regression_loss(policy_log_probs, batch.log_probs, beta)
    else:
        fit = linear_rlhf_min_norm_fit if tie_break == "min_norm" else linear_rlhf_fit
        fitted = fit(model_class, prompts, batch.responses, batch.log_probs, beta)
        loss = fitted.loss
    result = RLHFResult(fitted, queries_used(start, oracle), prompts, batch.responses, batch.log_probs, loss)
    return result, oracle


