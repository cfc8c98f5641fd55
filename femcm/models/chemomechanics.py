r"""Mixed c–μ–u chemo-mechanics [C]: the residual as a sum of small UFL terms, and its solver.

Unknowns: normalised concentration :math:`c`, chemical potential :math:`\mu`
(J/mol), optional displacement :math:`u` (m). With :math:`f = c_\max g(c) + \tfrac12\kappa
|\nabla c|^2 + \tfrac12\sigma:(\varepsilon - \varepsilon^*)` and
:math:`\sigma = \mathbb C : (\varepsilon(u) - \varepsilon^*(c))`,

.. math::

    c_\max \partial_t c = \nabla\cdot(M\nabla\mu) + s,\qquad
    \mu = g'(c) - \sigma : \frac{\partial\varepsilon^*}{\partial c}\frac1{c_\max}
          - \frac{\kappa}{c_\max}\nabla^2 c,\qquad
    \nabla\cdot\sigma + b = 0.

For the concentration eigenstrain :math:`\varepsilon^c = (c - c_\mathrm{ref}) c_\max\Omega/3`
the coupling term is :math:`-\sigma:\Omega/3` (the sign of [C]'s weak form (18) and of its
results: tension attracts Li).
Eigenstrain sources are anything with ``__call__(c) -> 3×3 UFL`` (:class:`EigenstrainSource`);
their c-derivative is taken by ``ufl.diff``, so a dislocation eigenstrain (independent of c)
plugs in without touching this module. The mobility's elastic curvature
:math:`(\partial\varepsilon^*/\partial c):\mathbb C:(\partial\varepsilon^*/\partial c)/c_\max`
is :math:`\tfrac19 c_\max C_{ijkl}\Omega_{ij}\Omega_{kl}` of [C] eq. (15).

Weak forms ([C] eqs. 16–18), θ-method in time (θ = 1: backward Euler), all terms divided by
the scales of :class:`Scales` so that every unknown is O(1): lengths by L, μ by the free
energy's scale e₀ (RT for the regular solution), time by :math:`t_0 = L^2 c_\max/(M_\mathrm{ref}
e_0)` (= L²/D₀ for [C]'s mobility), stress by a modulus s₀. Inputs and outputs are SI.

The Jacobian is ``ufl.derivative`` of the residual (SNES Newton, MUMPS LU by default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import basix.ufl
import numpy as np
import ufl
from dolfinx import fem, mesh

from mpi4py import MPI
from petsc4py import PETSc

from femcm.base.errors import InputError, check_range
from femcm.base.log import logger
from femcm.base.scales import Scales
from femcm.fem.postprocess import field, integrate
from femcm.fem.stiffness import Stiffness
from femcm.physics.chemistry import (
    FreeEnergy,
    Mobility,
    homogeneous_curvature,
    homogeneous_potential,
)
from femcm.physics.chemomechanics import (
    diffusion,
    gradient_energy,
    momentum_balance,
    potential_definition,
    storage,
    stress_coupling,
)
from femcm.physics.eigenstrains import EigenstrainSource
from femcm.physics.elasticity import hydrostatic, strain, von_mises
from femcm.solvers.nonlinear import NonlinearSolver
from femcm.solvers.nullspace import rigid_body_modes
from femcm.solvers.options import DIRECT, SolverChoice
from femcm.solvers.stats import SolverStats
from femcm.solvers.timestepping import Change

__all__ = ["Chemistry", "ChemoMechanics", "Mechanics", "Scales", "SolverOptions"]

Expr = ufl.core.expr.Expr


# --- typed parts ---------------------------------------------------------------------------


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


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """Newton and linear-solver settings of the coupled solve."""

    linear_solver: SolverChoice = SolverChoice.DIRECT
    """``direct`` (MUMPS LU) or ``iterative``: GMRES, preconditioned without mechanics by
    ASM/ILU(0), with mechanics by a multiplicative fieldsplit: LU (MUMPS) of the c–μ block,
    then GAMG with the rigid-body near-nullspace on u (the large block in 3D)."""
    bounds: str = "damped"
    """How c is kept in (0, 1): ``damped`` (safeguarded log, Newton steps shortened to stay
    inside), ``log`` (safeguarded log, inadmissible results rejected) or ``vi`` (SNES VI)."""
    rtol: float = 1e-9
    atol: float = 1e-10
    max_it: int = 25
    vi_margin: float = 1e-10
    """Distance of the VI bounds from 0 and 1."""
    fraction_to_boundary: float = 0.9
    """``damped``: a Newton step moves c at most this fraction of the way to 0 or 1."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "linear_solver", SolverChoice(self.linear_solver))
        except ValueError:
            raise InputError(
                f"parameter linear_solver = {self.linear_solver!r} is not allowed: "
                f"must be one of {', '.join(SolverChoice)}"
            ) from None
        if self.bounds not in ("damped", "log", "vi"):
            raise InputError(
                f"parameter bounds = {self.bounds!r} is not allowed: must be one of damped, log, vi"
            )
        check_range("rtol", self.rtol, gt=0.0, lt=1.0)
        check_range("atol", self.atol, gt=0.0)
        check_range("max_it", self.max_it, ge=1)


