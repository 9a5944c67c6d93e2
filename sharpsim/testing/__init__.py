"""Tools for testing sharpening algorithms: hypothesis strategies over instances (``sharpsim.testing.strategies``).

Needs ``hypothesis`` (a dependency of sharpsim).
"""

from sharpsim.testing.strategies import (
    gammas,
    policy_pairs,
    prob_rows,
    prob_tables,
    prompt_distributions,
    tabular_policies,
)

__all__ = ["gammas", "policy_pairs", "prob_rows", "prob_tables", "prompt_distributions", "tabular_policies"]
