"""Tasks with ground truth and self-rewards: the paper's empirical section (Appendix A), simulated.

``Task`` (a base model over responses ended by EOS, with answers and correctness), ``reasoning_task`` (the
builder with likelihood–correctness, length and paths-per-answer controls), ``presets`` (a grid of synthetic
models × tasks), self-rewards (``self_rewards``), exact best-of-N laws and baselines (``best_of_n``) and the sample
majority vote (``majority``).
"""

from sharpsim.tasks.best_of_n import (
    best_of_n_accuracy, correct_mass, greedy_accuracy, greedy_indices, pass_at_n, pick_expectations, pick_law,
    pick_log_likelihood, sampling_accuracy,
)
from sharpsim.tasks.builders import reasoning_task
from sharpsim.tasks.majority import (
    majority_accuracy, majority_monte_carlo, majority_pick_log_likelihood, majority_winner_law,
)
from sharpsim.tasks.self_rewards import (
    SELF_REWARDS, answer_marginal, answer_mass, length_normalized, log_likelihood, self_reward,
)
from sharpsim.tasks.task import EOS, Task, last_token_answers, response_lengths

__all__ = [
    "EOS", "SELF_REWARDS", "Task", "answer_marginal", "answer_mass", "best_of_n_accuracy", "correct_mass",
    "greedy_accuracy", "greedy_indices", "last_token_answers", "length_normalized", "log_likelihood",
    "majority_accuracy", "majority_monte_carlo", "majority_pick_log_likelihood", "majority_winner_law", "pass_at_n",
    "pick_expectations", "pick_law", "pick_log_likelihood", "reasoning_task", "response_lengths",
    "sampling_accuracy", "self_reward",
]
