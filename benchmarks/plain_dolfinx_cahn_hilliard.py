"""``cahn_hilliard`` written the way the DOLFINx Cahn–Hilliard demo is, for femcm's overhead.

The default problem of ``problems/cahn_hilliard.py`` (no mechanics, regular-solution free
energy with χ = 3, degenerate mobility M0 c(1 − c), κ = 1.55e-8 J/m) on the same
``create_rectangle`` mesh, as the demo writes it: a mixed P1 × P1 space for (c, μ), the
residual in UFL with ``ufl.diff`` for the chemical potential and a θ-weighted flux, one
``NonlinearProblem`` (SNES Newton, MUMPS LU) and a Python loop of fixed steps.

The residual is femcm's, term for term and with the same scaling (so that the same Newton
tolerances mean the same thing): lengths by L = max(width, height), μ by RT, time by
t₀ = L² c_max / (M0 RT), every integral by L²; vertex quadrature (mass lumping) for ∂c/∂t and
the pointwise part of the μ equation, degree 4 elsewhere; the safeguarded logarithm (Taylor
continuation below 1e-12); backward Euler (a = (1, −1, 0)) until two steps are accepted, then
BDF2 at the constant step (3/2, −2, 1/2), as ``femcm.solvers.bdf.History.scheme`` does.
Newton as femcm runs it: ``newtonls`` with the basic line search, rtol 1e-9, atol 1e-10,
at most 25 iterations, each step shortened so that no nodal c moves more than 90 % of its way
to 0 or 1 (a line-search pre-check, femcm's ``damped`` bounds), started from the linear
extrapolation of the last two states (c limited the same way; from the last state on the
first step). The initial c is femcm's (the same seeded
Fourier noise, :func:`_initial_function` of the problem), μ = ĝ'(c) at the nodes.

``solve(comm, mesh_size, dt, steps)`` returns seconds per phase (wall and CPU of this
process: ``mesh``, ``setup``, ``solve`` = the ``NonlinearProblem.solve`` calls, ``steps`` =
the rest of the time loop, ``post`` = the final energies), DOFs, Newton iterations per step,
the free energy parts and ∫c (to check it is the same solution) and the owned nodal c.
"""

from __future__ import annotations

import math
import time

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import basix.ufl
import numpy as np
import ufl
from dolfinx import fem, mesh
from dolfinx.fem.petsc import NonlinearProblem

from mpi4py import MPI

R_GAS = 8.314462618
T = 298.15
CHI = 3.0
C_MAX = 1e4
KAPPA = 1.55e-8
D0 = 1e-14
LOG_FLOOR = 1e-12
NEWTON = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "basic",
    "snes_rtol": 1e-9,
    "snes_atol": 1e-10,
    "snes_stol": 0.0,
    "snes_max_it": 25,
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
}
TAU = 0.9  # fraction to the boundary


