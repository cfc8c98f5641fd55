"""Sub-surface spherical pore below a free surface, 2D axisymmetric meridian (r, z) [S].

The (r, z) half-plane section of a cylinder of radius ``width`` and height ``height`` whose
top z = 0 is the free surface, with a spherical pore of radius ``radius`` centred on the axis
at z = −``depth`` (depth of the centre; the ligament to the surface is depth − radius). The
sphere is exactly axisymmetric, so the meridian carries the full 3D problem (x = r, y = z).

Cells: ``electrolyte``, ``li`` (the pore filling). Facets: ``surface`` (z = 0), ``outer``
(r = width), ``bottom`` (z = −height), ``axis`` (r = 0, through the pore as well), ``wall``
(the pore surface). Size ``h_wall`` at the wall and at the surface point above the pore,
growing linearly with the distance at the rate ``growth`` up to ``h``.

Run alone to write a ``.msh``: ``python meshes/pore.py out.msh``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import gmsh
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.base.errors import InputError
from femcm.meshes._gmsh import cached, generate_2d, refine_near, session, to_dolfinx, write_msh

__all__ = ["check_pore", "pore_axisymmetric"]

ELECTROLYTE, LI = 1, 2
SURFACE, OUTER, BOTTOM, AXIS, WALL = 11, 12, 13, 14, 15
UM = 1e-6


def check_pore(radius: float, depth: float, width: float, height: float) -> None:
    """The pore lies below the surface and inside the cylinder."""
    if not radius > 0:
        raise InputError(f"parameter radius = {radius:g} is out of range: must be > 0")
    if not radius < depth < height - radius:
        raise InputError(
            f"parameter depth = {depth:g} is out of range: need radius < depth < "
            f"height - radius = {height - radius:g} (m; depth of the pore centre)"
        )
    if not width > radius:
        raise InputError(f"parameter width = {width:g} is out of range: must be > radius")


def _build(
    radius: float, depth: float, width: float, height: float, h: float, h_wall: float, growth: float
) -> None:
    """The meridian in µm (inputs in µm)."""
    geo = gmsh.model.geo
    a, b = geo.addPoint(0, 0, 0), geo.addPoint(width, 0, 0)
    c, d = geo.addPoint(width, -height, 0), geo.addPoint(0, -height, 0)
    top, low = geo.addPoint(0, -depth + radius, 0), geo.addPoint(0, -depth - radius, 0)
    equator, centre = geo.addPoint(radius, -depth, 0), geo.addPoint(0, -depth, 0)
    surface, outer, bottom = geo.addLine(a, b), geo.addLine(b, c), geo.addLine(c, d)
    axis_low, axis_pore, axis_high = geo.addLine(d, low), geo.addLine(low, top), geo.addLine(top, a)
    arcs = [geo.addCircleArc(low, centre, equator), geo.addCircleArc(equator, centre, top)]
    matrix = geo.addPlaneSurface(
        [geo.addCurveLoop([surface, outer, bottom, axis_low, *arcs, axis_high])]
    )
    pore = geo.addPlaneSurface([geo.addCurveLoop([*arcs, -axis_pore])])
    geo.synchronize()
    model = gmsh.model
    model.addPhysicalGroup(2, [matrix], ELECTROLYTE, name="electrolyte")
    model.addPhysicalGroup(2, [pore], LI, name="li")
    model.addPhysicalGroup(1, [surface], SURFACE, name="surface")
    model.addPhysicalGroup(1, [outer], OUTER, name="outer")
    model.addPhysicalGroup(1, [bottom], BOTTOM, name="bottom")
    model.addPhysicalGroup(1, [axis_low, axis_pore, axis_high], AXIS, name="axis")
    model.addPhysicalGroup(1, arcs, WALL, name="wall")

    d_max = max((h - h_wall) / growth, 1e-12)
    near = refine_near(min(h_wall, h), h, 0.0, d_max, points=[a], curves=arcs, sampling=400)
    generate_2d(h, [near])


@cached
def pore_axisymmetric(
    comm: MPI.Comm,
    radius: float,
    depth: float,
    width: float,
    height: float,
    h: float,
    h_wall: float,
    growth: float = 0.2,
) -> gmshio.MeshData:
    """Build and distribute the meridian mesh (inputs and mesh in metres; x = r, y = z)."""
    check_pore(radius, depth, width, height)
    with session("pore", comm) as root:
        if root:
            sizes = (radius, depth, width, height, h, h_wall)
            _build(*(s / UM for s in sizes), growth)
        return to_dolfinx(comm, gdim=2, unit=UM)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "pore.msh")
    with session("pore", MPI.COMM_SELF):
        _build(1.0, 2.0, 20.0, 20.0, 2.0, 0.05, 0.2)
        write_msh(out, UM)
    print(f"wrote {out}")
