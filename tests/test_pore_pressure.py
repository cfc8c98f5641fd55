"""Problem ``pore_pressure`` and the axisymmetric kinematics: misfit-sphere references.

References (verification.md §4; Eshelby 1957): a sphere of bulk modulus K_i with the
dilatational eigenstrain ε* in an infinite matrix of shear modulus μ_m carries the uniform
pressure p = ε*/(1/(4μ_m) + 1/(3K_i)); in the matrix σ_rr = −p R³/ρ³ and the hoop stresses
are p R³/(2ρ³) (so p/2 on the wall). Homogeneous case (K_i = K_m): p = 2Eε*/(3(1 − ν)).
A pore 10 radii deep in a cylinder 20 radii wide stands for the infinite body (the free
surface perturbs p by O((R/d)³) = 1e-3).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import REPO, run_cli

from mpi4py import MPI

import femcm
from femcm.base.constants import FARADAY

DEEP = {"depth": 10e-6, "width": 20e-6, "height": 20e-6, "mesh_size": 3e-6}


@pytest.mark.parametrize("solver", ["direct", "iterative"])
def test_deep_pore_matches_misfit_sphere(comm, solver, verify):
    s = femcm.run("pore_pressure", comm=comm, linear_solver=solver, **DEEP).scalars
    E_m, nu_m, E_i, nu_i, dv = 150e9, 0.26, 7.8e9, 0.38, 0.01
    p_ref = (dv / 3) / (1 / (4 * E_m / (2 * (1 + nu_m))) + 1 / (E_i / (1 - 2 * nu_i)))
    assert s["li_pressure_reference"] == pytest.approx(p_ref, rel=1e-12)
    what = "deep over-filled pore (10 radii), Li in LLZO, direct and iterative solver"
    ref = "§4 inhomogeneous misfit sphere: p = ε*/(1/(4μ_m) + 1/(3K_i))"
    for key, expected, r in (("li_pressure", p_ref, "p"), ("wall_hoop_stress", p_ref / 2, "p/2")):
        verify.approx(
            key,
            s[key],
            expected,
            0.02,
            reference=f"{ref}; {key.replace('_', ' ')} = {r}, relative error",
            what=what,
        )
    # The deep pore's largest principal stress is the wall hoop stress p/2.
    assert s["max_principal"] == pytest.approx(p_ref / 2, rel=0.05)
    assert s["overfill_at_fracture"] == pytest.approx(dv * 150e6 / s["max_principal"], rel=1e-12)


def test_homogeneous_sphere_pressure(comm, verify):
    """Same moduli inside and out: p = 2Eε*/(3(1 − ν)), a check of the hoop strain u_r/r."""
    E, nu, dv = 150e9, 0.26, 0.003
    s = femcm.run("pore_pressure", comm=comm, E_li=E, nu_li=nu, overfill=dv, **DEEP).scalars
    verify.approx(
        "li_pressure",
        s["li_pressure"],
        2 * E * (dv / 3) / (3 * (1 - nu)),
        0.01,
        reference="§4 homogeneous misfit sphere: p = 2Eε*/(3(1 − ν)), relative error",
        what="pore with the matrix's moduli (homogeneous inclusion)",
    )


def test_near_surface_pore_is_more_dangerous(comm):
    deep = femcm.run("pore_pressure", comm=comm, **DEEP).scalars
    near = femcm.run("pore_pressure", comm=comm, mesh_size=3e-6).scalars  # depth 2 µm
    assert near["max_principal"] > 1.1 * deep["max_principal"]
    assert near["overfill_at_fracture"] < deep["overfill_at_fracture"]
    # The peak sits in the ligament above the pore (between the surface and the pore centre).
    assert near["max_principal_z"] > -2e-6
    assert near["surface_max_principal"] > 10 * deep["surface_max_principal"]


def test_plated_charge_is_an_overfill(comm):
    """Q = F ΔV / V_m: the charge that plates ΔV/V = 1 % gives the 1 % figures."""
    v_pore, v_m = 4 / 3 * math.pi * 1e-18, 13.0e-6
    q = 0.01 * v_pore * FARADAY / v_m
    by_v = femcm.run("pore_pressure", comm=comm, **DEEP).scalars
    by_q = femcm.run("pore_pressure", comm=comm, charge=q, overfill=0.5, **DEEP).scalars
    assert by_q["overfill"] == pytest.approx(0.01, rel=1e-12)
    assert by_q["li_pressure"] == pytest.approx(by_v["li_pressure"], rel=1e-10)
    assert by_q["charge_at_fracture"] == pytest.approx(
        q * by_q["overfill_at_fracture"] / 0.01, rel=1e-12
    )


def test_same_on_any_partition(comm):
    """Each rank alone (COMM_SELF) against the partitioned run (meaningful under mpirun)."""
    world = femcm.run("pore_pressure", comm=comm, mesh_size=3e-6).scalars
    alone = femcm.run("pore_pressure", comm=MPI.COMM_SELF, mesh_size=3e-6).scalars
    for key in ("li_pressure", "wall_hoop_stress", "max_principal"):
        assert world[key] == pytest.approx(alone[key], rel=1e-9)
    assert np.allclose(
        [world["max_principal_r"], world["max_principal_z"]],
        [alone["max_principal_r"], alone["max_principal_z"]],
        atol=1e-12,
    )


def test_bad_input():
    with pytest.raises(ValueError, match="depth"):
        femcm.run("pore_pressure", depth=0.5e-6)  # the pore would cut the surface
    with pytest.raises(ValueError, match="overfill"):
        femcm.run("pore_pressure", overfill=0.0)


@pytest.mark.serial
def test_script_two_ranks_with_plot(tmp_path):
    """problems/pore_pressure.py under mpirun -n 2 (with --plot) reports the serial figures."""
    script = str(REPO / "problems" / "pore_pressure.py")
    coarse = ["--set", "mesh_size=4e-6", "--set", "mesh_size_wall=0.2e-6"]
    run = run_cli([script, *coarse, "--out", str(tmp_path / "n2"), "--plot"], ranks=2)
    assert run.returncode == 0, run.stderr
    s2 = json.loads((tmp_path / "n2" / "result.json").read_text())["scalars"]
    s1 = femcm.run(
        "pore_pressure", comm=MPI.COMM_SELF, mesh_size=4e-6, mesh_size_wall=0.2e-6
    ).scalars
    for key in ("li_pressure", "wall_hoop_stress", "max_principal", "overfill_at_fracture"):
        assert s2[key] == pytest.approx(s1[key], rel=1e-7), key
    assert (tmp_path / "n2" / "max_principal.png").stat().st_size > 10_000


def test_axisymmetric_kinematics_on_and_off_axis(comm):
    """u = (r(1 + z), r z): ε_θθ = u_r/r = 1 + z everywhere, including nodes on the axis."""
    import ufl
    from dolfinx import fem, mesh

    from femcm.physics.axisymmetric import hoop_strain, max_principal_meridian, strain

    msh = mesh.create_unit_square(comm, 4, 4)
    x = ufl.SpatialCoordinate(msh)
    u = ufl.as_vector([x[0] * (1 + x[1]), x[0] * x[1]])
    V = fem.functionspace(msh, ("DG", 1))
    hoop = fem.Function(V)
    hoop.interpolate(fem.Expression(hoop_strain(u, x[0], 1e-12), V.element.interpolation_points))
    z = V.tabulate_dof_coordinates()[:, 1]
    assert np.allclose(hoop.x.array, 1 + z, atol=1e-12)
    eps = strain(u, x[0], 1e-12)
    e_rz = fem.Function(V)
    e_rz.interpolate(fem.Expression(eps[0, 1], V.element.interpolation_points))
    assert np.allclose(e_rz.x.array, (V.tabulate_dof_coordinates()[:, 0] + z) / 2, atol=1e-12)
    # Largest principal value of a (r, z, θ) tensor against NumPy.
    sigma = np.array([[1.0, 2.0, 0.0], [2.0, -3.0, 0.0], [0.0, 0.0, 0.5]])
    s1 = fem.Function(V)
    expr = max_principal_meridian(fem.Constant(msh, sigma))
    s1.interpolate(fem.Expression(expr, V.element.interpolation_points))
    ref = np.linalg.eigvalsh(sigma)
    assert np.allclose(s1.x.array, ref.max(), rtol=1e-13)
