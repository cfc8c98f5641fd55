"""Parameter studies: ``femcm study NAME --vary K=V1,V2 ...`` and :func:`study`.

A study is the cartesian product of the varied values (plus fixed ``--set`` values). Each case
is keyed by a hash of its *full* parameter set (defaults included) and lives in
``OUT/<key>/`` (the ordinary output folder of ``femcm run``), so

- a rerun skips every case whose ``result.json`` exists and is valid (resume after a kill);
- a failed case is recorded in ``OUT/<key>/failure.json`` (exit status and one line of error)
  and is not rerun unless ``retry_failed``; it never stops the other cases;
- ``OUT/study.csv`` (varied parameters, status, exit status, error, scalars, wall time, mesh
  cache) is rewritten atomically after every finished case, so a killed study keeps its table.

Two engines run the cases:

- local (default): a pool of ``workers`` subprocesses ``python -m femcm run`` (each case with
  its own DOLFINx/PETSc state; ``mpirun -n R`` in front for ``ranks_per_case = R``). SIGINT
  or SIGTERM ends the study: the running cases are sent SIGTERM (their staging folders are
  removed, finished cases stay), the table is written, and the study exits 130 / 143.
- cluster: under ``mpiexec -n K python -m mpi4py.futures -m femcm study ...`` the cases are
  spread over the K - 1 worker ranks with :class:`mpi4py.futures.MPIPoolExecutor`, each case on
  its own communicator (``MPI.COMM_SELF``).

A progress bar (tqdm) is shown on a terminal only. ``plot`` writes ``OUT/plots/S_vs_K.png``
for every reported scalar S and varied parameter K.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import hashlib
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from femcm.app import api
from femcm.app.output import write_json_atomic
from femcm.base import interrupt, runinfo
from femcm.base.errors import InputError

__all__ = ["CaseOutcome", "StudyResult", "add_arguments", "command", "study"]

FAILURE_FILE = "failure.json"
"""Record of a failed case in its folder (removed when the case later succeeds)."""

EXIT_CASES_FAILED = 3
"""Exit status of ``femcm study`` when at least one case failed."""


@dataclasses.dataclass(frozen=True)
class Case:
    """One point of the grid."""

    index: int
    key: str
    varied: dict[str, Any]
    overrides: dict[str, Any]


@dataclasses.dataclass
class CaseOutcome:
    """What became of a case: ``status`` is "ok", "failed" or "pending"."""

    status: str = "pending"
    exit_status: int | None = None
    error: str = ""
    scalars: dict[str, float] = dataclasses.field(default_factory=dict)
    wall_time_s: float | None = None
    mesh_cache: str = ""
    reused: bool = False


@dataclasses.dataclass
class StudyResult:
    """The outcome of :func:`study`: one row per case (grid order) and the counts."""

    out: Path
    keys: list[str]
    cases: list[Case]
    outcomes: list[CaseOutcome]
    ran: int = 0
    reused: int = 0

    @property
    def csv(self) -> Path:
        """The summary table."""
        return self.out / "study.csv"

    @property
    def failed(self) -> int:
        """Number of failed cases."""
        return sum(o.status == "failed" for o in self.outcomes)

    @property
    def ok(self) -> int:
        """Number of successful cases."""
        return sum(o.status == "ok" for o in self.outcomes)

    @property
    def exit_status(self) -> int:
        """0 when every case succeeded, else 3."""
        return 0 if self.failed == 0 and self.ok == len(self.cases) else EXIT_CASES_FAILED

    def rows(self) -> list[dict[str, Any]]:
        """The rows of ``study.csv`` as dicts (scalars as floats)."""
        rows = []
        for case, o in zip(self.cases, self.outcomes, strict=True):
            rows.append(
                {
                    "case": case.key,
                    **case.varied,
                    "status": o.status,
                    "exit_status": o.exit_status,
                    "error": o.error,
                    **o.scalars,
                    "wall_time_s": o.wall_time_s,
                    "mesh_cache": o.mesh_cache,
                }
            )
        return rows


# --------------------------------------------------------------------------- the grid


def _split(item: str, what: str) -> tuple[str, str]:
    key, sep, text = item.partition("=")
    if not sep or not key.strip() or not text.strip():
        form = "KEY=V1,V2,..." if what == "--vary" else "KEY=VALUE"
        raise InputError(f"{what} {item!r} must have the form {form}")
    return key.strip(), text.strip()


def _values(P: Any, key: str, values: Any) -> list[Any]:
    """Parsed values of ``key``: from text (``"1e6,2e6"`` or a list of texts) or Python values."""
    if isinstance(values, str):
        values = values.split(",")
    values = list(values)
    if not values:
        raise InputError(f"--vary {key}: needs at least one value")
    return [P.parse_value(key, v.strip()) if isinstance(v, str) else v for v in values]


def _canonical(P: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """The full parameter set of a case (validated when valid; raw defaults + overrides else)."""
    try:
        return P.create(overrides).as_dict()
    except (ValueError, TypeError):
        full = {k: info.default for k, info in P.info().items()}
        full.update(overrides)
        return full


def case_key(name: str, params: Mapping[str, Any]) -> str:
    """Folder name of a case: 16 hex digits of SHA-256 of the problem and full parameters."""
    text = json.dumps({"problem": name, "parameters": dict(params)}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_cases(
    name: str,
    grid: Mapping[str, Any] | Sequence[str],
    sets: Mapping[str, Any] | Sequence[str] | None = None,
) -> tuple[list[str], list[Case]]:
    """Varied keys and the cases of the cartesian product (first key varies slowest)."""
    P = api.problem_module(name).Parameters
    items = list(grid.items()) if isinstance(grid, Mapping) else [_split(g, "--vary") for g in grid]
    if not items:
        raise InputError("--vary needs at least one KEY=V1,V2,...")
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        raise InputError(f"--vary names a parameter twice: {', '.join(keys)}")
    axes = [_values(P, k, v) for k, v in items]
    fixed: dict[str, Any] = {}
    if sets:
        pairs = sets.items() if isinstance(sets, Mapping) else [_split(s, "--set") for s in sets]
        for k, v in pairs:
            fixed[k] = P.parse_value(k, v) if isinstance(v, str) else v
    cases, seen = [], set()
    for combo in itertools.product(*axes):
        varied = dict(zip(keys, combo, strict=True))
        overrides = {**fixed, **varied}
        key = case_key(name, _canonical(P, overrides))
        if key in seen:
            continue  # the same parameter set twice (e.g. 1e6 and 1000000.0)
        seen.add(key)
        cases.append(Case(len(cases), key, varied, overrides))
    return keys, cases


# --------------------------------------------------------------------------- records


def _valid_result(path: Path, name: str) -> dict[str, Any] | None:
    """The ``result.json`` of a finished case, or None when missing or not valid."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("problem") != name:
        return None
    if not isinstance(doc.get("scalars"), dict) or not isinstance(doc.get("solver"), dict):
        return None
    return doc


