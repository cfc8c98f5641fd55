"""Quarter of a thick-walled cylinder's cross-section: inner radius a, outer radius b.

Cells: ``wall``. Facets: ``inner`` (r = a), ``outer`` (r = b), ``x_axis`` (y = 0, the
symmetry line where u_y = 0) and ``y_axis`` (x = 0, where u_x = 0). Cells are quadratic
(curved), so the circular boundaries carry no chord error.

Run alone to write a ``.msh``: ``python meshes/quarter_annulus.py out.msh``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import gmsh
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.meshes._gmsh import cached, generate_2d, session, to_dolfinx, write_msh

__all__ = ["quarter_annulus"]

WALL, INNER, OUTER, X_AXIS, Y_AXIS = 1, 11, 12, 13, 14


def _build(a: float, b: float, h: float) -> None:
    """Model in units of a (inputs scaled by the caller)."""
    occ = gmsh.model.occ
    o = occ.addPoint(0, 0, 0)
    pa, pb = occ.addPoint(a, 0, 0), occ.addPoint(b, 0, 0)
    qa, qb = occ.addPoint(0, a, 0), occ.addPoint(0, b, 0)
    x_axis, outer = occ.addLine(pa, pb), occ.addCircleArc(pb, o, qb)
    y_axis, inner = occ.addLine(qb, qa), occ.addCircleArc(qa, o, pa)
    wall = occ.addPlaneSurface([occ.addCurveLoop([x_axis, outer, y_axis, inner])])
    occ.synchronize()
    gmsh.model.addPhysicalGroup(2, [wall], WALL, name="wall")
    for curve, tag, name in (
        (inner, INNER, "inner"),
        (outer, OUTER, "outer"),
        (x_axis, X_AXIS, "x_axis"),
        (y_axis, Y_AXIS, "y_axis"),
    ):
        gmsh.model.addPhysicalGroup(1, [curve], tag, name=name)
    generate_2d(h)
    gmsh.model.mesh.setOrder(2)  # curved (quadratic) cells: the arcs are exact to O(h³)


@cached
def quarter_annulus(comm: MPI.Comm, a: float, b: float, h: float) -> gmshio.MeshData:
    """Build and distribute the quarter annulus (metres; built in units of a)."""
    if not 0 < a < b or not 0 < h < b - a:
        raise ValueError(f"need 0 < a < b and 0 < h < b - a, got a={a!r}, b={b!r}, h={h!r}")
    with session("quarter_annulus", comm) as root:
        if root:
            _build(1.0, b / a, h / a)
        return to_dolfinx(comm, gdim=2, unit=a)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "quarter_annulus.msh")
    with session("quarter_annulus", MPI.COMM_SELF):
        _build(1.0, 2.0, 0.05)
        write_msh(out)
    print(f"wrote {out}")
