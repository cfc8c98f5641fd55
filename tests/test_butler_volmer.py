"""Butler–Volmer kinetics and the potential solver against 1D slab closed forms.

References (verification.md §6): a slab of thickness L and conductivity κ, current density
i_app in through the top, Butler–Volmer against grounded Li at the bottom. The solution is
linear in y, so P1 on a few cells is exact up to the Newton tolerance:

- galvanostatic: V = η(i_app) + i_app R_f + i_app L/κ, with η the magnitude of the inverse
  Butler–Volmer law on the plating (cathodic) branch, −f⁻¹(−i_app) (= f⁻¹(i_app) only when
  α_a = α_c); the stripping direction (i_app < 0) checks the anodic branch;
- potentiostatic: φ = V on the top; the bottom potential φ_L is the scalar root of
  κ(V − φ_L)/L = −i_BV(−φ_L − i R_f) (the cathodic current; [verification.md] writes the
  magnitudes).
"""

from __future__ import annotations

import numpy as np
import pytest
import ufl
from dolfinx import fem, mesh
from dolfinx.fem import petsc as fem_petsc
from scipy.optimize import brentq

from mpi4py import MPI
from petsc4py import PETSc

from femcm.base.errors import InputError
from femcm.fem.postprocess import integrate
from femcm.models.potential import AppliedCurrent, Electrode, FixedPotential, PotentialProblem
from femcm.physics.kinetics import (
    ButlerVolmer,
    asinh_bv_dimensionless,
    butler_volmer,
    butler_volmer_np,
    overpotential_np,
    total_overpotential_np,
)

L, W, KAPPA, I0 = 100e-6, 20e-6, 0.1, 0.1
BOTTOM, TOP = 1, 2
SYM, ASYM = (0.5, 0.5), (0.3, 0.7)
RATIOS = (0.1, 1.0, 10.0, 100.0, 1000.0)


@pytest.fixture(scope="module")
def slab():
    """A 20 µm × 100 µm slab, 2 × 3 triangles pairs, bottom/top tagged."""
    msh = mesh.create_rectangle(MPI.COMM_WORLD, [[0.0, 0.0], [W, L]], [2, 3])
    fdim = msh.topology.dim - 1
    bottom = mesh.locate_entities_boundary(msh, fdim, lambda x: np.isclose(x[1], 0.0))
    top = mesh.locate_entities_boundary(msh, fdim, lambda x: np.isclose(x[1], L))
    idx = np.concatenate([bottom, top])
    val = np.concatenate([np.full(len(bottom), BOTTOM), np.full(len(top), TOP)]).astype(np.int32)
    order = np.argsort(idx)
    return msh, mesh.meshtags(msh, fdim, idx[order], val[order])


def mean_on(prob: PotentialProblem, expr, tag: int) -> float:
    comm = prob.msh.comm
    return integrate(expr * prob.ds(tag), comm) / integrate(1.0 * prob.ds(tag), comm)


def galvanostatic(slab, kin: ButlerVolmer, i_app: float):
    msh, ft = slab
    top, electrode = AppliedCurrent(TOP, i_app), Electrode(BOTTOM, kin)
    prob = PotentialProblem(msh, ft, KAPPA, [top, electrode], degree=1)
    its = prob.solve()
    return prob, its, mean_on(prob, prob.phi, TOP)


def slab_voltage(kin: ButlerVolmer, i_app: float) -> float:
    return -float(total_overpotential_np(-i_app, kin)) + i_app * L / KAPPA


def check_voltage(verify, key, V, expected, reference, what, msg):
    """|V − expected| <= 1e-8 |expected| (the slab closed forms are exact up to Newton)."""
    err = abs(V - expected) / abs(expected)
    verify(key, err, "<=", 1e-8, reference=reference, what=what, msg=msg)


# -- NumPy twins ---------------------------------------------------------------------------


@pytest.mark.parametrize("alphas", [SYM, ASYM, (0.9, 0.2)])
def test_inverse_round_trip(alphas):
    kin = ButlerVolmer(I0, *alphas)
    i = np.array([-1e4, -300.0, -1.0, -1e-3, 0.0, 2e-3, 0.7, 45.0, 3e3, 1e5]) * I0
    eta = overpotential_np(i, kin)
    assert np.allclose(butler_volmer_np(eta, kin), i, rtol=1e-13, atol=1e-15 * I0)


