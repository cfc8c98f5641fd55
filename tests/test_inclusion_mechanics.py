"""Problem ``inclusion_mechanics``: Goodier under its own load state, figures, parallel, output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from references import goodier_factors

import femcm
from femcm.problem_scripts import inclusion_mechanics as im

# One inclusion in the middle of a large LLZO block (no Li layer): the far field is the
# problem's uniaxial-strain state σ_yy = −P, σ_xx = σ_zz = −P ν/(1 − ν).
BIG = {
    "width": 1200e-6,
    "height": 1200e-6,
    "li_thickness": 0.0,
    "inclusions": ((600e-6, 600e-6, 30e-6),),
    "mesh_size": 60e-6,
    "mesh_size_inclusion": 3e-6,
}
COARSE = {"mesh_size": 40e-6, "mesh_size_inclusion": 8e-6}


@pytest.mark.parametrize(("E_230", "tol"), [(16.1e9, 1e-2), (1610e9, 1e-2), (156e9, 1e-3)])
def test_goodier_rollers_pressure(comm, E_230, tol, verify):
    P, nu_m, nu_i, E_m = 1e6, 0.27, 0.27, 161e9
    res = femcm.run("inclusion_mechanics", comm=comm, E_230=E_230, pressure=P, **BIG)
    assert res.problem == "inclusion_mechanics"
    sxx, syy = -P * nu_m / (1 - nu_m), -P
    S_b, T = (sxx + syy) / 2, (sxx - syy) / 2
    F_b, F_s = goodier_factors(E_m, nu_m, E_230, nu_i)
    expected_yy = F_b * S_b - F_s * T
    got = res.scalars["inclusion_0_sigma_yy_mean"]
    what = "inclusion_mechanics: one inclusion (E_230 = 16.1, 1610, 156 GPa), rollers + pressure"
    ref = "Goodier/Eshelby (§3), uniaxial-strain far field: inclusion σ_yy = F_b S_b − F_s T"
    err = abs(got - expected_yy) / abs(expected_yy)
    verify("goodier_sigma_yy_mean", err, "<", tol, reference=ref, what=what, msg=got)
    # The centre of the inclusion, all components (probe is partition-independent).
    s = res.probe("sigma", np.array([[600e-6, 600e-6, 0.0]])).reshape(3, 3)
    expected = np.diag([F_b * S_b + F_s * T, expected_yy, nu_i * 2 * F_b * S_b])
    err = np.abs(s - expected).max() / abs(expected_yy)
    ref = "Goodier/Eshelby (§3): all σ components at the inclusion centre, max error / |σ_yy|"
    verify("goodier_centre", err, "<", tol * 1.5, reference=ref, what=what, msg=s)


def test_far_field_and_reports(comm):
    res = femcm.run("inclusion_mechanics", comm=comm, **COARSE)
    sh_far, vm_far = im.far_field(im.Parameters())
    assert res.scalars["sigma_h_far"] == pytest.approx(sh_far)
    assert res.scalars["von_mises_far"] == pytest.approx(vm_far)
    # Far from the inclusions (x = 20 µm, y = 550 µm) the state is the uniaxial-strain one.
    sh = res.probe("sigma_h", np.array([[20e-6, 560e-6, 0.0]]))[0]
    assert sh == pytest.approx(sh_far, rel=2e-3)
    for k in range(3):
        assert (
            res.scalars[f"inclusion_{k}_sigma_h_min"] <= res.scalars[f"inclusion_{k}_sigma_h_max"]
        )
        assert 0.95 < res.scalars[f"inclusion_{k}_von_mises_ratio"] < 1.2
    assert set(res.fields) >= {"u", "sigma", "sigma_h", "von_mises", "phase"}


def test_iterative_matches_direct(comm):
    a = femcm.run("inclusion_mechanics", comm=comm, **COARSE)
    b = femcm.run("inclusion_mechanics", comm=comm, linear_solver="iterative", **COARSE)
    for k, v in a.scalars.items():
        assert b.scalars[k] == pytest.approx(v, rel=1e-7, abs=1e-6), k
    assert b.solver["linear_iterations"] > 1


def test_output_folder(comm, shared_tmp):
    out = shared_tmp / "im"
    res = femcm.run("inclusion_mechanics", out=out, comm=comm, **COARSE)
    comm.barrier()
    text = (out / "result.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["problem"] == "inclusion_mechanics"
    assert data["mesh"]["ranks"] == comm.size and data["mesh"]["cells"] > 0
    assert data["scalars"] == pytest.approx(res.scalars)
    assert data["parameters"]["pressure"] == 1e6
    assert set(data["versions"]) == {"femcm", "dolfinx", "petsc"}
    assert (out / "fields.xdmf").is_file() and (out / "fields.h5").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"bogus": 1.0}, ["'bogus'", "valid parameters", "pressure"]),
        ({"E_220": -1.0}, ["E_220", "> 0"]),
        ({"nu_230": 0.5}, ["nu_230", "< 0.5"]),
        ({"inclusions": ((590e-6, 300e-6, 30e-6),)}, ["inclusions[0]", "outside"]),
        ({"inclusions": ((300e-6, 300e-6, 30e-6), (340e-6, 300e-6, 30e-6))}, ["overlaps"]),
        ({"mesh_file": "/nonexistent/plate.msh"}, ["mesh_file", "no such file"]),
        ({"linear_solver": "hypre"}, ["linear_solver", "direct, iterative"]),
        ({"linear_solver": "gamg"}, ["linear_solver", "renamed", "'iterative'"]),
        ({"linear_solver": "mumps"}, ["linear_solver", "renamed", "'direct'"]),
        ({"pressure": "high"}, ["pressure", "number"]),
    ],
)
def test_bad_input(comm, shared_tmp, kw, words):
    out = shared_tmp / "bad"
    with pytest.raises(ValueError) as err:
        femcm.run("inclusion_mechanics", out=out, comm=comm, **kw)
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg
    assert not out.exists()


def test_failed_solve_leaves_nothing(comm, shared_tmp):
    """A solve that fails after writing fields leaves the output folder as it was."""
    import types

    from femcm.app.api import run_module
    from femcm.base.errors import SolveError

    out = shared_tmp / "failed"

    def solve(p, comm, output):
        res = femcm.run("inclusion_mechanics", comm=comm, **COARSE)
        output.write_fields(res.fields["u"].function_space.mesh, [res.fields["phase"]])
        raise SolveError("forced failure")

    fake = types.SimpleNamespace(NAME="fake", solve=solve)
    with pytest.raises(SolveError):
        run_module(fake, im.Parameters(), out=out, comm=comm)
    comm.barrier()
    assert not out.exists() or not any(out.iterdir())


def test_problem_registry():
    import femcm.problem_scripts.inclusion_mechanics as mod

    assert mod.Parameters is im.Parameters and callable(femcm.problems)
    assert "inclusion_mechanics" in femcm.problems()
    info = femcm.parameters("inclusion_mechanics")
    assert info["E_220"].unit == "Pa" and info["E_220"].default == 161e9
    assert info["nu_220"].allowed == "> -1 and < 0.5"
    with pytest.raises(ValueError, match="valid problems"):
        femcm.parameters("no_such_problem")
