"""A Li-filled spallation crack: a disk with a rounded rim, inclined, reaching the Li [S].

A disk of radius R and opening t with a rounded rim (a flat cylinder of radius R − t/2 fused
with a torus of tube radius t/2, so the tip radius is t/2), tilted about the x axis by θ to the
interface z = 0 and reaching depth d below it (its deepest point is at z = d; its lower rim
dips below z = 0, where it joins the Li). :func:`crack_volume` builds it in gmsh's OCC kernel,
:func:`crack_tip_distance` gives the distance to its rim for the mesh size field; both in the
length unit of the model (µm in :mod:`femcm.meshes.spallation_block`, which cuts it from the
block).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gmsh
import numpy as np

from femcm.base.errors import InputError

__all__ = ["check_crack", "crack_geometry", "crack_tip_distance", "crack_volume"]


def crack_geometry(
    radius: float, opening: float, inclination: float, depth: float
) -> tuple[float, np.ndarray]:
    """Centre height z_c and unit normal of the crack disk (any length unit).

    The disk is tilted about the x axis by ``inclination`` (radians, 0: parallel to the
    interface) and placed so that its highest point is at z = ``depth``.
    """
    normal = np.array([0.0, -math.sin(inclination), math.cos(inclination)])
    half_height = (radius - opening / 2) * math.sin(inclination) + opening / 2
    return depth - half_height, normal


def check_crack(radius: float, opening: float, inclination: float, depth: float) -> None:
    """Opening below the diameter; the crack reaches the Li (its lowest point below z = 0)."""
    if not 0 < opening < radius:
        raise InputError(
            f"parameter opening = {opening:g} is out of range: need 0 < opening < radius"
        )
    if not 0 <= inclination < math.pi / 2:
        raise InputError(
            f"parameter inclination = {inclination:g} is out of range: need 0 <= it < pi/2 (rad)"
        )
    z_c, _ = crack_geometry(radius, opening, inclination, depth)
    lowest = 2 * z_c - depth
    if not (depth > 0 and lowest < 0):
        reach = 2 * ((radius - opening / 2) * math.sin(inclination) + opening / 2)
        raise InputError(
            f"parameter depth = {depth:g} is out of range: the crack must start at the Li, "
            f"need 0 < depth < 2((R - t/2) sin(inclination) + t/2) = {reach:g}"
        )


def crack_volume(
    centre: Sequence[float], radius: float, opening: float, inclination: float, depth: float
) -> int:
    """The crack as an OCC volume (µm): a flat cylinder fused with a torus, tilted and placed."""
    occ = gmsh.model.occ
    r_flat, half = radius - opening / 2, opening / 2
    disk = occ.addCylinder(0, 0, -half, 0, 0, opening, r_flat)
    rim = occ.addTorus(0, 0, 0, r_flat, half)
    (vol,), _ = occ.fuse([(3, disk)], [(3, rim)])
    z_c, _ = crack_geometry(radius, opening, inclination, depth)
    occ.rotate([vol], 0, 0, 0, 1, 0, 0, inclination)
    occ.translate([vol], centre[0], centre[1], z_c)
    return vol[1]


def crack_tip_distance(
    centre: Sequence[float], radius: float, opening: float, inclination: float, depth: float
) -> str:
    """MathEval expression: distance to the rim (torus) surface of the crack."""
    z_c, n = crack_geometry(radius, opening, inclination, depth)
    num = [f"({float(v):.17g})" for v in (*centre, z_c, *n, radius - opening / 2, opening / 2)]
    cx, cy, cz, nx, ny, nz, r_c, half = num
    dx, dy, dz = f"(x-{cx})", f"(y-{cy})", f"(z-{cz})"
    a = f"({dx}*{nx}+{dy}*{ny}+{dz}*{nz})"
    rho = f"sqrt(abs({dx}*{dx}+{dy}*{dy}+{dz}*{dz}-{a}*{a}))"
    return f"sqrt(({rho}-{r_c})*({rho}-{r_c})+{a}*{a})-{half}"
