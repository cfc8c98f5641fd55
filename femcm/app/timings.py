"""Where a run's time goes: the ``timings`` block of ``result.json``.

- ``mesh``: the mesh builders (gmsh and conversion, or the mesh cache), reported by
  :func:`femcm.meshes._gmsh.cached` through :mod:`femcm.base.runinfo`;
- ``compile``: form and expression compilation (``dolfinx.jit.ffcx_jit``, cache hits included);
- ``assemble``: matrix and vector assembly and lifting (DOLFINx's C++ assemblers), also when
  called back from inside a Newton solve;
- ``solve``: linear and Newton solves (``LinearProblem.solve``, ``NonlinearProblem.solve`` of
  ``dolfinx.fem.petsc``) with the assembly inside them taken out: Krylov iterations *and* the
  preconditioner set-up (GAMG hierarchy, MUMPS factorization), which PETSc's ``KSPSolve``
  event leaves out (it starts after ``PCSetUp``; that set-up was the unexplained ``other``);
- ``output``: XDMF field writes, PNGs and the commit of the output folder;
- ``other``: the rest of the wall time (function spaces, boundary conditions, near-nullspace,
  interpolation of derived fields, post-processing, Python).

Times are wall seconds of rank 0 (the ranks work together). The hooks wrap the DOLFINx entry
points once per process (:func:`install`); their cost is a ``perf_counter`` and a
``process_time`` pair per call. The same phases in CPU seconds of this process
(:func:`cpu_block`, not in ``result.json``) are for benchmarks on a loaded machine,
where wall times are stretched by other processes.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from femcm.base import runinfo

__all__ = ["Stopwatch", "cpu_block", "install"]

_installed = False
_cpu: dict[str, float] = {}
_current: Stopwatch | None = None

KEYS = ("mesh", "compile", "assemble", "solve", "output", "other")


def _wrap(owner: Any, name: str, key: str) -> None:
    fn: Callable = getattr(owner, name, None)
    if fn is None or getattr(fn, "_femcm_timed", False):
        return

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            runinfo.add_time(key, time.perf_counter() - t0)
            _cpu[key] = _cpu.get(key, 0.0) + time.process_time() - c0

    timed._femcm_timed = True  # type: ignore[attr-defined]
    setattr(owner, name, timed)


def _wrap_solve(cls: type) -> None:
    """Time ``cls.solve`` as ``solve``, less the assembly it calls (counted as ``assemble``)."""
    fn: Callable = cls.solve
    if getattr(fn, "_femcm_timed", False):
        return

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        a0, t0 = runinfo.times().get("assemble", 0.0), time.perf_counter()
        ca0, c0 = _cpu.get("assemble", 0.0), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            inner = runinfo.times().get("assemble", 0.0) - a0
            runinfo.add_time("solve", time.perf_counter() - t0 - inner)
            inner = _cpu.get("assemble", 0.0) - ca0
            _cpu["solve"] = _cpu.get("solve", 0.0) + time.process_time() - c0 - inner

    timed._femcm_timed = True  # type: ignore[attr-defined]
    cls.solve = timed


def _wrap_cpu(owner: Any, name: str, key: str) -> None:
    """Add the CPU seconds of ``owner.name`` to ``key`` (its wall time is recorded elsewhere)."""
    fn: Callable = getattr(owner, name, None)
    if fn is None or getattr(fn, "_femcm_timed", False):
        return

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        c0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _cpu[key] = _cpu.get(key, 0.0) + time.process_time() - c0

    timed._femcm_timed = True  # type: ignore[attr-defined]
    setattr(owner, name, timed)


def install() -> None:
    """Wrap the DOLFINx compile, assembly, solve and XDMF entry points (once per process)."""
    global _installed
    if _installed:
        return
    import dolfinx.cpp as cpp
    import dolfinx.fem.petsc
    import dolfinx.io
    import dolfinx.jit

    from femcm.app import meshfile

    _wrap(dolfinx.jit, "ffcx_jit", "compile")
    for name in ("assemble_matrix", "assemble_vector", "apply_lifting", "insert_diagonal"):
        _wrap(cpp.fem, name, "assemble")
    for name in (
        "assemble_matrix",
        "assemble_vector",
        "apply_lifting",
        "insert_diagonal",
        "assemble_matrix_block",
        "assemble_vector_block",
        "create_matrix",
        "create_matrix_block",
        "create_matrix_nest",
    ):
        _wrap(cpp.fem.petsc, name, "assemble")
    for cls in (dolfinx.fem.petsc.LinearProblem, dolfinx.fem.petsc.NonlinearProblem):
        _wrap_solve(cls)
    for name in ("write_mesh", "write_function", "write_meshtags"):
        _wrap(dolfinx.io.XDMFFile, name, "output")
    _wrap_cpu(meshfile, "_read_msh", "mesh")  # its wall time: runinfo.timed("mesh") inside
    _installed = True


class Stopwatch:
    """The timings of one run: create before the run, :meth:`block` after it."""

    def __init__(self) -> None:
        install()
        runinfo.reset()
        _cpu.clear()
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        global _current
        _current = self

    def block(self) -> dict[str, float]:
        """Seconds per phase (see the module docstring) and the ``total``."""
        t = runinfo.times()
        total = time.perf_counter() - self.t0
        out = {k: round(t.get(k, 0.0), 4) for k in KEYS[:-1]}
        out["other"] = round(max(0.0, total - sum(out.values())), 4)
        out["total"] = round(total, 4)
        return out

    def cpu_block(self) -> dict[str, float]:
        """CPU seconds of this process per phase (``mesh``: reading a mesh file only)."""
        total = time.process_time() - self.c0
        out = {k: round(_cpu.get(k, 0.0), 4) for k in KEYS[:-1]}
        out["other"] = round(max(0.0, total - sum(out.values())), 4)
        out["total"] = round(total, 4)
        return out


def cpu_block() -> dict[str, float]:
    """CPU seconds per phase of the latest run in this process, up to now (empty: none)."""
    return _current.cpu_block() if _current is not None else {}
