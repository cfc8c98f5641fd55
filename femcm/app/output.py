"""Output folder: XDMF fields, CSV series, PNGs and ``result.json``, never half-written.

Everything a run writes goes first into a hidden staging folder ``OUT/.partial-HOST-PID-*``.
Only when the run succeeds are the files moved into ``OUT`` and ``result.json`` written last,
atomically (temporary name, then rename); the files of the previous run into ``OUT`` that
this run did not write again (listed in its ``result.json`` under ``files``) are removed, so
``OUT`` never mixes two runs. A failed or interrupted run removes its staging folder and
leaves ``OUT`` as it was; a staging folder left by a killed run (its process is gone) is
removed by the next run into the same ``OUT``.

``fields.xdmf`` is rewritten on commit so that VTK's XDMF reader (pyvista, ParaView) can open
it: DOLFINx refers to the mesh of every time step with an XInclude (``xi:include
xpointer=...``), on which VTK 9's XDMF3 reader crashes; the commit replaces each of these by
the mesh's own ``Topology``/``Geometry`` elements (the same HDF5 datasets, no copy).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dolfinx import fem, io, mesh

from mpi4py import MPI

from femcm.base.atomic import write_atomic
from femcm.base.errors import InputError

__all__ = ["FieldWriter", "Output", "clean_stale_stages", "inline_xdmf_mesh", "write_json_atomic"]

PREVIOUS_OUTPUTS = ("result.json", "*.xdmf", "*.h5", "*.png", "*.csv", "*.bp")
"""What a run removes from ``OUT`` when the previous ``result.json`` lists no ``files``."""

_XINCLUDE = re.compile(r"<xi:include xpointer=\"xpointer\(/Xdmf/Domain/Grid\[[^\"]*\" */>")
_MESH = re.compile(r"<Grid Name=\"[^\"]*\" GridType=\"Uniform\">\s*(<Topology.*?</Geometry>)", re.S)


def inline_xdmf_mesh(path: Path) -> None:
    """Replace DOLFINx's XInclude references to the mesh by the mesh elements (see above)."""
    text = path.read_text()
    mesh_xml = _MESH.search(text)
    if mesh_xml is None or "xi:include" not in text:
        return
    fixed = _XINCLUDE.sub(lambda _: mesh_xml.group(1), text)
    path.write_text(fixed)


def _owner_alive(stage: Path) -> bool:
    """Is the process that made ``OUT/.partial-HOST-PID-xxxx`` still running (on this host)?"""
    parts = stage.name.split("-")
    if len(parts) < 4 or not parts[-2].isdigit():
        return False  # a staging folder of an older femcm: no owner to ask
    host, pid = "-".join(parts[1:-2]), int(parts[-2])
    if host != socket.gethostname():
        return True  # cannot tell: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_stages(out: Path) -> list[Path]:
    """Remove staging folders in ``out`` whose run is gone; returns what was removed."""
    removed = []
    for stage in out.glob(".partial-*"):
        if stage.is_dir() and not _owner_alive(stage):
            shutil.rmtree(stage, ignore_errors=True)
            removed.append(stage)
    return removed


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM while files are moved into place (delivered afterwards)."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _finite(obj: Any) -> Any:
    """NaN and ±inf as null: strict JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write strict JSON (non-finite numbers as null) to ``path`` atomically (one rank)."""
    write_atomic(path, json.dumps(_finite(data), indent=2, allow_nan=False) + "\n")


class FieldWriter:
    """XDMF time series of fields on one mesh (collective). A no-op when output is off."""

    def __init__(self, path: Path | None, msh: mesh.Mesh):
        self._file = None
        if path is not None:
            self._file = io.XDMFFile(msh.comm, str(path), "w")
            self._file.write_mesh(msh)

    def write(self, functions: Sequence[fem.Function], t: float = 0.0) -> None:
        """Write each function at time ``t``; names come from ``Function.name``."""
        if self._file is None:
            return
        for f in functions:
            self._file.write_function(f, t)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None


