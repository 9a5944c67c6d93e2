"""The methods of a regime map: for one instance (a cell), each computes m* with its interval and the allocation.

A method's ``run(cell)`` returns the rows of its search, one per evaluation (budget, successes, trials, the queries
``samples`` charged there, the allocation shape), and its ``measure`` says how m* is read off them
(``summarize_rows``; every reading goes through ``sharpsim.measure``, the one definition of m*):

* ``"allocation"`` — the algorithm's own m* = min over its allocation of the queries at which success ≥ 1 − ρ
  (``allocation.search_allocations`` / ``allocation_threshold``; 95% Wilson per budget, carried through the min);
* ``"search"`` — one threshold search over the budget (``complexity.sample_complexity`` / ``threshold_from_table``;
  95% Wilson per budget);
* ``"exact"`` — an exact law, no Monte Carlo: the interval is the point;
* ``"theory"`` — a theorem's rate at the instance, constant 1, labelled as theory.

Built-ins (tabular families; the hard family in ``explore.hard``):

* ``bon`` — inference-time best-of-N: the least N whose exact law π^BoN_N is (ε, δ)-sharp (``least_sharp_best_of_n``).
  Its unit is N queries *per prompt at inference*, paid again for every prompt served: it is drawn on its own scale
  and never competes for "cheapest" with the training-time methods, whose m is a one-off total.
* ``sft`` — SFT-Sharpening (Theorem 4.1), own m* over (n, N), N on a √2 grid from 1 to 8× Theorem 4.1's N₀
  (``search_sft_optimum``, exact in law).
* ``adaptive_sft`` — adaptive SFT-Sharpening (Theorem D.1), own E[m] over (n, μ) with the never-binding cap, μ on a
  factor-2 grid around Theorem D.1's ln(2/δ) (``axes.adaptive_shapes``, ``search_adaptive_optimum``).
* ``rlhf`` — offline RLHF-Sharpening (Eq. 8, Theorem 4.2), tabular class with ``rlhf_sharpen``'s default
  ``tie_break="pessimistic"``, own m* = 2n over (n, β). That fit is π*_β conditioned on the sampled set S_x, sharp at
  x iff y*(x) ∈ S_x and π*_β(y*|x)/π*_β(S_x|x) ≥ 1 − δ; the ratio grows as β falls (π*_β ∝ π_base^(1+1/β)), so
  on the same data a smaller β is never worse and the minimum over β is at the smallest one: the search runs
  β = ``SMALL_BETA`` (a test checks the monotonicity on common seeds).
* ``xpo`` — XPO (Algorithm 1, Theorem 4.3), own m* = 2T (the paper's accounting; validation draws not counted)
  over (T, α), α on ``ALPHAS``, β of Theorem J.2. Costly: not in the default map.
* ``lower_bound`` — on ``hard`` the Bayes-optimal learner (measured); elsewhere Theorem 3.1's rate at (C_cov, log|Π|,
  ε), constant 1, labelled as theory: a minimax rate over the hard class, not a bound on this instance.

Any other name of the form ``MODULE:FUNCTION`` or ``path/to/file.py:FUNCTION`` is a user method (``explore.user``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import theory
from sharpsim.classes import TabularClass
from sharpsim.explore import hard
from sharpsim.explore.axes import HARD_FAMILY, adaptive_shapes
from sharpsim.explore.engines import least_sharp_best_of_n, tabular_rlhf_success, tabular_xpo_success
from sharpsim.measure.allocation import search_allocations
from sharpsim.measure.sft_search import samples_grid, search_adaptive_optimum, search_sft_optimum
from sharpsim.referee.kl_regularized import concentrability, power_policy, reward_range
from sharpsim.theory.rlhf import lemma_j5_sec_bound, thm_4_3_sample_complexity, thm_j2_beta

SMALL_BETA = 1e-4  # RLHF's β (the pessimistic fit's sharpness only grows as β falls: module docstring)
SEARCH_RESOLUTION = 0.1  # relative width of the bisection on the size where explore calls the search itself
ALPHAS = (0.0, 1e-3, 1e-2)  # XPO's optimism weights (α = 0: on-policy regression, no exploration bonus)
SHAPE_COLUMNS = ("num_samples", "mu", "cap", "beta", "alpha")
TRAINING_UNIT = "queries"
INFERENCE_UNIT = "queries per prompt (inference)"


@dataclass(frozen=True)
class Cell:
    """One instance of the map: the family, the point (targets ε, δ, ρ and family parameters), the instance, the
    seeds' keys, the map's paddings and the instance's quantities (``axes.quantities``)."""

    family: str
    point: Mapping[str, Any]
    instance: Any
    keys: jax.Array
    padding: Mapping[str, Any]
    quantities: Mapping[str, float]

    eps = property(lambda self: float(self.point["eps"]))
    delta = property(lambda self: float(self.point["delta"]))
    rho = property(lambda self: float(self.point["rho"]))


