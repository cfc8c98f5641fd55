"""Plane-strain elasticity against closed forms: Goodier inhomogeneity, Kirsch, misfit inclusion.

On a circular plate the exact infinite-body traction σ_ref·n is applied on the outer boundary,
so the discrete solution converges to the closed form itself (no finite-size error). Rigid
modes are pinned at two vertices; the applied tractions are self-equilibrated.
"""

from __future__ import annotations

import numpy as np
import pytest
import ufl
from conftest import rel_error
from dolfinx import fem
from references import (
    goodier_factors,
    goodier_matrix_biaxial,
    kirsch,
    misfit_inside,
    misfit_outside,
)

from femcm.fem.bcs import pin_point
from femcm.fem.phases import piecewise_constant
from femcm.fem.postprocess import integrate
from femcm.meshes.disk_with_inclusion import disk_with_inclusion
from femcm.models.elastic import solve_elastic
from femcm.physics.materials import Cubic, Isotropic, rotation_z

R, R_OUT = 1.0, 12.0
E_M, NU_M = 150e9, 0.26


def _mesh(comm, hole=False, h_in=0.04, h_out=1.0):
    return disk_with_inclusion(comm, R_OUT, R, h_in=h_in, h_out=h_out, hole=hole)


def _solve(data, materials, sigma_ref, eigenstrain=None, degree=2):
    """Elastic solve with traction σ_ref(x)·n on ``outer`` (σ_ref: (sxx, syy, sxy) of x, y)."""
    msh, ft = data.mesh, data.facet_tags
    x = ufl.SpatialCoordinate(msh)
    sxx, syy, sxy = sigma_ref(x[0], x[1])
    n = ufl.FacetNormal(msh)
    t = ufl.dot(ufl.as_matrix([[sxx, sxy], [sxy, syy]]), n)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)

    def bcs(V):
        return [*pin_point(V, (R_OUT, 0.0), (0, 1)), *pin_point(V, (-R_OUT, 0.0), (1,))]

    return solve_elastic(
        msh,
        data.cell_tags,
        materials,
        degree=degree,
        bcs=bcs,
        tractions=[(ds(data.physical_groups["outer"].tag), t)],
        eigenstrain=eigenstrain,
    )


def _inclusion_stress(data, sol):
    """Mean of σ over the inclusion and the max pointwise deviation from that mean (L∞ over
    quadrature points is approximated by the DG1 interpolation at cell vertices)."""
    msh = data.mesh
    dx = ufl.Measure("dx", domain=msh, subdomain_data=data.cell_tags)(
        data.physical_groups["inclusion"].tag
    )
    area = integrate(fem.Constant(msh, 1.0) * dx)
    return np.array([[integrate(sol.sigma[i, j] * dx) / area for j in range(3)] for i in range(3)])


@pytest.mark.parametrize(
    ("E_i", "tol"), [(E_M / 10, 1e-2), (10 * E_M, 1e-2), (156e9 / 161e9 * E_M, 1e-3)]
)
def test_goodier_biaxial(comm, E_i, tol, verify):
    nu_i = 0.3
    F_b, _ = goodier_factors(E_M, NU_M, E_i, nu_i)
    S_b = -1e6
    data = _mesh(comm)
    g = data.physical_groups
    mats = {g["matrix"].tag: Isotropic(E_M, NU_M), g["inclusion"].tag: Isotropic(E_i, nu_i)}
    sol = _solve(data, mats, lambda x, y: goodier_matrix_biaxial(S_b, F_b, R, x, y))
    s = _inclusion_stress(data, sol)
    expected = np.diag([F_b * S_b, F_b * S_b, nu_i * 2 * F_b * S_b])
    err = np.abs(s - expected).max() / abs(F_b * S_b)
    verify(
        "goodier_inclusion_stress",
        err,
        "<",
        tol,
        reference="Goodier/Eshelby (§3): inclusion σ = F_b S_b, σ_zz = 2ν_i F_b S_b; err/|F_b S_b|",
        what="circular inhomogeneity (E_i/E_m = 0.1, 10, 0.97), remote biaxial, exact traction",
    )


