"""xpo_alpha: XPO's exploration isolated — sample complexity m* of Algorithm 1 against its optimism weight α.

Claim (Theorem 4.3 / J.2, Algorithm 1). The term α Σ log π(ỹ|x) on base samples is what lets XPO avoid C_cov: it
keeps the learner exploring responses the base rarely shows. With α = 0 XPO is on-policy regression with no
exploration bonus. On Example J.1's ``sphere`` that already sharpens (the linear regression identifies θ from any
≈ d pairs: see ``offline_vs_online``), so the bonus is never tested there. Here it is.

Instance: ``hidden_sphere`` (d0 = 12: 256 codewords plus y* on its own axis, |Y| = 257, class dimension 13,
scale 0.5, γ_margin = 0.5). No pair without y* tells the regression anything about y*'s axis, and the α = 0
learner's policy settles on a decoy codeword. y* then enters the data only when the base sample ỹ hits it, at rate
1/C_cov per round. α > 0 makes the argmin raise that axis (optimism), so the next on-policy draw is y*.

Measured, per α: m* = 2T*, the smallest m = 2T at which XPO's output is δ-sharp (π̂(y*) ≥ 1 − δ, δ = 0.1; one
prompt, so ε plays no role) with probability ≥ 1 − ρ (ρ = 0.1) over seeds. It comes from
``complexity.sample_complexity`` (95% Wilson intervals per budget) applied to one run of T_max rounds per seed
(``measure.rlhf_engine.xpo_success_curves``: with constant α the T-round run is the prefix of the T_max one). Grid:
α = 0 and α = r·α_J2, r ∈ {10⁻⁶, 10^{-5.5}, …, 1} (half decades), where α_J2 is Theorem J.2's α at T = T_max
(``xpo_constants``: β = γ_margin/(2 log(2|Y|/δ)), R_max of Theorem J.3, SEC ≤ d log(T+1), log N(Π, ε_disc) of Lemma
J.4, ε = 0.1). Each cell also stores the success count after every T ≤ T_max (rows ``kind = "curve"``). The analysis
uses them to find the largest α that is still sharp after T rounds, and extrapolates the T at which α_J2(T) falls
below it.

Objective scale. Algorithm 1's argmin does not change when its objective is multiplied by a constant. Adam's
update does change, through its ε = 10⁻⁸: at the theorem's R_max the loss weight R_max^{-2} is small, the optimism
gradient on y*'s axis, α·t·π(y*), falls below ε for the small α at which the bias is tolerable, and Adam then
barely moves that axis.
The primary runs ("unit") therefore pass XPO the objective multiplied by R_max², i.e. R_max → 1 and α → α·R_max²
(the same argmin). The runs "thm_scale" at α/α_J2 ∈ {10⁻⁴, 10⁻², 1} use the printed scale, as ``xpo_vs_sft``
does. (At α = 0 the two scalings are the same algorithm; only Adam's rounding differs, so α = 0 runs once.)

T_max: 12·d0 + 16 rounds for α > 0; three times that for α = 0, whose y* arrives after ≈ C_cov rounds. Optimizer and
validation as in ``xpo_vs_sft``: 20 Adam steps per round (step 0.5), V = 32 validation draws per iterate.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.instances.hidden_sphere import hidden_sphere
from sharpsim.measure.complexity import sample_complexity
from sharpsim.measure.rlhf_engine import xpo_constants, xpo_success_curves
from sharpsim.runner.experiment import Sweep

SCALE = 0.5
MARGIN = 0.5
DELTA = 0.1
RHO = 0.1
EPS = 0.1  # enters only α_J2 (through ε_disc and log N)
NUM_STEPS = 20
NUM_VALIDATION = 32
LEARNING_RATE = 0.5
ALPHA_RATIOS = [0.0] + [float(10.0 ** (k / 2)) for k in range(-12, 1)]  # α/α_J2: 0 and half decades 1e-6 .. 1
THM_SCALE_RATIOS = (1e-4, 1e-2, 1.0)  # also run at the printed objective scale


def instance(dimension: int):
    return hidden_sphere(dimension, scale=SCALE, margin=MARGIN, delta=DELTA)


def max_rounds(dimension: int, alpha_ratio: float = 1.0) -> int:
    """T_max: 12·d0 + 16 for α > 0, three times that for α = 0."""
    rounds = 12 * dimension + 16
    return 3 * rounds if alpha_ratio == 0 else rounds


def constants(dimension: int) -> dict:
    """Theorem J.2's β, R_max, SEC, log N(Π, ε_disc) and α_J2 on ``instance(dimension)`` at T = T_max (α > 0)."""
    return xpo_constants(instance(dimension), max_rounds(dimension), DELTA, EPS)


