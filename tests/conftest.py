"""Test configuration: hypothesis profiles.

The default ``deterministic`` profile derandomizes every property test, so a run (and CI) is reproducible and a
failure replays exactly; ``pytest --hypothesis-profile=explore`` draws fresh random examples on every run to hunt
for new counterexamples. Shared strategies live in ``sharpsim.testing.strategies``, numpy references in
``tests/numpy_reference.py``.
"""

from hypothesis import settings

import sharpsim  # noqa: F401  (turns on float64 before any jax array is built)

settings.register_profile("deterministic", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", derandomize=False, deadline=None, database=None)
settings.load_profile("deterministic")

