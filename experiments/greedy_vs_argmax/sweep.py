"""greedy_vs_argmax: when does token-level decoding find the sequence argmax? (Prop. 3.1)

Claim. For an autoregressive π over V^H with a unique argmax y*(x), π(y*(x)|x) > 1/2 implies that greedy
decoding returns y*(x) (every conditional along y* then exceeds 1/2). The same argument covers beam search
of any width k (the prefix of y* has mass > 1/2, so it is always the best prefix). Below 1/2 there is no
guarantee: ``greedy_threshold`` fails at π(y*) = 1/2 − η for every η > 0 (the bound is tight).

Each seed is one prompt of a ``random_tree`` policy: every conditional ∝ Dirichlet(1)^(1/T), independently,
so the temperature T and the horizon H spread π(y*|x) over (0, 1]. The referee enumerates V^H exactly
(``to_tabular``) for y*(x) and π(y*|x); greedy and beam search (k = 2, 4) are run token by token and scored
by membership in the argmax set. Cells differ in (|V|, H, T); T is traced, so one compilation serves
every temperature of a shape.

Panels: (a) P[greedy = y*] against π(y*|x) in bins, one series per H, with 95% Wilson intervals, the
Prop. 3.1 threshold and ``greedy_threshold`` instances (failures arbitrarily close to 1/2); (b) greedy vs beam
search k = 2, 4, all cells pooled; (c) the mass ratio π(ŷ|x)/π(y*|x) of the decoded sequence (how far from
the argmax a miss lands), one point per miss.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from sharpsim.runner import figures as plotting
from sharpsim.policies.autoregressive import sequences_to_indices
from sharpsim.policies.decoding import beam_search, greedy_decode
from sharpsim.instances.autoregressive import greedy_threshold, random_tree
from sharpsim.referee.quantities import argmax_mask
from sharpsim.measure.statistics import wilson_interval
from sharpsim.runner.sweep import Experiment, atomic_save_figure, counted_jit

BEAM_WIDTHS = (2, 4)
DECODERS = ("greedy",) + tuple(f"beam{k}" for k in BEAM_WIDTHS)
BINS = np.linspace(0.0, 1.0, 21)
THRESHOLD_ETAS = (0.2, 0.1, 0.05, 0.02, 0.005, 0.001)


@counted_jit
def score_decoders(policy):
    """Per prompt: π(y*|x), the runner-up mass, |y*(x)|, and for each decoder whether its output is in
    y*(x) and the mass π(ŷ|x) of its output."""
    probs = policy.to_tabular().probs
    mask = argmax_mask(policy.to_tabular())
    top = probs.max(axis=-1)
    runner_up = jnp.max(jnp.where(mask, -1.0, probs), axis=-1)
    columns = {"p_star": top, "runner_up": jnp.maximum(runner_up, 0.0), "argmax_size": mask.sum(axis=-1)}
    outputs = {"greedy": greedy_decode(policy)}
    outputs.update({f"beam{k}": beam_search(policy, k).sequences for k in BEAM_WIDTHS})
    for name, sequences in outputs.items():
        index = sequences_to_indices(sequences, policy.vocab_size)[:, None]
        columns[f"{name}_correct"] = jnp.take_along_axis(mask, index, axis=-1)[:, 0]
        columns[f"{name}_mass"] = jnp.take_along_axis(probs, index, axis=-1)[:, 0]
    return columns


def run_cell(params, key, seeds):
    policy = random_tree(key, num_prompts=seeds, vocab_size=params["vocab_size"], horizon=params["horizon"],
                         temperature=params["temperature"])
    return {name: np.asarray(value) for name, value in score_decoders(policy).items()}


def threshold_instances() -> list[dict]:
    """``greedy_threshold`` at a few η: π(y*), and whether greedy / beam search find y*."""
    rows = []
    for eta in THRESHOLD_ETAS:
        columns = score_decoders(greedy_threshold(eta, vocab_size=3))  # one shape for every η < 1/4
        rows.append({"eta": eta, **{name: float(np.asarray(value)[0]) for name, value in columns.items()}})
    return rows


def binned_success(p_star, correct):
    """Per bin of π(y*): (centre, successes, trials) for the non-empty bins."""
    which = np.clip(np.digitize(p_star, BINS) - 1, 0, len(BINS) - 2)
    rows = []
    for b in range(len(BINS) - 1):
        inside = which == b
        if inside.any():
            rows.append((float(p_star[inside].mean()), int(correct[inside].sum()), int(inside.sum())))
    return rows


def _summary_for(table, decoder) -> dict:
    p_star = table.p_star.to_numpy()
    correct = table[f"{decoder}_correct"].to_numpy().astype(bool)
    above = p_star > 0.5
    failures = p_star[~correct]
    rate_below = correct[~above].mean() if (~above).any() else float("nan")
    low, high = wilson_interval(correct[~above].sum(), max(1, (~above).sum()))
    return {
        "prompts_above_half": int(above.sum()),
        "failures_above_half": int((~correct & above).sum()),
        "prompts_at_or_below_half": int((~above).sum()),
        "success_at_or_below_half": float(rate_below),
        "success_at_or_below_half_wilson95": [float(low), float(high)],
        "largest_p_star_of_a_failure": float(failures.max()) if failures.size else None,
        "worst_mass_ratio": float((table[f"{decoder}_mass"] / table.p_star).min()),
    }


def analyze(table, figure_path):
    figure, (ax_h, ax_beam, ax_ratio) = plotting.new_figure(3, height=5.2)
    unique = table[table.argmax_size == 1]  # Prop. 3.1 assumes a singleton argmax (ties have probability 0 here)
    horizons = sorted(unique.horizon.unique())
    colors = plotting.plt.get_cmap("viridis")
    for i, horizon in enumerate(horizons):
        rows = unique[unique.horizon == horizon]
        binned = binned_success(rows.p_star.to_numpy(), rows.greedy_correct.to_numpy())
        centre, succ, trials = (np.array(v) for v in zip(*binned))
        low, high = wilson_interval(succ, trials)
        color = colors(i / max(1, len(horizons) - 1) * 0.85)
        ax_h.plot(centre, succ / trials, color=color, linewidth=0.8, alpha=0.6)
        plotting.errorbar_points(ax_h, centre, succ / trials, low, high, color=color, label=f"greedy, H={horizon}")
    thresholds = threshold_instances()
    ax_h.plot([r["p_star"] for r in thresholds], [r["greedy_correct"] for r in thresholds], "x", color="crimson",
              markersize=7, label=r"greedy_threshold: $\pi(y^*)=1/2-\eta$ (tight)")

    markers = {"greedy": "o", "beam2": "s", "beam4": "^"}
    for decoder in DECODERS:
        binned = binned_success(unique.p_star.to_numpy(), unique[f"{decoder}_correct"].to_numpy())
        centre, succ, trials = (np.array(v) for v in zip(*binned))
        low, high = wilson_interval(succ, trials)
        label = "greedy" if decoder == "greedy" else f"beam search, k={decoder[4:]}"
        line = ax_beam.plot(centre, succ / trials, linewidth=0.8, alpha=0.6)[0]
        plotting.errorbar_points(ax_beam, centre, succ / trials, low, high, marker=markers[decoder], label=label,
                                 color=line.get_color())
        misses = unique[~unique[f"{decoder}_correct"].astype(bool)]
        short = "greedy" if decoder == "greedy" else f"beam k={decoder[4:]}"
        ax_ratio.plot(misses.p_star, misses[f"{decoder}_mass"] / misses.p_star, markers[decoder], markersize=2.5,
                      alpha=0.35, rasterized=True, color=line.get_color(), label=f"{short}: {len(misses)} misses")

    for ax in (ax_h, ax_beam, ax_ratio):
        ax.axvline(0.5, **plotting.THEORY_STYLE, label=r"Prop. 3.1: $\pi(y^*|x)>1/2\Rightarrow$ decoded $=y^*$")
        ax.axvspan(0.5, 1.0, color="0.92", zorder=0)
        ax.set_xlim(0, 1.0)
        ax.set_xlabel(r"argmax mass $\pi(y^*(x)\,|\,x)$")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1 if ax is ax_ratio else 2)
    for ax in (ax_h, ax_beam):
        ax.set_ylim(-0.04, 1.06)
    ax_h.set_ylabel(r"$P[\,\hat y^{\mathrm{greedy}}(x)=y^*(x)\,]$")
    ax_h.set_title("(a) greedy = sequence argmax?")
    ax_beam.set_ylabel(r"$P[\,\hat y(x)=y^*(x)\,]$")
    ax_beam.set_title("(b) greedy vs beam search, pooled")
    ax_ratio.set_ylabel(r"$\pi(\hat y(x)\,|\,x)\,/\,\pi(y^*(x)\,|\,x)$ of a miss")
    ax_ratio.set_ylim(0, 1.05)
    ax_ratio.set_title("(c) how far from the argmax misses land")
    seeds = int(table.groupby("cell_id").size().min())
    cells = table.cell_id.nunique()
    plotting.footnote(figure, f"random_tree policies (Dirichlet(1)^(1/T) conditionals), {cells} cells (|V|, H, T) × {seeds} "
                      "prompts; exact y*(x) and π(y*|x) by enumeration. (a, b) 95% Wilson intervals per bin of width 0.05; "
                      "(c) every prompt where the decoder missed y*.")
    figure.subplots_adjust(bottom=0.3, wspace=0.34)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
    per_cell = (table.groupby(["vocab_size", "horizon", "temperature"])
                .agg(mean_p_star=("p_star", "mean"), greedy=("greedy_correct", "mean"), beam2=("beam2_correct", "mean"),
                     beam4=("beam4_correct", "mean"), prompts=("p_star", "size")).reset_index())
    return {
        "decoders": {decoder: _summary_for(unique, decoder) for decoder in DECODERS},
        "non_unique_argmax_prompts": int((table.argmax_size != 1).sum()),
        "greedy_threshold": thresholds,
        "greedy_success_by_bin": [{"p_star_mean": c, "successes": s, "trials": t}
                                  for c, s, t in binned_success(unique.p_star.to_numpy(), unique.greedy_correct.to_numpy())],
        "cells": per_cell.to_dict(orient="records"),
    }


EXPERIMENT = Experiment(
    name="greedy_vs_argmax",
    title="Greedy / beam decoding vs the sequence argmax, against π(y*|x) (Prop. 3.1)",
    claim="Prop. 3.1: π(y*|x) > 1/2 ⇒ greedy decoding returns y*(x); tight (fails at 1/2 − η)",
    grid={"vocab_size": [2, 3], "horizon": [2, 4, 6, 8], "temperature": [0.25, 0.5, 1.0, 2.0]},
    seeds=2000,
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"vocab_size": [2], "horizon": [5], "temperature": [0.5, 1.0, 2.0]},
    quick_seeds=400,
)