# --- the model -----------------------------------------------------------------------------


class ChemoMechanics:
    """The coupled problem on a mesh, one implicit step at a time (a ``timestepping.Evolution``).

    ``clock`` is an optional ``fem.Constant`` (seconds) referenced by time-dependent sources;
    the model sets it to the new time before each solve.
    """

    def __init__(
        self,
        msh: mesh.Mesh,
        chemistry: Chemistry,
        mechanics: Mechanics | None = None,
        *,
        scales: Scales,
        solver: SolverOptions = SolverOptions(),
        theta: float = 1.0,
        bcs: Callable[[fem.FunctionSpace], Sequence[fem.DirichletBC]] | None = None,
        clock: fem.Constant | None = None,
        stats: SolverStats | None = None,
        name: str = "chemomechanics",
    ):
        check_range("theta", theta, ge=0.5, le=1.0)
        self.msh = msh
        self.chem = chemistry
        self.mech = mechanics
        self.scales = scales
        self.options = solver
        self.stats = stats if stats is not None else SolverStats()
        self.clock = clock if clock is not None else fem.Constant(msh, 0.0)
        gdim = msh.geometry.dim
        self.gdim = gdim
        cell = msh.basix_cell()
        parts = [basix.ufl.element("Lagrange", cell, 1), basix.ufl.element("Lagrange", cell, 1)]
        if mechanics is not None:
            parts.append(basix.ufl.element("Lagrange", cell, mechanics.degree, shape=(gdim,)))
        self.W = fem.functionspace(msh, basix.ufl.mixed_element(parts))
        self.w = fem.Function(self.W, name="state")
        self.w_n = fem.Function(self.W, name="state_n")
        self.dt = fem.Constant(msh, 1.0)
        self.theta = fem.Constant(msh, float(theta))
        self._collapsed = []  # (collapsed space, its dofs' local indices in W)
        for i in range(len(parts)):
            V, dofs = self.W.sub(i).collapse()
            self._collapsed.append((V, np.asarray(dofs, dtype=np.int32).ravel()))
        # Vertex quadrature (mass lumping) for the time derivative and the pointwise part of
        # the μ equation: μ_i = g'(c_i) + ... holds at each vertex, so the logarithm keeps
        # every nodal c inside (0, 1). With the consistent mass matrix a vertex value can reach
        # 0 while the integrable log singularity stays finite (Copetti & Elliott 1992).
        # A fixed rule for the rest: with rational or logarithmic integrands the estimated
        # degrees of F and of its derivative differ, and Newton would lose its exact Jacobian.
        qdeg = 2 * (mechanics.degree if mechanics is not None else 1) + 2
        self.dx = ufl.dx(domain=msh, metadata={"quadrature_degree": qdeg})
        self.dx_lumped = ufl.dx(
            domain=msh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1}
        )

        self.F = self._residual()
        dir_bcs = list(bcs(self.W)) if bcs is not None else []
        if mechanics is not None:
            dir_bcs += list(mechanics.bcs(self.W.sub(2)))
        self.solver = NonlinearSolver(
            self.F, self.w, dir_bcs, name=name, options=self._petsc_options(), stats=self.stats
        )
        if solver.bounds == "vi":
            self._set_bounds()
        if solver.bounds == "damped":
            self.solver.snes.setLineSearchPreCheck(self._damp)
        if solver.linear_solver is SolverChoice.ITERATIVE:
            self._setup_fieldsplit()

    # UFL building blocks -------------------------------------------------------------------

    def grad(self, f: Expr) -> Expr:
        """Nondimensional gradient L ∇f."""
        return self.scales.length * ufl.grad(f)

    def split(self, w: fem.Function) -> tuple[Expr, Expr, Expr | None]:
        """(c, μ̂, û) of a state (μ̂ in units of e₀, û in units of L)."""
        s = ufl.split(w)
        return s[0], s[1], (s[2] if self.mech is not None else None)

    def eigenstrain(self, c: Expr) -> Expr:
        """Sum of the eigenstrain sources at c (3×3)."""
        eps = ufl.zero(3, 3)
        for src in self.mech.eigenstrains if self.mech is not None else ():
            eps = eps + src(c)
        return eps

    def stress_hat(self, c: Expr, u: Expr) -> Expr:
        """σ/s₀ = C:(ε(u) − ε*(c))/s₀."""
        return self.mech.stiffness.stress(self.scales.length * strain(u) - self.eigenstrain(c))

    def _terms(self, w: fem.Function) -> dict[str, Expr]:
        """μ̂_hom, μ̂_el, flux (M̂∇̂μ̂) and σ̂ of state w, sharing one c-variable."""
        c, mu, u = self.split(w)
        sc, chem = self.scales, self.chem
        cv = ufl.variable(c)
        fe = chem.free_energy
        mu_hom = ufl.diff(fe.density(cv), cv)
        curvature = sc.energy * homogeneous_curvature(fe, c)  # J/mol
        mu_ext = ufl.as_ufl(0.0)
        if chem.external_potential is not None:
            mu_ext = chem.external_potential / sc.energy
        mu_el = ufl.as_ufl(0.0)
        sigma = None
        if self.mech is not None:
            sigma = self.stress_hat(cv, u)
            deps = ufl.diff(self.eigenstrain(cv), cv)
            beta = sc.stress / (sc.energy * chem.c_max)
            mu_el = -beta * ufl.inner(sigma, deps)
            curvature = curvature + sc.stress / chem.c_max * self.mech.stiffness.contract(
                deps, deps
            )
        M = chem.mobility.shape(c, curvature)  # M / M_ref
        return {
            "mu_hom": mu_hom,
            "mu_ext": mu_ext,
            "mu_el": mu_el,
            "flux": M * self.grad(mu),
            "sigma": sigma,
        }

    def _residual(self) -> ufl.Form:
        sc, chem, d = self.scales, self.chem, self.gdim
        dx = self.dx
        vol = 1.0 / sc.length**d  # dx̂ = dx / L^d
        area = 1.0 / sc.length ** (d - 1)  # dŝ = ds / L^(d-1)
        tests = ufl.TestFunctions(self.W)
        q_c, q_mu = tests[0], tests[1]
        c, mu, _ = self.split(self.w)
        c_n, _, _ = self.split(self.w_n)
        now, before = self._terms(self.w), self._terms(self.w_n)
        kappa_hat = chem.kappa / (chem.c_max * sc.energy * sc.length**2)
        dxl = self.dx_lumped
        F = vol * storage(c, c_n, q_mu, self.dt) * dxl
        F += vol * diffusion(now["flux"], before["flux"], q_mu, self.theta, self.grad) * dx
        F += vol * potential_definition(mu, now["mu_hom"], now["mu_ext"], q_c) * dxl
        if self.mech is not None:
            # σ is discontinuous (DG0 for P1 u): a vertex rule would average it one-sidedly
            # at each vertex (O(h)); the consistent rule keeps the coupling O(h²).
            F += vol * stress_coupling(now["mu_el"], q_c) * dx
        if chem.kappa > 0:
            F += vol * gradient_energy(kappa_hat, c, q_c, self.grad) * dx
        flux_scale = sc.time / chem.c_max
        if chem.source is not None:
            F -= vol * flux_scale * chem.source * q_mu * dx
        for ds, jbar in chem.fluxes:
            F -= area * flux_scale / sc.length * jbar * q_mu * ds
        if self.mech is not None:
            eta = tests[2]
            F += vol * momentum_balance(now["sigma"], sc.length * strain(eta)) * dx
            if self.mech.body_force is not None:
                F -= vol * sc.length / sc.stress * ufl.inner(self.mech.body_force, eta) * dx
            for ds, t in self.mech.tractions:
                F -= area * ufl.inner(t / sc.stress, eta) * ds
        return F

    # solver set-up ---------------------------------------------------------------------------

    def _petsc_options(self) -> dict[str, Any]:
        o = self.options
        opts: dict[str, Any] = {
            "snes_rtol": o.rtol,
            "snes_atol": o.atol,
            "snes_max_it": o.max_it,
            "snes_linesearch_type": "basic",
            **DIRECT,
        }
        if o.bounds == "vi":
            opts["snes_type"] = "vinewtonrsls"
        if o.linear_solver is SolverChoice.ITERATIVE:
            opts |= {
                "ksp_type": "gmres",
                "ksp_rtol": 1e-8,
                "ksp_atol": 1e-14,
                "ksp_max_it": 500,
                "ksp_gmres_restart": 200,
                "pc_type": "asm" if self.mech is None else "fieldsplit",
                "pc_factor_mat_solver_type": None,  # drop the MUMPS default
            }
        return opts

    def _owned(self, i: int) -> np.ndarray:
        """Local indices (into w.x.array) of the owned dofs of subspace i."""
        n_owned = self.W.dofmap.index_map.size_local * self.W.dofmap.index_map_bs
        dofs = self._collapsed[i][1]
        return dofs[dofs < n_owned]

    def _set_bounds(self) -> None:
        x = self.solver.problem.x
        lo, hi = x.duplicate(), x.duplicate()
        lo.set(-PETSc.INFINITY)
        hi.set(PETSc.INFINITY)
        idx = self._owned(0)
        lo.array[idx] = self.options.vi_margin
        hi.array[idx] = 1.0 - self.options.vi_margin
        self.solver.snes.setVariableBounds(lo, hi)
        self._bounds = (lo, hi)

    def _damp(self, x: PETSc.Vec, y: PETSc.Vec) -> None:
        """Shorten the Newton step x − y to keep c inside (0, 1).

        Every c-dof moves at most a fraction τ of its distance to 0 or 1 (the
        fraction-to-boundary rule of interior-point methods).
        """
        idx = self._owned(0)
        c, d = x.array_r[idx], y.array_r[idx]
        tau = self.options.fraction_to_boundary
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = np.where(d > 0, tau * c / d, np.where(d < 0, tau * (1 - c) / -d, np.inf))
        lam = min(1.0, self.msh.comm.allreduce(float(lim.min()) if len(lim) else 1.0, op=MPI.MIN))
        if lam < 1.0:
            y.scale(lam)
            logger.debug("%s: Newton step damped by %.3e", self.solver.name, lam)

    def _global_is(self, local: np.ndarray) -> PETSc.IS:
        imap = self.W.dofmap.index_map
        g = imap.local_to_global(np.sort(local).astype(np.int32))
        return PETSc.IS().createGeneral(g.astype(PETSc.IntType), comm=self.msh.comm)

    def _setup_fieldsplit(self) -> None:
        pc = self.solver.snes.getKSP().getPC()
        if self.mech is None:
            pc.setASMOverlap(1)
            return
        is_cmu = self._global_is(np.concatenate([self._owned(0), self._owned(1)]))
        u_local = np.sort(self._owned(2))
        is_u = self._global_is(u_local)
        # rigid-body modes in the ordering of is_u (ascending local index = ascending global)
        Vu, umap = self._collapsed[2]
        pos = np.empty(
            self.W.dofmap.index_map.size_local * self.W.dofmap.index_map_bs
            + self.W.dofmap.index_map.num_ghosts,
            dtype=np.int64,
        )
        pos[np.asarray(umap)] = np.arange(len(umap))
        vecs = []
        for m in rigid_body_modes(Vu):  # orthonormal; the u block holds exactly Vu's dofs
            v = PETSc.Vec().createMPI((len(u_local), PETSc.DECIDE), comm=self.msh.comm)
            v.array[:] = m.array[pos[u_local]]
            vecs.append(v)
        ns = PETSc.NullSpace().create(vectors=vecs, comm=self.msh.comm)
        is_u.compose("nearnullspace", ns)
        pc.setFieldSplitIS(("cmu", is_cmu), ("u", is_u))
        pc.setFieldSplitType(PETSc.PC.CompositeType.MULTIPLICATIVE)
        self._fs = (is_cmu, is_u, ns, vecs)
        self._fs_configured = False

    def _configure_subsolvers(self) -> None:
        """Configure the fieldsplit blocks programmatically (needs assembled operators)."""
        snes = self.solver.snes
        ksp = snes.getKSP()
        x = self.solver.problem.x
        self.w.x.petsc_vec.copy(x)
        A = self.solver.problem.A
        snes.computeJacobian(x, A, A)
        ksp.setOperators(A, A)
        pc = ksp.getPC()
        pc.setUp()
        k_cmu, k_u = pc.getFieldSplitSubKSP()
        k_cmu.setType("preonly")
        p = k_cmu.getPC()
        p.setType("lu")
        p.setFactorSolverType("mumps")
        k_u.setType("preonly")
        pu = k_u.getPC()
        pu.setType("gamg")
        for k in (k_cmu, k_u):
            k.setFromOptions()
        self._fs_configured = True

    # Evolution protocol --------------------------------------------------------------------

    def solve_step(self, t_new: float, dt: float) -> int:
        """One θ-step of size dt (s) to time t_new (s) from the accepted state; Newton its."""
        self.dt.value = dt / self.scales.time
        self.clock.value = t_new
        if self.options.linear_solver is SolverChoice.ITERATIVE and self.mech is not None:
            if not self._fs_configured:
                self._configure_subsolvers()
        try:
            return self.solver.solve(raise_on_failure=False)
        except PETSc.Error as exc:  # e.g. a zero pivot on a wild iterate
            logger.info("%s: PETSc error %s", self.solver.name, exc)
            return -1

    def admissible(self) -> bool:
        """All owned c-dofs strictly inside (0, 1) and finite (collective)."""
        c = self.w.x.array[self._owned(0)]
        ok = bool(np.all(np.isfinite(self.w.x.array))) and (
            len(c) == 0 or (c.min() > 0.0 and c.max() < 1.0)
        )
        return bool(self.msh.comm.allreduce(ok, op=MPI.LAND))

    def accept(self) -> Change:
        """W_n ← w; returns max |Δc| and its RMS over the c-dofs (collective)."""
        idx = self._owned(0)
        local = self.w.x.array[idx] - self.w_n.x.array[idx]
        comm = self.msh.comm
        largest = comm.allreduce(float(np.abs(local).max()) if len(local) else 0.0, op=MPI.MAX)
        sq, n = comm.allreduce(np.array([local @ local, len(local)], dtype=float), op=MPI.SUM)
        self.w_n.x.array[:] = self.w.x.array
        self.stats.time_steps += 1
        return Change(largest, float(np.sqrt(sq / max(n, 1))))

    def reject(self) -> None:
        """W ← w_n."""
        self.w.x.array[:] = self.w_n.x.array

    # state, fields and reports -------------------------------------------------------------

    def set_initial(self, c0: Callable[[np.ndarray], np.ndarray] | float) -> None:
        """C from a callable of x (shape (3, n)) or a constant; μ̂ = ĝ'(c); u = 0."""
        Vc, cmap = self._collapsed[0]
        cf = fem.Function(Vc)
        if callable(c0):
            cf.interpolate(c0)
        else:
            cf.x.array[:] = float(c0)
        self.w.x.array[:] = 0.0
        self.w.x.array[cmap] = cf.x.array
        Vm, mmap = self._collapsed[1]
        mf = fem.Function(Vm)
        mu0 = homogeneous_potential(self.chem.free_energy, cf)
        mf.interpolate(fem.Expression(mu0, Vm.element.interpolation_points))
        self.w.x.array[mmap] = mf.x.array
        self.w.x.scatter_forward()
        self.w_n.x.array[:] = self.w.x.array

    def sigma(self, w: fem.Function | None = None) -> Expr | None:
        """σ in Pa (3×3 UFL), or None without mechanics."""
        if self.mech is None:
            return None
        c, _, u = self.split(self.w if w is None else w)
        return self.scales.stress * self.stress_hat(c, u)

    def fields(self) -> dict[str, fem.Function]:
        """c, μ (J/mol), and u (m), σ_h, von Mises (Pa) each in its own collapsed space."""
        out = {}
        for i, (name, scale) in enumerate(
            (("c", 1.0), ("mu", self.scales.energy), ("u", self.scales.length))
        ):
            if i >= len(self._collapsed):
                break
            V, dofs = self._collapsed[i]
            f = fem.Function(V, name=name)
            f.x.array[:] = scale * self.w.x.array[dofs]
            out[name] = f
        if self.mech is not None:
            k = max(self.mech.degree - 1, 0)
            s = self.sigma()
            out["sigma_h"] = field(hydrostatic(s), self.msh, "DG", k, "sigma_h")
            out["von_mises"] = field(von_mises(s), self.msh, "DG", k, "von_mises")
        return out

    def energies(self) -> dict[str, float]:
        """Free energy parts (J, or J/m per unit thickness in 2D) and ∫c dx (m^d)."""
        sc, chem = self.scales, self.chem
        c, _, _ = self.split(self.w)
        dx = ufl.dx(domain=self.msh)
        comm = self.msh.comm
        e = {
            "chemical": integrate(
                chem.c_max * sc.energy * chem.free_energy.density(c) * self.dx_lumped, comm
            ),
            "gradient": integrate(
                0.5 * chem.kappa * ufl.inner(ufl.grad(c), ufl.grad(c)) * dx, comm
            ),
            "elastic": 0.0,
        }
        if self.mech is not None:
            _, _, u = self.split(self.w)
            eps_el = sc.length * strain(u) - self.eigenstrain(c)
            e["elastic"] = integrate(0.5 * ufl.inner(self.sigma(), eps_el) * dx, comm)
        e["total"] = e["chemical"] + e["gradient"] + e["elastic"]
        e["c_integral"] = integrate(c * self.dx_lumped, comm)
        return e

    @property
    def dofs(self) -> int:
        """Global number of unknowns."""
        imap = self.W.dofmap.index_map
        return imap.size_global * self.W.dofmap.index_map_bs
