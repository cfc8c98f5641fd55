"""Circular plate (radius R_out) with a concentric circular inclusion or hole (radius R).

The geometry of the closed-form elasticity references (Goodier/Eshelby inhomogeneity,
misfitting inclusion, Lamé, Kirsch): on a circle the exact infinite-body traction can be
applied, so the finite body reproduces the infinite-body solution exactly.

Cells: ``matrix`` and, unless ``hole``, ``inclusion``. Facets: ``outer``, and ``interface``
(the inclusion boundary, or the hole surface). Gmsh places a vertex at (±R_out, 0), (0, ±R_out)
for pinning rigid modes.

Run alone to write a ``.msh``: ``python meshes/disk_with_inclusion.py out.msh``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import gmsh
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.meshes._gmsh import cached, generate_2d, refine_near, session, to_dolfinx, write_msh

__all__ = ["disk_with_inclusion"]

MATRIX, INCLUSION, OUTER, INTERFACE = 1, 2, 11, 12


def _build(r_out: float, r_in: float, h_in: float, h_out: float, hole: bool) -> None:
    occ = gmsh.model.occ

    # Quarter arcs so that the axis points are vertices.
    def circle(r: float) -> int:
        pts = [
            occ.addPoint(r, 0, 0),
            occ.addPoint(0, r, 0),
            occ.addPoint(-r, 0, 0),
            occ.addPoint(0, -r, 0),
        ]
        c = occ.addPoint(0, 0, 0)
        arcs = [occ.addCircleArc(pts[i], c, pts[(i + 1) % 4]) for i in range(4)]
        return occ.addCurveLoop(arcs)

    outer_loop, inner_loop = circle(r_out), circle(r_in)
    matrix = occ.addPlaneSurface([outer_loop, inner_loop])
    inclusion = None if hole else occ.addPlaneSurface([inner_loop])
    occ.synchronize()
    gmsh.model.addPhysicalGroup(2, [matrix], MATRIX, name="matrix")
    if inclusion is not None:
        gmsh.model.addPhysicalGroup(2, [inclusion], INCLUSION, name="inclusion")
    outer_curves = [abs(c[1]) for c in gmsh.model.getBoundary([(2, matrix)], oriented=False)]
    inner_curves = []
    for c in list(outer_curves):
        xmin, _, _, xmax, _, _ = gmsh.model.getBoundingBox(1, c)
        if max(abs(xmin), abs(xmax)) < 0.5 * (r_in + r_out):
            inner_curves.append(c)
    outer_curves = [c for c in outer_curves if c not in inner_curves]
    gmsh.model.addPhysicalGroup(1, outer_curves, OUTER, name="outer")
    gmsh.model.addPhysicalGroup(1, inner_curves, INTERFACE, name="interface")
    near = refine_near(h_in, h_out, 0.5 * r_in, 0.5 * r_out, curves=inner_curves, sampling=200)
    generate_2d(h_out, [near])


@cached
def disk_with_inclusion(
    comm: MPI.Comm,
    r_out: float,
    r_in: float,
    h_in: float,
    h_out: float,
    hole: bool = False,
    unit: float = 1.0,
) -> gmshio.MeshData:
    """Build and distribute the disk (lengths in ``unit`` metres; the mesh is in metres)."""
    if not 0 < r_in < r_out:
        raise ValueError(f"need 0 < r_in < r_out, got r_in = {r_in!r}, r_out = {r_out!r}")
    with session("disk_with_inclusion", comm) as root:
        if root:
            _build(r_out / unit, r_in / unit, h_in / unit, h_out / unit, hole)
        return to_dolfinx(comm, gdim=2, unit=unit)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "disk_with_inclusion.msh")
    with session("disk_with_inclusion", MPI.COMM_SELF):
        _build(20.0, 1.0, 0.05, 2.0, hole=False)
        write_msh(out)
    print(f"wrote {out}")
