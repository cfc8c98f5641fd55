"""Command line, problem scripts, parameter studies and 1-vs-2-rank agreement (subprocesses)."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import REPO, run_cli, script_scalars_one_and_two_ranks

pytestmark = pytest.mark.serial

COARSE = ["--set", "mesh_size=40e-6", "--set", "mesh_size_inclusion=8e-6"]


def test_list_and_show(tmp_path):
    r = run_cli(["list"], cwd=tmp_path)  # installed femcm runs from any working directory
    assert r.returncode == 0, r.stderr
    assert "inclusion_mechanics" in r.stdout
    r = run_cli(["show", "inclusion_mechanics"])
    assert r.returncode == 0 and "E_220" in r.stdout and "Pa" in r.stdout


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["run", "inclusion_mechanics", "--set", "nu_220=0.7"], "nu_220"),
        (["run", "inclusion_mechanics", "--set", "bogus=1"], "bogus"),
        (["run", "inclusion_mechanics", "--set", "E_li=-3"], "E_li"),
        (["run", "inclusion_mechanics", "--set", "mesh_file=missing.msh"], "mesh_file"),
        (["run", "inclusion_mechanics", "--config", "missing.toml"], "missing.toml"),
        (["run", "no_such_problem"], "valid problems"),
    ],
)
def test_bad_input_exit(tmp_path, args, word):
    out = tmp_path / "out"
    r = run_cli([*args, "--out", str(out)])
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0], r.stderr
    assert not out.exists()


def test_run_config_plot(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("pressure = 2e6\nmesh_size = 40e-6\nmesh_size_inclusion = 8e-6\n")
    out = tmp_path / "out"
    r = run_cli(["run", "inclusion_mechanics", "--config", str(cfg), "--out", str(out), "--plot"])
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "result.json").read_text())
    assert data["parameters"]["pressure"] == 2e6
    assert (out / "sigma_h.png").stat().st_size > 5000
    assert (out / "von_mises.png").stat().st_size > 5000


def test_serial_parallel_agree(tmp_path):
    """The script under mpirun -n 2 reports the same figures as serial (relative 1e-8)."""
    script = str(REPO / "problems" / "inclusion_mechanics.py")
    s1, s2 = script_scalars_one_and_two_ranks(script, COARSE, tmp_path)
    for k in s1:
        assert s2[k] == pytest.approx(s1[k], rel=1e-8, abs=1e-12), k
    meta = json.loads((tmp_path / "n2" / "result.json").read_text())
    assert meta["mesh"]["ranks"] == 2


def test_study(tmp_path):
    out = tmp_path / "study"
    r = run_cli(
        [
            "study",
            "inclusion_mechanics",
            "--vary",
            "pressure=1e6,2e6",
            *COARSE,
            "--out",
            str(out),
            "--workers",
            "2",
        ]
    )
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out / "study.csv")))
    assert [row["status"] for row in rows] == ["ok", "ok"]
    a, b = (float(row["sigma_h_far"]) for row in rows)
    assert b == pytest.approx(2 * a)
