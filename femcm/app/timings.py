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

__all__ = ["Stopwatch", "cpu_block", "install", "timed"]

_installed = False
_cpu: dict[str, float] = {}
_current: Stopwatch | None = None

KEYS = ("mesh", "compile", "assemble", "solve", "output", "other")


def _nothing() -> None:
    return None


def timed(
    fn: Callable, record: Callable[[float, float, Any], None], start: Callable[[], Any] = _nothing
) -> Callable:
    """``fn`` that calls ``record(wall_s, cpu_s, start())`` after each call (``start`` before)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        before, t0, c0 = start(), time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            record(time.perf_counter() - t0, time.process_time() - c0, before)

    wrapper._femcm_timed = True  # type: ignore[attr-defined]
    return wrapper


def _wrap(owner: Any, name: str, record: Callable, start: Callable[[], Any] = _nothing) -> None:
    fn = getattr(owner, name, None)
    if fn is not None and not getattr(fn, "_femcm_timed", False):
        setattr(owner, name, timed(fn, record, start))


def _phase(key: str, wall: bool = True) -> Callable[[float, float, Any], None]:
    """A recorder adding to phase ``key`` (``wall=False``: its wall time is taken elsewhere)."""

    def record(wall_s: float, cpu_s: float, _: Any) -> None:
        if wall:
            runinfo.add_time(key, wall_s)
        _cpu[key] = _cpu.get(key, 0.0) + cpu_s

    return record


def _assembly_so_far() -> tuple[float, float]:
    return runinfo.times().get("assemble", 0.0), _cpu.get("assemble", 0.0)


def _solve(wall_s: float, cpu_s: float, before: tuple[float, float]) -> None:
    """A solve's time less the assembly it called back (counted as ``assemble``)."""
    wall_a, cpu_a = _assembly_so_far()
    _phase("solve")(wall_s - (wall_a - before[0]), cpu_s - (cpu_a - before[1]), None)


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

    _wrap(dolfinx.jit, "ffcx_jit", _phase("compile"))
    assemble = _phase("assemble")
    for name in ("assemble_matrix", "assemble_vector", "apply_lifting", "insert_diagonal"):
        _wrap(cpp.fem, name, assemble)
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
        _wrap(cpp.fem.petsc, name, assemble)
    for cls in (dolfinx.fem.petsc.LinearProblem, dolfinx.fem.petsc.NonlinearProblem):
        _wrap(cls, "solve", _solve, _assembly_so_far)
    for name in ("write_mesh", "write_function", "write_meshtags"):
        _wrap(dolfinx.io.XDMFFile, name, _phase("output"))
    _wrap(meshfile, "_read_msh", _phase("mesh", wall=False))  # wall: runinfo.timed inside
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
