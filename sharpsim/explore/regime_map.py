"""``sharpsim explore``: a regime map of where each sharpening method wins, over two instance quantities.

A map is a grid over two axes (``axes``: C_cov × ε, C_cov × γ_margin, |Y| × ε, ...) on one instance family and a list
of methods (``methods``, ``user``). It runs as an ordinary sweep of the runner (``run_experiment``): the grid is
x × y × method, one stored cell per (instance, method), so a map resumes where it stopped, shows the progress bar,
and adding a method to a map computes only that method's cells. Each cell stores its method's search rows; the
analysis reads m* off them (``summarize_rows``, through ``sharpsim.measure``), picks per instance the cheapest
training-time method and its ratio to the lower bound, and evaluates the theorems' rates at the instance for the
predicted boundaries of the figure (``figure``). The tidy table ``map.csv`` (one row per (instance, method)) is
written beside ``summary.json``.

The default map (``default_spec``, no axis arguments) is C_cov × ε on ``needle`` with |X| = 16 prompts and
|Y| = 64 responses, δ = 1/4, ρ = 0.1, 40 seeds (the fewest at which a 95% Wilson interval can confirm success
≥ 1 − ρ), methods ``DEFAULT_METHODS``: every built-in but XPO (its T_max-round runs cost minutes per map, selectable
with ``--methods``) and the example user method ``sharpsim.explore.example_method:pooled_argmax``, loaded by
``MODULE:FUNCTION`` as any user's.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Sequence

import jax
import numpy as np
import pandas as pd

from sharpsim.explore.axes import HARD_FAMILY, MapSpec, build, check_spec, paddings, quantities
from sharpsim.explore.methods import BUILTIN_METHODS, SHAPE_COLUMNS, Cell, Method, lower_bound_label
from sharpsim.explore.user import is_user_spec, load_user_function, run_user, user_label
from sharpsim.measure.allocation import allocation_threshold
from sharpsim.measure.complexity import threshold_from_table
from sharpsim.runner.experiment import Experiment, Sweep
from sharpsim.runner.sweep import Layout, atomic_write_text, run_experiment

NAME = "explore"
REVISION = 3  # bump when a change of code changes the numbers of stored cells
EXAMPLE_USER_METHOD = "sharpsim.explore.example_method:pooled_argmax"
DEFAULT_METHODS = ("bon", "sft", "adaptive_sft", "rlhf", "lower_bound", EXAMPLE_USER_METHOD)
DEFAULT_FAMILY = "needle"
DEFAULT_PARAMS = {"num_prompts": 16, "num_responses": 64}
DEFAULT_X = ("coverage", [1.25, 2, 4, 8, 16])
DEFAULT_Y = ("eps", [0.05, 0.1, 0.2])
DEFAULT_SEEDS = 40
QUICK_SEEDS = 16  # --quick: the ends of each axis at fewer seeds (a success fraction ≥ 1 − ρ still resolves ρ = 0.1)
INTERVALS = {"allocation": "95% Wilson per budget, through the min over allocations",
             "search": "95% Wilson per budget", "exact": "exact (no Monte Carlo)", "theory": "theory rate"}


HARD_X = ("coverage", [2, 4, 8])
HARD_Y = ("eps", [1 / 128, 1 / 64, 1 / 32])
HARD_METHODS = ("sft", "adaptive_sft", "lower_bound")


def default_spec() -> MapSpec:
    return check_spec(DEFAULT_FAMILY, DEFAULT_X, DEFAULT_Y, DEFAULT_PARAMS)


def default_axes(family: str) -> tuple[tuple, tuple]:
    """The axes of a map when ``--x``/``--y`` are not given: C_cov × ε (on ``hard``, ε < 1/16)."""
    return (HARD_X, HARD_Y) if family == HARD_FAMILY else (DEFAULT_X, DEFAULT_Y)


def default_methods(family: str) -> tuple[str, ...]:
    return HARD_METHODS if family == HARD_FAMILY else DEFAULT_METHODS


def resolve_methods(names: Sequence[str], family: str) -> list[Method]:
    """The methods named by ``--methods`` (built-in names or ``MODULE:FUNCTION``), checked against the family."""
    if isinstance(names, str) or len(names) == 0:
        raise ValueError(f"--methods must name at least one method, got {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"--methods repeats a method: {list(names)}")
    methods = []
    for name in names:
        if name in BUILTIN_METHODS:
            method = BUILTIN_METHODS[name]
            if name == "lower_bound":
                method = replace(method, label=lower_bound_label(family))
        elif is_user_spec(name):
            load_user_function(name)  # a ValueError now, not in the middle of the map
            method = Method(name, f"{user_label(name)} (user)", partial(run_user, name), size="m")
        else:
            raise ValueError(f"--methods entry {name!r} is neither a built-in method ({', '.join(BUILTIN_METHODS)}) "
                             "nor MODULE:FUNCTION / path/to/file.py:FUNCTION")
        if not method.supports(family):
            raise ValueError(f"--methods entry {name!r} does not run on family {family!r}; on it: "
                             f"{', '.join(n for n, m in BUILTIN_METHODS.items() if m.supports(family))}")
        methods.append(method)
    return methods


def run_map_cell(spec: MapSpec, methods: dict[str, Method], padding: dict, params, key, seeds) -> dict:
    """One (instance, method) cell: the method's search rows plus the instance's quantities and its theorem's rate."""
    point = spec.point(params[spec.x_axis], params[spec.y_axis])
    instance = build(spec.family, point, padding)
    cell = Cell(spec.family, point, instance, jax.random.split(key, seeds), padding, quantities(spec.family, instance))
    method = methods[params["method"]]
    rows = method.run(cell)
    label, rate = method.theory(cell) if method.theory is not None else ("", math.nan)
    constants = {**cell.quantities, "target_eps": cell.eps, "target_delta": cell.delta, "target_rho": cell.rho,
                 "theory_label": label, "theory_rate": rate, "seeds": seeds}
    size = len(rows["budget"])
    return {**rows, **{name: np.full(size, value) for name, value in constants.items()}}