def test_cubic_path_equals_isotropic(comm, verify):
    """A cubic phase with C11 − C12 = 2 C44, rotated, gives the isotropic answer."""
    lam, mu = Isotropic(E_M, NU_M).lame
    cubic = Cubic(lam + 2 * mu, lam, mu, rotation=rotation_z(0.4))
    F_b, _ = goodier_factors(E_M, NU_M, E_M / 10, 0.3)
    data = _mesh(comm, h_in=0.1)
    g = data.physical_groups
    ref = {g["matrix"].tag: Isotropic(E_M, NU_M), g["inclusion"].tag: Isotropic(E_M / 10, 0.3)}
    cub = {g["matrix"].tag: cubic, g["inclusion"].tag: Isotropic(E_M / 10, 0.3)}
    load = lambda x, y: goodier_matrix_biaxial(-1e6, F_b, R, x, y)  # noqa: E731
    s_iso = _inclusion_stress(data, _solve(data, ref, load))
    s_cub = _inclusion_stress(data, _solve(data, cub, load))
    verify(
        "cubic_vs_isotropic",
        np.abs(s_iso - s_cub).max() / np.abs(s_iso).max(),
        "<",
        1e-9,
        reference="cubic with C11 − C12 = 2C44 (rotated) is isotropic: max |Δσ| / max |σ|",
        what="cubic elasticity code path, Goodier set-up",
    )


def test_kirsch_hole(comm, verify):
    """Hoop stress 3S at θ = 90° and −S at θ = 0 on the hole (within 3 %)."""
    S = 1e6
    data = _mesh(comm, hole=True, h_in=0.03)
    mats = {data.physical_groups["matrix"].tag: Isotropic(E_M, NU_M)}
    sol = _solve(data, mats, lambda x, y: kirsch(S, R, x, y))
    from femcm.fem.postprocess import field
    from femcm.fem.probe import probe

    sig = field(sol.sigma, data.mesh, "DG", 1, "sigma")
    vals = probe(sig, np.array([[0.0, R, 0.0], [R, 0.0, 0.0]])).reshape(2, 3, 3)
    k90 = vals[0, 0, 0] / S  # σ_θθ at (0, a) is σ_xx
    k0 = vals[1, 1, 1] / S  # σ_θθ at (a, 0) is σ_yy
    ref = "Kirsch (§5): σ_θθ = S(1 − 2cos 2θ) at the hole; relative error"
    what = "hole under remote uniaxial S: hoop stress 3S at θ = 90°, −S at θ = 0"
    verify("kirsch_90deg", abs(k90 - 3) / 3, "<", 0.03, reference=ref, what=what, msg=k90)
    verify("kirsch_0deg", abs(k0 + 1), "<", 0.03, reference=ref, what=what, msg=k0)


def test_misfit_inclusion(comm, verify):
    """Uniform interior stress −Eε*/(2(1−ν)), σ_zz = −Eε*/(1−ν); R²/r² decay outside."""
    eps_star = 1e-3
    data = _mesh(comm, h_out=0.4)
    g = data.physical_groups
    mats = {g["matrix"].tag: Isotropic(E_M, NU_M), g["inclusion"].tag: Isotropic(E_M, NU_M)}
    ind = piecewise_constant(
        data.mesh, data.cell_tags, {g["matrix"].tag: 0.0, g["inclusion"].tag: 1.0}
    )
    sol = _solve(
        data,
        mats,
        lambda x, y: misfit_outside(E_M, NU_M, eps_star, R, x, y),
        eigenstrain=eps_star * ind * ufl.Identity(3),
    )
    s = _inclusion_stress(data, sol)
    s_in, s_zz = misfit_inside(E_M, NU_M, eps_star)
    expected = np.diag([s_in, s_in, s_zz])
    err = np.abs(s - expected).max() / abs(s_in)
    what = "misfitting circular inclusion (dilatational eigenstrain), plane strain"
    verify(
        "misfit_interior",
        err,
        "<",
        1e-3,
        reference="Eshelby (§4): inside σ = −Eε*/(2(1−ν)), σ_zz = −Eε*/(1−ν); max error / |σ|",
        what=what,
    )
    # Outside: σ_rr at r = 2R and 4R on the x axis (σ_xx there) decays as R²/r².
    from femcm.fem.postprocess import field
    from femcm.fem.probe import probe

    sig = field(sol.sigma, data.mesh, "DG", 1, "sigma")
    pts = np.array([[2 * R, 0.0, 0.0], [4 * R, 0.0, 0.0]])
    got = probe(sig, pts).reshape(2, 3, 3)[:, 0, 0]
    ref = misfit_outside(E_M, NU_M, eps_star, R, pts[:, 0], pts[:, 1])[0]
    verify(
        "misfit_outside_decay",
        rel_error(got, ref),
        "<=",
        5e-3,
        reference="Eshelby (§4): outside σ_rr = −Eε*R²/(2(1−ν)r²) at r = 2R, 4R; relative error",
        what=what,
        msg=(got, ref),
    )