def _outcome_from_result(doc: dict[str, Any], reused: bool) -> CaseOutcome:
    mesh = doc.get("mesh", {})
    cache = mesh.get("cache", "") if isinstance(mesh, dict) else ""
    return CaseOutcome(
        status="ok",
        exit_status=0,
        scalars={k: v for k, v in doc["scalars"].items()},
        wall_time_s=doc["solver"].get("wall_time_s"),
        mesh_cache=str(cache),
        reused=reused,
    )


def _recorded(case_dir: Path, name: str) -> CaseOutcome | None:
    """What a previous study left for this case (ok or failed), or None."""
    doc = _valid_result(case_dir / "result.json", name)
    if doc is not None:
        return _outcome_from_result(doc, reused=True)
    try:
        fail = json.loads((case_dir / FAILURE_FILE).read_text())
        return CaseOutcome(
            status="failed",
            exit_status=int(fail["exit_status"]),
            error=str(fail["error"]),
            wall_time_s=fail.get("wall_time_s"),
            reused=True,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _finish(case_dir: Path, name: str, code: int, error: str, wall: float) -> CaseOutcome:
    """Record a case that just ended (exit status ``code``)."""
    doc = _valid_result(case_dir / "result.json", name) if code == 0 else None
    if doc is not None:
        (case_dir / FAILURE_FILE).unlink(missing_ok=True)
        return _outcome_from_result(doc, reused=False)
    if code == 0:
        code, error = 1, error or "the run ended without a valid result.json"
    out = CaseOutcome("failed", code, error or f"exit status {code}", wall_time_s=wall)
    case_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        case_dir / FAILURE_FILE, {"exit_status": code, "error": out.error, "wall_time_s": wall}
    )
    return out


