"""What makes a problem module a runnable script: ``run``, ``parse_args`` and ``main``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from femcm.app import api, cli

__all__ = ["entry_points"]


def entry_points(module_name: str) -> tuple[Callable, Callable, Callable]:
    """``run``, ``parse_args`` and ``main`` of a problem script, from its ``NAME``.

    In ``problems/NAME.py``: ``run, parse_args, main = entry_points(__name__)``; the module
    works both imported (``femcm.problem_scripts.NAME``) and as a script under ``mpirun``.
    """
    mod = sys.modules[module_name]
    name = mod.NAME

    def run(out=None, comm=None, plot: bool = False, **params: Any):
        return api.run_module(mod, mod.Parameters.create(params), out, comm, plot)

    def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
        return cli.run_parser(name).parse_args(argv)

    def main(argv: Sequence[str] | None = None) -> int:
        return cli.run_main(name, argv)

    run.__doc__ = f"Run ``{name}``; the same as ``femcm.run({name!r}, out, comm, plot, ...)``."
    parse_args.__doc__ = f"Command-line options of ``problems/{name}.py``."
    main.__doc__ = f"``mpirun -n N python problems/{name}.py [--set K=V] [--out DIR] [--plot]``."
    return run, parse_args, main
