"""The figure of a regime map: one m* heat map per method, the cheapest training-time method per instance, its
ratio to the lower bound, and the theorems' predicted boundaries drawn over both.

Heat maps use a log color scale (colorbar in the method's unit); cells where a method did not reach the target within
its padding are gray with "> max". An axis whose values span a decade or more is drawn on a log scale. The cheapest
map is categorical (legend outside the data); a cell is hatched when the winner's interval overlaps another
method's. A predicted boundary "Thm A = Thm B" is the zero level of log(rate_A / rate_B) between the instances (each
theorem's rate at the instance with constant 1; ``methods`` says which quantities enter), drawn where it crosses the
grid; a pair that does not cross is listed as such.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap, LogNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sharpsim.explore.axes import HARD_FAMILY, MapSpec, symbol  # noqa: E402
from sharpsim.runner.sweep import atomic_save_figure  # noqa: E402

BOUNDARY_STYLES = ("-", "--", ":", "-.")
MAX_ANNOTATED_CELLS = 64
DPI = 120


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around the grid values (geometric midpoints on a log axis)."""
    points = np.log(values) if log else values.astype(float)
    if points.size == 1:
        width = 0.5 if log else max(abs(points[0]) * 0.5, 0.5)
        middle = np.array([points[0] - width, points[0] + width])
    else:
        inner = (points[1:] + points[:-1]) / 2
        middle = np.concatenate([[2 * points[0] - inner[0]], inner, [2 * points[-1] - inner[-1]]])
    return np.exp(middle) if log else middle


def _is_log(values: np.ndarray) -> bool:
    """Log scale for positive values spanning a factor 4 or more (geometric grids, decades)."""
    return bool(np.all(values > 0) and values.max() / values.min() >= 4)


def _grid(tidy: pd.DataFrame, spec: MapSpec, method: str, column: str) -> np.ndarray:
    """[y, x] array of ``column`` for one method (NaN where absent)."""
    table = tidy[tidy["method"] == method].pivot_table(index=spec.y_axis, columns=spec.x_axis, values=column,
                                                        aggfunc="first")
    return table.reindex(index=list(spec.y_values), columns=list(spec.x_values)).to_numpy(dtype=float)


def _present(spec: MapSpec, tidy: pd.DataFrame) -> MapSpec:
    """The spec restricted to the axis values the table holds (``--quick`` runs the ends of each axis)."""
    from dataclasses import replace

    x_present, y_present = set(tidy[spec.x_axis]), set(tidy[spec.y_axis])
    return replace(spec, x_values=tuple(v for v in spec.x_values if v in x_present),
                   y_values=tuple(v for v in spec.y_values if v in y_present))


def _short(value: float) -> str:
    if not math.isfinite(value):
        return "> max"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _tick(value: float) -> str:
    """A grid value as written: %g, or 1/k for the reciprocal of an integer whose decimal is long (1/64, 1/48)."""
    text = f"{value:g}"
    if 0 < value < 1 and len(text) > 5 and abs(1 / value - round(1 / value)) < 1e-6:
        return f"1/{round(1 / value)}"
    return text


