r"""Boundary pieces of the potential problem, each behind one protocol.

A piece names its facets by tag and, given the problem's :class:`Context`, returns its
:class:`Terms`: what it adds to the scaled residual, its Dirichlet conditions, and the current
density it lets into the domain. The problem sums the terms without asking which kind a piece
is, so a new kind of boundary is a new small class here and nothing else.

- :class:`AppliedCurrent` (galvanostatic): :math:`\kappa\nabla\phi\cdot n = i_{app}` (into the
  domain, n outward);
- :class:`FixedPotential` (potentiostatic): :math:`\phi = V`;
- :class:`Electrode`: Butler–Volmer kinetics against a metal at :math:`\phi_s`, equilibrium
  potential :math:`U_{eq}`, :math:`\eta = \phi_s - \phi - U_{eq} - i R_f` (anodic positive).
  With a film resistance :math:`R_f > 0` the current is an extra unknown *j* on the electrode,
  and the kinetics hold weakly through an asinh (below).

**Film resistance.** With :math:`R_f > 0` the overpotential is implicit in the current,
:math:`\eta = \phi_s - \phi - U_{eq} - i R_f`, :math:`i = i_{BV}(\eta)`. The interface
current density *i* then becomes a second unknown in the same Lagrange space, kept only on
the film electrodes (zero by a Dirichlet condition on every other dof). φ sees the linear
flux term :math:`-\int i\,v\,ds` and the kinetics hold weakly, seen through an asinh:

.. math::

    \int_{\Gamma_{BV}} \left[\mathrm{asinh}\frac{i}{i_0}
    - \mathrm{asinh}\frac{i_{BV}(\phi_s - \phi - U_{eq} - i R_f)}{i_0}\right] w\,ds = 0 .

Both sides grow only linearly in η or logarithmically in *i*, so damped Newton (the
error-oriented ``nleqerr`` line search, :data:`FILM_NEWTON`) converges in a handful of steps
where the direct form :math:`\eta + R_f i_{BV}(\eta) = \ldots` crept for dozens, and the
overflow-free form
:func:`femcm.physics.kinetics.asinh_bv_dimensionless` keeps every exponential bounded. The
Jacobian is the exact UFL derivative. Without a film no extra unknown is created and the
Butler–Volmer law enters the residual directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

import numpy as np
import ufl
from dolfinx import fem, mesh

from mpi4py import MPI

from femcm.base.errors import InputError, check_range
from femcm.base.scales import Scales
from femcm.physics.kinetics import ButlerVolmer, asinh, asinh_bv_dimensionless, bv_dimensionless

__all__ = [
    "AppliedCurrent",
    "BoundaryPiece",
    "Context",
    "Electrode",
    "FixedPotential",
    "Terms",
    "check_boundaries",
]

Expr = ufl.core.expr.Expr


class Context(NamedTuple):
    """What a piece needs from the problem to build its terms (scaled units, see Scales)."""

    scales: Scales
    phi: Expr
    """φ/V₀ (UFL)."""
    current: Expr | None
    """j/i₀, the electrode-current unknown (None without film electrodes)."""
    v: Expr
    """Test function of φ."""
    w: Expr | None
    """Test function of j."""
    surface_integral: Callable[[Expr, tuple[int, ...]], ufl.Form]
    """∫ integrand ds over the facets of tags, scaled (dimensionless)."""
    constant: Callable[[float], fem.Constant]
    potential_bc: Callable[[tuple[int, ...], float], fem.DirichletBC]
    """φ/V₀ = value on the facets of tags."""


class Terms(NamedTuple):
    """A piece's contribution; ``inflow`` is the scaled current density into the domain."""

    residual: ufl.Form | None = None
    bcs: Sequence[fem.DirichletBC] = ()
    inflow: Expr | None = None
    """None for a Dirichlet piece: its current is the variational reaction."""
    overpotential: Expr | None = None
    """η/V₀ on an electrode."""


class BoundaryPiece(Protocol):
    """A boundary condition of the potential problem on the facets of ``tags``."""

    tags: tuple[int, ...]

    @property
    def fixes_potential(self) -> bool:
        """True when the piece determines φ (else the problem is only defined up to a constant)."""
        ...

    @property
    def film_resistance(self) -> float:
        """Ω m² in series; > 0 asks the problem for an electrode-current unknown."""
        ...

    @property
    def temperature(self) -> float | None:
        """K, of kinetics that set the thermal voltage (None: no kinetics)."""
        ...

    def terms(self, ctx: Context) -> Terms:
        """The piece's terms in scaled units."""
        ...


