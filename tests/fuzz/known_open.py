"""Fuzz findings still open (issue 12): (function::argument) pairs whose fuzzed calls are known to fail today.

The fuzz test fails on any pair that is not listed here, so the list can only shrink: a fix removes its pair (a
listed pair that passes is reported, so that the list does not go stale). ``python -m tests.fuzz.report`` prints
each failing case. The list is empty: every finding of the first fuzz run is fixed.
"""

KNOWN_OPEN: frozenset[str] = frozenset()

# Guarded (huge-value) cases still open, as "function argument=" prefixes of their case ids.
KNOWN_OPEN_GUARDED: frozenset[str] = frozenset()
