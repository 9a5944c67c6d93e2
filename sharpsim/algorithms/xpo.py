"""RLHF-Sharpening with exploration: reward-based XPO (Section 4.3; Algorithm 1, Theorems J.1, J.2 = informal Theorem 4.3).

Each round t = 1..T, with r(x, y) = log π_base(y|x) (maximum-likelihood sharpening):

    x^(t) ∼ μ,   y^(t) ∼ π^(t)(·|x^(t)) (on-policy, drawn by the learner),   ỹ^(t) ∼ π_base(·|x^(t)) (oracle sample);
    π^(t+1) = argmin_{π∈Π}  α Σ_{i≤t} log π(ỹ_i|x_i)
                 + (R_max + V_max)^{-2} Σ_{i≤t} ( β log π(y_i|x_i)/π_base(y_i|x_i)
                                                 − β log π(ỹ_i|x_i)/π_base(ỹ_i|x_i) − (r(x_i,y_i) − r(x_i,ỹ_i)) )²,

and the output is π̂ = argmax_{t∈[T+1]} Ĵ_β(π^(t)), with J_β(π) = E_π[r] − β KL(π‖π_base) = E_π[(1+β) log π_base(y|x)
− β log π(y|x)] estimated on fresh validation draws (the on-policy form needs only evaluations of π_base).

Sign of the regression term. Algorithm 1's box prints "−" before the squared sum; the proof (Appendix J.2.2) minimizes
L̂^(t)(π) = Σ β(log π(ỹ|x) − log π*_β(ỹ|x)) + β/(α(V_max + R_max)²)·Σ (residual)², which times α/β is the objective
above (the π*_β term is constant). With "−" the objective would reward *large* residuals and be unbounded below on
any rich class, so "+" is the intended sign. The α-term on *base* samples is the optimism bonus: it
pushes mass away from what π_base already samples.

Queries (the generalized oracle of footnote 7). Per round: one prompt, one sample (ỹ with log π_base(ỹ|x)) and one
evaluation (log π_base(y|x) at the on-policy y), i.e. 2 sample-and-evaluate answers: the paper's m ≍ 2T (Thm J.2).
The on-policy draw itself is the learner's own computation and is not an oracle query. Validation draws V responses
from each of the T + 1 iterates and evaluates them: (T + 1)·V prompts and evaluations. ``queries`` reports both,
``training_queries`` and ``validation_queries`` each part. The whole run's total is checked against the oracle's
budget before anything is drawn; with a budget the rounds run under ``sharpsim.checked``.

Deviations, stated. (i) Algorithm 1 starts from π^(1) = π_base, which a learner that only queries the oracle cannot
represent in Π without knowing θ*; we start from ``initial_params`` (default 0: π_zero, the uniform policy of Def. J.3),
which the guarantee allows (SEC is a sup over all sequences). (ii) The argmin over Π is approximated by ``num_steps``
optax steps per round, warm-started from the previous iterate (Adam by default; the linear class is projected onto
‖θ‖₂ ≤ B after every step); each round reports its final objective and gradient-mapping norm. (iii) α is a constant
across rounds (Thm J.2 sets it from the horizon T; pass that value). With fixed α the run with T rounds is exactly the
first T rounds of a longer run (round and validation keys are folded from the round index), so one run of T_max rounds
gives the output at every T ≤ T_max (``select_prefix``).

Cost. Round t's objective sums over all i ≤ t; summed over a buffer, every optimizer step costs O(t) and a run O(T²).
By default the run instead keeps running sufficient statistics of the data (``xpo_statistics``: the logits are linear
in the parameters and each pair shares its prompt, so the objective is a fixed quadratic plus the α-term's partition
sums), which makes every round cost the same and a run O(T); the objective is the same up to rounding
(``statistics=False`` keeps the buffer).

Model classes: ``LinearSoftmaxClass`` (params θ [d]; default R_max = 2BF + log|Y| and V_max = 4βBF with
F = max‖φ‖, the class bounds on |log π_θ| and on |β log(π_θ/π_θ')|) and ``TabularClass`` (params the logits [X, Y];
pass ``reward_range`` and ``value_range``).

Usage (everything but the key static; vmap over seeds)::

    run = jax.jit(jax.vmap(lambda k: xpo_sharpen(k, oracle, model_class, T, beta, alpha)[0]))
    results = run(jax.random.split(key, seeds))
"""

