"""Cai's spreading field W, its DG cell fields, the stress closed forms and the graded mesh.

References: verification.md §1 (Cai et al., JMPS 54 (2006) 561; Hirth & Lothe 1982).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import rel_error
from scipy.integrate import quad

from mpi4py import MPI

from femcm.physics.dislocation import Dislocation, half_line_integral, spreading_2d
from femcm.physics.dislocation_stress import (
    cai_stress,
    hydrostatic_stress,
    interaction_forces,
    peach_koehler,
    volterra_stress,
)

A = 1.3e-9


def w_reference(x, y, a):
    """verification.md §1: W for the cut S = {y = 0, x < 0}, n = +e_y."""
    B = np.sqrt(y**2 + a**2)
    ra2 = x**2 + y**2 + a**2
    return (
        a**4 / (4 * np.pi * B**5) * (3 * np.arctan2(B, x) - B * x * (5 * B**2 + 3 * x**2) / ra2**2)
    )


def w_quadrature(d: Dislocation, x: float, y: float) -> float:
    """∫_0^L w₂(|x − x_d − s t|) ds by adaptive quadrature (in units of a)."""
    a = d.core_width
    dx, dy = (x - d.position[0]) / a, (y - d.position[1]) / a

    def f(s):
        return spreading_2d(np.hypot(dx - s * d.cut[0], dy - s * d.cut[1]), 1.0)

    # split at the foot of the perpendicular (the peak) and a few widths around it
    foot = dx * d.cut[0] + dy * d.cut[1]
    length = d.cut_length / a
    inner = [p for p in (foot - 5, foot, foot + 5) if 0 < p < length]
    total = 0.0
    for lo, hi in itertools.pairwise([0.0, *inner, length]):
        v, _ = quad(f, lo, hi, epsabs=1e-15, epsrel=1e-13, limit=400)
        total += v
    return total / a


DISLOCATIONS = [
    Dislocation.glide((0.0, 0.0), (A, 0.0), A),
    Dislocation.glide((0.3 * A, -0.7 * A), (0.6 * A, 0.8 * A), 0.8 * A),
    Dislocation.climb((1e-9, 2e-9), (A, 0.0), A, cut=(0.0, -1.0)),
    Dislocation.glide((0.0, 0.0), (A, 0.0), A, cut_length=5 * A),
    Dislocation(
        (0.5 * A, 0.0), (0.0, A), (np.cos(2.0), np.sin(2.0)), (-np.sin(2.0), np.cos(2.0)), A, 7 * A
    ),
]


@pytest.mark.parametrize("d", DISLOCATIONS, ids=range(len(DISLOCATIONS)))
def test_closed_form_matches_quadrature(d, verify):
    rng = np.random.default_rng(3)
    pts = rng.uniform(-12 * A, 12 * A, size=(60, 2))
    pts[:10, 1] = d.position[1] + rng.uniform(-1e-3, 1e-3, 10) * A  # near the cut line
    pts[10] = d.position
    W = d.W(pts[:, 0], pts[:, 1])
    ref = np.array([w_quadrature(d, x, y) for x, y in pts])
    peak = 3 / (4 * d.core_width)
    verify(
        "W_closed_form",
        rel_error(W, ref, floor=1e-3 * peak),
        "<=",
        1e-10,
        reference="§1 closed form of W vs direct quadrature of w₂ along the cut; relative error",
        what="Cai spreading W of a cut (5 dislocations: glide, climb, clipped, rotated)",
    )


def test_matches_verification_formula():
    d = DISLOCATIONS[0]
    x, y = np.meshgrid(np.linspace(-30, 30, 61) * A, np.linspace(-10, 10, 41) * A)
    ref = w_reference(x, y, A)
    assert np.abs(d.W(x, y) - ref).max() <= 1e-12 * ref.max()


def test_derivative_along_the_cut_is_minus_w2():
    d = DISLOCATIONS[0]
    x, y, h = np.linspace(-5, 5, 21) * A, 0.37 * A, 1e-4 * A
    dWdx = (d.W(x + h, y) - d.W(x - h, y)) / (2 * h)
    assert np.allclose(dWdx, -spreading_2d(np.hypot(x, y), A), rtol=1e-6, atol=0)


@pytest.mark.parametrize("d", DISLOCATIONS[:3], ids=range(3))
def test_integral_across_the_cut_is_one(d, verify):
    """Far along the cut ∫ W ds_⊥ = 1 (rigid slip by b); through the core it is 1/2."""
    t, n = np.array(d.cut), np.array(d.normal)
    a = d.core_width
    for s_par, expected in ((1e4 * a, 1.0), (0.0, 0.5)):
        base = np.array(d.position) + s_par * t

        def f(s, base=base):
            p = base + s * a * n
            return float(d.W(p[0], p[1])) * a

        v = sum(
            quad(f, lo, hi, epsabs=1e-15, epsrel=1e-12, limit=400)[0]
            for lo, hi in ((-np.inf, -5), (-5, 0), (0, 5), (5, np.inf))
        )
        verify(
            "W_integral_across_cut",
            abs(v - expected),
            "<",
            1e-10,
            reference="§1: ∫ W across the cut = 1 far along it (rigid slip b), ½ through the core",
            what="Cai spreading W: slip across the cut",
        )


def test_behind_the_core_no_cancellation():
    """Far behind the core W ~ a⁴/|s|⁵ is computed to full relative accuracy."""
    a = A
    s = np.array([-1e2, -1e3, -1e4]) * a
    W = half_line_integral(s, 0.0, a)
    # ∫_{|s|}^∞ 2a⁴/(π τ⁶)(1 − 3a²/τ² + ...) dτ = 2a⁴/(5π|s|⁵)(1 − 15a²/(7 s²))
    ref = 2 * a**4 / (5 * np.pi * np.abs(s) ** 5) * (1 - 15 * a**2 / (7 * s**2))
    assert np.allclose(W, ref, rtol=1e-5)


def test_reversed_cut_with_reversed_b_is_the_same_dislocation():
    """Cut along +x with b reversed: W(−x, y) and the same stress field (verification §1)."""
    d = DISLOCATIONS[0]
    e = Dislocation((0.0, 0.0), (-A, 0.0), (1.0, 0.0), (0.0, 1.0), A)
    x, y = np.meshgrid(np.linspace(-5, 5, 11) * A, np.linspace(-3, 3, 7) * A)
    assert np.allclose(e.W(x, y), d.W(-x, y), rtol=1e-13)
    assert e.hirth_lothe_burgers == d.hirth_lothe_burgers
    for s1, s2 in zip(
        cai_stress(d, x, y, 60e9, 0.26), cai_stress(e, x, y, 60e9, 0.26), strict=True
    ):
        assert np.allclose(s1, s2, rtol=1e-14)


def test_clipping_is_the_difference_of_two_half_lines():
    d = Dislocation.glide((0.0, 0.0), (A, 0.0), A)
    c = d.clipped(((-4 * A, -5 * A), (5 * A, 5 * A)))
    assert c.cut_length == pytest.approx(4 * A)
    far = Dislocation.glide((-4 * A, 0.0), (A, 0.0), A)
    x, y = np.meshgrid(np.linspace(-8, 5, 14) * A, np.linspace(-3, 3, 7) * A)
    assert np.allclose(c.W(x, y), d.W(x, y) - far.W(x, y), atol=1e-14 / A)


def test_bad_input():
    with pytest.raises(ValueError, match="normal"):
        Dislocation((0, 0), (A, 0), (1, 0), (1, 1), A)
    with pytest.raises(ValueError, match="core_width"):
        Dislocation.glide((0, 0), (A, 0), -1.0)
    with pytest.raises(ValueError, match="burgers"):
        Dislocation.glide((0, 0), (0, 0), A)


# --- stress fields ----------------------------------------------------------------------


MU, NU = 150e9 / (2 * 1.26), 0.26
D_CONST = MU * A / (2 * np.pi * (1 - NU))


def test_cai_closed_forms_and_hydrostatic():
    d = DISLOCATIONS[0]
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-10 * A, 10 * A, (2, 50))
    s = cai_stress(d, x, y, MU, NU)
    ra2 = x**2 + y**2 + A**2
    assert np.allclose(s[0], -D_CONST * y * (3 * x**2 + y**2 + 3 * A**2) / ra2**2, rtol=1e-13)
    assert np.allclose(s[2], D_CONST * x * (x**2 - y**2 + A**2) / ra2**2, rtol=1e-13)
    sh = -MU * A * (1 + NU) * y * (x**2 + y**2 + 2 * A**2) / (3 * np.pi * (1 - NU) * ra2**2)
    assert np.allclose(hydrostatic_stress(s), sh, rtol=1e-12)


@pytest.mark.parametrize("d", DISLOCATIONS[1:3], ids=("glide", "climb"))
def test_stress_is_in_equilibrium(d, verify):
    """div σ = 0 of the rotated field (central differences)."""
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-4 * A, 4 * A, (2, 20))
    h = 1e-5 * A

    def s(x, y):
        return cai_stress(d, x, y, MU, NU)

    fx = (s(x + h, y)[0] - s(x - h, y)[0] + s(x, y + h)[2] - s(x, y - h)[2]) / (2 * h)
    fy = (s(x + h, y)[2] - s(x - h, y)[2] + s(x, y + h)[1] - s(x, y - h)[1]) / (2 * h)
    scale = D_CONST / A**2
    verify(
        "cai_equilibrium",
        max(np.abs(fx).max(), np.abs(fy).max()) / scale,
        "<",
        1e-5,
        reference="div σ = 0 of the rotated Cai field (central differences) / (D/a²)",
        what="Cai stress of glide and climb dislocations",
    )


def test_cai_tends_to_volterra(verify):
    d = DISLOCATIONS[0]
    th = np.linspace(0, 2 * np.pi, 37)
    errs = []
    for r in (10 * A, 100 * A):
        x, y = r * np.cos(th), r * np.sin(th)
        diff = np.array(cai_stress(d, x, y, MU, NU)) - np.array(volterra_stress(d, x, y, MU, NU))
        errs.append(np.abs(diff).max() / (D_CONST / r))
    what = "Cai field tends to Volterra far from the core"
    ref = "§1: Cai − Volterra = O(a²/r²): max |Δσ| / (D/r) at r = 10a"
    verify("cai_minus_volterra_r10a", errs[0], "<", 0.05, reference=ref, what=what)
    ref = "§1: O(a²/r²) decay: error at r = 10a over error at r = 100a"
    verify("cai_minus_volterra_decay", errs[0] / errs[1], ">", 90, reference=ref, what=what)


def test_hirth_lothe_sign():
    """b = +b e_x, cut along −x, n = +e_y: compression above the slip plane."""
    d = DISLOCATIONS[0]
    sxx_above = cai_stress(d, 0.0, 2 * A, MU, NU)[0]
    sxx_below = cai_stress(d, 0.0, -2 * A, MU, NU)[0]
    assert sxx_above < 0 < sxx_below


def test_peach_koehler_of_a_pair():
    """f_x = b σ_xy, f_y = −b σ_xx of the other's field (verification.md §1)."""
    d1 = Dislocation.glide((0.0, 0.0), (A, 0.0), A)
    d2 = Dislocation.glide((6 * A, 2 * A), (A, 0.0), A)
    f = interaction_forces([d1, d2], MU, NU)
    sxx, _, sxy, _ = cai_stress(d1, 6 * A, 2 * A, MU, NU)
    assert np.allclose(f[1], [A * sxy, -A * sxx], rtol=1e-13)
    assert np.allclose(f[0], -f[1], rtol=1e-10)  # action = reaction (same b)
    assert peach_koehler(d1, 0.0, 0.0, 1e6) == pytest.approx((A * 1e6, 0.0))


