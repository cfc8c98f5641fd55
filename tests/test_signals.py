"""SIGINT/SIGTERM end runs promptly and cleanly; stale staging is removed; quiet broken pipes.

Each run goes into an ``OUT`` that already holds a previous ``result.json``: after the signal
``OUT`` must hold exactly that file again (staging removed, previous result intact; a
time-dependent run adds its checkpoint, written at the signal), the exit
status must be 130 (SIGINT) or 143 (SIGTERM), stderr one line "interrupted", and PETSc's error
banner must not appear. The signal is sent once the run is inside the time stepping (a
``step`` progress line with ``-v``), or, for the watchdog, while gmsh is meshing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, child_env, femcm_command

pytestmark = pytest.mark.serial

PREVIOUS = '{"previous": true}\n'
PROMPT = 8.0  # s from the signal to the end (watchdog grace 1 s, other ranks wait 4 s)


def _start(args: list[str], ranks: int = 1) -> subprocess.Popen:
    return subprocess.Popen(
        femcm_command(args, ranks),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=REPO,
        # a child of a background job inherits SIGINT ignored; a terminal user's does not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 240.0) -> list[str]:
    """Read stderr lines until one contains ``marker``."""
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return seen
    proc.kill()
    pytest.fail(f"no {marker!r} on stderr: {''.join(seen[-5:])}")


def _interrupt(proc: subprocess.Popen, sig: int) -> tuple[float, str]:
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the run did not end within 60 s of the signal")
    return time.monotonic() - t0, err


def _check(out: Path, proc, dt: float, err: str, sig: int, kept=("result.json",)) -> None:
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert dt < PROMPT, dt
    assert "PETSC ERROR" not in err and "Traceback" not in err, err
    name = signal.Signals(sig).name
    assert err.strip().splitlines()[-1] == f"femcm: error: interrupted ({name})", err
    assert sorted(p.name for p in out.iterdir()) == sorted(kept)
    assert (out / "result.json").read_text() == PREVIOUS


CH = ["run", "cahn_hilliard", "--set", "mesh_size=2e-8", "-v"]


@pytest.mark.parametrize(("sig", "ranks"), [(signal.SIGINT, 1), (signal.SIGTERM, 2)])
def test_time_dependent_run(tmp_path, sig, ranks):
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text(PREVIOUS)
    proc = _start([*CH, "--out", str(out)], ranks)
    _wait_for(proc, "step 3")
    dt, err = _interrupt(proc, sig)
    _check(out, proc, dt, err, sig, kept=("checkpoint", "result.json"))
    header = json.loads((out / "checkpoint" / "checkpoint.json").read_text())
    assert header["reason"] == "signal" and header["march"]["steps"] >= 3, header


def test_while_meshing(tmp_path):
    """A signal during gmsh meshing (a C call Python cannot interrupt): the watchdog ends it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text(PREVIOUS)
    args = ["run", "inclusion_mechanics", "--set", "mesh_size=2e-6", "-v"]
    proc = _start([*args, "--set", "mesh_size_inclusion=1e-6", "--out", str(out)])
    _wait_for(proc, "start on")
    time.sleep(0.5)
    dt, err = _interrupt(proc, signal.SIGTERM)
    _check(out, proc, dt, err, signal.SIGTERM)


def test_stale_staging_removed_next_run(tmp_path):
    out = tmp_path / "out"
    dead = out / f".partial-{socket.gethostname()}-999999-abcd"
    old_style = out / ".partial-x1y2z3"
    for d in (dead, old_style):
        d.mkdir(parents=True)
        (d / "fields.h5").write_bytes(b"half")
    alive = out / f".partial-{socket.gethostname()}-{os.getpid()}-live"  # this test: alive
    alive.mkdir()
    (out / "old.png").write_bytes(b"png of an older run")
    proc = _start(
        [
            "run",
            "inclusion_mechanics",
            "--set",
            "mesh_size=60e-6",
            "--set",
            "mesh_size_inclusion=20e-6",
            "--out",
            str(out),
        ]
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert not dead.exists() and not old_style.exists() and alive.exists(), names
    assert "old.png" not in names and "result.json" in names  # no stale pictures


def test_broken_pipe_is_quiet():
    """``femcm list | true``: the reader is gone before femcm writes; no banner, no traceback."""
    cmd = f"{sys.executable} -m femcm list | true"
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0
    assert r.stderr.strip() == "", r.stderr