class Output:
    """A run's output folder, or nothing when ``out`` is None. All methods are collective."""

    def __init__(self, out: str | os.PathLike | None, comm: MPI.Comm):
        self.comm = comm
        self.out = None if out is None else Path(out).absolute()
        self.stage: Path | None = None
        self._writers: list[FieldWriter] = []
        self.checkpoints: Any = None
        """The run's :class:`femcm.app.checkpoint.Checkpoints` (set by ``run_module``)."""
        self.direct: set[str] = set()
        """Names this run writes straight into ``OUT`` (its checkpoint folder): listed in
        ``files`` on commit, never removed as the previous run's."""
        if self.out is None:
            return
        stage = None
        error = None
        self._created = False
        if comm.rank == 0:
            try:
                if self.out.exists() and not self.out.is_dir():
                    raise NotADirectoryError(20, "it is a file, not a folder")
                self._created = not self.out.exists()
                self.out.mkdir(parents=True, exist_ok=True)
                clean_stale_stages(self.out)
                prefix = f".partial-{socket.gethostname()}-{os.getpid()}-"
                stage = tempfile.mkdtemp(prefix=prefix, dir=self.out)
            except OSError as exc:
                error = f"cannot write the output folder {str(self.out)!r}: {exc.strerror}"
        stage, error = comm.bcast((stage, error), root=0)
        if error:
            raise InputError(error)
        self.stage = Path(stage)

    @property
    def enabled(self) -> bool:
        """True when results are written to disk."""
        return self.stage is not None

    def path(self, name: str) -> Path | None:
        """Staging path of an output file, or None when output is off."""
        return None if self.stage is None else self.stage / name

    def fields(self, msh: mesh.Mesh, name: str = "fields") -> FieldWriter:
        """Open ``OUT/<name>.xdmf`` (+ .h5) for a time series of fields."""
        p = self.path(f"{name}.xdmf")
        w = FieldWriter(p, msh)
        self._writers.append(w)
        return w

    def write_fields(
        self,
        msh: mesh.Mesh,
        functions: Sequence[fem.Function] | Callable[[], Sequence[fem.Function]],
    ) -> None:
        """Write one set of fields at t = 0 to ``OUT/fields.xdmf``.

        ``functions`` may be a callable returning them, called only when output is on (the
        low-order copies for XDMF are then not made for a run without files).
        """
        if not self.enabled:
            return
        w = self.fields(msh)
        w.write(functions() if callable(functions) else functions, 0.0)
        w.close()

    def write_csv(self, name: str, header: Sequence[str], rows: Sequence[Sequence[float]]) -> None:
        """Write a CSV table on rank 0 (rows must be the same on every rank)."""
        p = self.path(name)
        if p is not None and self.comm.rank == 0:
            with open(p, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(header)
                w.writerows(rows)

    def commit(self, result: dict[str, Any]) -> None:
        """Move staged files into ``OUT`` and write ``result.json`` last, atomically.

        ``result["files"]`` is set to the names written; files of the previous run into
        ``OUT`` that this one did not write again are removed.
        """
        for w in self._writers:
            w.close()
        if self.stage is None:
            return
        self.comm.barrier()
        if self.comm.rank == 0:
            with _signals_deferred():
                for x in self.stage.glob("*.xdmf"):
                    inline_xdmf_mesh(x)
                new = sorted(f.name for f in self.stage.iterdir())
                direct = {n for n in self.direct if (self.out / n).exists()}
                stale = set(self._previous_files()) - set(new) - direct
                (self.out / "result.json").unlink(missing_ok=True)
                for name in sorted(stale):
                    old = self.out / name
                    if old.is_dir() and not old.is_symlink():
                        shutil.rmtree(old, ignore_errors=True)
                    else:
                        old.unlink(missing_ok=True)
                for name in new:
                    target = self.out / name
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    os.replace(self.stage / name, target)
                shutil.rmtree(self.stage, ignore_errors=True)
                files = sorted(set(new) | direct)
                write_json_atomic(self.out / "result.json", {**result, "files": files})
        self.comm.barrier()

    def _previous_files(self) -> list[str]:
        """Top-level names written by the previous run into ``OUT`` (rank 0)."""
        try:
            files = json.loads((self.out / "result.json").read_text()).get("files")
        except (OSError, ValueError, AttributeError):
            files = None
        if isinstance(files, list):
            return [
                f for f in files if isinstance(f, str) and "/" not in f and f not in ("", ".", "..")
            ]
        return sorted({p.name for pat in PREVIOUS_OUTPUTS for p in self.out.glob(pat)})

    def abort(self) -> None:
        """Remove everything staged (after a failure); ``OUT`` keeps what it had before."""
        for w in self._writers:
            try:
                w.close()
            except Exception:
                pass
        if self.comm.rank == 0:
            self.discard_here()

    def discard_here(self) -> None:
        """Remove the staging folder from this rank, without any collective call.

        For a rank that fails alone under MPI (see :mod:`femcm.app.guards`); also the second
        half of :meth:`abort`. Removes ``OUT`` too if this run created it and it is empty.
        """
        if self.stage is None:
            return
        shutil.rmtree(self.stage, ignore_errors=True)
        with contextlib.suppress(OSError):
            if not any(self.out.iterdir()):
                self.out.rmdir()