# --- DG fields on meshes -------------------------------------------------------------------


@pytest.fixture(scope="module")
def square_meshes():
    from dolfinx import mesh

    L = 8 * A
    return [
        mesh.create_rectangle(
            MPI.COMM_WORLD, [[-L / 2, -L / 2], [L / 2, L / 2]], [n, n], mesh.CellType.triangle
        )
        for n in (16, 32, 64)
    ]


def _l2_error(msh, W, d):
    from femcm.fem.dislocation_field import _cell_vertices, cell_quadrature

    verts = _cell_vertices(msh)
    n_owned = msh.topology.index_map(2).size_local
    V = W.function_space
    basis = V.ufl_element().basix_element
    from femcm.fem.dislocation_field import _level, _reference_rule

    err = 0.0
    for cells, x, w in cell_quadrature(msh, d.core_width, 0.125):
        own = cells < n_owned
        cells, x = cells[own], x[own]
        ref = _reference_rule(_level(x, w), 8)[0]
        phi = basis.tabulate(0, ref)[0, :, :, 0]
        wh = W.x.array[V.dofmap.list[cells]] @ phi.T
        v = verts[cells]
        e1, e2 = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
        area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        err += float((((d.W(x[..., 0], x[..., 1]) - wh) ** 2) @ w * area).sum())
    return np.sqrt(msh.comm.allreduce(err, op=MPI.SUM))


