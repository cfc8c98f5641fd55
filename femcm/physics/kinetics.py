r"""Butler–Volmer electrode kinetics as pure UFL, with NumPy twins for verification [D].

.. math::

    i_{BV}(\eta) = i_0\left[\exp\!\left(\frac{\alpha_a F\eta}{RT}\right)
                 - \exp\!\left(-\frac{\alpha_c F\eta}{RT}\right)\right]
    \qquad\text{(anodic positive)},

with the charge-transfer overpotential :math:`\eta`. A film (interfacial) resistance
:math:`R_f` in series adds an ohmic drop, so the total interfacial drop for a current density
:math:`i` is :math:`\eta_{tot}(i) = \eta(i) + i R_f` with :math:`\eta = i_{BV}^{-1}`. That
relation is implicit in :math:`\eta`; :mod:`femcm.models.potential` keeps :math:`\eta` as an
unknown on the electrode (see there).

The UFL functions take dimensionless arguments or SI UFL expressions and never touch PETSc.
The NumPy functions (suffix ``_np`` and the inverses) are the closed forms the tests compare
against: :math:`\eta = (RT/(\alpha F))\,\mathrm{asinh}(i/(2 i_0))` for
:math:`\alpha_a = \alpha_c = \alpha`, a bracketed scalar root otherwise.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import ufl

from femcm.base.constants import FARADAY, R_GAS, T_DEFAULT
from femcm.base.errors import check_range

__all__ = [
    "ButlerVolmer",
    "asinh",
    "asinh_bv_dimensionless",
    "butler_volmer",
    "butler_volmer_np",
    "bv_dimensionless",
    "overpotential_np",
    "total_overpotential_np",
]


@dataclasses.dataclass(frozen=True)
class ButlerVolmer:
    """Butler–Volmer kinetics of one electrode (SI units).

    Attributes:
        i0: exchange current density, A/m² (> 0).
        alpha_a: anodic transfer coefficient, 1 (0 < α_a <= 1).
        alpha_c: cathodic transfer coefficient, 1 (0 < α_c <= 1).
        temperature: K (> 0).
        film_resistance: area-specific film (interfacial) resistance in series, Ω m² (>= 0).
    """

    i0: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    temperature: float = T_DEFAULT
    film_resistance: float = 0.0

    def __post_init__(self) -> None:
        check_range("i0", self.i0, gt=0)
        check_range("alpha_a", self.alpha_a, gt=0, le=1)
        check_range("alpha_c", self.alpha_c, gt=0, le=1)
        check_range("temperature", self.temperature, gt=0)
        check_range("film_resistance", self.film_resistance, ge=0)

    @property
    def thermal_voltage(self) -> float:
        """RT/F in volts."""
        return R_GAS * self.temperature / FARADAY

    @property
    def symmetric(self) -> bool:
        """True when α_a = α_c (the inverse is an asinh)."""
        return self.alpha_a == self.alpha_c


def bv_dimensionless(x, alpha_a, alpha_c):
    """exp(α_a x) − exp(−α_c x) for the scaled overpotential x = Fη/(RT) (UFL)."""
    return ufl.exp(alpha_a * x) - ufl.exp(-alpha_c * x)


def asinh(x):
    """Inverse hyperbolic sine in UFL (which has none), without cancellation for x < 0."""
    s = ufl.sqrt(x * x + 1)
    return ufl.conditional(ufl.ge(x, 0), ufl.ln(x + s), -ufl.ln(s - x))


def asinh_bv_dimensionless(x, alpha_a, alpha_c):
    """asinh(exp(α_a x) − exp(−α_c x)) in UFL, free of overflow for any x.

    The Butler–Volmer law seen through an asinh: nearly linear in x (slope α_a for x ≫ 1,
    α_c for x ≪ −1), which is what Newton likes. For x >= 0, with q = 1 − exp(−(α_a+α_c) x):
    α_a x + ln(q + sqrt(q² + exp(−2α_a x))); mirrored (α_a ↔ α_c) for x < 0.
    """

    def half(y, a, c):  # y >= 0: no exponential can overflow
        q = 1 - ufl.exp(-(a + c) * y)
        return a * y + ufl.ln(q + ufl.sqrt(q * q + ufl.exp(-2 * a * y)))

    # Each branch only ever sees a non-negative argument (the other one is clipped to 0 by a
    # conditional, whose derivative is exact on the active side, including x = 0).
    pos = ufl.ge(x, 0)
    y_pos = ufl.conditional(pos, x, 0.0)
    y_neg = ufl.conditional(pos, 0.0, -x)
    return ufl.conditional(pos, half(y_pos, alpha_a, alpha_c), -half(y_neg, alpha_c, alpha_a))


def butler_volmer(eta, kinetics: ButlerVolmer):
    """Butler–Volmer current density (A/m², anodic positive) for an overpotential η in V (UFL)."""
    x = eta / kinetics.thermal_voltage
    return kinetics.i0 * bv_dimensionless(x, kinetics.alpha_a, kinetics.alpha_c)


def butler_volmer_np(eta: np.ndarray | float, kinetics: ButlerVolmer) -> np.ndarray:
    """NumPy twin of :func:`butler_volmer`."""
    x = np.asarray(eta, dtype=float) / kinetics.thermal_voltage
    return kinetics.i0 * (np.exp(kinetics.alpha_a * x) - np.exp(-kinetics.alpha_c * x))


def overpotential_np(i: np.ndarray | float, kinetics: ButlerVolmer) -> np.ndarray:
    """Charge-transfer overpotential η (V) with i_BV(η) = i: the inverse Butler–Volmer law.

    Symmetric: η = (RT/(αF)) asinh(i/(2 i0)). Otherwise a bracketed root of the monotone
    function exp(α_a x) − exp(−α_c x) − i/i0 (bisection to round-off, then one Newton step).
    """
    k = kinetics
    r = np.asarray(i, dtype=float) / k.i0
    if k.symmetric:
        return k.thermal_voltage / k.alpha_a * np.arcsinh(r / 2)
    a, c = k.alpha_a, k.alpha_c
    # exp(a x) - exp(-c x) >= exp(a x) - 1 for x >= 0, and <= 1 - exp(-c x) for x <= 0.
    lo = np.where(r < 0, -np.log1p(np.abs(r)) / c, 0.0)
    hi = np.where(r > 0, np.log1p(np.abs(r)) / a, 0.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        g = np.exp(a * mid) - np.exp(-c * mid) - r
        lo = np.where(g < 0, mid, lo)
        hi = np.where(g < 0, hi, mid)
    x = 0.5 * (lo + hi)
    g = np.exp(a * x) - np.exp(-c * x) - r
    x = x - g / (a * np.exp(a * x) + c * np.exp(-c * x))
    return k.thermal_voltage * x


def total_overpotential_np(i: np.ndarray | float, kinetics: ButlerVolmer) -> np.ndarray:
    """Interfacial drop φ_s − φ − U_eq (V) for current density i: η(i) + i R_f."""
    return overpotential_np(i, kinetics) + np.asarray(i, dtype=float) * kinetics.film_resistance
