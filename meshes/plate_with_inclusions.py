"""LLZO plate with circular secondary-phase inclusions, optionally on a Li metal layer [D].

Cells: ``llzo_220`` (matrix), ``llzo_230`` (inclusions), ``li`` (layer below y = 0).
Facets: ``top``, ``bottom``, ``left``, ``right`` (outer boundary) and, with a Li layer,
``li_llzo`` (the Li/LLZO interface; without the layer the LLZO bottom is ``bottom``).

Run alone to write a ``.msh``: ``python meshes/plate_with_inclusions.py out.msh``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import gmsh
import numpy as np
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.app.guards import graded_band, triangles
from femcm.app.params import ParameterSet, param
from femcm.base.errors import InputError
from femcm.meshes._gmsh import cached, generate_2d, refine_near, session, to_dolfinx, write_msh

__all__ = [
    "DEFAULT_INCLUSIONS",
    "PlateParameters",
    "check_inclusions",
    "check_plate",
    "near_inclusion",
    "plate_with_inclusions",
]

DEFAULT_INCLUSIONS = ((480e-6, 420e-6, 30e-6), (330e-6, 150e-6, 30e-6), (120e-6, 330e-6, 30e-6))
"""Centres (x, y) and radii of the three 230-phase inclusions of [D], metres."""

LLZO_220, LLZO_230, LI = 1, 2, 3
TOP, BOTTOM, LEFT, RIGHT, LI_LLZO = 11, 12, 13, 14, 15


def check_inclusions(
    inclusions: Sequence[Sequence[float]], width: float, height: float, name: str = "inclusions"
) -> None:
    """Each inclusion (x, y, r) lies inside [0, width]×[0, height] and overlaps no other."""
    for k, inc in enumerate(inclusions):
        if len(inc) != 3:
            raise InputError(f"parameter {name}[{k}] = {inc!r} must be (x, y, radius) in metres")
        x, y, r = inc
        if not r > 0:
            raise InputError(f"parameter {name}[{k}] radius = {r!r} is out of range: must be > 0")
        if x - r <= 0 or x + r >= width or y - r <= 0 or y + r >= height:
            raise InputError(
                f"parameter {name}[{k}] = {tuple(inc)!r} lies outside the domain: need "
                f"r < x < width - r = {width - r:g} and r < y < height - r = {height - r:g}"
            )
        for j in range(k):
            xj, yj, rj = inclusions[j]
            if math.hypot(x - xj, y - yj) <= r + rj:
                raise InputError(
                    f"parameter {name}[{k}] overlaps {name}[{j}]: centre distance must exceed "
                    f"the sum of radii {r + rj:g}"
                )


def check_plate(
    width: float, height: float, inclusions: Sequence[Sequence[float]], mesh_size: float
) -> None:
    """Inclusions inside the plate and disjoint; ``mesh_size`` no larger than the plate."""
    check_inclusions(inclusions, width, height)
    if mesh_size > min(width, height):
        raise InputError(
            f"parameter mesh_size = {mesh_size:g} is out of range: "
            f"must be <= min(width, height) = {min(width, height):g}"
        )


class PlateParameters(ParameterSet):
    """The plate geometry shared by the problems on it (SI units)."""

    width: float = param(600e-6, "m", "LLZO width [D]", gt=0)
    height: float = param(600e-6, "m", "LLZO height [D]", gt=0)
    inclusions: tuple[tuple[float, float, float], ...] = param(
        DEFAULT_INCLUSIONS, "m", "230-phase inclusions: ((x, y, radius), ...) [D]"
    )
    mesh_size: float = param(10e-6, "m", "element size away from inclusions", gt=0)
    mesh_size_inclusion: float = param(2e-6, "m", "element size at inclusion boundaries", gt=0)

    def validate(self) -> None:
        """Inclusions inside the LLZO and disjoint; mesh sizes below the domain size."""
        check_plate(self.width, self.height, self.inclusions, self.mesh_size)
        if self.mesh_size_inclusion > self.mesh_size:
            raise InputError(
                f"parameter mesh_size_inclusion = {self.mesh_size_inclusion:g} is out of range: "
                f"must be <= mesh_size = {self.mesh_size:g}"
            )

    def estimate_cells(self, li_thickness: float = 0.0) -> float:
        """Triangles of the mesh :func:`plate_with_inclusions` makes (within ~10 %)."""
        return estimate_cells(
            self.width,
            self.height,
            li_thickness,
            self.inclusions,
            self.mesh_size,
            self.mesh_size_inclusion,
        )


def estimate_cells(
    width: float,
    height: float,
    li_thickness: float,
    inclusions: Sequence[Sequence[float]],
    mesh_size: float,
    mesh_size_inclusion: float,
) -> float:
    """Triangles of the plate mesh, estimated from its sizes.

    The plate at ``mesh_size`` plus the graded bands around the inclusions (the size field of
    :func:`_build`). Measured 20 158 for the defaults, estimate 19 100.
    """
    cells = triangles(width * (height + li_thickness), mesh_size)
    if inclusions:
        r_min = min(r for _, _, r in inclusions)
        for _, _, r in inclusions:
            cells += graded_band(
                2 * math.pi * r, mesh_size_inclusion, mesh_size, 0.3 * r_min, 1.5 * r_min
            )
    return cells


def near_inclusion(x, inclusion: Sequence[float], factor: float = 2.0):
    """Mask of points x (N×3) within ``factor`` radii of an inclusion's centre."""
    xc, yc, r = inclusion
    return np.hypot(x[:, 0] - xc, x[:, 1] - yc) <= factor * r * (1 + 1e-12)


