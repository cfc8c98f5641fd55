"""Problem ``inclusion_potential``: charge conservation, current focusing, input, parallel.

Reference for the inclusion interiors: a circular inclusion of conductivity κ_i in a matrix
κ_m under a uniform far current carries the uniform current 2κ_i/(κ_i + κ_m) times the far
current (the 2D potential analogue of Eshelby's uniform interior field; e.g. Jackson,
Classical Electrodynamics, §4.4 for the cylinder). The plate is finite and the inclusions sit
2.5–6 radii from each other and from the faces, so only ~5 % agreement is expected.
"""

from __future__ import annotations

import json

import pytest
from conftest import REPO, run_cli

import femcm

COARSE = {"mesh_size": 40e-6, "mesh_size_inclusion": 6e-6}
KAPPA_220 = 0.1


def inside_ratio(kappa_i: float, kappa_m: float = KAPPA_220) -> float:
    return 2 * kappa_i / (kappa_i + kappa_m)


@pytest.mark.parametrize("degree", [1, 2])
def test_charge_conservation_and_reports(comm, degree):
    res = femcm.run("inclusion_potential", comm=comm, degree=degree, **COARSE)
    s = res.scalars
    width, i_app = 600e-6, 5.0
    assert s["current_top"] == pytest.approx(i_app * width, rel=1e-13)
    assert s["charge_conservation_error"] <= 1e-10
    assert abs(s["current_interface"] - s["current_top"]) <= 1e-10 * s["current_top"]
    # Plating: φ > 0 in the electrolyte, η < 0 at the interface, V = ohmic + interfacial.
    assert s["overpotential_min"] <= s["overpotential_mean"] <= s["overpotential_max"] < 0
    assert s["cell_voltage"] > -s["overpotential_mean"] > 0
    ohmic_1d = i_app * 600e-6 / KAPPA_220
    assert s["cell_voltage"] + s["overpotential_mean"] == pytest.approx(ohmic_1d, rel=0.05)
    assert s["interface_current_min"] <= i_app <= s["interface_current_max"]
    for k in range(3):
        # Less conductive inclusions: current is pushed around them (enhanced at their sides).
        assert s[f"inclusion_{k}_current_max_ratio"] > 1.3
        assert s[f"inclusion_{k}_current_inside_ratio"] == pytest.approx(
            inside_ratio(0.03), rel=0.05
        )
    assert set(res.fields) >= {"phi", "current_density", "phase"}
    assert res.solver["converged"] and res.solver["newton_iterations"] <= 12


def test_more_conductive_inclusion_attracts_current(comm):
    """κ_230 = 3 mS/cm > κ_220: the current is drawn into the inclusions."""
    res = femcm.run("inclusion_potential", comm=comm, kappa_230=0.3, **COARSE)
    s = res.scalars
    assert s["charge_conservation_error"] <= 1e-10
    for k in range(3):
        assert s[f"inclusion_{k}_current_inside_ratio"] > 1.3
        assert s[f"inclusion_{k}_current_inside_ratio"] == pytest.approx(
            inside_ratio(0.3), rel=0.05
        )


def test_potentiostatic_matches_galvanostatic_voltage(comm):
    """Fixing the top at the galvanostatic cell voltage draws (nearly) the same current."""
    galv = femcm.run("inclusion_potential", comm=comm, **COARSE)
    pot = femcm.run(
        "inclusion_potential",
        comm=comm,
        mode="potentiostatic",
        voltage=galv.scalars["cell_voltage"],
        **COARSE,
    )
    s = pot.scalars
    assert s["cell_voltage"] == pytest.approx(galv.scalars["cell_voltage"], rel=1e-12)
    # Uniform φ instead of uniform current on the top: the same mean current to ~1e-5.
    assert s["current_density_mean"] == pytest.approx(5.0, rel=1e-4)
    assert s["charge_conservation_error"] <= 1e-10


def test_film_resistance_adds_its_drop(comm):
    """A film in series raises the cell voltage by about i_app R_f (uniform interface current)."""
    base = femcm.run("inclusion_potential", comm=comm, **COARSE)
    film = femcm.run("inclusion_potential", comm=comm, film_resistance=1e-2, **COARSE)
    dv = film.scalars["cell_voltage"] - base.scalars["cell_voltage"]
    assert dv == pytest.approx(5.0 * 1e-2, rel=2e-3)
    assert film.scalars["charge_conservation_error"] <= 1e-10


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"kappa_230": -0.03}, ["kappa_230", "> 0"]),
        ({"i_app": 0.0}, ["i_app", "> 0"]),
        ({"alpha_a": 0.0}, ["alpha_a", "> 0 and <= 1"]),
        ({"alpha_c": 2.0}, ["alpha_c", "<= 1"]),
        ({"i0": -1.0}, ["i0", "> 0"]),
        ({"temperature": 0.0}, ["temperature", "> 0"]),
        ({"film_resistance": -1.0}, ["film_resistance", ">= 0"]),
        ({"mode": "pulsed"}, ["mode", "galvanostatic, potentiostatic"]),
        ({"degree": 4}, ["degree", "<= 3"]),
        ({"inclusions": ((590e-6, 300e-6, 30e-6),)}, ["inclusions[0]", "outside"]),
        ({"mesh_size": 1e-3}, ["mesh_size", "<="]),
        ({"kappa": 1.0}, ["'kappa'", "valid parameters"]),
    ],
)
def test_bad_input(comm, kw, words):
    with pytest.raises(ValueError) as err:
        femcm.run("inclusion_potential", comm=comm, **kw)
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_registry():
    assert "inclusion_potential" in femcm.problems()
    info = femcm.parameters("inclusion_potential")
    assert info["kappa_220"].unit == "S/m" and info["kappa_220"].default == 0.1
    assert info["i0"].default == pytest.approx(0.1028, rel=1e-3)


CLI_SET = ["--set", "mesh_size=40e-6", "--set", "mesh_size_inclusion=6e-6"]


@pytest.mark.serial
def test_one_vs_two_ranks(tmp_path):
    results = []
    for ranks in (1, 2):
        out = tmp_path / f"r{ranks}"
        proc = run_cli(["run", "inclusion_potential", *CLI_SET, "--out", str(out)], ranks=ranks)
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads((out / "result.json").read_text()))
    one, two = results
    assert two["mesh"]["ranks"] == 2 and one["mesh"]["cells"] == two["mesh"]["cells"]
    assert one["mesh"]["dofs"] == two["mesh"]["dofs"]
    for key, value in one["scalars"].items():
        if key == "charge_conservation_error":  # round-off: compare as an absolute bound
            assert two["scalars"][key] <= 1e-10
            continue
        assert two["scalars"][key] == pytest.approx(value, rel=1e-8, abs=0), key


@pytest.mark.serial
def test_script_smoke(tmp_path):
    out = tmp_path / "script"
    script = str(REPO / "problems" / "inclusion_potential.py")
    proc = run_cli([script, *CLI_SET, "--set", "kappa_230=0.3", "--out", str(out), "--plot"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "result.json").read_text())
    assert data["problem"] == "inclusion_potential"
    assert data["parameters"]["kappa_230"] == 0.3
    assert (out / "phi.png").is_file() and (out / "current_density.png").is_file()
    assert "cell_voltage" in proc.stdout


@pytest.mark.serial
def test_cli_bad_input_exit_code(tmp_path):
    proc = run_cli(["run", "inclusion_potential", "--set", "alpha_a=0", "--out", str(tmp_path)])
    assert proc.returncode == 2
    assert "alpha_a" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
