"""The Python API: ``problems()``, ``parameters(name)``, ``run(name, out=None, comm=None, ...)``.

A problem is a module in ``femcm.problem_scripts`` (the repository's ``problems/`` folder;
the name ``femcm.problems`` is the function that lists them) with

- ``NAME``: the canonical name, and a module docstring whose first line is the summary;
- ``Parameters``: a :class:`femcm.app.params.ParameterSet` subclass (frozen, SI, validated);
- ``solve(p, comm, output) -> Solution``: the physics, writing fields through ``output``;
- ``run(...)`` and ``main(argv=None)``, thin wrappers over :func:`run_module` and the CLI.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
from types import ModuleType
from typing import Any, TypedDict, Unpack

import dolfinx

from mpi4py import MPI
from petsc4py import PETSc

from femcm.app import guards
from femcm.app.checkpoint import DEFAULT_EVERY, Checkpoints, read_parameters
from femcm.app.output import Output
from femcm.app.params import ParameterInfo, ParameterSet
from femcm.app.result import Result
from femcm.app.timings import Stopwatch
from femcm.app.vtx import vtx_fields, write_vtx
from femcm.base import interrupt, runinfo
from femcm.base.errors import InputError
from femcm.base.log import logger

__all__ = ["parameters", "problem_module", "problems", "run", "run_module", "summary"]

PROBLEMS_PACKAGE = "femcm.problem_scripts"
"""Where the problem scripts (the repository's ``problems/`` folder) are installed."""


def problems() -> list[str]:
    """Canonical names of the available problems, sorted."""
    package = importlib.import_module(PROBLEMS_PACKAGE)  # the top layer, found at run time
    return sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")
    )


def problem_module(name: str) -> ModuleType:
    """The module implementing problem ``name``; ``ValueError`` for an unknown name."""
    names = problems()
    if name not in names:
        raise ValueError(f"unknown problem {name!r}; valid problems: {', '.join(names)}")
    return importlib.import_module(f"{PROBLEMS_PACKAGE}.{name}")


