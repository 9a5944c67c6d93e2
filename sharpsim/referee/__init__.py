"""The referee: exact quantities of policies against π_base, which learners never see (Sections 1–4; Appendix F)."""

from sharpsim.referee.exact_sft import (
    exact_sft_error_distribution,
    exact_sft_expected_error,
    exact_sft_success_probability,
)
from sharpsim.referee.kl_regularized import (
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
from sharpsim.referee.quantities import (
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
from sharpsim.referee.sequence_mass import MassEstimate, estimate_target_mass, sequence_sharpening_error, target_mass
