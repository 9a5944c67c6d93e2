"""Learners run through the oracle on the hard family of Appendix H, and the search for their sample complexity.

Thm 3.1 (Thm 3.1′ for p > 1) says that on Π = {π^I : I ∈ [M]^d} with Δ = 16ε and M ≍ C ε^(−1/p) no learner with
the sample-and-evaluate oracle reaches E_I E P_x[π̂(y^I_γ(x)|x) > 1/2] ≥ 1 − ε with fewer than
m ≳ C log|Π| / (ε^(1+1/p)(1 + log(C ε^(−1/p)))) samples; Thm D.2 (and Thm 3.1′'s adaptive half) bounds E[m] of an
adaptive learner by the same rate with ε^(1/p) in place of ε^(1+1/p). The empirical counterpart is the smallest
budget at which a learner succeeds, for I drawn from the uniform prior of the lower bound. Four learners:

* ``"bayes"``: the Bayes-optimal non-adaptive learner (``bayes_hard_learner``, N = 1, the best split of m;
  budget = m). Lemma H.3: its coordinate error stays ≥ 1/8 until m ≳ dM/Δ.
* ``"bayes_adaptive"``: the Bayes decision with sample-until-revealed (``adaptive_bayes_hard_learner``; budget = n
  prompts, E[m] reported). Lemma H.4: E[m] ≳ dM.
* ``"sft"``: SFT-Sharpening with N = ⌈ln(2Δ/ε)/a⌉ (Prop. C.1's N at the rare prompts' argmax mass a, so best-of-N
  misses w.p. ≤ ε/(2Δ)) and the MLE over the realizable class {π^BoN_N : π ∈ Π} (budget = n; m = nN).
* ``"adaptive_sft"``: adaptive SFT-Sharpening (Eq. 10) with μ = ln(2Δ/ε) (Lemma I.1: miss ≤ ε/(2Δ)) and the MLE over
  {π^AdaBoN_μ : π ∈ Π} (budget = n; E[m] reported).

Success (Lemma H.2). Every learner is right at x_0, so E P_x[π̂(y*|x) > 1/2] = 1 − Δ·(coordinate error), and the
target 1 − ε is "coordinate error ≤ ε/Δ". Each (seed, rare prompt) is one Bernoulli trial "ĵ_i = j_i and
π̂(y_{j_i}|x_i) > 1/2"; ``measure_learner`` finds the smallest budget with success ≥ 1 − ε/Δ by
``sample_complexity`` (Wilson 95% per budget; the d trials of one seed share its prompt counts, a weak dependence
the intervals ignore).

Compile once. Every shape is padded (``padded_shapes``: largest d, M, budget cap and samples per prompt over the
instances of a sweep), the budget and N are traced, so ``run_learner`` compiles once per learner and shape set
(``run_learner.trace_count``), never per budget or instance.

Own allocations. ``"sft"`` and ``"adaptive_sft"`` above run at one prescription; ``search_learner_allocations``
measures each algorithm's own m*, the minimum over its allocation ((n, N), or (n, μ, cap) with μ traced in
``run_adaptive_sft``), by ``allocation.search_allocations`` over ``allocation_shapes``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

import sharpsim as ss
from sharpsim.algorithms.adaptive_sft import adaptive_sft_sharpen
from sharpsim.algorithms.bayes_hard import adaptive_bayes_hard_learner, bayes_hard_learner
from sharpsim.algorithms.best_of_n import running_best_index
from sharpsim.core.oracle import Oracle
from sharpsim.core.validation import as_float_array, check_in_interval, check_positive_int
from sharpsim.instances.hard import DELTA_PER_EPS
from sharpsim.measure.allocation import search_allocations
from sharpsim.measure.arguments import (check_choice, check_concrete_scalar, check_fixed_shape_run, check_hard_class,
                                        check_hard_classes, check_positive_finite, check_shapes, prechecked)
from sharpsim.measure.complexity import SampleComplexity, sample_complexity
from sharpsim.core.jit import counted_jit

LEARNERS = ("bayes", "bayes_adaptive", "sft", "adaptive_sft")
ADAPTIVE = ("bayes_adaptive", "adaptive_sft")
TARGET_ERROR = 1.0 / DELTA_PER_EPS  # coordinate error ε/Δ (Lemma H.2)
BOOST = math.log(2 * DELTA_PER_EPS)  # ln(2Δ/ε): per-visit miss probability of BoN / AdaBoN ≤ ε/(2Δ)
SEED_BATCH = 32  # seeds per vectorized batch of jax.lax.map: bounds the memory of the padded draws


def check_learner(learner) -> str:
    return check_choice(learner, "learner", LEARNERS)


def hard_instance(point: Mapping, max_rare: int | None = None, max_candidates: int | None = None) -> ss.HardClass:
    """The hard class of Appendix H at ``point`` = {coverage, eps, d[, p]}: Δ = 16ε and the M whose C_cov,γ,p is
    closest to ``coverage`` (p = 1 unless given; ``hard_parameters``), padded to (``max_rare``, ``max_candidates``)."""
    if not isinstance(point, Mapping):
        raise TypeError(f"point must be a mapping {{coverage, eps, d[, p]}}, got {type(point).__name__}")
    missing = {"coverage", "eps", "d"} - set(point)
    if missing:
        raise ValueError(f"point must give coverage, eps and d (and optionally p), got {dict(point)!r}")
    params = ss.hard_parameters(point["coverage"], point["eps"], point["d"], p=point.get("p", 1))
    return ss.HardClass(params["num_rare"], params["num_candidates"], params["delta"], params["gamma"],
                        max_rare=max_rare, max_candidates=max_candidates)


def sft_num_samples(model_class: ss.HardClass) -> int:
    """N = ⌈ln(2Δ/ε)/a⌉: Prop. C.1's per-prompt best-of-N budget at the rare prompts (miss ≤ ε/(2Δ))."""
    check_hard_class(model_class)
    return math.ceil(BOOST / float(model_class.top_mass))


