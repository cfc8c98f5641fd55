"""Checkpoint/restart: a restarted run is the run that was never stopped; bad checkpoints refused.

In-process (serial and on 2 ranks): a run to T1 that writes its output at T1 and is then
restarted to T2 takes the same steps as one run to T2 with an output at T1 (the step to T1 is
cut the same way), so its CSV series, step records, output times and scalars must agree to
round-off. Subprocesses (``serial``): a run killed by SIGTERM after k steps (on 2 ranks) and
restarted on 1 rank, one killed by SIGKILL (1 rank) and restarted on 2 ranks from its last
periodic checkpoint, and a heterointerface run (c, μ, u) killed by SIGTERM and restarted on
2 ranks, each against an uninterrupted run. Corrupted, truncated, incomplete or
mismatched checkpoints are refused with one line, and the output folder is left as it was.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, child_env, femcm_command, run_cli

from mpi4py import MPI

import femcm
from femcm.base.errors import InputError

CH = {"mesh_size": 5e-8, "output_times": (0.25, 0.5)}
T1, T2 = 0.5, 1.0


def _csv(path: Path) -> np.ndarray:
    rows = list(csv.reader(path.open()))
    return np.array(rows[1:], float)


def _times(xdmf: Path) -> list[float]:
    return sorted({float(t) for t in re.findall(r'Time Value="([^"]+)"', xdmf.read_text())})


def test_restart_continues_like_one_run(shared_tmp, comm):
    ref = femcm.run("cahn_hilliard", shared_tmp / "ref", comm, t_end=T2, **CH)
    first = femcm.run("cahn_hilliard", shared_tmp / "run", comm, t_end=T1, checkpoint_every=4, **CH)
    assert first.scalars["t_final"] == T1
    header = json.loads((shared_tmp / "run" / "checkpoint" / "checkpoint.json").read_text())
    assert header["reason"] == "end" and header["march"]["t"] == T1
    res = femcm.run("cahn_hilliard", shared_tmp / "run", comm, restart=shared_tmp / "run", t_end=T2)
    for key in ("steps", "rejected_steps", "t_final"):
        assert res.scalars[key] == ref.scalars[key], key
    for key in ("free_energy_total", "c_integral", "c_min", "c_max", "newton_per_step"):
        assert res.scalars[key] == pytest.approx(ref.scalars[key], rel=1e-9), key
    assert res.solver["newton_iterations"] == ref.solver["newton_iterations"]
    a, b = (
        _csv(shared_tmp / "ref" / "free_energy.csv"),
        _csv(shared_tmp / "run" / "free_energy.csv"),
    )
    assert a.shape == b.shape  # no row repeated, none missing
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-30)
    assert np.all(np.diff(b[:, 0]) > 0)
    np.testing.assert_allclose(
        _csv(shared_tmp / "run" / "steps.csv"), _csv(shared_tmp / "ref" / "steps.csv"), rtol=1e-9
    )
    assert _times(shared_tmp / "run" / "fields.xdmf") == [0.0, 0.25, 0.5, 1.0]
    doc = json.loads((shared_tmp / "run" / "result.json").read_text())
    assert doc["checkpoint"]["restarted_from"]["t"] == T1
    assert doc["checkpoint"]["written"] >= 1
    # same mesh, same partition: the same nodal values
    np.testing.assert_allclose(res.fields["c"].x.array, ref.fields["c"].x.array, rtol=1e-9)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, comm_module):
    """A short cahn_hilliard run with its checkpoint (its folder, same on every rank)."""
    path = tmp_path_factory.mktemp("ck") if comm_module.rank == 0 else None
    path = Path(comm_module.bcast(str(path) if path else None, root=0)) / "run"
    femcm.run("cahn_hilliard", path, comm_module, t_end=0.2, checkpoint_every=3, **CH_SHORT)
    return path


CH_SHORT = {"mesh_size": 1e-7}


@pytest.fixture(scope="module")
def comm_module():
    return MPI.COMM_WORLD


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _damage(folder: Path, how: str, comm) -> None:
    """Damage the checkpoint in ``folder/checkpoint`` (rank 0), then wait for it."""
    ck = folder / "checkpoint"
    if comm.rank == 0:
        header = json.loads((ck / "checkpoint.json").read_text())
        npz = ck / header["file"]
        if how == "corrupted":
            data = bytearray(npz.read_bytes())
            data[len(data) // 2] ^= 0xFF
            npz.write_bytes(bytes(data))
        elif how == "truncated":
            npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 3])
        elif how == "missing":
            npz.unlink()
        elif how == "json":
            (ck / "checkpoint.json").write_text('{"format": "femcm-checkpoint/1", "prob')
    comm.barrier()


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("corrupted", "is corrupted"),
        ("truncated", "is corrupted"),
        ("missing", "is incomplete"),
        ("json", "is unreadable"),
    ],
)
def test_damaged_checkpoint_refused(how, message, finished, comm_module, shared_tmp):
    comm = comm_module
    copy = shared_tmp / how
    if comm.rank == 0:
        shutil.copytree(finished, copy)
    comm.barrier()
    _damage(copy, how, comm)
    before = _listing(copy)
    with pytest.raises(InputError, match=message) as err:
        femcm.run("cahn_hilliard", copy, comm, restart=copy, t_end=0.4)
    assert "\n" not in str(err.value)
    comm.barrier()
    assert _listing(copy) == before  # nothing overwritten, nothing added


@pytest.mark.parametrize(
    ("name", "kw", "message"),
    [
        ("cahn_hilliard", {"chi": 2.5}, "parameter chi = 2.5 differs from the checkpoint's 3.0"),
        ("edge_dislocation", {}, "is of problem 'cahn_hilliard'"),
        ("inclusion_mechanics", {}, "is not time-dependent"),
    ],
)
def test_mismatched_checkpoint_refused(name, kw, message, finished, comm_module):
    before = _listing(finished)
    with pytest.raises(InputError, match=re.escape(message)):
        femcm.run(name, finished, comm_module, restart=finished, **kw)
    comm_module.barrier()
    assert _listing(finished) == before


def test_no_checkpoint_there(tmp_path, comm_module):
    with pytest.raises(InputError, match="no checkpoint there"):
        femcm.run("cahn_hilliard", None, comm_module, restart=tmp_path)


# -- killed runs (subprocesses) --------------------------------------------------------------

SUB = {
    "cahn_hilliard": ["mesh_size=5e-8", "t_end=1", "output_times=0.25,0.5"],
    "heterointerface": [
        "width=20e-9", "height=20e-9", "mesh_size=4e-9", "mesh_size_interface=1e-9",
        "interface_band=2.5e-9", "degree=1", "t_end=1e-6", "dt_initial=2e-8",
    ],
}  # fmt: skip


def _args(problem: str, *args: str) -> list[str]:
    return ["run", problem, *[x for kv in SUB[problem] for x in ("--set", kv)], *args]


def _killed_run(out: Path, ranks: int, sig: int, step: int, problem: str = "cahn_hilliard") -> int:
    """Start a run, send ``sig`` once it reports ``step``; returns its exit status."""
    args = _args(problem, "--out", str(out), "--checkpoint-every", "5", "-v")
    proc = subprocess.Popen(
        femcm_command(args, ranks), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=child_env(), cwd=REPO, start_new_session=True,
    )  # fmt: skip
    end = time.monotonic() + 300
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        if f"step {step}:" in line:
            os.killpg(proc.pid, sig)  # every rank, as a batch system does
            break
    proc.communicate(timeout=120)
    return proc.returncode


def _run(ranks: int, problem: str, *args: str) -> None:
    done = run_cli(_args(problem, *args), ranks, cwd=REPO)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "out"
    _run(1, "cahn_hilliard", "--out", str(out))
    return out


def _same_run(out: Path, ref: Path) -> None:
    a, b = _csv(ref / "free_energy.csv"), _csv(out / "free_energy.csv")
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-30)
    ra, rb = (json.loads((d / "result.json").read_text())["scalars"] for d in (ref, out))
    assert rb["steps"] == ra["steps"] and rb["rejected_steps"] == ra["rejected_steps"]
    assert rb["free_energy_total"] == pytest.approx(ra["free_energy_total"], rel=1e-8)
    assert _times(out / "fields.xdmf") == _times(ref / "fields.xdmf") == [0, 0.25, 0.5, 1.0]


@pytest.mark.serial
def test_sigterm_on_two_ranks_restart_on_one(tmp_path, uninterrupted):
    out = tmp_path / "out"
    status = _killed_run(out, 2, signal.SIGTERM, 12)
    assert status == 143
    header = json.loads((out / "checkpoint" / "checkpoint.json").read_text())
    assert header["reason"] == "signal" and header["ranks"] == 2
    assert header["march"]["steps"] >= 12
    assert not (out / "result.json").exists()
    _run(1, "cahn_hilliard", "--restart", str(out))
    _same_run(out, uninterrupted)


@pytest.mark.serial
def test_sigkill_restart_from_periodic_checkpoint_on_two_ranks(tmp_path, uninterrupted):
    out = tmp_path / "out"
    status = _killed_run(out, 1, signal.SIGKILL, 13)
    assert status == -signal.SIGKILL
    header = json.loads((out / "checkpoint" / "checkpoint.json").read_text())
    assert header["reason"] == "periodic" and header["march"]["steps"] % 5 == 0
    _run(2, "cahn_hilliard", "--restart", str(out))
    _same_run(out, uninterrupted)


@pytest.mark.serial
def test_sigterm_with_mechanics_restart_on_two_ranks(tmp_path):
    """heterointerface: c, μ and u (three parts of the mixed space); 1 rank, then 2."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    _run(1, "heterointerface", "--out", str(ref))
    assert _killed_run(out, 1, signal.SIGTERM, 6, "heterointerface") == 143
    assert json.loads((out / "checkpoint" / "checkpoint.json").read_text())["reason"] == "signal"
    _run(2, "heterointerface", "--restart", str(out))
    a, b = _csv(ref / "free_energy.csv"), _csv(out / "free_energy.csv")
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-30)
    ra, rb = (json.loads((d / "result.json").read_text())["scalars"] for d in (ref, out))
    assert rb["steps"] == ra["steps"]
    for key in ("interdiffusion_width", "sigma_h_max", "sigma_h_min", "c_integral"):
        assert rb[key] == pytest.approx(ra[key], rel=1e-7), key