def explore_experiment(spec: MapSpec, methods: Sequence[Method], results_dir: Path | None = None) -> Experiment:
    """The map as a runner ``Experiment`` (grid x × y × method); its analysis writes ``map.csv`` to ``results_dir``."""
    by_name = {method.name: method for method in methods}
    padding = paddings(spec)
    sweep = Sweep(
        title=f"regime map on {spec.family}: m* of {', '.join(by_name)} over {spec.x_axis} × {spec.y_axis}",
        claim="where each sharpening method is cheapest (Thm 4.1, D.1, 4.2, 4.3 against Thm 3.1)",
        grid={spec.x_axis: list(spec.x_values), spec.y_axis: list(spec.y_values), "method": list(by_name)},
        seeds=DEFAULT_SEEDS,
        run_cell=partial(run_map_cell, spec, by_name, padding),
        quick_grid={spec.x_axis: list(quick_spec(spec).x_values), spec.y_axis: list(quick_spec(spec).y_values)},
        quick_seeds=QUICK_SEEDS,
        settings={"family": spec.family, "params": dict(spec.params), "padding": padding, "revision": REVISION},
    )

    def summarize(table):
        tidy = tidy_table(table, spec, methods)
        return {"family": spec.family, "params": dict(spec.params), "x_axis": spec.x_axis, "y_axis": spec.y_axis,
                "methods": {m.name: m.label for m in methods}, "map": tidy.to_dict(orient="records")}

    def plot(summary, table, path):
        from sharpsim.explore.figure import draw_map

        tidy = pd.DataFrame(summary["map"])
        if results_dir is not None:
            atomic_write_text(tidy.to_csv(index=False), Path(results_dir) / "map.csv")
        summary["figure_panels"] = draw_map(tidy, spec, methods, Path(path))  # recorded in summary.json

    return Experiment(NAME, sweep, summarize, plot)


def _ends(values) -> list:
    return list(values) if len(values) <= 2 else [values[0], values[-1]]


def quick_spec(spec: MapSpec) -> MapSpec:
    """The map ``--quick`` runs: the ends of each axis."""
    return replace(spec, x_values=tuple(_ends(spec.x_values)), y_values=tuple(_ends(spec.y_values)))


def summarize_rows(rows: pd.DataFrame) -> dict:
    """m*, its interval and the allocation of one (instance, method) from its stored rows (``methods`` docstring)."""
    measure, target = rows["measure"].iloc[0], float(rows["target"].iloc[0])
    summary = {"n_star": math.nan, **{f"{name}_star": math.nan for name in SHAPE_COLUMNS}, "at_edge": False}
    if measure == "allocation":
        shape_columns = [name for name in SHAPE_COLUMNS if name in rows and rows[name].notna().all()]
        optimum = allocation_threshold(rows, target, shape_columns)
        summary.update({key: optimum[key] for key in ("m_star", "m_low", "m_high", "n_star")})
        summary.update({f"{name}_star": optimum[f"{name}_star"] for name in shape_columns})
        # a grid of one shape (RLHF's smallest β) has no edge to speak of
        summary["at_edge"] = bool(optimum["optimum_at_edge"] and optimum["shapes_searched"] > 1)
    elif measure in ("search", "exact"):
        rows = rows.sort_values("budget")
        estimate, lower, upper = threshold_from_table(rows["budget"], rows["successes"], rows["trials"],
                                                      1.0 if measure == "exact" else target)
        samples = dict(zip(rows["budget"].astype(float), rows["samples"].astype(float)))

        def at(budget):
            return samples[budget] if math.isfinite(budget) else math.inf

        lower, upper = (estimate, estimate) if measure == "exact" else (lower, upper)
        summary.update({"m_star": at(estimate), "m_low": at(lower), "m_high": at(upper), "n_star": estimate})
    elif measure == "theory":
        rate = float(rows["samples"].iloc[0])
        summary.update({"m_star": rate, "m_low": rate, "m_high": rate})
    else:
        raise ValueError(f"rows have an unknown measure {measure!r}")
    summary["interval"] = INTERVALS[measure]
    summary["measure"] = measure
    return summary


