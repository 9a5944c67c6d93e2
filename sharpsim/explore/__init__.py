"""``sharpsim explore``: regime maps of where each sharpening method wins (``regime_map``)."""

from sharpsim.explore.axes import MapSpec, check_spec, parse_axis
from sharpsim.explore.methods import BUILTIN_METHODS, Method
from sharpsim.explore.regime_map import (DEFAULT_METHODS, default_spec, explore_experiment, explore_layout,
                                         resolve_methods, run_explore, summarize_rows, tidy_table)

__all__ = ["BUILTIN_METHODS", "DEFAULT_METHODS", "MapSpec", "Method", "check_spec", "default_spec",
           "explore_experiment", "explore_layout", "parse_axis", "resolve_methods", "run_explore", "summarize_rows",
           "tidy_table"]
