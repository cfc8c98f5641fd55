"""Point evaluation of functions in parallel: the same array on every rank."""

from __future__ import annotations

import numpy as np
from dolfinx import fem, geometry, mesh

from mpi4py import MPI

from femcm.fem.geometry import bounding_box

__all__ = ["probe"]


def probe(f: fem.Function | fem.Expression, points: np.ndarray) -> np.ndarray:
    """Values of ``f`` at ``points`` (shape (N, 3) or (N, gdim), metres).

    Returns an array of shape (N,) for scalars or (N, value_size) otherwise, identical on every
    rank; points outside the mesh give NaN. Each point is evaluated by the lowest rank that
    holds a cell containing it, so the result does not depend on the partition.
    """
    msh = f.function_space.mesh
    comm = msh.comm
    pts = np.zeros((len(points), 3))
    p_in = np.asarray(points, dtype=float).reshape(len(points), -1)
    pts[:, : p_in.shape[1]] = p_in
    tdim = msh.topology.dim
    lo, hi = bounding_box(msh)
    tree = geometry.bb_tree(msh, tdim, padding=1e-12 * float(np.linalg.norm(hi - lo)))
    candidates = geometry.compute_collisions_points(tree, pts)
    colliding = geometry.compute_colliding_cells(msh, candidates, pts)
    vs = f.function_space.value_size
    found = np.zeros(len(pts), dtype=np.int32)
    cells = np.full(len(pts), -1, dtype=np.int32)
    # DOLFINx's collision test (GJK) works to an absolute tolerance (about 1e-9 m), so on a
    # nanometre mesh every nearby candidate "collides": take the candidate in which the point
    # lies deepest, by its reference coordinates (pull-back through the coordinate element).
    cmap = msh.geometry.cmaps[0]
    simplex = msh.topology.cell_type in (mesh.CellType.triangle, mesh.CellType.tetrahedron)
    xg, dofmap, gdim = msh.geometry.x, msh.geometry.dofmaps[0], msh.geometry.dim
    for i in range(len(pts)):
        links = colliding.links(i)
        if len(links) == 0:
            continue
        best, depth = links[0], -np.inf
        for cell in links:
            X = cmap.pull_back(pts[i : i + 1, :gdim], xg[dofmap[cell], :gdim])[0]
            d = min(X.min(), 1 - X.sum()) if simplex else min(X.min(), (1 - X).min())
            if d > depth:
                best, depth = cell, d
        if depth > -1e-8:  # inside, to rounding in reference coordinates
            found[i] = 1
            cells[i] = best
    # Lowest rank that found each point owns it.
    rank_or_big = np.where(found == 1, comm.rank, comm.size).astype(np.int32)
    owner = np.empty_like(rank_or_big)
    comm.Allreduce(rank_or_big, owner, op=MPI.MIN)
    mine = np.flatnonzero(owner == comm.rank)
    values = np.zeros((len(pts), vs))
    if len(mine) > 0:
        values[mine] = f.eval(pts[mine], cells[mine]).reshape(len(mine), vs)
    total = np.empty_like(values)
    comm.Allreduce(values, total, op=MPI.SUM)
    total[owner == comm.size] = np.nan
    return total[:, 0] if vs == 1 else total
