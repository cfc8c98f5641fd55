"""Shared gmsh plumbing: a rank-0 session, size fields, conversion to DOLFINx."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import gmsh
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.base import interrupt

__all__ = ["distance_size_field", "session", "to_dolfinx", "write_msh"]


@contextlib.contextmanager
def session(name: str, comm: MPI.Comm) -> Iterator[bool]:
    """Initialise gmsh (quiet) on every rank; yields True on rank 0, which builds the model."""
    if not gmsh.isInitialized():
        gmsh.initialize(interruptible=False)
        interrupt.reinstall()  # gmsh's library replaces the SIGTERM handler
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.Verbosity", 0)
    gmsh.clear()
    gmsh.model.add(name)
    try:
        yield comm.rank == 0
    finally:
        gmsh.clear()


def distance_size_field(
    curves: list[int], h_min: float, h_max: float, d_min: float, d_max: float, dim: int = 1
) -> None:
    """Mesh size h_min within d_min of the given curves (or surfaces), growing to h_max at d_max."""
    f = gmsh.model.mesh.field
    dist = f.add("Distance")
    f.setNumbers(dist, "CurvesList" if dim == 1 else "SurfacesList", curves)
    f.setNumber(dist, "Sampling", 200)
    thr = f.add("Threshold")
    f.setNumber(thr, "InField", dist)
    f.setNumber(thr, "SizeMin", h_min)
    f.setNumber(thr, "SizeMax", h_max)
    f.setNumber(thr, "DistMin", d_min)
    f.setNumber(thr, "DistMax", d_max)
    f.setAsBackgroundMesh(thr)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)


def to_dolfinx(comm: MPI.Comm, gdim: int, unit: float = 1.0) -> gmshio.MeshData:
    """Distribute the current gmsh model (built on rank 0) as a DOLFINx mesh with tags.

    Models are built in a convenient length unit (µm, nm: gmsh's geometric tolerances are
    absolute, about 1e-7) and scaled to metres here by ``unit``.
    """
    data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=gdim)
    data.mesh.geometry.x[:] *= unit
    return data


def write_msh(path: Path, unit: float = 1.0) -> None:
    """Write the current gmsh mesh to ``path`` (.msh 4.1), node coordinates scaled to metres."""
    gmsh.model.mesh.affineTransform([unit, 0, 0, 0, 0, unit, 0, 0, 0, 0, unit, 0])
    gmsh.write(str(path))
