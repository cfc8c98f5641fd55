"""Bad input over the CLI, problem scripts, TOML files and the Python API (issue 14).

Every case of ``tests/bad_inputs.py`` must end with one line on stderr (rank 0 only) naming
the parameter, exit status 2, no traceback, nothing written into the output folder, and no
file created by an injection payload.

- ``test_cases_in_process``: all cases through ``femcm.app.cli.main`` / ``run_main`` /
  ``femcm.run`` in this process (fast; on 2 ranks under ``mpirun -n 2 pytest``, which also
  checks that rank 1 prints nothing and that no case hangs a collective).
- ``test_case_subprocess``: a representative set as real processes (CLI, script, TOML, API).
- ``test_case_mpirun``: the ``mpi=True`` cases under ``mpirun -n 2`` with a timeout that fails
  the test on a hang.
- ``test_error_on_one_rank_only``: an exception on rank 1 while rank 0 waits in a collective
  ends the job (one line, exit 2, staging removed) instead of hanging.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from bad_inputs import CASES, KINDS, Case, api_source, femcm_args, make_inputs, substitute
from conftest import REPO, child_env, run_cli

from mpi4py import MPI

import femcm
from femcm.app import cli

BY_ID = {c.id: c for c in CASES}
SUBPROCESS = ["expr_api_lambda"]  # + the mpirun ones: CLI, script; TOML in-process
MPIRUN = [c.id for c in CASES if c.mpi]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The input files of the cases, one folder shared by every rank."""
    comm = MPI.COMM_WORLD
    path = str(tmp_path_factory.mktemp("bad_input_data")) if comm.rank == 0 else None
    path = Path(comm.bcast(path, root=0))
    if comm.rank == 0:
        make_inputs(path)
    comm.barrier()
    return path


def _paths(case: Case, data: Path) -> tuple[Path, Path]:
    """(payload target, output folder) of a case."""
    return data / f"pwn_{case.id}", data / f"out_{case.id}"


def _nothing_written(case: Case, data: Path, junk: bytes) -> None:
    pwn, out = _paths(case, data)
    assert not pwn.exists(), "an injection payload ran"
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
    assert (data / "junk.bin").read_bytes() == junk
    assert not Path("/proc/femcm").exists()


def _check_stderr(case: Case, err: str, rank: int) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err, err
    if rank == 0:
        assert len(lines) == 1, err
        assert lines[0].startswith("femcm: error: ") and case.word in lines[0], lines[0]
    else:
        assert not lines, err


def _in_process(case: Case, data: Path, capfd) -> None:
    comm = MPI.COMM_WORLD
    pwn, out = _paths(case, data)
    junk = (data / "junk.bin").read_bytes()
    if case.channel == "api":
        kwargs = eval(substitute(case.api, data, pwn))  # the test's own literal
        with pytest.raises(femcm.InputError) as info:
            femcm.run(case.problem, out=out, **kwargs)
        msg = str(info.value)
        assert "\n" not in msg and case.word in msg, msg
        status, err = 2, capfd.readouterr().err
        assert not err.strip(), err
    else:
        args = femcm_args(case, data, pwn, out)
        if case.channel == "script":
            status = cli.run_main(case.problem, args)
        else:
            status = cli.main(args)
        err = capfd.readouterr().err
        _check_stderr(case, err, comm.rank)
    assert status == 2
    comm.barrier()
    _nothing_written(case, data, junk)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cases_in_process(kind, data, capfd):
    """Every case of one kind in this process (one test per kind: the teardown is costly)."""
    failed = {}
    for case in (c for c in CASES if c.kind == kind):
        try:
            _in_process(case, data, capfd)
        except AssertionError as exc:
            failed[case.id] = str(exc).splitlines()[0][:300]
    assert not failed, failed


