r"""Steady electric potential in a solid electrolyte with Butler–Volmer electrodes [D].

.. math::

    \nabla\cdot(\kappa\nabla\phi) = 0 \ \text{in } \Omega,\qquad i = -\kappa\nabla\phi,

with κ piecewise constant per phase (cell tag) and boundary pieces chosen by facet tag
(:mod:`femcm.models.potential_boundaries`: applied current, fixed potential, Butler–Volmer
electrode, with an optional film resistance); every other facet has zero flux. Weak form:
:math:`\int_\Omega \kappa\nabla\phi\cdot\nabla v\,dx - \sum_{pieces} \int i_{in} v\,ds = 0`.

**Scaling.** Newton and MUMPS see O(1) numbers: φ in units of the thermal voltage
:math:`V_T = RT/F`, lengths in units of the domain size L, conductivities in units of the
largest κ, current densities in units of :math:`i_{ref} = \kappa_{max}V_T/L` (the current
density that drops one thermal voltage across the domain). Inputs and outputs are SI.

Nonlinear solve: PETSc SNES Newton with a backtracking line search by default (full Newton
steps on the exponentials overshoot by many decades at high overpotential), MUMPS LU, exact
Jacobian from UFL. A linear problem (no electrode) converges in one Newton step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import ufl
from dolfinx import fem, mesh

from femcm.base.constants import FARADAY, R_GAS, T_DEFAULT
from femcm.base.errors import InputError, check_range
from femcm.base.scales import Scales
from femcm.fem.bcs import zero_off_facets
from femcm.fem.geometry import bounding_box
from femcm.fem.phases import piecewise_constant
from femcm.fem.postprocess import integrate
from femcm.models.potential_boundaries import (
    AppliedCurrent,
    BoundaryPiece,
    Context,
    Electrode,
    FixedPotential,
    Terms,
    check_boundaries,
)
from femcm.physics.conduction import current_density, ohmic_residual
from femcm.solvers.nonlinear import NonlinearSolver
from femcm.solvers.options import SolverChoice, linear_options
from femcm.solvers.stats import SolverStats

__all__ = [
    "FILM_NEWTON",
    "AppliedCurrent",
    "BoundaryPiece",
    "Electrode",
    "FixedPotential",
    "PotentialProblem",
]


FILM_NEWTON: dict[str, Any] = {"snes_linesearch_type": "nleqerr"}
"""Newton options added with film electrodes: the potential rows (currents) and kinetics rows
(asinh of currents) have unrelated scales, so a residual-norm line search (``bt``) rejects
good steps; Deuflhard's error-oriented damping (``nleqerr``) is invariant to that scaling."""


def _conductivities(
    conductivity: Mapping[int, float] | float, cell_tags: mesh.MeshTags | None
) -> tuple[dict[int, float], mesh.MeshTags | None]:
    """κ per tag (checked > 0), and the cell tags to use (None: one value everywhere)."""
    if isinstance(conductivity, Mapping):
        if cell_tags is None:
            raise InputError("PotentialProblem: per-phase conductivity needs cell_tags")
        kappa, ct = {int(t): float(k) for t, k in conductivity.items()}, cell_tags
    else:
        kappa, ct = {0: conductivity}, None
    for tag, value in kappa.items():
        check_range(f"conductivity[{tag}]", value, gt=0)
    return kappa, ct