def allocation_text(method: Method, summary: dict) -> str:
    """A readable allocation: "n=99, N=30", "n=120, μ=1.04, cap=150", "n=512, β=0.001", "N=17", ..."""
    if summary["measure"] == "theory" or not math.isfinite(summary["m_star"]):
        return ""
    parts = [f"{method.size}={summary['n_star']:g}"]
    names = {"num_samples": "N", "mu": "μ", "cap": "cap", "beta": "β", "alpha": "α"}
    parts += [f"{names[name]}={summary[f'{name}_star']:.3g}" for name in SHAPE_COLUMNS
              if math.isfinite(summary[f"{name}_star"])]
    return ", ".join(parts)


CONSTANTS = ("coverage_actual", "mode_coverage", "margin_actual", "num_prompts_actual", "num_responses_actual",
             "log_class_size", "target_eps", "target_delta", "target_rho", "theory_label", "theory_rate", "seeds")


def tidy_table(table: pd.DataFrame, spec: MapSpec, methods: Sequence[Method]) -> pd.DataFrame:
    """One row per (instance, method): the axes, the method, m* [low, high] and how it was read, the allocation,
    the instance's quantities, its theorem's rate, and per instance the cheapest competing method (``cheapest``,
    ``cheapest_clear`` when its interval lies below every other's) and its ratio to the lower bound."""
    by_name = {method.name: method for method in methods}
    records = []
    for (x, y, name), rows in table.groupby([spec.x_axis, spec.y_axis, "method"], sort=False):
        method = by_name[name]
        summary = summarize_rows(rows)
        records.append({spec.x_axis: x, spec.y_axis: y, "method": name, "label": method.label, "unit": method.unit,
                        "competes": method.competes, **summary, "allocation": allocation_text(method, summary),
                        **{constant: rows[constant].iloc[0] for constant in CONSTANTS}})
    tidy = pd.DataFrame(records)
    order = {method.name: index for index, method in enumerate(methods)}
    tidy["method_order"] = tidy["method"].map(order)
    tidy = tidy.sort_values([spec.x_axis, spec.y_axis, "method_order"]).reset_index(drop=True)
    tidy["cheapest"] = False
    tidy["cheapest_clear"] = False
    tidy["ratio_to_lower_bound"] = math.nan
    for _, group in tidy.groupby([spec.x_axis, spec.y_axis], sort=False):
        competing = group[group["competes"] & np.isfinite(group["m_star"].astype(float))]
        if competing.empty:
            continue
        best = competing["m_star"].astype(float).idxmin()  # ties: the first in --methods order
        others = group[group["competes"] & (group.index != best)]
        tidy.loc[best, "cheapest"] = True
        tidy.loc[best, "cheapest_clear"] = bool((others["m_low"].astype(float) > tidy.loc[best, "m_high"]).all())
        bound = group[group["method"] == "lower_bound"]
        if not bound.empty:
            tidy.loc[best, "ratio_to_lower_bound"] = tidy.loc[best, "m_star"] / float(bound["m_star"].iloc[0])
    return tidy.drop(columns="method_order")


def explore_layout(out: Path | str = ".", name: str | None = None, tag: str = "") -> Layout:
    """A named map: OUT/results/explore/NAME/ and OUT/figures/explore/NAME.png; unnamed: OUT/runs/explore-TAG/."""
    out = Path(out)
    if name is not None:
        return Layout(out / "results" / NAME / name, out / "figures" / NAME / f"{name}.png")
    folder = out / "runs" / f"{NAME}-{tag}"
    return Layout(folder, folder / f"{NAME}.png")


def run_explore(spec: MapSpec, methods: Sequence[Method], layout: Layout, seeds: int | None = None,
                quick: bool = False, force: bool = False, base_seed: int = 0, progress: bool = True,
                wait: bool = True, backend=None):
    """Run (or resume) the map into ``layout``; returns the runner's ``RunOutput`` (its summary holds the map).
    ``seeds``: per cell (default ``DEFAULT_SEEDS``, or ``QUICK_SEEDS`` with ``quick``)."""
    experiment = explore_experiment(spec, methods, layout.results_dir)
    return run_experiment(experiment, layout, quick=quick, force=force, seeds=seeds, base_seed=base_seed,
                          progress=progress, wait=wait, backend=backend)
