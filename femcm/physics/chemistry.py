r"""Homogeneous free energies and mobilities for the c–μ(–u) system, as small pure UFL functions.

Free energies are per mole of host sites, :math:`g(c)` in J/mol, so the free energy per volume
is :math:`c_\max g(c)` [C]. Each free energy carries its own energy scale
(``energy_scale``, J/mol) and returns :math:`\hat g = g/\text{energy\_scale}`; the chemical
potential follows by differentiation (:func:`homogeneous_potential`, ``ufl.diff``), never by
hand.

- :class:`RegularSolution`: :math:`g = RT[c\ln c + (1-c)\ln(1-c) + \chi c(1-c)]` [C].
- :class:`DoubleWell`: :math:`c_\max g = \rho_s (c-c_\alpha)^2(c_\beta-c)^2` in J/m³
  (the "polynomial" free energy of phase-field benchmarks).

Mobilities :math:`M(c)` in mol²/(J m s) are written as a reference value times a dimensionless
shape (``reference`` and ``shape(c, curvature)``):

- :class:`ConstantMobility`: :math:`M = M_0`.
- :class:`DegenerateMobility`: :math:`M = M_0\,c(1-c)`.
- :class:`CojocaruMobility`: [C] eq. (15), :math:`M = D_0 c_\max / (RT[1/(c(1-c)) - 2\chi]
  + \tfrac19 c_\max C_{ijkl}\Omega_{ij}\Omega_{kl})`,
  i.e. :math:`D_0 c_\max / (\partial^2 f/\partial c^2 / c_\max)`: the ``curvature`` argument
  is exactly that denominator (J/mol), which the model builds from the free energy and the
  stiffness. Positive only for a convex free energy (χ < 2), i.e. χ < 2.

With ``mobility_from_diffusivity`` a constant or degenerate mobility is given by a diffusivity:
:math:`M_0 = D_0 c_\max/(RT)`, so that dilute ideal diffusion is Fick's law with :math:`D_0`.

The logarithms are safeguarded (:func:`safe_log`): below a floor ε they continue as the
second-order Taylor polynomial, so a Newton iterate that overshoots c ≤ 0 or c ≥ 1 gives finite
residuals (the time-step driver then rejects the state).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol

import numpy as np
import ufl
from scipy import optimize

from femcm.base.constants import R_GAS, T_DEFAULT
from femcm.base.errors import InputError, check_range

__all__ = [
    "CojocaruMobility",
    "ConstantMobility",
    "DegenerateMobility",
    "DoubleWell",
    "FreeEnergy",
    "Mobility",
    "RegularSolution",
    "homogeneous_curvature",
    "homogeneous_potential",
    "mobility_from_diffusivity",
    "safe_log",
]

Expr = ufl.core.expr.Expr

LOG_FLOOR = 1e-12
"""Default ε of :func:`safe_log`."""


def safe_log(x: Expr, eps: float = LOG_FLOOR) -> Expr:
    """Ln x for x ≥ ε, continued below ε by its second-order Taylor polynomial (C², monotone).

    ln ε + (x − ε)/ε − (x − ε)²/(2ε²) is increasing and concave for x < ε, so the mixing
    entropy stays convex and finite for any Newton iterate.
    """
    d = x - eps
    below = math.log(eps) + d / eps - d**2 / (2 * eps**2)
    return ufl.conditional(ufl.ge(x, eps), ufl.ln(ufl.max_value(x, eps)), below)


class FreeEnergy(Protocol):
    """A homogeneous free energy g(c) per mole of sites."""

    @property
    def energy_scale(self) -> float:
        """Unit of g and μ used internally, J/mol."""
        ...

    @property
    def convexity_error(self) -> str | None:
        """None if g is convex on (0, 1), else a one-line message naming the parameter."""
        ...

    def density(self, c: Expr) -> Expr:
        """ĝ(c) = g(c) / energy_scale (dimensionless UFL)."""
        ...


@dataclasses.dataclass(frozen=True)
class RegularSolution:
    """Regular solution [C]: g = RT[c ln c + (1−c) ln(1−c) + χ c(1−c)]."""

    chi: float
    """Interaction parameter χ (dimensionless); phase separation for χ > 2."""
    T: float = T_DEFAULT
    """Temperature, K (> 0)."""
    log_floor: float = LOG_FLOOR
    """ε of the safeguarded logarithm (0 < ε < 1e-3)."""

    def __post_init__(self) -> None:
        check_range("chi", self.chi, ge=-50.0, le=50.0)
        check_range("T", self.T, gt=0.0)
        check_range("log_floor", self.log_floor, gt=0.0, lt=1e-3)

    @property
    def energy_scale(self) -> float:
        """RT, J/mol."""
        return R_GAS * self.T

    @property
    def convexity_error(self) -> str | None:
        """Convex on (0, 1) iff χ < 2."""
        if self.chi < 2:
            return None
        return f"parameter chi = {self.chi:g} is out of range: must be < 2 (convex free energy)"

    def density(self, c: Expr) -> Expr:
        """ĝ = c ln c + (1−c) ln(1−c) + χ c(1−c)."""
        e = self.log_floor
        return c * safe_log(c, e) + (1 - c) * safe_log(1 - c, e) + self.chi * c * (1 - c)

    def binodal(self) -> tuple[float, float]:
        """Coexisting compositions (common tangent): ln(c/(1−c)) = χ(2c − 1); χ > 2."""
        if self.chi <= 2:
            raise InputError(f"parameter chi = {self.chi:g}: no miscibility gap, must be > 2")
        lo = optimize.brentq(
            lambda c: np.log(c / (1 - c)) - self.chi * (2 * c - 1), 1e-300, 0.5 - 1e-9, xtol=1e-15
        )
        return float(lo), float(1 - lo)


@dataclasses.dataclass(frozen=True)
class DoubleWell:
    """Polynomial double well, per volume: f = ρ_s (c − c_α)² (c_β − c)² (J/m³)."""

    rho_s: float
    """Barrier scale ρ_s, J/m³ (> 0)."""
    c_alpha: float
    """Composition of the first well (0 ≤ c_α < c_β)."""
    c_beta: float
    """Composition of the second well (c_α < c_β ≤ 1)."""
    c_max: float
    """Site density c_max, mol/m³, converting J/m³ to J/mol."""

    def __post_init__(self) -> None:
        check_range("rho_s", self.rho_s, gt=0.0)
        check_range("c_alpha", self.c_alpha, ge=0.0, lt=1.0)
        check_range("c_beta", self.c_beta, gt=self.c_alpha, le=1.0)
        check_range("c_max", self.c_max, gt=0.0)

    @property
    def energy_scale(self) -> float:
        """ρ_s / c_max, J/mol."""
        return self.rho_s / self.c_max

    @property
    def convexity_error(self) -> str | None:
        """A double well is never convex."""
        return "parameter free_energy = 'polynomial' is not allowed here: it is not convex"

    def density(self, c: Expr) -> Expr:
        """ĝ = (c − c_α)² (c_β − c)²."""
        return (c - self.c_alpha) ** 2 * (self.c_beta - c) ** 2

    def binodal(self) -> tuple[float, float]:
        """The common-tangent compositions of a symmetric double well are its minima."""
        return self.c_alpha, self.c_beta

    def interface_width(self, kappa: float) -> float:
        """ℓ in c = c_α + (c_β − c_α)(1 + tanh(x/ℓ))/2; ℓ = √(2κ/ρ_s)/(c_β − c_α), m."""
        return math.sqrt(2 * kappa / self.rho_s) / (self.c_beta - self.c_alpha)


def homogeneous_potential(fe: FreeEnergy, c: Expr) -> Expr:
    """μ̂_hom = dĝ/dc (units of ``fe.energy_scale``), by ``ufl.diff``."""
    cv = ufl.variable(c)
    return ufl.diff(fe.density(cv), cv)


def homogeneous_curvature(fe: FreeEnergy, c: Expr) -> Expr:
    """d²ĝ/dc² (units of ``fe.energy_scale``), by ``ufl.diff``."""
    cv = ufl.variable(c)
    return ufl.diff(ufl.diff(fe.density(cv), cv), cv)


class Mobility(Protocol):
    """M(c) = reference · shape(c, curvature), mol²/(J m s)."""

    @property
    def reference(self) -> float:
        """M_ref, mol²/(J m s) (> 0)."""
        ...

    @property
    def requires_convex(self) -> bool:
        """True if the mobility is only positive for a convex free energy."""
        ...

    def shape(self, c: Expr, curvature: Expr) -> Expr:
        """M/M_ref; ``curvature`` = (∂²f/∂c²)/c_max in J/mol (chemical + elastic)."""
        ...


@dataclasses.dataclass(frozen=True)
class _ScaledMobility:
    """M = M0 · shape(c): the part shared by the constant and degenerate mobilities."""

    M0: float
    """mol²/(J m s) (> 0)."""

    def __post_init__(self) -> None:
        check_range("mobility", self.M0, gt=0.0)

    @property
    def reference(self) -> float:
        """M0."""
        return self.M0

    @property
    def requires_convex(self) -> bool:
        """No."""
        return False


@dataclasses.dataclass(frozen=True)
class ConstantMobility(_ScaledMobility):
    """M = M0."""

    def shape(self, c: Expr, curvature: Expr) -> Expr:
        """1."""
        return ufl.as_ufl(1.0)


@dataclasses.dataclass(frozen=True)
class DegenerateMobility(_ScaledMobility):
    """M = M0 c(1 − c)."""

    def shape(self, c: Expr, curvature: Expr) -> Expr:
        """c(1 − c)."""
        return c * (1 - c)


@dataclasses.dataclass(frozen=True)
class CojocaruMobility:
    """[C] eq. (15): M = D0 c_max / (∂²f/∂c² / c_max)."""

    D0: float
    """Dilute stress-free diffusivity, m²/s (> 0)."""
    c_max: float
    """Site density, mol/m³ (> 0)."""
    T: float = T_DEFAULT
    """Temperature, K (> 0)."""

    def __post_init__(self) -> None:
        check_range("D0", self.D0, gt=0.0)
        check_range("c_max", self.c_max, gt=0.0)
        check_range("T", self.T, gt=0.0)

    @property
    def reference(self) -> float:
        """D0 c_max / (RT)."""
        return self.D0 * self.c_max / (R_GAS * self.T)

    @property
    def requires_convex(self) -> bool:
        """Yes: the denominator vanishes at the spinodal."""
        return True

    def shape(self, c: Expr, curvature: Expr) -> Expr:
        """RT / curvature."""
        return R_GAS * self.T / curvature


def mobility_from_diffusivity(D0: float, c_max: float, T: float = T_DEFAULT) -> float:
    """M0 = D0 c_max / (RT), mol²/(J m s)."""
    return D0 * c_max / (R_GAS * T)