def num_samples(learner: str, model_class: ss.HardClass) -> int:
    """Samples per prompt: 1 (bayes), N (sft), or the per-prompt cap of an adaptive learner."""
    check_learner(learner)
    check_hard_class(model_class)
    if learner == "bayes":
        return 1
    if learner == "bayes_adaptive":  # (1 − a)^(12M) ≈ e^(−24): the cap is never reached in practice
        return 12 * int(model_class.num_candidates)
    if learner == "sft":
        return sft_num_samples(model_class)
    return math.ceil(BOOST / float(model_class.other_mass)) + 1  # Eq. 10 always fires within ⌈μ/b⌉ + 1


def predicted_budget(learner: str, model_class: ss.HardClass) -> int:
    """Where the search starts: coordinate i is found w.p. ≈ 1 − exp(−budget·(Δ/d)·(per-visit hit)), so about
    (d/Δ) ln(Δ/ε) visits are needed (Lemmas H.3, H.4)."""
    check_learner(learner)
    check_hard_class(model_class)
    d, delta, a = int(model_class.num_rare), float(model_class.delta), float(model_class.top_mass)
    visits = d / delta * math.log(1 / TARGET_ERROR)
    return max(1, int({"bayes": visits / a, "bayes_adaptive": visits, "sft": 1.1 * visits,
                       "adaptive_sft": 1.1 * visits}[learner]))


def budget_cap(learner: str, model_class: ss.HardClass) -> int:
    """The largest budget searched: the power of two at or above 4 × ``predicted_budget``."""
    return 2 ** math.ceil(math.log2(4 * predicted_budget(learner, model_class)))


