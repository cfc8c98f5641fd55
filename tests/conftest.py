"""Test configuration: communicator-agnostic fixtures, per-rank temp dirs, collective teardown.

The suite runs twice: ``pytest tests`` and ``mpirun -n 2 python -m pytest -m "not serial"``.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mpi4py import MPI

import femcm  # noqa: F401  (loads the DOLFINx provider before dolfinx)

REPO = Path(__file__).resolve().parents[1]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give every rank its own pytest temp root so parallel runs do not collide."""
    comm = MPI.COMM_WORLD
    if comm.size > 1 and not config.option.basetemp:
        config.option.basetemp = (
            Path(tempfile.gettempdir()) / f"femcm-pytest-{os.getppid()}-{comm.rank}"
        )


@pytest.fixture(autouse=True)
def _collective_teardown():
    yield
    gc.collect()
    MPI.COMM_WORLD.barrier()


@pytest.fixture
def comm() -> MPI.Comm:
    """The world communicator (1 or 2 ranks)."""
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder that is the same path on every rank."""
    comm = MPI.COMM_WORLD
    path = str(tmp_path_factory.mktemp("shared")) if comm.rank == 0 else None
    return Path(comm.bcast(path, root=0))


def run_cli(args: list[str], ranks: int = 1, cwd: Path | None = None, timeout: float = 600):
    """Run ``python -m femcm ARGS`` (or a script path given as args[0] ending in .py).

    Returns the CompletedProcess (text). With ranks > 1, runs under the venv's mpirun.
    """
    py = [sys.executable] if args and args[0].endswith(".py") else [sys.executable, "-m", "femcm"]
    cmd = [*py, *args]
    if ranks > 1:
        mpirun = Path(sys.executable).with_name("mpirun")
        cmd = [str(mpirun) if mpirun.exists() else "mpirun", "-n", str(ranks), *cmd]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "MPI", "HYDRA"))}
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env, check=False
    )


class FailAt:
    """An Evolution wrapper whose solve fails at the given attempts (forced Newton failure).

    Every other attribute (admissible, accept, reject, set_scheme, monitored, ...) is the wrapped
    model's.
    """

    def __init__(self, inner, fail_at):
        self.inner, self.fail_at, self.calls = inner, set(fail_at), 0

    def solve_step(self, t_new, dt):
        self.calls += 1
        its = self.inner.solve_step(t_new, dt)
        return -1 if self.calls in self.fail_at else its

    def __getattr__(self, name):
        return getattr(self.inner, name)