class _Plate(NamedTuple):
    """The arguments of :func:`plate_with_inclusions` but ``comm`` (metres)."""

    width: float
    height: float
    li_thickness: float
    inclusions: Sequence[Sequence[float]]
    mesh_size: float
    mesh_size_inclusion: float


def _build(g: _Plate) -> None:
    """Build the model in µm."""
    um = 1e-6
    width, height, li_thickness = g.width / um, g.height / um, g.li_thickness / um
    inclusions = [(x / um, y / um, r / um) for x, y, r in g.inclusions]
    mesh_size, mesh_size_inclusion = g.mesh_size / um, g.mesh_size_inclusion / um
    occ = gmsh.model.occ
    plate = occ.addRectangle(0, 0, 0, width, height)
    disks = [(2, occ.addDisk(x, y, 0, r, r)) for x, y, r in inclusions]
    li = [(2, occ.addRectangle(0, -li_thickness, 0, width, li_thickness))] if li_thickness else []
    children = occ.fragment([(2, plate)], disks + li)[1] if disks + li else [[(2, plate)]]
    occ.synchronize()
    # children[0] are the pieces of the plate, then one list per disk, then the Li layer.
    in_disk = {s for k in range(len(disks)) for _, s in children[1 + k]}
    in_li = {s for _, s in children[1 + len(disks)]} if li else set()
    groups: dict[int, list[int]] = {LLZO_220: [], LLZO_230: sorted(in_disk), LI: sorted(in_li)}
    for _, s in gmsh.model.getEntities(2):
        if s not in in_disk and s not in in_li:
            groups[LLZO_220].append(s)
    tol = 1e-6 * max(width, height) + 1e-6
    names = {LLZO_220: "llzo_220", LLZO_230: "llzo_230", LI: "li"}
    for tag, ents in groups.items():
        if ents:
            gmsh.model.addPhysicalGroup(2, ents, tag, name=names[tag])

    y0 = -li_thickness
    facets: dict[int, list[int]] = {TOP: [], BOTTOM: [], LEFT: [], RIGHT: [], LI_LLZO: []}
    inclusion_curves = []
    for _, c in gmsh.model.getEntities(1):
        xmin, ymin, _, xmax, ymax, _ = gmsh.model.getBoundingBox(1, c)
        if abs(ymin - height) < tol and abs(ymax - height) < tol:
            facets[TOP].append(c)
        elif abs(ymin - y0) < tol and abs(ymax - y0) < tol:
            facets[BOTTOM].append(c)
        elif abs(ymin) < tol and abs(ymax) < tol:
            facets[LI_LLZO].append(c)
        elif abs(xmin) < tol and abs(xmax) < tol:
            facets[LEFT].append(c)
        elif abs(xmin - width) < tol and abs(xmax - width) < tol:
            facets[RIGHT].append(c)
        else:
            inclusion_curves.append(c)
    fnames = {TOP: "top", BOTTOM: "bottom", LEFT: "left", RIGHT: "right", LI_LLZO: "li_llzo"}
    for tag, ents in facets.items():
        if ents:  # no li_llzo without a Li layer (a facet carries one tag in DOLFINx)
            gmsh.model.addPhysicalGroup(1, ents, tag, name=fnames[tag])

    fields = None
    if inclusion_curves:
        r_min = min(r for _, _, r in inclusions)
        h_in, near = mesh_size_inclusion, (0.3 * r_min, 1.5 * r_min)
        fields = [refine_near(h_in, mesh_size, *near, curves=inclusion_curves, sampling=200)]
    generate_2d(mesh_size, fields)


@cached
def plate_with_inclusions(
    comm: MPI.Comm,
    width: float = 600e-6,
    height: float = 600e-6,
    li_thickness: float = 100e-6,
    inclusions: Sequence[Sequence[float]] = DEFAULT_INCLUSIONS,
    mesh_size: float = 10e-6,
    mesh_size_inclusion: float = 2e-6,
) -> gmshio.MeshData:
    """Build and distribute the plate mesh (metres). See the module docstring for the groups."""
    check_inclusions(inclusions, width, height)
    with session("plate_with_inclusions", comm) as root:
        if root:
            _build(_Plate(width, height, li_thickness, inclusions, mesh_size, mesh_size_inclusion))
        return to_dolfinx(comm, gdim=2, unit=1e-6)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "plate_with_inclusions.msh")
    with session("plate_with_inclusions", MPI.COMM_SELF):
        _build(_Plate(600e-6, 600e-6, 100e-6, DEFAULT_INCLUSIONS, 10e-6, 2e-6))
        write_msh(out, unit=1e-6)
    print(f"wrote {out}")
