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

The grid is :mod:`femcm.app.study_cases`, the records, table and plots
:mod:`femcm.app.study_table`, the engines :mod:`femcm.app.study_engine`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from femcm.app.study_cases import make_cases
from femcm.app.study_engine import run_local, run_pool, under_mpi_futures
from femcm.app.study_table import CaseOutcome, StudyResult, plot_study, recorded, write_table
from femcm.base import interrupt, runinfo
from femcm.base.errors import InputError

__all__ = ["CaseOutcome", "StudyResult", "add_arguments", "command", "study"]


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
    runinfo.mesh_cache_limit()  # a bad FEMCM_MESH_CACHE_MB: one error, not every case failed
    out = Path(out) if out is not None else Path("results") / f"{name}_study"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write the study folder {str(out)!r}: {exc.strerror}") from None
    out = out.absolute()
    result = StudyResult(out, keys, cases, [CaseOutcome() for _ in cases])
    todo = []
    for case in cases:
        rec = recorded(out / case.key, name)
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
                run_pool(name, result, todo, executor, cache, bar)
        else:
            run_local(name, result, todo, workers, ranks_per_case, cache, bar)
    if plot:
        plot_study(result)
    return result


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
