"""The engines of a parameter study: a local process pool and :mod:`mpi4py.futures`.

- local (default): a pool of ``workers`` subprocesses ``python -m femcm run`` (each case with
  its own DOLFINx/PETSc state; ``mpirun -n R`` in front for ``ranks_per_case = R``). On an
  interruption the running cases are sent SIGTERM (their staging folders are removed,
  finished cases stay) and the exception is re-raised.
- cluster: under ``mpiexec -n K python -m mpi4py.futures -m femcm study ...`` the cases are
  spread over the K - 1 worker ranks with :class:`mpi4py.futures.MPIPoolExecutor`, each case on
  its own communicator (``MPI.COMM_SELF``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from femcm.app import api
from femcm.app.study_cases import Case
from femcm.app.study_table import CaseOutcome, StudyResult, finish_case, format_value, write_table

__all__ = ["run_local", "run_pool", "under_mpi_futures"]


def _last_error(text: str) -> str:
    """The one-line error of a failed run: its ``femcm: error:`` line, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("femcm: error:"):
            return ln.removeprefix("femcm: error:").strip()
    return lines[-1] if lines else ""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the case gets SIGTERM if the study process dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _command(name: str, case: Case, case_dir: Path, ranks: int, mesh_cache: str | None):
    cmd = [sys.executable, "-m", "femcm", "run", name, "--out", str(case_dir)]
    if ranks > 1:
        mpirun = Path(sys.executable).with_name("mpirun")
        cmd = [str(mpirun) if mpirun.exists() else "mpirun", "-n", str(ranks), *cmd]
    for k, v in case.overrides.items():
        cmd += ["--set", f"{k}={format_value(v)}"]
    # a case is its own MPI job, not a member of the study's (when started under mpiexec)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA"))}
    if mesh_cache is not None:
        cmd += ["--mesh-cache", mesh_cache]
    return cmd, env


def _stop(procs: Iterable[subprocess.Popen], grace: float = 15.0) -> None:
    """SIGTERM every running case (its whole process group), SIGKILL after ``grace`` s."""
    procs = [p for p in procs if p.poll() is None]
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def run_local(name, result, todo, workers, ranks, mesh_cache, bar) -> None:
    """Run the cases ``todo`` as ``workers`` subprocesses at a time, recording each outcome."""
    logs = result.out / "logs"
    logs.mkdir(exist_ok=True)
    queue: deque[Case] = deque(todo)
    running: dict[subprocess.Popen, tuple[Case, float, Any]] = {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                case = queue.popleft()
                cmd, env = _command(name, case, result.out / case.key, ranks, mesh_cache)
                log = open(logs / f"{case.key}.log", "w+")
                proc = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,  # its own process group: signalled as one
                    preexec_fn=_die_with_parent,
                )
                running[proc] = (case, time.perf_counter(), log)
            time.sleep(0.05)
            for proc in [p for p in running if p.poll() is not None]:
                case, t0, log = running.pop(proc)
                log.seek(0)
                err = _last_error(log.read()) if proc.returncode else ""
                log.close()
                outcome = finish_case(
                    result.out / case.key, name, proc.returncode, err, time.perf_counter() - t0
                )
                _record(result, case, outcome, bar)
    except BaseException:
        _stop(running)  # interrupted: the unfinished cases leave no result (rerun on resume)
        for _, _, log in running.values():
            log.close()
        raise


def _case_here(
    name: str, overrides: dict[str, Any], case_dir: str, mesh_cache: str | None
) -> tuple[int, str, float]:
    """Run one case in this process on ``MPI.COMM_SELF`` (an MPIPoolExecutor worker)."""
    from mpi4py import MPI

    from femcm.app import guards
    from femcm.base import runinfo

    runinfo.set_mesh_cache(mesh_cache)

    t0 = time.perf_counter()
    try:
        mod = api.problem_module(name)
        api.run_module(mod, mod.Parameters.create(overrides), out=case_dir, comm=MPI.COMM_SELF)
    except BaseException as exc:  # recorded, never raised into the pool
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        status, msg = guards.describe(exc)
        return status, msg, time.perf_counter() - t0
    return 0, "", time.perf_counter() - t0


def run_pool(name, result, todo, executor, cache, bar) -> None:
    """Run the cases ``todo`` on the workers of ``executor``, recording each outcome."""
    from concurrent.futures import FIRST_COMPLETED, wait

    futures = {
        executor.submit(_case_here, name, c.overrides, str(result.out / c.key), cache): c
        for c in todo
    }
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                case = futures[fut]
                try:
                    code, err, wall = fut.result()
                except Exception as exc:  # a worker died
                    code, err, wall = 1, f"worker failed: {exc}".splitlines()[0], 0.0
                _record(
                    result, case, finish_case(result.out / case.key, name, code, err, wall), bar
                )
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def _record(result: StudyResult, case: Case, outcome: CaseOutcome, bar: Any) -> None:
    result.outcomes[case.index] = outcome
    result.ran += 1
    write_table(result)
    if bar is not None:
        bar.update(1)
        bar.set_postfix(failed=result.failed, refresh=False)


def under_mpi_futures() -> bool:
    """True in the main script of ``mpiexec -n K python -m mpi4py.futures -m femcm ...``."""
    if "mpi4py.futures" not in sys.modules:
        return False
    from mpi4py.futures import _core

    return getattr(_core, "SharedPool", None) is not None