def test_inverse_closed_forms():
    kin = ButlerVolmer(I0, 0.5, 0.5)
    i = np.array([0.1, 1.0, 10.0, 1e3]) * I0
    vt = kin.thermal_voltage
    assert np.allclose(overpotential_np(i, kin), 2 * vt * np.arcsinh(i / (2 * I0)), rtol=1e-14)
    # Linear regime: η ≈ RT i / ((α_a + α_c) F i0), for both pairs.
    for alphas in (SYM, ASYM):
        kin = ButlerVolmer(I0, *alphas)
        assert overpotential_np(1e-6 * I0, kin) == pytest.approx(vt * 1e-6, rel=1e-6)


def test_asinh_form_is_overflow_free(slab):
    """asinh(exp(α_a x) − exp(−α_c x)) in UFL matches NumPy and stays finite at |x| = 2000."""
    msh, _ = slab
    V = fem.functionspace(msh, ("DG", 0))
    x = fem.Function(V)
    for a, c in (SYM, ASYM):
        for scale in (1.0, 40.0, 2000.0):
            x.interpolate(lambda p, s=scale: s * (2 * p[0] / W - 1) * (0.3 + 0.7 * p[1] / L))
            f = fem.Function(V)
            f.interpolate(
                fem.Expression(asinh_bv_dimensionless(x, a, c), V.element.interpolation_points)
            )
            xv = x.x.array
            with np.errstate(over="ignore"):
                ref = np.arcsinh(np.exp(a * xv) - np.exp(-c * xv))
            big = np.maximum(a * xv, -c * xv) > 300  # asinh(y) = ln 2y + O(y⁻²) exactly here
            ref[big] = np.where(xv[big] > 0, a * xv[big], c * xv[big]) + np.sign(xv[big]) * np.log(
                2
            )
            assert np.all(np.isfinite(f.x.array))
            assert np.allclose(f.x.array, ref, rtol=1e-12, atol=1e-12)


# -- slab closed forms ---------------------------------------------------------------------


