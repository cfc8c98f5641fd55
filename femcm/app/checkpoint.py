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
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from femcm.app import checkpoint_files as files
from femcm.app.checkpoint_files import read_parameters
from femcm.app.checkpoint_folder import (
    DEFAULT_EVERY,
    MAY_CHANGE,
    CheckpointFolder,
    plain_parameters,
)
from femcm.app.output import write_json_atomic
from femcm.base import interrupt, runinfo
from femcm.base.errors import InputError
from femcm.base.log import logger
from femcm.fem.geometry import bounding_box
from femcm.fem.nodal_tables import assign, match, owned_tables
from femcm.solvers.timestepping import MarchReport, MarchState, StepControl, march

__all__ = ["DEFAULT_EVERY", "MAY_CHANGE", "Checkpoints", "read_parameters"]


class Checkpoints(CheckpointFolder):
    """The checkpoints of one run: where they go, where a restart comes from, how often.

    Adds the checkpoints of a time-marching model (:meth:`march`) to the folder, restart
    source and independent pieces of :class:`~femcm.app.checkpoint_folder.CheckpointFolder`.
    """

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
                "parameters": plain_parameters(self.params),
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