def padded_shapes(classes: Sequence[ss.HardClass], learners: Sequence[str] = LEARNERS) -> dict:
    """The static shapes that fit every class: max d and M, and per learner (largest budget cap, largest samples
    per prompt). Cells padded to one shape set share one compilation per learner."""
    check_hard_classes(classes)
    if isinstance(learners, str):
        raise TypeError(f"learners must be a sequence of learner names, got the string {learners!r}")
    shapes = {"max_rare": max(int(c.num_rare) for c in classes),
              "max_candidates": max(int(c.num_candidates) for c in classes)}
    for learner in learners:
        shapes[check_learner(learner)] = (max(budget_cap(learner, c) for c in classes),
                                          max(num_samples(learner, c) for c in classes))
    return shapes


class _PrefixFit:
    """Fit only the first ``budget`` targets: SFT at n = budget from a fixed-shape draw of n_max prompts."""

    def __init__(self, model_class: ss.HardClass, budget):
        self.model_class, self.budget = model_class, budget
        self.num_prompts, self.num_responses = model_class.num_prompts, model_class.num_responses

    def fit(self, prompts, responses, weights=None):
        return self.model_class.fit(prompts, responses, (jnp.arange(prompts.shape[0]) < self.budget) * 1.0)


def sft_prefix(key, oracle, fit_class: ss.HardClass, num_prompts: int, max_samples: int, budget, samples):
    """SFT-Sharpening at n = ``budget`` ≤ num_prompts and N = ``samples`` ≤ max_samples, both traced: the key split
    and oracle calls of ``sft_sharpen`` at the padded shapes, best-of-N read off the first N draws
    (``running_best_index``) and the MLE fitted on the first n picks. At (num_prompts, max_samples) it is
    ``sft_sharpen(key, oracle, fit_class, num_prompts, max_samples)``."""
    check_hard_class(fit_class, "fit_class")
    num_prompts, max_samples = check_positive_int(num_prompts, "num_prompts"), check_positive_int(max_samples,
                                                                                                   "max_samples")
    check_concrete_scalar(budget, "budget", 0, num_prompts, True, True, integer=True)
    check_concrete_scalar(samples, "samples", 1, max_samples, True, True, integer=True)
    key_prompts, key_samples = jax.random.split(key)
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    batch, oracle = oracle.sample(key_samples, prompts, max_samples)
    pick = running_best_index(batch.log_probs)[:, samples - 1]
    responses = jnp.take_along_axis(batch.responses, pick[:, None], axis=-1)[:, 0]
    return _PrefixFit(fit_class, budget).fit(prompts, responses)


def _check_run_learner(model_class, keys, budget, samples, learner, num_prompts, max_samples):
    check_learner(learner)
    check_fixed_shape_run(model_class, keys, budget, num_prompts, max_samples, SEED_BATCH)
    if learner == "sft":
        check_concrete_scalar(samples, "samples", 1, max_samples, True, True, integer=True)


@prechecked(_check_run_learner)
@partial(counted_jit, static_argnames=("learner", "num_prompts", "max_samples"))
def run_learner(model_class: ss.HardClass, keys, budget, samples, learner: str, num_prompts: int,
                max_samples: int):
    """Per seed: draw I ∼ Uniform([M]^d), run ``learner`` at ``budget`` (with ``samples`` per prompt for SFT)
    through the oracle; returns (correct [seeds, max_rare]: ĵ_i = j_i and π̂(y_{j_i}|x_i) > 1/2, samples used
    [seeds])."""

    def one_seed(key):
        key_index, key_run = jax.random.split(key)
        base = model_class.random_member(key_index)
        oracle = Oracle(base)
        if learner == "bayes":
            result, _ = bayes_hard_learner(key_run, oracle, model_class, num_prompts, 1, budget)
            return result.index == base.index, result.queries.samples
        if learner == "bayes_adaptive":
            result, _ = adaptive_bayes_hard_learner(key_run, oracle, model_class, num_prompts, max_samples, budget)
            return result.index == base.index, result.queries.samples
        if learner == "sft":
            fit_class = model_class.bon_class(samples)
            fit = sft_prefix(key_run, oracle, fit_class, num_prompts, max_samples, budget, samples)
            correct = (fit.index == base.index) & (fit_class.top_mass > 0.5)
            return correct, jnp.asarray(budget * samples, jnp.int64)
        fit_class = model_class.adaptive_bon_class(BOOST)
        result, _ = adaptive_sft_sharpen(key_run, oracle, _PrefixFit(fit_class, budget), num_prompts, BOOST,
                                         max_samples)
        correct = (result.policy.index == base.index) & (fit_class.top_mass > 0.5)
        active = jnp.arange(num_prompts) < budget
        return correct, jnp.sum(jnp.where(active, result.samples_per_prompt, 0))

    return jax.lax.map(one_seed, keys, batch_size=SEED_BATCH)


