"""``femcm.load(out)``: a finished run's results back from its output folder, without DOLFINx.

What a run writes, and what opens it:

=====================  ===========================================================  ===========
file                   content                                                      opened by
=====================  ===========================================================  ===========
``result.json``        problem, parameters, reported scalars, mesh and solver       ``json``
                       figures, versions, ``files`` (strict JSON: NaN as null)
``fields.xdmf/.h5``    P1 (vertex) and DG0 (cell) fields at every output time       pyvista,
                                                                                    ParaView
``NAME.bp/``           higher-degree fields at full degree (ADIOS2 VTX, BP4)        ParaView
``*.csv``              time series (free energy, steps), one header row             ``csv``,
                                                                                    NumPy
``*.png``              pictures (``--plot``)                                        any viewer
=====================  ===========================================================  ===========

:func:`load` reads ``result.json``, ``fields.xdmf`` (with pyvista's ``XdmfReader``: VTK's
XDMF3 reader) and every CSV. The ``.bp`` folders need ParaView's ADIOS2 VTX reader (VTK as
shipped with pyvista has no ADIOS2); :attr:`Loaded.files` lists them.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from femcm.base.errors import InputError

__all__ = ["Loaded", "load", "read_fields", "read_table"]


@dataclasses.dataclass
class Loaded:
    """A run's results read back from ``OUT`` (SI units).

    Attributes:
        out: the folder.
        problem: problem name.
        parameters: every parameter of the run.
        scalars: the reported figures (``None`` in JSON -> NaN).
        mesh: cells, DOFs, ranks; ``solver``, ``timings``, ``versions``: as in result.json.
        files: output files besides result.json.
        times: output times of ``fields.xdmf`` (s; ``[0.0]`` for a steady problem).
        fields: field name -> values at the last output time (vertex or cell values,
            vectors/tensors as rows of 3 or 9 components); fields of another ``X.xdmf`` as
            ``"X/name"``.
        grid: the mesh with those fields (``pyvista.UnstructuredGrid``, metres), or None.
        tables: CSV name (without ``.csv``) -> column name -> values.
    """

    out: Path
    problem: str
    parameters: dict[str, Any]
    scalars: dict[str, float]
    mesh: dict[str, Any]
    solver: dict[str, Any]
    versions: dict[str, Any]
    files: list[str]
    times: list[float]
    fields: dict[str, np.ndarray]
    grid: Any
    tables: dict[str, dict[str, np.ndarray]]

    def at(self, t: float) -> dict[str, np.ndarray]:
        """Fields at the output time nearest ``t`` (s)."""
        return read_fields(self.out / "fields.xdmf", t)[1]


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A CSV with one header row as column name -> float array."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    cols = list(zip(*body, strict=True)) if body else [() for _ in header]
    out = {}
    for name, col in zip(header, cols, strict=True):
        try:
            out[name] = np.array([float(v) if v != "" else math.nan for v in col])
        except ValueError:
            out[name] = np.array(col, dtype=object)
    return out


def read_fields(path: str | os.PathLike, t: float | None = None):
    """``(times, fields, grid)`` of an XDMF file written by femcm, at the time nearest ``t``.

    ``t`` None: the last output time. Uses VTK's XDMF3 reader through pyvista.
    """
    import pyvista as pv

    reader = pv.XdmfReader(str(path))
    times = [float(v) for v in (reader.time_values or [0.0])]
    if reader.time_values:
        want = times[-1] if t is None else min(times, key=lambda s: abs(s - t))
        reader.set_active_time_value(want)
    data = reader.read()
    blocks = list(data) if isinstance(data, pv.MultiBlock) else [data]
    blocks = [b for b in blocks if b is not None]
    if not blocks:
        return times, {}, None
    grid = blocks[0].copy()
    fields: dict[str, np.ndarray] = {}
    for b in blocks:
        for name in b.point_data.keys():
            fields[name] = np.asarray(b.point_data[name])
            grid.point_data[name] = fields[name]
        for name in b.cell_data.keys():
            fields[name] = np.asarray(b.cell_data[name])
            grid.cell_data[name] = fields[name]
    return times, fields, grid


def _nan(v: Any) -> Any:
    if v is None:
        return math.nan
    if isinstance(v, dict):
        return {k: _nan(x) for k, x in v.items()}
    return v


def load(out: str | os.PathLike) -> Loaded:
    """Read a finished run's folder: scalars, parameters, fields at the last time, CSV tables.

    Raises:
        InputError: ``out`` holds no ``result.json`` (no finished run).
    """
    out = Path(out)
    try:
        doc = json.loads((out / "result.json").read_text())
    except FileNotFoundError:
        raise InputError(f"{str(out)!r} holds no result.json (no finished run)") from None
    except ValueError as exc:
        raise InputError(f"{str(out / 'result.json')!r} is not valid JSON: {exc}") from None
    files = doc.get("files") or sorted(p.name for p in out.iterdir() if p.name != "result.json")
    times: list[float] = []
    fields: dict[str, np.ndarray] = {}
    grid = None
    if (out / "fields.xdmf").is_file():
        times, fields, grid = read_fields(out / "fields.xdmf")
    for other in sorted(out.glob("*.xdmf")):  # e.g. kmc.xdmf: fields as "kmc/NAME"
        if other.name != "fields.xdmf":
            _, more, _ = read_fields(other)
            fields |= {f"{other.stem}/{k}": v for k, v in more.items()}
    tables = {p.stem: read_table(p) for p in sorted(out.glob("*.csv"))}
    return Loaded(
        out=out,
        problem=doc.get("problem", ""),
        parameters=doc.get("parameters", {}),
        scalars=_nan(doc.get("scalars", {})),
        mesh=doc.get("mesh", {}),
        solver=doc.get("solver", {}),
        versions=doc.get("versions", {}),
        files=list(files),
        times=times,
        fields=fields,
        grid=grid,
        tables=tables,
    )
