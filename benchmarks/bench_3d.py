"""Size, memory, time and iterations of ``spallation_current`` and ``pore_pressure``.

Cells, DOFs, peak memory, wall time and linear iterations of ``spallation_current`` (3D) and
``pore_pressure`` (axisymmetric) at default, fine and ~10⁶-DOF settings.

Each case runs in its own process (under ``mpirun -n R`` for R > 1 ranks) so that the peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, summed over the ranks) is that
case's alone. Usage: ``python benchmarks/bench_3d.py [--ranks 1 2] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

MPIRUN = Path(sys.executable).with_name("mpirun")

CASES: dict[str, tuple[str, dict]] = {
    "crack default": ("spallation_current", {}),
    "crack fine": ("spallation_current", {"mesh_size": 1.2e-6, "mesh_size_tip": 0.12e-6}),
    "crack 1e6": ("spallation_current", {"mesh_size": 0.62e-6, "mesh_size_tip": 0.1e-6}),
    "crack default direct": ("spallation_current", {"linear_solver": "direct"}),
    "pore default": ("pore_pressure", {}),
    "pore fine": ("pore_pressure", {"mesh_size": 0.5e-6, "mesh_size_wall": 0.01e-6}),
    "pore 1e6": ("pore_pressure", {"mesh_size": 0.06e-6, "mesh_size_wall": 0.01e-6}),
    "pore 1e6 iterative": (
        "pore_pressure",
        {"mesh_size": 0.06e-6, "mesh_size_wall": 0.01e-6, "linear_solver": "iterative"},
    ),
}
QUICK = ("crack default", "crack default direct", "pore default", "pore fine")


def child(problem: str, params: dict) -> None:
    """Run one case in this process and print one JSON line (rank 0)."""
    from mpi4py import MPI

    from femcm.app.api import run  # loads the DOLFINx provider first

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    res = run(problem, comm=comm, **params)
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    rss_mb = comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, op=MPI.SUM)
    if comm.rank == 0:
        keys = ("field_enhancement", "current_ratio", "li_pressure", "max_principal")
        print(
            json.dumps(
                {
                    "cells": res.mesh["cells"],
                    "dofs": res.mesh["dofs"],
                    "ranks": comm.size,
                    "wall_s": wall,
                    "solve_wall_s": res.solver["wall_time_s"],
                    "linear_iterations": res.solver["linear_iterations"],
                    "newton_iterations": res.solver["newton_iterations"],
                    "rss_mb": rss_mb,
                    **{k: res.scalars[k] for k in keys if k in res.scalars},
                }
            ),
            flush=True,
        )


def main() -> None:
    """Run the cases one per process and print a table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1])
    ap.add_argument("--quick", action="store_true", help="only the small cases")
    ap.add_argument("--case", nargs="+", default=None, help="case names (default: all)")
    ap.add_argument("--child", nargs=2, metavar=("PROBLEM", "JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return
    names = args.case or (QUICK if args.quick else list(CASES))
    print(
        f"{'case':22} {'ranks':>5} {'cells':>9} {'dofs':>9} {'wall s':>7} {'its':>5} "
        f"{'RSS MB':>7}  figure"
    )
    for name in names:
        problem, params = CASES[name]
        for ranks in args.ranks:
            cmd = [sys.executable, __file__, "--child", problem, json.dumps(params)]
            if ranks > 1:
                cmd = [str(MPIRUN), "-n", str(ranks), *cmd]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            fig = (
                f"E = {r['field_enhancement']:.4f}"
                if "field_enhancement" in r
                else f"p = {r['li_pressure'] / 1e6:.2f} MPa, s1 = {r['max_principal'] / 1e6:.2f}"
            )
            print(
                f"{name:22} {ranks:5d} {r['cells']:9d} {r['dofs']:9d} {r['wall_s']:7.1f} "
                f"{r['linear_iterations']:5d} {r['rss_mb']:7.0f}  {fig}",
                flush=True,
            )


if __name__ == "__main__":
    main()