def measure_learner(learner: str, model_class: ss.HardClass, keys, shapes: Mapping,
                    resolution: float = 0.08, spread: dict | None = None) -> tuple[SampleComplexity, dict]:
    """The threshold search for one learner on one (padded) instance: the smallest budget with coordinate error
    ≤ ε/Δ (Lemma H.2), as (SampleComplexity, {budget: mean samples used}). ``shapes`` from ``padded_shapes``.
    ``spread`` (optional, a dict) is filled with {budget: standard deviation over seeds of the samples used}."""
    check_learner(learner)
    check_hard_class(model_class)
    if not isinstance(shapes, Mapping):
        raise TypeError(f"shapes must be the mapping of padded_shapes, got {type(shapes).__name__}")
    if spread is not None and not isinstance(spread, dict):
        raise TypeError(f"spread must be None or a dict to fill, got {type(spread).__name__}")
    if learner not in shapes:
        raise ValueError(f"shapes has no entry for learner {learner!r}; it has {sorted(shapes)}")
    num_prompts, max_samples = shapes[learner]
    samples = jnp.asarray(num_samples(learner, model_class), jnp.int64)
    d = int(model_class.num_rare)
    used: dict[int, float] = {}

    def success_batch(batch_keys, budget):
        correct, spent = run_learner(model_class, batch_keys, budget, samples, learner, num_prompts, max_samples)
        used[int(budget)] = float(np.mean(np.asarray(spent)))
        if spread is not None:
            spread[int(budget)] = float(np.std(np.asarray(spent), ddof=1)) if np.size(spent) > 1 else 0.0
        return np.asarray(correct)[:, :d].reshape(-1)

    result = sample_complexity(success_batch, keys, TARGET_ERROR,
                               initial_budget=min(predicted_budget(learner, model_class), num_prompts),
                               max_budget=num_prompts, resolution=resolution)
    return result, used


def measured_records(learner: str, result: SampleComplexity, used: Mapping, spread: Mapping | None = None) -> dict:
    """The search's per-budget records plus the learner, the (mean) samples used at each budget and m* with its
    interval in samples (``inf`` where the search did not reach the target); with ``spread`` also the standard
    deviation over seeds of the samples used at each budget (column ``samples_sd``)."""

    def samples_at(budget):
        return used.get(int(budget), math.inf) if math.isfinite(budget) else math.inf

    size = result.budgets.size
    records = {**result.records(), "learner": np.full(size, learner),
               "samples_mean": np.array([samples_at(b) for b in result.budgets]),
               "m_star": np.full(size, samples_at(result.estimate)),
               "m_star_low": np.full(size, samples_at(result.lower)),
               "m_star_high": np.full(size, samples_at(result.upper))}
    if spread is not None:
        records["samples_sd"] = np.array([spread.get(int(b), math.nan) for b in result.budgets])
    return records