@pytest.mark.parametrize(("degree", "rate"), [(0, 1.0), (1, 2.0)])
def test_cell_fields_converge(square_meshes, degree, rate, verify):
    import ufl
    from dolfinx import fem

    from femcm.fem.dislocation_field import spreading_field

    d = Dislocation.glide((0.013 * A, 0.021 * A), (A, 0.0), A)
    errs, integrals = [], []
    for msh in square_meshes:
        W = spreading_field(msh, [d], degree=degree)
        errs.append(_l2_error(msh, W, d))
        integrals.append(msh.comm.allreduce(fem.assemble_scalar(fem.form(W * ufl.dx)), op=MPI.SUM))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    what = "Cai spreading W as DG0 / DG1 cell fields, meshes 16², 32², 64²"
    verify(
        "W_cell_field_rate",
        rates.min(),
        ">",
        rate - 0.2,
        reference=f"L² error of W in DG{degree}: rate {rate:.0f} (minimum over refinements)",
        what=what,
        msg=rates,
    )
    # the cell fields conserve ∫W (the cut's slip) on every mesh
    verify(
        "W_cell_field_integral",
        np.ptp(integrals) / abs(integrals[-1]),
        "<",
        1e-9,
        reference="∫W over the mesh (the cut's slip) is the same on every mesh: spread / ∫W",
        what=what,
    )


def test_graded_mesh_resolves_the_core():
    from femcm.meshes.dislocation_square import dislocation_square

    a = A
    data = dislocation_square(
        MPI.COMM_WORLD, 40 * a, [(0.0, 0.0)], [(-1.0, 0.0)], a / 4, 3 * a, r_core=2 * a
    )
    msh = data.mesh
    n = msh.topology.index_map(2).size_local
    from dolfinx import mesh as dmesh

    cells = np.arange(n, dtype=np.int32)
    h = msh.h(2, cells)
    mid = dmesh.compute_midpoints(msh, 2, cells)
    near = np.hypot(mid[:, 0], mid[:, 1]) < 1.5 * a
    worst = msh.comm.allreduce(float(h[near].max()) if near.any() else 0.0, op=MPI.MAX)
    assert worst <= a / 4
    assert {"domain", "left", "right", "bottom", "top"} <= set(data.physical_groups)
