"""Shared machinery of the SFT sample-complexity experiments (sft_coverage, sft_epsilon, sft_class_size).

Instance. ``rare_prompt_instance`` is the App. H family behind the lower bound (Thm 3.1), the instance on which
Thm 4.1's rate is tight: a common prompt x₀ with a deterministic answer (mass 1 − Δ) and d rare prompts
(mass Δ/d each) whose argmax y*(x_i) carries 2/M among M roughly equal responses. Then

    C_cov = (1 − Δ) + Δ·M/2,     C̄_cov = C_cov (unique argmaxes).

With Δ = κ·ε (κ > 1) the error exceeds ε as soon as more than d/κ rare prompts fail, so SFT needs n ≍ d/(κε)
prompts (to see the rare prompts) and N ≍ M log(1/δ)/2 samples (to find their argmax).

Law engine (why the searches are fast, and why that is exact). The MLE of every class here depends on the
data only through the training pairs (x_i, y_i^BoN), which are i.i.d. with x ∼ μ and y ∼ π^BoN_N(·|x), the
exact law ``best_of_n_law``. So one run of SFT-Sharpening at (n, N) is simulated exactly, in law, by drawing
n pairs from that law instead of n·N oracle samples (N times cheaper). The budget is traced: the prompts are
padded to ``max_prompts`` and the first n get weight 1 (``fit(..., weights)``), N enters only through the law,
so one compilation serves every budget. The queries charged are m = n·N exactly (as ``sft_sharpen`` does).
For adaptive SFT with the tabular class, sharpness depends only on whether each pick lands in y*(x), so a
pick is drawn as a hit with the exact probability ``adaptive_hit_law`` (and E[N_μ] is exact too). Tests check
both engines against the oracle-based algorithms (``sft_sharpen``, ``adaptive_sft_sharpen``).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.algorithms.best_of_n import best_of_n_law
from sharpsim.measure.complexity import SampleComplexity, sample_complexity
from sharpsim.core.policy import TabularPolicy, as_tabular
from sharpsim.referee.quantities import argmax_mask, sharpening_error
from sharpsim.core.sampling import sample_categorical_rows
from sharpsim.runner.sweep import counted_jit

RAY_UNITS = 1024  # a search budget b is the scale s = b / RAY_UNITS along the prescribed ray


# --- the instance -------------------------------------------------------------------------------------

def rare_prompt_instance(num_rare: int, num_candidates: int, rare_mass: float,
                         num_responses: int | None = None) -> TabularPolicy:
    """App. H-style instance: X = d + 1 prompts, responses y₀, y₁, …, y_M (padded with zero-mass responses up
    to ``num_responses`` so that instances of one sweep share shapes).

    x₀ (mass 1 − Δ) answers y₀ surely; rare prompt x_i (mass Δ/d) puts 2/M on y_{j_i}, j_i = 1 + (i − 1) mod M,
    and (1 − 2/M)/(M − 1) on each other y_j, j ∈ [M]. Needs M ≥ 3 and Δ ∈ (0, 1).
    """
    if num_candidates < 3:
        raise ValueError(f"num_candidates must be ≥ 3, got {num_candidates}")
    width = num_candidates + 1 if num_responses is None else num_responses
    if width < num_candidates + 1:
        raise ValueError(f"num_responses must be ≥ num_candidates + 1 = {num_candidates + 1}, got {width}")
    probs = np.zeros((num_rare + 1, width))
    probs[0, 0] = 1.0
    other = (1.0 - 2.0 / num_candidates) / (num_candidates - 1)
    probs[1:, 1:num_candidates + 1] = other
    for i in range(1, num_rare + 1):
        probs[i, 1 + (i - 1) % num_candidates] = 2.0 / num_candidates
    prompt_probs = np.concatenate([[1.0 - rare_mass], np.full(num_rare, rare_mass / num_rare)])
    return TabularPolicy(probs, prompt_probs)


def rare_prompt_coverage(num_candidates, rare_mass):
    """C_cov = (1 − Δ) + Δ·M/2 of ``rare_prompt_instance``."""
    return (1.0 - rare_mass) + rare_mass * num_candidates / 2.0


# --- the law engine -----------------------------------------------------------------------------------

@counted_jit(static_argnames=("max_prompts",))
def pairs_success_law(policy, model_class, law, keys, num_prompts, eps, delta, max_prompts: int):
    """bool [seeds]: is the MLE on n i.i.d. pairs x ∼ μ, y ∼ law(·|x) (ε, δ)-sharp? The training set of SFT with
    ``law`` = π^BoN_N, or of adaptive SFT with ``law`` = the AdaBoN hit law (``adaptive_pick_law``)."""
    weights = (jnp.arange(max_prompts) < num_prompts).astype(jnp.float64)

    def one(key):
        key_prompts, key_picks = jax.random.split(key)
        prompts = policy.sample_prompts(key_prompts, max_prompts)
        picks = sample_categorical_rows(key_picks, law, prompts, 1)[..., 0]
        fitted = as_tabular(model_class.fit(prompts, picks, weights))
        return sharpening_error(fitted, policy, delta) <= eps

    return jax.vmap(one)(keys)


@jax.jit
def _bon_law(policy, num_samples):
    return best_of_n_law(policy, num_samples).probs


def sft_success_law(policy, model_class, keys, num_prompts, num_samples, eps, delta, max_prompts: int):
    """bool [seeds]: is SFT-Sharpening at (n, N) (ε, δ)-sharp? Training pairs drawn from their exact law π^BoN_N."""
    return pairs_success_law(policy, model_class, _bon_law(policy, jnp.asarray(num_samples, jnp.float64)), keys,
                             num_prompts, eps, delta, max_prompts)


def adaptive_hit_law(policy, mu, cap: int, max_cap: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Per prompt: (P[AdaBoN pick ∈ y*(x)], E[min(N_μ(x), cap)]) for the stopping rule of Eq. (10), exactly.

    Order the responses by decreasing π(y|x) (F_i = mass of the i best) and let L_u be the rank of the best of
    u draws, P(L_u = i) = (1 − F_{i−1})^u − (1 − F_i)^u; k_i = ⌈μ/π(y_i|x)⌉. The rule stops after u draws iff
    u ≥ k_{L_u} (monotone in u), so P(N_μ > u) = Σ_i P(L_u = i)·1{u < k_i}; the pick misses the j = |y*|
    argmaxes iff no argmax is drawn before stopping:
        P(miss) = (1 − F_j)^cap + F_j Σ_{u=1}^{cap−1} Σ_{i>j} P(L_u = i)·1{u ≥ k_i}.

    ``max_cap`` ≥ cap fixes the shapes (the tape is padded and masked), so one compilation serves every cap.
    """
    max_cap = cap if max_cap is None else max_cap
    if not 1 <= cap <= max_cap:
        raise ValueError(f"cap must lie in [1, max_cap={max_cap}], got {cap}")
    return _adaptive_hit_law(as_tabular(policy), jnp.asarray(mu, jnp.float64), jnp.asarray(cap, jnp.float64), max_cap)


