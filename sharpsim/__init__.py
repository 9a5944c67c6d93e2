"""sharpsim: a JAX simulator for the statistical theory of sharpening.

Huang et al., "Self-Improvement in Language Models: The Sharpening Mechanism", ICLR 2025 (arXiv 2412.01951).

The package's folders are the pipeline's stages: ``core`` (policies' protocol, ``TabularPolicy``, the sealed
``Oracle``, ``Result``), ``policies`` (autoregressive policies over V^H, decoding), ``instances`` (the family registry),
``classes`` (model classes Π), ``algorithms`` (best-of-N, SFT, adaptive SFT, RLHF, XPO, the Bayes learner),
``referee`` (exact quantities and laws), ``theory`` (every bound by its theorem), ``measure`` (sample complexity,
statistics), ``runner`` (experiments as folders, the resumable sweep, the command line, figures) and ``testing``
(hypothesis strategies). Every public name is re-exported here: ``import sharpsim as ss; ss.<name>``.

Importing sharpsim turns on JAX's float64 mode (``jax_enable_x64``): log-likelihoods of long sequences and
tiny coverage masses p* need it, and every array sharpsim creates is float64 (or int64).
"""

import jax

jax.config.update("jax_enable_x64", True)

from sharpsim.core import (  # noqa: E402
    Algorithm,
    ModelClass,
    Oracle,
    Policy,
    QueryBudgetExceeded,
    QueryCount,
    Result,
    SampleBatch,
    SequencePolicy,
    SizedModelClass,
    StoppedBatch,
    TabularPolicy,
    as_tabular,
    checked,
)
from sharpsim.policies import (  # noqa: E402
    AutoregressivePolicy,
    Decoded,
    LinearSoftmaxARPolicy,
    MarkovPolicy,
    TreePolicy,
    beam_search,
    greedy_decode,
    in_argmax_set,
    indices_to_sequences,
    sample_with_temperature,
    sequence_argmax,
    sequences_to_indices,
    viterbi_decode,
)
from sharpsim.instances import HardPolicy, SphereInstance, family_names, hard_parameters, make, register_family  # noqa: E402
from sharpsim.instances.autoregressive import max_cut_brute_force, not_closed_best_mass  # noqa: E402
from sharpsim.classes import (  # noqa: E402
    AutoregressiveLinearClass,
    FiniteClass,
    FiniteFit,
    HardClass,
    LinearSoftmaxClass,
    LinearSoftmaxFit,
    ProductClass,
    TabularClass,
    best_achievable_log_mass,
)
from sharpsim.algorithms import (  # noqa: E402
    AdaptiveSFTResult,
    BayesHardResult,
    BestOfNResult,
    RLHFResult,
    SFTResult,
    XPOResult,
    adaptive_bayes_hard_learner,
    adaptive_sft_sharpen,
    adaptive_stopping_time,
    best_of_n,
    best_of_n_law,
    bayes_hard_learner,
    rlhf_regression_loss,
    rlhf_sharpen,
    running_best_index,
    sft_sharpen,
    xpo_sharpen,
)
from sharpsim.algorithms.bayes_hard import hard_posterior  # noqa: E402
from sharpsim.referee import (  # noqa: E402
    MassEstimate,
    argmax_mask,
    argmax_mass,
    concentrability,
    coverage_coefficient,
    density_ratio_moment,
    estimate_target_mass,
    exact_sft_error_distribution,
    exact_sft_expected_error,
    exact_sft_success_probability,
    expected_log_likelihood,
    hellinger_squared,
    hellinger_squared_per_prompt,
    is_sharpened,
    kl_divergence,
    kl_divergence_per_prompt,
    log_ratio_range,
    loss_concentrability,
    margin,
    mode_coverage_coefficient,
    power_policy,
    prompt_margins,
    regularized_objective,
    reward_range,
    sequence_sharpening_error,
    sharpening_beta,
    sharpening_error,
    sharpness,
    target_mass,
)
from sharpsim import theory  # noqa: E402  (module: the bounds)
from sharpsim.measure import allocation, complexity, statistics  # noqa: E402
from sharpsim.measure.allocation import allocation_threshold, search_allocations  # noqa: E402
from sharpsim.measure.complexity import SampleComplexity, sample_complexity  # noqa: E402
from sharpsim.measure.pass_at_k import pass_at_k  # noqa: E402
from sharpsim.theory import rlhf as theory_rlhf  # noqa: E402

__version__ = "0.1.0"


# Subpackages loaded when first used: ``testing`` (the checks and hypothesis strategies) loads hypothesis, ``lm`` (the
# trained transformer) equinox, ``tasks`` (Appendix A's tasks and self-rewards) is only needed by its experiments;
# each costs every start of the command line a second or more if imported here.
_LAZY_MODULES = ("lm", "tasks", "testing")


def __getattr__(name):
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"sharpsim.{name}")
    raise AttributeError(f"module 'sharpsim' has no attribute {name!r}")

__all__ = [
    "Algorithm",
    "ModelClass",
    "Policy",
    "Result",
    "SequencePolicy",
    "SizedModelClass",
    "StoppedBatch",
    "checked",
    "lm",
    "pass_at_k",
    "tasks",
    "testing",
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
    "allocation",
    "allocation_threshold",
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
    "search_allocations",
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