# -- KMC: one checkpoint file per finished replica ------------------------------------------

KMC = {
    "width": 16e-9,
    "height": 8e-9,
    "strip_width": 4e-9,
    "events": 40_000,
    "equilibration_events": 10_000,
    "replicas": 4,
}


def test_kmc_restart_runs_only_missing_replicas(shared_tmp, comm):
    ref = femcm.run("ion_occupancy_kmc", shared_tmp / "ref", comm, **KMC)
    out = shared_tmp / "run"
    femcm.run("ion_occupancy_kmc", out, comm, **KMC)
    ck = out / "checkpoint"
    if comm.rank == 0:  # as if killed before replicas 1 and 3 had finished
        assert len(list(ck.glob("piece-*.npz"))) == 4
        for r in (1, 3):
            (ck / f"piece-{r:06d}.npz").unlink()
            (ck / f"piece-{r:06d}.json").unlink()
    comm.barrier()
    res = femcm.run("ion_occupancy_kmc", out, comm, restart=out)
    doc = json.loads((out / "result.json").read_text())
    assert doc["checkpoint"]["written"] == 2  # only the two missing replicas ran
    assert len(list(ck.glob("piece-*.npz"))) == 4
    for key in ("occupancy_bulk_mean", "occupancy_secondary_mean", "occupancy_ratio",
                "occupancy_ratio_stderr", "simulated_time"):  # fmt: skip
        assert res.scalars[key] == ref.scalars[key], key
