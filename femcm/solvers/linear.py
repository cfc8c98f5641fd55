"""A checked linear solve over DOLFINx's PETSc ``LinearProblem``.

Each solver gets a unique options prefix (never the global options database), options from
:mod:`femcm.solvers.options`, a convergence check that raises ``SolveError``, and iteration
counts accumulated in a :class:`~femcm.solvers.stats.SolverStats`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import ufl
from dolfinx import fem
from dolfinx.fem.petsc import LinearProblem

from femcm.base.errors import SolveError
from femcm.base.log import logger
from femcm.solvers.nullspace import attach_near_nullspace
from femcm.solvers.options import DIRECT
from femcm.solvers.stats import SolverStats

__all__ = ["LinearSolver", "options_prefix"]

_prefixes = itertools.count()


def options_prefix(name: str) -> str:
    """A unique PETSc options prefix (same sequence on every rank when created collectively)."""
    return f"femcm_{name}_{next(_prefixes)}_"


class LinearSolver:
    """Checked linear solve of ``a(u, v) = L(v)``.

    ``elasticity_space``: attach the rigid-body near-nullspace of that vector space (GAMG).
    """

    def __init__(
        self,
        a: ufl.Form,
        L: ufl.Form,
        u: fem.Function,
        bcs: Sequence[fem.DirichletBC] = (),
        *,
        name: str,
        options: Mapping[str, Any] | None = None,
        elasticity_space: fem.FunctionSpace | None = None,
        stats: SolverStats | None = None,
    ):
        self.name = name
        self.stats = stats if stats is not None else SolverStats()
        self.problem = LinearProblem(
            a,
            L,
            u=u,
            bcs=list(bcs),
            petsc_options_prefix=options_prefix(name),
            petsc_options=dict(options) if options is not None else dict(DIRECT),
        )
        self.nullspace = attach_near_nullspace(self.problem.A, elasticity_space)

    def solve(self) -> fem.Function:
        """Assemble and solve; raise ``SolveError`` if the KSP did not converge."""
        self.problem.solve()
        ksp = self.problem.solver
        reason = ksp.getConvergedReason()
        its = ksp.getIterationNumber()
        self.stats.linear_iterations += its
        if reason <= 0:
            self.stats.converged = False
            raise SolveError(f"{self.name}: linear solver did not converge (KSP reason {reason})")
        logger.info("%s: linear solve, %d iterations", self.name, its)
        return self.problem.u