from __future__ import annotations

import functools

from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sharpsim.classes.optimizer import check_num_steps
from sharpsim.core.validation import (
    check_allocation, check_in_interval, check_positive_int, check_real_array, is_concrete,
)
from sharpsim.algorithms.rlhf import rlhf_residuals
from sharpsim.algorithms.xpo_statistics import add_round, empty_statistics, statistics_loss, supports_statistics
from sharpsim.algorithms.base import check_class_matches_oracle, check_finite_response_base, queries_used
from sharpsim.classes.linear_softmax import LinearSoftmaxClass
from sharpsim.classes.tabular import TabularClass
from sharpsim.core.checked import checked, checks_functionalized
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.results import QueryCount, Result


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class XPOResult(Result):
    """``policy`` π̂ (the selected iterate); ``queries`` everything this run was charged (training and
    validation); ``params`` π̂'s parameters, ``selected`` its index t̂ − 1 ∈ [0, T] (0 is the initial iterate);
    ``training_queries`` the rounds' queries (T prompts, T samples, T evaluations: Theorem J.2's m ≍ 2T) and
    ``validation_queries`` the validation ones ((T+1)·V prompts and evaluations); ``iterates`` the parameters of
    π^(1..T+1) [T+1, ...]; ``validation`` Ĵ_β of each [T+1]; ``objective`` [T] and ``gradient_norm`` [T]
    (gradient-mapping norm) at the end of each round's optimization; the data: ``prompts``, ``on_policy``,
    ``base_responses`` [T]."""

    params: jax.Array
    selected: jax.Array
    training_queries: QueryCount
    validation_queries: QueryCount
    iterates: jax.Array
    validation: jax.Array
    objective: jax.Array
    gradient_norm: jax.Array
    prompts: jax.Array
    on_policy: jax.Array
    base_responses: jax.Array

    def to_tabular(self) -> TabularPolicy:
        return self.policy


class Parametrization(NamedTuple):
    """How XPO sees a model class: ``log_policy(params) -> [X, Y]``; ``logits_at(params, x, y)`` and
    ``log_partition(params) -> [X]`` with log π(y|x) = logits_at − log_partition[x] (the partition cancels in the
    regression term, whose pairs share a prompt, so only the optimism term pays the O(|X||Y|) normalizer);
    ``project(params)`` onto Π's constraint set; ``initial`` params; the class's default (R_max, V_max(β))
    bounds (None if unknown)."""

    log_policy: Callable
    logits_at: Callable
    log_partition: Callable
    project: Callable
    initial: jax.Array
    reward_range: float | None
    value_range: Callable | None


def parametrization(model_class) -> Parametrization:
    """The parametrization of a ``LinearSoftmaxClass`` (θ [d]) or a ``TabularClass`` (logits [X, Y])."""
    if isinstance(model_class, LinearSoftmaxClass):
        features, radius = model_class.features, model_class.radius
        feature_norm = jnp.sqrt(jnp.max(jnp.sum(features**2, axis=-1)))
        return Parametrization(
            log_policy=lambda theta: jax.nn.log_softmax(features @ theta, axis=-1),
            logits_at=lambda theta, x, y: features[x, y] @ theta,
            log_partition=lambda theta: jax.nn.logsumexp(features @ theta, axis=-1),
            project=lambda theta: optax.projections.projection_l2_ball(theta, radius),
            initial=jnp.zeros(model_class.dimension, jnp.float64),
            reward_range=2.0 * radius * feature_norm + jnp.log(model_class.num_responses),
            value_range=lambda beta: 4.0 * beta * radius * feature_norm,
        )
    if isinstance(model_class, TabularClass):
        return Parametrization(
            log_policy=lambda logits: jax.nn.log_softmax(logits, axis=-1),
            logits_at=lambda logits, x, y: logits[x, y],
            log_partition=lambda logits: jax.nn.logsumexp(logits, axis=-1),
            project=lambda logits: logits,
            initial=jnp.zeros((model_class.num_prompts, model_class.num_responses), jnp.float64),
            reward_range=None,
            value_range=None,
        )
    raise TypeError(f"model_class: xpo_sharpen supports LinearSoftmaxClass and TabularClass, got "
                    f"{type(model_class).__name__}")


