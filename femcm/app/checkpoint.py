"""Checkpoint and restart of time-dependent problems (``OUT/checkpoint/``, ``--restart DIR``).

What is saved, every ``every`` accepted steps, at the end, before a failed solve leaves and
when a signal (SIGTERM, SIGINT) stops the run (:func:`femcm.base.interrupt.deferred`):
the model's accepted state and the one before it (:meth:`state`), the stepper's state
(t, the next and the last Δt, the controller's previous error, the monitored history the
BDF2 error estimate needs, the step records), the solver totals, the problem's series (the
rows of its CSV files so far) and the model state at each output time already written, so
that a restarted run writes the same complete XDMF and CSV series: nothing is repeated and
nothing is missing.

Files: :mod:`femcm.app.checkpoint_files`. Every function is saved as the table of its owned
nodes' coordinates and values (:mod:`femcm.fem.nodal_tables`), gathered on rank 0, so a
checkpoint restarts on any number of ranks. Writing is atomic (array file, then header, each
by rename; then the older array files go): a run killed while writing keeps the previous one.

A restart reads everything on rank 0 first and checks it (format, problem, parameters,
SHA-256, the mesh's nodes), so a corrupted, truncated or mismatched checkpoint is refused with
one line before anything is written. The parameters must be those of the checkpoint except
:data:`MAY_CHANGE` (e.g. a later ``t_end``).
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mpi4py import MPI

from femcm.app import checkpoint_files as files
from femcm.app.checkpoint_files import read_parameters
from femcm.app.output import write_json_atomic
from femcm.app.params import ParameterSet
from femcm.base import interrupt, runinfo
from femcm.base.errors import InputError
from femcm.base.log import logger
from femcm.fem.geometry import bounding_box
from femcm.fem.nodal_tables import assign, match, owned_tables
from femcm.solvers.timestepping import MarchReport, MarchState, StepControl, march

__all__ = ["DEFAULT_EVERY", "MAY_CHANGE", "Checkpoints", "read_parameters"]

MAY_CHANGE = ("t_end", "dt_min", "dt_max", "linear_solver")
"""Parameters a restart may set differently from the checkpoint's run."""

DEFAULT_EVERY = 25
"""Accepted steps between periodic checkpoints (``--checkpoint-every``)."""


def _plain(params: ParameterSet) -> dict[str, Any]:
    """Parameters as they read back from JSON."""
    return json.loads(json.dumps(params.as_dict()))