class _Clock:
    """Wall and CPU seconds per phase (``add``: accumulate a phase timed elsewhere)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._t = self.now()

    @staticmethod
    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def add(self, name: str, since: tuple[float, float]) -> None:
        t = self.now()
        self.wall[name] = self.wall.get(name, 0.0) + t[0] - since[0]
        self.cpu[name] = self.cpu.get(name, 0.0) + t[1] - since[1]

    def lap(self, name: str) -> None:
        t = self.now()
        self.wall[name] = self.wall.get(name, 0.0) + t[0] - self._t[0]
        self.cpu[name] = self.cpu.get(name, 0.0) + t[1] - self._t[1]
        self._t = t


def safe_log(x, eps: float = LOG_FLOOR):
    """Ln x, continued below eps by its second-order Taylor polynomial."""
    d = x - eps
    below = math.log(eps) + d / eps - d**2 / (2 * eps**2)
    return ufl.conditional(ufl.ge(x, eps), ufl.ln(ufl.max_value(x, eps)), below)


def g_hat(c):
    """Regular solution g/RT."""
    return c * safe_log(c) + (1 - c) * safe_log(1 - c) + CHI * c * (1 - c)


def clip(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Per-dof largest λ ≤ 1 with x + λ d at most TAU of the way to 0 or 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lim = np.where(d > 0, TAU * (1 - x) / d, np.where(d < 0, TAU * x / -d, np.inf))
    return np.minimum(1.0, lim)


def solve(comm: MPI.Comm, mesh_size: float, dt: float, steps: int, width: float = 1e-6) -> dict:
    """Mesh, set up, march ``steps`` steps of ``dt`` s, energies (see the module doc)."""
    from femcm.problem_scripts.cahn_hilliard import Parameters, _initial_function

    c0 = _initial_function(Parameters(width=width, height=width, mesh_size=mesh_size))
    clock = _Clock()
    n = max(2, round(width / mesh_size))
    msh = mesh.create_rectangle(comm, [[0.0, 0.0], [width, width]], [n, n])
    clock.lap("mesh")

    L = width
    e0 = R_GAS * T
    m0 = D0 * C_MAX / (R_GAS * T)
    t0 = L**2 * C_MAX / (m0 * e0)
    kappa_hat = KAPPA / (C_MAX * e0 * L**2)
    vol = 1.0 / L**2

    P1 = basix.ufl.element("Lagrange", msh.basix_cell(), 1)
    W = fem.functionspace(msh, basix.ufl.mixed_element([P1, P1]))
    w, w_n, w_nm1 = fem.Function(W), fem.Function(W), fem.Function(W)
    q_c, q_mu = ufl.TestFunctions(W)
    c, mu = ufl.split(w)
    c_n, mu_n = ufl.split(w_n)
    c_nm1 = ufl.split(w_nm1)[0]
    a0, a1, a2 = (fem.Constant(msh, v) for v in (1.0, -1.0, 0.0))
    dt_hat = fem.Constant(msh, dt / t0)
    theta = fem.Constant(msh, 1.0)
    dx = ufl.dx(metadata={"quadrature_degree": 4})
    dx_v = ufl.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})

    def grad(f):
        return L * ufl.grad(f)

    cv = ufl.variable(c)
    mu_hom = ufl.diff(g_hat(cv), cv)
    flux = c * (1 - c) * L * ufl.grad(mu)  # (M/M0) ∇̂μ̂
    flux_n = c_n * (1 - c_n) * L * ufl.grad(mu_n)
    rate = (a0 * c + a1 * c_n + a2 * c_nm1) / dt_hat
    F = vol * rate * q_mu * dx_v
    F += vol * ufl.inner(theta * flux + (1 - theta) * flux_n, grad(q_mu)) * dx
    F += vol * (mu - mu_hom - 0.0) * q_c * dx_v
    F += vol * -kappa_hat * ufl.inner(grad(c), grad(q_c)) * dx

    # initial state: c0 at the nodes, μ = ĝ'(c0)
    Vc, c_dofs = W.sub(0).collapse()
    Vm, mu_dofs = W.sub(1).collapse()
    c_dofs, mu_dofs = np.asarray(c_dofs), np.asarray(mu_dofs)
    cf, mf = fem.Function(Vc), fem.Function(Vm)
    cf.interpolate(c0)
    cc = ufl.variable(cf)
    mf.interpolate(fem.Expression(ufl.diff(g_hat(cc), cc), Vm.element.interpolation_points))
    w.x.array[c_dofs], w.x.array[mu_dofs] = cf.x.array, mf.x.array
    w.x.scatter_forward()
    w_n.x.array[:] = w_nm1.x.array[:] = w.x.array

    problem = NonlinearProblem(F, w, petsc_options_prefix="plain_ch_", petsc_options=NEWTON)
    snes = problem.solver
    n_owned = W.dofmap.index_map.size_local * W.dofmap.index_map_bs
    owned_c = c_dofs[c_dofs < n_owned]

    def precheck(x, y):  # femcm's "damped" bounds: x_new = x − y
        local = clip(x.array_r[owned_c], -y.array_r[owned_c]).min(initial=1.0)
        lam = comm.allreduce(float(local), op=MPI.MIN)
        if lam < 1.0:
            y.scale(lam)

    snes.setLineSearchPreCheck(precheck)
    clock.lap("setup")

    its = []
    for k in range(steps):
        w.x.array[:] = w_n.x.array
        if k >= 2:  # BDF2 at a constant step once two steps are accepted (as femcm)
            a0.value, a1.value, a2.value = 1.5, -2.0, 0.5
        if k >= 1:  # Newton from the linear extrapolation of the last two states
            d = w_n.x.array - w_nm1.x.array
            d[c_dofs] *= clip(w_n.x.array[c_dofs], d[c_dofs])
            w.x.array[:] += d
        t = clock.now()
        problem.solve()
        clock.add("solve", t)
        reason = snes.getConvergedReason()
        assert reason > 0, f"step {k}: SNES reason {reason}"
        its.append(snes.getIterationNumber())
        w_nm1.x.array[:] = w_n.x.array
        w_n.x.array[:] = w.x.array
    clock.lap("steps")
    clock.wall["steps"] -= clock.wall["solve"]
    clock.cpu["steps"] -= clock.cpu["solve"]

    def integral(form) -> float:
        return comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    energies = {
        "free_energy_chemical": integral(C_MAX * e0 * g_hat(c) * dx_v),
        "free_energy_gradient": integral(
            0.5 * KAPPA * ufl.inner(ufl.grad(c), ufl.grad(c)) * ufl.dx
        ),
        "c_integral": integral(c * dx_v),
    }
    energies["free_energy_total"] = (
        energies["free_energy_chemical"] + energies["free_energy_gradient"]
    )
    clock.lap("post")
    return {
        "dofs": W.dofmap.index_map.size_global * W.dofmap.index_map_bs,
        "newton_per_step": its,
        "newton_iterations": sum(its),
        "scalars": energies,
        "c": w.x.array[owned_c].copy(),
        "wall": clock.wall,
        "cpu": clock.cpu,
    }