def xpo_objective(log_on, log_base_sample, on_policy_log_base, base_log_base, mask, beta, alpha, loss_scale):
    """The round-t objective of Algorithm 1 (proof's sign), from the learner's log-probabilities at the data:

        α Σ_i m_i log π(ỹ_i|x_i)
          + loss_scale · Σ_i m_i (β[log π(y_i|x_i) − ℓ_i] − β[log π(ỹ_i|x_i) − ℓ̃_i] − (ℓ_i − ℓ̃_i))²,

    ``log_on`` = log π(y_i|x_i), ``log_base_sample`` = log π(ỹ_i|x_i), ℓ = log π_base(y|x) (evaluated), ℓ̃ = log
    π_base(ỹ|x) (sampled), m the mask of rounds so far, loss_scale = (R_max + V_max)^{-2}. Returns
    (objective, residuals [T])."""
    residuals = rlhf_residuals(jnp.stack([log_on, log_base_sample], axis=-1),
                               jnp.stack([on_policy_log_base, base_log_base], axis=-1), beta)
    weights = mask.astype(jnp.float64)
    value = alpha * jnp.sum(weights * log_base_sample) + loss_scale * jnp.sum(weights * residuals**2)
    return value, residuals


def round_loss(param: "Parametrization", params, data, beta, alpha, loss_scale):
    """``xpo_objective`` at ``params`` on the buffer ``data`` = (prompts, on_policy, base_responses, ℓ, ℓ̃, mask).

    log π(y|x) − log π(ỹ|x) = logits(x, y) − logits(x, ỹ); the normalizer enters only through the α-term, and is
    skipped when α is the Python number 0."""
    prompts, on_policy, base_responses, on_policy_log_base, base_log_base, mask = data
    logit_on = param.logits_at(params, prompts, on_policy)
    logit_base = param.logits_at(params, prompts, base_responses)
    if isinstance(alpha, (int, float)) and alpha == 0:
        partition = 0.0  # cancels in the residuals; the α-term is absent
    else:
        partition = param.log_partition(params)[prompts]
    return xpo_objective(logit_on - partition, logit_base - partition, on_policy_log_base, base_log_base, mask,
                         beta, alpha, loss_scale)[0]


MAX_TOTAL_STEPS = 10**8  # optimizer steps in a whole run (num_rounds × num_steps): hours beyond it


def check_hyperparameters(num_rounds, beta, alpha, num_steps, num_validation, learning_rate):
    """Validate XPO's hyper-parameters eagerly (they are Python numbers); return them normalized."""
    num_rounds = check_positive_int(num_rounds, "num_rounds")
    beta = check_in_interval(beta, "beta", 0.0, np.inf, closed_low=False, closed_high=False)
    alpha = check_in_interval(alpha, "alpha", 0.0, np.inf, closed_low=True, closed_high=False)
    num_steps = check_num_steps(num_steps)
    if num_rounds * num_steps > MAX_TOTAL_STEPS:
        raise ValueError(f"num_rounds * num_steps must be at most {MAX_TOTAL_STEPS} optimizer steps in all, got "
                         f"num_rounds={num_rounds} and num_steps={num_steps}")
    num_validation = check_positive_int(num_validation, "num_validation")
    # validation draws V prompts and responses per iterate in one batch
    check_allocation((num_validation,), "num_validation", itemsize=6 * 8)
    learning_rate = check_in_interval(learning_rate, "learning_rate", 0.0, np.inf, False, False)
    return num_rounds, beta, alpha, num_steps, num_validation, learning_rate


