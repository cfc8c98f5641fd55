"""What the time-step driver needs from a time-dependent model.

:class:`Evolution`: one implicit step of a given size from the last accepted state, judged
and accepted or rolled back. :class:`MultistepEvolution` adds what error-controlled BDF needs:
the scheme of the next step, and the values and quadrature weights of the monitored unknown.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from mpi4py import MPI

from femcm.solvers.bdf import Scheme

__all__ = ["Change", "Evolution", "MultistepEvolution"]


class Change(NamedTuple):
    """How much the monitored quantity changed in one accepted step (global values)."""

    largest: float
    """Max |Δ| over the dofs."""
    rms: float
    """Root mean square of Δ over the dofs."""

    @classmethod
    def of(cls, delta: np.ndarray, comm: MPI.Comm) -> Change:
        """Max and RMS of the owned changes ``delta`` over all ranks."""
        largest = comm.allreduce(float(np.abs(delta).max(initial=0.0)), op=MPI.MAX)
        sq, n = comm.allreduce(np.array([delta @ delta, len(delta)], float), op=MPI.SUM)
        return cls(largest, float(np.sqrt(sq / max(n, 1))))


class Evolution(Protocol):
    """What the driver needs from a time-dependent problem."""

    def solve_step(self, t_new: float, dt: float) -> int:
        """Solve for the state at ``t_new`` from the last accepted one; Newton its or -1."""
        ...

    def admissible(self) -> bool:
        """Whether the just-solved state is acceptable (collective)."""
        ...

    def accept(self) -> Change:
        """Make the solved state the last accepted one; return its change (collective)."""
        ...

    def reject(self) -> None:
        """Restore the last accepted state."""
        ...


class MultistepEvolution(Protocol):
    """An :class:`Evolution` that also takes BDF steps and shows its monitored unknown."""

    comm: MPI.Comm

    def set_scheme(self, scheme: Scheme) -> None:
        """Coefficients of the next ``solve_step`` (``accept`` shifts the history)."""
        ...

    def monitored(self) -> np.ndarray:
        """Owned values of the error-controlled unknown in the current state (a copy)."""
        ...

    def monitored_weights(self) -> np.ndarray:
        """Owned quadrature weights of those values (the norm's lumped mass)."""
        ...

    def solve_step(self, t_new: float, dt: float) -> int: ...  # noqa: D102

    def admissible(self) -> bool: ...  # noqa: D102

    def accept(self) -> Change: ...  # noqa: D102

    def reject(self) -> None: ...  # noqa: D102
