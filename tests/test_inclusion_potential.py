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
from conftest import REPO, rel_error, run_cli

import femcm

COARSE = {"mesh_size": 40e-6, "mesh_size_inclusion": 6e-6}
KAPPA_220 = 0.1


CONSERVATION = "charge conservation: |∫ i·n over all faces| / applied current"
INSIDE = "uniform interior current 2κ_i/(κ_i + κ_m) × far current (2D Eshelby analogue)"


def inside_ratio(kappa_i: float, kappa_m: float = KAPPA_220) -> float:
    return 2 * kappa_i / (kappa_i + kappa_m)


def check_conservation(verify, s, what, ranks=None):
    verify(
        "charge_conservation_error",
        s["charge_conservation_error"],
        "<=",
        1e-10,
        reference=CONSERVATION,
        what=what,
        ranks=ranks,
    )


def check_inside_ratios(verify, s, kappa_i, what):
    got = [s[f"inclusion_{k}_current_inside_ratio"] for k in range(3)]
    expected = inside_ratio(kappa_i)
    verify.approx("inside_current_ratio", got, expected, 0.05, reference=INSIDE, what=what, msg=got)


@pytest.mark.parametrize("degree", [1, 2])
def test_charge_conservation_and_reports(comm, degree, verify):
    res = femcm.run("inclusion_potential", comm=comm, degree=degree, **COARSE)
    s = res.scalars
    width, i_app = 600e-6, 5.0
    assert s["current_top"] == pytest.approx(i_app * width, rel=1e-13)
    what = "inclusion_potential, default (less conductive inclusions), P1 and P2"
    check_conservation(verify, s, what)
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
    check_inside_ratios(verify, s, 0.03, what)
    assert set(res.fields) >= {"phi", "current_density", "phase"}
    assert res.solver["converged"] and res.solver["newton_iterations"] <= 12


def test_more_conductive_inclusion_attracts_current(comm, verify):
    """κ_230 = 3 mS/cm > κ_220: the current is drawn into the inclusions."""
    res = femcm.run("inclusion_potential", comm=comm, kappa_230=0.3, **COARSE)
    s = res.scalars
    what = "inclusion_potential, more conductive inclusions (κ_230 = 3 κ_220)"
    check_conservation(verify, s, what)
    for k in range(3):
        assert s[f"inclusion_{k}_current_inside_ratio"] > 1.3
    check_inside_ratios(verify, s, 0.3, what)


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


def test_film_resistance_adds_its_drop(comm, verify):
    """A film in series raises the cell voltage by about i_app R_f (uniform interface current)."""
    base = femcm.run("inclusion_potential", comm=comm, **COARSE)
    film = femcm.run("inclusion_potential", comm=comm, film_resistance=1e-2, **COARSE)
    dv = film.scalars["cell_voltage"] - base.scalars["cell_voltage"]
    verify.approx(
        "film_drop",
        dv,
        5.0 * 1e-2,
        2e-3,
        reference="a film in series adds i_app R_f to the cell voltage; relative error",
        what="inclusion_potential with a film resistance",
        msg=dv,
    )
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
def test_one_vs_two_ranks(tmp_path, verify):
    results = []
    for ranks in (1, 2):
        out = tmp_path / f"r{ranks}"
        proc = run_cli(["run", "inclusion_potential", *CLI_SET, "--out", str(out)], ranks=ranks)
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads((out / "result.json").read_text()))
    one, two = results
    assert two["mesh"]["ranks"] == 2 and one["mesh"]["cells"] == two["mesh"]["cells"]
    assert one["mesh"]["dofs"] == two["mesh"]["dofs"]
    # charge_conservation_error is round-off: an absolute bound on 2 ranks instead
    s2 = two["scalars"]
    check_conservation(verify, s2, "inclusion_potential CLI under mpirun -n 2", ranks=2)
    keys = [k for k in one["scalars"] if k != "charge_conservation_error"]
    verify(
        "one_vs_two_ranks",
        rel_error([s2[k] for k in keys], [one["scalars"][k] for k in keys]),
        "<=",
        1e-8,
        reference="1 vs 2 ranks: max relative difference of all reported figures",
        what="inclusion_potential CLI, serial vs mpirun -n 2",
        ranks=2,
    )


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