class Checkpoints:
    """The checkpoints of one run: where they go, where a restart comes from, how often."""

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

    def march(
        self,
        model: Any,
        control: StepControl,
        t_end: float,
        *,
        series: dict[str, list[list[float]]],
        output_times: Sequence[float] = (),
        on_output: Callable[[float], None] | None = None,
        on_step: Callable[[float, float, int], None] | None = None,
    ) -> MarchReport:
        """:func:`~femcm.solvers.timestepping.march` with checkpoints, from one if restarting.

        ``series``: the problem's row lists (its CSV files), restored in place on restart;
        ``on_output`` is called again for every output time the checkpoint had written.
        """
        self._model, self._series = model, series
        self._snapshots: list[tuple[float, list]] = []
        self._tol = 1e-9 * float(np.linalg.norm(np.subtract(*bounding_box(model.msh))))
        resume = None
        if self.source is not None:
            resume = self._restore(on_output)

        def output(t: float) -> None:
            if on_output is not None:
                on_output(t)
            self._snapshots.append((t, owned_tables(model.w)))

        with interrupt.deferred():
            return march(
                model, control, t_end, output_times=output_times, on_output=output,
                on_step=on_step, resume=resume, checkpoint=self._write if self.folder else None,
                checkpoint_every=self.every,
            )  # fmt: skip

    # -- writing --------------------------------------------------------------------------

    def _write(self, state: MarchState, reason: str) -> None:
        """Write the checkpoint of ``state`` (collective; rank 0 writes)."""
        t0 = time.perf_counter()
        m = self._model
        local: dict[str, list] = {}
        for name, f in m.state().items():
            for i, tab in enumerate(owned_tables(f)):
                local[f"state.{name}.{i}"] = tab
        for j, (_, tabs) in enumerate(self._snapshots):
            for i, tab in enumerate(tabs):
                local[f"output.{j}.{i}"] = tab
        xm = m.monitored_coordinates()
        for j, v in enumerate(state.history_values):
            local[f"history.{j}"] = (xm, v[:, None])
        gathered = self.comm.gather(local, root=0)
        error = None
        if self.comm.rank == 0:
            arrays = {
                f"{key}.{part}": np.concatenate([g[key][k] for g in gathered])
                for key in local
                for k, part in enumerate("xv")
            }
            arrays["records"] = np.array(state.report.records, float).reshape(-1, 6)
            for name, rows in self._series.items():
                arrays[f"series.{name}"] = np.asarray(rows, float)
            arrays["output_times"] = np.array([t for t, _ in self._snapshots], float)
            header = {
                "format": files.FORMAT,
                "problem": self.problem,
                "parameters": _plain(self.params),
                "ranks": self.comm.size,
                "reason": reason,
                "written": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "march": state.header(),
                "stats": {k: v for k, v in vars(m.stats).items() if k != "wall_time_s"},
                "series": list(self._series),
                "state": list(m.state()),
            }
            try:
                self._commit(header, arrays)
            except OSError as exc:
                error = f"cannot write the checkpoint in {str(self.folder)!r}: {exc.strerror}"
        error = self.comm.bcast(error if self.comm.rank == 0 else None, root=0)
        if error:
            raise InputError(error)
        self.written += 1
        self.seconds += time.perf_counter() - t0
        logger.info(
            "checkpoint (%s) at t = %.6g s, step %d: %.3f s", reason, state.t,
            state.report.steps, time.perf_counter() - t0,
        )  # fmt: skip

    def _commit(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Array file, then header, each by rename; then remove older array files (rank 0)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = f"state-{header['march']['steps']:08d}-{os.getpid()}-{self.written}"
        header |= files.write_npz(self.folder, stem, arrays)
        write_json_atomic(self.folder / files.HEADER, header)
        self.bytes = header["bytes"]
        for old in self.folder.glob("*-*.*"):
            if old.name != header["file"] and old.name.startswith(("state-", "piece-")):
                old.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------

    def _restore(self, on_output: Callable[[float], None] | None) -> MarchState:
        """Set the model, the series and the outputs from the checkpoint (collective)."""
        header, arrays = self._saved
        m = self._model
        what = f"checkpoint {str(self.source)!r}"

        def tables(prefix: str, n: int) -> list:
            return [(arrays[f"{prefix}.{i}.x"], arrays[f"{prefix}.{i}.v"]) for i in range(n)]

        names = list(m.state())
        if header.get("state") != names:
            raise InputError(f"{what} does not fit this model: it holds {header.get('state')}")
        nparts = sum(1 for k in arrays if k.startswith(f"state.{names[0]}.") and k.endswith(".x"))
        for j, t in enumerate(arrays["output_times"]):  # replay the outputs already written
            assign(m.w, tables(f"output.{j}", nparts), self._tol, f"the output at t = {t:g} s")
            self._snapshots.append((float(t), owned_tables(m.w)))
            if on_output is not None:
                on_output(float(t))
        for name, f in m.state().items():
            assign(f, tables(f"state.{name}", nparts), self._tol, name)
        m.reject()  # the current state is the accepted one
        xm = m.monitored_coordinates()
        values = []
        for j in range(len(header["march"]["history_t"])):
            idx = match(arrays[f"history.{j}.x"], xm, self._tol, self.comm, "the history")
            values.append(arrays[f"history.{j}.v"][idx, 0].copy())
        for name, rows in self._series.items():
            rows[:] = arrays[f"series.{name}"].tolist()
        for k, v in header["stats"].items():
            setattr(m.stats, k, v)
        state = MarchState.from_header(header["march"], arrays["records"], values)
        runinfo.note("restarted_from", {"folder": str(self.source), "t": state.t,
                                        "steps": state.report.steps})  # fmt: skip
        logger.info("restart from %s at t = %.6g s, step %d", self.source, state.t,
                    state.report.steps)  # fmt: skip
        return state

    def _check(self, header: dict[str, Any]) -> None:
        """Refuse a checkpoint of another problem or other parameters (one line)."""
        what = f"checkpoint {str(self.source)!r}"
        if header.get("problem") != self.problem:
            other = header.get("problem")
            raise InputError(f"{what} is of problem {other!r}, not {self.problem!r}")
        saved, now = header.get("parameters", {}), _plain(self.params)
        for k in now:
            if k not in MAY_CHANGE and saved.get(k) != now[k]:
                raise InputError(
                    f"parameter {k} = {now[k]!r} differs from the checkpoint's {saved.get(k)!r}: "
                    f"a restart continues the same run (only {', '.join(MAY_CHANGE)} may change)"
                )

    # -- independent pieces (KMC replicas) -------------------------------------------------

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
            header = {"format": files.FORMAT, "kind": "pieces", "problem": self.problem,
                      "parameters": _plain(self.params), "ranks": self.comm.size}  # fmt: skip
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
