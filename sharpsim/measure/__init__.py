"""Measurement: empirical sample complexity (the least budget at which a learner reaches (ε, δ)-sharpness with
probability ≥ 1 − ρ), an algorithm's own sample complexity (the optimum over its allocation, ``allocation``),
confidence intervals and slope fits, and the search engines the experiments share (``sft_search``,
``first_success``, ``rlhf_engine``, ``hard_learners``)."""

from sharpsim.measure.allocation import allocation_threshold, search_allocations, shape_thresholds
from sharpsim.measure.complexity import SampleComplexity, sample_complexity
