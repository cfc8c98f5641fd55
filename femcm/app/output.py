"""Output folder: XDMF fields, CSV series, PNGs and ``result.json``, never half-written.

Everything a run writes goes first into a hidden staging folder inside ``OUT``. Only when the
run succeeds are the files moved into ``OUT`` and ``result.json`` written last, atomically
(temporary name, then rename). A failed run removes its staging folder.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dolfinx import fem, io, mesh

from mpi4py import MPI

from femcm.base.errors import InputError

__all__ = ["FieldWriter", "Output", "write_json_atomic"]


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
    fd, tmp = tempfile.mkstemp(prefix=".result-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(_finite(data), fh, indent=2, allow_nan=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        if self.out is None:
            return
        stage = None
        error = None
        if comm.rank == 0:
            try:
                self.out.mkdir(parents=True, exist_ok=True)
                stage = tempfile.mkdtemp(prefix=".partial-", dir=self.out)
            except OSError as exc:
                error = f"cannot write the output folder {self.out}: {exc.strerror}"
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

    def write_fields(self, msh: mesh.Mesh, functions: Sequence[fem.Function]) -> None:
        """Write one set of fields at t = 0 to ``OUT/fields.xdmf``."""
        w = self.fields(msh)
        w.write(functions, 0.0)
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
        """Move staged files into ``OUT`` and write ``result.json`` last, atomically."""
        for w in self._writers:
            w.close()
        if self.stage is None:
            return
        self.comm.barrier()
        if self.comm.rank == 0:
            (self.out / "result.json").unlink(missing_ok=True)
            for f in sorted(self.stage.iterdir()):
                os.replace(f, self.out / f.name)
            shutil.rmtree(self.stage, ignore_errors=True)
            write_json_atomic(self.out / "result.json", result)
        self.comm.barrier()

    def abort(self) -> None:
        """Remove everything staged (after a failure); ``OUT`` keeps what it had before."""
        for w in self._writers:
            try:
                w.close()
            except Exception:
                pass
        if self.stage is not None and self.comm.rank == 0:
            shutil.rmtree(self.stage, ignore_errors=True)
            try:
                self.out.rmdir()  # only if we created it and it is empty
            except OSError:
                pass
