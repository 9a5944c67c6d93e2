"""sharpsim: a JAX simulator for the statistical theory of sharpening.

Huang et al., "Self-Improvement in Language Models: The Sharpening Mechanism", ICLR 2025 (arXiv 2412.01951).

Importing sharpsim turns on JAX's float64 mode (``jax_enable_x64``): log-likelihoods of long sequences and
tiny coverage masses p* need it, and every array sharpsim creates is float64 (or int64).
"""

import jax

jax.config.update("jax_enable_x64", True)

from sharpsim.algorithms.adaptive_sft import (  # noqa: E402
    AdaptiveSFTResult,
    adaptive_sft_sharpen,
    adaptive_stopping_time,
)
from sharpsim.algorithms.bayes_hard import (  # noqa: E402
    BayesHardResult,
    adaptive_bayes_hard_learner,
    bayes_hard_learner,
    hard_posterior,
)
from sharpsim.algorithms.best_of_n import BestOfNResult, best_of_n, best_of_n_law, running_best_index  # noqa: E402
from sharpsim.algorithms.rlhf import RLHFResult, rlhf_regression_loss, rlhf_sharpen  # noqa: E402
from sharpsim.algorithms.sft import SFTResult, sft_sharpen  # noqa: E402
from sharpsim.algorithms.xpo import XPOResult, xpo_sharpen  # noqa: E402
from sharpsim.policies.autoregressive import (  # noqa: E402
    AutoregressivePolicy,
    TreePolicy,
    indices_to_sequences,
    sequences_to_indices,
)
from sharpsim.referee.sequence_mass import (  # noqa: E402
    MassEstimate,
    estimate_target_mass,
    sequence_sharpening_error,
    target_mass,
)
from sharpsim.classes import (  # noqa: E402
    AutoregressiveLinearClass,
    FiniteClass,
    FiniteFit,
    LinearSoftmaxClass,
    LinearSoftmaxFit,
    ProductClass,
    TabularClass,
)
from sharpsim.policies.decoding import (  # noqa: E402
    Decoded,
    beam_search,
    greedy_decode,
    in_argmax_set,
    sample_with_temperature,
    sequence_argmax,
    viterbi_decode,
)
from sharpsim.referee.exact_sft import (  # noqa: E402
    exact_sft_error_distribution,
    exact_sft_expected_error,
    exact_sft_success_probability,
)
from sharpsim.instances.registry import family_names, make, register_family  # noqa: E402
from sharpsim.instances.sphere import SphereInstance  # noqa: E402  (registers "sphere")
from sharpsim.instances.hard import HardClass, HardPolicy, hard_parameters  # noqa: E402  (registers "hard")
from sharpsim.referee.kl_regularized import (  # noqa: E402
    concentrability,
    density_ratio_moment,
    expected_log_likelihood,
    log_ratio_range,
    loss_concentrability,
    power_policy,
    regularized_objective,
    reward_range,
    sharpening_beta,
)
from sharpsim.instances.autoregressive import max_cut_brute_force, not_closed_best_mass  # noqa: E402  (registers)
from sharpsim.policies.linear_softmax import LinearSoftmaxARPolicy, best_achievable_log_mass  # noqa: E402
from sharpsim.policies.markov import MarkovPolicy  # noqa: E402
from sharpsim.core.oracle import Oracle, QueryBudgetExceeded, QueryCount, SampleBatch  # noqa: E402
from sharpsim.core.policy import TabularPolicy, as_tabular  # noqa: E402
from sharpsim.referee.quantities import (  # noqa: E402
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

from sharpsim import theory  # noqa: E402  (modules: bounds and measurement)
from sharpsim.measure import complexity, statistics  # noqa: E402
from sharpsim.theory import rlhf as theory_rlhf  # noqa: E402
from sharpsim.measure.complexity import SampleComplexity, sample_complexity  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AdaptiveSFTResult",
    "AutoregressiveLinearClass",
    "AutoregressivePolicy",
    "BayesHardResult",
    "BestOfNResult",
    "Decoded",
    "FiniteClass",
    "FiniteFit",
    "HardClass",
    "HardPolicy",
    "LinearSoftmaxARPolicy",
    "LinearSoftmaxClass",
    "LinearSoftmaxFit",
    "MarkovPolicy",
    "MassEstimate",
    "Oracle",
    "ProductClass",
    "QueryBudgetExceeded",
    "QueryCount",
    "RLHFResult",
    "SampleBatch",
    "SampleComplexity",
    "SFTResult",
    "SphereInstance",
    "TabularClass",
    "TabularPolicy",
    "TreePolicy",
    "XPOResult",
    "adaptive_bayes_hard_learner",
    "adaptive_sft_sharpen",
    "adaptive_stopping_time",
    "argmax_mask",
    "argmax_mass",
    "as_tabular",
    "bayes_hard_learner",
    "beam_search",
    "best_achievable_log_mass",
    "best_of_n",
    "best_of_n_law",
    "complexity",
    "concentrability",
    "coverage_coefficient",
    "density_ratio_moment",
    "estimate_target_mass",
    "exact_sft_error_distribution",
    "exact_sft_expected_error",
    "exact_sft_success_probability",
    "expected_log_likelihood",
    "family_names",
    "greedy_decode",
    "hard_parameters",
    "hard_posterior",
    "hellinger_squared",
    "hellinger_squared_per_prompt",
    "in_argmax_set",
    "indices_to_sequences",
    "is_sharpened",
    "kl_divergence",
    "kl_divergence_per_prompt",
    "log_ratio_range",
    "loss_concentrability",
    "make",
    "margin",
    "max_cut_brute_force",
    "mode_coverage_coefficient",
    "not_closed_best_mass",
    "power_policy",
    "prompt_margins",
    "register_family",
    "regularized_objective",
    "reward_range",
    "rlhf_regression_loss",
    "rlhf_sharpen",
    "running_best_index",
    "sample_complexity",
    "sample_with_temperature",
    "sequence_argmax",
    "sequence_sharpening_error",
    "sequences_to_indices",
    "sft_sharpen",
    "sharpening_beta",
    "sharpening_error",
    "sharpness",
    "statistics",
    "target_mass",
    "theory",
    "theory_rlhf",
    "viterbi_decode",
    "xpo_sharpen",
]
