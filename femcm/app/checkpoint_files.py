"""Checkpoint files: where they are, how they are written atomically and read back checked.

``checkpoint.json`` (the header: format, problem, parameters, ...; for one state also the
name, size and SHA-256 of its array file) and NumPy ``.npz`` array files (no pickles). A
checkpoint of independent pieces (``kind = pieces``, the KMC replicas) has one array file a
piece with its own small JSON reference. See :mod:`femcm.app.checkpoint`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mpi4py import MPI

from femcm.base.atomic import write_atomic
from femcm.base.errors import InputError

__all__ = ["FORMAT", "HEADER", "locate", "on_rank0", "read", "read_parameters", "write_npz"]

FORMAT = "femcm-checkpoint/1"
"""Format tag in ``checkpoint.json``."""

HEADER = "checkpoint.json"


def locate(folder: str | os.PathLike) -> Path:
    """The checkpoint folder behind ``--restart DIR``: ``DIR/checkpoint`` or ``DIR`` itself."""
    d = Path(folder)
    for c in (d / "checkpoint", d):
        if (c / HEADER).is_file():
            return c
    raise InputError(f"--restart {str(d)!r}: no checkpoint there (no checkpoint/{HEADER})")


def _header(folder: Path) -> dict[str, Any]:
    """The checked header of the checkpoint in ``folder`` (one rank)."""
    where = f"checkpoint {str(folder)!r}"
    try:
        header = json.loads((folder / HEADER).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{where} is unreadable: {HEADER} is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InputError(f"{where} is not a femcm checkpoint of format {FORMAT}")
    return header


def _load(folder: Path, ref: dict[str, Any], where: str) -> dict[str, np.ndarray]:
    """The arrays of the file that ``ref`` (file, bytes, sha256) names, checked."""
    name = str(ref.get("file", ""))
    path = folder / name
    if "/" in name or not path.is_file():
        raise InputError(f"{where} is incomplete: its array file {name!r} is missing")
    data = path.read_bytes()
    if len(data) != ref.get("bytes") or hashlib.sha256(data).hexdigest() != ref.get("sha256"):
        raise InputError(f"{where} is corrupted: {name} does not match its SHA-256")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{where} is corrupted: {name} cannot be read ({exc})") from None


def read(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and arrays of the checkpoint in ``folder``, checked (one rank)."""
    where = f"checkpoint {str(folder)!r}"
    header = _header(folder)
    if header.get("kind") != "pieces":
        return header, _load(folder, header, where)
    arrays = {}
    for side in sorted(folder.glob("piece-*.json")):
        try:
            ref = json.loads(side.read_text())
            index = int(ref["index"])
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(f"{where} is corrupted: {side.name} is not valid") from None
        arrays |= {f"piece.{index}.{k}": v for k, v in _load(folder, ref, where).items()}
    return header, arrays


def write_npz(folder: Path, stem: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """``folder/stem.npz`` atomically; returns its reference (file, bytes, sha256)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    write_atomic(folder / f"{stem}.npz", data)
    return {"file": f"{stem}.npz", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def on_rank0(comm: MPI.Comm, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0 and broadcast its value, or the ``InputError`` it raised."""
    value, error = None, None
    if comm.rank == 0:
        try:
            value = fn()
        except InputError as exc:
            error = str(exc)
    value, error = comm.bcast((value, error), root=0)
    if error:
        raise InputError(error)
    return value


def read_parameters(folder: str | os.PathLike, comm: MPI.Comm) -> tuple[str, dict[str, Any]]:
    """(problem, parameters) of the checkpoint behind ``--restart folder`` (collective)."""

    def header() -> tuple[str, dict[str, Any]]:
        h = _header(locate(folder))
        return str(h.get("problem")), dict(h.get("parameters", {}))

    return on_rank0(comm, header)
