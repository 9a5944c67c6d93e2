"""Threshold searches for the measured sample complexity of SFT-Sharpening (Theorem 4.1) and adaptive
SFT-Sharpening (Theorem D.1), and the table rows they leave.

The algorithm's own m* is the optimum over its allocation (``allocation``): ``search_sft_optimum`` scans N and
searches n at each; ``search_adaptive_optimum`` scans (μ, cap) and searches n. Each evaluation simulates the runs
exactly in law (``referee.sft_laws``), with the same seeds everywhere (common random numbers).

The theorem's prescription is the second, labelled measurement: a ray search runs ``complexity.sample_complexity`` along a ray of the theorem's prescriptions: budget b means the
scale s = b / ``RAY_UNITS`` and the point (n, N) = (⌈s·n₀⌉, ⌈s·N₀⌉), where (n₀, N₀) are the prescribed numbers
of prompts and samples per prompt (Theorem 4.1, or Theorem D.1's n₀ for the adaptive algorithm, whose N is
random). Each evaluation simulates the runs exactly in law (``referee.sft_laws``). ``search_rows`` turns a
search into one table row per evaluated budget and ``cell_threshold`` recomputes m* = n·N and its interval from
the stored counts.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from sharpsim.core.shapes import check_key_batch
from sharpsim.core.validation import (as_float_array, check_allocation, check_in_interval, check_positive_int)
from sharpsim.measure.allocation import allocation_threshold, search_allocations, shape_grid
from sharpsim.measure.arguments import check_callable, check_positive_finite, check_rows, check_shapes
from sharpsim.measure.complexity import SampleComplexity, sample_complexity, threshold_from_table
from sharpsim.referee.sft_laws import adaptive_hit_law, adaptive_success_law, sft_success_law

RAY_UNITS = 1024  # a search budget b is the scale s = b / RAY_UNITS along the prescribed ray


def ray_point(budget, prompts_unit: float, samples_unit: float) -> tuple[int, int]:
    """(n, N) = (⌈s·n₀⌉, ⌈s·N₀⌉), each at least 1, at scale s = budget / RAY_UNITS."""
    check_in_interval(budget, "budget", 0.0, math.inf, closed_low=False, closed_high=False)
    check_in_interval(prompts_unit, "prompts_unit", 0.0, math.inf, closed_low=False, closed_high=False)
    check_in_interval(samples_unit, "samples_unit", 0.0, math.inf, closed_low=False, closed_high=False)
    scale = float(budget) / RAY_UNITS
    if not (math.isfinite(scale * prompts_unit) and math.isfinite(scale * samples_unit)):
        raise ValueError(f"budget/{RAY_UNITS} × prompts_unit and × samples_unit must be finite, got budget={budget!r}, "
                         f"prompts_unit={prompts_unit!r}, samples_unit={samples_unit!r}")
    # the 1e-9 keeps s·n₀ that lands on an integer up to rounding from counting one more
    return max(1, math.ceil(scale * prompts_unit - 1e-9)), max(1, math.ceil(scale * samples_unit - 1e-9))


def _check_search(keys, eps, delta, rho, max_prompts: int) -> int:
    """The arguments every SFT search shares; returns ``max_prompts`` (the padding of the law, refused when the
    seeds' padded prompts would not fit in memory)."""
    seeds = check_key_batch(keys)
    # ε = 0 is a meaningful target of the success event (every prompt sharp), unlike in the theorems' bounds
    check_in_interval(eps, "eps", 0.0, 1.0, closed_low=True, closed_high=False)
    check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)
    check_in_interval(rho, "rho", 0.0, 1.0, closed_low=False, closed_high=False)
    max_prompts = check_positive_int(max_prompts, "max_prompts")
    check_allocation((seeds, max_prompts), "the padded prompts (seeds × max_prompts)")
    return max_prompts


def _ray_search(success, keys, rho, prompts_unit, max_prompts, initial_scale):
    """The search over budgets up to the scale where n reaches ``max_prompts``, started at ``initial_scale``."""
    prompts_unit = check_positive_finite(prompts_unit, "prompts_unit")
    initial_scale = check_positive_finite(initial_scale, "initial_scale")
    max_budget = int(max_prompts * RAY_UNITS / prompts_unit)
    if max_budget < 1:
        raise ValueError(f"max_prompts·{RAY_UNITS}/prompts_unit must be at least 1 (one budget step), got "
                         f"max_prompts={max_prompts} and prompts_unit={prompts_unit!r}")
    start = min(max_budget, max(1, int(initial_scale * RAY_UNITS)))
    return sample_complexity(success, keys, rho, initial_budget=start, max_budget=max_budget)