@partial(jax.jit, static_argnames=("max_cap",))
def _adaptive_hit_law(policy, mu, cap, max_cap: int):
    policy = as_tabular(policy)
    probs = -jnp.sort(-policy.probs, axis=-1)  # descending
    cumulative = jnp.minimum(jnp.cumsum(probs, axis=-1), 1.0)
    previous = jnp.concatenate([jnp.zeros_like(cumulative[:, :1]), cumulative[:, :-1]], axis=-1)
    thresholds = jnp.where(probs > 0, jnp.ceil(mu / jnp.where(probs > 0, probs, 1.0) - 1e-12), jnp.inf)
    draws = jnp.arange(1, max_cap, dtype=jnp.float64)[:, None, None]  # u = 1..cap−1 (masked beyond)
    rank_law = (jnp.exp(draws * jnp.log1p(-previous)) - jnp.exp(draws * jnp.log1p(-cumulative)))  # [u, X, Y]
    rank_law = jnp.where(draws < cap, rank_law, 0.0)
    still_running = rank_law * (draws < thresholds)
    expected = 1.0 + jnp.sum(still_running, axis=(0, 2))
    num_argmax = jnp.sum(argmax_mask(policy), axis=-1)
    beyond = jnp.arange(probs.shape[-1])[None, :] >= num_argmax[:, None]  # ranks i > j
    mass_top = jnp.take_along_axis(cumulative, (num_argmax - 1)[:, None], axis=-1)[:, 0]
    stopped_early = jnp.sum(rank_law * (draws >= thresholds) * beyond[None], axis=(0, 2))
    miss = jnp.exp(cap * jnp.log1p(-jnp.minimum(mass_top, 1.0))) + mass_top * stopped_early
    return 1.0 - miss, expected