@dataclass(frozen=True)
class Method:
    """A named m* computation. ``run(cell) -> rows`` (with a ``measure`` column: how m* is read); ``unit`` of its
    m*; ``competes`` for "cheapest" (training-time methods); ``size`` names the searched size (n, N, T, m);
    ``theory(cell) -> (label, rate)`` its theorem's rate at the cell (constant 1), or None."""

    name: str
    label: str
    run: Callable[[Cell], dict]
    unit: str = TRAINING_UNIT
    competes: bool = True
    size: str = "n"
    theory: Callable[[Cell], tuple[str, float]] | None = None
    families: tuple[str, ...] = field(default=("tabular",))

    def supports(self, family: str) -> bool:
        return ("hard" if family == HARD_FAMILY else "tabular") in self.families


def _rows(rows: Mapping, measure: str, cell: Cell, target: float | None = None) -> dict:
    """Equal-length columns plus the reading (``measure``) and the target 1 − ρ on every row."""
    rows = {name: np.asarray(value) for name, value in rows.items()}
    size = rows["budget"].size
    rows.setdefault("target", np.full(size, 1.0 - cell.rho if target is None else target))
    rows["measure"] = np.full(size, measure)
    return rows


# --- tabular built-ins ------------------------------------------------------------------------------------------------

def run_bon(cell: Cell) -> dict:
    estimate, errors = least_sharp_best_of_n(cell.instance, cell.eps, cell.delta)
    budgets = np.array(sorted(errors), dtype=np.int64)
    error = np.array([errors[int(n)] for n in budgets])
    passing = (error <= cell.eps).astype(np.int64)
    return _rows({"budget": budgets, "successes": passing, "trials": np.ones_like(budgets), "samples": budgets * 1.0,
                  "error": error}, "exact", cell)


def run_sft(cell: Cell) -> dict:
    if cell.family == HARD_FAMILY:
        return _rows(hard.run_allocation("sft", cell.instance, cell.keys, cell.padding), "allocation", cell)
    policy = cell.instance
    prescribed = float(theory.thm_4_1_num_samples(cell.quantities["coverage_actual"], cell.eps, cell.delta))
    # the N grid runs from 1 (a shape that fails even at the prompt padding costs one evaluation) to 8·N₀
    rows = search_sft_optimum(policy, TabularClass.like(policy), cell.keys, cell.eps, cell.delta, cell.rho,
                              samples_grid(prescribed, below=max(16.0, prescribed)), int(cell.padding["sft_prompts"]))
    return _rows(rows, "allocation", cell)


def run_adaptive_sft(cell: Cell) -> dict:
    if cell.family == HARD_FAMILY:
        return _rows(hard.run_allocation("adaptive_sft", cell.instance, cell.keys, cell.padding), "allocation", cell)
    policy = cell.instance
    rows = search_adaptive_optimum(policy, TabularClass.like(policy), cell.keys, cell.eps, cell.delta, cell.rho,
                                   adaptive_shapes(policy, cell.delta), int(cell.padding["sft_prompts"]),
                                   int(cell.padding["max_cap"]))
    return _rows(rows, "allocation", cell)


def run_rlhf(cell: Cell) -> dict:
    policy, max_pairs = cell.instance, int(cell.padding["rlhf_pairs"])

    def success(keys, size, shape):
        return tabular_rlhf_success(policy, keys, size, jnp.asarray(shape["beta"], jnp.float64), cell.eps,
                                    cell.delta, max_pairs)

    rows = search_allocations(success, cell.keys, cell.rho, [{"beta": SMALL_BETA}], lambda n, shape: 2.0 * n,
                              max_size=max_pairs, resolution=SEARCH_RESOLUTION)
    return _rows(rows, "allocation", cell)


def xpo_beta(cell: Cell) -> float:
    """Theorem J.2's β = γ_margin / (2 log(2|Y|/δ)) (1 when γ_margin is infinite)."""
    margin = cell.quantities["margin_actual"]
    if not math.isfinite(margin):
        return 1.0
    return float(thm_j2_beta(margin, int(cell.quantities["num_responses_actual"]), cell.delta))