def search_sft_ray(policy, model_class, keys, eps, delta, rho, prompts_unit, samples_unit, max_prompts: int,
                   initial_scale: float = 0.25) -> tuple[SampleComplexity, int, int]:
    """The threshold scale of SFT-Sharpening along (n, N) = s·(n₀, N₀): the search result and (n, N) at its
    estimate ((−1, −1) when no budget up to ``max_prompts`` prompts reaches 1 − ρ)."""
    max_prompts = _check_search(keys, eps, delta, rho, max_prompts)
    check_positive_finite(samples_unit, "samples_unit")

    def success(keys_, budget):
        n, big_n = ray_point(int(budget), prompts_unit, samples_unit)
        return sft_success_law(policy, model_class, keys_, jnp.asarray(n, jnp.int64), jnp.asarray(big_n, jnp.float64),
                               eps, delta, max_prompts)

    result = _ray_search(success, keys, rho, prompts_unit, max_prompts, initial_scale)
    if math.isfinite(result.estimate):
        return result, *ray_point(result.estimate, prompts_unit, samples_unit)
    return result, -1, -1


def search_adaptive(policy, model_class, hit, keys, eps, delta, rho, prompts_unit, max_prompts: int,
                    initial_scale: float = 0.25) -> tuple[SampleComplexity, int]:
    """The threshold scale of adaptive SFT-Sharpening with n = ⌈s·n₀⌉ prompts and pick-hit probabilities ``hit``
    (``adaptive_hit_law``): the search result and n at its estimate (−1 when not reached)."""
    max_prompts = _check_search(keys, eps, delta, rho, max_prompts)
    hit_values = as_float_array(hit, "hit")
    if not np.all((hit_values >= 0) & (hit_values <= 1)):
        raise ValueError(f"hit must hold probabilities in [0, 1] (adaptive_hit_law), got {hit_values.ravel()[:5]}")

    def success(keys_, budget):
        n, _ = ray_point(int(budget), prompts_unit, 1.0)
        return adaptive_success_law(policy, model_class, hit, keys_, jnp.asarray(n, jnp.int64), eps, delta,
                                    max_prompts)

    result = _ray_search(success, keys, rho, prompts_unit, max_prompts, initial_scale)
    n = ray_point(result.estimate, prompts_unit, 1.0)[0] if math.isfinite(result.estimate) else -1
    return result, n


SAMPLES_GRID_RATIO = math.sqrt(2.0)  # consecutive N of the optimum's scan differ by this factor


def samples_grid(prescribed: float, below: float = 16.0, above: float = 8.0) -> np.ndarray:
    """The N scanned by ``search_sft_optimum``: a √2 grid from max(1, N₀/``below``) to ``above``·N₀ around a
    theorem's N₀ (the scan stops early past the optimum, so a generous top costs little; N too small to find the
    argmax often enough costs one evaluation each, so a generous bottom is cheap too)."""
    prescribed = check_positive_finite(prescribed, "prescribed")
    below, above = check_positive_finite(below, "below"), check_positive_finite(above, "above")
    if max(1.0, prescribed / below) > max(1.0, above * prescribed):
        raise ValueError(f"prescribed/below must not exceed above·prescribed, got prescribed={prescribed!r}, "
                         f"below={below!r}, above={above!r}")
    return shape_grid(max(1.0, prescribed / below), max(1.0, above * prescribed), SAMPLES_GRID_RATIO)


PROMPT_PADDING_FACTOR = 32.0  # an optimum search pads prompts to 2^⌈log₂(factor/ε)⌉