def lower_bound_rates(model_class: ss.HardClass, eps: float) -> dict[str, float]:
    """The rates of Theorem 3.1 (non-adaptive) and Theorem D.2 (adaptive) at the instance, constant 1."""
    check_hard_class(model_class)
    check_in_interval(eps, "eps", 0.0, 1.0, closed_low=False, closed_high=False)
    coverage = model_class.coverage(1)
    return {"thm_3_1": float(ss.theory.thm_3_1_lower_bound(coverage, model_class.log_size, eps)),
            "thm_d2": float(ss.theory.thm_d2_lower_bound(coverage, model_class.log_size, eps))}


def with_constant_columns(columns: Mapping[str, list], constants: Mapping) -> dict[str, np.ndarray]:
    """A sweep cell's table: ``columns`` (one list per column, all of one length) plus one column per entry of
    ``constants`` repeating its value on every row (the instance's parameters and bounds)."""
    if not (isinstance(columns, Mapping) and isinstance(constants, Mapping)) or not columns:
        raise TypeError("columns and constants must be mappings (columns non-empty), got "
                        f"{type(columns).__name__} and {type(constants).__name__}")
    size = len(next(iter(columns.values())))
    for name, values in columns.items():
        if len(values) != size:
            raise ValueError(f"every column must have one length; column {name!r} has {len(values)} rows, the first "
                             f"{size}")
    return {**{name: np.asarray(values) for name, values in columns.items()},
            **{name: np.asarray([value] * size) for name, value in constants.items()}}


def measure_records(learners: Sequence[str], model_class: ss.HardClass, keys, shapes: Mapping,
                    resolution: float = 0.08, with_spread: bool = False) -> dict[str, list]:
    """``measured_records`` of every learner on one instance, concatenated column by column (one row per
    evaluated budget and learner): the bulk of a lower-bound sweep cell. ``with_spread`` adds ``samples_sd``."""
    columns: dict[str, list] = {}
    for learner in learners:
        spread = {} if with_spread else None
        result, used = measure_learner(learner, model_class, keys, shapes, resolution, spread)
        records = measured_records(learner, result, used, spread)
        for name, values in records.items():
            columns.setdefault(name, []).extend(np.asarray(values).tolist())
    return columns


def adaptive_bayes_exact(model_class: ss.HardClass, budget) -> tuple[np.ndarray, np.ndarray]:
    """(coordinate error, E[m]) of the sample-until-revealed Bayes learner after n = ``budget`` prompts, exactly,
    with an infinite tape (the finite one of ``num_samples`` changes both by at most (1 − a)^(12M) ≈ e^(−24)).
    A rare prompt is visited w.p. 1 − (1 − Δ/d)^n; visited, it is sampled until its argmax appears (1/a draws on
    average) and is then known; unvisited, the uniform posterior's lowest-index mode is right w.p. 1/M. This is
    Lemma H.4's setting: E[m_i] = 1/a = (1 − γ)M per revealed coordinate."""
    check_hard_class(model_class)
    budget = as_float_array(budget, "budget")
    if not np.all(np.isfinite(budget) & (budget >= 0)):
        raise ValueError(f"budget must be a finite number of prompts ≥ 0, got {budget.ravel()[:5].tolist()}")
    d, big_m = float(model_class.num_rare), float(model_class.num_candidates)
    delta, a = float(model_class.delta), float(model_class.top_mass)
    unvisited = (1.0 - delta / d) ** budget
    return unvisited * (1.0 - 1.0 / big_m), d * (1.0 - unvisited) / a