def xpo_sharpen(key: jax.Array, oracle: Oracle, model_class, num_rounds: int, beta, alpha, *, num_steps: int = 20,
                num_validation: int = 16, learning_rate: float = 0.5, reward_range=None, value_range=None,
                initial_params=None, statistics: bool | None = None):
    """Algorithm 1 (reward-based XPO) for T = ``num_rounds`` rounds; see the module docstring.

    Args:
      key: PRNG key. oracle: the sample-and-evaluate oracle (with evaluate, footnote 7).
      model_class: ``LinearSoftmaxClass`` or ``TabularClass`` on the base's spaces.
      num_rounds: T ≥ 1 (static). beta: β > 0. alpha: the optimism weight α ≥ 0 (0 switches exploration off).
      num_steps: optax steps per round (static; at most ``MAX_STEPS`` = 10**6, and num_rounds × num_steps at most
        ``MAX_TOTAL_STEPS`` = 10**8); learning_rate: Adam's step size.
      num_validation: V validation draws per iterate for Ĵ_β (static).
      reward_range, value_range: R_max and V_max; default the linear class's bounds (required for the tabular class).
      initial_params: the parameters of π^(1) (default 0, the uniform policy).
      statistics: evaluate each round's objective from running sufficient statistics (``xpo_statistics``: a round
        costs the same at every t, a run O(T)) rather than from the buffer of all rounds (O(t) a step, a run O(T²));
        the same objective up to rounding. Default (None): statistics for the linear class, and for the tabular class
        when X·Y² ≤ ``TABULAR_STATISTICS_LIMIT`` (its statistics hold X·Y² numbers).

    Returns ``(XPOResult, oracle)``. Raises ``ValueError`` for β ≤ 0, α < 0, T < 1 (or any count < 1), a
    non-positive learning rate or range, and ``TypeError`` for an unsupported class.
    """
    num_rounds, beta, alpha, num_steps, num_validation, learning_rate = check_hyperparameters(
        num_rounds, beta, alpha, num_steps, num_validation, learning_rate)
    check_class_matches_oracle(model_class, oracle)
    check_finite_response_base(oracle, "xpo_sharpen")
    param = parametrization(model_class)
    reward_range = param.reward_range if reward_range is None else reward_range
    value_range = (param.value_range(beta) if param.value_range is not None else None) if value_range is None \
        else value_range
    if reward_range is None or value_range is None:
        raise ValueError(f"{type(model_class).__name__} has no default bounds: pass reward_range (R_max) and "
                         "value_range (V_max) explicitly")
    reward_range, value_range = (
        check_in_interval(value, name, 0.0, np.inf, closed_low=True, closed_high=False)
        for name, value in (("reward_range", reward_range), ("value_range", value_range)))
    loss_scale = 1.0 / jnp.maximum(reward_range + value_range, 1e-12) ** 2
    params0 = param.initial if initial_params is None else check_real_array(initial_params, "initial_params")
    if params0.shape != param.initial.shape:
        raise ValueError(f"initial_params must have shape {param.initial.shape}, got {params0.shape}")
    params0 = param.project(params0)
    if statistics is None:
        statistics = supports_statistics(model_class)
    elif not isinstance(statistics, (bool, np.bool_)):
        raise TypeError(f"statistics must be True, False or None, got {statistics!r}")
    statistics = bool(statistics)
    if statistics and isinstance(model_class, TabularClass):
        check_allocation((model_class.num_prompts, model_class.num_responses, model_class.num_responses),
                         "xpo_sharpen(statistics=True) with this TabularClass")
    if statistics and not isinstance(model_class, TabularClass):
        check_allocation((model_class.dimension, model_class.dimension),
                         "xpo_sharpen(statistics=True) with this LinearSoftmaxClass (its d×d Gram matrix)")
    # a run keeps every round's data and iterate: [T, 6] records and [T + 1, |θ|] parameters
    check_allocation((num_rounds + 1, params0.size + 8), "xpo_sharpen(num_rounds)")
    # the whole run's queries are known in advance: refuse before drawing anything if they exceed the budget
    oracle.check_affordable(samples=num_rounds, evaluations=num_rounds + (num_rounds + 1) * num_validation)

    def run(key, oracle):
        return _xpo_compiled(key, oracle, model_class, params0, beta, alpha, learning_rate, loss_scale,
                             num_rounds=num_rounds, num_steps=num_steps, num_validation=num_validation,
                             statistics=statistics)

    if oracle.budget is not None and not checks_functionalized():
        run = checked(run)  # the rounds charge a traced ledger inside lax.scan: functionalize its checks
    result, oracle = run(key, oracle)
    if is_concrete(result.objective) and not np.all(np.isfinite(np.asarray(result.objective))):
        # a reward log π_base(y|x) = −inf (a response of probability zero drawn by the learner) makes the
        # regression residual inf − inf; Theorem J.2 takes R_max ≥ 1 + max log 1/π_base, i.e. π_base > 0
        raise ValueError("xpo_sharpen's objective is not finite: the learner drew a response to which π_base gives "
                         "probability zero (reward log π_base = −inf); XPO needs π_base > 0 on every response "
                         "(Theorem J.2's R_max is finite), so smooth the base or restrict the class to its support")
    return result, oracle


