"""Closed triangulated surfaces (STL, OBJ, PLY, VTK, ... read with meshio) as gmsh volumes.

:func:`read_surface` reads a file, merges coincident points (STL stores each triangle with its
own vertices) and checks that the surface is closed; :func:`surface_volume` sews the triangles
into an OCC volume. :func:`write_boss_stl` writes a closed hemispherical boss (the STL
round-trip test of :func:`femcm.meshes.spallation_block.closed_surface`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gmsh
import numpy as np

from femcm.base.errors import InputError

__all__ = ["merge_points", "read_surface", "surface_volume", "write_boss_stl"]


def merge_points(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge coincident points (to 1e-9 of the size) and drop the triangles that degenerate."""
    scale = float(np.ptp(points, axis=0).max())
    key = np.round(points / (1e-9 * scale)).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    pts, tri = points[first], inverse.reshape(-1)[triangles]
    keep = (tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])
    return pts, tri[keep]


def read_surface(path: str | Path, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Points (metres) and triangles of a closed surface file read with meshio.

    ``unit`` is the file's length unit in metres (1e-6 for µm). Raises :class:`InputError`
    when the file has no triangles or the surface is not closed (every edge in two triangles).
    """
    import meshio

    try:
        with np.errstate(over="ignore"):  # meshio's binary-STL size probe overflows uint32
            m = meshio.read(str(path))
    except Exception as err:
        msg = f"parameter surface_file = {str(path)!r}: meshio cannot read it ({err})"
        raise InputError(msg) from err
    tris = [c.data for c in m.cells if c.type == "triangle"]
    if not tris:
        raise InputError(f"parameter surface_file = {str(path)!r} holds no triangles")
    tri = np.concatenate(tris)
    # STL stores each triangle with its own vertices: merge coincident points.
    pts = np.asarray(m.points, dtype=float)[:, :3] * unit
    pts, tri = merge_points(pts, tri)
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    if np.any(counts != 2):
        raise InputError(
            f"parameter surface_file = {str(path)!r}: the surface is not closed "
            f"({int(np.sum(counts != 2))} edges not shared by exactly two triangles)"
        )
    return pts, tri


def surface_volume(points: np.ndarray, triangles: np.ndarray) -> int:
    """An OCC volume bounded by the triangles (points in µm): plane faces sewn into a shell."""
    occ = gmsh.model.occ
    pt = [occ.addPoint(*p) for p in points]
    lines: dict[tuple[int, int], int] = {}

    def line(a: int, b: int) -> int:
        if (b, a) in lines:
            return -lines[(b, a)]
        if (a, b) not in lines:
            lines[(a, b)] = occ.addLine(pt[a], pt[b])
        return lines[(a, b)]

    faces = []
    for a, b, c in triangles:
        loop = occ.addCurveLoop([line(a, b), line(b, c), line(c, a)])
        faces.append(occ.addPlaneSurface([loop]))
    shell = occ.addSurfaceLoop(faces)  # the faces share their edges: no sewing needed
    return occ.addVolume([shell])


def write_boss_stl(
    path: str | Path, centre: Sequence[float], radius: float, n: int = 16, skirt: float = 0.2
) -> None:
    """Write a closed hemispherical boss on the plane z = centre[2] to ``path`` with meshio.

    The dome is a UV grid (n × n cells) whose poles lie on the x axis, in the base plane, so
    that no fan of thin triangles sits at the apex; a vertical skirt of height
    ``skirt`` × radius below the plane and a flat base close it (the skirt crosses the block
    face z = 0 transversally). Coordinates are written as given (choose the unit). Used by the
    STL round-trip test.
    """
    import meshio

    t = np.linspace(0, np.pi, n + 1)  # polar angle from the +x pole
    p = np.linspace(0, np.pi, n + 1)  # longitude about x, 0..π: the upper half (z >= 0)
    tt, pp = np.meshgrid(t, p, indexing="ij")
    dome = np.stack([np.cos(tt), np.sin(tt) * np.cos(pp), np.sin(tt) * np.sin(pp)], axis=-1)
    grid = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]
    tri = [np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)]
    # The rim (z = 0): longitude 0 from pole to pole, then longitude π back.
    rim = np.concatenate([grid[:, 0], grid[::-1, -1][1:-1]])
    pts = [dome.reshape(-1, 3)]
    low = pts[0][rim] - [0.0, 0.0, skirt]
    first = len(pts[0])
    low_idx = first + np.arange(len(rim))
    nxt = np.roll(np.arange(len(rim)), -1)
    tri += [
        np.stack([rim, rim[nxt], low_idx[nxt]], -1),
        np.stack([rim, low_idx[nxt], low_idx], -1),
        np.stack([np.full(len(rim), first + len(rim)), low_idx[nxt], low_idx], -1),
    ]
    pts += [low, [[0.0, 0.0, -skirt]]]
    pts_all, tri_all = merge_points(np.vstack(pts) * radius + np.asarray(centre), np.vstack(tri))
    meshio.write(str(path), meshio.Mesh(pts_all, [("triangle", tri_all)]))
