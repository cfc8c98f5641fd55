"""The mesh cache: a gmsh builder's meshes stored on disk and reused across runs.

:func:`cached` makes a builder ``f(comm, *geometry) -> MeshData`` look its mesh up under the
folder of :func:`femcm.base.runinfo.mesh_cache_dir`, keyed by the builder (name and source),
every geometry argument (and the contents of the files named by ``files``), the mesh plumbing
(this package's ``_gmsh``, ``_meshdata``, ``_cache``) and the gmsh/DOLFINx versions, so a
changed geometry parameter, builder or version never reuses a stale mesh. The run's
``result.json`` says ``mesh.cache``: "hit", "miss" or "off".

An entry is a folder ``<key>/`` with ``meta.json`` (written last: the entry is complete),
``input.npz`` (the gmsh arrays of :func:`femcm.meshes._meshdata.extract`, any number of ranks)
and ``layout-<N>/rank<r>.npz`` (the mesh as distributed on N ranks). A hit on N ranks with a
layout restores it directly (no partitioning, reordering or tag search: a few % of meshing);
without one it distributes the input arrays as a miss would, then stores the layout.

The folder is kept within a size limit (``FEMCM_MESH_CACHE_MB``, default 2 GiB; 0 turns the
cache off: no reads, no writes): a hit refreshes the entry's age, and after every write rank 0
removes the least recently used entries (never the one this run is using) until the total is
within the limit (:mod:`femcm.base.mesh_cache`). Writes are atomic (a hidden folder renamed
into place) and removals too, so concurrent runs see an entry whole or not at all: an entry
that vanishes while it is read is a miss.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import inspect
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gmsh
import numpy as np
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.base import mesh_cache, runinfo
from femcm.base.log import logger
from femcm.meshes import _meshdata

__all__ = ["cached", "record"]

_PLUMBING = [Path(__file__).with_name(n) for n in ("_gmsh.py", "_meshdata.py", "_cache.py")]
_recording: list | None = None


def record(meta: _meshdata.Meta, arrays: _meshdata.Arrays | None) -> None:
    """Called by ``to_dolfinx``: keep the input arrays of the mesh being built for the cache."""
    if _recording is not None:
        _recording.append((meta, arrays))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _sources(path: Path) -> list[Path]:
    """``path`` and the modules beside it that it imports, transitively (the builder's code)."""
    found: list[Path] = []
    todo = [path.resolve()]
    while todo:
        p = todo.pop()
        if p in found or not p.is_file():
            continue
        found.append(p)
        for node in ast.walk(ast.parse(p.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            todo += [p.with_name(n.rsplit(".", 1)[-1] + ".py") for n in names if n]
    return sorted(set(found) - {q.resolve() for q in _PLUMBING})


def _plain(obj: Any) -> Any:
    """JSON form of NumPy values (1e-6 and np.float64(1e-6) give the same key)."""
    return obj.tolist() if hasattr(obj, "tolist") else repr(obj)


def _key(builder: Callable, bound: inspect.BoundArguments, files: Sequence[str]) -> str:
    """Hash of the builder, its geometry arguments, the named files' contents and versions."""
    import dolfinx

    geometry = {k: v for k, v in bound.arguments.items() if k != "comm"}
    text = json.dumps(
        {
            "builder": f"{builder.__module__}.{builder.__qualname__}",
            "source": [_sha(p) for p in _sources(Path(inspect.getsourcefile(builder) or ""))],
            "plumbing": [_sha(p) for p in _PLUMBING],
            "geometry": geometry,
            "files": {k: _sha(Path(bound.arguments[k])) for k in files},
            "gmsh": gmsh.__version__,
            "dolfinx": dolfinx.__version__,
        },
        sort_keys=True,
        default=_plain,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _ok(comm: MPI.Comm, action: Callable[[], object]) -> bool:
    """Run ``action`` on this rank; True on every rank if it succeeded on all (collective)."""
    ok = True
    try:
        action()
    except OSError:
        ok = False
    return comm.allreduce(ok, op=MPI.LAND)


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, **arrays)  # uncompressed: reading is a copy, not a decompression


def _read(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _tmpdir(parent: Path, prefix: str, comm: MPI.Comm, create: bool) -> Path | None:
    """A fresh folder in ``parent`` made by rank 0 (None on every rank if it cannot be made).

    ``create``: make ``parent`` if missing (the cache folder; never an entry that vanished).
    """
    tmp = None
    if comm.rank == 0:
        with contextlib.suppress(OSError):
            if create:
                parent.mkdir(parents=True, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
    tmp = comm.bcast(tmp, root=0)
    return None if tmp is None else Path(tmp)


def _publish(tmp: Path, final: Path, comm: MPI.Comm, written: bool) -> None:
    """Rename ``tmp`` to ``final`` when every rank has written (atomic; first writer wins)."""
    if comm.rank == 0:
        try:
            if not written:
                raise OSError
            os.rename(tmp, final)
        except OSError:  # a failed write, or another run stored the same entry first
            shutil.rmtree(tmp, ignore_errors=True)
    comm.barrier()


def _prune(folder: Path) -> None:
    """Rank 0: keep the cache within its limit, never removing ``folder`` (this run's entry)."""
    removed = mesh_cache.prune(folder.parent, runinfo.mesh_cache_limit(), keep=(folder,))
    if removed:
        freed = sum(e.size for e in removed) / 2**20
        logger.info("mesh cache: removed %d old entries (%.1f MiB)", len(removed), freed)


def _save_layout(data: gmshio.MeshData, parent: Path, comm: MPI.Comm) -> None:
    """Store this rank count's layout as ``parent/layout-<N>``, then prune (collective)."""
    tmp = _tmpdir(parent, f".layout-{comm.size}-", comm, create=False)
    if tmp is not None:
        part = _meshdata.layout(data)
        written = _ok(comm, lambda: _write(tmp / f"rank{comm.rank}.npz", part))
        _publish(tmp, parent / f"layout-{comm.size}", comm, written)
    if comm.rank == 0:
        _prune(parent)


def _save(meta, arrays, data: gmshio.MeshData, folder: Path, comm: MPI.Comm) -> None:
    """Store the input arrays, ``meta.json`` (rank 0), then the layout (collective)."""
    tmp = _tmpdir(folder.parent, f".{folder.name}-", comm, create=True)
    if tmp is None:
        return
    if comm.rank == 0 and folder.exists():  # a damaged entry (it did not load): replace it
        mesh_cache.discard(folder)

    def write() -> None:
        if comm.rank == 0:
            _write(tmp / "input.npz", arrays)
            (tmp / "meta.json").write_text(json.dumps(meta))

    _publish(tmp, folder, comm, _ok(comm, write))
    if comm.bcast(folder.is_dir() if comm.rank == 0 else None, root=0):
        _save_layout(data, folder, comm)


def _load(folder: Path, comm: MPI.Comm) -> gmshio.MeshData | None:
    """The cached mesh, or None when the entry is missing or unreadable (collective)."""
    found = None
    if comm.rank == 0:
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads((folder / "meta.json").read_text())
            found = (meta, (folder / f"layout-{comm.size}").is_dir())
            mesh_cache.touch(folder)  # a hit: the entry is young again
    found = comm.bcast(found, root=0)
    if found is None:
        return None
    meta, has_layout = found
    if has_layout:
        part = None
        with contextlib.suppress(Exception):  # a damaged file: fall back to the input arrays
            part = _read(folder / f"layout-{comm.size}" / f"rank{comm.rank}.npz")
        if comm.allreduce(part is not None, op=MPI.LAND):
            return _meshdata.restore(comm, meta, part)
    arrays = None
    if comm.rank == 0:
        with contextlib.suppress(Exception):
            arrays = _read(folder / "input.npz")
    if not comm.bcast(arrays is not None, root=0):
        return None
    data = _meshdata.distribute(comm, meta, arrays)
    if not has_layout:  # this rank count's layout, for the next hit
        _save_layout(data, folder, comm)
    return data


def cached(builder: Callable | None = None, *, files: Sequence[str] = ()) -> Callable:
    """Decorator: reuse the meshes of ``builder(comm, *geometry, **geometry)`` from the cache.

    Every argument but ``comm`` is a geometry parameter (part of the key); ``files`` names the
    arguments that are paths of files whose contents shape the mesh (hashed into the key). The
    time spent is recorded as the ``mesh`` timing, and ``mesh_cache`` ("hit", "miss", "off")
    as a note. Use as ``@cached`` or ``@cached(files=("path",))``.
    """
    if builder is None:
        return functools.partial(cached, files=files)
    signature = inspect.signature(builder)

    @functools.wraps(builder)
    def wrapper(comm: MPI.Comm, *args, **kwargs) -> gmshio.MeshData:
        global _recording
        t0 = time.perf_counter()
        root = runinfo.mesh_cache_dir()
        if root is None:
            data, state = builder(comm, *args, **kwargs), "off"
        else:
            bound = signature.bind(comm, *args, **kwargs)
            bound.apply_defaults()
            folder = root / _key(builder, bound, files)
            data, state = _load(folder, comm), "hit"
            if data is None:
                _recording = []
                try:
                    data, state = builder(comm, *args, **kwargs), "miss"
                    recorded = _recording
                finally:
                    _recording = None
                if len(recorded) == 1:  # one gmsh conversion made this mesh: store it
                    _save(*recorded[0], data, folder, comm)
        runinfo.add_time("mesh", comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
        runinfo.note("mesh_cache", state)
        return data

    return wrapper
