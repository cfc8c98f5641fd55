"""Command line: ``femcm list | show NAME | run NAME ... | study NAME ...``.

Bad input and failed solves end with a one-line message on stderr and a non-zero exit
(2: bad input, 3: failed solve); under MPI only rank 0 prints.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mpi4py import MPI

from femcm.app import api
from femcm.base.errors import InputError, SolveError
from femcm.base.log import configure

__all__ = ["main", "run_main", "run_parser"]

EXIT_BAD_INPUT = 2
EXIT_SOLVE_FAILED = 3


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
        "-v", "--verbose", action="count", default=0, help="progress on rank 0 (-v), debug (-vv)"
    )


def run_parser(name: str) -> argparse.ArgumentParser:
    """Parser of a problem script: ``python problems/NAME.py [--set K=V] [--out DIR] ...``."""
    p = argparse.ArgumentParser(prog=f"problems/{name}.py", description=api.summary(name))
    _add_run_options(p)
    return p


def _overrides(name: str, args: argparse.Namespace) -> dict[str, Any]:
    P = api.problem_module(name).Parameters
    values: dict[str, Any] = {}
    if args.config is not None:
        if not args.config.is_file():
            raise ValueError(f"config file {str(args.config)!r} does not exist")
        try:
            values.update(tomllib.loads(args.config.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config file {str(args.config)!r} is not valid TOML: {exc}") from None
    for item in args.sets:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r} must have the form KEY=VALUE")
        values[key.strip()] = P.parse_value(key.strip(), text)
    return values


def _fail(code: int, msg: str) -> int:
    if MPI.COMM_WORLD.rank == 0:
        print(f"femcm: error: {msg}", file=sys.stderr)
    return code


def _run(name: str, args: argparse.Namespace) -> int:
    configure(args.verbose)
    try:
        mod = api.problem_module(name)
        params = mod.Parameters.create(_overrides(name, args))
        out = args.out if args.out is not None else Path("results") / name
    except (ValueError, TypeError) as exc:
        return _fail(EXIT_BAD_INPUT, str(exc).splitlines()[0])
    try:
        res = api.run_module(mod, params, out=out, plot=args.plot)
    except (InputError, FileNotFoundError) as exc:
        return _fail(EXIT_BAD_INPUT, str(exc).splitlines()[0])
    except SolveError as exc:
        return _fail(EXIT_SOLVE_FAILED, str(exc).splitlines()[0])
    if MPI.COMM_WORLD.rank == 0:
        print(
            f"{name}: {res.mesh['cells']} cells, {res.mesh['dofs']} dofs, "
            f"{res.mesh['ranks']} rank(s), {res.solver['wall_time_s']:.2f} s -> {res.out}"
        )
        for k, v in res.scalars.items():
            print(f"  {k:40s} {v: .10g}")
    return 0


def run_main(name: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``problems/NAME.py``."""
    return _run(name, run_parser(name).parse_args(argv))


def _show(name: str) -> int:
    mod = api.problem_module(name)
    print(f"{name}: {api.summary(name)}")
    for key, info in mod.Parameters.info().items():
        print(f"  {key:24s} {info.default!s:>24} {info.unit:10s} {info.doc} [{info.allowed}]")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``femcm`` command."""
    parser = argparse.ArgumentParser(prog="femcm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list problems")
    s = sub.add_parser("show", help="show a problem's parameters")
    s.add_argument("name")
    r = sub.add_parser("run", help="run a problem")
    r.add_argument("name")
    _add_run_options(r)
    st = sub.add_parser("study", help="parameter study over a grid of values")
    st.add_argument("name")
    st.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...")
    st.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    st.add_argument("--out", type=Path)
    st.add_argument("--workers", type=int, default=1)
    st.add_argument("--ranks", type=int, default=1, help="MPI ranks per run")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for n in api.problems():
                print(f"{n:22s} {api.summary(n)}")
            return 0
        if args.command == "show":
            return _show(args.name)
        if args.command == "study":
            from femcm.app.study import study

            return study(args.name, args.vary, args.sets, args.out, args.workers, args.ranks)
    except ValueError as exc:
        return _fail(EXIT_BAD_INPUT, str(exc).splitlines()[0])
    return _run(args.name, args)


if __name__ == "__main__":
    sys.exit(main())