@functools.partial(jax.jit, static_argnames=("num_rounds", "num_steps", "num_validation", "statistics"))
def _xpo_compiled(key, oracle, model_class, params0, beta, alpha, learning_rate, loss_scale, *, num_rounds,
                  num_steps, num_validation, statistics):
    """``_xpo_run`` compiled once per (shapes, T, steps, V, base): an eager ``lax.scan`` over fresh closures would
    recompile the whole run on every call. β, α and the learning rate are traced, so a sweep over them reuses it."""
    accumulator = statistics_accumulator(model_class) if statistics else buffer_accumulator(num_rounds)
    return _xpo_run(key, oracle, model_class, parametrization(model_class), params0, num_rounds, beta, alpha,
                    num_steps, num_validation, learning_rate, loss_scale, accumulator)


class Accumulator(NamedTuple):
    """How a run keeps its data for the round objective: ``empty`` state, ``add(state, t, x, y, ỹ, ℓ, ℓ̃)`` after
    round t, ``loss(param, params, state, β, α, s)``."""

    empty: object
    add: Callable
    loss: Callable


def buffer_accumulator(num_rounds: int) -> Accumulator:
    """The data of all T rounds in [T] arrays masked to the rounds so far: ``round_loss``, O(T) a step."""
    zeros, empty = jnp.zeros(num_rounds, jnp.int64), jnp.zeros(num_rounds, jnp.float64)

    def add(data, t, prompt, on_policy, base_response, on_policy_log_base, base_log_base):
        new = (prompt, on_policy, base_response, on_policy_log_base, base_log_base, True)
        return tuple(column.at[t].set(value) for column, value in zip(data, new))

    return Accumulator((zeros, zeros, zeros, empty, empty, jnp.zeros(num_rounds, bool)), add, round_loss)


def statistics_accumulator(model_class) -> Accumulator:
    """Running sufficient statistics (``xpo_statistics``): O(1) in t a step."""

    def add(statistics, t, *datum):
        return add_round(model_class, statistics, *datum)

    def loss(param, params, statistics, beta, alpha, loss_scale):
        return statistics_loss(param.log_partition, params, statistics, beta, alpha, loss_scale)

    return Accumulator(empty_statistics(model_class), add, loss)


