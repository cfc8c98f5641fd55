"""Command line: ``femcm list | show NAME | run NAME ... | study NAME ... | cache [--clear]``.

Exit status: 0 success; 2 bad input (parameters, files, sizes); 3 failed solve (or out of
memory); 130 / 143 interrupted by SIGINT (Ctrl-C) / SIGTERM; 1 an internal error (a bug: the
traceback is printed, once). Every failure but the last prints one line on stderr, from rank
0 when every rank failed, else from the rank that failed (:mod:`femcm.app.guards`). SIGINT and
SIGTERM end a run promptly: the staging folder is removed and ``OUT`` keeps the previous
results (:mod:`femcm.base.interrupt` replaces PETSc's signal handlers). A closed pipe
(``femcm list | head -1``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mpi4py import MPI

from femcm.app import api, guards, study
from femcm.app.checkpoint import DEFAULT_EVERY
from femcm.app.guards import EXIT_BAD_INPUT, EXIT_INTERNAL
from femcm.base import interrupt, mesh_cache, runinfo
from femcm.base.errors import InputError
from femcm.base.log import configure

__all__ = ["main", "run_main", "run_parser"]

MAX_CONFIG_BYTES = 1 << 20
"""Largest accepted ``--config`` file (a parameter file is a few hundred bytes)."""


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter (SI units); repeatable",
    )
    p.add_argument("--config", type=Path, help="TOML file of parameter values")
    p.add_argument("--out", type=Path, help="output folder (default results/NAME)")
    p.add_argument("--plot", action="store_true", help="write PNG pictures of the main fields")
    p.add_argument(
        "--max-dofs",
        type=float,
        default=None,
        metavar="N",
        help="refuse runs estimated above N degrees of freedom (default: only the memory check)",
    )
    p.add_argument(
        "--mesh-cache",
        default=None,
        metavar="DIR",
        help="mesh cache folder, or 'off' (default: ~/.cache/femcm/meshes or $FEMCM_MESH_CACHE)",
    )
    p.add_argument(
        "--restart",
        type=Path,
        metavar="DIR",
        help="continue a time-dependent run from DIR/checkpoint (output default: DIR)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=DEFAULT_EVERY,
        metavar="N",
        help=f"accepted steps between checkpoints (default {DEFAULT_EVERY}; 0: only at the end, "
        "on a failed solve and on SIGTERM/SIGINT)",
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="progress on rank 0 (-v), debug (-vv)"
    )


def run_parser(name: str) -> argparse.ArgumentParser:
    """Parser of a problem script: ``python problems/NAME.py [--set K=V] [--out DIR] ...``."""
    p = argparse.ArgumentParser(prog=f"problems/{name}.py", description=api.summary(name))
    _add_run_options(p)
    return p


def read_config(path: Path) -> dict[str, Any]:
    """Parameter values from a TOML file: top-level ``key = value`` pairs only.

    Raises:
        InputError: one line naming the file (missing, not a regular file, too large, not
            UTF-8, not TOML, or a table where a value belongs).
    """
    where = f"config file {str(path)!r}"
    if not path.exists():
        raise InputError(f"{where} does not exist")
    if not path.is_file():
        raise InputError(f"{where} is not a regular file")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{where} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"{where} is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        values = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{where} is not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where} is not valid TOML: {exc}") from None
    for key, value in values.items():
        if isinstance(value, dict):
            raise InputError(
                f"{where}: {key!r} is a table; parameters are top-level keys (key = value)"
            )
    return values


def _overrides(name: str, args: argparse.Namespace) -> dict[str, Any]:
    P = api.problem_module(name).Parameters
    values: dict[str, Any] = {}
    if args.config is not None:
        values.update(read_config(args.config))
    for item in args.sets:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item!r} must have the form KEY=VALUE")
        values[key.strip()] = P.parse_value(key.strip(), text)
    if args.max_dofs is not None and not (math.isfinite(args.max_dofs) and args.max_dofs >= 1):
        raise InputError(f"--max-dofs {args.max_dofs:g} is out of range: must be >= 1")
    if args.checkpoint_every < 0:
        n = args.checkpoint_every
        raise InputError(f"--checkpoint-every {n} is out of range: must be >= 0")
    return values


def _fail(code: int, msg: str) -> int:
    """Print the message on rank 0 (every rank calls this); no rank leaves before it is out."""
    comm = MPI.COMM_WORLD
    if comm.rank == 0:
        print(f"femcm: error: {msg}", file=sys.stderr, flush=True)
    if comm.size > 1:
        comm.barrier()  # mpirun stops the job when the first rank exits non-zero
    return code


def _failed(exc: BaseException) -> int:
    """Report the exception that ended a command on every rank; returns the exit status."""
    interrupt.quiet()
    status, msg = guards.describe(exc)
    if status == EXIT_INTERNAL and MPI.COMM_WORLD.rank == 0:
        traceback.print_exception(exc)
    return _fail(status, msg)


def _run(name: str, args: argparse.Namespace) -> int:
    configure(args.verbose)
    runinfo.set_mesh_cache(args.mesh_cache)
    try:
        mod = api.problem_module(name)
        overrides = _overrides(name, args)
        saved = api.restart_parameters(mod, args.restart, MPI.COMM_WORLD)
        params = mod.Parameters.create(saved | overrides)
        out = args.out if args.out is not None else _default_out(name, args.restart)
    except (ValueError, TypeError) as exc:
        return _fail(EXIT_BAD_INPUT, str(exc).strip().splitlines()[0])
    try:
        res = api.run_module(
            mod, params, out=out, plot=args.plot, max_dofs=args.max_dofs, restart=args.restart,
            checkpoint_every=args.checkpoint_every,
        )  # fmt: skip
    except BaseException as exc:  # every rank: api.run_module ends the job on one-rank errors
        return _failed(exc)
    if MPI.COMM_WORLD.rank == 0:
        print(
            f"{name}: {res.mesh['cells']} cells, {res.mesh['dofs']} dofs, "
            f"{res.mesh['ranks']} rank(s), {res.solver['wall_time_s']:.2f} s -> {res.out}"
        )
        for k, v in res.scalars.items():
            print(f"  {k:40s} {v: .10g}")
    return 0


def _default_out(name: str, restart: Path | None) -> Path:
    """results/NAME, or the run folder of the checkpoint a restart continues."""
    if restart is None:
        return Path("results") / name
    return restart.parent if restart.name == "checkpoint" else restart


def run_main(name: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``problems/NAME.py``."""
    with interrupt.handling():
        return _run(name, run_parser(name).parse_args(argv))