@pytest.mark.parametrize("direction", [1.0, -1.0], ids=["plating", "stripping"])
@pytest.mark.parametrize("alphas", [SYM, ASYM], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("ratio", RATIOS)
def test_slab_galvanostatic(slab, alphas, ratio, direction, verify):
    kin = ButlerVolmer(I0, *alphas)
    i_app = direction * ratio * I0
    prob, its, V = galvanostatic(slab, kin, i_app)
    expected = slab_voltage(kin, i_app)
    ref = "§6: V = η(i_app) + i_app L/κ, η the inverse Butler–Volmer law; relative error"
    what = "1D BV slab, galvanostatic, α = ½/½ and 0.3/0.7, plating/stripping, i/i0 = 0.1–1e3"
    check_voltage(verify, "slab_voltage", V, expected, ref, what, (V, expected, its))
    # The overpotential and the interface current are uniform and exact too.
    eta = mean_on(prob, prob.overpotential(prob.boundaries[1]), BOTTOM)
    assert eta == pytest.approx(float(overpotential_np(-i_app, kin)), rel=1e-8)
    i_bv = mean_on(prob, prob.electrode_current(prob.boundaries[1]), BOTTOM)
    assert i_bv == pytest.approx(-i_app, rel=1e-8)


@pytest.mark.parametrize("alphas", [SYM, ASYM], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("ratio", (0.1, 10.0, 1000.0))
@pytest.mark.parametrize("film", (5e-4, 2e-2))
def test_slab_film_resistance(slab, alphas, ratio, film, verify):
    """V = η(i) + i R_f + i L/κ with the film drop in series (film: 0.5 and 20 RT/(F i_ref))."""
    kin = ButlerVolmer(I0, *alphas, film_resistance=film)
    for i_app in (ratio * I0, -ratio * I0):
        prob, its, V = galvanostatic(slab, kin, i_app)
        expected = slab_voltage(kin, i_app)
        ref = "§6 with a film: V = η + i R_f + i L/κ; relative error"
        what = "1D BV slab with a film resistance, both directions"
        check_voltage(verify, "slab_voltage_film", V, expected, ref, what, (i_app, V, expected))
        assert its <= 8
        eta = mean_on(prob, prob.overpotential(prob.boundaries[1]), BOTTOM)
        assert eta == pytest.approx(float(overpotential_np(-i_app, kin)), rel=1e-7)


def potentiostatic_root(kin: ButlerVolmer, V: float) -> tuple[float, float]:
    """(φ_L, cathodic current c) with κ(V − φ_L)/L = c and c = −i_BV(−φ_L − (−c) R_f)."""

    # In terms of c: V = c L/κ − η(−c) + c R_f, monotone in c.
    def g(c):
        return c * L / KAPPA - float(overpotential_np(-c, kin)) + c * kin.film_resistance - V

    c = brentq(g, -1e6, 1e6, xtol=1e-300, rtol=1e-15, maxiter=500)
    return V - c * L / KAPPA, c


@pytest.mark.parametrize("film", (0.0, 5e-3))
@pytest.mark.parametrize("alphas", [SYM, ASYM], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("voltage", (0.01, 0.3, 1.0, -0.4))
def test_slab_potentiostatic(slab, alphas, voltage, film, verify):
    msh, ft = slab
    kin = ButlerVolmer(I0, *alphas, film_resistance=film)
    top, electrode = FixedPotential(TOP, voltage), Electrode(BOTTOM, kin)
    prob = PotentialProblem(msh, ft, KAPPA, [top, electrode], degree=1)
    prob.solve()
    phi_l, c = potentiostatic_root(kin, voltage)
    # The scalar root of κ(V − φ_L)/L = −i_BV(η) itself, without a film:
    if film == 0:
        assert KAPPA * (voltage - phi_l) / L == pytest.approx(
            -float(butler_volmer_np(-phi_l, kin)), rel=1e-12
        )
    verify.approx(
        "potentiostatic_phi_L",
        mean_on(prob, prob.phi, BOTTOM),
        phi_l,
        1e-8,
        reference="§6: φ_L the scalar root of κ(V − φ_L)/L = −i_BV(−φ_L); relative error",
        what="1D BV slab, potentiostatic, with and without a film",
    )
    # The current is κ(V − φ_L)/L, a difference of nearly equal numbers at small V (the ohmic
    # drop is 0.4 % of V = 10 mV): Newton's 1e-10 relative residual leaves ~1e-8 there.
    current_in = prob.current_into(top) / W
    assert current_in == pytest.approx(c, rel=1e-7)
    assert -prob.current_into(electrode) / W == pytest.approx(c, rel=1e-7)
    assert abs(current_in + prob.current_into(electrode) / W) <= 1e-10 * abs(c)


def test_linear_problem_one_newton_step(slab):
    """Two fixed potentials: linear, solved in one Newton step, φ exactly linear."""
    msh, ft = slab
    prob = PotentialProblem(msh, ft, KAPPA, [FixedPotential(TOP, 0.7), FixedPotential(BOTTOM, 0.1)])
    assert prob.solve() == 1
    x = prob.scalar_space.tabulate_dof_coordinates()
    assert np.allclose(prob.phi.x.array, 0.1 + 0.6 * x[:, 1] / L, rtol=1e-12, atol=1e-14)
    i_top = prob.current_into(prob.boundaries[0])
    assert i_top == pytest.approx(KAPPA * 0.6 / L * W, rel=1e-12)


# -- Newton robustness ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alphas", "film", "max_its"),
    [(SYM, 0.0, 12), (ASYM, 0.0, 12), (SYM, 1e-2, 6)],
    ids=["symmetric", "asymmetric", "film"],
)
def test_newton_from_zero_at_1e4(slab, alphas, film, max_its, verify):
    """Newton from φ = 0 at i_app/i0 = 10⁴ (η ≈ 18 RT/F; full steps overflow exp)."""
    kin = ButlerVolmer(I0, *alphas, film_resistance=film)
    i_app = 1e4 * I0
    _, its, V = galvanostatic(slab, kin, i_app)
    assert V == pytest.approx(slab_voltage(kin, i_app), rel=1e-10)
    verify(
        "newton_iterations",
        its,
        "<=",
        max_its,
        reference="Newton from φ = 0 converges (iterations)",
        what="BV slab at i_app/i0 = 1e4 (η ≈ 18 RT/F), symmetric / asymmetric / film",
    )


# -- finite-difference Jacobian checks -----------------------------------------------------


def fd_check(F: ufl.Form, J: ufl.Form, u: fem.Function, d: fem.Function, eps: float) -> float:
    """max-norm relative mismatch of J·d against the central difference of F along d."""
    Jm = fem_petsc.assemble_matrix(fem.form(J))
    Jm.assemble()
    Jd = Jm.createVecLeft()
    dv = Jm.createVecRight()
    n = len(dv.array)
    dv.array[:] = d.x.array[:n]
    Jm.mult(dv, Jd)
    u0 = u.x.array.copy()
    res = []
    for s in (1.0, -1.0):
        u.x.array[:] = u0 + s * eps * d.x.array
        b = fem_petsc.assemble_vector(fem.form(F))
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        res.append(b)
    u.x.array[:] = u0
    fd = (res[0] - res[1]) / (2 * eps)
    diff = Jd - fd
    return diff.norm(PETSc.NormType.INFINITY) / Jd.norm(PETSc.NormType.INFINITY)


def smooth_state(V: fem.FunctionSpace, amplitude: float, phase: float) -> fem.Function:
    """A smooth, partition-independent 'random-looking' state on the slab."""
    f = fem.Function(V)
    rng = np.random.default_rng(7)
    a = rng.uniform(-1, 1, size=(4,))

    def values(x):
        s, t = x[0] / W, x[1] / L
        v = a[0] + a[1] * np.sin(3 * s + phase) + a[2] * np.cos(5 * t - phase) + a[3] * s * t
        return amplitude * v if V.dofmap.index_map_bs == 1 else np.vstack([amplitude * v, v])

    f.interpolate(values)
    return f


@pytest.mark.parametrize("alphas", [SYM, ASYM], ids=["symmetric", "asymmetric"])
def test_fd_jacobian_butler_volmer_term(slab, alphas, verify):
    """The SI Butler–Volmer boundary term alone: ∫ i_BV(−φ) v ds, φ of a few RT/F."""
    msh, ft = slab
    kin = ButlerVolmer(I0, *alphas)
    V = fem.functionspace(msh, ("Lagrange", 1))
    phi = smooth_state(V, 3 * kin.thermal_voltage, 0.3)
    v = ufl.TestFunction(V)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    F = butler_volmer(-phi, kin) * v * ds(BOTTOM)
    J = ufl.derivative(F, phi, ufl.TrialFunction(V))
    d = smooth_state(V, kin.thermal_voltage, 1.1)
    verify(
        "fd_jacobian_bv_term",
        fd_check(F, J, phi, d, 1e-6 * kin.thermal_voltage),
        "<",
        1e-7,
        reference="central finite difference of the residual: max |J·d − FD| / max |J·d|",
        what="Jacobian of the Butler–Volmer boundary term",
    )


@pytest.mark.parametrize("film", (0.0, 1e-2))
@pytest.mark.parametrize("alphas", [SYM, ASYM], ids=["symmetric", "asymmetric"])
def test_fd_jacobian_full_residual(slab, alphas, film, verify):
    """The solver's own scaled residual and UFL Jacobian (film: current unknown, asinh form)."""
    msh, ft = slab
    kin = ButlerVolmer(I0, *alphas, film_resistance=film)
    prob = PotentialProblem(msh, ft, KAPPA, [AppliedCurrent(TOP, 30 * I0), Electrode(BOTTOM, kin)])
    state = smooth_state(prob.space, 3.0, 0.3)
    prob.u.x.array[:] = state.x.array
    d = smooth_state(prob.space, 1.0, 1.1)
    verify(
        "fd_jacobian_full",
        fd_check(prob.F, prob.J, prob.u, d, 1e-6),
        "<",
        1e-7,
        reference="central finite difference of the residual: max |J·d − FD| / max |J·d|",
        what="Jacobian of the full potential residual (with / without film)",
    )


# -- input validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"i0": -1.0}, ["i0", "> 0"]),
        ({"i0": 1.0, "alpha_a": 0.0}, ["alpha_a", "> 0 and <= 1"]),
        ({"i0": 1.0, "alpha_c": 1.5}, ["alpha_c", "<= 1"]),
        ({"i0": 1.0, "temperature": 0.0}, ["temperature", "> 0"]),
        ({"i0": 1.0, "film_resistance": -1e-3}, ["film_resistance", ">= 0"]),
        ({"i0": float("nan")}, ["i0"]),
    ],
)
def test_kinetics_bad_input(kw, words):
    with pytest.raises(InputError) as err:
        ButlerVolmer(**kw)
    for w in words:
        assert w in str(err.value)


def test_problem_bad_input(slab):
    msh, ft = slab
    kin = ButlerVolmer(I0)
    with pytest.raises(InputError, match="FixedPotential or Electrode"):
        PotentialProblem(msh, ft, KAPPA, [AppliedCurrent(TOP, 1.0)])
    with pytest.raises(InputError, match="already used"):
        PotentialProblem(msh, ft, KAPPA, [FixedPotential(TOP, 1.0), Electrode(TOP, kin)])
    with pytest.raises(InputError, match="marks no facets"):
        PotentialProblem(msh, ft, KAPPA, [FixedPotential(TOP, 1.0), Electrode(99, kin)])
    with pytest.raises(InputError, match="conductivity"):
        PotentialProblem(msh, ft, -1.0, [FixedPotential(TOP, 1.0), Electrode(BOTTOM, kin)])
    with pytest.raises(InputError, match="must be a ButlerVolmer"):
        Electrode(BOTTOM, "fast")
