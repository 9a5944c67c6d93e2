"""The paper's algorithms. Each takes a PRNG key, an ``Oracle`` and its hyper-parameters."""

from sharpsim.algorithms.best_of_n import BestOfNResult, best_of_n, best_of_n_law, running_best_index
from sharpsim.algorithms.rlhf import RLHFResult, rlhf_regression_loss, rlhf_residuals, rlhf_sharpen
from sharpsim.algorithms.sft import SFTResult, sft_sharpen

__all__ = ["BestOfNResult", "best_of_n", "best_of_n_law", "running_best_index"]
__all__ += ["RLHFResult", "rlhf_regression_loss", "rlhf_residuals", "rlhf_sharpen"]
from sharpsim.algorithms.xpo import XPOResult, select_prefix, xpo_objective, xpo_sharpen  # noqa: E402
__all__ += ["XPOResult", "select_prefix", "xpo_objective", "xpo_sharpen"]
