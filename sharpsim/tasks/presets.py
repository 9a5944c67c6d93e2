"""A grid of synthetic models × tasks, the analog of Appendix A's grid of LLMs × benchmarks (Figure 1(a)).

A task fixes the structure of the responses (paths per answer, whether a short answer that skips the reasoning is
possible, how hard the prompts are); a model fixes how well its likelihood tracks correctness (``signal``, ``noise``)
and how much it likes to skip the reasoning (``short_bias``). ``preset_task`` combines one of each through
``reasoning_task``: the signal is the model's minus the task's difficulty, and short responses exist only on tasks
that allow them.
"""

from __future__ import annotations

import jax

from sharpsim.core.validation import check_positive_int
from sharpsim.tasks.builders import reasoning_task
from sharpsim.tasks.task import Task

TASKS = {
    # structure of the responses and difficulty (subtracted from the model's signal; spread across prompts)
    "plain": {"correct_paths": 24, "wrong_paths": 24, "difficulty": 0.0, "signal_spread": 1.0, "shortcuts": False},
    "many_paths": {"correct_paths": 48, "wrong_paths": 8, "difficulty": 1.5, "signal_spread": 1.0,
                   "shortcuts": False},
    "hard": {"correct_paths": 24, "wrong_paths": 24, "difficulty": 1.0, "signal_spread": 1.5, "shortcuts": False},
    "shortcut": {"correct_paths": 24, "wrong_paths": 24, "difficulty": 0.0, "signal_spread": 1.0, "shortcuts": True},
}

MODELS = {
    # likelihood–correctness signal, noise of the log-likelihood, log-likelihood bonus of a short response
    "strong": {"signal": 2.5, "noise": 1.0, "short_bias": 1.0},
    "medium": {"signal": 1.2, "noise": 1.0, "short_bias": 1.5},
    "weak": {"signal": 0.3, "noise": 1.5, "short_bias": 1.5},
    "shortcutter": {"signal": 1.5, "noise": 1.0, "short_bias": 3.0},
}


def preset_task(key: jax.Array, task: str, model: str, num_prompts: int, **overrides) -> Task:
    """The ``Task`` of ``model`` (a key of ``MODELS``) on ``task`` (a key of ``TASKS``) with ``num_prompts`` prompts;
    ``overrides`` replace any argument of ``reasoning_task``."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    spec, quality = TASKS[task], MODELS[model]
    arguments = {
        "correct_paths": spec["correct_paths"], "wrong_paths": spec["wrong_paths"],
        "signal": quality["signal"] - spec["difficulty"], "signal_spread": spec["signal_spread"],
        "noise": quality["noise"], "short_bias": quality["short_bias"] if spec["shortcuts"] else None,
    }
    arguments.update(overrides)
    return reasoning_task(key, num_prompts, **arguments)
