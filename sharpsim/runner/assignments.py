"""``KEY=v1,v2,...`` on the command line (``run --set``, ``explore --x/--y/--param``), read one way everywhere."""

from __future__ import annotations

import ast


def parse_assignment(text: str, argument: str = "--set", usage: str = "key=value[,value...]") -> tuple[str, list]:
    """``key=v1,v2,...`` → (key, [values]); values are Python literals (numbers, strings, booleans), ``nan``/``inf``
    (floats, which callers refuse naming the axis) or bare strings. A ValueError naming ``argument`` and ``usage``
    for text without a key or a value."""
    if not isinstance(text, str) or "=" not in text:
        raise ValueError(f"{argument} expects {usage}, got {text!r}")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key or not raw.strip():
        raise ValueError(f"{argument} expects {usage}, got {text!r}")
    return key, [_value(item.strip()) for item in raw.split(",")]


def _value(item: str):
    try:
        return ast.literal_eval(item)
    except (ValueError, SyntaxError):
        pass
    try:  # nan and inf are no Python literals but are numbers
        return float(item)
    except ValueError:
        return item
