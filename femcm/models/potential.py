r"""Steady electric potential in a solid electrolyte with Butler–Volmer electrodes [D].

.. math::

    \nabla\cdot(\kappa\nabla\phi) = 0 \ \text{in } \Omega,\qquad i = -\kappa\nabla\phi,

with κ piecewise constant per phase (cell tag) and boundary pieces chosen by facet tag:

- :class:`AppliedCurrent` (galvanostatic): :math:`\kappa\nabla\phi\cdot n = i_{app}`, the
  current density flowing *into* the domain (n outward);
- :class:`FixedPotential` (potentiostatic): :math:`\phi = V`;
- :class:`Electrode`: Butler–Volmer kinetics (:mod:`femcm.physics.kinetics`) against a metal at
  potential :math:`\phi_s` with equilibrium potential :math:`U_{eq}`,
  :math:`\kappa\nabla\phi\cdot n = i_{BV}(\eta)`, :math:`\eta = \phi_s - \phi - U_{eq} - i_{BV}R_f`
  (anodic current, from the metal into the electrolyte, positive);
- every other facet: zero flux.

Weak form, for test functions v:

.. math::

    \int_\Omega \kappa\nabla\phi\cdot\nabla v\,dx - \sum \int_{\Gamma_{app}} i_{app} v\,ds
    - \sum \int_{\Gamma_{BV}} i_{BV}(\eta)\, v\,ds = 0 .

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

**Scaling.** Newton and MUMPS see O(1) numbers: φ in units of the thermal voltage
:math:`V_T = RT/F`, lengths in units of the domain size L, conductivities in units of the
largest κ, current densities in units of :math:`i_{ref} = \kappa_{max}V_T/L` (the current
density that drops one thermal voltage across the domain). Inputs and outputs are SI.

Nonlinear solve: PETSc SNES Newton with a backtracking line search by default (full Newton
steps on the exponentials overshoot by many decades at high overpotential), MUMPS LU, exact
Jacobian from UFL. A linear problem (no electrode) converges in one Newton step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import ufl
from dolfinx import fem, mesh

from mpi4py import MPI

from femcm.base.constants import FARADAY, R_GAS, T_DEFAULT
from femcm.base.errors import InputError, check_range
from femcm.fem.phases import piecewise_constant
from femcm.fem.postprocess import integrate
from femcm.physics.kinetics import ButlerVolmer, asinh, asinh_bv_dimensionless, bv_dimensionless
from femcm.solvers.nonlinear import NonlinearSolver
from femcm.solvers.stats import SolverStats

__all__ = [
    "FILM_NEWTON",
    "AppliedCurrent",
    "Boundary",
    "Electrode",
    "FixedPotential",
    "PotentialProblem",
    "bv_current",
    "ohmic_residual",
]


FILM_NEWTON: dict[str, Any] = {"snes_linesearch_type": "nleqerr"}
"""Newton options added with film electrodes: the potential rows (currents) and kinetics rows
(asinh of currents) have unrelated scales, so a residual-norm line search (``bt``) rejects
good steps; Deuflhard's error-oriented damping (``nleqerr``) is invariant to that scaling."""


def _tags(value: int | Sequence[int], owner: str) -> tuple[int, ...]:
    tags = (value,) if isinstance(value, int | np.integer) else tuple(value)
    if not tags or not all(isinstance(t, int | np.integer) for t in tags):
        raise InputError(f"{owner}.tags = {value!r} must be one facet tag or a list of them")
    return tuple(int(t) for t in tags)


@dataclasses.dataclass(frozen=True)
class AppliedCurrent:
    """Galvanostatic piece: current density (A/m²) flowing into the domain through ``tags``."""

    tags: tuple[int, ...]
    current_density: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _tags(self.tags, "AppliedCurrent"))
        check_range("current_density", self.current_density)


@dataclasses.dataclass(frozen=True)
class FixedPotential:
    """Potentiostatic piece: φ = ``potential`` (V) on ``tags``."""

    tags: tuple[int, ...]
    potential: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _tags(self.tags, "FixedPotential"))
        check_range("potential", self.potential)


