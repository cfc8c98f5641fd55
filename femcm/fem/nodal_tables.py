"""Function values as tables keyed by node coordinates, the same on any number of ranks.

A checkpoint must be readable by a run on another number of ranks, where DOLFINx numbers the
degrees of freedom differently. The node coordinates do not change (the same mesh is built
again), so a function is saved as the table (coordinates, values) of its owned nodes, one
table per (collapsed) subspace of a mixed space, and read back by matching the coordinates of
the local nodes (owned and ghost) to the saved ones with a k-d tree.
"""

from __future__ import annotations

import numpy as np
from dolfinx import fem
from scipy.spatial import cKDTree

from mpi4py import MPI

from femcm.base.errors import InputError

__all__ = ["Table", "assign", "match", "owned_tables", "parts"]

Table = tuple[np.ndarray, np.ndarray]
"""(coordinates (n, 3), values (n, block size)) of n nodes."""


def parts(V: fem.FunctionSpace) -> list[tuple[fem.FunctionSpace, np.ndarray]]:
    """(collapsed space, indices into the parent's local array) of each subspace of ``V``.

    A space that is not mixed is its own single part (with the identity indices).
    """
    if V.num_sub_spaces == 0 or V.dofmap.index_map_bs > 1:
        n = (V.dofmap.index_map.size_local + V.dofmap.index_map.num_ghosts) * V.dofmap.index_map_bs
        return [(V, np.arange(n, dtype=np.int32))]
    out = []
    for i in range(V.num_sub_spaces):
        Vi, dofs = V.sub(i).collapse()
        out.append((Vi, np.asarray(dofs, np.int32).ravel()))
    return out


def owned_tables(f: fem.Function) -> list[Table]:
    """Coordinates and values of the owned nodes of each part of ``f`` (rank-local)."""
    tables = []
    for Vi, dofs in parts(f.function_space):
        n, bs = Vi.dofmap.index_map.size_local, Vi.dofmap.index_map_bs
        x = Vi.tabulate_dof_coordinates()[:n]
        tables.append((x.copy(), f.x.array[dofs[: n * bs]].reshape(n, bs).copy()))
    return tables


def match(saved: np.ndarray, here: np.ndarray, tol: float, comm: MPI.Comm, what: str) -> np.ndarray:
    """Index into ``saved`` of each point of ``here`` (collective; ``InputError`` on a misfit).

    ``tol`` is the largest allowed distance; a node of this mesh farther than that from every
    saved node, or as close to two of them, on any rank, means the checkpoint belongs to
    another mesh (or to one with coincident nodes, which coordinates cannot tell apart).
    """
    ok = True
    idx = np.zeros(len(here), dtype=np.int64)
    if len(here):
        if len(saved) == 0:
            ok = False
        else:
            k = 2 if len(saved) > 1 else 1
            dist, idx = cKDTree(saved).query(here, k=k)
            if k == 2:  # a second saved node as close: coincident nodes, no unique match
                ok = bool(dist[:, 0].max() <= tol and dist[:, 1].min() > tol)
                dist, idx = dist[:, 0], idx[:, 0]
            else:
                ok = bool(dist.max() <= tol)
    if not comm.allreduce(ok, op=MPI.LAND):
        raise InputError(f"checkpoint does not fit this mesh: no unique saved node for {what}")
    return idx


def assign(f: fem.Function, tables: list[Table], tol: float, what: str) -> None:
    """Set ``f`` (owned and ghost values) from saved tables of its parts (collective)."""
    comm = f.function_space.mesh.comm
    here = parts(f.function_space)
    if len(tables) != len(here):
        raise InputError(f"checkpoint does not fit this model: {what} has {len(tables)} parts")
    for (Vi, dofs), (xs, vs) in zip(here, tables, strict=True):
        bs = Vi.dofmap.index_map_bs
        if vs.shape[1] != bs:
            raise InputError(f"checkpoint does not fit this model: {what} has block size {bs}")
        idx = match(xs, Vi.tabulate_dof_coordinates(), tol, comm, what)
        f.x.array[dofs] = vs[idx].reshape(-1)