@jax.jit
def adaptive_pick_law(policy, hit) -> jax.Array:
    """[X, Y]: a pick law with the AdaBoN hit probabilities: mass ``hit[x]`` on one argmax response of x, the rest
    on one non-argmax response. Exact in law for classes whose sharpness depends only on hits (tabular)."""
    policy = as_tabular(policy)
    mask = argmax_mask(policy)
    top = jnp.argmax(mask, axis=-1)
    below = jnp.argmax(~mask & (policy.probs > 0), axis=-1)  # used only when hit < 1, i.e. a non-argmax exists
    rows = jnp.arange(policy.num_prompts)
    law = jnp.zeros(policy.probs.shape).at[rows, below].add(1.0 - hit)
    return law.at[rows, top].add(hit)


def adaptive_success_law(policy, model_class, hit, keys, num_prompts, eps, delta, max_prompts: int):
    """bool [seeds]: is adaptive SFT with n prompts (ε, δ)-sharp? Picks are hits w.p. ``hit`` [X] (exact for
    classes whose sharpness depends only on hits, e.g. the tabular class). Shares ``pairs_success_law``'s
    compilation with ``sft_success_law``."""
    return pairs_success_law(policy, model_class, adaptive_pick_law(policy, hit), keys, num_prompts, eps, delta,
                             max_prompts)


# --- searches along a ray --------------------------------------------------------------------------------

def ray_point(budget, prompts_unit: float, samples_unit: float) -> tuple[int, int]:
    """(n, N) = (⌈s·n₀⌉, ⌈s·N₀⌉) at scale s = budget / RAY_UNITS."""
    scale = float(budget) / RAY_UNITS
    return max(1, math.ceil(scale * prompts_unit - 1e-9)), max(1, math.ceil(scale * samples_unit - 1e-9))


def search_sft_ray(policy, model_class, keys, eps, delta, rho, prompts_unit, samples_unit, max_prompts: int,
                   initial_scale: float = 0.25) -> tuple[SampleComplexity, int, int]:
    """Threshold scale along (n, N) = s·(n₀, N₀): returns the search result and (n, N) at its estimate."""
    def success(keys_, budget):
        n, big_n = ray_point(int(budget), prompts_unit, samples_unit)
        return sft_success_law(policy, model_class, keys_, jnp.asarray(n, jnp.int64), jnp.asarray(big_n, jnp.float64),
                               eps, delta, max_prompts)

    max_budget = int(max_prompts * RAY_UNITS / prompts_unit)
    start = min(max_budget, max(1, int(initial_scale * RAY_UNITS)))
    result = sample_complexity(success, keys, rho, initial_budget=start, max_budget=max_budget)
    if math.isfinite(result.estimate):
        return result, *ray_point(result.estimate, prompts_unit, samples_unit)
    return result, -1, -1


def search_adaptive(policy, model_class, hit, keys, eps, delta, rho, prompts_unit, max_prompts: int,
                    initial_scale: float = 0.25) -> tuple[SampleComplexity, int]:
    """Threshold scale for adaptive SFT with n = ⌈s·n₀⌉ prompts: the search result and n at its estimate."""
    def success(keys_, budget):
        n, _ = ray_point(int(budget), prompts_unit, 1.0)
        return adaptive_success_law(policy, model_class, hit, keys_, jnp.asarray(n, jnp.int64), eps, delta,
                                    max_prompts)

    max_budget = int(max_prompts * RAY_UNITS / prompts_unit)
    start = min(max_budget, max(1, int(initial_scale * RAY_UNITS)))
    result = sample_complexity(success, keys, rho, initial_budget=start, max_budget=max_budget)
    n = ray_point(result.estimate, prompts_unit, 1.0)[0] if math.isfinite(result.estimate) else -1
    return result, n


# --- tables and analysis ------------------------------------------------------------------------------------

