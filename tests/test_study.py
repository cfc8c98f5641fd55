"""``femcm study``: resume after a kill, failed cases recorded, the same table under mpi4py.futures.

One 8-case study of ``inclusion_mechanics`` (coarse mesh) over the stack pressure, one value of
which (-1 Pa) is out of range: the study is killed (SIGTERM) once two cases are done, resumed,
and must recompute none of the finished cases; the bad case is recorded (exit status 2, one
line naming the parameter) while the 7 others complete, and the figures are linear in the
pressure (linear elasticity). The same study under ``mpiexec -n 3 python -m mpi4py.futures``
must give the same table.
"""

from __future__ import annotations

import csv
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import child_env

pytestmark = pytest.mark.serial

PRESSURES = ["1e6", "2e6", "3e6", "-1", "4e6", "5e6", "6e6", "7e6"]
ARGS = [
    "study",
    "inclusion_mechanics",
    "--vary",
    f"pressure={','.join(PRESSURES)}",
    "--set",
    "mesh_size=40e-6",
    "--set",
    "mesh_size_inclusion=8e-6",
]
SUMMARY = re.compile(r"(\d+) cases: (\d+) ok, (\d+) failed \((\d+) reused, (\d+) run\)")


def _femcm(*args: str, mpi: int = 0) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "femcm", *args]
    if mpi:
        mpiexec = str(Path(sys.executable).with_name("mpiexec"))
        cmd = [mpiexec, "-n", str(mpi), sys.executable, "-m", "mpi4py.futures", "-m", "femcm"]
        cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=300)


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "study.csv") as fh:
        return list(csv.DictReader(fh))


def _summary(stdout: str) -> tuple[int, ...]:
    m = SUMMARY.search(stdout)
    assert m, stdout
    return tuple(int(g) for g in m.groups())


def _finished(out: Path) -> dict[str, int]:
    """Case key -> mtime (ns) of its record: result.json, or failure.json of a failed case."""
    done = {}
    for case in out.iterdir():
        for name in ("result.json", "failure.json"):
            if (case / name).is_file():
                done[case.name] = (case / name).stat().st_mtime_ns
    return done


def _case_processes(out: Path) -> list[int]:
    """Processes whose command line names the study folder (running cases)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(out).encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


@pytest.fixture(scope="module")
def resumed(tmp_path_factory) -> dict:
    """Kill the study after 2 finished cases, then resume it; what was seen on the way."""
    out = tmp_path_factory.mktemp("study") / "s"
    cmd = [sys.executable, "-m", "femcm", *ARGS, "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env()
    )
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if (out / "study.csv").is_file():
            if sum(r["status"] != "pending" for r in _rows(out)) >= 2:
                break
    assert proc.poll() is None, "the study ended before it could be killed"
    proc.send_signal(signal.SIGTERM)
    _, killed_err = proc.communicate(timeout=60)
    time.sleep(0.5)
    seen = {
        "out": out,
        "killed_status": proc.returncode,
        "killed_err": killed_err,
        "leftover_processes": _case_processes(out),
        "leftover_stages": list(out.glob("*/.partial-*")),
        "finished_at_kill": _finished(out),
        "rows_at_kill": _rows(out),
    }
    t0 = time.perf_counter()
    seen["resume"] = _femcm(*ARGS, "--out", str(out), "--workers", "2")
    seen["resume_time"] = time.perf_counter() - t0
    seen["finished_after"] = _finished(out)
    seen["rows"] = _rows(out)
    return seen


def test_kill_stops_running_cases_and_keeps_table(resumed):
    assert resumed["killed_status"] == 143, resumed["killed_err"]
    assert resumed["leftover_processes"] == []
    assert resumed["leftover_stages"] == []
    rows = resumed["rows_at_kill"]
    assert len(rows) == len(PRESSURES)
    done = [r for r in rows if r["status"] != "pending"]
    assert len(done) == len(resumed["finished_at_kill"]) >= 2
    assert len(done) < len(PRESSURES)


def test_resume_recomputes_no_finished_case(resumed):
    r = resumed["resume"]
    at_kill = resumed["finished_at_kill"]
    n, ok, failed, reused, ran = _summary(r.stdout)
    assert (n, ok, failed) == (8, 7, 1), r.stdout + r.stderr
    assert reused == len(at_kill) and ran == n - len(at_kill)
    after = resumed["finished_after"]
    assert {k: after[k] for k in at_kill} == at_kill  # untouched records
    assert len(after) == 8


def test_bad_case_recorded_others_complete(resumed):
    r = resumed["resume"]
    assert r.returncode == 3, r.stderr
    rows = {float(row["pressure"]): row for row in resumed["rows"]}
    bad = rows.pop(-1.0)
    assert bad["status"] == "failed" and bad["exit_status"] == "2"
    assert "pressure" in bad["error"] and "\n" not in bad["error"]
    assert all(row["status"] == "ok" for row in rows.values())
    # linear elasticity: the far-field hydrostatic stress is proportional to the pressure
    far = {p: float(row["sigma_h_far"]) / p for p, row in rows.items()}
    assert max(far.values()) == pytest.approx(min(far.values()), rel=1e-9)
    assert all(float(row["wall_time_s"]) > 0 for row in rows.values())


def test_rerun_and_retry_failed(resumed):
    out = resumed["out"]
    r = _femcm(*ARGS, "--out", str(out))
    assert _summary(r.stdout) == (8, 7, 1, 8, 0), r.stdout + r.stderr
    r = _femcm(*ARGS, "--out", str(out), "--retry-failed")
    assert _summary(r.stdout) == (8, 7, 1, 7, 1), r.stdout + r.stderr
    assert r.returncode == 3


def test_same_table_under_mpi4py_futures(resumed, tmp_path):
    out = tmp_path / "mpi"
    r = _femcm(*ARGS, "--out", str(out), mpi=3)
    assert r.returncode == 3, r.stdout + r.stderr
    assert _summary(r.stdout) == (8, 7, 1, 0, 8)
    local, mpi = resumed["rows"], _rows(out)
    assert [row["case"] for row in mpi] == [row["case"] for row in local]
    for a, b in zip(local, mpi, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if k in ("wall_time_s", "mesh_cache"):
                continue
            if k in ("case", "pressure", "status", "exit_status", "error") or not a[k]:
                assert a[k] == b[k], (k, a[k], b[k])
            else:
                assert float(b[k]) == pytest.approx(float(a[k]), rel=1e-9, abs=1e-6), k
