"""Rigid-body modes of a displacement space, as the near-nullspace that GAMG needs."""

from __future__ import annotations

import numpy as np
from dolfinx import fem, la
from dolfinx.la.petsc import create_vector_wrap

from petsc4py import PETSc

__all__ = ["NearNullSpace", "attach_near_nullspace", "rigid_body_modes"]


def rigid_body_modes(V: fem.FunctionSpace) -> list[la.Vector]:
    """Orthonormal translations and rotations of the vector space V (``dolfinx.la`` vectors)."""
    gdim = V.mesh.geometry.dim
    x = V.tabulate_dof_coordinates()
    rotations = [(0, 1)] if gdim == 2 else [(0, 1), (1, 2), (2, 0)]
    vecs = [la.vector(V.dofmap.index_map, V.dofmap.index_map_bs) for _ in range(gdim)]
    vecs += [la.vector(V.dofmap.index_map, V.dofmap.index_map_bs) for _ in rotations]
    for d in range(gdim):
        vecs[d].array.reshape(-1, gdim)[:, d] = 1.0
    for v, (i, j) in zip(vecs[gdim:], rotations, strict=True):
        m = v.array.reshape(-1, gdim)
        m[:, i] = -x[:, j]
        m[:, j] = x[:, i]
    la.orthonormalize(vecs)
    return vecs


class NearNullSpace:
    """The rigid-body near-nullspace of V as a PETSc ``NullSpace`` (keeps its vectors alive)."""

    def __init__(self, V: fem.FunctionSpace):
        self.modes = rigid_body_modes(V)
        self._vecs = [create_vector_wrap(m) for m in self.modes]
        self.petsc = PETSc.NullSpace().create(vectors=self._vecs, comm=V.mesh.comm)

    def attach(self, A: PETSc.Mat) -> None:
        """Give the operator its near-nullspace (read by GAMG)."""
        A.setNearNullSpace(self.petsc)

    def owned_values(self) -> list[np.ndarray]:
        """Each mode's owned entries (for block preconditioners that restrict to a sub-block)."""
        return [np.asarray(v.getArray(readonly=True)) for v in self._vecs]


def attach_near_nullspace(A: PETSc.Mat, V: fem.FunctionSpace | None) -> NearNullSpace | None:
    """Attach the rigid-body near-nullspace of V to A (None: nothing); keep the result alive."""
    if V is None:
        return None
    ns = NearNullSpace(V)
    ns.attach(A)
    return ns