def summary(name: str) -> str:
    """First line of the problem's docstring."""
    doc = problem_module(name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def parameters(name: str) -> dict[str, ParameterInfo]:
    """Parameter name -> (default, unit, doc, allowed) for problem ``name`` (SI units)."""
    return problem_module(name).Parameters.info()


def run(
    name: str,
    out: str | os.PathLike | None = None,
    comm: MPI.Comm | None = None,
    plot: bool = False,
    *,
    max_dofs: float | None = None,
    restart: str | os.PathLike | None = None,
    checkpoint_every: int = DEFAULT_EVERY,
    **params: Any,
) -> Result:
    """Solve problem ``name`` with parameter overrides (SI units) and return its :class:`Result`.

    Args:
        name: canonical problem name (see :func:`problems`).
        out: output folder (fields.xdmf, result.json, PNGs); None writes nothing.
        comm: MPI communicator, default ``MPI.COMM_WORLD``.
        plot: also write PNG pictures of the main fields into ``out``.
        max_dofs: refuse (``InputError``) a run estimated above this many DOFs; runs
            estimated above the machine's available memory are always refused.
        restart: continue a time-dependent run from the checkpoint in this folder (an
            earlier ``out``, or its ``checkpoint`` subfolder); its parameters are the default
            and ``params`` may change only :data:`femcm.app.checkpoint.MAY_CHANGE`.
        checkpoint_every: accepted steps between checkpoints into ``out/checkpoint`` (time-
            dependent problems; also written at the end, on a failed solve and on a signal).
        **params: parameter overrides (NumPy scalars and arrays welcome); an unknown keyword
            raises ``ValueError`` (``InputError``).
    """
    mod = problem_module(name)
    comm = MPI.COMM_WORLD if comm is None else comm
    p = mod.Parameters.create(restart_parameters(mod, restart, comm) | params)
    return run_module(
        mod, p, out=out, comm=comm, plot=plot, max_dofs=max_dofs, restart=restart,
        checkpoint_every=checkpoint_every,
    )  # fmt: skip


def restart_parameters(
    mod: ModuleType, restart: str | os.PathLike | None, comm: MPI.Comm
) -> dict[str, Any]:
    """The parameters of the checkpoint behind ``restart`` ({} without one); checked."""
    if restart is None:
        return {}
    _check_restartable(mod)
    problem, saved = read_parameters(restart, comm)
    if problem != mod.NAME:
        raise InputError(f"--restart {str(restart)!r}: the checkpoint is of problem {problem!r}")
    return saved


def _check_restartable(mod: ModuleType) -> None:
    """Refuse ``--restart`` for a problem without checkpoints (one line)."""
    if not getattr(mod, "CHECKPOINTS", False):
        names = [n for n in problems() if getattr(problem_module(n), "CHECKPOINTS", False)]
        raise InputError(
            f"--restart: problem {mod.NAME!r} is not time-dependent (restart applies to: "
            f"{', '.join(names)})"
        )


class RunControls(TypedDict, total=False):
    """The keywords of :func:`run` beyond ``out``, ``comm`` and ``plot``, as there."""

    max_dofs: float | None
    restart: str | os.PathLike | None
    checkpoint_every: int


def run_module(
    mod: ModuleType,
    p: ParameterSet,
    out: str | os.PathLike | None = None,
    comm: MPI.Comm | None = None,
    plot: bool = False,
    **controls: Unpack[RunControls],
) -> Result:
    """Run a problem module with validated parameters; stage output and commit on success.

    ``out``, ``comm``, ``plot`` and ``controls`` mean what they mean for :func:`run`. Before
    anything is built, the module's ``estimate(p)`` (if it has one) is checked against
    ``max_dofs`` and the available memory (:func:`femcm.app.guards.check_size`). An exception
    on every rank is re-raised on every rank after the staging folder is removed; an exception
    on some ranks only ends the job (:func:`femcm.app.guards.all_failed`): one line on stderr
    from the failing rank, exit status 2/3/130/143, never a hang.
    """
    comm = MPI.COMM_WORLD if comm is None else comm
    max_dofs, restart = controls.get("max_dofs"), controls.get("restart")
    checkpoint_every = controls.get("checkpoint_every", DEFAULT_EVERY)
    if restart is not None:
        _check_restartable(mod)
    runinfo.mesh_cache_limit()  # a bad FEMCM_MESH_CACHE_MB is refused before anything starts
    estimate = getattr(mod, "estimate", None)
    est = estimate(p) if estimate is not None else None  # None: not known (e.g. a mesh file)
    if est is not None:
        memory = comm.bcast(guards.available_memory() if comm.rank == 0 else None, root=0)
        guards.check_size(est, comm.size, max_dofs, memory)
    t0 = time.perf_counter()
    watch = Stopwatch()  # the timings block of result.json
    failures = comm.Dup()  # private: its barrier cannot match the solver's collectives
    output = None

    def discard() -> None:  # the watchdog's cleanup when the main thread is stuck in C
        if output is not None:
            output.discard_here()

    with interrupt.on_abandon(discard):
        try:
            output = Output(out, comm)
            folder = None if output.out is None else output.out / "checkpoint"
            if folder is not None and getattr(mod, "CHECKPOINTS", False):
                output.direct.add(folder.name)
            output.checkpoints = Checkpoints(comm, mod.NAME, p, folder, restart, checkpoint_every)
            logger.info("%s: start on %d rank(s)", mod.NAME, comm.size)
            sol = mod.solve(p, comm, output)
            sol.stats.wall_time_s = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
            msh = next(iter(sol.fields.values())).function_space.mesh
            tdim = msh.topology.dim
            result = Result(
                problem=mod.NAME,
                parameters=p.as_dict(),
                scalars={k: float(v) for k, v in sol.scalars.items()},
                fields=sol.fields,
                mesh={
                    "cells": msh.topology.index_map(tdim).size_global,
                    "dofs": int(sol.dofs),
                    "ranks": comm.size,
                    "cache": runinfo.notes().get("mesh_cache", "none"),
                },
                solver=sol.stats.as_dict(),
                versions={
                    "femcm": _version(),
                    "dolfinx": dolfinx.__version__,
                    "petsc": ".".join(str(v) for v in PETSc.Sys.getVersion()),
                },
                out=output.out,
            )
            with runinfo.timed("output"):
                write_vtx(output, vtx_fields(sol.fields))  # P2/DG1 fields at full degree: OUT/*.bp
                if plot and output.enabled:
                    from femcm.app.plotting import save_png

                    for fname in sol.plots:
                        save_png(sol.fields[fname], output.path(f"{fname}.png"), fname)
                    if comm.rank == 0:
                        for fname, draw in sol.charts.items():
                            draw(output.path(fname))
            result.timings = comm.bcast(watch.block(), root=0)
            doc = result.as_json()
            if getattr(mod, "CHECKPOINTS", False):
                doc["checkpoint"] = output.checkpoints.summary()
            output.commit(doc)
        except BaseException as exc:
            interrupt.quiet()
            if not guards.all_failed(failures):
                if output is not None:
                    output.discard_here()
                guards.exit_now(*guards.describe(exc))
            if output is not None:
                output.abort()
            raise
        finally:
            failures.Free()
    logger.info("%s: done in %.2f s", mod.NAME, result.solver["wall_time_s"])
    return result


def _version() -> str:
    from femcm import __version__

    return __version__
