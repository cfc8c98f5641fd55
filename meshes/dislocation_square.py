"""Rectangle with dislocation cores and their cuts embedded, graded to ≤ a/4 at every core.

The geometry of ``edge_dislocation`` (a square centred on the core(s)) and, with a horizontal
``interface``, of ``heterointerface``. Each core is a mesh vertex; each cut (the segment from
a core to where its cut leaves the rectangle) is a chain of mesh edges, so no cell straddles
the thin layer of the spreading field W along the cut. Size: ``h_core`` within ``r_core`` of
every core, growing linearly (slope ``grading``) to ``h``; ``h_cut`` along the cuts. Gmsh's
sizes are target edge lengths that some edges exceed by up to ~30 %, so the targets are 3/4 of
``h_core`` and ``h_cut``: the largest edge at a core stays below ``h_core``.

Cells: ``domain``, or with an interface ``lower`` (y < y_i) and ``upper`` (or the given
``phases`` names). Facets: ``left``,
``right``, ``bottom``, ``top`` and, with an interface, ``interface``. The corners are vertices.

Run alone to write a ``.msh``: ``python meshes/dislocation_square.py out.msh``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import gmsh
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.meshes._gmsh import cached, generate_2d, refine_near, session, to_dolfinx, write_msh

__all__ = ["dislocation_rectangle", "dislocation_square"]

DOMAIN, LOWER, UPPER = 1, 2, 3
LEFT, RIGHT, BOTTOM, TOP, INTERFACE = 11, 12, 13, 14, 15

Point = tuple[float, float]


def _build(
    box: tuple[Point, Point],
    cores: Sequence[Point],
    cuts: Sequence[tuple[Point, Point]],
    h_core: float,
    h: float,
    h_cut: float,
    r_core: float,
    r_cut: float,
    grading: float,
    interface: float | None,
    phases: tuple[str, str] = ("lower", "upper"),
    h_interface: float | None = None,
    r_interface: float = 0.0,
) -> None:
    occ = gmsh.model.occ
    (x0, y0), (x1, y1) = box
    rect = occ.addRectangle(x0, y0, 0, x1 - x0, y1 - y0)
    tools: list[tuple[int, int]] = []
    for x, y in cores:
        tools.append((0, occ.addPoint(x, y, 0)))
    cut_lines = []
    for (ax, ay), (bx, by) in cuts:
        cut_lines.append(occ.addLine(occ.addPoint(ax, ay, 0), occ.addPoint(bx, by, 0)))
        tools.append((1, cut_lines[-1]))
    if interface is not None:
        tools.append(
            (1, occ.addLine(occ.addPoint(x0, interface, 0), occ.addPoint(x1, interface, 0)))
        )
    occ.fragment([(2, rect)], tools)
    occ.synchronize()

    eps = 1e-6 * max(x1 - x0, y1 - y0)
    surfaces = [s for _, s in gmsh.model.getEntities(2)]
    if interface is None:
        gmsh.model.addPhysicalGroup(2, surfaces, DOMAIN, name="domain")
    else:
        lower, upper = [], []
        for s in surfaces:
            _, sy0, _, _, sy1, _ = gmsh.model.getBoundingBox(2, s)
            (lower if 0.5 * (sy0 + sy1) < interface else upper).append(s)
        gmsh.model.addPhysicalGroup(2, lower, LOWER, name=phases[0])
        gmsh.model.addPhysicalGroup(2, upper, UPPER, name=phases[1])
    sides: dict[str, list[int]] = {
        "left": [],
        "right": [],
        "bottom": [],
        "top": [],
        "interface": [],
    }
    for _, c in gmsh.model.getEntities(1):
        cx0, cy0, _, cx1, cy1, _ = gmsh.model.getBoundingBox(1, c)
        if abs(cx0 - x0) < eps and abs(cx1 - x0) < eps:
            sides["left"].append(c)
        elif abs(cx0 - x1) < eps and abs(cx1 - x1) < eps:
            sides["right"].append(c)
        elif abs(cy0 - y0) < eps and abs(cy1 - y0) < eps:
            sides["bottom"].append(c)
        elif abs(cy0 - y1) < eps and abs(cy1 - y1) < eps:
            sides["top"].append(c)
        elif interface is not None and abs(cy0 - interface) < eps and abs(cy1 - interface) < eps:
            sides["interface"].append(c)
    tags = {"left": LEFT, "right": RIGHT, "bottom": BOTTOM, "top": TOP, "interface": INTERFACE}
    for name, curves in sides.items():
        if curves:
            gmsh.model.addPhysicalGroup(1, curves, tags[name], name=name)

    # Size fields: the minimum of the core, cut and interface thresholds.
    def graded(h_min: float, r: float, **entities) -> int:
        return refine_near(h_min, h, r, r + (h - h_min) / grading, **entities)

    fields = []
    core_pts = [
        p
        for _, p in gmsh.model.getEntities(0)
        if any(math.dist(gmsh.model.getValue(0, p, [])[:2], c) < eps for c in cores)
    ]
    if core_pts:
        fields.append(graded(h_core, r_core, points=core_pts))
    cut_curves = []
    for _, c in gmsh.model.getEntities(1):
        cx0, cy0, _, cx1, cy1, _ = gmsh.model.getBoundingBox(1, c)
        for (ax, ay), (bx, by) in cuts:
            if (
                min(ax, bx) - eps <= cx0
                and cx1 <= max(ax, bx) + eps
                and min(ay, by) - eps <= cy0
                and cy1 <= max(ay, by) + eps
            ):
                cut_curves.append(c)
                break
    if cut_curves and h_cut < h:
        fields.append(graded(h_cut, r_cut, curves=cut_curves, sampling=400))
    if sides["interface"] and h_interface is not None and h_interface < h:
        fields.append(graded(h_interface, r_interface, curves=sides["interface"], sampling=400))
    generate_2d(h, fields)  # one thread: the mesh does not depend on the threads rank 0 gets


def _segment_in_box(core: Point, end: Point, box: tuple[Point, Point]) -> tuple[Point, Point]:
    """The segment core → end, shortened to the box."""
    (x0, y0), (x1, y1) = box
    (ax, ay), (bx, by) = core, end
    s = 1.0
    for p, d, lo, hi in ((ax, bx - ax, x0, x1), (ay, by - ay, y0, y1)):
        if d > 0:
            s = min(s, (hi - p) / d)
        elif d < 0:
            s = min(s, (lo - p) / d)
    return core, (ax + s * (bx - ax), ay + s * (by - ay))


@cached
def dislocation_rectangle(
    comm: MPI.Comm,
    box: tuple[Point, Point],
    cores: Sequence[Point],
    cut_directions: Sequence[Point],
    h_core: float,
    h: float,
    *,
    h_cut: float | None = None,
    r_core: float | None = None,
    r_cut: float | None = None,
    grading: float = 0.3,
    interface: float | None = None,
    phases: tuple[str, str] = ("lower", "upper"),
    h_interface: float | None = None,
    r_interface: float = 0.0,
    unit: float = 1e-9,
) -> gmshio.MeshData:
    """Rectangle ``box`` = ((x0, y0), (x1, y1)) with cores and their cuts (lengths in metres).

    ``cut_directions[k]`` is the unit cut direction of core k (the cut runs to the boundary).
    ``h_interface`` (optional) is the size within ``r_interface`` of the interface.
    ``h_cut`` defaults to 2 h_core, ``r_core`` (the radius meshed at h_core) to 8 h_core.
    The model is built in ``unit`` metres (nm by default: gmsh tolerances are absolute).
    """
    (x0, y0), (x1, y1) = box
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"empty box {box!r}")
    if not 0 < h_core <= h:
        raise ValueError(f"need 0 < h_core <= h, got h_core = {h_core!r}, h = {h!r}")
    for c in cores:
        if not (x0 < c[0] < x1 and y0 < c[1] < y1):
            raise ValueError(f"core {c!r} outside the box {box!r}")
    h_cut = 2 * h_core if h_cut is None else h_cut
    r_core = 8 * h_core if r_core is None else r_core
    r_cut = 0.5 * h_cut if r_cut is None else r_cut
    diag = math.hypot(x1 - x0, y1 - y0)
    cuts = [
        _segment_in_box(c, (c[0] + 2 * diag * t[0], c[1] + 2 * diag * t[1]), box)
        for c, t in zip(cores, cut_directions, strict=True)
    ]

    def s(v: float) -> float:
        return v / unit

    def sp(p: Point) -> Point:
        return (s(p[0]), s(p[1]))

    with session("dislocation_rectangle", comm) as root:
        if root:
            _build(
                (sp(box[0]), sp(box[1])),
                [sp(c) for c in cores],
                [(sp(a), sp(b)) for a, b in cuts],
                s(0.75 * h_core),
                s(h),
                s(0.75 * h_cut),
                s(r_core),
                s(r_cut),
                grading,
                None if interface is None else s(interface),
                phases,
                None if h_interface is None else s(0.75 * h_interface),
                s(r_interface),
            )
        return to_dolfinx(comm, gdim=2, unit=unit)


def dislocation_square(
    comm: MPI.Comm,
    side: float,
    cores: Sequence[Point],
    cut_directions: Sequence[Point],
    h_core: float,
    h: float,
    **kw,
) -> gmshio.MeshData:
    """Square of side ``side`` centred on the centroid of the cores (see dislocation_rectangle)."""
    cx = sum(c[0] for c in cores) / len(cores)
    cy = sum(c[1] for c in cores) / len(cores)
    box = ((cx - side / 2, cy - side / 2), (cx + side / 2, cy + side / 2))
    return dislocation_rectangle(comm, box, cores, cut_directions, h_core, h, **kw)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "dislocation_square.msh")
    with session("dislocation_square", MPI.COMM_SELF):
        _build(
            ((-20, -20), (20, 20)),
            [(0, 0)],
            [((0, 0), (-20, 0))],
            0.32,
            2.0,
            0.32,
            2.6,
            2.0,
            0.3,
            None,
        )
        write_msh(out, unit=1e-9)
    print(f"wrote {out}")