def search_rows(result: SampleComplexity, point, samples_of) -> dict[str, np.ndarray]:
    """One row per evaluated budget: the search's records plus (n, N) and the samples m used there.

    ``point(budget) -> (n, N)``; ``samples_of(n, N) -> m`` (n·N, or E[m] for the adaptive algorithm)."""
    rows = result.records()
    points = [point(int(b)) for b in result.budgets]
    rows["scale"] = result.budgets / RAY_UNITS
    rows["num_prompts"] = np.array([p[0] for p in points], dtype=np.int64)
    rows["num_samples"] = np.array([p[1] for p in points], dtype=np.float64)
    rows["samples"] = np.array([samples_of(*p) for p in points], dtype=np.float64)
    return rows


def cell_threshold(rows, target: float) -> dict[str, float]:
    """m* and its interval for one cell's rows, recomputed from the stored counts (``threshold_from_table``)."""
    from sharpsim.measure.complexity import threshold_from_table

    rows = rows.sort_values("budget")
    estimate, lower, upper = threshold_from_table(rows.budget, rows.successes, rows.trials, target)
    samples = dict(zip(rows.budget.astype(float), rows.samples))
    prompts = dict(zip(rows.budget.astype(float), rows.num_prompts))
    per_prompt = dict(zip(rows.budget.astype(float), rows.num_samples))

    def at(table, budget):
        return float(table[budget]) if math.isfinite(budget) else math.inf

    return {"m_star": at(samples, estimate), "m_low": at(samples, lower), "m_high": at(samples, upper),
            "n_star": at(prompts, estimate), "N_star": at(per_prompt, estimate),
            "budget_star": estimate, "scale_star": estimate / RAY_UNITS, "seeds": int(rows.trials.iloc[0])}


def plot_thresholds(plotting, ax, x, stats, label, marker="o", color=None):
    """m* with its interval (an infinite upper end is drawn to the top of the data with an arrow-free cap)."""
    estimate = np.array([s["m_star"] for s in stats])
    low = np.array([s["m_low"] for s in stats])
    high = np.array([s["m_high"] for s in stats])
    finite_top = np.nanmax(np.where(np.isfinite(high), high, estimate)) * 2
    high = np.where(np.isfinite(high), high, finite_top)
    return plotting.errorbar_points(ax, x, estimate, low, high, label=label, marker=marker, color=color)


def plot_success_curves(plotting, ax, table, key: str, levels, label_of, target: float, xlabel: str, title: str,
                        colors=None):
    """Panel (a) of the SFT searches: success fraction against m for each level of ``key`` (Monte Carlo, 95% Wilson
    intervals), the 1 − ρ line, and the shared y label."""
    from sharpsim.measure.statistics import wilson_interval

    colors = colors or plotting.plt.get_cmap("viridis")
    for index, level in enumerate(levels):
        rows = table[table[key] == level].sort_values("samples")
        low, high = wilson_interval(rows.successes, rows.trials)
        fraction = rows.successes / rows.trials
        color = colors(index / max(1, len(levels) - 1) * 0.85)
        plotting.errorbar_points(ax, rows.samples, fraction, low, high, color=color, label=label_of(level))
        ax.plot(rows.samples, fraction, color=color, linewidth=0.6, alpha=0.6)
    ax.axhline(target, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$P[\,\hat\pi$ is $(\epsilon,\delta)$-sharpened$\,]$")
    ax.set_title(title, fontsize=9)


def search_footnote(table, instance: str, simulation: str = "runs simulated exactly in law") -> str:
    """The method line under every SFT sample-complexity figure: seeds, simulation, intervals, slope fit."""
    seeds = int(table.trials.iloc[0])
    return (f"{seeds} seeds per budget (common random numbers), {simulation}; 95% Wilson intervals per budget (a); "
            "m* interval = budgets whose Wilson bounds straddle 1−ρ (b); slopes: least squares on log-log axes, "
            f"95% t-intervals. {instance}")


def plain_log_ticks(ax, axis: str = "x") -> None:
    """Log axis with plain-number major labels and unlabelled minor ticks (no '3×10⁰' clutter)."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    target.set_major_formatter(formatter)
    target.set_minor_formatter(NullFormatter())


def finish(plotting, figure, axes, footnote: str, figure_path, wspace: float = 0.3) -> None:
    """Legends below the panels and a footnote, the layout of bon_coverage."""
    from sharpsim.runner.sweep import atomic_save_figure

    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            columns = 1 if len(handles) <= 3 or max(len(label) for label in labels) > 45 else 2
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=columns)
    plotting.footnote(figure, footnote)
    figure.subplots_adjust(bottom=0.4, wspace=wspace)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