class PotentialProblem:
    """∇·(κ∇φ) = 0 with boundary pieces by facet tag; solve with :meth:`solve`.

    Args:
        msh: the mesh (metres).
        facet_tags: facet tags that the boundary pieces refer to.
        conductivity: κ (S/m) per cell tag, or one value everywhere.
        boundaries: the boundary pieces; facets not named are insulating.
        cell_tags: cell (phase) tags, needed when ``conductivity`` is a mapping.
        degree: Lagrange degree of φ.
        solver: ``direct`` (MUMPS) or ``iterative`` (Krylov + GAMG) linear solves.
        name: solver name (options prefix, log messages).
        options: PETSc SNES/KSP options overriding the defaults.
        stats: accumulates Newton and linear iterations.

    Attributes:
        phi: the potential (V), a Function updated by :meth:`solve`.
        current_density: i = −κ∇φ (A/m²) as UFL.
        u: the scaled unknown: φ/V₀ (and j/i₀ on film electrodes as a second component).
        F, J: the scaled residual and its exact Jacobian (UFL forms).
        scales: thermal voltage V₀, domain size L, largest conductivity κ₀ (i₀ = κ₀V₀/L).
    """

    def __init__(
        self,
        msh: mesh.Mesh,
        facet_tags: mesh.MeshTags,
        conductivity: Mapping[int, float] | float,
        boundaries: Sequence[BoundaryPiece],
        *,
        cell_tags: mesh.MeshTags | None = None,
        degree: int = 1,
        solver: SolverChoice | str = SolverChoice.DIRECT,
        name: str = "potential",
        options: Mapping[str, Any] | None = None,
        stats: SolverStats | None = None,
    ):
        self.msh = msh
        self.facet_tags = facet_tags
        self.boundaries = tuple(boundaries)
        check_range("degree", degree, ge=1)
        check_boundaries(self.boundaries, facet_tags, msh.comm)
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        kappa, ct = _conductivities(conductivity, cell_tags)
        self.kappa = piecewise_constant(msh, ct, kappa, name="kappa")

        temperatures = [b.temperature for b in self.boundaries if b.temperature is not None]
        temperature = temperatures[0] if temperatures else T_DEFAULT
        lo, hi = bounding_box(msh)
        self.scales = Scales(
            length=float(np.max(hi - lo)),
            voltage=R_GAS * temperature / FARADAY,
            conductivity=max(kappa.values()),
        )
        sc = self.scales
        film = [b for b in self.boundaries if b.film_resistance > 0]
        self.space = fem.functionspace(msh, ("Lagrange", degree, (2,) if film else ()))
        self.u = fem.Function(self.space, name="u_scaled")
        if film:
            self.scalar_space, self._phi_dofs = self.space.sub(0).collapse()
            phi_hat, j_hat = self.u[0], self.u[1]
            v, w = ufl.split(ufl.TestFunction(self.space))
        else:
            self.scalar_space, self._phi_dofs = self.space, None
            phi_hat, j_hat, v, w = self.u, None, ufl.TestFunction(self.space), None
        self.phi = fem.Function(self.scalar_space, name="phi")
        self.ds = ufl.Measure("ds", domain=msh, subdomain_data=facet_tags)

        gdim = msh.geometry.dim
        # Every number in the forms is a Constant: one compiled form per layout, whatever the
        # parameter values (studies and tests hit the JIT cache).
        c_dx = self._constant(sc.length ** (2 - gdim))  # ∫ dx, ∫ ds in metres -> scaled
        c_ds = self._constant(sc.length ** (1 - gdim))
        bc_space = self.space.sub(0) if film else self.space
        ctx = Context(
            scales=sc,
            phi=phi_hat,
            current=j_hat,
            v=v,
            w=w,
            surface_integral=lambda expr, tags: c_ds * expr * self.ds(tags),
            constant=self._constant,
            potential_bc=lambda tags, value: fem.dirichletbc(
                np.float64(value),
                fem.locate_dofs_topological(bc_space, tdim - 1, self._facets(tags)),
                bc_space,
            ),
        )
        kappa_hat = piecewise_constant(
            msh, ct, {t: k / sc.conductivity for t, k in kappa.items()}, name="kappa_scaled"
        )
        self.terms: list[Terms] = [b.terms(ctx) for b in self.boundaries]
        F = c_dx * ohmic_residual(phi_hat, v, kappa_hat, ufl.dx(domain=msh))
        F = sum((t.residual for t in self.terms if t.residual is not None), F)
        self.bcs = [bc for t in self.terms for bc in t.bcs]
        if film:
            on_film = self._facets(tuple(t for e in film for t in e.tags))
            self.bcs.append(zero_off_facets(self.space.sub(1), on_film))
        self.F = F
        self.J = ufl.derivative(F, self.u, ufl.TrialFunction(self.space))
        self._lift_first = any(t.bcs for t in self.terms)
        opts = linear_options(solver)
        if film:
            opts |= FILM_NEWTON | ({"ksp_type": "gmres"} if opts["ksp_type"] == "cg" else {})
        opts.update(options or {})
        self.solver = NonlinearSolver(
            F, self.u, self.bcs, name=name, options=opts, J=self.J, stats=stats
        )

    # -- construction helpers --------------------------------------------------------------

    def _constant(self, value: float) -> fem.Constant:
        return fem.Constant(self.msh, np.float64(value))

    def _facets(self, tags: Sequence[int]) -> np.ndarray:
        return np.unique(np.concatenate([self.facet_tags.find(t) for t in tags]))

    # -- solve and results -----------------------------------------------------------------

    def solve(self) -> int:
        """Newton from the current state (zero at construction); returns the iteration count.

        The Dirichlet values are imposed on the state first. With fixed potentials the first
        Newton step is taken on its own: the residual of the lifted zero state is dominated by
        the one-cell-thick potential jump next to the Dirichlet facets (L/h times the physical
        current), and the relative stopping test must refer to the physics, not to the lifting
        (otherwise the charge balance only holds to ~1e-9).
        """
        for bc in self.bcs:
            bc.set(self.u.x.array)
        its = 0
        if self._lift_first:
            its = self.solver.step()
            self._lift_first = False
        its += self.solver.solve()
        phi = self.u.x.array if self._phi_dofs is None else self.u.x.array[self._phi_dofs]
        self.phi.x.array[:] = self.scales.voltage * phi
        return its

    @property
    def current_density(self):
        """Current density i = −κ∇φ (A/m²), UFL."""
        return current_density(self.phi, self.kappa)

    def _terms_of(self, piece: BoundaryPiece) -> Terms:
        for b, t in zip(self.boundaries, self.terms, strict=True):
            if b is piece:
                return t
        raise InputError(f"{piece!r} is not a boundary piece of this problem")

    def overpotential(self, electrode: Electrode):
        """Charge-transfer overpotential η (V) on ``electrode``, UFL (valid on its facets)."""
        return self.scales.voltage * self._terms_of(electrode).overpotential

    def electrode_current(self, electrode: BoundaryPiece):
        """Current density into the domain through a flux piece (A/m², UFL).

        Exactly the flux that enters the residual: i_BV(η) without a film, the current unknown
        with one, i_app for an applied current.
        """
        return self.scales.current * self._terms_of(electrode).inflow

    def current_into(self, piece: BoundaryPiece) -> float:
        """Total current (A, per metre of depth in 2D) into the domain through ``piece``.

        Flux pieces integrate their flux law; a Dirichlet piece uses the variationally
        consistent reaction ∫ κ∇φ·∇v_T dx − (known fluxes weighted by v_T), with v_T = 1 on
        the dofs of its facets, which conserves charge to solver precision.
        """
        terms = self._terms_of(piece)
        if terms.inflow is not None:
            return integrate(
                self.scales.current * terms.inflow * self.ds(piece.tags), self.msh.comm
            )
        tdim = self.msh.topology.dim
        v_t = fem.Function(self.scalar_space)
        dofs = fem.locate_dofs_topological(self.scalar_space, tdim - 1, self._facets(piece.tags))
        v_t.x.array[dofs] = 1.0
        v_t.x.scatter_forward()
        form = ufl.inner(self.kappa * ufl.grad(self.phi), ufl.grad(v_t)) * ufl.dx(domain=self.msh)
        for other, t in zip(self.boundaries, self.terms, strict=True):
            if t.inflow is not None:
                form -= self.scales.current * t.inflow * v_t * self.ds(other.tags)
        return integrate(form, self.msh.comm)

    def owned_dofs_on(self, tags: Sequence[int]) -> np.ndarray:
        """Boolean mask over the owned dofs of the scalar space: dof lies on a facet of ``tags``."""
        V = self.scalar_space
        n = V.dofmap.index_map.size_local
        mask = np.zeros(n, dtype=bool)
        dofs = fem.locate_dofs_topological(V, self.msh.topology.dim - 1, self._facets(tuple(tags)))
        mask[dofs[dofs < n]] = True
        return mask

    @property
    def dofs(self) -> int:
        """Global number of unknowns (both components with a film)."""
        im = self.space.dofmap.index_map
        return im.size_global * self.space.dofmap.index_map_bs