def _xpo_run(key, oracle, model_class, param, params0, num_rounds, beta, alpha, num_steps, num_validation,
             learning_rate, loss_scale, accumulator):
    optimizer = optax.adam(learning_rate)
    start = oracle
    key_rounds, key_validation = jax.random.split(key)

    def round_step(carry, t):
        params, oracle, state = carry
        key_x, key_y, key_base = jax.random.split(jax.random.fold_in(key_rounds, t), 3)
        prompt, oracle = oracle.draw_prompts(key_x, 1)
        on_policy = jax.random.categorical(key_y, param.log_policy(params)[prompt])
        batch, oracle = oracle.sample(key_base, prompt, 1)
        on_policy_log_base, oracle = oracle.evaluate(prompt, on_policy)
        datum = (prompt[0], on_policy[0], batch.responses[0, 0], on_policy_log_base[0], batch.log_probs[0, 0])
        state = accumulator.add(state, t, *datum)

        def loss(p):
            return accumulator.loss(param, p, state, beta, alpha, loss_scale)

        def descend(opt, _):
            p, opt_state = opt
            updates, opt_state = optimizer.update(jax.grad(loss)(p), opt_state, p)
            return (param.project(optax.apply_updates(p, updates)), opt_state), None

        (params, _), _ = jax.lax.scan(descend, (params, optimizer.init(params)), None, length=num_steps)
        value, gradient = jax.value_and_grad(loss)(params)
        mapping = params - param.project(params - gradient)
        return (params, oracle, state), (params, value, jnp.sqrt(jnp.sum(mapping**2)),
                                         tuple(jnp.asarray(i, jnp.int64) for i in datum[:3]))

    (_, oracle, _), (trace, objective, gradient_norm, data) = jax.lax.scan(
        round_step, (params0, oracle, accumulator.empty), jnp.arange(num_rounds))
    iterates = jnp.concatenate([params0[None], trace], axis=0)
    trained = oracle

    estimates, oracle = validate(key_validation, oracle, param.log_policy, iterates, beta, num_validation)
    selected = jnp.argmax(estimates)
    params = iterates[selected]
    policy = TabularPolicy.tree_unflatten(None, (jnp.exp(param.log_policy(params)), model_class.prompt_probs))
    result = XPOResult(policy, queries_used(start, oracle), params, selected, queries_used(start, trained),
                       queries_used(trained, oracle), iterates, estimates, objective, gradient_norm, data[0], data[1],
                       data[2])
    return result, oracle


def validate(key, oracle: Oracle, log_policy: Callable, iterates, beta, num_validation: int):
    """Ĵ_β(π^(t)) = (1/V) Σ_j [(1+β) log π_base(y_j|x_j) − β log π^(t)(y_j|x_j)], x_j ∼ μ, y_j ∼ π^(t)(·|x_j), for
    every iterate; V prompts and V evaluations per iterate, keys folded from the iterate index. Returns
    (estimates [T+1], oracle)."""

    def one_iterate(oracle, indexed):
        index, params = indexed
        key_x, key_y = jax.random.split(jax.random.fold_in(key, index))
        prompts, oracle = oracle.draw_prompts(key_x, num_validation)
        log_table = log_policy(params)
        responses = jax.random.categorical(key_y, log_table[prompts])
        log_base, oracle = oracle.evaluate(prompts, responses)
        return oracle, jnp.mean((1.0 + beta) * log_base - beta * log_table[prompts, responses])

    oracle, estimates = jax.lax.scan(one_iterate, oracle, (jnp.arange(iterates.shape[0]), iterates))
    return estimates, oracle


def select_prefix(validation, num_rounds):
    """The index XPO run for ``num_rounds`` ≤ T rounds returns: argmax of Ĵ_β over the first num_rounds + 1
    iterates of a T-round run (valid because rounds and validation draws are keyed by their index). Vectorized:
    ``validation`` [..., T+1], ``num_rounds`` broadcastable int array."""
    validation = jnp.asarray(validation)
    index = jnp.arange(validation.shape[-1])
    num_rounds = jnp.asarray(num_rounds)[..., None]
    masked = jnp.where(index <= num_rounds, validation, -jnp.inf)
    return jnp.argmax(masked, axis=-1)
