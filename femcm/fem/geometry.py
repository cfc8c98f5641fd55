"""Global geometric facts of a distributed mesh (the same on every rank)."""

from __future__ import annotations

import numpy as np
from dolfinx import mesh

from mpi4py import MPI

__all__ = ["bounding_box"]


def bounding_box(msh: mesh.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) corners of the mesh's bounding box, length gdim, over all ranks."""
    gdim = msh.geometry.dim
    x = msh.geometry.x[:, :gdim]
    lo = x.min(axis=0) if len(x) else np.full(gdim, np.inf)
    hi = x.max(axis=0) if len(x) else np.full(gdim, -np.inf)
    glo, ghi = np.empty(gdim), np.empty(gdim)
    msh.comm.Allreduce(np.ascontiguousarray(lo), glo, op=MPI.MIN)
    msh.comm.Allreduce(np.ascontiguousarray(hi), ghi, op=MPI.MAX)
    return glo, ghi
