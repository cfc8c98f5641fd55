"""Keeping a bounded unknown (a concentration in (0, 1)) inside its bounds during Newton.

Three ways, one :class:`Bounds` choice: ``damped`` shortens every Newton step so that no
bounded dof moves more than a fraction τ of its distance to a bound (the fraction-to-boundary
rule of interior-point methods); ``log`` leaves Newton alone (the logarithm of the free energy
is the barrier, the time-step driver rejects a state outside); ``vi`` hands the bounds to
PETSc's variational-inequality Newton (``vinewtonrsls``).
"""

from __future__ import annotations

import enum

import numpy as np

from mpi4py import MPI
from petsc4py import PETSc

from femcm.base.log import logger

__all__ = ["Bounds", "FractionToBoundary", "clip_step", "variable_bounds"]


class Bounds(enum.StrEnum):
    """How a bounded unknown is kept inside (lo, hi) in a Newton solve."""

    DAMPED = "damped"
    LOG = "log"
    VI = "vi"


def clip_step(x: np.ndarray, d: np.ndarray, tau: float, lo: float = 0.0, hi: float = 1.0):
    """Per-dof largest λ ≤ 1 with x + λ d at most the fraction τ of the way to lo or hi."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lim = np.where(d > 0, tau * (hi - x) / d, np.where(d < 0, tau * (x - lo) / -d, np.inf))
    return np.minimum(1.0, lim)


class FractionToBoundary:
    """SNES line-search pre-check: scale the whole Newton step x − y to keep dofs inside.

    ``idx`` are the local (owned) indices of the bounded dofs in the solution vector.
    """

    def __init__(self, idx: np.ndarray, comm: MPI.Comm, tau: float = 0.9, name: str = ""):
        self.idx, self.comm, self.tau, self.name = idx, comm, tau, name

    def __call__(self, x: PETSc.Vec, y: PETSc.Vec) -> None:
        """PETSc's pre-check: x the iterate, y the step (x_new = x − y)."""
        c, d = x.array_r[self.idx], -y.array_r[self.idx]
        local = float(clip_step(c, d, self.tau).min()) if len(c) else 1.0
        lam = self.comm.allreduce(local, op=MPI.MIN)
        if lam < 1.0:
            y.scale(lam)
            logger.debug("%s: Newton step damped by %.3e", self.name, lam)

    def attach(self, snes: PETSc.SNES) -> None:
        """Install as the line-search pre-check of ``snes``."""
        snes.setLineSearchPreCheck(self)


def variable_bounds(
    snes: PETSc.SNES, x: PETSc.Vec, idx: np.ndarray, margin: float
) -> tuple[PETSc.Vec, PETSc.Vec]:
    """Bounds [margin, 1 − margin] on the dofs ``idx`` for a VI SNES; others unbounded.

    Returns the two vectors (keep them alive as long as the solver).
    """
    lo, hi = x.duplicate(), x.duplicate()
    lo.set(-PETSc.INFINITY)
    hi.set(PETSc.INFINITY)
    lo.array[idx] = margin
    hi.array[idx] = 1.0 - margin
    snes.setVariableBounds(lo, hi)
    return lo, hi
