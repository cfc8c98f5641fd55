"""The mesh cache folder on disk: its entries, their total size, the size limit, pruning.

The folder (:func:`femcm.base.runinfo.mesh_cache_dir`) holds one sub-folder per cached mesh
(``meshes/_cache.py`` writes and reads them; names starting with ``.`` are writes in progress).
An entry's age is its folder's modification time, refreshed on every hit (:func:`touch`), so
:func:`prune` removes the least recently used entries first until the total size is within
the limit (:func:`femcm.base.runinfo.mesh_cache_limit`, ``FEMCM_MESH_CACHE_MB``).

Removing an entry first renames it into a hidden trash folder (atomic), then deletes that: a
run reading the entry sees it whole or not at all (a missing entry is a cache miss), and two
processes pruning at once never both delete one entry. Only these plain file operations live
here (no MPI); the caller decides which rank prunes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Entry", "clear", "discard", "entries", "prune", "touch"]

STALE_S = 3600.0
"""A hidden folder (an interrupted write or removal) older than this is abandoned: removed."""


@dataclass(frozen=True)
class Entry:
    """One cached mesh: its folder, size in bytes and last use (seconds since the epoch)."""

    path: Path
    size: int
    used: float


def _size(folder: Path) -> int:
    """Bytes of the files below ``folder`` (files removed meanwhile count 0)."""
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(parent, name), follow_symlinks=False).st_size
    return total


def _folders(root: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(root) as it:
            return [d for d in it if d.is_dir(follow_symlinks=False)]
    except OSError:  # no cache folder yet, or it vanished
        return []


def entries(root: Path) -> list[Entry]:
    """The entries of the cache folder ``root``, least recently used first."""
    found = []
    for d in _folders(root):
        if d.name.startswith("."):
            continue
        with contextlib.suppress(OSError):  # removed by another process meanwhile
            used = d.stat(follow_symlinks=False).st_mtime
            found.append(Entry(Path(d.path), _size(Path(d.path)), used))
    return sorted(found, key=lambda e: (e.used, e.path.name))


def touch(folder: Path) -> None:
    """Mark an entry as just used (ignored when it is gone)."""
    with contextlib.suppress(OSError):
        os.utime(folder)


def discard(folder: Path) -> bool:
    """Remove a folder: rename it into a hidden trash folder (atomic), then delete that.

    Returns False when the folder was already gone (or could not be moved).
    """
    try:
        trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
    except OSError:
        return False
    try:
        os.rename(folder, trash / "entry")
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def _remove_stale(root: Path, now: float) -> None:
    """Delete the hidden folders left by interrupted writes (older than :data:`STALE_S`)."""
    for d in _folders(root):
        if not d.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            if now - d.stat(follow_symlinks=False).st_mtime > STALE_S:
                shutil.rmtree(d.path, ignore_errors=True)


def prune(root: Path, limit: int, keep: Collection[Path] = ()) -> list[Entry]:
    """Remove least recently used entries until the total size is at most ``limit`` bytes.

    The folders in ``keep`` (the entry a run has just written or is reading) are never
    removed. Returns the removed entries.
    """
    _remove_stale(root, time.time())
    found = entries(root)
    total = sum(e.size for e in found)
    keep = {Path(k) for k in keep}
    removed = []
    for e in found:
        if total <= limit:
            break
        if e.path in keep:
            continue
        if discard(e.path):
            removed.append(e)
        total -= e.size  # removed here, or by another process meanwhile
    return removed


def clear(root: Path) -> list[Entry]:
    """Remove every entry (and abandoned hidden folders); returns the removed entries."""
    _remove_stale(root, time.time())
    return [e for e in entries(root) if discard(e.path)]