def prompt_padding(eps: float, factor: float = PROMPT_PADDING_FACTOR) -> int:
    """The prompt padding of an optimum search at target error ε: 2^⌈log₂(factor/ε)⌉. On the rare-prompt
    instances prompts of mass ≍ ε must be seen, so useful n is a few multiples of 1/ε; beyond that more prompts
    cannot make up for a small N (a prompt whose best-of-N hit rate is below 1 − δ fails more surely the more
    often it is drawn). Thresholds at the padding are flagged by the search (``converged``)."""
    eps = check_in_interval(eps, "eps", 0.0, 1.0, closed_low=False, closed_high=False)
    factor = check_positive_finite(factor, "factor")
    if not math.isfinite(factor / eps):
        raise ValueError(f"factor/eps must be finite, got factor={factor!r} and eps={eps!r}")
    padding = int(2 ** max(0, math.ceil(math.log2(factor / eps))))
    check_allocation((padding,), f"prompt_padding(eps={eps!r}, factor={factor!r})")
    return padding


def search_sft_optimum(policy, model_class, keys, eps, delta, rho, samples_grid, max_prompts: int,
                       patience: int = 3) -> dict[str, np.ndarray]:
    """SFT-Sharpening's own m* = min over (n, N) of n·N with success ≥ 1 − ρ: for each N of ``samples_grid``
    (increasing), the threshold n ≤ ``max_prompts``. The rows of ``allocation.search_allocations`` (shape column
    ``num_samples``; ``num_prompts`` = the size); read m* with ``allocation_threshold(rows, 1 − ρ,
    ["num_samples"])``."""
    max_prompts = _check_search(keys, eps, delta, rho, max_prompts)
    grid = as_float_array(samples_grid, "samples_grid")
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid) & (grid >= 1)) or np.any(np.diff(grid) < 0):
        raise ValueError(f"samples_grid must be a non-empty increasing 1-d array of numbers ≥ 1 (samples per prompt), "
                         f"got {grid.tolist()[:8]}")

    def success(keys_, size, shape):
        return sft_success_law(policy, model_class, keys_, jnp.asarray(size, jnp.int64),
                               jnp.asarray(shape["num_samples"], jnp.float64), eps, delta, max_prompts)

    shapes = [{"num_samples": float(big_n)} for big_n in samples_grid]
    rows = search_allocations(success, keys, rho, shapes, lambda n, shape: n * shape["num_samples"],
                              max_size=max_prompts, patience=patience)
    rows["num_prompts"] = rows["budget"].astype(np.int64)
    return rows


def search_adaptive_optimum(policy, model_class, keys, eps, delta, rho, shapes, max_prompts: int, max_cap: int) -> dict[str, np.ndarray]:
    """Adaptive SFT-Sharpening's own m* = min over (n, μ, cap) of E[m] = n·E_x E[min(N_μ(x), cap)] with success
    ≥ 1 − ρ: every shape {"mu": μ, "cap": cap} of ``shapes`` is searched (no early stop: the grid is not ordered
    by cost). Rows as ``search_sft_optimum``, with shape columns ``mu``, ``cap`` and ``expected_draws``
    (E_x E[min(N_μ(x), cap)]). ``max_cap`` pads the stopping-rule law (one compilation)."""
    max_prompts = _check_search(keys, eps, delta, rho, max_prompts)
    max_cap = check_positive_int(max_cap, "max_cap")
    for index, shape in enumerate(check_shapes(shapes)):
        if set(shape) != {"mu", "cap"}:
            raise ValueError(f"shapes[{index}] must have exactly the parameters mu and cap, got {list(shape)}")
        check_positive_finite(shape["mu"], f"shapes[{index}]['mu']")
        if shape["cap"] != int(shape["cap"]) or not 1 <= shape["cap"] <= max_cap:
            raise ValueError(f"shapes[{index}]['cap'] must be an integer in [1, max_cap={max_cap}], got "
                             f"{shape['cap']!r}")
    laws = {}

    def law(shape):
        key = (float(shape["mu"]), int(shape["cap"]))
        if key not in laws:
            hit, expected = adaptive_hit_law(policy, key[0], key[1], max_cap=max_cap)
            laws[key] = hit, float(np.sum(np.asarray(policy.prompt_probs) * np.asarray(expected)))
        return laws[key]

    def success(keys_, size, shape):
        return adaptive_success_law(policy, model_class, law(shape)[0], keys_, jnp.asarray(size, jnp.int64), eps,
                                    delta, max_prompts)

    shapes = [{"mu": float(s["mu"]), "cap": float(s["cap"])} for s in shapes]
    rows = search_allocations(success, keys, rho, shapes, lambda n, shape: n * law(shape)[1],
                              max_size=max_prompts, patience=len(shapes))
    rows["num_prompts"] = rows["budget"].astype(np.int64)
    rows["expected_draws"] = np.array([law({"mu": mu, "cap": cap})[1] for mu, cap in zip(rows["mu"], rows["cap"])])
    return rows


