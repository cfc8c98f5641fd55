"""The checkpoint folder of one run: its restart source, independent pieces, the summary.

:class:`CheckpointFolder` reads and checks the restart source on construction (problem and
parameters, before anything is built), saves and restores independent pieces (KMC replicas,
each saved by its own rank) and sums up what was written for ``result.json``.
:class:`femcm.app.checkpoint.Checkpoints` adds the checkpoints of a time-marching model.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from mpi4py import MPI

from femcm.app import checkpoint_files as files
from femcm.app.output import write_json_atomic
from femcm.app.params import ParameterSet
from femcm.base import runinfo
from femcm.base.errors import InputError

__all__ = ["DEFAULT_EVERY", "MAY_CHANGE", "CheckpointFolder"]

MAY_CHANGE = ("t_end", "dt_min", "dt_max", "linear_solver")
"""Parameters a restart may set differently from the checkpoint's run."""

DEFAULT_EVERY = 25
"""Accepted steps between periodic checkpoints (``--checkpoint-every``)."""


def plain_parameters(params: ParameterSet) -> dict[str, Any]:
    """Parameters as they read back from JSON."""
    return json.loads(json.dumps(params.as_dict()))


class CheckpointFolder:
    """Where a run's checkpoints go, where a restart comes from, how often; pieces."""

    def __init__(
        self,
        comm: MPI.Comm,
        problem: str,
        params: ParameterSet,
        folder: Path | None,
        source: str | os.PathLike | None = None,
        every: int = DEFAULT_EVERY,
    ):
        self.comm, self.problem, self.params = comm, problem, params
        self.folder, self.every = folder, every
        self.source = None
        if source is not None:  # read and check it all now, before anything is built
            self.source = files.on_rank0(comm, lambda: files.locate(source))
            self._saved = files.on_rank0(comm, lambda: files.read(self.source))
            self._check(self._saved[0])
        self.written = 0
        self.piece_writes = 0
        """Pieces saved by this rank (:meth:`save_piece`)."""
        self.seconds = 0.0
        self.bytes = 0

    def _check(self, header: dict[str, Any]) -> None:
        """Refuse a checkpoint of another problem or other parameters (one line)."""
        what = f"checkpoint {str(self.source)!r}"
        if header.get("problem") != self.problem:
            other = header.get("problem")
            raise InputError(f"{what} is of problem {other!r}, not {self.problem!r}")
        saved, now = header.get("parameters", {}), plain_parameters(self.params)
        for k in now:
            if k not in MAY_CHANGE and saved.get(k) != now[k]:
                raise InputError(
                    f"parameter {k} = {now[k]!r} differs from the checkpoint's {saved.get(k)!r}: "
                    f"a restart continues the same run (only {', '.join(MAY_CHANGE)} may change)"
                )

    def pieces(self) -> dict[int, dict[str, np.ndarray]]:
        """Begin a run of independent pieces: those of the restart source (collective).

        Writes this run's header (``kind = pieces``) and copies the restored pieces into its
        own folder; pieces there from an earlier run are removed first.
        """
        done: dict[int, dict[str, np.ndarray]] = {}
        if self.source is not None:
            if self._saved[0].get("kind") != "pieces":
                raise InputError(f"checkpoint {str(self.source)!r} is not one of replicas")
            for key, v in self._saved[1].items():
                _, index, name = key.split(".", 2)
                done.setdefault(int(index), {})[name] = v
        if self.folder is not None and self.comm.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            same = self.source is not None and self.folder.resolve() == self.source.resolve()
            for old in self.folder.glob("*-*.*"):
                kept = same and old.name.startswith("piece-") and int(old.stem[6:12]) in done
                if old.name.startswith(("state-", "piece-")) and not kept:
                    old.unlink(missing_ok=True)
            header = {
                "format": files.FORMAT,
                "kind": "pieces",
                "problem": self.problem,
                "parameters": plain_parameters(self.params),
                "ranks": self.comm.size,
            }
            write_json_atomic(self.folder / files.HEADER, header)
            for index, arrays in done.items() if not same else ():
                self._write_piece(index, arrays)
        self.comm.barrier()
        return done

    def save_piece(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Save one finished piece from this rank alone (no collective call)."""
        if self.folder is not None:
            t0 = time.perf_counter()
            self._write_piece(index, arrays)
            self.piece_writes += 1
            self.seconds += time.perf_counter() - t0

    def _write_piece(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        ref = files.write_npz(self.folder, f"piece-{index:06d}", arrays)
        self.bytes = ref["bytes"]
        write_json_atomic(self.folder / f"piece-{index:06d}.json", {"index": index, **ref})

    def summary(self) -> dict[str, Any]:
        """For ``result.json`` (collective): checkpoints written, seconds, size, origin.

        Pieces are counted over all ranks; the seconds are the slowest rank's.
        """
        return {
            "written": self.written + self.comm.allreduce(self.piece_writes, op=MPI.SUM),
            "write_seconds": self.comm.allreduce(self.seconds, op=MPI.MAX),
            "bytes": self.bytes,
            "folder": None if self.folder is None else str(self.folder),
            "restarted_from": runinfo.notes().get("restarted_from"),
        }