def adaptive_bayes_threshold(model_class: ss.HardClass, target_error: float = TARGET_ERROR) -> tuple[int, float]:
    """(n*, E[m] at n*): the smallest number of prompts at which ``adaptive_bayes_exact``'s coordinate error is
    ≤ ``target_error`` (ε/Δ by default, Lemma H.2), and the mean samples the learner spends there."""
    check_hard_class(model_class)
    target_error = check_in_interval(target_error, "target_error", 0.0, 1.0, closed_low=False, closed_high=False)
    d, big_m, delta = float(model_class.num_rare), float(model_class.num_candidates), float(model_class.delta)
    ratio = target_error / (1.0 - 1.0 / big_m)
    budget = 0 if ratio >= 1.0 else math.ceil(math.log(ratio) / math.log1p(-delta / d) - 1e-9)
    while adaptive_bayes_exact(model_class, budget)[0] > target_error:  # guard the rounding of the logarithm
        budget += 1
    return budget, float(adaptive_bayes_exact(model_class, budget)[1])


# --- the algorithms' own allocations (``sharpsim.measure.allocation``) --------------------------------------------
# SFT-Sharpening's allocation is (n, N), adaptive SFT's (n, μ, cap); ``run_learner`` fixes N = ``sft_num_samples``
# and μ = BOOST (the prescriptions). The optimum scans the shape (N, or μ) and searches n at each shape.

ALLOCATION_LEARNERS = ("sft", "adaptive_sft")


def _check_run_adaptive_sft(model_class, keys, budget, mu, num_prompts, max_samples):
    check_fixed_shape_run(model_class, keys, budget, num_prompts, max_samples, SEED_BATCH)
    check_concrete_scalar(mu, "mu", 0.0, math.inf, False, False)


@prechecked(_check_run_adaptive_sft)
@partial(counted_jit, static_argnames=("num_prompts", "max_samples"))
def run_adaptive_sft(model_class: ss.HardClass, keys, budget, mu, num_prompts: int, max_samples: int):
    """``run_learner``'s ``"adaptive_sft"`` with the stopping parameter μ traced (the MLE over {π^AdaBoN_μ}):
    at μ = BOOST it is that learner, draw for draw. Returns (correct [seeds, max_rare], samples used [seeds])."""

    def one_seed(key):
        key_index, key_run = jax.random.split(key)
        base = model_class.random_member(key_index)
        fit_class = model_class.adaptive_bon_class(mu)
        result, _ = adaptive_sft_sharpen(key_run, Oracle(base), _PrefixFit(fit_class, budget), num_prompts, mu,
                                         max_samples)
        correct = (result.policy.index == base.index) & (fit_class.top_mass > 0.5)
        active = jnp.arange(num_prompts) < budget
        return correct, jnp.sum(jnp.where(active, result.samples_per_prompt, 0))

    return jax.lax.map(one_seed, keys, batch_size=SEED_BATCH)


def adaptive_cap(model_class: ss.HardClass, mu: float) -> int:
    """⌈μ/b⌉ + 1: Eq. 10 fires by then on every prompt of the hard family (before the argmax appears the running
    maximum is b), so every cap at or above it gives the same run; ``num_samples`` is this at μ = BOOST."""
    check_hard_class(model_class)
    mu = check_positive_finite(mu, "mu")
    return math.ceil(mu / float(model_class.other_mass)) + 1


def allocation_shapes(learner: str, model_class: ss.HardClass, factors: Sequence[float]) -> list[dict]:
    """The shape grid of a learner's allocation, increasing: for ``"sft"`` {"num_samples": N} over the distinct
    N = ⌈f·N_C1⌉ (N_C1 = ``sft_num_samples``), for ``"adaptive_sft"`` {"mu": f·BOOST, "cap": ``adaptive_cap``};
    f = 1 is the prescription (Prop. C.1 / Lemma I.1)."""
    check_choice(learner, "learner", ALLOCATION_LEARNERS)
    check_hard_class(model_class)
    factors = sorted(as_float_array(factors, "factors").ravel().tolist())
    if not factors or factors[0] <= 0 or not math.isfinite(factors[-1]):
        raise ValueError(f"factors must be positive finite numbers, got {factors!r}")
    if learner == "sft":
        grid = sorted({max(1, math.ceil(f * sft_num_samples(model_class) - 1e-9)) for f in factors})
        return [{"num_samples": float(big_n)} for big_n in grid]
    return [{"mu": f * BOOST, "cap": float(adaptive_cap(model_class, f * BOOST))} for f in factors]


