"""What a run records about itself for ``result.json``: timings, notes, the mesh cache folder.

The layers below the application report here (the mesh builders the time spent meshing and
whether the mesh came from the cache; the instrumented DOLFINx/PETSc calls their times), and
:func:`femcm.app.api.run_module` resets the record before a run and reads it after.

The mesh cache folder is, in order: :func:`set_mesh_cache` (``femcm run --mesh-cache DIR``,
``femcm.run(..., mesh_cache=DIR)``, ``femcm study --mesh-cache DIR``), the environment
variable ``FEMCM_MESH_CACHE``, ``$XDG_CACHE_HOME/femcm/meshes``, ``~/.cache/femcm/meshes``.
The value ``off`` (or ``False``) disables the cache. Its size limit is the environment
variable ``FEMCM_MESH_CACHE_MB`` in MiB (default 2048, 2 GiB; 0 also disables the cache).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from femcm.base.errors import InputError

__all__ = [
    "add_time",
    "mesh_cache_dir",
    "mesh_cache_folder",
    "mesh_cache_limit",
    "note",
    "notes",
    "reset",
    "set_mesh_cache",
    "timed",
]

_times: dict[str, float] = {}
_notes: dict[str, Any] = {}
_mesh_cache: str | os.PathLike | bool | None = None

OFF = ("off", "0", "false", "no", "none")

LIMIT_VAR = "FEMCM_MESH_CACHE_MB"
DEFAULT_LIMIT_MB = 2048.0


def reset() -> None:
    """Forget the timings and notes of the previous run."""
    _times.clear()
    _notes.clear()


def add_time(name: str, seconds: float) -> None:
    """Add ``seconds`` to the timing ``name``."""
    _times[name] = _times.get(name, 0.0) + seconds


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    """Time the block into ``name`` (accumulates)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        add_time(name, time.perf_counter() - t0)


def times() -> dict[str, float]:
    """The timings so far (seconds)."""
    return dict(_times)


def note(key: str, value: Any) -> None:
    """Record a fact about the run (e.g. ``mesh_cache = "hit"``)."""
    _notes[key] = value


def notes() -> dict[str, Any]:
    """The recorded facts."""
    return dict(_notes)


def set_mesh_cache(folder: str | os.PathLike | bool | None) -> None:
    """Mesh cache folder for this process (None: the default; False or "off": no cache)."""
    global _mesh_cache
    _mesh_cache = folder


def mesh_cache_limit() -> int:
    """The mesh cache size limit in bytes, from ``FEMCM_MESH_CACHE_MB`` (0: no cache).

    Raises:
        InputError: the variable is not a number of MiB >= 0.
    """
    text = os.environ.get(LIMIT_VAR, "").strip()
    if not text:
        return int(DEFAULT_LIMIT_MB * 2**20)
    try:
        mb = float(text)
    except ValueError:
        mb = math.nan
    if not (math.isfinite(mb) and mb >= 0):
        raise InputError(
            f"{LIMIT_VAR}={text!r} is out of range: must be a number of MiB >= 0 "
            f"(0 disables the mesh cache; default {DEFAULT_LIMIT_MB:g})"
        )
    return int(mb * 2**20)


def mesh_cache_dir() -> Path | None:
    """The mesh cache folder in effect, or None when caching is off (or its limit is 0)."""
    return None if mesh_cache_limit() == 0 else mesh_cache_folder()


def mesh_cache_folder() -> Path | None:
    """The mesh cache folder whatever its limit, or None when it is set to "off"."""
    choice = _mesh_cache
    if choice is None:
        choice = os.environ.get("FEMCM_MESH_CACHE")
    if choice is False or (isinstance(choice, str) and choice.strip().lower() in OFF):
        return None
    if choice is None or choice is True or choice == "":
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "femcm" / "meshes"
    return Path(choice).expanduser()