def _colorbar(fig, mesh, ax, label: str) -> None:
    """A log colorbar with ticks at 1, 2, 5 × 10^k written plainly (no crowded minor labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    bar = fig.colorbar(mesh, ax=ax, label=label, fraction=0.05, pad=0.04)
    bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v) if v >= 1 else f"{v:.2g}"))
    bar.ax.yaxis.set_minor_formatter(NullFormatter())


def _setup_axes(ax, spec: MapSpec, x_edges, y_edges, x_log, y_log):
    ax.set_xscale("log" if x_log else "linear")
    ax.set_yscale("log" if y_log else "linear")
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])
    ax.set_xticks(list(spec.x_values))
    ax.set_xticklabels([_tick(v) for v in spec.x_values])
    ax.set_yticks(list(spec.y_values))
    ax.set_yticklabels([_tick(v) for v in spec.y_values])
    ax.minorticks_off()
    ax.set_xlabel(f"{symbol(spec.x_axis)}" + (" (log scale)" if x_log else ""))
    ax.set_ylabel(f"{symbol(spec.y_axis)}" + (" (log scale)" if y_log else ""))


def _annotate(ax, spec: MapSpec, texts: np.ndarray, colors=None, boxed: bool = False):
    if texts.size > MAX_ANNOTATED_CELLS:
        return
    box = {"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.0} if boxed else None
    for i, y in enumerate(spec.y_values):
        for j, x in enumerate(spec.x_values):
            if texts[i, j]:
                ax.text(x, y, texts[i, j], ha="center", va="center", fontsize=7, bbox=box,
                        color="black" if colors is None else colors[i, j])


def _heat_map(ax, fig, tidy, spec, method, edges, logs):
    values = _grid(tidy, spec, method.name, "m_star")
    finite = values[np.isfinite(values) & (values > 0)]
    missing = ~np.isfinite(values)
    ax.pcolormesh(edges[0], edges[1], np.where(missing, 1.0, np.nan), cmap=ListedColormap(["0.85"]), shading="flat")
    if finite.size:
        low, high = finite.min(), finite.max()
        norm = LogNorm(low if high > low else low / 2, high if high > low else high * 2)
        mesh = ax.pcolormesh(edges[0], edges[1], np.where(missing, np.nan, values), cmap="viridis", norm=norm,
                             shading="flat")
        _colorbar(fig, mesh, ax, method.unit)
        shade = np.where(np.isfinite(values) & (norm(np.where(np.isfinite(values), values, low)) > 0.6), "black",
                         "white")
    else:
        shade = None
    _annotate(ax, spec, np.vectorize(_short)(values), shade)
    measure = tidy.loc[tidy["method"] == method.name, "measure"].iloc[0]
    kind = {"allocation": "own m*", "search": "m*", "exact": "exact", "theory": "theory"}[measure]
    ax.set_title(f"{method.label}\n{kind} ({'N per prompt' if method.size == 'N' else 'queries'})", fontsize=9)
    _setup_axes(ax, spec, *edges, *logs)


def boundaries(tidy: pd.DataFrame, spec: MapSpec, methods: Sequence) -> list[tuple[str, np.ndarray | None]]:
    """(label, [y, x] log-ratio grid or None when it does not cross) for each pair of competing methods with rates."""
    rated = [m for m in methods if m.competes and m.theory is not None]
    pairs = []
    for index, first in enumerate(rated):
        for second in rated[index + 1:]:
            a, b = (_grid(tidy, spec, m.name, "theory_rate") for m in (first, second))
            names = [tidy.loc[tidy["method"] == m.name, "theory_label"].iloc[0] for m in (first, second)]
            ratio = np.log(a / b)
            label = f"{names[0]} = {names[1]} ({first.name} vs {second.name})"
            valid = ratio[np.isfinite(ratio)]
            crosses = valid.size and valid.min() < 0 < valid.max() and min(ratio.shape) >= 2
            if not valid.size:
                pairs.append((f"{names[0]} vs {names[1]}: rate undefined here", None))
            elif not crosses:
                side = "<" if valid.max() < 0 else ">"
                pairs.append((f"{names[0]} {side} {names[1]} on the whole map", None))
            else:
                pairs.append((label, ratio))
    return pairs


def _draw_boundaries(ax, spec, pairs, handles):
    """Each crossing pair's zero contour (its style fixed by its place among all pairs); adds legend entries to
    ``handles``, or none when ``handles`` is None."""
    for index, (label, ratio) in enumerate(pairs):
        style = BOUNDARY_STYLES[index % len(BOUNDARY_STYLES)]
        if ratio is None:
            if handles is None:
                continue
            handles.append(Line2D([], [], color="none", label=label))
            continue
        ax.contour(list(spec.x_values), list(spec.y_values), np.where(np.isfinite(ratio), ratio, np.nan), levels=[0.0],
                   colors="crimson", linestyles=style, linewidths=2)
        if handles is not None:
            handles.append(Line2D([], [], color="crimson", linestyle=style, linewidth=2, label=label))


def _layout(panels: int) -> tuple[int, int]:
    """(rows, columns) for ``panels`` panels plus one legend slot: 3 or 4 columns, whichever leaves fewer empty."""
    slots = panels + 1
    columns = min((4, 3), key=lambda c: (-(-slots // c) * c - slots, -c))
    return -(-slots // columns), columns


def cheapest_index(tidy: pd.DataFrame, spec: MapSpec, competing: Sequence) -> np.ndarray:
    """[y, x]: the position in ``competing`` of each instance's cheapest method (NaN where none reached)."""
    index = np.full((len(spec.y_values), len(spec.x_values)), np.nan)
    for k, method in enumerate(competing):
        index[_grid(tidy, spec, method.name, "cheapest") > 0] = k
    return index


