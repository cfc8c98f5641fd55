r"""Mixed c–μ–u chemo-mechanics [C]: the model on a mesh, its state and time steps.

Unknowns: normalised concentration :math:`c`, chemical potential :math:`\mu` (J/mol),
optional displacement :math:`u` (m), with :math:`\sigma = \mathbb C:(\varepsilon(u) -
\varepsilon^*(c))` and

.. math::

    c_\max \partial_t c = \nabla\cdot(M\nabla\mu) + s,\qquad
    \mu = g'(c) - \sigma : \frac{\partial\varepsilon^*}{\partial c}\frac1{c_\max}
          - \frac{\kappa}{c_\max}\nabla^2 c,\qquad
    \nabla\cdot\sigma + b = 0.

The residual terms are in :mod:`femcm.physics.chemomechanics` (eigenstrain sources plug in
through ``ufl.diff``), the Newton and linear solvers in :mod:`femcm.solvers.coupled`. Time:
variable-step BDF set by the driver (:meth:`ChemoMechanics.set_scheme`), θ-weighted flux for
backward-Euler steps. Inside, everything is scaled by :class:`Scales` (L, e₀, t₀ = L² c_max/
(M_ref e₀), s₀); inputs and outputs are SI. The typed inputs (:class:`Chemistry`,
:class:`Mechanics`) are in :mod:`femcm.models.chemomechanics_inputs`, the derived fields and
energies in :mod:`femcm.models.chemomechanics_fields`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import basix.ufl
import numpy as np
import ufl
from dolfinx import fem, la, mesh

from mpi4py import MPI

from femcm.base.errors import InputError, check_range
from femcm.base.scales import Scales
from femcm.fem.nodal_tables import parts as subspaces
from femcm.models import chemomechanics_fields as derived
from femcm.models.chemomechanics_inputs import Chemistry, Mechanics
from femcm.physics import chemomechanics as terms
from femcm.physics.chemistry import homogeneous_potential
from femcm.solvers.bdf import BACKWARD_EULER, Scheme
from femcm.solvers.bounds import clip_step
from femcm.solvers.coupled import Blocks, CoupledNewton, SolverOptions
from femcm.solvers.evolution import Change
from femcm.solvers.stats import SolverStats

__all__ = ["Chemistry", "ChemoMechanics", "Mechanics", "Scales", "SolverOptions"]

Expr = ufl.core.expr.Expr


class ChemoMechanics:
    """The coupled problem on a mesh, one implicit step at a time (a ``MultistepEvolution``).

    ``clock``: an optional ``fem.Constant`` (s) that time-dependent sources refer to; it is
    set to the new time before each solve.
    """

    def __init__(
        self,
        msh: mesh.Mesh,
        chemistry: Chemistry,
        mechanics: Mechanics | None = None,
        *,
        scales: Scales,
        solver: SolverOptions | None = None,
        theta: float = 1.0,
        bcs: Callable[[fem.FunctionSpace], Sequence[fem.DirichletBC]] | None = None,
        clock: fem.Constant | None = None,
        stats: SolverStats | None = None,
        name: str = "chemomechanics",
    ):
        check_range("theta", theta, ge=0.5, le=1.0)
        solver = solver if solver is not None else SolverOptions()
        self.msh, self.chem, self.mech, self.scales = msh, chemistry, mechanics, scales
        self.comm: MPI.Comm = msh.comm
        self.stats = stats if stats is not None else SolverStats()
        self.clock = clock if clock is not None else fem.Constant(msh, 0.0)
        cell = msh.basix_cell()
        parts = [basix.ufl.element("Lagrange", cell, 1), basix.ufl.element("Lagrange", cell, 1)]
        if mechanics is not None:
            shape = (msh.geometry.dim,)
            parts.append(basix.ufl.element("Lagrange", cell, mechanics.degree, shape=shape))
        self.W = fem.functionspace(msh, basix.ufl.mixed_element(parts))
        self.w, self.w_n, self.w_nm1 = (fem.Function(self.W, name=n) for n in ("w", "wn", "wnm1"))
        self.dt = fem.Constant(msh, 1.0)
        self.theta = fem.Constant(msh, float(theta))
        self.a = [fem.Constant(msh, v) for v in (1.0, -1.0, 0.0)]  # BDF coefficients
        self.scheme = BACKWARD_EULER
        self._collapsed = subspaces(self.W)  # (collapsed space, dofs in W) of c, μ(, u)
        self._energy_forms: dict[str, fem.Form | None] | None = None  # built on first use
        self._owned_c = self._owned(0)
        # Vertex quadrature (mass lumping) for ∂c/∂t and the pointwise part of the μ equation:
        # the logarithm then keeps every nodal c in (0, 1) (Copetti & Elliott 1992). A fixed
        # rule elsewhere keeps Newton's Jacobian exact with rational or log integrands.
        qdeg = 2 * (mechanics.degree if mechanics is not None else 1) + 2
        self.dx = ufl.dx(domain=msh, metadata={"quadrature_degree": qdeg})
        self.dx_lumped = ufl.dx(
            domain=msh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1}
        )
        self.F = terms.residual(
            chemistry, mechanics, scales, ufl.TestFunctions(self.W), self.split(self.w),
            self.split(self.w_n), ufl.split(self.w_nm1)[0], a=self.a, dt=self.dt,
            theta=self.theta, dx=self.dx, dx_lumped=self.dx_lumped,
        )  # fmt: skip
        dir_bcs = list(bcs(self.W)) if bcs is not None else []
        blocks = None
        if mechanics is not None:
            dir_bcs += list(mechanics.bcs(self.W.sub(2)))
            probe = fem.Function(self.W)
            probe.x.array[self._collapsed[0][1]] = 0.5
            cmu = np.concatenate([self._owned(0), self._owned(1)])
            blocks = Blocks(cmu, self._collapsed[2], probe)
        self.newton = CoupledNewton(
            self.F, self.w, dir_bcs, solver, bounded=self._owned_c, blocks=blocks, name=name,
            stats=self.stats,
        )  # fmt: skip
        self._weights = self._lumped_mass()

    def _owned(self, i: int) -> np.ndarray:
        """Local indices (into w.x.array) of the owned dofs of subspace i."""
        n_owned = self.W.dofmap.index_map.size_local * self.W.dofmap.index_map_bs
        dofs = self._collapsed[i][1]
        return dofs[dofs < n_owned]

    def _lumped_mass(self) -> np.ndarray:
        """Owned lumped-mass weights of the c-dofs, in the order of :meth:`monitored`."""
        q = ufl.TestFunctions(self.W)[0]
        vec = fem.assemble_vector(fem.form(q * self.dx_lumped))
        vec.scatter_reverse(la.InsertMode.add)
        return vec.array[self._owned_c].copy()

    def split(self, w: fem.Function) -> tuple[Expr, Expr, Expr | None]:
        """(c, μ̂, û) of a state (μ̂ in units of e₀, û in units of L)."""
        s = ufl.split(w)
        return s[0], s[1], (s[2] if self.mech is not None else None)

    def eigenstrain(self, c: Expr) -> Expr:
        """Sum of the eigenstrain sources at c (3×3)."""
        return terms.eigenstrain(self.mech, c)

    def set_scheme(self, scheme: Scheme) -> None:
        """BDF coefficients of the next step (BDF2 needs θ = 1)."""
        if scheme.order > 1 and self.theta.value != 1.0:
            raise InputError(f"parameter theta = {self.theta.value:g} needs first-order steps")
        self.scheme = scheme
        for const, v in zip(self.a, scheme[1:4], strict=True):
            const.value = v

    def solve_step(self, t_new: float, dt: float) -> int:
        """One step of size dt (s) to time t_new (s) from the accepted states; Newton its.

        Newton starts from the linear extrapolation of the last two states (each c-dof kept
        at most 90 % of the way to 0 or 1), or from the last state on a first step.
        """
        self.dt.value = dt / self.scales.time
        self.clock.value = t_new
        x, xn = self.w.x.array, self.w_n.x.array
        x[:] = xn
        if self.scheme.ratio > 0:
            d = self.scheme.ratio * (xn - self.w_nm1.x.array)
            c = self._collapsed[0][1]
            d[c] *= clip_step(xn[c], d[c], 0.9)
            x += d
        return self.newton.solve()

    def admissible(self) -> bool:
        """All owned c-dofs strictly inside (0, 1) and finite (collective)."""
        c = self.w.x.array[self._owned_c]
        ok = np.all(np.isfinite(self.w.x.array)) and np.all((c > 0.0) & (c < 1.0))
        return bool(self.comm.allreduce(bool(ok), op=MPI.LAND))

    def accept(self) -> Change:
        """w_n−1 ← w_n ← w; returns max |Δc| and its RMS over the c-dofs (collective)."""
        idx = self._owned_c
        change = Change.of(self.w.x.array[idx] - self.w_n.x.array[idx], self.comm)
        self.w_nm1.x.array[:] = self.w_n.x.array
        self.w_n.x.array[:] = self.w.x.array
        self.stats.time_steps += 1
        return change

    def reject(self) -> None:
        """W ← w_n."""
        self.w.x.array[:] = self.w_n.x.array

    def monitored(self) -> np.ndarray:
        """Owned c values of the current state (the error-controlled unknown)."""
        return self.w.x.array[self._owned_c].copy()

    def monitored_coordinates(self) -> np.ndarray:
        """Coordinates (m) of the nodes of :meth:`monitored`, shape (n, 3)."""
        Vc, cmap = self._collapsed[0]
        n_owned = self.W.dofmap.index_map.size_local * self.W.dofmap.index_map_bs
        return Vc.tabulate_dof_coordinates()[cmap < n_owned]

    def state(self) -> dict[str, fem.Function]:
        """The last accepted state and the one before it: all that a restart needs.

        After setting them (a restart), call :meth:`reject` to make the current state match.
        """
        return {"w_n": self.w_n, "w_nm1": self.w_nm1}

    def monitored_weights(self) -> np.ndarray:
        """Lumped-mass weights of :meth:`monitored` (m^d / L^d)."""
        return self._weights

    def set_initial(self, c0: Callable[[np.ndarray], np.ndarray] | float) -> None:
        """C from a callable of x (shape (3, n)) or a constant; μ̂ = ĝ'(c); u = 0."""
        (Vc, cmap), (Vm, mmap) = self._collapsed[:2]
        cf, mf = fem.Function(Vc), fem.Function(Vm)
        cf.interpolate(c0) if callable(c0) else cf.x.array.fill(float(c0))
        mu0 = homogeneous_potential(self.chem.free_energy, cf)
        mf.interpolate(fem.Expression(mu0, Vm.element.interpolation_points))
        self.w.x.array[:] = 0.0
        self.w.x.array[cmap], self.w.x.array[mmap] = cf.x.array, mf.x.array
        self.w.x.scatter_forward()
        self.w_n.x.array[:] = self.w_nm1.x.array[:] = self.w.x.array

    def sigma(self, w: fem.Function | None = None) -> Expr | None:
        """σ in Pa (3×3 UFL), or None without mechanics."""
        if self.mech is None:
            return None
        c, _, u = self.split(self.w if w is None else w)
        return self.scales.stress * terms.stress_hat(self.mech, self.scales, c, u)

    def fields(self) -> dict[str, fem.Function]:
        """c, μ (J/mol), and u (m), σ_h, von Mises (Pa) each in its own collapsed space."""
        return derived.fields(self)

    def energies(self) -> dict[str, float]:
        """Free energy parts (J, or J/m per unit thickness in 2D) and ∫c dx (m^d)."""
        if self._energy_forms is None:
            self._energy_forms = derived.energy_forms(self)
        return derived.energies(self._energy_forms, self.comm)

    @property
    def dofs(self) -> int:
        """Global number of unknowns."""
        imap = self.W.dofmap.index_map
        return imap.size_global * self.W.dofmap.index_map_bs
