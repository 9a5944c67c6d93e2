"""A linear softmax family with a tunable margin, for Theorem 4.2 in a class where the regression generalizes.

Construction. X = {x} (one prompt), |Y| responses. The base is the ``needle`` profile (``instances/tabular.py``):
p* = 1/C_cov on y* (response 0), p*/(1 + γ_margin) on the runner-up (response 1), the rest shared evenly, so

    C_cov = coverage,   γ_margin = margin   (Eq. 6, Assumption 4.2).

Features (Definition J.3) φ(x, y) = (log π_base(y|x), σ·z_y) ∈ R^{1+k}, with nuisance coordinates z_y ∼ N(0, I_k/k)
drawn once from ``seed`` (k = ``nuisance_dimension``, σ = ``nuisance_scale``). With θ* = e_1, π_θ* = π_base exactly,
and π*_β ∝ π_base^{1+1/β} = π_{(1+1/β)e_1}: the class is realizable (Assumption 4.3) for every β with
(1 + 1/β) ≤ B (``radius``; the default B is large enough for β ≥ 1e-9).

Why nuisance coordinates. Eq. 8's targets are noiseless, so once the pair differences span R^{1+k} the minimizer is
exactly π*_β. Before that the minimum-norm fit is θ̂ = (1 + 1/β)·P_S e_1 (P_S: projection onto the span S of the
differences), i.e. π̂ ∝ π_{P_S e_1}^{1+1/β}: sharp iff y* is the argmax of the projected logits ⟨φ(y), P_S e_1⟩
with a gap ≳ β log(|Y|/δ). The nuisance coordinates make P_S e_1 ≠ e_1 for n < 1 + k pairs and add a
data-dependent perturbation to every projected logit; y* must beat the runner-up, whose true gap is log(1 + γ_margin),
despite it. This is the step where the proof of Theorem 4.2 pays γ_margin^{-1} per unit of regression error.
With k = 0 the first pair with distinct log-likelihoods identifies θ̂ = (1 + 1/β)e_1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sharpsim.classes.linear_softmax import LinearSoftmaxClass
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.instances.linear_instance import LinearInstance
from sharpsim.instances.registry import register_family
from sharpsim.instances.tabular import needle

DEFAULT_RADIUS = 1e10


@dataclass(frozen=True, eq=False)
class LinearMarginInstance(LinearInstance):
    """``policy`` π_base [1, |Y|]; ``features`` φ [1, |Y|, 1 + k]; ``model_class`` Π_{φ,B}; ``theta_star`` e_1;
    ``optimum`` the index of y* (0); ``margin`` γ_margin and ``coverage`` C_cov (exact, by construction)."""

    policy: TabularPolicy
    features: np.ndarray
    model_class: LinearSoftmaxClass
    theta_star: np.ndarray
    optimum: int
    margin: float
    coverage: float


@register_family("linear_margin")
def linear_margin(num_responses: int = 64, coverage: float = 8.0, margin: float = 0.1, nuisance_dimension: int = 8,
                  nuisance_scale: float = 1.0, radius: float = DEFAULT_RADIUS, seed: int = 0) -> LinearMarginInstance:
    """The family of the module docstring: C_cov = ``coverage``, γ_margin = ``margin`` (needs the ``needle``
    conditions: 1 ≤ coverage < |Y| and the other responses below the runner-up), k = ``nuisance_dimension`` ≥ 0,
    σ = ``nuisance_scale`` ≥ 0, B = ``radius`` > 0, nuisance features from ``seed``."""
    num_responses = check_positive_int(num_responses, "num_responses", minimum=3)
    nuisance_dimension = check_positive_int(nuisance_dimension, "nuisance_dimension", minimum=0)
    nuisance_scale = check_in_interval(nuisance_scale, "nuisance_scale", 0.0, np.inf, True, False)
    radius = check_in_interval(radius, "radius", 0.0, np.inf, False, False)
    seed = check_positive_int(seed, "seed", minimum=0)
    margin = check_in_interval(margin, "margin", 0.0, np.inf, False, False)
    check_allocation((num_responses, 1 + nuisance_dimension),
                     f"linear_margin with num_responses={num_responses}, nuisance_dimension={nuisance_dimension}")
    probs = np.asarray(needle(1, num_responses, coverage, margin).probs, np.float64)
    nuisance = np.random.default_rng(seed).normal(size=(num_responses, nuisance_dimension))
    nuisance *= nuisance_scale / np.sqrt(max(nuisance_dimension, 1))
    features = np.concatenate([np.log(probs[0])[:, None], nuisance], axis=1)[None]  # [1, |Y|, 1 + k]
    theta_star = np.zeros(1 + nuisance_dimension)
    theta_star[0] = 1.0
    return LinearMarginInstance(
        policy=TabularPolicy(probs),
        features=features,
        model_class=LinearSoftmaxClass(features, radius),
        theta_star=theta_star,
        optimum=0,
        margin=float(margin),
        coverage=float(coverage),
    )
