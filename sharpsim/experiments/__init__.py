"""The experiment registry: one module per experiment, each exposing ``EXPERIMENT`` (a ``sweep.Experiment``).

Modules are imported lazily so ``sharpsim list`` stays fast and one broken experiment cannot hide the others.
Add an experiment by adding its module name to ``EXPERIMENT_MODULES`` (the order is the order of
``sharpsim reproduce``).
"""

from __future__ import annotations

import importlib

from sharpsim.sweep import Experiment

EXPERIMENT_MODULES = [
    "bon_coverage",
    "lower_bound",
    "lower_bound_p",
    "sft_coverage",
    "sft_epsilon",
    "sft_class_size",
    "sft_n_vs_N",
    "rlhf_beta",
    "rlhf_margin",
    "greedy_vs_argmax",
    "xpo_vs_sft",
    "offline_vs_online",
    "sft_bitstring",
]


def experiment_names() -> list[str]:
    return list(EXPERIMENT_MODULES)


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENT_MODULES:
        raise ValueError(f"unknown experiment {name!r}; known experiments: {', '.join(EXPERIMENT_MODULES)}")
    return importlib.import_module(f"sharpsim.experiments.{name}").EXPERIMENT
