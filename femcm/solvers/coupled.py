"""The Newton solver of a coupled c–μ(–u) system: options, bounds on c, block preconditioner.

A model hands over its residual, its state, which dofs are bounded (c) and, for an iterative
solve with a displacement block, the blocks; everything PETSc is decided here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import ufl
from dolfinx import fem

from mpi4py import MPI
from petsc4py import PETSc

from femcm.base.errors import InputError, check_range
from femcm.base.log import logger
from femcm.solvers.bounds import Bounds, FractionToBoundary, variable_bounds
from femcm.solvers.fieldsplit import GMRES, BlockSolver, one_level_asm
from femcm.solvers.nonlinear import NonlinearSolver
from femcm.solvers.options import DIRECT, SolverChoice
from femcm.solvers.stats import SolverStats

__all__ = ["Blocks", "CoupledNewton", "SolverOptions"]


def _choice(enum_type, name: str, value):
    try:
        return enum_type(value)
    except ValueError:
        raise InputError(
            f"parameter {name} = {value!r} is not allowed: must be one of {', '.join(enum_type)}"
        ) from None


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """Newton and linear-solver settings of the coupled solve."""

    linear_solver: SolverChoice = SolverChoice.DIRECT
    """``direct`` (MUMPS LU) or ``iterative``: GMRES, preconditioned without mechanics by
    ASM/ILU(0), with mechanics by a multiplicative fieldsplit: LU (MUMPS) of the c–μ block,
    then GAMG with the rigid-body near-nullspace on u (the large block in 3D)."""
    bounds: Bounds = Bounds.DAMPED
    """How c is kept in (0, 1): ``damped`` (safeguarded log, Newton steps shortened to stay
    inside), ``log`` (safeguarded log, inadmissible results rejected) or ``vi`` (SNES VI)."""
    rtol: float = 1e-9
    atol: float = 1e-10
    max_it: int = 25
    vi_margin: float = 1e-10
    """Distance of the VI bounds from 0 and 1."""
    fraction_to_boundary: float = 0.9
    """``damped``: a Newton step moves c at most this fraction of the way to 0 or 1."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "linear_solver", _choice(SolverChoice, "linear_solver", self.linear_solver)
        )
        object.__setattr__(self, "bounds", _choice(Bounds, "bounds", self.bounds))
        check_range("rtol", self.rtol, gt=0.0, lt=1.0)
        check_range("atol", self.atol, gt=0.0)
        check_range("max_it", self.max_it, ge=1)
        check_range("fraction_to_boundary", self.fraction_to_boundary, gt=0.0, lt=1.0)

    def petsc(self, blocks: bool) -> dict[str, Any]:
        """The SNES/KSP/PC options (``blocks``: a displacement block is present)."""
        opts: dict[str, Any] = {
            "snes_rtol": self.rtol,
            "snes_atol": self.atol,
            "snes_max_it": self.max_it,
            "snes_linesearch_type": "basic",
            **DIRECT,
        }
        if self.bounds is Bounds.VI:
            opts["snes_type"] = "vinewtonrsls"
        if self.linear_solver is SolverChoice.ITERATIVE:
            opts |= GMRES | {"pc_type": "fieldsplit" if blocks else "asm"}
        return opts


@dataclasses.dataclass(frozen=True, eq=False)
class Blocks:
    """The c–μ / u split of a mixed space, for the iterative block preconditioner."""

    first: np.ndarray
    """Owned local indices of the c and μ dofs."""
    u_space: tuple[fem.FunctionSpace, np.ndarray]
    """Collapsed displacement space and its dofs' local indices in the mixed space."""
    probe: fem.Function
    """An admissible state at which the Jacobian is assembled for the set-up."""


class CoupledNewton:
    """SNES Newton on a mixed state with bounded dofs; MUMPS, or GMRES with ASM / fieldsplit."""

    def __init__(
        self,
        F: ufl.Form,
        w: fem.Function,
        bcs: Sequence[fem.DirichletBC],
        options: SolverOptions,
        *,
        bounded: np.ndarray,
        blocks: Blocks | None = None,
        name: str,
        stats: SolverStats,
    ):
        self.options = options
        comm: MPI.Comm = w.function_space.mesh.comm
        self.solver = NonlinearSolver(
            F, w, bcs, name=name, options=options.petsc(blocks is not None), stats=stats
        )
        snes = self.solver.snes
        self._keep: Any = None
        if options.bounds is Bounds.VI:
            self._keep = variable_bounds(snes, self.solver.problem.x, bounded, options.vi_margin)
        elif options.bounds is Bounds.DAMPED:
            self._keep = FractionToBoundary(bounded, comm, options.fraction_to_boundary, name)
            self._keep.attach(snes)
        self.blocks = None
        if options.linear_solver is SolverChoice.ITERATIVE:
            if blocks is None:
                one_level_asm(self.solver)
            else:
                self.blocks = BlockSolver(
                    self.solver, w.function_space, blocks.first, blocks.u_space, blocks.probe
                )

    def solve(self) -> int:
        """Newton from the current state; iterations, or -1 on failure (also a PETSc error)."""
        try:
            return self.solver.solve(raise_on_failure=False)
        except PETSc.Error as exc:  # e.g. a zero pivot on a wild iterate
            logger.info("%s: PETSc error %s", self.solver.name, exc)
            return -1
