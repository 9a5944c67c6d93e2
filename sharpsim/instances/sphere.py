"""Example J.1 (Appendix J): the sphere family, where RLHF with exploration beats SFT exponentially.

Construction. One prompt, X = {x}. Responses are the words of a binary code C ⊂ {0, 1}^d of minimum Hamming
distance h, embedded on the unit sphere by  y(c) = (1 − 2c)/√d ∈ {±1/√d}^d  (‖y‖ = 1). Two codewords at Hamming
distance k are at Euclidean distance 2√(k/d) and have ⟨y, y'⟩ = 1 − 2k/d, so C is a 2√(h/d)-packing of the
sphere; the default h = ⌈d/4⌉ makes it a 1-packing (the paper asks for a 1/4-packing: ours is sparser, which
only helps the margin). C is the greedy *lexicode* (scan {0, 1}^d in increasing binary order, keep every word at
distance ≥ h from all words kept so far). Binary lexicodes are linear (Conway & Sloane 1986), so the scan adds
a whole coset per basis word; the Gilbert–Varshamov argument gives |C| ≥ 2^d / V(d, h − 1) = e^{Θ(d)} for
h = ⌈d/4⌉ (e.g. d = 16 gives the extended Hamming code, |Y| = 2048).

The base is the linear softmax policy of Definition J.3 with φ(x, y) = y and θ* = scale·y*:

    π_base(y) ∝ exp(scale·⟨y, y*⟩),   π_base(y*)/π_base(y) = exp(2·scale·k(y)/d),   k(y) = Hamming distance to y*,

so  γ_margin = exp(2·scale·h/d) − 1  (= e^{1/2} − 1 ≈ 0.65 for scale 1, h = d/4: Ω(1)), and

    C_cov = 1/π_base(y*) = Σ_{y∈Y} exp(−2·scale·k(y)/d) ≥ |Y|·e^{−2·scale} = Ω(|Y|) = e^{Ω(d)}.

Because C is linear, the distance profile from any codeword is the weight enumerator of C, so every choice of
y* gives the same instance up to relabeling; ``optimum`` picks which (default: the last codeword, so that no
index-0 tie-breaking can masquerade as sharpening).

Realizability (Theorem J.3): π*_β ∝ π_base^{1+1/β} = π_{(1+1/β)θ*}, which lies in Π_{φ,B} iff (1 + 1/β)·scale ≤ B.
The default radius is Theorem J.3's condition with equality, B = 3·scale·log(2|Y|/δ)/γ_margin, raised when needed to
(1 + 2 log(2|Y|/δ)/γ_margin)·scale so that it always admits the β = γ_margin/(2 log(2|Y|/δ)) of Theorem J.2/4.3, i.e.
(1 + 1/β)·scale ≤ B (J.3's value suffices whenever log(2|Y|/δ) ≥ γ_margin, as in every default instance).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.classes.linear_softmax import LinearSoftmaxClass
from sharpsim.instances.linear_instance import LinearInstance
from sharpsim.instances.registry import register_family
from sharpsim.core.policy import TabularPolicy

MAX_DIMENSION = 24  # the lexicode scan is over 2^d words


@dataclass(frozen=True, eq=False)
class SphereInstance(LinearInstance):
    """Example J.1: ``policy`` π_base [1, |Y|]; ``features`` φ [1, |Y|, d] (the codewords on the sphere);
    ``model_class`` Π_{φ,B} (a ``LinearSoftmaxClass`` on the same features with radius B); ``theta_star`` θ*;
    ``optimum`` the index of y*; ``codewords`` the code as bits [|Y|, d]; ``min_distance`` h;
    ``packing_distance`` 2√(h/d); ``margin`` and ``coverage`` from the closed forms of the module docstring."""

    policy: TabularPolicy
    features: np.ndarray
    model_class: LinearSoftmaxClass
    theta_star: np.ndarray
    optimum: int
    codewords: np.ndarray
    min_distance: int
    packing_distance: float
    margin: float
    coverage: float


def lexicode(dimension: int, min_distance: int) -> np.ndarray:
    """The binary lexicode of length d and minimum distance h, as bits [|C|, d] (codeword i = the integer whose
    binary digits, most significant first, are row i); sorted increasingly, the zero word first.

    Scan: keep D(w) = distance from every word w to the current code (initially the weight of w). The next
    basis word is the smallest v above the last one with D(v) ≥ h; for a linear code, adding the coset v + C
    updates D(w) ← min(D(w), D(w ⊕ v)). Words below v never qualify later, since D only decreases. Cost
    O(log|C|·2^d), so the result is cached (returned read-only: callers share it).
    """
    dimension = check_positive_int(dimension, "dimension")
    min_distance = check_positive_int(min_distance, "min_distance")
    if dimension <= MAX_DIMENSION:  # beyond it _lexicode refuses
        check_allocation((1 << dimension,), f"lexicode with dimension={dimension} (the scan keeps all 2^d words)")
    return _lexicode(dimension, min_distance)


@functools.lru_cache(maxsize=64)
def _lexicode(dimension: int, min_distance: int) -> np.ndarray:
    if dimension > MAX_DIMENSION:
        raise ValueError(f"dimension must be ≤ {MAX_DIMENSION} (the lexicode scan enumerates 2^d words), "
                         f"got {dimension}")
    if min_distance > dimension:
        raise ValueError(f"min_distance must lie in [1, dimension={dimension}], got {min_distance}")
    words = np.arange(1 << dimension, dtype=np.int64)
    distance = np.zeros(words.size, dtype=np.int8)
    for shift in range(dimension):
        distance += ((words >> shift) & 1).astype(np.int8)
    code = np.zeros(1, dtype=np.int64)
    candidate = 1
    while candidate < words.size:
        passing = np.flatnonzero(distance[candidate:] >= min_distance)
        if passing.size == 0:
            break
        basis_word = candidate + int(passing[0])
        code = np.sort(np.concatenate([code, code ^ basis_word]))
        distance = np.minimum(distance, distance[words ^ basis_word])
        candidate = basis_word + 1
    check_allocation((code.size, dimension), f"lexicode with dimension={dimension}, min_distance={min_distance}")
    bits = ((code[:, None] >> np.arange(dimension - 1, -1, -1)[None, :]) & 1).astype(np.int64)
    bits.flags.writeable = False
    return bits


@register_family("sphere")
def sphere(dimension: int = 8, scale: float = 1.0, min_distance: int | None = None, radius: float | None = None,
           delta: float = 0.1, optimum: int | None = None) -> SphereInstance:
    """Example J.1's instance in dimension d (see the module docstring for the formulas).

    Args:
      dimension: d ∈ [2, 24].
      scale: ‖θ*‖ > 0 (the paper takes 1).
      min_distance: the code's minimum Hamming distance h ∈ [1, d]; default ⌈d/4⌉ (a 1-packing of the sphere).
      radius: the class's B; default scale·max(3L/γ_margin, 1 + 2L/γ_margin), L = log(2|Y|/δ) (Theorem J.3).
      delta: the δ in that default radius, in (0, 1).
      optimum: index of y* among the codewords; default the last one.
    """
    dimension = check_positive_int(dimension, "dimension", minimum=2)
    if dimension > MAX_DIMENSION:
        raise ValueError(f"dimension must be ≤ {MAX_DIMENSION} (the lexicode scan enumerates 2^d words), "
                         f"got {dimension}")
    scale = check_in_interval(scale, "scale", 0.0, np.inf, False, False)
    delta = check_in_interval(delta, "delta", 0.0, 1.0, False, False)
    min_distance = math.ceil(dimension / 4) if min_distance is None else min_distance
    bits = lexicode(dimension, min_distance)
    num_responses = bits.shape[0]  # ≥ 2: the all-ones word is at distance d ≥ h from the zero word
    optimum = num_responses - 1 if optimum is None else check_positive_int(optimum, "optimum", minimum=0)
    if optimum >= num_responses:
        raise ValueError(f"optimum must be a codeword index in [0, {num_responses}), got {optimum}")
    points = (1.0 - 2.0 * bits) / np.sqrt(dimension)
    theta_star = scale * points[optimum]
    logits = points @ theta_star
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    distances = np.sum(bits != bits[optimum], axis=1)
    min_distance = int(np.min(distances[distances > 0]))  # the code's actual minimum distance (≥ the one asked)
    exponent = 2.0 * scale * min_distance / dimension
    if exponent > 709.0:  # expm1 overflows float64
        raise ValueError(f"scale={scale!r} is too large: γ_margin = exp(2·scale·h/d) − 1 = exp({exponent:.4g}) − 1 "
                         f"overflows float64; use scale ≤ {709.0 * dimension / (2.0 * min_distance):.4g}")
    margin = math.expm1(exponent)
    coverage = float(np.sum(np.exp(-2.0 * scale * distances / dimension)))
    if radius is None:
        log_term = math.log(2 * num_responses / delta)
        radius = scale * max(3.0 * log_term / margin, 1.0 + 2.0 * log_term / margin)
        if not math.isfinite(radius):
            raise ValueError(f"scale={scale!r} is too small: γ_margin = {margin:.3g} and the default radius "
                             "scale·3·log(2|Y|/δ)/γ_margin overflows float64; give radius explicitly or raise scale")
    radius = check_in_interval(radius, "radius", scale, np.inf, True, False)  # π_base itself must be in Π_{φ,B}
    features = points[None, :, :]
    return SphereInstance(
        policy=TabularPolicy(probs[None, :]),
        features=features,
        model_class=LinearSoftmaxClass(features, radius),
        theta_star=theta_star,
        optimum=int(optimum),
        codewords=bits,
        min_distance=int(min_distance),
        packing_distance=2.0 * math.sqrt(min_distance / dimension),
        margin=margin,
        coverage=coverage,
    )