@dataclasses.dataclass(frozen=True)
class Electrode:
    """Butler–Volmer piece against a metal at ``potential`` φ_s (V), equilibrium U_eq (V)."""

    tags: tuple[int, ...]
    kinetics: ButlerVolmer
    potential: float = 0.0
    equilibrium_potential: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _tags(self.tags, "Electrode"))
        if not isinstance(self.kinetics, ButlerVolmer):
            raise InputError(f"Electrode.kinetics = {self.kinetics!r} must be a ButlerVolmer")
        check_range("potential", self.potential)
        check_range("equilibrium_potential", self.equilibrium_potential)


Boundary = AppliedCurrent | FixedPotential | Electrode


def ohmic_residual(phi, v, kappa, dx: ufl.Measure):
    """∫ κ ∇φ·∇v dx (the bulk part of the residual, any consistent units)."""
    return ufl.inner(kappa * ufl.grad(phi), ufl.grad(v)) * dx


def bv_current(x, i0, alpha_a, alpha_c):
    """Butler–Volmer current i0 [exp(α_a x) − exp(−α_c x)] for the scaled overpotential x (UFL)."""
    return i0 * bv_dimensionless(x, alpha_a, alpha_c)


class PotentialProblem:
    """∇·(κ∇φ) = 0 with boundary pieces by facet tag; solve with :meth:`solve`.

    Args:
        msh: the mesh (metres).
        facet_tags: facet tags that the boundary pieces refer to.
        conductivity: κ (S/m) per cell tag, or one value everywhere.
        boundaries: the boundary pieces; facets not named are insulating.
        cell_tags: cell (phase) tags, needed when ``conductivity`` is a mapping.
        degree: Lagrange degree of φ.
        name: solver name (options prefix, log messages).
        options: PETSc SNES/KSP options overriding :data:`femcm.solvers.NEWTON_DEFAULTS`.
        stats: accumulates Newton and linear iterations.

    Attributes:
        phi: the potential (V), a Function updated by :meth:`solve`.
        current_density: i = −κ∇φ (A/m²) as UFL.
        u: the scaled unknown: φ/V_T (and i/i_ref on film electrodes as a second component).
        F, J: the scaled residual and its exact Jacobian (UFL forms).
        scales: the reference voltage (V), length (m), conductivity (S/m), current (A/m²).
    """

    def __init__(
        self,
        msh: mesh.Mesh,
        facet_tags: mesh.MeshTags,
        conductivity: Mapping[int, float] | float,
        boundaries: Sequence[Boundary],
        *,
        cell_tags: mesh.MeshTags | None = None,
        degree: int = 1,
        name: str = "potential",
        options: Mapping[str, Any] | None = None,
        stats: SolverStats | None = None,
    ):
        self.msh = msh
        self.facet_tags = facet_tags
        self.boundaries = tuple(boundaries)
        self.electrodes = tuple(b for b in self.boundaries if isinstance(b, Electrode))
        self.name = name
        check_range("degree", degree, ge=1)
        self._check_boundaries()
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)

        if isinstance(conductivity, Mapping):
            if cell_tags is None:
                raise InputError("PotentialProblem: per-phase conductivity needs cell_tags")
            kappa, ct = {int(t): k for t, k in conductivity.items()}, cell_tags
        else:
            kappa, ct = {0: conductivity}, None
        for tag, value in kappa.items():
            check_range(f"conductivity[{tag}]", value, gt=0)
        self.kappa = piecewise_constant(
            msh, ct, {t: float(k) for t, k in kappa.items()}, name="kappa"
        )

        # Reference scales (SI): thermal voltage, domain size, conductivity, current density.
        temperature = self.electrodes[0].kinetics.temperature if self.electrodes else T_DEFAULT
        gdim = msh.geometry.dim
        x = msh.geometry.x[:, :gdim]
        lo, hi = np.full(gdim, np.inf), np.full(gdim, -np.inf)
        if len(x):
            lo, hi = x.min(axis=0), x.max(axis=0)
        lo, hi = lo.copy(), hi.copy()
        msh.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
        msh.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
        v_ref = R_GAS * temperature / FARADAY
        l_ref = float(np.max(hi - lo))
        k_ref = max(float(k) for k in kappa.values())
        i_ref = k_ref * v_ref / l_ref
        self.scales = {"voltage": v_ref, "length": l_ref, "conductivity": k_ref, "current": i_ref}

        # Every number that enters the forms is a Constant: one compiled form per layout,
        # whatever the parameter values (studies and tests hit the JIT cache).
        def const(value: float) -> fem.Constant:
            return fem.Constant(msh, np.float64(value))

        c_dx = const(l_ref ** (2 - gdim))  # ∫ dx, ∫ ds over a mesh in metres -> dimensionless
        c_ds = const(l_ref ** (1 - gdim))

        film = [e for e in self.electrodes if e.kinetics.film_resistance > 0]
        shape = (2,) if film else ()
        self.space = fem.functionspace(msh, ("Lagrange", degree, shape))
        self.u = fem.Function(self.space, name="u_scaled")
        if film:
            self.scalar_space, self._phi_dofs = self.space.sub(0).collapse()
            phi_hat, j_hat = self.u[0], self.u[1]
            v, w = ufl.split(ufl.TestFunction(self.space))
        else:
            self.scalar_space, self._phi_dofs = self.space, None
            phi_hat, j_hat = self.u, None
            v, w = ufl.TestFunction(self.space), None
        self.phi = fem.Function(self.scalar_space, name="phi")

        ds = ufl.Measure("ds", domain=msh, subdomain_data=facet_tags)
        dx = ufl.Measure("dx", domain=msh)
        self.ds = ds
        kappa_hat = piecewise_constant(
            msh, ct, {t: float(k) / k_ref for t, k in kappa.items()}, name="kappa_scaled"
        )
        F = c_dx * ohmic_residual(phi_hat, v, kappa_hat, dx)
        bcs: list[fem.DirichletBC] = []
        self._eta_hat: dict[int, Any] = {}
        self._j_hat: dict[int, Any] = {}
        for k, piece in enumerate(self.boundaries):
            if isinstance(piece, AppliedCurrent):
                F -= c_ds * const(piece.current_density / i_ref) * v * ds(piece.tags)
            elif isinstance(piece, FixedPotential):
                V_bc = self.space.sub(0) if film else self.space
                dofs = fem.locate_dofs_topological(V_bc, tdim - 1, self._facets(piece.tags))
                value = np.float64(piece.potential / v_ref)
                bcs.append(fem.dirichletbc(value, dofs, V_bc))
            else:
                kin = piece.kinetics
                drop = const((piece.potential - piece.equilibrium_potential) / v_ref) - phi_hat
                i0, aa, ac = const(kin.i0 / i_ref), const(kin.alpha_a), const(kin.alpha_c)
                to_x = const(v_ref / kin.thermal_voltage)  # η/v_ref -> Fη/(RT) of this electrode
                if kin.film_resistance > 0:
                    j = j_hat
                    eta = drop - const(kin.film_resistance * i_ref / v_ref) * j
                    kinetics = asinh(j / i0) - asinh_bv_dimensionless(to_x * eta, aa, ac)
                    F += c_ds * kinetics * w * ds(piece.tags)
                else:
                    eta = drop
                    j = bv_current(to_x * eta, i0, aa, ac)
                self._eta_hat[k] = eta
                self._j_hat[k] = j
                F -= c_ds * j * v * ds(piece.tags)
        if film:
            bcs.append(self._film_off_electrodes(film))
        self.F = F
        self.J = ufl.derivative(F, self.u, ufl.TrialFunction(self.space))
        self.bcs = bcs
        self._first_solve = True
        opts = dict(FILM_NEWTON if film else {})
        opts.update(options or {})
        self.solver = NonlinearSolver(
            F, self.u, bcs, name=name, options=opts, J=self.J, stats=stats
        )

    # -- construction helpers --------------------------------------------------------------

    def _check_boundaries(self) -> None:
        seen: dict[int, int] = {}
        for k, piece in enumerate(self.boundaries):
            if not isinstance(piece, AppliedCurrent | FixedPotential | Electrode):
                raise InputError(f"boundaries[{k}] = {piece!r} is not a boundary piece")
            for t in piece.tags:
                if t in seen:
                    raise InputError(
                        f"boundaries[{k}]: facet tag {t} is already used by boundaries[{seen[t]}]"
                    )
                seen[t] = k
                n = self.msh.comm.allreduce(len(self.facet_tags.find(t)), op=MPI.SUM)
                if n == 0:
                    raise InputError(f"boundaries[{k}]: facet tag {t} marks no facets")
        if not any(isinstance(b, FixedPotential | Electrode) for b in self.boundaries):
            raise InputError(
                "boundaries: need at least one FixedPotential or Electrode (else φ is undefined)"
            )

    def _facets(self, tags: tuple[int, ...]) -> np.ndarray:
        return np.unique(np.concatenate([self.facet_tags.find(t) for t in tags]))

    def _film_off_electrodes(self, film: list[Electrode]) -> fem.DirichletBC:
        """Current fixed to 0 on every dof of the second component off the film electrodes."""
        tdim = self.msh.topology.dim
        W1 = self.space.sub(1)
        self.msh.topology.create_connectivity(tdim, tdim)
        ncells = self.msh.topology.index_map(tdim)
        cells = np.arange(ncells.size_local + ncells.num_ghosts, dtype=np.int32)
        every = fem.locate_dofs_topological(W1, tdim, cells)
        facets = self._facets(tuple(t for e in film for t in e.tags))
        on_film = fem.locate_dofs_topological(W1, tdim - 1, facets)
        off = np.setdiff1d(every, on_film).astype(np.int32)
        return fem.dirichletbc(np.float64(0.0), off, W1)

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
        if self._first_solve and any(isinstance(b, FixedPotential) for b in self.boundaries):
            its = self.solver.step()
        its += self.solver.solve()
        self._first_solve = False
        v_ref = self.scales["voltage"]
        if self._phi_dofs is None:
            self.phi.x.array[:] = v_ref * self.u.x.array
        else:
            self.phi.x.array[:] = v_ref * self.u.x.array[self._phi_dofs]
        return its

    @property
    def current_density(self):
        """Current density i = −κ∇φ (A/m²), UFL."""
        return -self.kappa * ufl.grad(self.phi)

    def _index(self, piece: Boundary) -> int:
        for k, b in enumerate(self.boundaries):
            if b is piece:
                return k
        raise InputError(f"{piece!r} is not a boundary piece of this problem")

    def overpotential(self, electrode: Electrode):
        """Charge-transfer overpotential η (V) on ``electrode``, UFL (valid on its facets)."""
        return self.scales["voltage"] * self._eta_hat[self._index(electrode)]

    def electrode_current(self, electrode: Electrode):
        """Electrode current density (A/m², anodic = into the electrolyte positive), UFL.

        Exactly the flux that enters the residual: i_BV(η) without a film, the current
        unknown with one.
        """
        return self.scales["current"] * self._j_hat[self._index(electrode)]

    def current_into(self, piece: Boundary) -> float:
        """Total current (A, per metre of depth in 2D) into the domain through ``piece``.

        Applied currents and electrodes integrate their flux law; a fixed potential uses the
        variationally consistent reaction ∫ κ∇φ·∇v_T dx − (known fluxes weighted by v_T),
        with v_T = 1 on the dofs of its facets, which conserves charge to solver precision.
        """
        self._index(piece)
        ds = self.ds(piece.tags)
        if isinstance(piece, AppliedCurrent):
            return integrate(piece.current_density * ds, self.msh.comm)
        if isinstance(piece, Electrode):
            return integrate(self.electrode_current(piece) * ds, self.msh.comm)
        tdim = self.msh.topology.dim
        v_t = fem.Function(self.scalar_space)
        dofs = fem.locate_dofs_topological(self.scalar_space, tdim - 1, self._facets(piece.tags))
        v_t.x.array[dofs] = 1.0
        v_t.x.scatter_forward()
        form = ufl.inner(self.kappa * ufl.grad(self.phi), ufl.grad(v_t)) * ufl.dx(domain=self.msh)
        for other in self.boundaries:
            if isinstance(other, AppliedCurrent):
                form -= other.current_density * v_t * self.ds(other.tags)
            elif isinstance(other, Electrode):
                form -= self.electrode_current(other) * v_t * self.ds(other.tags)
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
