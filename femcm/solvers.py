"""A thin, checked layer over DOLFINx's PETSc ``LinearProblem`` and ``NonlinearProblem``.

Each solver gets a unique options prefix (never the global options database), defaults that
callers update with a dict, a convergence check that raises :class:`SolveError`, and
iteration counts accumulated in a :class:`SolverStats`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import ufl
from dolfinx import fem
from dolfinx.fem.petsc import LinearProblem, NonlinearProblem

from petsc4py import PETSc

from femcm.elasticity import rigid_body_modes
from femcm.log import logger
from femcm.params import InputError

__all__ = [
    "DIRECT",
    "LinearSolver",
    "NonlinearSolver",
    "SolveError",
    "SolverStats",
    "linear_options",
    "near_nullspace",
]


class SolveError(RuntimeError):
    """A linear or nonlinear solve did not converge."""


@dataclasses.dataclass
class SolverStats:
    """Totals reported in ``result.json`` under ``solver``."""

    time_steps: int = 0
    newton_iterations: int = 0
    linear_iterations: int = 0
    converged: bool = True
    wall_time_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return dataclasses.asdict(self)


DIRECT: dict[str, Any] = {
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
}
"""MUMPS LU."""

_ITERATIVE_ELASTICITY: dict[str, Any] = {
    "ksp_type": "cg",
    "ksp_rtol": 1e-12,
    "ksp_atol": 1e-30,
    "ksp_max_it": 2000,
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "pc_gamg_coarse_eq_limit": 1000,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}

_ITERATIVE_SCALAR: dict[str, Any] = {
    "ksp_type": "cg",
    "ksp_rtol": 1e-12,
    "ksp_atol": 1e-30,
    "ksp_max_it": 2000,
    "pc_type": "gamg",
}


def linear_options(kind: str, elasticity: bool = False) -> dict[str, Any]:
    """Default KSP options: ``"mumps"`` (direct) or ``"gamg"`` (CG + smoothed aggregation)."""
    if kind == "mumps":
        return dict(DIRECT)
    if kind == "gamg":
        return dict(_ITERATIVE_ELASTICITY if elasticity else _ITERATIVE_SCALAR)
    raise InputError(f"parameter linear_solver = {kind!r} is not allowed: must be mumps or gamg")


_prefixes = itertools.count()


def _prefix(name: str) -> str:
    # Same sequence on every rank as long as solvers are created collectively.
    return f"femcm_{name}_{next(_prefixes)}_"


def near_nullspace(A: PETSc.Mat, V: fem.FunctionSpace) -> PETSc.NullSpace:
    """Orthonormal rigid-body near-nullspace of the vector space V, attached to A for GAMG."""
    n_owned = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
    vecs = []
    for mode in rigid_body_modes(V):
        v = A.createVecLeft()
        v.array[:] = mode[:n_owned]
        for w in vecs:
            v.axpy(-v.dot(w), w)
        v.normalize()
        vecs.append(v)
    ns = PETSc.NullSpace().create(vectors=vecs, comm=A.comm)
    A.setNearNullSpace(ns)
    return ns


class LinearSolver:
    """Checked linear solve of ``a(u, v) = L(v)``."""

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
            petsc_options_prefix=_prefix(name),
            petsc_options=dict(options) if options is not None else dict(DIRECT),
        )
        if elasticity_space is not None:
            self._ns = near_nullspace(self.problem.A, elasticity_space)

    def solve(self) -> fem.Function:
        """Assemble and solve; raise :class:`SolveError` if the KSP did not converge."""
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


NEWTON_DEFAULTS: dict[str, Any] = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "bt",
    "snes_rtol": 1e-10,
    "snes_atol": 1e-12,
    "snes_stol": 0.0,
    "snes_max_it": 50,
    **DIRECT,
}


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
        self.problem = NonlinearProblem(
            F, u, bcs=list(bcs), J=J, petsc_options_prefix=_prefix(name), petsc_options=opts
        )
        if elasticity_space is not None:
            self._ns = near_nullspace(self.problem.A, elasticity_space)
        self.problem.solver.setMonitor(self._monitor)

    def _monitor(self, snes: PETSc.SNES, it: int, norm: float) -> None:
        logger.debug("%s: Newton %d, residual %.3e", self.name, it, norm)

    @property
    def snes(self) -> PETSc.SNES:
        """The underlying SNES."""
        return self.problem.solver

    def step(self, count: int = 1) -> int:
        """Take ``count`` Newton steps (line search included) without a convergence test.

        For a fresh starting point before the real solve, e.g. after lifting Dirichlet values
        whose one-cell jump would otherwise dominate the relative stopping test. Raises
        :class:`SolveError` on a non-finite residual; returns the iterations taken.
        """
        snes = self.snes
        max_it = snes.getTolerances()[3]
        snes.setTolerances(max_it=count)
        try:
            self.problem.solve()
        finally:
            snes.setTolerances(max_it=max_it)
        its = snes.getIterationNumber()
        self.stats.newton_iterations += its
        self.stats.linear_iterations += snes.getLinearSolveIterations()
        if not np.isfinite(snes.getFunctionNorm()):
            raise SolveError(f"{self.name}: Newton step gave a non-finite residual")
        return its

    def solve(self, raise_on_failure: bool = True) -> int:
        """Run Newton from the current state of ``u``; return the iteration count.

        On failure raises :class:`SolveError` (or returns -1 when ``raise_on_failure`` is
        false, for callers that cut the time step and retry).
        """
        self.problem.solve()
        snes = self.snes
        reason = snes.getConvergedReason()
        its = snes.getIterationNumber()
        self.stats.newton_iterations += its
        self.stats.linear_iterations += snes.getLinearSolveIterations()
        if reason <= 0 or not np.isfinite(snes.getFunctionNorm()):
            msg = f"{self.name}: Newton did not converge (SNES reason {reason}, {its} iterations)"
            if raise_on_failure:
                self.stats.converged = False
                raise SolveError(msg)
            logger.info(msg)
            return -1
        logger.info(
            "%s: Newton converged in %d iterations, residual %.3e",
            self.name,
            its,
            snes.getFunctionNorm(),
        )
        return its
