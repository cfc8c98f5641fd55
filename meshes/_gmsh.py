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
    "generate_2d",
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


def generate_2d(h_max: float, fields: Sequence[int] | None = None) -> None:
    """Mesh the 2D model with sizes up to ``h_max``: Frontal-Delaunay, one thread.

    ``fields``: the size fields to mesh by (:func:`use_size_fields`); None: as set before.

    Measured on ``plate_with_inclusions`` at 313 k triangles (bench_mesh_cache.py --options):
    Frontal-Delaunay (6) gives the best triangles (quality γ min/mean 0.67/0.991); Delaunay (5)
    is 20 % faster but worse (0.53/0.942, 12 % more cells), 8 and MeshAdapt are slower and
    worse; no smoothing is 30 % faster but worse (γ min 0.47); two threads are slower and the
    mesh then depends on the thread count, so a run on 1 and on 2 ranks would differ.
    """
    if fields is not None:
        use_size_fields(fields)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h_max)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.option.setNumber("Mesh.MaxNumThreads2D", 1)
    gmsh.model.mesh.generate(2)


def to_dolfinx(comm: MPI.Comm, gdim: int, unit: float = 1.0) -> gmshio.MeshData:
    """Distribute the current gmsh model (built on rank 0) as a DOLFINx mesh with tags.

    Models are built in a convenient length unit (µm, nm: gmsh's geometric tolerances are
    absolute, about 1e-7) and scaled to metres here by ``unit``.

    The model's arrays are taken on rank 0 (:func:`femcm.meshes._meshdata.extract`) and
    distributed by :func:`femcm.meshes._meshdata.distribute` (cell tags by original cell index,
    not by a search as in ``dolfinx.io.gmsh.model_to_mesh``): the same mesh and tags in
    1.3 s instead of 6.1 s at 313 k triangles (1.25 M P2 DOFs, unloaded machine). A
    :func:`cached` builder stores those arrays.
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