def prescribed_shape(learner: str, model_class: ss.HardClass) -> dict:
    """The prescription's shape: N = N_C1 (Prop. C.1) or μ = BOOST (Lemma I.1) with its cap."""
    return allocation_shapes(learner, model_class, [1.0])[0]


def allocation_padding(learner: str, classes: Sequence[ss.HardClass], factors: Sequence[float],
                       prompt_factor: int = 1) -> tuple[int, int]:
    """(prompt padding, sample padding) serving every shape of ``allocation_shapes`` on every class: the largest
    ``budget_cap`` × ``prompt_factor`` (smaller N needs more prompts) and the largest N or cap."""
    prompt_factor = check_positive_int(prompt_factor, "prompt_factor")
    check_choice(learner, "learner", ALLOCATION_LEARNERS)
    check_hard_classes(classes)
    prompts = max(budget_cap(learner, c) for c in classes) * prompt_factor
    column = "num_samples" if learner == "sft" else "cap"
    samples = max(int(s[column]) for c in classes for s in allocation_shapes(learner, c, factors))
    return prompts, samples


def search_learner_allocations(learner: str, model_class: ss.HardClass, keys, shapes: Sequence[Mapping],
                               padding: tuple[int, int], resolution: float = 0.08) -> dict[str, np.ndarray]:
    """The learner's own m* on one (padded) instance: ``allocation.search_allocations`` over ``shapes`` (all of
    them scanned), success per (seed, rare prompt) at coordinate error ≤ ε/Δ (Lemma H.2). ``samples`` is n·N for
    SFT and the mean samples used at that n for adaptive SFT; ``prescribed`` flags the prescription's shape."""
    check_choice(learner, "learner", ALLOCATION_LEARNERS)
    check_hard_class(model_class)
    if not (isinstance(padding, tuple) and len(padding) == 2):
        raise TypeError(f"padding must be the pair (prompts, samples) of allocation_padding, got {padding!r}")
    num_prompts, max_samples = check_positive_int(padding[0], "padding[0]"), check_positive_int(padding[1],
                                                                                                "padding[1]")
    column = "num_samples" if learner == "sft" else "cap"
    shapes = check_shapes(shapes)
    if any(column not in shape for shape in shapes):
        raise ValueError(f"every shape of a {learner!r} allocation must give {column!r}, got {shapes}")
    if max(float(s[column]) for s in shapes) > max_samples:
        raise ValueError(f"padding {padding} is below the largest {column} of shapes {list(shapes)}")
    d = int(model_class.num_rare)
    used: dict[tuple, float] = {}

    def success(batch_keys, size, shape):
        if learner == "sft":
            correct, _ = run_learner(model_class, batch_keys, size, jnp.asarray(int(shape["num_samples"]), jnp.int64),
                                     "sft", num_prompts, max_samples)
            used[(tuple(shape.values()), int(size))] = float(int(size) * shape["num_samples"])
        else:
            correct, spent = run_adaptive_sft(model_class, batch_keys, size, jnp.asarray(shape["mu"], jnp.float64),
                                              num_prompts, max_samples)
            used[(tuple(shape.values()), int(size))] = float(np.mean(np.asarray(spent)))
        return np.asarray(correct)[:, :d].reshape(-1)

    rows = search_allocations(success, keys, TARGET_ERROR, list(shapes),
                              lambda n, shape: used[(tuple(shape.values()), int(n))], max_size=num_prompts,
                              patience=len(shapes), resolution=resolution)
    key = "num_samples" if learner == "sft" else "mu"
    rows["prescribed"] = np.isclose(rows[key], prescribed_shape(learner, model_class)[key])
    rows["learner"] = np.full(rows["budget"].size, learner)
    return rows
