"""A sphere instance whose optimum hides in its own feature direction: the exploration test of XPO (Algorithm 1,
Theorem 4.3 / J.2, Example J.1's class).

On Example J.1's ``sphere`` the reward regression of XPO identifies θ from any ≈ d pairs whose feature differences
span R^d, whether or not y* was ever sampled: α = 0 (no optimism bonus, i.e. on-policy regression) already
sharpens, and exploration is never needed. Here y* is given a coordinate of its own, so that no pair without y*
carries information about it.

Construction. Take the sphere code (``sphere.lexicode``: |C| codewords y(c) = (1 − 2c)/√d0 on the unit sphere of
R^{d0}) and one extra response y*, with features in R^{d0+1}:

    φ(c) = (y(c), 0),     φ(y*) = e_{d0+1} = (0, …, 0, 1)     (all ‖φ‖ = 1, Definition J.3).

The base is π_base = π_{θ*} with θ* = (scale·y(c0), a), a = scale + log(1 + γ_margin), for a *decoy* codeword c0:

    logit(c) = scale·(1 − 2k(c)/d0)  (k = Hamming distance to c0),   logit(y*) = a,

so y* is the argmax with π_base(y*)/π_base(c0) = 1 + γ_margin exactly (the margin of Assumption 4.2), and

    C_cov = 1/π_base(y*) = 1 + Σ_c exp(−2·scale·k(c)/d0) / (1 + γ_margin),

which grows with |C| = e^{Θ(d0)} (≈ |C|/(1 + γ_margin) as scale → 0).

Why on-policy regression without the bonus stalls. The regression residual of a pair (y, ỹ) depends on θ only
through ⟨φ(y) − φ(ỹ), θ⟩, and the last coordinate of that difference is 0 unless y* is one of the two responses.
So until y* is drawn, the learner's last coordinate never moves from its start (0), the first d0 coordinates
converge to (1 + 1/β)·scale·y(c0), and the learner's own policy concentrates on the decoy c0 (y* keeps logit 0
against the decoy's (1 + 1/β)·scale): its on-policy draws do not reach y*, and y* enters the data only when the
base sample ỹ hits it, at rate 1/C_cov per round — the SFT-like cost. With α > 0 the optimism term α Σ log π(ỹ)
is decreasing in the unconstrained last coordinate (raising it moves mass off every base sample seen), so the
exact argmin pushes it to the edge of the ball: π puts its mass on the one response never sampled, the next
on-policy draw is y*, its evaluation reveals log π_base(y*), and the regression pins θ.

Realizability (Theorem J.3): π*_β = π_{(1+1/β)θ*} lies in Π_{φ,B} iff (1 + 1/β)‖θ*‖ ≤ B. The default radius is
B = ‖θ*‖·max(3L/γ_margin, 1 + 2L/γ_margin), L = log(2|Y|/δ): Theorem J.3's condition ‖θ*‖ ≤ γ_margin B/(3L), raised
when needed to admit Theorem J.2's β = γ_margin/(2L).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sharpsim.classes.linear_softmax import LinearSoftmaxClass
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.validation import check_in_interval, check_positive_int
from sharpsim.instances.linear_instance import LinearInstance
from sharpsim.instances.registry import register_family
from sharpsim.instances.sphere import MAX_DIMENSION, lexicode


@dataclass(frozen=True, eq=False)
class HiddenSphereInstance(LinearInstance):
    """``policy`` π_base [1, |C| + 1]; ``features`` φ [1, |C| + 1, d0 + 1]; ``model_class`` Π_{φ,B};
    ``theta_star`` θ*; ``optimum`` the index of y* (the last response); ``decoy`` the index of c0;
    ``codewords`` the code's bits [|C|, d0]; ``margin`` γ_margin and ``coverage`` C_cov (exact, from π_base)."""

    policy: TabularPolicy
    features: np.ndarray
    model_class: LinearSoftmaxClass
    theta_star: np.ndarray
    optimum: int
    decoy: int
    codewords: np.ndarray
    margin: float
    coverage: float


@register_family("hidden_sphere")
def hidden_sphere(dimension: int = 12, scale: float = 0.5, margin: float = 0.5, min_distance: int | None = None,
                  radius: float | None = None, delta: float = 0.1, decoy: int | None = None) -> HiddenSphereInstance:
    """The sphere code in R^{d0} plus a response y* along its own axis (module docstring).

    Args:
      dimension: d0 ∈ [2, 24], the code's length (the class has dimension d0 + 1).
      scale: the decoy part ‖θ*_{1..d0}‖ > 0.
      margin: γ_margin > 0, π_base(y*)/π_base(c0) − 1.
      min_distance: the code's minimum Hamming distance; default ⌈d0/4⌉.
      radius: the class's B; default ‖θ*‖·max(3L/γ_margin, 1 + 2L/γ_margin), L = log(2|Y|/δ).
      delta: the δ in that default radius, in (0, 1).
      decoy: index of the decoy codeword c0; default the last codeword.
    """
    dimension = check_positive_int(dimension, "dimension", minimum=2)
    if dimension > MAX_DIMENSION:
        raise ValueError(f"dimension must be ≤ {MAX_DIMENSION} (the lexicode scan enumerates 2^d words), "
                         f"got {dimension}")
    scale = check_in_interval(scale, "scale", 0.0, np.inf, False, False)
    margin = check_in_interval(margin, "margin", 0.0, np.inf, False, False)
    delta = check_in_interval(delta, "delta", 0.0, 1.0, False, False)
    min_distance = math.ceil(dimension / 4) if min_distance is None else min_distance
    bits = lexicode(dimension, min_distance)
    num_codewords = bits.shape[0]
    decoy = num_codewords - 1 if decoy is None else check_positive_int(decoy, "decoy", minimum=0)
    if decoy >= num_codewords:
        raise ValueError(f"decoy must be a codeword index in [0, {num_codewords}), got {decoy}")
    points = (1.0 - 2.0 * bits) / np.sqrt(dimension)
    features = np.zeros((num_codewords + 1, dimension + 1))
    features[:num_codewords, :dimension] = points
    features[num_codewords, dimension] = 1.0
    theta_star = np.concatenate([scale * points[decoy], [scale + math.log1p(margin)]])
    if not np.all(np.abs(theta_star) < 1e150):  # ‖θ*‖ and the logits would overflow float64
        raise ValueError(f"scale={scale!r} is too large: ‖θ*‖ ≈ {scale:.3g} overflows float64 in the norm; use a "
                         "scale below 1e150")
    logits = features @ theta_star
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    optimum = num_codewords
    if radius is None:
        log_term = math.log(2 * (num_codewords + 1) / delta)
        radius = float(np.linalg.norm(theta_star)) * max(3.0 * log_term / margin, 1.0 + 2.0 * log_term / margin)
        if not math.isfinite(radius):
            raise ValueError(f"margin={margin!r} is too small: the default radius ‖θ*‖·3·log(2|Y|/δ)/margin overflows "
                             "float64; give radius explicitly or raise margin")
    radius = check_in_interval(radius, "radius", float(np.linalg.norm(theta_star)), np.inf, True, False)
    features = features[None]
    return HiddenSphereInstance(
        policy=TabularPolicy(probs[None, :]),
        features=features,
        model_class=LinearSoftmaxClass(features, radius),
        theta_star=theta_star,
        optimum=optimum,
        decoy=int(decoy),
        codewords=bits,
        margin=float(probs[optimum] / np.max(np.delete(probs, optimum)) - 1.0),
        coverage=float(1.0 / probs[optimum]),
    )
