"""Objects named on the command line as ``MODULE:NAME`` or ``path/to/file.py:NAME`` (``sharpsim check``'s algorithm,
claim and strategy; ``sharpsim explore --methods``' user algorithms)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path


def load_object(spec: str, option: str, error: type[Exception] = ValueError):
    """The object named by ``spec``; ``error`` (a ``ValueError`` subclass by default) starting with ``option`` and the
    spec when it is malformed, its file or module is missing, importing it raises, or it has no such name. A file is
    imported once per process under a name made from its resolved path (two files with one stem stay apart)."""
    target, _, name = str(spec).rpartition(":")
    if not target or not name.isidentifier():
        raise error(f"{option} {spec!r} must be MODULE:NAME or path/to/file.py:NAME")
    if target.endswith(".py"):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise error(f"{option} {spec!r}: no file {str(path)!r}")
        # a digest of the path, not the stem alone, so that examples/a/algorithm.py and examples/b/algorithm.py differ
        module_name = f"sharpsim_loaded_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        if module_name not in sys.modules:
            loader = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[module_name] = module
            try:
                loader.loader.exec_module(module)
            except Exception as failure:
                del sys.modules[module_name]
                raise error(f"{option} {spec!r}: importing {str(path)!r} raised {type(failure).__name__}: "
                            f"{failure}") from None
        module = sys.modules[module_name]
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as failure:
            raise error(f"{option} {spec!r}: cannot import module {target!r} ({failure})") from None
    if not hasattr(module, name):
        raise error(f"{option} {spec!r}: {target!r} has no {name!r}")
    return getattr(module, name)
