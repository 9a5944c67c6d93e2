"""sharpsim: a JAX simulator for the statistical theory of sharpening.

Huang et al., "Self-Improvement in Language Models: The Sharpening Mechanism", ICLR 2025 (arXiv 2412.01951).

Importing sharpsim turns on JAX's float64 mode (``jax_enable_x64``): log-likelihoods of long sequences and
tiny coverage masses p* need it, and every array sharpsim creates is float64 (or int64).
"""

import jax

jax.config.update("jax_enable_x64", True)

from sharpsim.algorithms import BestOfNResult, best_of_n, best_of_n_law, running_best_index  # noqa: E402
from sharpsim.families import family_names, make, register_family  # noqa: E402
from sharpsim.oracle import Oracle, QueryBudgetExceeded, QueryCount, SampleBatch  # noqa: E402
from sharpsim.policy import TabularPolicy, as_tabular  # noqa: E402
from sharpsim.quantities import (  # noqa: E402
    argmax_mask,
    argmax_mass,
    coverage_coefficient,
    hellinger_squared,
    hellinger_squared_per_prompt,
    is_sharpened,
    kl_divergence,
    kl_divergence_per_prompt,
    margin,
    mode_coverage_coefficient,
    prompt_margins,
    sharpening_error,
    sharpness,
)

__version__ = "0.1.0"

__all__ = [
    "BestOfNResult",
    "Oracle",
    "QueryBudgetExceeded",
    "QueryCount",
    "SampleBatch",
    "TabularPolicy",
    "argmax_mask",
    "argmax_mass",
    "as_tabular",
    "best_of_n",
    "best_of_n_law",
    "coverage_coefficient",
    "family_names",
    "hellinger_squared",
    "hellinger_squared_per_prompt",
    "is_sharpened",
    "kl_divergence",
    "kl_divergence_per_prompt",
    "make",
    "margin",
    "mode_coverage_coefficient",
    "prompt_margins",
    "register_family",
    "running_best_index",
    "sharpening_error",
    "sharpness",
]
