"""The two axes of a regime map, the instance at each cell, its quantities and the paddings shared by the cells.

An axis is ``NAME=v1,v2,...``. ``eps``, ``delta`` and ``rho`` are targets ((ε, δ)-sharpness w.p. ≥ 1 − ρ,
Definition 3.1); every other name is a parameter of the instance family's builder (``sharpsim.make(family, ...)``:
``coverage`` (C_cov), ``margin`` (γ_margin), ``num_responses`` (|Y|), ``num_prompts`` (|X|), ...). The hard family
of Appendix H is built from (``coverage``, ``eps``, ``num_rare`` = d) by ``hard_parameters`` (Δ = 16ε), so on it ε
is both the target and a parameter of the instance. Fixed family parameters come from ``params``.

Instance quantities stored with every cell (the map's real coordinates; a requested C_cov is what the family
builds, the stored one is the referee's): C_cov and C̄_cov (Eq. 6, Appendix D), γ_margin (Assumption 4.2), |X|,
|Y|, and log|Π| — for a tabular instance the product class of deterministic rows, log|Π| := |X| log|Y| (Π_tab
itself is infinite; the convention of ``sft_coverage``), for the hard family its own log|Π| = d log M.

Paddings (compile once). Every static shape of an engine is set from the whole grid, before any cell runs, so all
cells of one map share one compilation per method (axes that change the table's shape, |X| or |Y|, compile once
per value). ``query_scale`` Q = max over the grid of max_x log(|X|/ρ + 1)/(μ(x)·π_base(y*(x)|x)), about the
samples after which every prompt has shown its argmax w.p. ≳ 1 − ρ, sets the RLHF pairs (2^⌈log₂ 0.75Q⌉, i.e.
1.5Q samples or more), the XPO rounds (2^⌈log₂ Q⌉) and a user method's largest budget (2^⌈log₂ 4Q⌉, so that a user method has
at least the room SFT's own m* needs on the default map); a method that needs more reports m* = inf ("> max"). The SFT prompt padding is ``prompt_padding(ε_min)`` or
2^⌈log₂(16/μ_min)⌉, the smaller.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from sharpsim.core.policy import TabularPolicy, as_tabular
from sharpsim.runner.assignments import parse_assignment
from sharpsim.instances.registry import family_builder, family_names, make
from sharpsim.measure.sft_search import prompt_padding
from sharpsim.referee.quantities import argmax_mass, coverage_coefficient, margin, mode_coverage_coefficient

TARGET_AXES = ("eps", "delta", "rho")
HARD_FAMILY = "hard"
SYMBOLS = {"coverage": "C_cov", "eps": "ε", "margin": "γ_margin", "num_responses": "|Y|", "num_prompts": "|X|",
           "delta": "δ", "rho": "ρ", "num_rare": "d"}
DEFAULT_TARGETS = {"eps": 0.1, "delta": 0.25, "rho": 0.1}
HARD_DEFAULTS = {"coverage": 4.0, "eps": 1 / 64, "num_rare": 4}
MIN_PADDING, MAX_PADDING = 64, 2**16


def symbol(axis: str) -> str:
    """The axis's symbol for labels: C_cov, ε, γ_margin, |Y|, ...; the name itself otherwise."""
    return SYMBOLS.get(axis, axis)


def parse_axis(text: str, argument: str) -> tuple[str, list]:
    """``NAME=v1,v2,...`` → (NAME, [values]) with numbers as Python numbers; a ValueError naming ``argument``."""
    name, values = parse_assignment(text, argument, "NAME=v1,v2,... (e.g. coverage=2,4,8)")
    for value in values:
        if isinstance(value, str):
            raise ValueError(f"{argument} {name}= takes numbers, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{argument} {name}= takes finite numbers, got {value!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{argument} {name}= repeats a value: {values}")
    return name, values


