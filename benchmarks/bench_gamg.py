"""GAMG option sets for the iterative solvers: CG iterations, solve time and time per DOF.

Each option set is merged over femcm's iterative options (:mod:`femcm.solvers.options`) for
one run of ``inclusion_mechanics`` (elasticity: CG + GAMG with the rigid-body near-nullspace)
or ``inclusion_potential`` (CG + GAMG in each Newton step) at the given mesh sizes, every run
in its own process. Reported: DOFs, linear iterations, the CPU seconds of the ``solve`` phase
(preconditioner set-up and Krylov iterations, summed over ranks; the machine is shared, so
wall seconds, also given, are stretched by the load), and the load average.

``python benchmarks/bench_gamg.py [--problem inclusion_mechanics] [--scales 1 2 4]
[--sets baseline thr02 ...] [--ranks 1] [--json FILE]`` (scale s: mesh sizes divided by s,
so DOFs grow about s²).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import PYTHON, clean_env, load_average, mpi, process_usage

SETS: dict[str, dict] = {
    "baseline": {},
    "thr01": {"pc_gamg_threshold": 0.01},
    "thr02": {"pc_gamg_threshold": 0.02},
    "thr05": {"pc_gamg_threshold": 0.05},
    "cheb3": {"mg_levels_ksp_max_it": 3},
    "sor": {"mg_levels_pc_type": "sor"},
    "noaggr": {"pc_gamg_aggressive_coarsening": 0},
    "thr02_cheb3": {"pc_gamg_threshold": 0.02, "mg_levels_ksp_max_it": 3},
    "thr01_noaggr": {"pc_gamg_threshold": 0.01, "pc_gamg_aggressive_coarsening": 0},
}
BASE = {"inclusion_mechanics": (10e-6, 2e-6), "inclusion_potential": (7e-6, 1.4e-6)}


def child(problem: str, scale: float, extra: dict) -> None:
    """One run in this process with ``extra`` merged into the iterative options."""
    from mpi4py import MPI

    import femcm.solvers.options as options
    from femcm.app.api import run
    from femcm.app.timings import cpu_block

    options._KRYLOV = {**options._KRYLOV, **extra}
    options._ELASTICITY_AMG = {**options._ELASTICITY_AMG, **extra}
    h, hi = BASE[problem]
    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    r = run(
        problem,
        comm=comm,
        mesh_size=h / scale,
        mesh_size_inclusion=hi / scale,
        linear_solver="iterative",
    )
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    cpu = {k: comm.allreduce(v) for k, v in cpu_block().items()}  # summed over ranks
    usage = process_usage(comm)
    if comm.rank == 0:
        key = "inclusion_0_von_mises_max" if "inclusion_0_von_mises_max" in r.scalars else None
        key = key or "cell_voltage"
        print(
            json.dumps(
                {
                    "dofs": r.mesh["dofs"],
                    "linear_iterations": r.solver["linear_iterations"],
                    "newton_iterations": r.solver["newton_iterations"],
                    "wall_s": wall,
                    "timings": r.timings,
                    "cpu": cpu,
                    key: r.scalars[key],
                    **usage,
                }
            )
        )


def main() -> None:
    """Run every set at every scale; print a table, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="inclusion_mechanics", choices=sorted(BASE))
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 2, 4])
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]), json.loads(args.child[2]))
        return
    rows = []
    print(f"{'set':14} {'dofs':>9} {'its':>5} {'solve s':>8} {'us/dof':>7} {'wall s':>7}  load")
    for scale in args.scales:
        for name in args.sets:
            cmd = [PYTHON, __file__, "--child", args.problem, str(scale), json.dumps(SETS[name])]
            load = load_average()
            out = subprocess.run(
                mpi(cmd, args.ranks), check=True, capture_output=True, text=True, env=clean_env()
            ).stdout
            r = json.loads([x for x in out.splitlines() if x.startswith("{")][-1])
            r |= {"set": name, "scale": scale, "ranks": args.ranks, "load": load}
            r["options"] = SETS[name]
            rows.append(r)
            solve = r["cpu"]["solve"]
            print(
                f"{name:14} {r['dofs']:9d} {r['linear_iterations']:5d} {solve:8.2f} "
                f"{1e6 * solve / r['dofs']:7.2f} {r['timings']['solve']:7.1f}  {load[0]}",
                flush=True,
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"problem": args.problem, "runs": rows}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
