"""Dirichlet boundary-condition builders for vector and scalar spaces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from dolfinx import fem, mesh

from mpi4py import MPI

__all__ = ["fix_component", "pin_point", "zero_off_facets"]


def fix_component(
    V: fem.FunctionSpace, facet_tags: mesh.MeshTags, tag: int, comp: int, value: float = 0.0
) -> fem.DirichletBC:
    """u[comp] = value on the facets tagged ``tag`` (e.g. a roller)."""
    msh = V.mesh
    facets = facet_tags.find(tag)
    dofs = fem.locate_dofs_topological(V.sub(comp), msh.topology.dim - 1, facets)
    return fem.dirichletbc(np.float64(value), dofs, V.sub(comp))


def pin_point(
    V: fem.FunctionSpace, point: Sequence[float], comps: Sequence[int]
) -> list[fem.DirichletBC]:
    """u[comp] = 0 at the mesh vertex nearest to ``point`` (removes rigid modes, adds no stress).

    The vertex is chosen globally (smallest distance, ties to the lowest rank), so exactly one
    dof per component is constrained whatever the partition.
    """
    msh = V.mesh
    p = np.zeros(3)
    p[: len(point)] = point
    V1 = fem.functionspace(msh, ("Lagrange", 1))
    xs = V1.tabulate_dof_coordinates()[: V1.dofmap.index_map.size_local]
    d = np.linalg.norm(xs - p, axis=1) if len(xs) else np.array([np.inf])
    i = int(np.argmin(d))
    best = msh.comm.allreduce((float(d[i]), msh.comm.rank), op=MPI.MINLOC)
    target = msh.comm.bcast(xs[i] if msh.comm.rank == best[1] else None, root=best[1])
    extent = msh.comm.allreduce(float(np.ptp(xs, axis=0).max()) if len(xs) else 0.0, op=MPI.MAX)
    tol = 1e-9 * extent

    def marker(xx: np.ndarray) -> np.ndarray:
        return np.linalg.norm(xx.T - target, axis=1) < tol

    bcs = []
    for c in comps:
        Vc, _ = V.sub(c).collapse()
        dofs = fem.locate_dofs_geometrical((V.sub(c), Vc), marker)
        bcs.append(fem.dirichletbc(np.float64(0.0), dofs[0], V.sub(c)))
    return bcs


def zero_off_facets(V: fem.FunctionSpace, facets: np.ndarray) -> fem.DirichletBC:
    """Zero on every dof of the (sub)space V except those on ``facets``.

    Keeps an unknown that lives only on some boundary facets (e.g. an electrode current)
    well defined everywhere else.
    """
    msh = V.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim, tdim)
    msh.topology.create_connectivity(tdim - 1, tdim)
    ncells = msh.topology.index_map(tdim)
    cells = np.arange(ncells.size_local + ncells.num_ghosts, dtype=np.int32)
    every = fem.locate_dofs_topological(V, tdim, cells)
    kept = fem.locate_dofs_topological(V, tdim - 1, facets)
    off = np.setdiff1d(every, kept).astype(np.int32)
    return fem.dirichletbc(np.float64(0.0), off, V)
