r"""Isotropic stress fields and Peach–Koehler forces of straight dislocations (plane strain).

The fields (Hirth & Lothe, D = μ_s b/(2π(1 − ν))) are written with arithmetic only, so they
take NumPy arrays or UFL expressions of the coordinates (the latter for the analytic traction
on a boundary):
Cai et al. (2006): σ_xx = −D y(3x² + y² + 3a²)/ρ_a⁴, σ_yy = D y(x² − y² − a²)/ρ_a⁴,
σ_xy = D x(x² − y² + a²)/ρ_a⁴, σ_zz = ν(σ_xx + σ_yy); Volterra: the same with a = 0. A
:class:`~femcm.physics.dislocation.Dislocation` with any cut has the field of Hirth–Lothe's
dislocation (line +z) with its effective Burgers vector b_HL, rotated to b_HL's direction.

Peach–Koehler force per unit length, f = (σ·b) × ξ with ξ = +e_z and b = b_HL.

References: W. Cai, A. Arsenlis, C. R. Weinberger, V. V. Bulatov, J. Mech. Phys. Solids 54
(2006) 561; J. P. Hirth, J. Lothe, Theory of Dislocations (1982).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from femcm.physics.dislocation import Dislocation

__all__ = [
    "cai_stress",
    "hydrostatic_stress",
    "interaction_forces",
    "peach_koehler",
    "volterra_stress",
]


def _edge_field(x, y, b: float, shear_modulus: float, nu: float, a: float):
    """(σ_xx, σ_yy, σ_xy) of Hirth–Lothe's edge dislocation b e_x at 0 (a = 0: Volterra)."""
    D = shear_modulus * b / (2 * np.pi * (1 - nu))
    r2 = x * x + y * y + a * a
    r4 = r2 * r2
    sxx = -D * y * (3 * x * x + y * y + 3 * a * a) / r4
    syy = D * y * (x * x - y * y - a * a) / r4
    sxy = D * x * (x * x - y * y + a * a) / r4
    return sxx, syy, sxy


def _field(d: Dislocation, x, y, shear_modulus: float, nu: float, a: float):
    bx, by = d.hirth_lothe_burgers
    b = math.hypot(bx, by)
    c, s = bx / b, by / b
    dx, dy = x - d.position[0], y - d.position[1]
    xl, yl = c * dx + s * dy, -s * dx + c * dy
    sxx, syy, sxy = _edge_field(xl, yl, b, shear_modulus, nu, a)
    # rotate back: σ = R σ' Rᵀ with R = [[c, −s], [s, c]]
    gxx = c * c * sxx - 2 * c * s * sxy + s * s * syy
    gyy = s * s * sxx + 2 * c * s * sxy + c * c * syy
    gxy = c * s * (sxx - syy) + (c * c - s * s) * sxy
    return gxx, gyy, gxy, nu * (sxx + syy)


def cai_stress(d: Dislocation, x, y, shear_modulus: float, nu: float):
    """(σ_xx, σ_yy, σ_xy, σ_zz) of Cai's non-singular field (Pa) at (x, y): arrays or UFL."""
    return _field(d, x, y, shear_modulus, nu, d.core_width)


def volterra_stress(d: Dislocation, x, y, shear_modulus: float, nu: float):
    """(σ_xx, σ_yy, σ_xy, σ_zz) of the singular Volterra field (Pa) at (x, y)."""
    return _field(d, x, y, shear_modulus, nu, 0.0)


def hydrostatic_stress(components) -> object:
    """σ_h = (σ_xx + σ_yy + σ_zz)/3 of a (σ_xx, σ_yy, σ_xy, σ_zz) tuple."""
    sxx, syy, _, szz = components
    return (sxx + syy + szz) / 3


def peach_koehler(d: Dislocation, sxx: float, syy: float, sxy: float) -> tuple[float, float]:
    """In-plane Peach–Koehler force per length f = (σ·b) × e_z (N/m) on ``d`` from stress σ."""
    bx, by = d.hirth_lothe_burgers
    gx, gy = sxx * bx + sxy * by, sxy * bx + syy * by
    return gy, -gx


def interaction_forces(
    dislocations: Sequence[Dislocation],
    shear_modulus: float,
    nu: float,
    applied: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """Peach–Koehler force (N/m, shape (N, 2)) on each dislocation in an infinite body.

    From the Cai fields of all the others, evaluated at its core, plus a uniform applied
    stress (σ_xx, σ_yy, σ_xy) in Pa.
    """
    out = np.zeros((len(dislocations), 2))
    for i, di in enumerate(dislocations):
        s = np.array(applied, dtype=float)
        for j, dj in enumerate(dislocations):
            if j != i:
                sxx, syy, sxy, _ = cai_stress(dj, di.position[0], di.position[1], shear_modulus, nu)
                s += (sxx, syy, sxy)
        out[i] = peach_koehler(di, *s)
    return out
