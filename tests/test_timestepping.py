"""Error-controlled variable-step BDF2: order, error estimate, tolerance proportionality,
transient accuracy, step-ratio limit, failure recovery, dt_min.

References: the local-error constants of BDF1/BDF2 with an extrapolation predictor (Milne's
device), checked on a scalar ODE with a known solution; order of accuracy on a manufactured
time-dependent c–μ solution (fixed-step slope ≥ 1.9); F(t) of a spinodal decomposition at the
default tolerance within 1 % of a 16× tighter run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import ufl
from conftest import FailAt
from dolfinx import fem, mesh

from mpi4py import MPI

from femcm.base.constants import R_GAS, T_DEFAULT
from femcm.base.errors import InputError, SolveError
from femcm.models.chemomechanics import Chemistry, ChemoMechanics, Scales
from femcm.physics.chemistry import ConstantMobility, RegularSolution, mobility_from_diffusivity
from femcm.problem_scripts import cahn_hilliard as ch
from femcm.solvers.stats import SolverStats
from femcm.solvers.timestepping import Change, Scheme, StepControl, bdf, march

L = 1e-6
RT = R_GAS * T_DEFAULT
D0 = 1e-14
C_MAX = 1e4


# --- a scalar ODE as a MultistepEvolution (pure NumPy) ----------------------------------------


class LinearODE:
    """y' = −k (y − g(t)) + g'(t) with y = g(t) = 2 + sin(ωt) exactly; one value per rank."""

    def __init__(self, comm, k: float = 0.5, omega: float = 1.0):
        self.comm, self.k, self.omega = comm, k, omega
        self.y = self.y_n = self.y_nm1 = self.g(0.0)
        self.scheme = bdf(1, 0.0)

    def g(self, t):
        return 2.0 + math.sin(self.omega * t)

    def set_scheme(self, scheme: Scheme) -> None:
        self.scheme = scheme

    def solve_step(self, t_new: float, dt: float) -> int:
        s, k = self.scheme, self.k
        rhs = k * self.g(t_new) + self.omega * math.cos(self.omega * t_new)
        self.y = (dt * rhs - s.a1 * self.y_n - s.a2 * self.y_nm1) / (s.a0 + k * dt)
        return 1

    def admissible(self) -> bool:
        return True

    def accept(self) -> Change:
        d = abs(self.y - self.y_n)
        self.y_nm1, self.y_n = self.y_n, self.y
        return Change(d, d)

    def reject(self) -> None:
        self.y = self.y_n

    def monitored(self) -> np.ndarray:
        return np.array([self.y])

    def monitored_weights(self) -> np.ndarray:
        return np.ones(1)


def check_order_and_tolerance(verify, slope, tol_slope, what):
    """Fixed-step BDF2 slope ≥ 1.9; error vs tolerance slope in [0.6, 1.2] (∝ tol^(2/3))."""
    verify(
        "bdf2_fixed_step_slope",
        slope,
        ">=",
        1.9,
        reference="BDF2 global error O(Δt²): fitted slope at fixed Δt",
        what=what,
    )
    ref = "error per step control: global error ∝ tol^(2/3); fitted slope of error vs tol"
    verify("error_vs_tol_slope", tol_slope, ">=", 0.6, reference=ref, what=what)
    verify("error_vs_tol_slope_max", tol_slope, "<=", 1.2, reference=ref, what=what)


def test_bdf_coefficients():
    assert bdf(1, 0.0)[1:4] == (1.0, -1.0, 0.0)
    assert np.allclose(bdf(2, 1.0)[1:4], (1.5, -2.0, 0.5))
    for w in (0.3, 1.0, 2.0):
        s = bdf(2, w)
        # consistent (Σa = 0) and exact for linear functions: a0 t1 + a1 t0 + a2 t−1 = Δt
        assert abs(s.a0 + s.a1 + s.a2) < 1e-14
        assert abs(s.a0 * 1.0 + s.a2 * (-1.0 / w)) - 1.0 < 1e-14
    with pytest.raises(InputError, match="max_ratio"):
        StepControl(1e-3, 1e-6, max_ratio=5.0)


def test_ode_fixed_order_and_ratio_limit(comm, verify):
    """Fixed-step BDF2 on the ODE: slope 2; error control: error ∝ tolerance, ratio ≤ 2."""
    errs = []
    for n in (40, 80, 160):
        ode = LinearODE(comm)
        march(ode, StepControl.fixed(4.0 / n, order=2), 4.0)
        errs.append(abs(ode.y - ode.g(4.0)))
    slope = np.polyfit(np.log([40, 80, 160]), np.log(errs), 1)[0]
    tols = [1e-4, 1e-5, 1e-6]
    errs_tol, steps = [], []
    for tol in tols:
        ode = LinearODE(comm)
        rep = march(ode, StepControl(1e-3, 1e-9, rtol=tol, atol=tol), 4.0)
        errs_tol.append(abs(ode.y - ode.g(4.0)))
        steps.append(rep.steps)
        dts = np.array(rep.dts)
        assert (dts[1:] / dts[:-1]).max() <= 2.0 + 1e-12
        assert [r.order for r in rep.records[:3]] == [1, 1, 2]
    tol_slope = np.polyfit(np.log(tols), np.log(errs_tol), 1)[0]
    print(f"ODE: fixed slope {slope:.2f}; error vs tol {errs_tol} (slope {tol_slope:.2f}), {steps}")
    check_order_and_tolerance(verify, -slope, tol_slope, "BDF2 on the linear ODE y' = −k(y − g)")


def test_error_estimate_matches_true_local_error(comm, verify):
    """One step from exact history: the estimate equals the true local error to O(Δt)."""
    from femcm.solvers.bdf import History

    for order, ratio in ((1, 1.0), (2, 1.0), (2, 1.7), (2, 0.5)):
        ode = LinearODE(comm, k=0.2)
        h = 0.01
        ts = [0.3 - 2.5 * h, 0.3 - 1.3 * h, 0.3]  # uneven history
        ts[-2] = ts[-1] - h / ratio
        ctl = StepControl(1e-3, 1e-9, rtol=0.0, atol=1e-8, order=order)
        hist = History(ode, ts[0], order, ctl.rtol, ctl.atol)
        hist.cs[0] = np.array([ode.g(ts[0])])
        for t in ts[1:]:
            hist.push(t, np.array([ode.g(t)]))
        ode.y_n, ode.y_nm1 = ode.g(ts[-1]), ode.g(ts[-2])
        scheme = bdf(order, ratio)
        ode.set_scheme(scheme)
        ode.solve_step(ts[-1] + h, h)
        true = ode.y - ode.g(ts[-1] + h)
        est = hist.error(scheme, ts[-1] + h, ode.monitored()) * 1e-8
        print(f"BDF{order} ratio {ratio}: estimated {est:.3e}, true |error| {abs(true):.3e}")
        verify(
            "error_estimate",
            abs(est / abs(true) - 1),
            "<",
            0.05,
            reference="predictor–corrector estimate / true local error − 1 (exact history)",
            what="local error estimate, BE and BDF2 at step ratios 0.5, 1, 1.7",
        )


# --- the Cahn–Hilliard model --------------------------------------------------------------------


def _mms_model(comm, n=6):
    """c_m = 0.5 + 0.2 cos πX cos πY cos(2πt/t0) with its source; regular solution χ = 1."""
    msh = mesh.create_rectangle(comm, [[0.0, 0.0], [L, L]], [n, n])
    clock = fem.Constant(msh, 0.0)
    t0 = L**2 / D0
    x = ufl.SpatialCoordinate(msh)
    X, Y = x[0] / L, x[1] / L
    shape = 0.2 * ufl.cos(ufl.pi * X) * ufl.cos(ufl.pi * Y)
    c_m = 0.5 + shape * ufl.cos(2 * ufl.pi * clock / t0)
    dcdt = -shape * 2 * ufl.pi / t0 * ufl.sin(2 * ufl.pi * clock / t0)
    mu_m = RT * ((1 - 2 * c_m) + ufl.ln(c_m / (1 - c_m)))
    m0 = mobility_from_diffusivity(D0, C_MAX)
    chem = Chemistry(
        RegularSolution(1.0),
        ConstantMobility(m0),
        C_MAX,
        source=C_MAX * dcdt - ufl.div(m0 * ufl.grad(mu_m)),
        fluxes=((ufl.ds(domain=msh), m0 * ufl.inner(ufl.grad(mu_m), ufl.FacetNormal(msh))),),
    )
    model = ChemoMechanics(msh, chem, scales=Scales.natural(L, chem), clock=clock)
    model.set_initial(lambda x: 0.5 + 0.2 * np.cos(np.pi * x[0] / L) * np.cos(np.pi * x[1] / L))
    return model, t0


def _c(model) -> np.ndarray:
    return model.monitored()


def _l2(comm, a, b, w) -> float:
    return math.sqrt(comm.allreduce(float(np.sum(w * (a - b) ** 2)), op=MPI.SUM))


def test_mms_fixed_step_order_and_tolerance(comm, verify):
    """Time error at t_end against a fine-step run on the same mesh (space error cancels):
    fixed-step BDF2 slope ≥ 1.9; adaptive error falls with the tolerance."""
    model, t0 = _mms_model(comm)
    t_end = t0  # one period of the forcing
    w = model.monitored_weights() / L**2
    march(model, StepControl.fixed(t_end / 160, order=2), t_end)
    ref = _c(model)
    errs = []
    for n in (10, 20, 40):
        model, _ = _mms_model(comm)
        march(model, StepControl.fixed(t_end / n, order=2), t_end)
        errs.append(_l2(comm, _c(model), ref, w))
    slope = -np.polyfit(np.log([10, 20, 40]), np.log(errs), 1)[0]
    tols, errs_tol, steps = [3e-4, 3e-5, 3e-6], [], []
    for tol in tols:
        model, _ = _mms_model(comm)
        rep = march(model, StepControl(1e-2 * t0, 1e-9 * t0, rtol=tol, atol=tol), t_end)
        errs_tol.append(_l2(comm, _c(model), ref, w))
        steps.append(rep.steps)
    tol_slope = np.polyfit(np.log(tols), np.log(errs_tol), 1)[0]
    print(
        f"MMS: fixed-step errors {errs} (slope {slope:.2f}); adaptive errors {errs_tol} "
        f"at tolerances {tols} (slope {tol_slope:.2f}, steps {steps})"
    )
    check_order_and_tolerance(verify, slope, tol_slope, "BDF2 on the manufactured c–μ solution")


def _small(**kw) -> ch.Parameters:
    kappa = C_MAX * RT * (L / 16) ** 2
    return ch.Parameters(**(dict(mesh_size=L / 32, kappa=kappa, noise_wavelength=L / 8) | kw))


def _ch_model(p, comm):
    model = ch.build_model(p, ch.build_mesh(p, comm), SolverStats())
    model.set_initial(ch._initial_function(p))
    return model


def _control(p, k: float = 1.0) -> StepControl:
    return StepControl(p.dt_initial, p.dt_min, rtol=p.rtol / k, atol=p.atol / k)


def test_spinodal_transient_within_one_percent(comm, verify):
    """Default tolerance vs 16× tighter over the spinodal decomposition (the fast drop of F):
    F within 1 % of the F range at 12 times; mass to 1e-10; F non-increasing."""
    p = _small(t_end=20.0, width=L / 2, height=L / 2)
    marks = tuple(np.geomspace(0.05, 20.0, 12))
    F = {}
    for k in (1, 16):
        model = _ch_model(p, comm)
        F[k], series = {}, [model.energies()]
        march(
            model,
            _control(p, k),
            p.t_end,
            output_times=marks,
            on_output=lambda t, F=F[k], m=model: F.setdefault(t, m.energies()["total"]),
            on_step=lambda t, dt, its, m=model, s=series: s.append(m.energies()),
        )
        Fs = np.array([e["total"] for e in series])
        mass = np.array([e["c_integral"] for e in series])
        assert np.abs(mass - mass[0]).max() <= 1e-10 * mass[0]
        assert np.diff(Fs).max() <= 1e-9 * np.abs(Fs).max()
    a, b = np.array([F[1][t] for t in marks]), np.array([F[16][t] for t in marks])
    dev = np.abs(a - b).max() / np.ptp(b)
    print(f"spinodal: max |F - F_ref| = {dev:.2e} of the F range")
    verify(
        "spinodal_F_deviation",
        dev,
        "<",
        0.01,
        reference="F(t) at the default tolerance vs 16× tighter, 12 times: max |ΔF| / F range",
        what="spinodal transient, error-controlled BDF2 (reduced mesh)",
    )


def test_newton_failure_in_bdf2_is_cut_back_and_dt_min(comm):
    p = _small(t_end=0.2)
    ref = _ch_model(p, comm)
    rep_ref = march(ref, _control(p), p.t_end)
    model = _ch_model(p, comm)
    wrapped = FailAt(model, fail_at={6})
    rep = march(wrapped, _control(p), p.t_end)
    failed = [i for i, r in enumerate(rep.records) if r.rejected]
    assert rep.rejected >= 1 and failed and rep.records[failed[0]].order == 2
    i = failed[0]
    assert math.isclose(rep.records[i].dt, 0.5 * rep_ref.records[i].dt, rel_tol=1e-9)
    Fa, Fb = model.energies()["total"], ref.energies()["total"]
    print(f"forced failure at step {i + 1}: F {Fa:.6e} vs unforced {Fb:.6e}")
    assert abs(Fa - Fb) < 1e-3 * abs(Fb)
    with pytest.raises(SolveError, match="dt_min"):
        march(_ch_model(p, comm), StepControl(1e-2, 5e-3, rtol=1e-12, atol=1e-12), 1.0)


def test_failed_fixed_step_says_so(comm):
    """A failed Newton solve with fixed steps names the fixed step (it cannot shrink), not a
    dt_min the user never set."""
    p = _small(t_end=0.2)
    control = StepControl.fixed(0.01, order=2)
    assert control.fixed_step and not _control(p).fixed_step
    with pytest.raises(SolveError, match=r"Newton failed with the fixed time step 1\.000e-02 s"):
        march(FailAt(_ch_model(p, comm), fail_at={3}), control, p.t_end)
