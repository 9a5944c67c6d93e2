"""Tools for testing sharpening algorithms and the code around them.

* ``check_algorithm(make_algorithm, instance=None)``: the conformance suite (``sharpsim.testing.conformance``), a
  ``CheckReport`` with one named result per check; ``assert_conforms`` and ``algorithm_checks`` are its pytest
  forms;
* ``strategies``: hypothesis strategies over tabular, tree and Markov policies, instances by target C_cov, margin,
  |Y| and argmax ties, and oracles over them;
* ``targeted_policy``, ``default_instance``, ``decoy_instance``: instances built to order;
* ``check_guarantee(make_algorithm, claim)``: a claimed allocation against P[(ε, δ)-sharp] ≥ 1 − ρ over drawn
  instances (``sharpsim.testing.guarantee``), exact laws for the built-ins, Monte Carlo with Clopper–Pearson and
  Holm otherwise, a shrunk counterexample on failure; ``assert_guarantee`` is its pytest form; ``builtins`` has
  the built-in algorithms' builders and their theorems' allocations as claims.

Needs ``hypothesis`` (a dependency of sharpsim).
"""

from sharpsim.testing import builtins, strategies
from sharpsim.testing.builtins import instance_quantities
from sharpsim.testing.guarantee import GuaranteeReport, assert_guarantee, check_guarantee, draw_instances
from sharpsim.testing.conformance import CHECKS, algorithm_checks, assert_conforms, check_algorithm
from sharpsim.testing.instances import (
    argmax_mass_range,
    coverage_masses,
    decoy_instance,
    default_instance,
    targeted_policy,
)
from sharpsim.testing.report import CheckReport, CheckResult
from sharpsim.testing.strategies import (
    gammas,
    policy_pairs,
    prob_rows,
    prob_tables,
    prompt_distributions,
    tabular_policies,
)

__all__ = [
    "CHECKS", "CheckReport", "CheckResult", "GuaranteeReport", "algorithm_checks", "argmax_mass_range",
    "assert_conforms", "assert_guarantee", "builtins", "check_algorithm", "check_guarantee", "coverage_masses",
    "decoy_instance", "default_instance", "draw_instances", "gammas", "instance_quantities", "policy_pairs",
    "prob_rows", "prob_tables", "prompt_distributions", "strategies", "tabular_policies", "targeted_policy",
]