def _subprocess(case: Case, data: Path, ranks: int, timeout: float):
    pwn, out = _paths(case, data)
    if case.channel == "api":
        cmd = [sys.executable, "-c", api_source(case, data, pwn, out)]
    elif case.channel == "script":
        script = REPO / "problems" / f"{case.problem}.py"
        cmd = [sys.executable, str(script), *femcm_args(case, data, pwn, out)]
    else:
        cmd = [sys.executable, "-m", "femcm", *femcm_args(case, data, pwn, out)]
    if ranks > 1:
        cmd = [str(Path(sys.executable).with_name("mpirun")), "-n", str(ranks), *cmd]
    env = child_env()
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case.id}: no end within {timeout} s (a hang)")


def _refused_in_subprocess(case_id: str, data: Path, ranks: int, timeout: float) -> None:
    """The case run on ``ranks`` ranks exits with status 2, one stderr line, nothing written."""
    case = BY_ID[case_id]
    junk = (data / "junk.bin").read_bytes()
    r = _subprocess(case, data, ranks=ranks, timeout=timeout)
    assert r.returncode == 2, (r.returncode, r.stderr)
    _check_stderr(case, r.stderr, 0)  # one line in all: on 2 ranks, rank 1 prints nothing
    _nothing_written(case, data, junk)


@pytest.mark.serial
@pytest.mark.parametrize("case_id", SUBPROCESS)
def test_case_subprocess(case_id, data):
    _refused_in_subprocess(case_id, data, ranks=1, timeout=120)


@pytest.mark.serial
@pytest.mark.parametrize("case_id", MPIRUN)
def test_case_mpirun(case_id, data):
    _refused_in_subprocess(case_id, data, ranks=2, timeout=90)


ONE_RANK_FAILS = """
import sys, types
import femcm
from femcm.app import api
from femcm.app.params import ParameterSet
from femcm.base.errors import InputError

class P(ParameterSet):
    pass

def solve(p, comm, output):
    (output.stage / "partial.txt").write_text("half-written") if comm.rank == 0 else None
    if comm.rank == 1:
        raise InputError("parameter fake = 1 fails on rank 1 only")
    comm.barrier()  # rank 0 waits here forever unless the job is ended

mod = types.SimpleNamespace(NAME="fake", Parameters=P, solve=solve)
api.run_module(mod, P(), out=sys.argv[1])
"""


@pytest.mark.serial
def test_error_on_one_rank_only(tmp_path):
    script = tmp_path / "one_rank.py"
    script.write_text(textwrap.dedent(ONE_RANK_FAILS))
    out = tmp_path / "out"
    r = run_cli([str(script), str(out)], ranks=2, timeout=60)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert lines == ["femcm: error: parameter fake = 1 fails on rank 1 only"], r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_numpy_values_accepted(comm, shared_tmp):
    """np.float32/np.int64 scalars and arrays where a tuple is expected (the API's study use)."""
    import numpy as np

    from femcm.problem_scripts import inclusion_mechanics as im

    incl = np.array(im.Parameters().inclusions)[:1]
    p = im.Parameters.create(
        {"pressure": np.float32(2e6), "degree": np.int64(1), "inclusions": incl}
    )
    assert p.pressure == pytest.approx(2e6) and type(p.pressure) is float
    assert p.degree == 1 and type(p.degree) is int
    assert p.inclusions == (tuple(float(v) for v in incl[0]),)
    res = femcm.run(
        "inclusion_mechanics",
        out=shared_tmp / "np",
        pressure=np.float64(2e6),
        degree=np.int32(2),
        mesh_size=np.float32(60e-6),
        mesh_size_inclusion=np.float32(20e-6),
        inclusions=incl,
    )
    doc = json.loads((shared_tmp / "np" / "result.json").read_text())
    assert doc["parameters"]["degree"] == 2 and doc["parameters"]["pressure"] == 2e6
    assert res.scalars["sigma_h_far"] == pytest.approx(-2e6 * 1.27 / (3 * 0.73), rel=1e-12)
