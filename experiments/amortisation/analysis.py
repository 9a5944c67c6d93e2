"""amortisation analysis: the fine-tuned policy's accuracy and log-likelihood lift over the base's greedy output
(Table 1 analog), against N (Figure 9 analog) and n, and the fraction of BoN's gain over temperature-1 sampling that
it recovers, against the coverage of the prompts that Theorem 4.1's realizable tabular case predicts; 95% percentile
bootstrap intervals over SFT runs (seeds). BoN, greedy and sampling are exact numbers on the fixed data set.

Panels: (a) fraction of BoN_N's gain recovered against n, with 1 − (1 − 1/X)^n; (b) % accuracy lift over greedy
against N at the largest n, SFT (temperature-1 draw, argmax) and BoN_N; (c) the same for the log-likelihood lift in
nats; (d) % accuracy lift over greedy against n at the largest N.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import DATASET, PAIRS

BOOTSTRAP = 1000
EVALUATIONS = {"sample": "SFT, temperature-1 draw", "argmax": r"SFT, argmax of $\hat\pi$"}
PAIR_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:purple")
N_MARKERS = {1: "x", 10: "o", 25: "s", 50: "^"}


def _interval(values: np.ndarray, transform=lambda m: m, seed: int = 0) -> list:
    """transform(mean over seeds) and its 95% percentile bootstrap interval over seeds."""
    rows = np.random.default_rng(seed).integers(0, len(values), (BOOTSTRAP, len(values)))
    low, high = np.percentile(transform(values[rows].mean(axis=1)), [2.5, 97.5])
    return [float(transform(values.mean())), float(low), float(high)]


def coverage(n: int, num_prompts: int = DATASET["num_prompts"]) -> float:
    """P[a given prompt gets at least one of n i.i.d. uniform prompts] = 1 − (1 − 1/X)^n."""
    return float(-np.expm1(n * np.log1p(-1.0 / num_prompts)))


def cell_summary(cell: pd.DataFrame) -> dict:
    first = cell.iloc[0]
    greedy_acc, greedy_ll = float(first.greedy_acc), float(first.greedy_loglik)
    sampling_acc, sampling_ll = float(first.sampling_acc), float(first.sampling_loglik)
    bon_acc, bon_ll = float(first.bon_acc), float(first.bon_loglik)
    out = {"seeds": len(cell), "greedy_acc": greedy_acc, "sampling_acc": sampling_acc, "bon_acc": bon_acc,
           "bon_acc_lift_pct": 100 * (bon_acc - greedy_acc) / greedy_acc, "bon_loglik_lift": bon_ll - greedy_ll,
           "seen": _interval(cell.seen.to_numpy()), "coverage_theory": coverage(int(first.n))}
    for evaluation in EVALUATIONS:
        acc, ll = cell[f"acc_{evaluation}"].to_numpy(), cell[f"loglik_{evaluation}"].to_numpy()
        out[f"acc_{evaluation}"] = _interval(acc)
        out[f"acc_lift_pct_{evaluation}"] = _interval(acc, lambda m: 100 * (m - greedy_acc) / greedy_acc)
        out[f"loglik_lift_{evaluation}"] = _interval(ll, lambda m: m - greedy_ll)
    gain, gain_ll = bon_acc - sampling_acc, bon_ll - sampling_ll
    acc, ll = cell.acc_sample.to_numpy(), cell.loglik_sample.to_numpy()
    # BoN_1 is temperature-1 sampling: no gain to recover at N = 1
    out["recovered"] = _interval(acc, lambda m: (m - sampling_acc) / gain) if abs(gain) > 1e-12 else None
    out["recovered_loglik"] = _interval(ll, lambda m: (m - sampling_ll) / gain_ll) if abs(gain_ll) > 1e-12 else None
    return out


def observations(cells: dict) -> dict:
    pairs = sorted({k[0] for k in cells})
    out = {"lifts_at_largest_n": {}, "recovered_at_largest_n": {}, "lift_rises_with_N_at_largest_n": {}}
    inside = [k for k, c in cells.items() if c["recovered"] and c["recovered"][1] <= c["coverage_theory"] <=
              c["recovered"][2]]
    for pair in pairs:
        n_max = max(k[1] for k in cells if k[0] == pair)
        row = sorted((k[2], c) for k, c in cells.items() if k[0] == pair and k[1] == n_max)
        out["lifts_at_largest_n"][pair] = {
            f"N={big_n}": {"sft_acc_pct": c["acc_lift_pct_sample"], "sft_argmax_acc_pct": c["acc_lift_pct_argmax"],
                           "bon_acc_pct": c["bon_acc_lift_pct"], "sft_loglik": c["loglik_lift_sample"],
                           "bon_loglik": c["bon_loglik_lift"]} for big_n, c in row}
        out["recovered_at_largest_n"][pair] = {f"N={big_n}": c["recovered"] for big_n, c in row if c["recovered"]}
        lifts = [c["acc_lift_pct_sample"][0] for _, c in row]
        out["lift_rises_with_N_at_largest_n"][pair] = bool(np.all(np.diff(lifts) > 0)) if len(lifts) > 1 else None
    out["cells_with_recovered_fraction"] = sum(bool(c["recovered"]) for c in cells.values())
    out["coverage_theory_inside_interval"] = len(inside)
    return out


def summarize(table: pd.DataFrame) -> dict:
    groups = dict(list(table.groupby(["pair", "n", "N"])))
    cells = {(p, int(n), int(big_n)): cell_summary(groups[(p, n, big_n)]) for p, n, big_n in sorted(groups)}
    return {"cells": [{"pair": p, "n": n, "N": big_n, **c} for (p, n, big_n), c in cells.items()],
            "observations": observations(cells)}


def _cells(summary: dict) -> dict:
    return {(c["pair"], c["n"], c["N"]): c for c in summary["cells"]}


def _pairs(cells) -> list:
    present = {k[0] for k in cells}
    return [p for p in PAIRS if p in present] + sorted(present - set(PAIRS))


def _panel_recovered(ax, cells) -> None:
    ns_all = sorted({k[1] for k in cells})
    for i, pair in enumerate(_pairs(cells)):
        for big_n in sorted({k[2] for k in cells if k[0] == pair}):
            keys = sorted(k for k in cells if k[0] == pair and k[2] == big_n and cells[k]["recovered"])
            if not keys:
                continue
            x = np.array([k[1] for k in keys]) * (1 + 0.04 * (list(N_MARKERS).index(big_n) if big_n in N_MARKERS
                                                                   else 0) + 0.15 * i)
            mean, low, high = (np.array(v) for v in zip(*[cells[k]["recovered"] for k in keys]))
            plotting.errorbar_points(ax, x, mean, low, high, color=PAIR_COLORS[i % 4],
                                     marker=N_MARKERS.get(big_n, "o"), label=f"{pair}, N = {big_n}")
    grid = np.geomspace(min(ns_all), max(ns_all) * 1.3, 100)
    ax.plot(grid, [coverage(n) for n in grid], label="Thm 4.1, realizable tabular fit: $1 - (1 - 1/X)^n$",
            **plotting.THEORY_STYLE)
    ax.axhline(1, color="0.5", linewidth=0.8)
    ax.set_xscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel("n (SFT prompts)")
    ax.set_ylabel("fraction of BoN$_N$'s gain over sampling recovered")
    ax.set_title(f"(a) recovered fraction, $(acc_{{\\hat\\pi}} - acc_{{\\pi}})/(acc_{{BoN_N}} - acc_{{\\pi}})$, "
                 f"X = {DATASET['num_prompts']}", fontsize=10)


def _panel_against_n_big(ax, cells, quantity: str, bon_key: str, ylabel: str, title: str) -> None:
    for i, pair in enumerate(_pairs(cells)):
        n_max = max(k[1] for k in cells if k[0] == pair)
        keys = sorted(k for k in cells if k[0] == pair and k[1] == n_max)
        big_ns = np.array([k[2] for k in keys], dtype=float)
        color = PAIR_COLORS[i % 4]
        ax.plot(big_ns, [cells[k][bon_key] for k in keys], color=color, label=f"{pair}: BoN$_N$ (exact)",
                **plotting.EXACT_STYLE)
        for j, (evaluation, label) in enumerate(EVALUATIONS.items()):
            mean, low, high = (np.array(v) for v in zip(*[cells[k][f"{quantity}_{evaluation}"] for k in keys]))
            plotting.errorbar_points(ax, big_ns * (1 + 0.05 * (j + 1)), mean, low, high, color=color,
                                     marker="o" if evaluation == "sample" else "D",
                                     mfc=color if evaluation == "sample" else "white",
                                     label=f"{pair}: {label}, n = {n_max}")
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel("N (draws per prompt)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)


def _panel_against_n(ax, cells) -> None:
    for i, pair in enumerate(_pairs(cells)):
        big_n = max(k[2] for k in cells if k[0] == pair)
        keys = sorted(k for k in cells if k[0] == pair and k[2] == big_n)
        ns = np.array([k[1] for k in keys], dtype=float)
        color = PAIR_COLORS[i % 4]
        ax.axhline(cells[keys[0]]["bon_acc_lift_pct"], color=color, label=f"{pair}: BoN$_{{{big_n}}}$ (exact)",
                   **plotting.EXACT_STYLE)
        for j, (evaluation, label) in enumerate(EVALUATIONS.items()):
            mean, low, high = (np.array(v) for v in zip(*[cells[k][f"acc_lift_pct_{evaluation}"] for k in keys]))
            plotting.errorbar_points(ax, ns * (1 + 0.06 * (j + 1)), mean, low, high, color=color,
                                     marker="o" if evaluation == "sample" else "D",
                                     mfc=color if evaluation == "sample" else "white",
                                     label=f"{pair}: {label}, N = {big_n}")
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xscale("log")
    plotting.plain_log_ticks(ax)
    ax.set_xlabel("n (SFT prompts)")
    ax.set_ylabel("% accuracy lift over greedy")
    ax.set_title("(d) accuracy lift over greedy against n", fontsize=10)


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    cells = _cells(summary)
    figure, axes = plotting.plt.subplots(2, 2, figsize=(14, 12))
    (ax_a, ax_b), (ax_c, ax_d) = axes
    _panel_recovered(ax_a, cells)
    _panel_against_n_big(ax_b, cells, "acc_lift_pct", "bon_acc_lift_pct", "% accuracy lift over greedy",
                         "(b) accuracy lift over greedy against N (Fig. 9 / Table 1 analog)")
    _panel_against_n_big(ax_c, cells, "loglik_lift", "bon_loglik_lift",
                         r"lift of mean $\log\pi_{\mathrm{base}}$ over greedy's output (nats)",
                         "(c) log-likelihood lift over greedy against N")
    _panel_against_n(ax_d, cells)
    for ax in (ax_a, ax_b, ax_c, ax_d):
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    seeds = int(table.groupby(["pair", "n", "N"]).size().min())
    plotting.footnote(figure, f"Data set: X = {DATASET['num_prompts']} prompts of preset_task (seed "
                      f"{DATASET['task_seed']}); SFT-Sharpening with the tabular class, log π_base picks; {seeds} runs "
                      "per cell. Markers: mean over runs with 95% percentile bootstrap intervals over runs "
                      f"({BOOTSTRAP} resamples); lines: exact. Prompts without a pick keep the base (greedy output / "
                      "temperature-1 draw). Markers are offset in x for legibility.")
    figure.subplots_adjust(hspace=0.62, wspace=0.3, bottom=0.16, top=0.95)
    atomic_save_figure(figure, path)
    plotting.close(figure)