def _cheapest(ax, tidy, spec, competing, edges):
    """The categorical map of the cheapest competing method; returns its legend handles."""
    colors = plt.get_cmap("tab10").colors
    shape = (len(spec.y_values), len(spec.x_values))
    index, hatch = cheapest_index(tidy, spec, competing), np.zeros(shape, dtype=bool)
    for method in competing:
        hatch |= (_grid(tidy, spec, method.name, "cheapest") > 0) & ~(
            _grid(tidy, spec, method.name, "cheapest_clear") > 0)
    cmap = ListedColormap([colors[k % len(colors)] for k in range(max(1, len(competing)))])
    ax.pcolormesh(edges[0], edges[1], index, cmap=cmap, vmin=-0.5, vmax=max(1, len(competing)) - 0.5, shading="flat")
    ax.pcolormesh(edges[0], edges[1], np.where(np.isnan(index), 1.0, np.nan), cmap=ListedColormap(["0.85"]),
                  shading="flat")
    for i in range(shape[0]):
        for j in range(shape[1]):
            if hatch[i, j]:
                ax.fill_between(edges[0][j:j + 2], edges[1][i], edges[1][i + 1], facecolor="none", hatch="//",
                                edgecolor="white", linewidth=0)
    winner = np.full(shape, np.nan)
    for method in competing:
        cheapest = _grid(tidy, spec, method.name, "cheapest") > 0
        winner[cheapest] = _grid(tidy, spec, method.name, "m_star")[cheapest]
    _annotate(ax, spec, np.vectorize(lambda v: _short(v) if math.isfinite(v) else "")(winner), boxed=True)
    handles = [Patch(color=colors[k % len(colors)], label=m.label) for k, m in enumerate(competing)]
    return handles + [Patch(facecolor="0.6", hatch="//", edgecolor="white",
                            label="winner's interval overlaps another's"),
                      Patch(color="0.85", label="no method reached the target")]


def _ratio(ax, fig, tidy, spec, methods, competing, edges):
    shape = (len(spec.y_values), len(spec.x_values))
    ratio = np.full(shape, np.nan)
    for method in competing:
        cheapest = _grid(tidy, spec, method.name, "cheapest") > 0
        ratio[cheapest] = _grid(tidy, spec, method.name, "ratio_to_lower_bound")[cheapest]
    finite = ratio[np.isfinite(ratio) & (ratio > 0)]
    if finite.size:
        low, high = finite.min(), finite.max()
        norm = LogNorm(low if high > low else low / 2, high if high > low else high * 2)
        mesh = ax.pcolormesh(edges[0], edges[1], ratio, cmap="magma", norm=norm, shading="flat")
        _colorbar(fig, mesh, ax, "cheapest m* / lower bound")
        shade = np.where(norm(np.where(np.isfinite(ratio), ratio, low)) > 0.6, "black", "white")
        _annotate(ax, spec, np.vectorize(lambda v: f"{v:.2g}" if math.isfinite(v) else "")(ratio), shade)
    bound = next(m for m in methods if m.name == "lower_bound")
    ax.set_title(f"cheapest method's m* / lower bound\n(lower bound: {bound.label})", fontsize=9)