@dataclass(frozen=True)
class MapSpec:
    """What a regime map is: the family, its fixed parameters, the two axes and the default targets."""

    family: str
    x_axis: str
    x_values: tuple
    y_axis: str
    y_values: tuple
    params: Mapping[str, Any]

    def point(self, x, y) -> dict:
        """Targets and family parameters at one cell: {eps, delta, rho, **family parameters}."""
        point = {**DEFAULT_TARGETS, **(HARD_DEFAULTS if self.family == HARD_FAMILY else {}), **self.params}
        point[self.x_axis], point[self.y_axis] = x, y
        return point

    def points(self) -> list[dict]:
        return [self.point(x, y) for x in self.x_values for y in self.y_values]


def check_spec(family: str, x: tuple[str, Sequence], y: tuple[str, Sequence], params: Mapping | None = None
               ) -> MapSpec:
    """A validated ``MapSpec``: a known family, two distinct axes it understands, fixed parameters it accepts, every
    cell buildable. Raises ValueError naming the argument (``--family``, ``--x``, ``--y``, ``--param``)."""
    if not isinstance(family, str) or family not in family_names():
        raise ValueError(f"--family must be an instance family ({', '.join(family_names())}), got {family!r}")
    params = dict(params or {})
    allowed = allowed_axes(family)
    for argument, (name, values) in (("--x", x), ("--y", y)):
        if name not in allowed:
            raise ValueError(f"{argument} axis {name!r} is not a target or a parameter of family {family!r}; "
                             f"allowed: {', '.join(allowed)}")
        if len(values) == 0:
            raise ValueError(f"{argument} {name}= needs at least one value")
    if x[0] == y[0]:
        raise ValueError(f"--x and --y must be two different axes, both are {x[0]!r}")
    for name in params:
        if name not in allowed:
            raise ValueError(f"--param {name!r} is not a target or a parameter of family {family!r}; allowed: "
                             f"{', '.join(allowed)}")
        if name in (x[0], y[0]):
            raise ValueError(f"--param {name!r} is also an axis; give it either as an axis or as a fixed parameter")
    spec = MapSpec(family, x[0], tuple(x[1]), y[0], tuple(y[1]), params)
    for point in spec.points():
        for name in TARGET_AXES:
            if not 0.0 < float(point[name]) < 1.0:
                argument = "--x" if name == spec.x_axis else "--y" if name == spec.y_axis else "--param"
                raise ValueError(f"{argument} {name} must lie in (0, 1), got {point[name]!r}")
        try:
            build(spec.family, point)
        except (ValueError, TypeError) as error:
            cell = f"{spec.x_axis}={point[spec.x_axis]}, {spec.y_axis}={point[spec.y_axis]}"
            raise ValueError(f"--x/--y cell ({cell}) cannot be built on family {family!r}: {error}") from None
    return spec


def allowed_axes(family: str) -> list[str]:
    if family == HARD_FAMILY:  # its criterion (Lemma H.2) fixes δ and has no ρ
        return ["eps", "coverage", "num_rare"]
    parameters = [name for name in _builder_parameters(family) if name not in ("key", "prompt_probs", "index")]
    return list(TARGET_AXES) + parameters


def _builder_parameters(family: str) -> list[str]:
    return list(inspect.signature(family_builder(family)).parameters)


def family_arguments(family: str, point: Mapping) -> dict:
    """The builder's keyword arguments at ``point`` (whole floats of integer parameters become ints)."""
    arguments = {}
    for name in _builder_parameters(family):
        if name in point and name not in TARGET_AXES:
            value = point[name]
            if isinstance(value, float) and value.is_integer() and name.startswith("num_"):
                value = int(value)
            arguments[name] = value
    return arguments