def _text(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ",".join(_text(x) for x in v)
    return repr(v) if isinstance(v, float) else str(v)


def write_table(result: StudyResult) -> None:
    """Rewrite ``study.csv`` atomically (temporary file, then rename)."""
    scalar_keys: list[str] = []
    for o in result.outcomes:
        scalar_keys += [k for k in o.scalars if k not in scalar_keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case", *result.keys, "status", "exit_status", "error", *scalar_keys,
                "wall_time_s", "mesh_cache"])  # fmt: skip
    for case, o in zip(result.cases, result.outcomes, strict=True):
        w.writerow(
            [
                case.key,
                *[_text(case.varied[k]) for k in result.keys],
                o.status,
                "" if o.exit_status is None else o.exit_status,
                o.error,
                *[_text(o.scalars[k]) if k in o.scalars else "" for k in scalar_keys],
                "" if o.wall_time_s is None else f"{o.wall_time_s:.3f}",
                o.mesh_cache,
            ]
        )
    tmp = result.csv.with_name(f".study-{os.getpid()}.csv")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, result.csv)


# --------------------------------------------------------------------------- engines


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
        cmd += ["--set", f"{k}={_text(v)}"]
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


def _run_local(name, result, todo, workers, ranks, mesh_cache, bar) -> None:
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
                outcome = _finish(
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


def _run_pool(name, result, todo, executor, cache, bar) -> None:
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
                _record(result, case, _finish(result.out / case.key, name, code, err, wall), bar)
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


# --------------------------------------------------------------------------- the API


def study(
    name: str,
    grid: Mapping[str, Any] | Sequence[str],
    sets: Mapping[str, Any] | Sequence[str] | None = None,
    out: str | os.PathLike | None = None,
    workers: int = 1,
    ranks_per_case: int = 1,
    *,
    retry_failed: bool = False,
    plot: bool = False,
    progress: bool | None = None,
    mesh_cache: str | os.PathLike | None = None,
) -> StudyResult:
    """Run problem ``name`` over the cartesian product of ``grid``; resumable.

    Args:
        name: canonical problem name.
        grid: parameter -> values (``{"E": [1e9, 2e9]}``, or text ``"1e9,2e9"``), or the
            command line's ``["E=1e9,2e9", ...]``.
        sets: fixed parameter overrides (a mapping, or ``["KEY=VALUE", ...]``).
        out: study folder (default ``results/NAME_study``): ``study.csv``, one folder per case.
        workers: cases at the same time (local engine); under ``python -m mpi4py.futures``
            the worker ranks of the allocation are used instead.
        ranks_per_case: MPI ranks of each case (local engine: ``mpirun -n R``).
        retry_failed: rerun cases recorded as failed (cases with a valid result never rerun).
        plot: write ``plots/SCALAR_vs_PARAM.png``.
        progress: progress bar (default: when stderr is a terminal).
        mesh_cache: mesh cache folder of every case, or "off" (default: the cases' default,
            :func:`femcm.base.runinfo.mesh_cache_dir`); a sweep that keeps the geometry
            meshes once.

    Returns:
        the :class:`StudyResult` (its ``exit_status`` is 0 when every case succeeded).
    """
    for opt, v in (("workers", workers), ("ranks_per_case", ranks_per_case)):
        if not isinstance(v, int) or v < 1:
            raise InputError(f"parameter {opt} = {v!r} is out of range: must be an integer >= 1")
    keys, cases = make_cases(name, grid, sets)
    out = Path(out) if out is not None else Path("results") / f"{name}_study"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write the study folder {str(out)!r}: {exc.strerror}") from None
    out = out.absolute()
    result = StudyResult(out, keys, cases, [CaseOutcome() for _ in cases])
    todo = []
    for case in cases:
        rec = _recorded(out / case.key, name)
        if rec is not None and (rec.status == "ok" or not retry_failed):
            result.outcomes[case.index] = rec
            result.reused += 1
        else:
            todo.append(case)
    write_table(result)
    pool = under_mpi_futures()
    if pool and ranks_per_case > 1:
        raise InputError(
            "--ranks-per-case > 1 is for the local engine; under mpi4py.futures each case runs "
            "on one rank (start more ranks instead)"
        )
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    cache = None if mesh_cache is None else str(mesh_cache)
    if cache is not None and cache.strip().lower() not in runinfo.OFF:
        cache = str(Path(cache).absolute())
    with (
        interrupt.handling(),  # SIGINT/SIGTERM: the running cases are stopped, then re-raised
        tqdm(
            total=len(cases), initial=result.reused, desc=name, unit="case", disable=not show
        ) as bar,
    ):
        if not todo:
            pass
        elif pool:
            from mpi4py.futures import MPIPoolExecutor

            with MPIPoolExecutor() as executor:
                _run_pool(name, result, todo, executor, cache, bar)
        else:
            _run_local(name, result, todo, workers, ranks_per_case, cache, bar)
    if plot:
        plot_study(result)
    return result


def plot_study(result: StudyResult) -> list[Path]:
    """``plots/S_vs_K.png`` for each scalar S and varied K (one line per other-parameter set)."""
    import numpy as np
    import pyvista as pv

    pv.OFF_SCREEN = True
    folder = result.out / "plots"
    folder.mkdir(exist_ok=True)
    ok = [(c, o) for c, o in zip(result.cases, result.outcomes, strict=True) if o.status == "ok"]
    scalars: list[str] = []
    for _, o in ok:
        scalars += [k for k in o.scalars if k not in scalars]
    written = []
    for key in result.keys:
        others = [k for k in result.keys if k != key]
        for s in scalars:
            groups: dict[tuple, list[tuple[float, float]]] = {}
            for c, o in ok:
                x, y = c.varied[key], o.scalars.get(s)
                if isinstance(x, int | float) and isinstance(y, int | float) and np.isfinite(y):
                    groups.setdefault(tuple(_text(c.varied[k]) for k in others), []).append(
                        (float(x), float(y))
                    )
            if not groups:
                continue
            chart = pv.Chart2D(x_label=key, y_label=s)
            for i, (label, pts) in enumerate(sorted(groups.items())):
                pts.sort()
                x, y = np.array(pts).T
                name = ", ".join(f"{k}={v}" for k, v in zip(others, label, strict=True)) or s
                color = pv.Color(("tab:blue", "tab:red", "tab:green", "tab:orange")[i % 4])
                chart.line(x, y, color=color, width=2.0, label=name)
                chart.scatter(x, y, color=color, size=8, style="o")
            plotter = pv.Plotter(off_screen=True, window_size=(900, 600))
            plotter.add_chart(chart)
            path = folder / f"{s}_vs_{key}.png"
            plotter.screenshot(str(path))
            plotter.close()
            written.append(path)
    return written


# --------------------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``femcm study``."""
    p.add_argument("name")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", type=Path, help="study folder (default results/NAME_study)")
    p.add_argument("--workers", type=int, default=1, help="cases at the same time (>= 1)")
    p.add_argument(
        "--ranks-per-case", "--ranks", dest="ranks", type=int, default=1, help="MPI ranks per case"
    )
    p.add_argument("--retry-failed", action="store_true", help="rerun the failed cases")
    p.add_argument("--plot", action="store_true", help="PNG of each scalar vs each parameter")
    p.add_argument("--mesh-cache", default=None, metavar="DIR", help="mesh cache folder, or off")


def command(args: argparse.Namespace) -> int:
    """``femcm study``: run the study, print a summary line; exit status 0 or 3."""
    res = study(
        args.name,
        args.vary,
        args.sets,
        args.out,
        args.workers,
        args.ranks,
        retry_failed=args.retry_failed,
        plot=args.plot,
        mesh_cache=getattr(args, "mesh_cache", None),
    )
    for case, o in zip(res.cases, res.outcomes, strict=True):
        if o.status == "failed" and not o.reused:
            print(f"femcm study: case {case.key} failed ({o.exit_status}): {o.error}",
                  file=sys.stderr)  # fmt: skip
    print(
        f"{name_line(res)} -> {res.csv}",
        flush=True,
    )
    return res.exit_status


def name_line(res: StudyResult) -> str:
    """``N cases: ok, failed, reused, run`` summary."""
    return (
        f"{len(res.cases)} cases: {res.ok} ok, {res.failed} failed "
        f"({res.reused} reused, {res.ran} run)"
    )