def draw_map(tidy: pd.DataFrame, spec: MapSpec, methods: Sequence, path: Path) -> list[str]:
    """Draw the map of ``tidy`` (``regime_map.tidy_table``) to ``path``; returns the panels' titles."""
    spec = _present(spec, tidy)
    x_values, y_values = np.asarray(spec.x_values, float), np.asarray(spec.y_values, float)
    logs = (_is_log(x_values), _is_log(y_values))
    edges = (_edges(x_values, logs[0]), _edges(y_values, logs[1]))
    has_bound = any(m.name == "lower_bound" for m in methods)
    competing = [m for m in methods if m.competes]
    panels = len(methods) + 1 + int(has_bound)
    rows, columns = _layout(panels)
    height = 3.6 * rows + 0.6
    fig = plt.figure(figsize=(4.6 * columns, height))
    # a fixed grid (no layout engine: constrained layout costs seconds on a map of many labelled panels)
    flat = list(fig.subplots(rows, columns, squeeze=False, gridspec_kw={
        "wspace": 0.55, "hspace": 0.5, "left": 0.06, "right": 0.97, "bottom": 0.5 / height,
        "top": 1.0 - 0.75 / height}).ravel())
    for ax, method in zip(flat, methods):
        _heat_map(ax, fig, tidy, spec, method, edges, logs)
    pairs = boundaries(tidy, spec, methods)
    ax = flat[len(methods)]
    handles = _cheapest(ax, tidy, spec, competing, edges)
    if pairs:
        handles.append(Line2D([], [], color="none", label="theory (rates at constant 1):"))
    _draw_boundaries(ax, spec, pairs, handles)
    boundary_note = ("theorems' predicted boundaries in red" if pairs else
                     "no predicted boundary: fewer than two methods with a theorem's rate")
    ax.set_title(f"cheapest training-time method (its m* written)\n{boundary_note}", fontsize=9)
    _setup_axes(ax, spec, *edges, *logs)
    if has_bound:
        ax = flat[len(methods) + 1]
        _ratio(ax, fig, tidy, spec, methods, competing, edges)
        _draw_boundaries(ax, spec, pairs, None)
        _setup_axes(ax, spec, *edges, *logs)
    legend = flat[panels]
    legend.axis("off")
    legend.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, title="cheapest training-time method",
                  title_fontsize=9, alignment="left")
    for ax in flat[panels + 1:]:
        ax.set_visible(False)
    fixed = {k: v for k, v in spec.params.items() if k not in ("eps", "delta", "rho")}
    if spec.family == HARD_FAMILY:  # Lemma H.2's criterion replaces (δ, ρ): success fraction ≥ 1 − ε/Δ = 15/16
        tidy = tidy.assign(target_delta=0.5)
    shown = [name for name in ("eps", "delta", "rho") if name not in (spec.x_axis, spec.y_axis)
             and not (spec.family == HARD_FAMILY and name == "rho")]
    targets = {name: tidy.iloc[0][f"target_{name}"] for name in shown}
    described = ", ".join([f"{symbol(k)}={v:g}" for k, v in fixed.items()]
                          + [f"{symbol(k)}={v:g}" for k, v in targets.items()])
    criterion = "; success ≥ 15/16 per rare prompt (Lemma H.2)" if spec.family == HARD_FAMILY else ""
    fig.suptitle(f"sharpsim explore: regime map on {spec.family!r} ({described}{criterion}); "
                 f"{int(tidy.iloc[0]['seeds'])} seeds per cell", fontsize=11)
    atomic_save_figure(fig, path, dpi=DPI)
    titles = [ax.get_title() for ax in flat[:panels]]
    plt.close(fig)
    return titles
