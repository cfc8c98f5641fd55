"""The typed inputs of the c–μ–u model: its chemistry and its (optional) mechanics.

:class:`Chemistry` (free energy, gradient energy, mobility, sources and fluxes) and
:class:`Mechanics` (stiffness, Dirichlet conditions, eigenstrain sources, tractions, body force)
are what :class:`femcm.models.chemomechanics.ChemoMechanics` is built from; SI units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import ufl
from dolfinx import fem

from femcm.base.errors import InputError, check_range
from femcm.fem.stiffness import Stiffness
from femcm.physics.chemistry import FreeEnergy, Mobility
from femcm.physics.eigenstrains import EigenstrainSource

__all__ = ["Chemistry", "Mechanics"]

Expr = ufl.core.expr.Expr


@dataclasses.dataclass(frozen=True, eq=False)
class Mechanics:
    """Quasi-static small-strain mechanics coupled to c (optional part of the model)."""

    stiffness: Stiffness
    """Per-phase stiffness; its ``scale`` (Pa) is the stress unit used internally."""
    bcs: Callable[[fem.FunctionSpace], Sequence[fem.DirichletBC]]
    """Dirichlet conditions, given the displacement subspace (use its ``.sub(i)``). Values are
    in units of the length scale (u/L); zero for rollers and pins."""
    eigenstrains: tuple[EigenstrainSource, ...] = ()
    """Summed eigenstrain sources (concentration, dislocation, misfit, ...)."""
    tractions: tuple[tuple[ufl.Measure, Expr], ...] = ()
    """(ds(tag), t̄ in Pa) pairs."""
    body_force: Expr | None = None
    """b in N/m³ (e.g. a manufactured-solution source)."""
    degree: int = 1
    """Polynomial degree of u."""

    def __post_init__(self) -> None:
        check_range("degree", self.degree, ge=1, le=3)


@dataclasses.dataclass(frozen=True, eq=False)
class Chemistry:
    """Free energy, gradient energy, mobility, sources and fluxes of the c–μ system."""

    free_energy: FreeEnergy
    mobility: Mobility
    c_max: float
    """Site density, mol/m³."""
    kappa: float = 0.0
    """Gradient-energy coefficient κ, J/m (0: [C]'s model)."""
    fluxes: tuple[tuple[ufl.Measure, Expr], ...] = ()
    """(ds(tag), j̄) pairs: prescribed inward molar flux, mol/(m² s). Elsewhere zero flux."""
    source: Expr | None = None
    """Volumetric source, mol/(m³ s) (manufactured solutions)."""
    external_potential: Expr | None = None
    """Extra chemical potential, J/mol, e.g. −Ω σ_h of a prescribed stress field (one-way
    coupling: equilibrium segregation)."""

    def __post_init__(self) -> None:
        check_range("c_max", self.c_max, gt=0.0)
        check_range("kappa", self.kappa, ge=0.0)
        if self.mobility.requires_convex and self.free_energy.convexity_error:
            raise InputError(self.free_energy.convexity_error + " with the mobility of [C]")