def xpo_rows(problem, keys, alpha: float, reward_range: float, num_rounds: int) -> dict:
    """XPO's budget search (rows ``kind = "search"``, budget m = 2T) and its success count after every T ≤ T_max
    (rows ``kind = "curve"``), at optimism weight ``alpha`` and objective weight R^{-2} = ``reward_range``^{-2}."""
    beta = xpo_constants(problem, num_rounds, DELTA, EPS)["beta"]
    curves = xpo_success_curves(problem.policy, problem.model_class, keys, jnp.asarray(beta), jnp.asarray(alpha),
                                jnp.asarray(reward_range), problem.optimum, num_rounds, delta=DELTA,
                                num_steps=NUM_STEPS, num_validation=NUM_VALIDATION, learning_rate=LEARNING_RATE)
    success_curves = np.asarray(curves.success)  # [seeds, T_max + 1]: column T = output after T rounds
    success = lambda _, rounds: success_curves[:, int(rounds)]  # noqa: E731
    result = sample_complexity(success, keys, RHO, initial_budget=min(problem.dimension, num_rounds), min_budget=1,
                               max_budget=num_rounds, grid="integer")
    result = dataclasses.replace(result, budgets=2 * result.budgets, estimate=2 * result.estimate,
                                 lower=2 * result.lower, upper=2 * result.upper)  # rounds T → queries m = 2T
    search = result.records()
    search["kind"] = np.full(search["budget"].size, "search")
    rounds = np.arange(1, num_rounds + 1)
    curve = {"budget": 2 * rounds, "successes": success_curves[:, 1:].sum(axis=0), "trials":
             np.full(rounds.size, success_curves.shape[0]), "kind": np.full(rounds.size, "curve")}
    for name in ("threshold_estimate", "threshold_lower", "threshold_upper", "converged"):
        curve[name] = np.full(rounds.size, search[name][0])
    columns = {name: np.concatenate([search[name], curve[name]]) for name in search}
    columns["last_iterate_success"] = np.full(columns["budget"].size,
                                              float(np.mean(np.asarray(curves.last_iterate_mass) >= 1 - DELTA)))
    return columns


def run_cell(params, key, seeds):
    dimension, ratio = int(params["dimension"]), float(params["alpha_ratio"])
    if ratio < 0:
        raise ValueError(f"alpha_ratio must be ≥ 0, got {ratio}")
    problem = instance(dimension)
    fixed = constants(dimension)
    alpha = ratio * fixed["alpha_thm"]
    reward_range = fixed["reward_range"]
    keys = jax.random.split(key, seeds)
    num_rounds = max_rounds(dimension, ratio)
    parts = [("unit", xpo_rows(problem, keys, alpha * reward_range**2, 1.0, num_rounds))]
    if ratio in THM_SCALE_RATIOS:
        parts.append(("thm_scale", xpo_rows(problem, keys, alpha, reward_range, num_rounds)))
    columns = {name: np.concatenate([part[name] for _, part in parts]) for name in parts[0][1]}
    columns["objective"] = np.concatenate([np.full(part["budget"].size, label) for label, part in parts])
    size = columns["budget"].size
    info = {"alpha": alpha, "alpha_thm": fixed["alpha_thm"], "beta": fixed["beta"], "reward_range": reward_range,
            "coverage": problem.coverage, "margin": problem.margin, "radius": problem.radius,
            "num_responses": problem.num_responses, "max_rounds": num_rounds}
    columns.update({name: np.full(size, value, dtype=float) for name, value in info.items()})
    return columns


SWEEP = Sweep(
    title="XPO's optimism weight α: m* against α on hidden_sphere (α = 0 is on-policy regression, no bonus)",
    claim="Algorithm 1 / Thm 4.3, J.2: the optimism term α Σ log π(ỹ) is what finds a y* the base rarely samples; "
          "α = 0 pays ≈ C_cov, Theorem J.2's α is too large at the horizons tried",
    grid={"dimension": [12], "alpha_ratio": ALPHA_RATIOS},
    seeds=100,
    settings={"scale": SCALE, "margin": MARGIN, "delta": DELTA, "rho": RHO, "eps": EPS, "num_steps": NUM_STEPS,
              "num_validation": NUM_VALIDATION, "learning_rate": LEARNING_RATE,
              "thm_scale_ratios": list(THM_SCALE_RATIOS), "max_rounds": "12·d0 + 16; 3× that at α = 0"},
    run_cell=run_cell,
    quick_grid={"dimension": [4], "alpha_ratio": [1e-3]},  # one compilation: --quick is a smoke test
    quick_seeds=20,
)
