"""What the benchmark scripts share: launching femcm, the machine load, CPU time and memory.

Launching femcm (CLI or a child process, 1 or R ranks) and reading its ``result.json``; the
load average; per-process CPU time and peak memory summed over the ranks.

Every case runs in its own process (under ``mpirun -n R`` for R > 1), so that its peak resident
memory is its own and no JIT or mesh state is carried from one case to the next.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MPIRUN = Path(PYTHON).with_name("mpirun")

__all__ = [
    "MPIRUN",
    "PYTHON",
    "REPO",
    "clean_env",
    "femcm_cmd",
    "load_average",
    "mpi",
    "process_usage",
    "run_femcm",
    "start",
]


def mpi(cmd: Sequence[str], ranks: int) -> list[str]:
    """``cmd`` as it is, or under ``mpirun -n ranks`` for ranks > 1."""
    cmd = [str(c) for c in cmd]
    return [str(MPIRUN), "-n", str(ranks), *cmd] if ranks > 1 else cmd


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the MPI launcher's variables (a child may start its own mpirun)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "MPI", "HYDRA"))}
    return env | extra


def start(cmd: Sequence[str], **popen: Any) -> subprocess.Popen:
    """Start ``cmd`` with text pipes for stdout and stderr (``popen``: more Popen arguments)."""
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def femcm_cmd(
    problem: str, settings: Mapping[str, Any], out: str | Path, extra: Sequence[str] = ()
) -> list[str]:
    """``python -m femcm run PROBLEM --out OUT --set k=v ...``."""
    cmd = [PYTHON, "-m", "femcm", "run", problem, "--out", str(out), *extra]
    for k, v in settings.items():
        cmd += ["--set", f"{k}={v}"]
    return cmd


def run_femcm(
    problem: str,
    settings: Mapping[str, Any] | None = None,
    ranks: int = 1,
    out: str | Path | None = None,
    extra: Sequence[str] = (),
) -> tuple[dict, float]:
    """One CLI run (in ``out``, or a temporary folder): its ``result.json`` and process wall s."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        cmd = mpi(femcm_cmd(problem, settings or {}, folder, extra), ranks)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        return json.loads((folder / "result.json").read_text()), wall


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (``uptime``)."""
    return [round(x, 2) for x in os.getloadavg()]


def process_usage(comm) -> dict[str, float]:
    """CPU seconds (user + system) and peak RSS (MB) of this process, summed over ``comm``."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = comm.allreduce(ru.ru_utime + ru.ru_stime)
    rss = comm.allreduce(ru.ru_maxrss / 1024)
    return {"process_cpu_s": round(cpu, 3), "rss_mb": round(rss, 1)}
