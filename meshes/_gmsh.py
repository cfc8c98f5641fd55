"""Shared gmsh plumbing: a rank-0 session, size fields, conversion to DOLFINx, a mesh cache.

:func:`cached` (from :mod:`femcm.meshes._cache`) makes a builder ``f(comm, *geometry) ->
MeshData`` reuse its meshes across runs, keyed by the builder, every geometry argument and the
gmsh/DOLFINx versions, so a changed geometry parameter (or builder) never reuses a stale mesh.
The run's ``result.json`` says ``mesh.cache``: "hit", "miss" or "off".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import gmsh
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.base import interrupt
from femcm.meshes import _meshdata
from femcm.meshes._cache import cached, record

__all__ = [
    "cached",
    "distance_size_field",
    "refine_near",
    "session",
    "to_dolfinx",
    "use_size_fields",
    "write_msh",
]


@contextlib.contextmanager
def session(name: str, comm: MPI.Comm) -> Iterator[bool]:
    """Initialise gmsh (quiet, default options) on every rank; yields True on rank 0.

    Rank 0 builds the model. Every session starts from gmsh's default options, so a mesh
    does not depend on which builders ran before it in the same process.
    """
    if not gmsh.isInitialized():
        gmsh.initialize(interruptible=False)
        interrupt.reinstall()  # gmsh's library replaces the SIGTERM handler
    # Options outlive gmsh.clear(): without this, one builder's settings (algorithm, size
    # fields from points, threads) would change the next builder's mesh in the same process.
    gmsh.option.restoreDefaults()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.Verbosity", 0)
    gmsh.clear()
    gmsh.model.add(name)
    try:
        yield comm.rank == 0
    finally:
        gmsh.clear()


def refine_near(
    h_min: float,
    h_max: float,
    d_min: float,
    d_max: float,
    *,
    points: Sequence[int] = (),
    curves: Sequence[int] = (),
    surfaces: Sequence[int] = (),
    sampling: int | None = None,
    field: int | None = None,
) -> int:
    """A Threshold field: size h_min within d_min of the entities, growing linearly to h_max.

    The size reaches h_max at the distance d_max.

    The distance is to the given points, curves and surfaces (a Distance field sampling each
    curve/surface ``sampling`` times), or, with ``field``, the value of that existing field.
    Returns the field tag, for :func:`use_size_fields`.
    """
    f = gmsh.model.mesh.field
    if field is None:
        field = f.add("Distance")
        lists = (("PointsList", points), ("CurvesList", curves), ("SurfacesList", surfaces))
        for key, tags in lists:
            if tags:
                f.setNumbers(field, key, list(tags))
        if sampling is not None:
            f.setNumber(field, "Sampling", sampling)
    thr = f.add("Threshold")
    f.setNumber(thr, "InField", field)
    f.setNumber(thr, "SizeMin", h_min)
    f.setNumber(thr, "SizeMax", h_max)
    f.setNumber(thr, "DistMin", d_min)
    f.setNumber(thr, "DistMax", d_max)
    return thr


def use_size_fields(fields: Sequence[int]) -> None:
    """Mesh by the smallest of ``fields`` (none: by the global sizes alone).

    The sizes from the points, the boundary and the curvature are switched off, so the fields
    (and ``Mesh.MeshSizeMax``) alone set the size.
    """
    f = gmsh.model.mesh.field
    if len(fields) == 1:
        f.setAsBackgroundMesh(fields[0])
    elif fields:
        smallest = f.add("Min")
        f.setNumbers(smallest, "FieldsList", list(fields))
        f.setAsBackgroundMesh(smallest)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)


def distance_size_field(
    curves: list[int], h_min: float, h_max: float, d_min: float, d_max: float, dim: int = 1
) -> None:
    """Mesh size h_min within d_min of the given curves (or surfaces), growing to h_max at d_max."""
    entities = {"curves": curves} if dim == 1 else {"surfaces": curves}
    use_size_fields([refine_near(h_min, h_max, d_min, d_max, sampling=200, **entities)])


def to_dolfinx(comm: MPI.Comm, gdim: int, unit: float = 1.0) -> gmshio.MeshData:
    """Distribute the current gmsh model (built on rank 0) as a DOLFINx mesh with tags.

    Models are built in a convenient length unit (µm, nm: gmsh's geometric tolerances are
    absolute, about 1e-7) and scaled to metres here by ``unit``.

    The model's arrays are taken on rank 0 (:func:`femcm.meshes._meshdata.extract`) and
    distributed by :func:`femcm.meshes._meshdata.distribute` (cell tags by original cell index,
    not by a search as in ``dolfinx.io.gmsh.model_to_mesh``: the same mesh and tags, 1/4 of
    its time at 10⁶ DOFs); a :func:`cached` builder stores those arrays.
    """
    found = None
    if comm.rank == 0:
        try:
            found = _meshdata.extract(gmsh.model, gdim, unit)
        except RuntimeError as err:
            found = str(err)
    meta = comm.bcast(found[0] if isinstance(found, tuple) else found, root=0)
    if isinstance(meta, str):
        raise RuntimeError(meta)
    arrays = found[1] if comm.rank == 0 else None
    record(meta, arrays)
    return _meshdata.distribute(comm, meta, arrays)


def write_msh(path: Path, unit: float = 1.0) -> None:
    """Write the current gmsh mesh to ``path`` (.msh 4.1), node coordinates scaled to metres."""
    gmsh.model.mesh.affineTransform([unit, 0, 0, 0, 0, unit, 0, 0, 0, 0, unit, 0])
    gmsh.write(str(path))
