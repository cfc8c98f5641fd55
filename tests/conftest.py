"""Test configuration: communicator-agnostic fixtures, per-rank temp dirs, collective teardown.

The suite runs twice: ``pytest tests`` and ``mpirun -n 2 python -m pytest -m "not serial"``.

The ``verify`` fixture is the one assertion of a verified number (an error against a closed
form, a fitted rate, a conservation defect): it asserts ``measured OP bound`` and, when the
environment variable ``FEMCM_VERIFICATION_OUT`` names a file, rank 0 appends the record
(test, ranks, key, measured, bound, reference) to it as one JSON line. ``make verification``
(scripts/verification_table.py) collects those records, serial and on 2 ranks, into the
tables of README.md and docs/verification.md. Tests using it carry the ``verification`` mark.
"""

from __future__ import annotations

import gc
import json
import math
import operator
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mpi4py import MPI

import femcm  # noqa: F401  (loads the DOLFINx provider before dolfinx)

REPO = Path(__file__).resolve().parents[1]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give every rank its own pytest temp root so parallel runs do not collide."""
    config.addinivalue_line(
        "markers", "verification: asserts a verified number through the verify fixture"
    )
    comm = MPI.COMM_WORLD
    if comm.size > 1 and not config.option.basetemp:
        config.option.basetemp = (
            Path(tempfile.gettempdir()) / f"femcm-pytest-{os.getppid()}-{comm.rank}"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses ``verify`` (``pytest -m verification`` selects them)."""
    for item in items:
        if "verify" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.verification)


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


def child_env() -> dict[str, str]:
    """This environment without the MPI launcher's variables (a child starts its own job)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "MPI", "HYDRA"))}


def femcm_command(args: list[str], ranks: int = 1) -> list[str]:
    """``python -m femcm ARGS`` (or a script path given as args[0] ending in .py), under the
    venv's ``mpirun -n ranks`` when ranks > 1."""
    py = [sys.executable] if args and args[0].endswith(".py") else [sys.executable, "-m", "femcm"]
    cmd = [*py, *args]
    if ranks > 1:
        mpirun = Path(sys.executable).with_name("mpirun")
        cmd = [str(mpirun) if mpirun.exists() else "mpirun", "-n", str(ranks), *cmd]
    return cmd


def run_cli(args: list[str], ranks: int = 1, cwd: Path | None = None, timeout: float = 600):
    """Run :func:`femcm_command` and return the CompletedProcess (text)."""
    return subprocess.run(
        femcm_command(args, ranks), capture_output=True, text=True, cwd=cwd, timeout=timeout,
        env=child_env(), check=False,
    )  # fmt: skip


def script_scalars_one_and_two_ranks(script: str, args: list[str], tmp_path: Path):
    """Run a problem script serially and under ``mpirun -n 2``; both result.json scalars.

    Asserts that both runs succeed and report the same set of figures.
    """
    runs = {}
    for ranks in (1, 2):
        out = tmp_path / f"n{ranks}"
        r = run_cli([script, *args, "--out", str(out)], ranks=ranks)
        assert r.returncode == 0, r.stderr
        runs[ranks] = json.loads((out / "result.json").read_text())["scalars"]
    assert runs[1].keys() == runs[2].keys()
    return runs[1], runs[2]


def assert_same_on_world_and_self(run, keys, rel: float = 1e-8, **kw) -> None:
    """``run(**kw, comm=...)`` on COMM_WORLD and on COMM_SELF report the same ``keys``."""
    world = run(**kw, comm=MPI.COMM_WORLD).scalars
    alone = run(**kw, comm=MPI.COMM_SELF).scalars
    for key in keys:
        assert alone[key] == pytest.approx(world[key], rel=rel), key


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


VERIFICATION_OUT = "FEMCM_VERIFICATION_OUT"
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class Verify:
    """``verify(key, measured, op, bound, reference=..., what=...)``: assert and record.

    ``op`` is one of ``<``, ``<=``, ``>``, ``>=`` (the comparison the test always made);
    ``measured`` must be the same on every rank (a reduced or probed number). ``ranks``
    overrides the recorded rank count for a number measured in an ``mpirun`` subprocess.
    ``msg`` is added to the assertion message (the values behind the number).
    """

    def __init__(self, nodeid: str, path: str | None):
        self.nodeid, self.path = nodeid, path

    def __call__(
        self,
        key: str,
        measured: float,
        op: str,
        bound: float,
        *,
        reference: str,
        what: str,
        ranks: int | None = None,
        msg: object = "",
    ) -> float:
        measured, bound = float(measured), float(bound)
        ok = _OPS[op](measured, bound)  # NaN compares False: fails
        if self.path and MPI.COMM_WORLD.rank == 0:
            record = {
                "test": self.nodeid,
                "ranks": ranks or MPI.COMM_WORLD.size,
                "key": key,
                "measured": measured if math.isfinite(measured) else str(measured),
                "op": op,
                "bound": bound,
                "reference": reference,
                "what": what,
                "passed": ok,
            }
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        assert ok, f"{key}: measured {measured:.6g}, required {op} {bound:.6g}. {msg}".rstrip()
        return measured

    def approx(self, key: str, got, expected, rel: float, abs_tol: float = 1e-12, **kw) -> float:
        """``got == pytest.approx(expected, rel=rel, abs=abs)`` as a relative error <= rel."""
        return self(key, rel_error(got, expected, floor=abs_tol / rel), "<=", rel, **kw)


@pytest.fixture
def verify(request: pytest.FixtureRequest) -> Verify:
    """Assert ``measured OP bound`` and record it for the verification table (see module doc)."""
    return Verify(request.node.nodeid, os.environ.get(VERIFICATION_OUT))


def rel_error(got, expected, floor: float = 0.0) -> float:
    """max |got − expected| / max(|expected|, floor), elementwise over arrays.

    ``rel_error(g, e, floor=a / r) <= r`` is exactly ``g == pytest.approx(e, rel=r, abs=a)``.
    """
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    diff = np.abs(got - expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / np.maximum(np.abs(expected), floor))
    return float(ratio.max())