def _tags(value: int | Sequence[int], owner: str) -> tuple[int, ...]:
    tags = (value,) if isinstance(value, int | np.integer) else tuple(value)
    if not tags or not all(isinstance(t, int | np.integer) for t in tags):
        raise InputError(f"{owner}.tags = {value!r} must be one facet tag or a list of them")
    return tuple(int(t) for t in tags)


@dataclasses.dataclass(frozen=True)
class _Piece:
    """What every piece shares: ``tags`` checked and made a tuple, its float fields finite.

    The defaults fit a piece without kinetics: no film, no temperature, φ left free.
    """

    tags: tuple[int, ...]
    fixes_potential = False
    film_resistance = 0.0
    temperature = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _tags(self.tags, type(self).__name__))
        for f in dataclasses.fields(self):
            if f.type == "float":
                check_range(f.name, getattr(self, f.name))


@dataclasses.dataclass(frozen=True)
class AppliedCurrent(_Piece):
    """Galvanostatic piece: current density (A/m²) flowing into the domain through ``tags``."""

    current_density: float

    def terms(self, ctx: Context) -> Terms:
        """−∫ i_app v ds."""
        i = ctx.constant(self.current_density / ctx.scales.current)
        return Terms(residual=ctx.surface_integral(-i * ctx.v, self.tags), inflow=i)


@dataclasses.dataclass(frozen=True)
class FixedPotential(_Piece):
    """Potentiostatic piece: φ = ``potential`` (V) on ``tags``."""

    potential: float
    fixes_potential = True

    def terms(self, ctx: Context) -> Terms:
        """φ = V, a Dirichlet condition."""
        return Terms(bcs=[ctx.potential_bc(self.tags, self.potential / ctx.scales.voltage)])


@dataclasses.dataclass(frozen=True)
class Electrode(_Piece):
    """Butler–Volmer piece against a metal at ``potential`` φ_s (V), equilibrium U_eq (V)."""

    kinetics: ButlerVolmer
    potential: float = 0.0
    equilibrium_potential: float = 0.0
    fixes_potential = True

    def __post_init__(self) -> None:
        if not isinstance(self.kinetics, ButlerVolmer):
            raise InputError(f"Electrode.kinetics = {self.kinetics!r} must be a ButlerVolmer")
        super().__post_init__()

    @property
    def film_resistance(self) -> float:
        """R_f of the kinetics, Ω m²."""
        return self.kinetics.film_resistance

    @property
    def temperature(self) -> float:
        """Temperature of the kinetics, K."""
        return self.kinetics.temperature

    def terms(self, ctx: Context) -> Terms:
        """−∫ i_BV(η) v ds, or with a film the current unknown and its asinh kinetics row."""
        sc, kin, const = ctx.scales, self.kinetics, ctx.constant
        drop = const((self.potential - self.equilibrium_potential) / sc.voltage) - ctx.phi
        i0, aa, ac = const(kin.i0 / sc.current), const(kin.alpha_a), const(kin.alpha_c)
        to_x = const(sc.voltage / kin.thermal_voltage)  # η/V₀ -> Fη/(RT)
        if self.film_resistance > 0:
            j = ctx.current
            eta = drop - const(self.film_resistance * sc.current / sc.voltage) * j
            kinetics = asinh(j / i0) - asinh_bv_dimensionless(to_x * eta, aa, ac)
            residual = ctx.surface_integral(kinetics * ctx.w - j * ctx.v, self.tags)
        else:
            eta = drop
            j = i0 * bv_dimensionless(to_x * eta, aa, ac)
            residual = ctx.surface_integral(-j * ctx.v, self.tags)
        return Terms(residual=residual, inflow=j, overpotential=eta)


def check_boundaries(
    boundaries: Sequence[BoundaryPiece], facet_tags: mesh.MeshTags, comm: MPI.Comm
) -> None:
    """Pieces are pieces, use distinct facet tags that mark facets, and one fixes φ."""
    seen: dict[int, int] = {}
    for k, piece in enumerate(boundaries):
        if not all(hasattr(piece, a) for a in ("tags", "terms", "fixes_potential")):
            raise InputError(f"boundaries[{k}] = {piece!r} is not a boundary piece")
        for t in piece.tags:
            if t in seen:
                raise InputError(
                    f"boundaries[{k}]: facet tag {t} is already used by boundaries[{seen[t]}]"
                )
            seen[t] = k
            n = comm.allreduce(len(facet_tags.find(t)), op=MPI.SUM)
            if n == 0:
                raise InputError(f"boundaries[{k}]: facet tag {t} marks no facets")
    if not any(b.fixes_potential for b in boundaries):
        raise InputError(
            "boundaries: need at least one FixedPotential or Electrode (else φ is undefined)"
        )
