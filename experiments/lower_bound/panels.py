"""lower_bound figure panels. Convention: filled markers are non-adaptive learners against samples m, open markers
adaptive learners against the mean samples E[m] (Def. D.1); axes that carry both say so in their label."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from sharpsim.measure.hard_learners import ADAPTIVE, LEARNERS, TARGET_ERROR
from sharpsim.measure.statistics import fit_loglog_slope, wilson_interval
from sharpsim.runner import figures as plotting

from .sweep import BASE, point_label

LABELS = {"bayes": "Bayes-optimal (non-adaptive)", "bayes_adaptive": "Bayes, sample-until-revealed (adaptive)",
          "sft": "SFT at Prop. C.1's N (prescribed)",
          "adaptive_sft": "adaptive SFT at μ = ln(2Δ/ε) (prescribed)"}
SHORT = {"bayes": "Bayes", "bayes_adaptive": "Bayes adaptive", "sft": "SFT", "adaptive_sft": "adaptive SFT"}
MARKERS = {"bayes": "o", "bayes_adaptive": "s", "sft": "^", "adaptive_sft": "v"}
COLORS = {"bayes": "tab:blue", "bayes_adaptive": "tab:cyan", "sft": "tab:red", "adaptive_sft": "tab:orange"}
THEOREMS = {"thm_3_1": ("--", r"Thm. 3.1: $\kappa\,C\log|\Pi|/(\varepsilon^2(1+\log(C/\varepsilon)))$"),
            "thm_d2": (":", r"Thm. D.2: $\kappa\,C\log|\Pi|/(\varepsilon(1+\log(C/\varepsilon)))$")}
SWEEP_LABELS = {"coverage": ("coverage_actual", r"coverage $C_{cov,\gamma}=(1-\Delta)+M\Delta/2$", "$C$"),
                "eps": ("eps", r"target error $\varepsilon$ ($\Delta=16\varepsilon$)", r"$\varepsilon$"),
                "d": ("d", r"number of rare prompts $d$ ($\log|\Pi|=d\log M$)", "$d$")}


def style(learner: str) -> dict:
    """Marker, color, and an open face for adaptive learners (their x or y is E[m], not m)."""
    open_face = {"markerfacecolor": "none"} if learner in ADAPTIVE else {}
    return {"marker": MARKERS[learner], "color": COLORS[learner], **open_face}


def success_curve(cell):
    """(samples, E P_x[π̂(y*|x) > 1/2], Wilson low, high) of one learner's searched budgets (Lemma H.2 turns the
    coordinate success s into 1 − Δ(1 − s))."""
    cell = cell.sort_values("samples_mean")
    delta = cell.delta.iloc[0]
    low, high = wilson_interval(cell.successes.to_numpy(), cell.trials.to_numpy())
    to_px = lambda error_free: 1.0 - delta * (1.0 - np.asarray(error_free, float))  # noqa: E731
    return cell.samples_mean.to_numpy(), to_px(cell.successes / cell.trials), to_px(low), to_px(high)


def success_panel(ax, table, learners, constants, tag: str) -> None:
    """Success against samples at the base point, for the non-adaptive (against m) or adaptive (against E[m])
    learners, with the κ-fitted rate of Thm 3.1 or D.2 as a vertical line."""
    base = table[table.point == point_label("coverage", BASE["coverage"])]
    if base.empty:
        ax.set_axis_off()
        return
    adaptive = learners[0] in ADAPTIVE
    for learner in learners:
        plotting.errorbar_points(ax, *success_curve(base[base.learner == learner]), **style(learner),
                                 label=LABELS[learner])
    eps = base.eps.iloc[0]
    ax.axhline(1 - eps, color="0.5", linewidth=0.8)
    ax.annotate(r"target $1-\varepsilon$", (0.42, 1 - eps), xycoords=("axes fraction", "data"), va="bottom",
                fontsize=8, color="0.4")
    name = "thm_d2" if adaptive else "thm_3_1"
    ax.axvline(constants[name] * base[name].iloc[0], color="black", linestyle=THEOREMS[name][0], linewidth=1.1,
               label=THEOREMS[name][1].split(":")[0] + r": $\kappa\cdot$rate")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # about one decade: label 1, 2, 5 × 10^k only
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"mean samples $E[m]$ (adaptive oracle, Def. D.1)" if adaptive else r"samples $m = nN$")
    ax.set_ylabel(r"$E_I\,P_{x\sim\mu}[\hat\pi(y^*_\gamma(x)|x)>1/2]$")
    ax.legend(fontsize=7.5, loc="lower right")
    d, big_m = int(base.d.iloc[0]), int(base.num_candidates.iloc[0])
    kind = "adaptive, vs E[m]" if adaptive else "non-adaptive, vs m"
    ax.set_title(f"({tag}) success, {kind} (C={BASE['coverage']:g}, ε=1/{1 / eps:g}, d={d}, M={big_m})",
                 fontsize=10)


def log_ticks(ax, values, as_fraction: bool) -> None:
    ticks = np.sort(np.unique(np.asarray(values, float)))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"1/{1 / t:g}" if as_fraction else f"{t:.3g}" for t in ticks])


VERSUS = {"bayes_vs_M": "Bayes vs M", "bayes_vs_M_over_delta": "Bayes vs M/Δ (Lemma H.3)",
          "bayes_adaptive_vs_M": "Bayes adaptive vs M (Lemma H.4)"}


def _slope_lines(slopes: dict) -> list[str]:
    lines = [f"{SHORT[k]}: {v['slope']:.2f} [{v['slope_low']:.2f}, {v['slope_high']:.2f}]"
             for k, v in slopes.items() if k in LEARNERS]
    lines += [f"{VERSUS[k]}: {v['slope']:.2f} [{v['slope_low']:.2f}, {v['slope_high']:.2f}]"
              for k, v in slopes.items() if k in VERSUS]
    lines += [f"Thm. {'3.1' if k == 'thm_3_1_curve' else 'D.2'} curve on this grid: {v['slope']:.2f}"
              for k, v in slopes.items() if k.endswith("_curve")]
    return lines


def sweep_panel(ax, rows, axis: str, slopes: dict, constants: dict, tag: str, learners=LEARNERS) -> None:
    """m* of the non-adaptive ``learners`` or E[m]* of the adaptive ones (never both on one axis) against one swept
    parameter, with fitted slopes and the κ-fitted rate of Thm 3.1 or Thm D.2."""
    adaptive = learners[0] in ADAPTIVE
    slopes = {k: v for k, v in slopes.items() if k in learners or k.startswith(learners[0] + "_vs")
              or k == ("thm_d2_curve" if adaptive else "thm_3_1_curve")}
    sweep = rows[rows.sweep == axis]
    column, xlabel, symbol = SWEEP_LABELS[axis]
    if sweep.empty:
        ax.set_axis_off()
        return
    for learner in learners:
        part = sweep[sweep.learner == learner].sort_values(column)
        x, y = part[column].to_numpy(float), part.m_star.to_numpy(float)
        high = np.where(np.isfinite(part.m_star_high), part.m_star_high, y)
        plotting.errorbar_points(ax, x, y, part.m_star_low, high, **style(learner), label=LABELS[learner])
        if learner in slopes:
            ax.plot(x, fit_loglog_slope(x, y).predict(x), color=COLORS[learner], linewidth=0.8, alpha=0.7)
    bayes = sweep[sweep.learner == learners[0]].sort_values(column)
    name = "thm_d2" if adaptive else "thm_3_1"
    ax.plot(bayes[column], constants[name] * bayes[name], color="black", linestyle=THEOREMS[name][0], linewidth=1.2,
            label=THEOREMS[name][1].split(":")[0] + r": $\kappa\cdot$rate")
    eps_corner = "center left" if adaptive else "lower left"  # below the slope box, clear of the data
    ax.legend(fontsize=7, loc={"coverage": "upper left", "eps": eps_corner, "d": "lower right"}[axis])
    corner = (0.97, 0.03, "right", "bottom") if axis == "coverage" else (0.03, 0.97, "left", "top")  # empty corner
    ax.text(*corner[:2], "slopes (95% t):\n" + "\n".join(_slope_lines(slopes)), transform=ax.transAxes,
            ha=corner[2], va=corner[3], fontsize=7, bbox=dict(facecolor="white", edgecolor="none", alpha=0.8))
    ax.set_xscale("log")
    ax.set_yscale("log")
    log_ticks(ax, bayes[column], axis == "eps")
    if axis == "eps":  # room above the data for the slope box
        ax.set_ylim(top=ax.get_ylim()[1] * 3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$E[m]^*$ (mean samples, adaptive oracle)" if adaptive else r"$m^*$ (samples, non-adaptive)")
    kind = r"adaptive: $E[m]^*$" if adaptive else r"non-adaptive: $m^*$"
    ax.set_title(f"({tag}) {kind} for success $\\geq 1-\\varepsilon$ vs {symbol}", fontsize=10)


def ratio_panel(ax, rows, constants: dict, learners, fit_sweeps, tag: str) -> None:
    """m*/(κ·rate) (E[m]* for adaptive learners) for every cell with its Wilson-derived interval, κ fitted on the
    ``fit_sweeps`` cells of the Bayes learner only: those cells are drawn faded, the held-out ε sweep in full."""
    adaptive = learners[0] in ADAPTIVE
    name = "thm_d2" if adaptive else "thm_3_1"
    for learner in learners:
        part = rows[rows.learner == learner]
        for held_out in (False, True):
            cells = part[(part.sweep == "eps") == held_out]
            scale = constants[name] * cells.bound
            y = (cells.m_star / scale).to_numpy(float)
            high = np.where(np.isfinite(cells.m_star_high), cells.m_star_high / scale, y)
            where = "held-out ε sweep" if held_out else "fit cells (C, d sweeps)"
            plotting.errorbar_points(ax, scale, y, cells.m_star_low / scale, high, **style(learner),
                                     alpha=1.0 if held_out else 0.3, label=f"{SHORT[learner]}, {where}")
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_ylim(0.5, ax.get_ylim()[1] * 4)
    sweeps = " and ".join(fit_sweeps)
    ax.legend(fontsize=7, loc="upper right", ncol=2, title_fontsize=7,
              title=rf"$\kappa$ = {constants[name]:.3g}: geometric mean of Bayes ratios on the {sweeps} sweeps; "
                    "no band")
    label = r"Thm. D.2 $\kappa\cdot$rate" if adaptive else r"Thm. 3.1 $\kappa\cdot$rate"
    ax.set_xlabel(f"bound {label} at the cell")
    ax.set_ylabel(r"$E[m]^*/(\kappa\cdot$rate$)$ (adaptive)" if adaptive
                  else r"$m^*/(\kappa\cdot$rate$)$ (non-adaptive)")
    ax.set_title(f"({tag}) measured / bound, {'adaptive' if adaptive else 'non-adaptive'}: ε sweep held out",
                 fontsize=10)


def lemma_panel(ax, points: dict, level: float) -> None:
    """Lemmas H.3/H.4: the Bayes learners' coordinate error against m/(dM/Δ) and E[m]/(dM), every searched budget."""
    for learner, part in points.items():
        plotting.errorbar_points(ax, part.x, part.error, part.low, part.high, **style(learner))
    ax.axhline(level, color="black", linestyle="--", linewidth=1)
    ax.axhline(TARGET_ERROR, color="0.5", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator([0.25, 0.5, 1, 2, 4]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(["1/4", "1/2", "1", "2", "4"])
    ax.set_ylim(3e-3, 1.2)
    ax.set_xlabel(r"$m/(dM/\Delta)$ (non-adaptive, filled), $E[m]/(dM)$ (adaptive, open)")
    ax.set_ylabel(r"coordinate error $P[\hat\jmath_i\neq j_i]$")
    ax.set_title("(h) Lemmas H.3/H.4: Bayes error vs scaled samples", fontsize=10)


def key_panel(ax, constants: dict) -> None:
    """The shared legend: learners (filled: m, open: E[m]), the κ-fitted theorems and the Lemma H.3/H.4 levels."""
    handles = [plotting.plt.Line2D([], [], linestyle="none", label=LABELS[k], **style(k)) for k in LEARNERS]
    for name, fitted_to in (("thm_3_1", "Bayes"), ("thm_d2", "adaptive Bayes")):
        line_style, text = THEOREMS[name]
        handles.append(plotting.plt.Line2D([], [], color="black", linestyle=line_style,
                                           label=f"{text},\n" + rf"$\kappa$={constants[name]:.3g} fitted to {fitted_to}"))
    handles += [plotting.plt.Line2D([], [], color="black", linestyle="--", linewidth=1,
                                    label="(h) Lemma H.3/H.4 level 1/8"),
                plotting.plt.Line2D([], [], color="0.5", linewidth=0.8, label="(h) target coordinate error ε/Δ = 1/16")]
    ax.set_axis_off()
    ax.legend(handles=handles, loc="center", fontsize=8.5, frameon=False,
              title="filled: non-adaptive, samples m\nopen: adaptive, mean samples E[m]", title_fontsize=9)
