"""Summary and figure of the Zipf best-of-N example: success against N, with Proposition C.1's N marked."""

from __future__ import annotations

import math


from sharpsim.runner import figures
from sharpsim.runner.sweep import atomic_save_figure

RHO = 0.1


def summarize(table) -> dict:
    """Per exponent: C_cov, the least N on the grid with success ≥ 1 − ρ at every prompt, and Proposition C.1's N."""
    rows = {}
    for exponent, group in table.groupby("exponent"):
        worst = group.groupby("num_samples").success.min()
        enough = worst[worst >= 1 - RHO]
        coverage = float(group.coverage.iloc[0])
        rows[str(exponent)] = {
            "coverage": coverage,
            "least_grid_N_with_success_1_minus_rho": int(enough.index.min()) if len(enough) else None,
            "prop_c1_N": math.ceil(coverage * math.log(1 / RHO)),
        }
    return {"rho": RHO, "by_exponent": rows}


def plot(summary, table, path) -> None:
    figure, (ax,) = figures.new_figure(1, width_per_panel=5.6)
    for exponent, group in table.groupby("exponent"):
        worst = group.groupby("num_samples").success.min()
        line, = ax.plot(worst.index, worst.to_numpy(), marker="o", label=f"Zipf exponent s = {exponent}")
        prop_c1 = summary["by_exponent"][str(exponent)]["prop_c1_N"]
        ax.axvline(prop_c1, color=line.get_color(), linestyle=":", linewidth=1)
    ax.axhline(1 - RHO, **figures.THEORY_STYLE, label=f"1 − ρ (ρ = {RHO}); dotted: Prop. C.1's N = C_cov log(1/ρ)")
    ax.set_xscale("log")
    ax.set_xlabel("N (samples per prompt)")
    ax.set_ylabel(r"min$_x$ P[BoN$_N$ pick $\in y^*(x)$] (exact)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    figure.subplots_adjust(bottom=0.2)
    figures.footnote(figure, "Exact law of best-of-N (best_of_n_law); worst prompt of four.")
    atomic_save_figure(figure, path)
    figures.close(figure)
