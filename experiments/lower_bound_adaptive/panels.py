"""lower_bound_adaptive figure panels: measured E[m]* (markers, bootstrap bars), exact closed forms of the same
learner (solid lines, continued below the grid) and Thm D.2's rate with constant 1 (dashed)."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from sharpsim.runner import figures as plotting

MEASURED = {"marker": "s", "color": "tab:cyan", "markerfacecolor": "none"}


def _eps_axis(ax, extension) -> None:
    ax.set_xscale("log")
    ticks = [2.0 ** -k for k in (5, 10, 15, 20, 25, 30)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"$2^{{-{k}}}$" for k in (5, 10, 15, 20, 25, 30)])
    ax.set_xlim(extension.eps.max() * 1.6, extension.eps.min() / 1.6)  # ε decreasing to the right
    ax.set_xlabel(r"target error $\varepsilon$ ($\Delta = 16\varepsilon$; measured $1/32 \ldots 1/1024$)")


def _plain_y(ax) -> None:
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 3, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def samples_panel(ax, rows, extension) -> None:
    plotting.errorbar_points(ax, rows.eps, rows.m_star, rows.m_star_boot_low, rows.m_star_boot_high, **MEASURED,
                             label=r"measured $E[m]^*$ (Bayes, sample-until-revealed)")
    ax.plot(extension.eps, extension.exact_m_star, color="tab:cyan", linewidth=1.4, alpha=0.8,
            label=r"exact $E[m]^*$ of the same learner")
    ax.plot(extension.eps, extension.thm_d2, color="black", linestyle="--", linewidth=1.2,
            label=r"Thm. D.2 rate $C\log|\Pi|/(\varepsilon(1+\log(C/\varepsilon)))$, constant 1")
    ax.set_yscale("log")
    _eps_axis(ax, extension)
    ax.set_ylabel(r"mean samples $E[m]^*$ for success $\geq 1-\varepsilon$ (adaptive oracle)")
    ax.legend(fontsize=7.5, loc="upper left")
    ax.set_title(r"(a) $E[m]^*$ vs $\varepsilon$ (C = 4, d = 4)", fontsize=10)


def ratio_panel(ax, rows, extension, limit: float) -> None:
    plotting.errorbar_points(ax, rows.eps, rows.ratio, rows.ratio_low, rows.ratio_high, **MEASURED,
                             label="measured / rate (95% bootstrap per cell)")
    ax.plot(extension.eps, extension.ratio, color="tab:cyan", linewidth=1.4, alpha=0.8, label="exact / rate")
    ax.axhline(limit, color="0.4", linestyle=":", linewidth=1.2,
               label=rf"limit $\varepsilon\to 0$: $(15/16)(C-1)/(16C)$ = {limit:.3f}")
    ax.set_yscale("log")
    _eps_axis(ax, extension)
    ax.set_ylim(0.035, 0.14)
    _plain_y(ax)
    ax.set_ylabel(r"$E[m]^*\,/\,$Thm. D.2 rate (constant 1)")
    ax.legend(fontsize=7.5, loc="upper right")
    ax.set_title("(b) measured / bound per ε: drifts down, to a positive limit", fontsize=10)


def factor_panel(ax, rows, extension) -> None:
    scale = rows.per_coordinate / rows.m_star
    plotting.errorbar_points(ax, rows.eps, rows.per_coordinate, rows.m_star_boot_low * scale,
                             rows.m_star_boot_high * scale, **MEASURED, label=r"measured $E[m]^*/(dM)$")
    ax.plot(extension.eps, extension.per_coordinate, color="tab:cyan", linewidth=1.4, alpha=0.8,
            label=r"exact $E[m]^*/(dM)$: Lemma H.4's factor ($\to 15/32$)")
    ax.plot(extension.eps, extension.conversion, color="tab:purple", linewidth=1.4,
            label=r"$dM/$rate $= (M\varepsilon/C)(1+\log(C/\varepsilon))/\log M$: the last step")
    ax.plot(extension.eps, extension.log_factor, color="tab:purple", linestyle="-.", linewidth=1.1,
            label=r"$\log M/(1+\log(C/\varepsilon))$: $\log|\Pi| \asymp d(1+\log(C/\varepsilon))$")
    ax.set_yscale("log")
    _eps_axis(ax, extension)
    ax.set_ylim(0.08, 1.5)
    _plain_y(ax)
    ax.set_ylabel("factor (dimensionless)")
    ax.legend(fontsize=7.5, loc="center right", bbox_to_anchor=(1.0, 0.42))
    ax.set_title("(c) ratio = [E[m]*/(dM)] × [dM/rate]: where the drift lives", fontsize=10)


def slope_panel(ax, slopes: list, extension) -> None:
    if slopes:  # a single ε (``sharpsim run --set eps=…``) has no neighboring pair
        mid = np.array([np.sqrt(s["eps_from"] * s["eps_to"]) for s in slopes])
        measured = np.array([s["measured"] for s in slopes])
        low, high = np.array([s["measured_interval"] for s in slopes]).T
        plotting.errorbar_points(ax, mid, measured, low, high, **MEASURED,
                                 label="measured, neighboring ε (95% bootstrap)")
    eps = extension.eps.to_numpy(float)
    middle = np.sqrt(eps[1:] * eps[:-1])
    for column, style, label in (("exact_m_star", dict(color="tab:cyan", alpha=0.8), r"exact $E[m]^*$"),
                                 ("thm_d2", dict(color="black", linestyle="--"), "Thm. D.2 rate")):
        values = extension[column].to_numpy(float)
        ax.plot(middle, np.diff(np.log(values)) / np.diff(np.log(eps)), linewidth=1.3, label=label, **style)
    ax.axhline(-1.0, color="0.5", linewidth=0.8)
    _eps_axis(ax, extension)
    ax.set_ylabel(r"local slope $d\log E[m]^*/d\log\varepsilon$")
    ax.legend(fontsize=7.5, loc="lower right")
    ax.set_title("(d) local ε-slopes: both tend to −1, from opposite sides", fontsize=10)
