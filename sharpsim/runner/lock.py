"""One run at a time per results folder: an advisory lock, and the folders a run created (to remove if it fails).

Two runs into one results folder would compute the same cells twice and race on every file. ``hold_folder`` takes
an exclusive ``flock`` on ``FOLDER/.sharpsim-lock`` for the whole run and writes the holder's pid in it; a second
run waits for it (or, with ``wait=False``, refuses at once with ``FolderInUseError``). The kernel releases a
``flock`` when its holder dies, so a lock file left by a killed run never blocks the next one (a pid file would).
The holder deletes the lock file when it lets go; a waiter that then wakes on the deleted file sees that the path
no longer names the file it locked and starts over, so two runs never hold the folder together.

Without ``fcntl`` (Windows), or on a file system without locks (some network mounts, with a warning), the lock
does nothing.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

LOCK_NAME = ".sharpsim-lock"


class FolderInUseError(RuntimeError):
    """Another run holds the results folder and the caller chose not to wait."""


@contextmanager
def hold_folder(folder: Path | str, wait: bool = True) -> Iterator[list[Path]]:
    """Create ``folder`` (with its parents) and hold its lock until the block ends; yields the folders this call
    created, outermost first, for ``remove_created_folders``."""
    folder = Path(folder)
    path = folder / LOCK_NAME
    created: list[Path] = []
    announced = None
    for _ in range(1000):  # each retry means another run let go or removed the folder in between: never many
        created += [p for p in make_folders(folder) if p not in created]
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            continue  # a failed run removed the folder it had created between our mkdir and open
        try:
            if fcntl is not None and not _try_lock(descriptor, path):
                holder = _holder(descriptor)
                if not wait:
                    raise FolderInUseError(
                        f"results folder {folder} is in use by the run of pid {holder}; let it finish, or wait for "
                        "it (leave out --no-wait)")
                if announced != holder:
                    print(f"sharpsim: waiting for the run of pid {holder} that holds {folder}", file=sys.stderr,
                          flush=True)
                    announced = holder
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            if not _still_names(path, descriptor):
                continue  # we locked a file its holder deleted when it let go: take the one that path names now
            data = f"{os.getpid()}\n".encode()
            os.pwrite(descriptor, data, 0)
            os.ftruncate(descriptor, len(data))
            try:
                yield created
            finally:
                path.unlink(missing_ok=True)  # while still locked, so no one can lock this file after us
            return
        finally:
            os.close(descriptor)
    raise RuntimeError(f"could not lock {path}: its file keeps being replaced")  # pragma: no cover


def make_folders(folder: Path | str) -> list[Path]:
    """``mkdir -p folder``; the folders that did not exist before, outermost first."""
    folder = Path(folder)
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    folder.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def remove_created_folders(created: list[Path]) -> None:
    """Remove the folders of ``created`` that are empty, innermost first (a folder another run has filled in the
    meantime stays)."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass


# what flock raises on a file system that has no locks (some network and FUSE mounts)
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def _try_lock(descriptor: int, path: Path) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        if error.errno not in _NO_LOCKS:
            raise
        # refusing to run there would be worse than the race the lock prevents
        print(f"sharpsim: warning: cannot lock {path} ({error.strerror}); two runs into this folder at once would "
              "compute the same cells twice", file=sys.stderr, flush=True)
    return True


def _holder(descriptor: int) -> str:
    """The pid the holder wrote, or "unknown" (a holder that has just locked may not have written it yet)."""
    for _ in range(20):
        text = os.pread(descriptor, 32, 0).decode(errors="replace").split("\n", 1)[0].strip()
        if text.isdigit():
            return text
        time.sleep(0.005)
    return "unknown"


def _still_names(path: Path, descriptor: int) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)
