"""Shared gmsh plumbing: a rank-0 session, size fields, conversion to DOLFINx, a mesh cache.

:func:`cached` makes a builder ``f(comm, *geometry) -> MeshData`` reuse its meshes across runs:
the DOLFINx mesh and its tags are stored (XDMF/HDF5) under the cache folder of
:func:`femcm.base.runinfo.mesh_cache_dir`, keyed by the builder, its source, every geometry
argument and the gmsh/DOLFINx versions, so a changed geometry parameter (or builder) never
reuses a stale mesh. The run's ``result.json`` says ``mesh.cache``: "hit", "miss" or "off".
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import gmsh
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.base import interrupt, runinfo

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
    """
    data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=gdim)
    data.mesh.geometry.x[:] *= unit
    return data


def write_msh(path: Path, unit: float = 1.0) -> None:
    """Write the current gmsh mesh to ``path`` (.msh 4.1), node coordinates scaled to metres."""
    gmsh.model.mesh.affineTransform([unit, 0, 0, 0, 0, unit, 0, 0, 0, 0, unit, 0])
    gmsh.write(str(path))


_TAGS = ("cell_tags", "facet_tags", "ridge_tags", "peak_tags")


def _key(builder: Callable, bound: inspect.BoundArguments) -> str:
    """Hash of the builder (name and source file), its geometry arguments and the versions."""
    import dolfinx

    source = Path(inspect.getsourcefile(builder) or "")
    geometry = {k: v for k, v in bound.arguments.items() if k != "comm"}
    text = json.dumps(
        {
            "builder": f"{builder.__module__}.{builder.__qualname__}",
            "source": hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else "",
            "plumbing": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
            "geometry": geometry,
            "gmsh": gmsh.__version__,
            "dolfinx": dolfinx.__version__,
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _save(data: gmshio.MeshData, folder: Path, comm: MPI.Comm) -> None:
    """Write mesh, tags and physical groups into ``folder`` (collective; atomic by rename)."""
    from dolfinx import io

    tmp = None
    if comm.rank == 0:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent)
    tmp = Path(comm.bcast(tmp, root=0))
    msh = data.mesh
    names = {}
    with io.XDMFFile(comm, str(tmp / "mesh.xdmf"), "w") as xdmf:
        xdmf.write_mesh(msh)
        for attr in _TAGS:
            tags = getattr(data, attr)
            if tags is not None:
                tags.name = attr
                msh.topology.create_connectivity(tags.dim, msh.topology.dim)
                xdmf.write_meshtags(tags, msh.geometry)
                names[attr] = tags.dim
    if comm.rank == 0:
        groups = {k: [int(g.dim), int(g.tag)] for k, g in data.physical_groups.items()}
        (tmp / "meta.json").write_text(json.dumps({"tags": names, "groups": groups}))
        try:
            os.rename(tmp, folder)
        except OSError:  # another run stored the same mesh first
            shutil.rmtree(tmp, ignore_errors=True)


def _load(folder: Path, comm: MPI.Comm) -> gmshio.MeshData:
    """Read what :func:`_save` wrote (collective)."""
    from dolfinx import io

    meta = json.loads((folder / "meta.json").read_text()) if comm.rank == 0 else None
    meta = comm.bcast(meta, root=0)
    found = {}
    with io.XDMFFile(comm, str(folder / "mesh.xdmf"), "r") as xdmf:
        msh = xdmf.read_mesh(name="mesh")
        for attr, dim in meta["tags"].items():
            msh.topology.create_connectivity(dim, msh.topology.dim)
            found[attr] = xdmf.read_meshtags(msh, attr)
    groups = {k: gmshio.PhysicalGroup(dim, tag) for k, (dim, tag) in meta["groups"].items()}
    return gmshio.MeshData(msh, *(found.get(a) for a in _TAGS), physical_groups=groups)


def cached(builder: Callable[..., gmshio.MeshData]) -> Callable[..., gmshio.MeshData]:
    """Decorator: reuse the meshes of ``builder(comm, *geometry, **geometry)`` from the cache.

    Every argument but ``comm`` is a geometry parameter (part of the key). The time spent is
    recorded as the ``mesh`` timing, and ``mesh_cache`` ("hit", "miss", "off") as a note.
    """
    signature = inspect.signature(builder)

    @functools.wraps(builder)
    def wrapper(comm: MPI.Comm, *args, **kwargs) -> gmshio.MeshData:
        t0 = time.perf_counter()
        root = runinfo.mesh_cache_dir()
        if root is None:
            data, state = builder(comm, *args, **kwargs), "off"
        else:
            bound = signature.bind(comm, *args, **kwargs)
            bound.apply_defaults()
            folder = root / _key(builder, bound)
            hit = comm.bcast((folder / "meta.json").is_file() if comm.rank == 0 else None, 0)
            data = None
            if hit:
                try:
                    data, state = _load(folder, comm), "hit"
                except Exception:  # a damaged entry: build again (every rank fails alike)
                    data = None
            if data is None:
                data, state = builder(comm, *args, **kwargs), "miss"
                with contextlib.suppress(OSError):
                    _save(data, folder, comm)
        runinfo.add_time("mesh", comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
        runinfo.note("mesh_cache", state)
        return data

    return wrapper
