"""LLZTO block with a Li region grown into it from the plating electrode at z = 0 [S].

Siniscalchi et al., Energy Environ. Sci. 17 (2024) 2431, doi:10.1039/d3ee03916a: a
20 × 30 × 50 µm³ LLZTO block between the plating Li electrode (z = 0) and the counter
electrode (z = L_z). Li penetrates the electrolyte from z = 0 as

- :func:`hemi_ellipsoid`: a protrusion, the half (z > 0) of an ellipsoid with semi-axes
  (radius, radius, depth) centred on the interface (radius = depth: a hemisphere);
- :func:`inclined_crack`: a Li-filled spallation crack, a disk of radius R and opening t with
  a rounded rim (a flat cylinder of radius R − t/2 fused with a torus of tube radius t/2, so
  the tip radius is t/2), inclined by θ to the interface and reaching depth d below it
  (its deepest point is at z = d; its lower rim dips below z = 0, where it joins the Li);
- :func:`closed_surface`: any closed triangulated surface that meshio reads (STL, OBJ, PLY,
  VTK, ...), as [S] reconstructed theirs from FIB tomography. The part inside the block is Li.

The crack's geometry is in :mod:`femcm.meshes.spallation_crack`, the reading of surface files
in :mod:`femcm.meshes.surface_files`; this module cuts the feature from the block, names the
groups, sets the mesh size and meshes.

The Li region is removed from the mesh: only the electrolyte is meshed, and the whole
Li/electrolyte interface is a boundary (φ = 0 there).

:func:`flat` is the block without a feature (a flat interface, the uniform-field check).

Cells: ``electrolyte``. Facets: ``electrode`` (the flat part of the Li interface, z = 0),
``li_surface`` (the rest of the Li interface: protrusion or crack faces), ``counter``
(z = L_z), ``sides`` (the four side walls; with the Li feature centred on a wall or an edge
they are symmetry planes).

Mesh size: ``h_tip`` at the Li surface (for the crack: at its rim, the crack faces get
``max(h_tip, t/2)``), growing linearly with the distance at the rate ``growth`` up to ``h``.
Models are built in µm and returned in metres.

Run alone to write a ``.msh``: ``python meshes/spallation_block.py crack out.msh``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import gmsh
import numpy as np
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.base.errors import InputError
from femcm.meshes._gmsh import cached, refine_near, session, to_dolfinx, use_size_fields, write_msh
from femcm.meshes.spallation_crack import (
    check_crack,
    crack_geometry,
    crack_tip_distance,
    crack_volume,
)
from femcm.meshes.surface_files import read_surface, surface_volume, write_boss_stl

__all__ = [
    "BLOCK",
    "check_block",
    "check_crack",
    "closed_surface",
    "crack_geometry",
    "flat",
    "hemi_ellipsoid",
    "inclined_crack",
    "read_surface",
    "write_boss_stl",
]

BLOCK = (20e-6, 30e-6, 50e-6)
"""LLZTO block of [S]: x, y, z sizes (m); the plating electrode is z = 0."""

ELECTROLYTE = 1
ELECTRODE, LI_SURFACE, COUNTER, SIDES = 11, 12, 13, 14
UM = 1e-6


# -- block, groups and mesh -----------------------------------------------------------------


def _finish(
    block: Sequence[float],
    li: int | None,
    h: float,
    h_surface: float,
    growth: float,
    tip: tuple[str, float] | None = None,
) -> None:
    """Cut the Li volume from the block, name the groups, set the size field and mesh (µm)."""
    occ = gmsh.model.occ
    lx, ly, lz = block
    box = occ.addBox(0, 0, 0, lx, ly, lz)
    out, _ = occ.cut([(3, box)], [(3, li)]) if li is not None else ([(3, box)], None)
    occ.synchronize()
    if not out:
        raise InputError("the Li region fills the whole block")
    vols = [v for _, v in out]
    gmsh.model.addPhysicalGroup(3, vols, ELECTROLYTE, name="electrolyte")

    tol = 1e-3 * min(block)  # OCC bounding boxes carry a small margin
    groups: dict[int, list[int]] = {ELECTRODE: [], LI_SURFACE: [], COUNTER: [], SIDES: []}
    bnd = gmsh.model.getBoundary([(3, v) for v in vols], combined=True, oriented=False)
    for _, s in bnd:
        lo, hi = np.array(gmsh.model.getBoundingBox(2, s)).reshape(2, 3)
        if hi[2] - lo[2] < tol and abs(lo[2]) < tol:
            groups[ELECTRODE].append(s)
        elif hi[2] - lo[2] < tol and abs(lo[2] - lz) < tol:
            groups[COUNTER].append(s)
        elif any(
            hi[k] - lo[k] < tol and min(abs(lo[k]), abs(lo[k] - block[k])) < tol for k in (0, 1)
        ):
            groups[SIDES].append(s)
        else:
            groups[LI_SURFACE].append(s)
    if li is not None and not groups[LI_SURFACE]:
        raise InputError("the Li region does not enter the block (no Li surface inside it)")
    names = {ELECTRODE: "electrode", LI_SURFACE: "li_surface", COUNTER: "counter", SIDES: "sides"}
    for tag, ents in groups.items():
        if ents:
            gmsh.model.addPhysicalGroup(2, ents, tag, name=names[tag])

    def graded(h_min: float, **source) -> int:
        h_min = min(h_min, h)
        return refine_near(h_min, h, 0.0, max((h - h_min) / growth, 1e-12), **source)

    sizes = []
    if groups[LI_SURFACE]:
        sizes.append(graded(h_surface, surfaces=groups[LI_SURFACE], sampling=100))
    if tip is not None:
        expr, h_tip = tip
        rim = gmsh.model.mesh.field.add("MathEval")
        gmsh.model.mesh.field.setString(rim, "F", expr)
        sizes.append(graded(h_tip, field=rim))
    use_size_fields(sizes)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)  # Delaunay (HXT: 3x faster at 1e6 cells)
    gmsh.option.setNumber("Mesh.Optimize", 1)
    gmsh.model.mesh.generate(3)


def _collective(comm: MPI.Comm, build: Callable[[], None]) -> gmshio.MeshData:
    """Build the model on rank 0 (µm); a geometry error is raised on every rank."""
    with session("spallation_block", comm) as root:
        error = None
        if root:
            try:
                build()
            except InputError as err:
                error = str(err)
        error = comm.bcast(error, root=0)
        if error is not None:
            raise InputError(error)
        return to_dolfinx(comm, gdim=3, unit=UM)


def check_block(block: Sequence[float], centre: Sequence[float], depth: float) -> None:
    """Three positive block sizes, the feature centre on the interface, 0 < depth < L_z."""
    if len(block) != 3 or not all(b > 0 for b in block):
        raise InputError(f"parameter block = {tuple(block)!r} must be three positive sizes (m)")
    if len(centre) != 2 or not (0 <= centre[0] <= block[0] and 0 <= centre[1] <= block[1]):
        raise InputError(
            f"parameter centre = {tuple(centre)!r} is out of range: must lie in "
            f"[0, {block[0]:g}] x [0, {block[1]:g}] (m)"
        )
    if not 0 < depth < block[2]:
        raise InputError(
            f"parameter depth = {depth:g} is out of range: need 0 < depth < {block[2]:g} (m)"
        )


def _feature_centre(
    block: Sequence[float], centre: Sequence[float] | None, depth: float
) -> tuple[float, ...]:
    """The feature centre (default: the middle of the z = 0 face), checked with the block."""
    centre = (block[0] / 2, block[1] / 2) if centre is None else tuple(centre)
    check_block(block, centre, depth)
    return centre


def _um(values: Sequence[float]) -> list[float]:
    return [v / UM for v in values]


@cached
def flat(comm: MPI.Comm, h: float, block: Sequence[float] = BLOCK) -> gmshio.MeshData:
    """The block without a Li feature: a flat Li interface (no ``li_surface`` group)."""
    check_block(block, (0.0, 0.0), 0.5 * block[2])
    return _collective(comm, lambda: _finish(_um(block), None, h / UM, h / UM, 1.0))


def hemi_ellipsoid(
    comm: MPI.Comm, radius: float, depth: float, h: float, h_tip: float, **placement
) -> gmshio.MeshData:
    """Block with a hemi-ellipsoidal protrusion (semi-axes radius, radius, depth; metres).

    ``placement``: ``block`` (default :data:`BLOCK`), ``centre`` (default: the middle of the
    z = 0 face) and ``growth`` (0.3), as for every feature.
    """
    if not radius > 0:
        raise InputError(f"parameter radius = {radius:g} is out of range: must be > 0")
    return _feature(comm, "hemi_ellipsoid", (radius, depth), h, h_tip, **placement)


def inclined_crack(
    comm: MPI.Comm,
    radius: float,
    opening: float,
    inclination: float,
    depth: float,
    h: float,
    h_tip: float,
    **placement,
) -> gmshio.MeshData:
    """Block with an inclined Li-filled crack (metres; ``inclination`` in radians).

    ``placement`` as for :func:`hemi_ellipsoid`.
    """
    check_crack(radius, opening, inclination, depth)
    return _feature(comm, "crack", (radius, opening, inclination, depth), h, h_tip, **placement)


@cached
def _feature(
    comm: MPI.Comm,
    kind: str,
    shape: tuple[float, ...],
    h: float,
    h_tip: float,
    block: Sequence[float] = BLOCK,
    centre: Sequence[float] | None = None,
    growth: float = 0.3,
) -> gmshio.MeshData:
    """Block with the Li feature ``kind`` of dimensions ``shape`` (its last entry: the depth)."""
    centre = _um(_feature_centre(block, centre, shape[-1]))

    def build() -> None:
        if kind == "crack":
            radius, opening, inclination, depth = shape
            geo = (centre, radius / UM, opening / UM, inclination, depth / UM)
            tip = (crack_tip_distance(*geo), h_tip / UM)
            h_faces = max(h_tip, opening / 2) / UM
            _finish(_um(block), crack_volume(*geo), h / UM, h_faces, growth, tip)
        else:
            (r, d), (cx, cy) = _um(shape), centre
            li = gmsh.model.occ.addSphere(cx, cy, 0, r)
            gmsh.model.occ.dilate([(3, li)], cx, cy, 0, 1, 1, d / r)
            _finish(_um(block), li, h / UM, h_tip / UM, growth)

    return _collective(comm, build)


@cached(files=("path",))
def closed_surface(
    comm: MPI.Comm,
    path: str | Path,
    h: float,
    h_tip: float,
    block: Sequence[float] = BLOCK,
    unit: float = UM,
    growth: float = 0.3,
) -> gmshio.MeshData:
    """Block minus the region enclosed by a closed surface file (file lengths in ``unit`` m)."""
    if not Path(path).is_file():
        raise InputError(f"parameter surface_file = {str(path)!r}: no such file")
    check_block(block, (0.0, 0.0), 0.5 * block[2])
    pts, tri = read_surface(path, unit)

    def build() -> None:
        _finish(_um(block), surface_volume(pts / UM, tri), h / UM, h_tip / UM, growth)

    return _collective(comm, build)


if __name__ == "__main__":
    shape = sys.argv[1] if len(sys.argv) > 1 else "crack"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else f"spallation_{shape}.msh")
    lx, ly, lz = _um(BLOCK)
    with session("spallation_block", MPI.COMM_SELF):
        if shape == "crack":
            geo = ((lx / 2, ly / 2), 8.0, 1.0, math.radians(20), 4.0)
            _finish(
                (lx, ly, lz), crack_volume(*geo), 2.0, 0.5, 0.3, (crack_tip_distance(*geo), 0.2)
            )
        else:
            sphere = gmsh.model.occ.addSphere(lx / 2, ly / 2, 0, 5.0)
            _finish((lx, ly, lz), sphere, 2.0, 0.3, 0.3)
        write_msh(out, UM)
    print(f"wrote {out}")
