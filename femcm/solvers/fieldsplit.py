"""Iterative linear solvers of a coupled Newton solve: one-level ASM, or a two-block fieldsplit.

``iterative`` for a c–μ(–u) system: GMRES, preconditioned without a displacement block by
ASM(1)/ILU(0), with one by a multiplicative fieldsplit: LU (MUMPS) of the c–μ block, then
smoothed-aggregation GAMG with the rigid-body near-nullspace on u (the large block in 3D).

The fieldsplit is configured completely when it is built: PETSc creates the block solvers in
``PCSetUp``, which needs an assembled operator, so the Jacobian is assembled once at a given
admissible probe state, the blocks are set, and later solves reuse them (same sparsity).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dolfinx import fem

from petsc4py import PETSc

from femcm.solvers.nonlinear import NonlinearSolver
from femcm.solvers.nullspace import rigid_body_modes

__all__ = ["GMRES", "BlockSolver", "one_level_asm"]

GMRES: dict[str, Any] = {
    "ksp_type": "gmres",
    "ksp_rtol": 1e-8,
    "ksp_atol": 1e-14,
    "ksp_max_it": 500,
    "ksp_gmres_restart": 200,
    "pc_factor_mat_solver_type": None,  # drop the MUMPS default
}
"""Krylov options of the coupled iterative solve; add ``pc_type`` asm or fieldsplit."""


def one_level_asm(solver: NonlinearSolver) -> None:
    """ASM with one layer of overlap (ILU(0) on each block); needs ``pc_type = asm``."""
    solver.snes.getKSP().getPC().setASMOverlap(1)


def _global_is(W: fem.FunctionSpace, local: np.ndarray) -> PETSc.IS:
    imap = W.dofmap.index_map
    g = imap.local_to_global(np.sort(local).astype(np.int32))
    return PETSc.IS().createGeneral(g.astype(PETSc.IntType), comm=W.mesh.comm)


class BlockSolver:
    """Multiplicative fieldsplit: LU on block ``first``, GAMG with rigid-body modes on ``u``.

    ``first``: owned local indices (into the mixed space's array) of the first block (c and μ);
    ``u_space``: the collapsed displacement space and its dofs' local indices in the mixed
    space; ``probe``: an admissible state at which the Jacobian is assembled for the set-up
    (the solution function is restored afterwards). Needs ``pc_type = fieldsplit``.
    """

    def __init__(
        self,
        solver: NonlinearSolver,
        W: fem.FunctionSpace,
        first: np.ndarray,
        u_space: tuple[fem.FunctionSpace, np.ndarray],
        probe: fem.Function,
    ):
        Vu, umap = u_space
        n_owned = W.dofmap.index_map.size_local * W.dofmap.index_map_bs
        u_local = np.sort(umap[umap < n_owned])
        self.is_first = _global_is(W, first)
        self.is_u = _global_is(W, u_local)
        # rigid-body modes in the ordering of is_u (ascending local index = ascending global)
        pos = np.empty(n_owned + W.dofmap.index_map.num_ghosts * W.dofmap.index_map_bs, np.int64)
        pos[umap] = np.arange(len(umap))
        self.modes = []
        for m in rigid_body_modes(Vu):  # orthonormal; the u block holds exactly Vu's dofs
            v = PETSc.Vec().createMPI((len(u_local), PETSc.DECIDE), comm=W.mesh.comm)
            v.array[:] = m.array[pos[u_local]]
            self.modes.append(v)
        self.nullspace = PETSc.NullSpace().create(vectors=self.modes, comm=W.mesh.comm)
        self.is_u.compose("nearnullspace", self.nullspace)
        ksp = solver.snes.getKSP()
        pc = ksp.getPC()
        pc.setFieldSplitIS(("cmu", self.is_first), ("u", self.is_u))
        pc.setFieldSplitType(PETSc.PC.CompositeType.MULTIPLICATIVE)
        # the block solvers exist only after PCSetUp on an assembled operator
        u = solver.problem.u
        saved = u.x.array.copy()
        A = solver.problem.A
        solver.snes.computeJacobian(probe.x.petsc_vec, A, A)
        ksp.setOperators(A, A)
        pc.setUp()
        k_first, k_u = pc.getFieldSplitSubKSP()
        k_first.setType("preonly")
        k_first.getPC().setType("lu")
        k_first.getPC().setFactorSolverType("mumps")
        k_u.setType("preonly")
        k_u.getPC().setType("gamg")
        for k in (k_first, k_u):
            k.setFromOptions()
        u.x.array[:] = saved
