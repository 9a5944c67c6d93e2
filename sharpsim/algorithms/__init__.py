"""The paper's algorithms. Each takes a PRNG key, an ``Oracle`` and its hyper-parameters, and returns its result
(the learned policy or the picks, and the queries it used) with the charged oracle."""

from sharpsim.algorithms.adaptive_sft import AdaptiveSFTResult, adaptive_sft_sharpen, adaptive_stopping_time
from sharpsim.algorithms.bayes_hard import BayesHardResult, adaptive_bayes_hard_learner, bayes_hard_learner
from sharpsim.algorithms.best_of_n import BestOfNResult, best_of_n, best_of_n_law, running_best_index
from sharpsim.algorithms.rlhf import RLHFResult, rlhf_regression_loss, rlhf_residuals, rlhf_sharpen
from sharpsim.algorithms.sft import SFTResult, sft_sharpen
from sharpsim.algorithms.xpo import XPOResult, select_prefix, xpo_objective, xpo_sharpen

__all__ = [
    "AdaptiveSFTResult", "BayesHardResult", "BestOfNResult", "RLHFResult", "SFTResult", "XPOResult",
    "adaptive_bayes_hard_learner", "adaptive_sft_sharpen", "adaptive_stopping_time", "bayes_hard_learner",
    "best_of_n", "best_of_n_law", "rlhf_regression_loss", "rlhf_residuals", "rlhf_sharpen", "running_best_index",
    "select_prefix", "sft_sharpen", "xpo_objective", "xpo_sharpen",
]
