"""Eigenstrain sources: anything that gives a 3×3 eigenstrain, possibly depending on c.

Models sum the sources they are given; a source that does not depend on c (a misfit, a
dislocation) plugs in next to the concentration eigenstrain without any change to the model.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import ufl

from femcm.base.errors import check_range

__all__ = ["ConcentrationEigenstrain", "EigenstrainSource", "isotropic_omega"]

Expr = ufl.core.expr.Expr


class EigenstrainSource(Protocol):
    """A 3×3 eigenstrain (dimensionless UFL), possibly depending on the concentration c."""

    def __call__(self, c: Expr) -> Expr:
        """ε*(c), 3×3."""
        ...


def isotropic_omega(omega: float) -> tuple[tuple[float, float, float], ...]:
    """Ω I (m³/mol) as a 3×3 tuple."""
    return ((omega, 0.0, 0.0), (0.0, omega, 0.0), (0.0, 0.0, omega))


@dataclasses.dataclass(frozen=True, eq=False)
class ConcentrationEigenstrain:
    """ε^c = (c − c_ref) c_max Ω / 3 [C]."""

    omega: tuple[tuple[float, float, float], ...] | Expr
    """Partial molar volume tensor Ω, m³/mol (3×3; :func:`isotropic_omega` for Ω I)."""
    c_max: float
    """Site density, mol/m³."""
    c_ref: float | Expr = 0.0
    """Stress-free concentration: a number or a per-phase DG0 field."""

    def __post_init__(self) -> None:
        check_range("c_max", self.c_max, gt=0.0)
        if isinstance(self.c_ref, float | int):
            check_range("c_ref", self.c_ref, ge=0.0, le=1.0)

    def __call__(self, c: Expr) -> Expr:
        """(c − c_ref) c_max Ω / 3."""
        return (c - self.c_ref) * self.c_max * ufl.as_matrix(self.omega) / 3