def search_sft_cell(search: str, policy, model_class, keys, eps, delta, rho, prompts_unit: float,
                    samples_unit: float, ray_padding: int, optimum_padding: int) -> dict[str, np.ndarray]:
    """One SFT experiment cell's rows: ``search = "optimum"`` (SFT's own m*, ``search_sft_optimum`` over
    ``samples_grid(N₀)``) or ``"ray"`` (Theorem 4.1's prescription (n, N) = s·(n₀, N₀), ``search_sft_ray``)."""
    if not isinstance(search, str) or search not in ("optimum", "ray"):
        raise ValueError(f"search must be 'optimum' or 'ray', got {search!r}")
    if search == "optimum":
        return search_sft_optimum(policy, model_class, keys, eps, delta, rho, samples_grid(samples_unit),
                                  optimum_padding)
    if search == "ray":
        result, _, _ = search_sft_ray(policy, model_class, keys, eps, delta, rho, prompts_unit, samples_unit,
                                      ray_padding)
        return search_rows(result, lambda b: ray_point(b, prompts_unit, samples_unit), lambda n, big_n: n * big_n)
    raise ValueError(f"search must be 'optimum' or 'ray', got {search!r}")


def search_rows(result: SampleComplexity, point, samples_of) -> dict[str, np.ndarray]:
    """One row per evaluated budget: the search's records plus the scale, (n, N) and the samples m used there.

    ``point(budget) -> (n, N)``; ``samples_of(n, N) -> m`` (n·N, or n·E[N_μ] for the adaptive algorithm)."""
    if not isinstance(result, SampleComplexity):
        raise TypeError(f"result must be a SampleComplexity (from sample_complexity), got {type(result).__name__}")
    point, samples_of = check_callable(point, "point"), check_callable(samples_of, "samples_of")
    rows = result.records()
    points = [point(int(b)) for b in result.budgets]
    rows["scale"] = result.budgets / RAY_UNITS
    rows["num_prompts"] = np.array([p[0] for p in points], dtype=np.int64)
    rows["num_samples"] = np.array([p[1] for p in points], dtype=np.float64)
    rows["samples"] = np.array([samples_of(*p) for p in points], dtype=np.float64)
    return rows


def cell_threshold(rows, target: float) -> dict[str, float]:
    """m* and its interval for one cell's rows (a table with ``search_rows``' columns), recomputed from the
    stored counts with ``threshold_from_table`` (95% Wilson intervals per budget); infinite where not reached."""
    rows = check_rows(rows, "rows", ("budget", "successes", "trials", "samples", "num_prompts", "num_samples"))
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


def cell_summary(rows, target: float) -> dict[str, float]:
    """m*, its interval and the allocation at it for one stored cell of an SFT search, whichever kind: an
    allocation optimum (rows with ``shape_index``; ``allocation.allocation_threshold`` over the shape columns
    present, N reported as ``N_star``) or a ray/fixed-N search (``cell_threshold``)."""
    rows = check_rows(rows, "rows", ("budget", "successes", "trials", "samples"))
    if "shape_index" not in rows or rows["shape_index"].isna().all():
        return cell_threshold(rows, target)
    shape_columns = [name for name in ("num_samples", "mu", "cap") if name in rows and rows[name].notna().all()]
    optimum = allocation_threshold(rows, target, shape_columns)
    return {"m_star": optimum["m_star"], "m_low": optimum["m_low"], "m_high": optimum["m_high"],
            "n_star": optimum["n_star"], "N_star": optimum.get("num_samples_star", math.nan),
            **{f"{name}_star": optimum[f"{name}_star"] for name in shape_columns if name != "num_samples"},
            "shapes_searched": optimum["shapes_searched"], "shapes_feasible": optimum["shapes_feasible"],
            "optimum_at_edge": optimum["optimum_at_edge"],
            "seeds": int(rows.trials.iloc[0])}
