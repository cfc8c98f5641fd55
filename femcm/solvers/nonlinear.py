"""A checked Newton solve (PETSc SNES) over DOLFINx's ``NonlinearProblem``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import ufl
from dolfinx import fem
from dolfinx.fem.petsc import NonlinearProblem

from petsc4py import PETSc

from femcm.base.errors import SolveError
from femcm.base.log import logger
from femcm.solvers.linear import options_prefix
from femcm.solvers.nullspace import attach_near_nullspace
from femcm.solvers.options import DIRECT
from femcm.solvers.stats import SolverStats

__all__ = ["NEWTON_DEFAULTS", "NonlinearSolver"]

NEWTON_DEFAULTS: dict[str, Any] = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "bt",
    "snes_rtol": 1e-10,
    "snes_atol": 1e-12,
    "snes_stol": 0.0,
    "snes_max_it": 50,
    **DIRECT,
}
"""Newton with a backtracking line search, MUMPS LU; callers update it (None removes a key)."""


class NonlinearSolver:
    """Checked Newton (PETSc SNES) solve of ``F(u; v) = 0`` with the exact UFL Jacobian."""

    def __init__(
        self,
        F: ufl.Form,
        u: fem.Function,
        bcs: Sequence[fem.DirichletBC] = (),
        *,
        name: str,
        options: Mapping[str, Any] | None = None,
        J: ufl.Form | None = None,
        elasticity_space: fem.FunctionSpace | None = None,
        stats: SolverStats | None = None,
    ):
        self.name = name
        self.stats = stats if stats is not None else SolverStats()
        opts = dict(NEWTON_DEFAULTS)
        opts.update(options or {})
        opts = {k: v for k, v in opts.items() if v is not None}  # None removes a default
        if opts.get("pc_type") != "lu":  # MUMPS of the defaults is unused (PETSc warns at exit)
            opts.pop("pc_factor_mat_solver_type", None)
        self.problem = NonlinearProblem(
            F, u, bcs=list(bcs), J=J, petsc_options_prefix=options_prefix(name), petsc_options=opts
        )
        self.nullspace = attach_near_nullspace(self.problem.A, elasticity_space)
        self.problem.solver.setMonitor(self._monitor)

    def _monitor(self, snes: PETSc.SNES, it: int, norm: float) -> None:
        logger.debug("%s: Newton %d, residual %.3e", self.name, it, norm)

    @property
    def snes(self) -> PETSc.SNES:
        """The underlying SNES."""
        return self.problem.solver

    def _count(self) -> tuple[int, int]:
        snes = self.snes
        its = snes.getIterationNumber()
        self.stats.newton_iterations += its
        self.stats.linear_iterations += snes.getLinearSolveIterations()
        return snes.getConvergedReason(), its

    def step(self, count: int = 1) -> int:
        """Take ``count`` Newton steps (line search included) without a convergence test.

        For a fresh starting point before the real solve, e.g. after lifting Dirichlet values
        whose one-cell jump would otherwise dominate the relative stopping test. Raises
        ``SolveError`` on a non-finite residual; returns the iterations taken.
        """
        snes = self.snes
        max_it = snes.getTolerances()[3]
        snes.setTolerances(max_it=count)
        try:
            self.problem.solve()
        finally:
            snes.setTolerances(max_it=max_it)
        _, its = self._count()
        if not np.isfinite(snes.getFunctionNorm()):
            raise SolveError(f"{self.name}: Newton step gave a non-finite residual")
        return its

    def solve(self, raise_on_failure: bool = True) -> int:
        """Run Newton from the current state of ``u``; return the iteration count.

        On failure raises ``SolveError`` (or returns -1 when ``raise_on_failure`` is false, for
        callers that cut the time step and retry).
        """
        self.problem.solve()
        reason, its = self._count()
        norm = self.snes.getFunctionNorm()
        if reason <= 0 or not np.isfinite(norm):
            msg = f"{self.name}: Newton did not converge (SNES reason {reason}, {its} iterations)"
            if raise_on_failure:
                self.stats.converged = False
                raise SolveError(msg)
            logger.info(msg)
            return -1
        logger.info("%s: Newton converged in %d iterations, residual %.3e", self.name, its, norm)
        return its