def _show(name: str) -> int:
    mod = api.problem_module(name)
    print(f"{name}: {api.summary(name)}")
    for key, info in mod.Parameters.info().items():
        print(f"  {key:24s} {info.default!s:>24} {info.unit:10s} {info.doc} [{info.allowed}]")
    return 0


def _cache(args: argparse.Namespace) -> int:
    """``femcm cache``: the mesh cache's folder, entries, size and limit; ``--clear`` empties it."""
    runinfo.set_mesh_cache(args.mesh_cache)
    limit, root = runinfo.mesh_cache_limit(), runinfo.mesh_cache_folder()
    if MPI.COMM_WORLD.rank == 0:
        if root is None:
            print("mesh cache: off (--mesh-cache off or FEMCM_MESH_CACHE=off)")
        elif args.clear:
            gone = mesh_cache.clear(root)
            mib = sum(e.size for e in gone) / 2**20
            print(f"mesh cache: {root}: removed {len(gone)} entries ({mib:.1f} MiB)")
        else:
            found = mesh_cache.entries(root)
            off = " (0: the cache is off)" if limit == 0 else ""
            print(f"mesh cache: {root}")
            print(f"  entries    {len(found)}")
            size = sum(e.size for e in found)
            print(f"  size       {size / 2**20:.1f} MiB ({size} bytes)")
            print(f"  limit      {limit / 2**20:g} MiB (FEMCM_MESH_CACHE_MB){off}")
    MPI.COMM_WORLD.barrier()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``femcm`` command."""
    with interrupt.handling():
        try:
            return _main(argv)
        except interrupt.Interrupted as exc:  # outside a run (list, show, study set-up)
            return _failed(exc)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="femcm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list problems")
    s = sub.add_parser("show", help="show a problem's parameters")
    s.add_argument("name")
    r = sub.add_parser("run", help="run a problem")
    r.add_argument("name")
    _add_run_options(r)
    st = sub.add_parser("study", help="parameter study over a grid of values (resumable)")
    study.add_arguments(st)
    c = sub.add_parser("cache", help="show the mesh cache (folder, entries, size, limit)")
    c.add_argument("--clear", action="store_true", help="remove every cached mesh")
    c.add_argument(
        "--mesh-cache", metavar="DIR", default=None,
        help="mesh cache folder (default: ~/.cache/femcm/meshes or $FEMCM_MESH_CACHE)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for n in api.problems():
                print(f"{n:22s} {api.summary(n)}")
            return 0
        if args.command == "show":
            return _show(args.name)
        if args.command == "cache":
            return _cache(args)
        if args.command == "study":
            for opt in ("workers", "ranks"):
                if getattr(args, opt) < 1:
                    raise InputError(f"--{opt} {getattr(args, opt)} is out of range: must be >= 1")
            return study.command(args)
    except ValueError as exc:
        return _fail(EXIT_BAD_INPUT, str(exc).strip().splitlines()[0])
    return _run(args.name, args)


if __name__ == "__main__":
    sys.exit(main())