def build(family: str, point: Mapping, padding: Mapping | None = None):
    """The instance at ``point``: a ``TabularPolicy`` (tabular families), or for ``hard`` a ``HardClass`` (padded to
    ``padding['max_rare']``, ``padding['max_candidates']`` when given)."""
    if family == HARD_FAMILY:
        from sharpsim.measure.hard_learners import hard_instance

        padding = padding or {}
        return hard_instance({"coverage": float(point["coverage"]), "eps": float(point["eps"]),
                              "d": int(point["num_rare"])}, padding.get("max_rare"), padding.get("max_candidates"))
    instance = make(family, **family_arguments(family, point))
    if not isinstance(instance, TabularPolicy):
        try:
            instance = as_tabular(instance)
        except (TypeError, ValueError):
            raise ValueError(f"family {family!r} builds a {type(instance).__name__}; explore maps tabular families "
                             f"and 'hard'") from None
    return instance


def quantities(family: str, instance) -> dict[str, float]:
    """C_cov, C̄_cov, γ_margin, |X|, |Y| and log|Π| of the instance (module docstring)."""
    if family == HARD_FAMILY:
        return {"coverage_actual": float(instance.coverage(1)), "mode_coverage": float(instance.coverage(1)),
                "margin_actual": math.nan, "num_prompts_actual": float(int(instance.num_rare) + 1),
                "num_responses_actual": float(int(instance.num_candidates) + 1),
                "log_class_size": float(instance.log_size)}
    num_prompts, num_responses = instance.probs.shape
    return {"coverage_actual": float(coverage_coefficient(instance)),
            "mode_coverage": float(mode_coverage_coefficient(instance)),
            "margin_actual": float(margin(instance)), "num_prompts_actual": float(num_prompts),
            "num_responses_actual": float(num_responses),
            "log_class_size": float(num_prompts * math.log(num_responses))}


def _pow2(value: float) -> int:
    return int(min(MAX_PADDING, max(MIN_PADDING, 2 ** math.ceil(math.log2(max(value, 1.0))))))


def paddings(spec: MapSpec) -> dict:
    """The static shapes shared by the whole map (module docstring); JSON-able, part of every cell's settings."""
    points = spec.points()
    if spec.family == HARD_FAMILY:
        from sharpsim.explore.hard import hard_paddings

        return hard_paddings([build(spec.family, point) for point in points])
    policies = [build(spec.family, point) for point in points]
    scale, smallest, cap = 1.0, 1.0, 1
    for point, policy in zip(points, policies):
        mu, top = np.asarray(policy.prompt_probs), np.asarray(argmax_mass(policy))
        present = mu > 0
        scale = max(scale, float(np.max(math.log(present.sum() / point["rho"] + 1.0) / (mu[present] * top[present]))))
        smallest = min(smallest, float(np.min(mu[present])))
        cap = max(cap, int(max(shape["cap"] for shape in adaptive_shapes(policy, point["delta"]))))
    eps_min = min(point["eps"] for point in points)
    return {"sft_prompts": int(min(_pow2(16.0 / smallest), prompt_padding(eps_min))), "query_scale": scale,
            "rlhf_pairs": _pow2(0.75 * scale), "xpo_rounds": int(min(4096, _pow2(scale))),
            "user_queries": _pow2(4.0 * scale), "max_cap": cap}


MU_SCALES = tuple(2.0 ** k for k in range(-8, 2))  # adaptive SFT's μ grid, in units of Thm D.1's μ = ln(2/δ)
# its caps, as fractions of the never-binding cap ⌈μ/min π_base⌉ + 1 (Theorem D.1's algorithm); a fraction below 1
# truncates the tape, another allocation, at the price of one more search per μ
CAP_FRACTIONS = (1.0,)


def never_binding_cap(policy, mu: float) -> int:
    probs = np.asarray(policy.probs)
    return math.ceil(mu / float(np.min(probs[probs > 0]))) + 1


def adaptive_shapes(policy, delta: float) -> list[dict]:
    """Adaptive SFT's allocation shapes (μ, cap) at one instance (μ = f·ln(2/δ), f on ``MU_SCALES``)."""
    mu0 = math.log(2.0 / delta)
    return [{"mu": scale * mu0, "cap": float(max(1, math.ceil(fraction * never_binding_cap(policy, scale * mu0))))}
            for scale in MU_SCALES for fraction in CAP_FRACTIONS]
