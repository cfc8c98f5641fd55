"""Guards that stop a run early and cleanly: size estimates, and errors that end every rank.

**Size.** A problem module may define ``estimate(p) -> SizeEstimate`` (cells, DOFs, bytes,
from the parameters alone, before any meshing). :func:`check_size` refuses the run with a
one-line :class:`InputError` naming the parameter when the estimate exceeds the memory
available on this machine or the ``max_dofs`` setting (``femcm run --max-dofs N``,
``femcm.run(..., max_dofs=N)``). The helpers :func:`triangles`, :func:`graded_band` and
:func:`lagrange_nodes` give the counts of 2D meshes with a uniform or graded element size.

**Errors under MPI.** An exception on one rank while the others wait in a collective call
would hang them. :func:`all_failed` decides, with a non-blocking barrier on a private
communicator and a deadline, whether every rank failed (then each raises and rank 0 prints
one line) or only some (then the failing rank prints the line itself, removes the staging
folder and ends the whole job with :func:`exit_now`, so that ``mpirun`` stops the others).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from typing import NoReturn

from mpi4py import MPI

from femcm.base import interrupt
from femcm.base.errors import InputError, SolveError

__all__ = [
    "BYTES_PER_DOF",
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_SOLVE_FAILED",
    "FAILURE_DEADLINE",
    "SizeEstimate",
    "all_failed",
    "available_memory",
    "check_size",
    "describe",
    "exit_now",
    "graded_band",
    "lagrange_nodes",
    "triangles",
]

EXIT_INTERNAL = 1
"""Exit status of an unexpected error (a bug: the traceback is printed once)."""

EXIT_BAD_INPUT = 2
"""Exit status of bad input (:class:`InputError`): parameters, files, sizes."""

EXIT_SOLVE_FAILED = 3
"""Exit status of a failed solve (:class:`SolveError`) or running out of memory."""

TRIANGLE_AREA = math.sqrt(3) / 4
"""Area of an equilateral triangle of unit edge: gmsh's triangles of size h have about h²·this."""

BYTES_PER_DOF = {"direct": 4000.0, "iterative": 2000.0}
"""Peak memory per degree of freedom, all ranks together, 2D, with a margin: measured 2.9 kB
per DOF for inclusion_mechanics with MUMPS (peak RSS 398 MB at 81 154 DOFs, 1072 MB at
317 554). Dominated by the LU factors for ``direct``."""

BASE_BYTES = 200e6
"""Memory of a process before any mesh (Python, DOLFINx, PETSc, MPI), per rank."""

FAILURE_DEADLINE = 2.0
"""Seconds a failing rank waits for the others to fail too before ending the job alone."""


@dataclasses.dataclass(frozen=True)
class SizeEstimate:
    """Estimated size of a run, from its parameters.

    Attributes:
        parameter: the parameter that sets the size (named in the refusal), e.g. ``mesh_size``.
        value: its value.
        cells: number of cells.
        dofs: degrees of freedom of the largest system solved.
        bytes: peak memory in bytes of all ranks together, without :data:`BASE_BYTES`.
    """

    parameter: str
    value: float
    cells: float
    dofs: float
    bytes: float


def triangles(area: float, h: float) -> float:
    """Triangles of size ``h`` (m) covering ``area`` (m²)."""
    return area / (TRIANGLE_AREA * h * h)


def graded_band(
    length: float, h_fine: float, h_coarse: float, d_fine: float, d_coarse: float
) -> float:
    """Extra triangles near a curve refined by gmsh's Distance + Threshold fields.

    The size is ``h_fine`` within ``d_fine`` of the curve (``length``, m), growing linearly to
    ``h_coarse`` at ``d_coarse``; both sides of the curve are counted.
    """
    if h_fine >= h_coarse:
        return 0.0
    fine = (
        2 * length * d_fine * (1 / (TRIANGLE_AREA * h_fine**2) - 1 / (TRIANGLE_AREA * h_coarse**2))
    )
    ramp = (d_coarse - d_fine) / (h_fine * h_coarse) - (d_coarse - d_fine) / h_coarse**2
    return fine + 2 * length * max(ramp, 0.0) / TRIANGLE_AREA


def lagrange_nodes(cells: float, degree: int, components: int = 1) -> float:
    """DOFs of a degree-``degree`` Lagrange field on ``cells`` triangles (k²/2 nodes per cell)."""
    return components * cells * max(degree, 1) ** 2 / 2


def available_memory() -> float:
    """Memory available on this machine in bytes (``MemAvailable``; the total as a fallback)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError):  # pragma: no cover - not Linux
        return math.inf


def check_size(
    est: SizeEstimate, ranks: int = 1, max_dofs: float | None = None, memory: float | None = None
) -> None:
    """Refuse a run whose estimate exceeds ``max_dofs`` or the available memory.

    Args:
        est: the problem's estimate.
        ranks: MPI ranks (each costs :data:`BASE_BYTES`).
        max_dofs: upper bound on the DOFs (None: no bound).
        memory: bytes available (None: :func:`available_memory`).

    Raises:
        InputError: one line naming ``est.parameter``.
    """
    head = (
        f"parameter {est.parameter} = {est.value:g} gives about {est.cells:.3g} cells and "
        f"{est.dofs:.3g} DOFs"
    )
    if max_dofs is not None and est.dofs > max_dofs:
        raise InputError(f"{head}: more than max_dofs = {max_dofs:.3g}")
    memory = available_memory() if memory is None else memory
    need = est.bytes + ranks * BASE_BYTES
    if not need <= memory:
        raise InputError(
            f"{head}, about {need / 2**30:.3g} GiB: more than the {memory / 2**30:.3g} GiB of "
            f"memory available"
        )


def describe(exc: BaseException) -> tuple[int, str]:
    """Exit status and one-line message for the exception that ended a run.

    A recorded signal wins over whatever exception it caused (a PETSc error raised around an
    interrupted callback): 128 + signal number, "interrupted (SIGINT)".
    """
    signum = exc.signum if isinstance(exc, interrupt.Interrupted) else interrupt.pending()
    if signum is None and isinstance(exc, KeyboardInterrupt):
        signum = 2
    if signum is not None:
        import signal

        return 128 + signum, f"interrupted ({signal.Signals(signum).name})"
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, InputError | FileNotFoundError):
        return EXIT_BAD_INPUT, first
    if isinstance(exc, SolveError):
        return EXIT_SOLVE_FAILED, first
    if isinstance(exc, MemoryError):
        return EXIT_SOLVE_FAILED, "out of memory: make the problem smaller (a larger mesh_size)"
    return EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {first}"


def all_failed(comm: MPI.Comm, deadline: float = FAILURE_DEADLINE) -> bool:
    """Called by a rank that failed: True if every rank of ``comm`` calls it within ``deadline``.

    ``comm`` must be a communicator used for nothing else (``Dup`` of the run's), so that the
    barrier cannot match a collective call of the ranks that did not fail.
    """
    if comm.size == 1:
        return True
    req = comm.Ibarrier()
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if req.Test():
            return True
        time.sleep(0.005)
    return bool(req.Test())


def exit_now(status: int, message: str | None) -> NoReturn:
    """Print ``message`` (one line, this rank) and end the process at once with ``status``.

    Under ``mpirun`` the launcher then stops the other ranks. Used only when a rank failed
    alone (see :func:`all_failed`): the usual exit would wait for the others forever.
    """
    if message:
        print(f"femcm: error: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(status)