def run_xpo(cell: Cell) -> dict:
    policy, rounds = cell.instance, int(cell.padding["xpo_rounds"])
    beta, r_max = xpo_beta(cell), float(reward_range(policy))
    curves: dict[float, np.ndarray] = {}

    def success(keys, size, shape):
        alpha = float(shape["alpha"])
        if alpha not in curves:  # one run of T_max rounds per seed gives every T ≤ T_max
            curves[alpha] = np.asarray(tabular_xpo_success(policy, TabularClass.like(policy), keys, beta, alpha,
                                                           r_max, cell.eps, cell.delta, rounds))
        return curves[alpha][:, int(size)]

    shapes = [{"alpha": alpha} for alpha in ALPHAS]
    rows = search_allocations(success, cell.keys, cell.rho, shapes, lambda t, shape: 2.0 * t, max_size=rounds,
                              patience=len(shapes), resolution=SEARCH_RESOLUTION)
    rows["beta"] = np.full(rows["budget"].size, beta)
    return _rows(rows, "allocation", cell)


def run_lower_bound(cell: Cell) -> dict:
    if cell.family == HARD_FAMILY:
        return _rows(hard.run_bayes(cell.instance, cell.keys, cell.padding), "search", cell)
    _, rate = theory_lower_bound(cell)
    return _rows({"budget": np.array([1]), "successes": np.array([1]), "trials": np.array([1]),
                  "samples": np.array([rate])}, "theory", cell)


# --- the theorems' rates at a cell (constant 1), for the predicted boundaries ----------------------------------------

def _delta_of(cell: Cell) -> float:
    return hard.HARD_DELTA if cell.family == HARD_FAMILY else cell.delta


def theory_sft(cell: Cell) -> tuple[str, float]:
    q = cell.quantities
    return "Thm 4.1", float(theory.thm_4_1_sample_complexity(q["coverage_actual"], q["log_class_size"], cell.eps,
                                                            _delta_of(cell), cell.rho))


def theory_adaptive(cell: Cell) -> tuple[str, float]:
    q = cell.quantities
    return "Thm D.1", float(theory.thm_d1_sample_complexity(q["mode_coverage"], q["log_class_size"], cell.eps,
                                                           _delta_of(cell), cell.rho))


def theory_rlhf(cell: Cell) -> tuple[str, float]:
    """Theorem 4.2 at β = γ_margin·δ·ε with C_conc = C(π*_β) (Eq. 9) and C_loss := 1 (its floor: the tabular class
    has no finite C_loss)."""
    q = cell.quantities
    if not math.isfinite(q["margin_actual"]):
        return "Thm 4.2", math.nan
    beta = float(theory.thm_4_2_beta(q["margin_actual"], cell.delta, cell.eps))
    conc = max(1.0, float(concentrability(power_policy(cell.instance, beta), cell.instance)))
    return "Thm 4.2", float(theory.thm_4_2_sample_complexity(conc, 1.0, q["log_class_size"], q["margin_actual"],
                                                            cell.eps, cell.delta, cell.rho))


def theory_xpo(cell: Cell) -> tuple[str, float]:
    """Theorem 4.3 with SEC ≤ |X||Y| log(T_max + 1) (Lemma J.5 with one-hot features, d = |X||Y|)."""
    q = cell.quantities
    if not math.isfinite(q["margin_actual"]):
        return "Thm 4.3", math.nan
    sec = float(lemma_j5_sec_bound(q["num_prompts_actual"] * q["num_responses_actual"], cell.padding["xpo_rounds"]))
    return "Thm 4.3", float(thm_4_3_sample_complexity(sec, q["log_class_size"], q["margin_actual"], cell.eps,
                                                      cell.delta, cell.rho))


def theory_lower_bound(cell: Cell) -> tuple[str, float]:
    q = cell.quantities
    return "Thm 3.1", float(theory.thm_3_1_lower_bound(q["coverage_actual"], q["log_class_size"], cell.eps))


BUILTIN_METHODS: dict[str, Method] = {
    "bon": Method("bon", "best-of-N (inference)", run_bon, unit=INFERENCE_UNIT, competes=False, size="N"),
    "sft": Method("sft", "SFT", run_sft, theory=theory_sft, families=("tabular", "hard")),
    "adaptive_sft": Method("adaptive_sft", "adaptive SFT (E[m])", run_adaptive_sft,
                           theory=theory_adaptive, families=("tabular", "hard")),
    "rlhf": Method("rlhf", "offline RLHF", run_rlhf, theory=theory_rlhf),
    "xpo": Method("xpo", "XPO", run_xpo, size="T", theory=theory_xpo),
    "lower_bound": Method("lower_bound", "lower bound", run_lower_bound, competes=False, size="m",
                          theory=theory_lower_bound, families=("tabular", "hard")),
}


def lower_bound_label(family: str) -> str:
    return ("Bayes-optimal (lower bound, measured)" if family == HARD_FAMILY
            else "Thm 3.1 rate (theory, constant 1)")
