"""Every output file of every problem opens with the reader the README names (issue 14).

Each problem runs once at a coarse size with ``--plot`` (in this process); then one separate
process (``tests/read_back.py``) opens every file of every folder: ``result.json`` with
``json`` (strict), ``fields.xdmf`` with ``pyvista.XdmfReader`` at every output time, CSV
with ``csv``, PNG with Pillow, the ``.bp`` folders' BP4 layout (ParaView's reader; VTK in
pyvista has no ADIOS2), and ``femcm.load``. ``heterointerface`` and ``edge_dislocation`` take
minutes even when coarse; ``benchmarks/bad_input_battery.py`` is not for them: they were read
back the same way by hand for issue 14 (see the closing note).

Also: a rerun into the same folder leaves no file of the previous run behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

import femcm

pytestmark = pytest.mark.serial

COARSE = {
    "inclusion_mechanics": {"mesh_size": 60e-6, "mesh_size_inclusion": 20e-6},
    "inclusion_potential": {"mesh_size": 60e-6, "mesh_size_inclusion": 20e-6},
    "cahn_hilliard": {"mesh_size": 1e-7, "t_end": 1.0, "output_times": (0.5,)},
    "thick_cylinder": {"mesh_size": 2e-4},
    "pore_pressure": {"mesh_size": 4e-6, "mesh_size_wall": 0.2e-6},
    "spallation_current": {"mesh_size": 8e-6, "mesh_size_tip": 1e-6, "degree": 1},
    "ion_occupancy_kmc": {"events": 20000, "equilibration_events": 10000},
    "ct_slice": {"synthetic_width": 40, "synthetic_height": 32},
}
SLOW = {"heterointerface", "edge_dislocation"}


def test_every_problem_is_covered():
    assert set(femcm.problems()) - SLOW <= set(COARSE), set(femcm.problems()) - SLOW - set(COARSE)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("outputs")
    out = {}
    for name in sorted(set(COARSE) & set(femcm.problems())):
        out[name] = root / name
        femcm.run(name, out=out[name], plot=True, **COARSE[name])
    return out


def test_read_back_every_file(folders):
    cmd = [sys.executable, str(REPO / "tests" / "read_back.py"), *map(str, folders.values())]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-2000:]  # e.g. -11: a reader crashed
    report = json.loads(r.stdout)
    errors = {k: v for k, v in report.items() if isinstance(v, str)}
    assert not errors, errors
    for name, path in folders.items():
        seen = report[str(path)]
        assert "fields.xdmf" in seen or any(k.endswith(".xdmf") for k in seen), name
        assert any(k.endswith(".png") for k in seen), f"{name}: --plot wrote no picture"


def test_load_values_and_times(folders):
    """femcm.load: the fields at each output time, equal to the run's own figures."""
    res = femcm.load(folders["cahn_hilliard"])
    assert res.times == pytest.approx([0.0, 0.5, 1.0])
    c_end = res.fields["c"]
    assert c_end.min() == pytest.approx(res.scalars["c_min"], rel=1e-6)
    assert c_end.max() == pytest.approx(res.scalars["c_max"], rel=1e-6)
    c0 = res.at(0.0)["c"]
    assert abs(c0.mean() - 0.5) < 0.02 and np.abs(c0 - c_end).max() > 1e-3
    assert set(res.tables["free_energy"]) >= {"time", "total"}
    im = femcm.load(folders["inclusion_mechanics"])
    assert im.fields["sigma_h"].shape == (im.grid.n_cells,)  # DG0: one value per cell
    assert im.fields["u"].shape == (im.grid.n_points, 3)
    assert im.scalars == pytest.approx(
        json.loads((folders["inclusion_mechanics"] / "result.json").read_text())["scalars"]
    )


def test_rerun_leaves_nothing_of_the_previous_run(tmp_path, capfd):
    out = tmp_path / "im"
    kw = COARSE["inclusion_mechanics"]
    femcm.run("inclusion_mechanics", out=out, plot=True, **kw)
    assert (out / "sigma_h.png").exists()
    err = capfd.readouterr().err
    assert "X server" not in err and "WARN" not in err, err  # VTK quiet off-screen
    (out / "notes.txt").write_text("mine")  # not femcm's: kept
    femcm.run("inclusion_mechanics", out=out, plot=False, **kw)
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.endswith(".png")], names
    assert "notes.txt" in names and "result.json" in names
    assert not [n for n in names if n.startswith(".partial")], names


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    """write_atomic replaces a file whole; a failed write leaves the old one and no temp file."""
    from femcm.base.atomic import write_atomic

    target = tmp_path / "result.json"
    write_atomic(target, "old\n")
    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # not bytes or text: fails after the temp file is open
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    write_atomic(target, b"new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
