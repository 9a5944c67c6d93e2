"""Measurement: empirical sample complexity (the least budget at which a learner reaches (ε, δ)-sharpness with
probability ≥ 1 − ρ), confidence intervals and slope fits, and the search engines the experiments share
(``sft_search``, ``first_success``, ``rlhf_engine``, ``hard_learners``)."""

from sharpsim.measure.complexity import SampleComplexity, sample_complexity
