"""Scaling of every problem with the mesh, 1 and 2 ranks, and femcm against plain DOLFINx.

For each problem (``--problems a,b``; default all below), three mesh sizes about 4× apart in
DOFs, serial and on 2 ranks (``mpirun -n 2``), each case in its own process through
``femcm.run`` (``out=None``: no files, so disk I/O is not timed). Recorded per case: DOFs,
cells, Newton and linear iterations, the ``timings`` block (rank 0 wall s), the same phases in
CPU seconds summed over the ranks (:func:`femcm.app.timings.cpu_block`), the process wall
time, the peak RSS summed over the ranks, the mesh cache state and the load average before the
case. Meshing (gmsh, or reading the mesh cache or a mesh file) is taken out of every reported
time: wall by the ``mesh`` timing, CPU by timing the mesh builders in the child.

Reported times: ``cpu_s`` (CPU seconds of the whole run summed over the ranks; the machine is
shared by several agents, so wall times are stretched by the load, CPU times much less) is
the primary figure; ``wall_s`` = wall ``total − mesh`` is also given. Fits: the exponent p of
time ∝ DOFs^p (least squares on the logarithms), for CPU and wall, per problem and rank
count; the growth of time per DOF per 4× DOFs (from the fastest run of each case, and paired:
``--best-of N`` runs N rounds over all cases, and the median over the rounds of the growth
between adjacent levels of one round cancels the slow spells of the shared host); 2-rank
parallel efficiency T₁/(2 T₂) from wall times and CPU₁/CPU₂ (CPU summed over both ranks:
the extra work and MPI waiting of the parallel run, as the ranks spin while waiting).

Then ``inclusion_mechanics`` against ``benchmarks/plain_dolfinx.py`` (the same solve written
like the DOLFINx demos) on the same ``.msh`` files, femcm with ``mesh_file=``, serially,
alternating, ``--repeat`` times each, best of each (and the median of the pairs of runs
made one after the other): overhead = femcm / plain − 1 on everything but reading the mesh
(femcm also computes its reported figures, plain only the stresses), and on the solve alone
(assembly + preconditioner set-up + Krylov: femcm ``assemble + solve``, which includes
creating the matrix, against plain's ``LinearProblem.solve``, which does not), CPU and wall
seconds.

Time-dependent problems run a fixed number of fixed steps (see ``note`` in the JSON).

Writes ``benchmarks/results/scaling.json`` (``--json``) and ``scaling.png`` (time per DOF
against DOFs, one line per problem and rank count). Usage::

    python benchmarks/scaling.py [--quick] [--problems a,b] [--ranks 1 2] [--repeat 2]
                                 [--best-of N]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import PYTHON, clean_env, load_average, mpi, process_usage

HERE = Path(__file__).resolve().parent
ENV = clean_env(OMP_NUM_THREADS="1")


ITERATIVE = {"linear_solver": "iterative"}
FIXED_STEPS_CH = {
    "t_end": 0.001,
    "dt_initial": 0.0001,
    "dt_max": 0.0001,
    "rtol": 0.0,
    "atol": 0.0,
    "dt_grow": 1.0,
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """How to size one problem: ``level(k)`` gives the settings of level k (DOFs ~ 4^k)."""

    level: Callable[[int], dict]
    full: tuple[int, int, int] = (1, 2, 3)
    fixed: dict = dataclasses.field(default_factory=lambda: dict(ITERATIVE))
    note: str = ""
    quick: tuple[int, int, int] = (0, 1, 2)


def _plate(h0: float, hi0: float) -> Callable[[int], dict]:
    return lambda k: {"mesh_size": h0 / 2**k, "mesh_size_inclusion": hi0 / 2**k}


def _sizes(**base: float) -> Callable[[int], dict]:
    """Every size divided by 2 per level."""
    return lambda k: {name: h / 2**k for name, h in base.items()}


PROBLEMS: dict[str, Problem] = {
    "inclusion_mechanics": Problem(
        _plate(40e-6, 8e-6),
        full=(3, 4, 5),
        note="levels 3-5 (318 k, 1.25 M, 4.97 M DOFs): matrices (estimated 88 MB and up) larger "
        "than the 32 MiB L3 cache; level 2 (81 k DOFs, ~23 MB) is faster per DOF as much of it "
        "stays in the cache",
    ),
    "inclusion_potential": Problem(_plate(28e-6, 5.6e-6), full=(2, 3, 4)),
    "thick_cylinder": Problem(_sizes(mesh_size=400e-6), full=(4, 5, 6), quick=(2, 3, 4)),
    "pore_pressure": Problem(
        lambda k: {"mesh_size": 8e-6 / 4**k, "mesh_size_wall": 0.2e-6 / 4**k},
        note="sizes divided by 4 per level (the mesh is graded to the pore wall: DOFs ~ 1/h)",
    ),
    "ct_slice": Problem(
        lambda k: {
            "synthetic_width": 50 * 2**k,
            "synthetic_height": 40 * 2**k,
            "synthetic_electrode_rows": 3 * 2**k,
        },
        fixed={"physics": "mechanics", **ITERATIVE},
        note="synthetic image scaled with the pixel count (same layout, finer pixels)",
    ),
    "spallation_current": Problem(
        lambda k: {
            "mesh_size": 2e-6 * 4 ** ((2 - k) / 1.5),
            "mesh_size_tip": 0.25e-6 * 4 ** ((2 - k) / 1.5),
        },
        note="3D graded to the Li surface (DOFs ~ h^-1.5): sizes divided by 4^(1/1.5) per "
        "level; level 2 is the default mesh",
    ),
    "cahn_hilliard": Problem(
        _sizes(mesh_size=50e-9),
        fixed=FIXED_STEPS_CH,
        note="shortened: 10 fixed steps of 1e-4 s (t_end 1e-3 s) instead of the error-controlled "
        "run to 100 s; MUMPS (the default)",
    ),
    "edge_dislocation": Problem(
        lambda k: {
            "mesh_size": 8e-9 / 2**k,
            "mesh_size_cut": 1.2e-9 / 2**k,
            "mesh_size_core": min(2e-10, 0.8e-9 / 2**k),
        },
        fixed={"t_end": 3e-9, "dt_fixed": 1e-9},
        note="shortened: 3 fixed BDF2 steps of 1e-9 s instead of the adaptive run to 0.1 s "
        "(with 1e-8 s, the first step of a level-3 mesh, core size 1e-10 m, fails in Newton); "
        "MUMPS (the default); core size capped at a/4 (so the coarse levels are < 4x apart)",
    ),
}


# -- one case in its own process ---------------------------------------------------------------


def _time_mesh_builders() -> dict[str, float]:
    """Wrap every cached mesh builder of ``femcm.meshes`` to add up its CPU seconds.

    Done before the problem module is imported, so ``from femcm.meshes.x import f`` gets the
    wrapper too. Meshing (or reading the cache) is then taken out of the CPU time of a run.
    """
    import importlib
    import pkgutil

    import femcm.meshes as pkg
    from femcm.app.timings import timed

    spent = {"cpu": 0.0}

    def add(wall_s: float, cpu_s: float, _) -> None:
        spent["cpu"] += cpu_s

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for name, fn in list(vars(mod).items()):
            if callable(fn) and hasattr(fn, "__wrapped__") and fn.__module__ == mod.__name__:
                setattr(mod, name, timed(fn, add))
    return spent


def child_femcm(problem: str, settings: dict) -> dict:
    """Run one case through ``femcm.run`` in this process (all ranks of COMM_WORLD)."""
    from mpi4py import MPI

    from femcm.app.api import run
    from femcm.app.timings import cpu_block

    comm = MPI.COMM_WORLD
    meshing = _time_mesh_builders()
    t0 = time.perf_counter()
    r = run(problem, comm=comm, **settings)
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    cpu = cpu_block()
    cpu["mesh"] += meshing["cpu"]  # cached builders (gmsh, or reading the cache) + mesh files
    cpu["other"] -= meshing["cpu"]
    cpu = {k: round(comm.allreduce(v), 3) for k, v in cpu.items()}
    return {
        "dofs": r.mesh["dofs"],
        "cells": r.mesh["cells"],
        "mesh_cache": r.mesh.get("cache"),
        "newton_iterations": r.solver["newton_iterations"],
        "linear_iterations": r.solver["linear_iterations"],
        "time_steps": r.solver["time_steps"],
        "process_wall_s": round(wall, 3),
        "timings": r.timings,
        "cpu": cpu,
        "check": {k: r.scalars[k] for k in sorted(r.scalars)[:1]},
        **process_usage(comm),
    }


def child_plain(path: str, options: dict) -> dict:
    """Run ``plain_dolfinx.solve`` in this process."""
    import plain_dolfinx

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    r = plain_dolfinx.solve(path, comm, options)
    r["cpu"] = {k: round(comm.allreduce(v), 4) for k, v in r["cpu"].items()}
    return r | process_usage(comm)


def launch(kind: str, args: list, ranks: int) -> dict:
    """Run ``--child kind args`` under ``ranks`` ranks; its JSON (rank 0's last line)."""
    cmd = mpi([PYTHON, __file__, "--child", kind, *map(str, args)], ranks)
    load = load_average()
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=HERE)
    if out.returncode:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {out.returncode}: {tail}", "ranks": ranks, "load": load}
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]  # PETSc may add lines
    return json.loads(line) | {"ranks": ranks, "load": load}


def best(tries: list[dict]) -> dict:
    """The fastest run of a case by CPU time (its first error when none succeeded)."""
    good = [r for r in tries if "error" not in r]
    if not good:
        return tries[0]
    r = dict(min(good, key=lambda r: r["cpu_s"]))
    if len(tries) > 1:
        r["cpu_s_all"] = [t["cpu_s"] for t in good]
        r["wall_s_all"] = [t["wall_s"] for t in good]
    return r


def _run_once(problem: str, settings: dict, ranks: int) -> dict:
    r = launch("femcm", [problem, json.dumps(settings)], ranks)
    if "error" not in r:
        t = r["timings"]
        r["wall_s"] = round(t["total"] - t["mesh"], 3)
        r["cpu_s"] = round(r["cpu"]["total"] - r["cpu"]["mesh"], 3)
        r["us_per_dof_cpu"] = round(1e6 * r["cpu_s"] / r["dofs"], 3)
        r["us_per_dof_wall"] = round(1e6 * r["wall_s"] / r["dofs"], 3)
    return r | {"settings": settings}


# -- fits ----------------------------------------------------------------------------------------


def exponent(dofs: list[float], times: list[float]) -> float:
    """P of time ∝ DOFs^p, least squares on the logarithms."""
    return float(np.polyfit(np.log(dofs), np.log(times), 1)[0])


def paired_growth(rs: list[dict]) -> list[float | None]:
    """Per-4× growth of CPU time per DOF between adjacent levels, paired by round.

    The runs of one round are minutes apart, so a slow spell of the shared host cancels in
    their ratio: the median over the rounds (None for a level without rounds).
    """
    out: list[float | None] = []
    for a, b in itertools.pairwise(rs):
        ta, tb = a.get("cpu_s_all"), b.get("cpu_s_all")
        if not ta or not tb or len(ta) != len(tb):
            out.append(None)
            continue
        p = math.log(4) / math.log(b["dofs"] / a["dofs"])
        pairs = zip(ta, tb, strict=True)
        g = [((y / b["dofs"]) / (x / a["dofs"])) ** p - 1 for x, y in pairs]
        out.append(round(float(np.median(g)), 3))
    return out


def summarise(runs: list[dict]) -> dict:
    """Exponents, per-4× growth of time per DOF, parallel efficiencies, per problem."""
    out: dict[str, dict] = {}
    for problem in dict.fromkeys(r["problem"] for r in runs):
        mine = [r for r in runs if r["problem"] == problem and "error" not in r]
        s: dict = {}
        for ranks in sorted({r["ranks"] for r in mine}):
            rs = sorted((r for r in mine if r["ranks"] == ranks), key=lambda r: r["dofs"])
            if len(rs) < 2:
                continue
            d = [r["dofs"] for r in rs]
            growth = [
                (b["us_per_dof_cpu"] / a["us_per_dof_cpu"]) ** (math.log(4) / math.log(db / da)) - 1
                for a, b, da, db in zip(rs, rs[1:], d, d[1:], strict=False)
            ]
            s[f"{ranks}_ranks"] = {
                "dofs": d,
                "paired_growth_per_4x_dofs_cpu": paired_growth(rs),
                "exponent_cpu": round(exponent(d, [r["cpu_s"] for r in rs]), 3),
                "exponent_wall": round(exponent(d, [r["wall_s"] for r in rs]), 3),
                "us_per_dof_cpu": [r["us_per_dof_cpu"] for r in rs],
                "growth_per_4x_dofs_cpu": [round(g, 3) for g in growth],
            }
        one = {r["dofs"]: r for r in mine if r["ranks"] == 1}
        eff = {}
        for r in mine:
            if r["ranks"] == 2 and r["dofs"] in one:
                a = one[r["dofs"]]
                eff[str(r["dofs"])] = {
                    "wall": round(a["wall_s"] / (2 * r["wall_s"]), 3),
                    "cpu": round(a["cpu_s"] / r["cpu_s"], 3),
                }
        s["parallel_efficiency_2_ranks"] = eff
        out[problem] = s
    return out


# -- femcm against plain DOLFINx ---------------------------------------------------------------


def write_plate_msh(path: Path, h: float, hi: float) -> None:
    """The default plate (with its Li layer) at sizes h, hi, as a .msh file."""
    from mpi4py import MPI

    from femcm.meshes import plate_with_inclusions as plate
    from femcm.meshes._gmsh import session, write_msh

    with session("plate_with_inclusions", MPI.COMM_SELF):
        geometry = (600e-6, 600e-6, 100e-6, plate.DEFAULT_INCLUSIONS, h, hi)
        if hasattr(plate, "_Plate"):  # the builder's arguments as one record (newer meshes/)
            plate._build(plate._Plate(*geometry))
        else:
            plate._build(*geometry)
        write_msh(path, unit=1e-6)


def compare(levels: tuple[int, ...], repeat: int) -> list[dict]:
    """Femcm against plain_dolfinx.py on the same mesh files, serial, best of ``repeat``."""
    from femcm.solvers.options import linear_options

    options = linear_options("iterative", elasticity=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in levels:
            sizes = PROBLEMS["inclusion_mechanics"].level(k)
            msh = Path(tmp) / f"plate_{k}.msh"
            launch("msh", [msh, sizes["mesh_size"], sizes["mesh_size_inclusion"]], 1)
            settings = {"mesh_file": str(msh), "linear_solver": "iterative"}
            fem_runs, plain_runs = [], []
            for _ in range(repeat):
                fem_runs.append(launch("femcm", ["inclusion_mechanics", json.dumps(settings)], 1))
                plain_runs.append(launch("plain", [msh, json.dumps(options)], 1))
            rows.append(_overhead(k, fem_runs, plain_runs))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _overhead(k: int, fem_runs: list[dict], plain_runs: list[dict]) -> dict:
    """Best femcm and plain times without the mesh read; the ratio, CPU and wall."""
    for r in fem_runs + plain_runs:
        if "error" in r:
            return {"level": k, "error": r["error"]}

    def femcm_time(r, clock):
        t = r["timings"] if clock == "wall" else r["cpu"]
        return t["total"] - t["mesh"]  # the mesh file read

    def plain_time(r, clock):
        return sum(v for key, v in r[clock].items() if key != "mesh")

    out = {"level": k, "dofs": fem_runs[0]["dofs"]}
    for clock in ("cpu", "wall"):
        f = min(femcm_time(r, clock) for r in fem_runs)
        p = min(plain_time(r, clock) for r in plain_runs)
        out[clock] = {
            "femcm_s": round(f, 3),
            "plain_s": round(p, 3),
            "overhead": round(f / p - 1, 4),
        }
    for clock in ("cpu", "wall"):  # the solve alone: assembly + preconditioner + Krylov
        f = min(
            (r["timings"] if clock == "wall" else r["cpu"])["assemble"]
            + (r["timings"] if clock == "wall" else r["cpu"])["solve"]
            for r in fem_runs
        )
        p = min(r[clock]["solve"] for r in plain_runs)
        out[f"solve_{clock}"] = {
            "femcm_s": round(f, 3),
            "plain_s": round(p, 3),
            "overhead": round(f / p - 1, 4),
        }
    # paired: each femcm run against the plain run right after it (a slow spell of the shared
    # host hits both), the median over the pairs
    ratios = [
        femcm_time(f, "cpu") / plain_time(p, "cpu") - 1
        for f, p in zip(fem_runs, plain_runs, strict=True)
    ]
    out["paired_cpu_overhead"] = {
        "median": round(float(np.median(ratios)), 4),
        "pairs": [round(x, 4) for x in ratios],
    }
    best_f = min(fem_runs, key=lambda r: r["cpu"]["total"])
    best_p = min(plain_runs, key=lambda r: sum(r["cpu"].values()))
    out["femcm_cpu_phases"] = best_f["cpu"]
    out["femcm_timings"] = best_f["timings"]
    out["plain_cpu_phases"] = {k: round(v, 3) for k, v in best_p["cpu"].items()}
    out["plain_wall_phases"] = {k: round(v, 3) for k, v in best_p["wall"].items()}
    out["linear_iterations"] = {
        "femcm": best_f["linear_iterations"],
        "plain": best_p["linear_iterations"],
    }
    out["load"] = [r["load"][0] for r in fem_runs + plain_runs]
    return out


# -- plot and main ------------------------------------------------------------------------------


def plot(runs: list[dict], path: Path) -> None:
    """Time per DOF (CPU µs) against DOFs, one line per problem and rank count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for problem in dict.fromkeys(r["problem"] for r in runs):
        for ranks, style in ((1, "-o"), (2, "--s")):
            rs = sorted(
                (
                    r
                    for r in runs
                    if r["problem"] == problem and r["ranks"] == ranks and "dofs" in r
                ),
                key=lambda r: r["dofs"],
            )
            if rs:
                ax.loglog(
                    [r["dofs"] for r in rs],
                    [r["us_per_dof_cpu"] for r in rs],
                    style,
                    label=f"{problem}, {ranks} rank{'s' if ranks > 1 else ''}",
                )
    ax.set_xlabel("DOFs")
    ax.set_ylabel("CPU time per DOF, summed over ranks (µs)")
    ax.set_title("femcm: time per DOF (whole run without meshing)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    """Run the cases, fit, compare, write JSON and PNG."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (checks the script)")
    ap.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated names")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2, help="runs each for the comparison")
    ap.add_argument("--no-compare", action="store_true", help="skip femcm vs plain DOLFINx")
    ap.add_argument(
        "--best-of",
        type=int,
        default=1,
        help="rounds over all cases (levels and rank counts in turn); the fastest run kept",
    )
    ap.add_argument(
        "--merge", action="store_true", help="keep the runs of an existing JSON not run again"
    )
    ap.add_argument("--json", type=Path, default=None, help="default results/scaling.json")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args.child)
    name = "scaling_quick" if args.quick else "scaling"
    path = args.json or HERE / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "command": " ".join(sys.argv),
        "machine": {"cpus": os.cpu_count(), "shared_with_other_agents": True},
        "load_average_start": load_average(),
        "reported_time": "cpu_s: CPU seconds of the run summed over ranks, meshing excluded "
        "(primary); wall_s: rank-0 wall total - mesh",
        "notes": {p: PROBLEMS[p].note for p in PROBLEMS if PROBLEMS[p].note},
        "runs": [],
    }
    chosen = args.problems.split(",")
    if args.merge and path.exists():
        old = json.loads(path.read_text())
        doc["runs"] = [
            r
            for r in old.get("runs", [])
            if r["problem"] not in chosen or r["ranks"] not in args.ranks
        ]
        if (
            "inclusion_mechanics" not in chosen or args.no_compare
        ) and "femcm_vs_plain_dolfinx" in old:
            doc["femcm_vs_plain_dolfinx"] = old["femcm_vs_plain_dolfinx"]
    t_start = time.perf_counter()
    for problem in chosen:
        spec = PROBLEMS[problem]
        cases = [
            (k, ranks, spec.level(k) | spec.fixed)
            for k in (spec.quick if args.quick else spec.full)
            for ranks in args.ranks
        ]
        tries: dict[tuple[int, int], list[dict]] = {(k, ranks): [] for k, ranks, _ in cases}
        kept = list(doc["runs"])
        for round_ in range(args.best_of):  # rounds over all cases: a slow spell hits all
            for k, ranks, settings in cases:
                r = _run_once(problem, settings, ranks) | {"problem": problem, "level": k}
                tries[k, ranks].append(r)
                _print(r, f"round {round_ + 1}/{args.best_of}")
            doc["runs"] = kept + [
                best(t) | {"problem": problem, "level": k} for (k, _), t in tries.items()
            ]
            doc["summary"] = summarise(doc["runs"])
            path.write_text(json.dumps(doc, indent=1))
        if problem == "inclusion_mechanics" and not args.no_compare:
            levels = spec.quick[1:] if args.quick else spec.full[1:]
            doc["femcm_vs_plain_dolfinx"] = compare(levels, args.repeat)
            path.write_text(json.dumps(doc, indent=1))
    doc["summary"] = summarise(doc["runs"])
    doc["load_average_end"] = load_average()
    doc["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    path.write_text(json.dumps(doc, indent=1))
    png = path.with_suffix(".png")
    plot(doc["runs"], png)
    print(json.dumps(doc["summary"], indent=1))
    print(f"wrote {path} and {png}")
    return 0


def _print(r: dict, note: str = "") -> None:
    head = f"{r['problem']:20} L{r['level']} {r['ranks']}r"
    if "error" in r:
        print(f"{head}  ERROR {r['error']} {note}", flush=True)
        return
    print(
        f"{head} {r['dofs']:9d} dofs newton {r['newton_iterations']:4d} "
        f"lin {r['linear_iterations']:6d} cpu {r['cpu_s']:8.2f} s wall {r['wall_s']:8.2f} s "
        f"{r['us_per_dof_cpu']:7.2f} us/dof rss {r['rss_mb']:7.0f} MB load {r['load'][0]} {note}",
        flush=True,
    )


def _child(argv: list[str]) -> int:
    from mpi4py import MPI

    kind = argv[0]
    if kind == "femcm":
        r = child_femcm(argv[1], json.loads(argv[2]))
    elif kind == "plain":
        r = child_plain(argv[1], json.loads(argv[2]))
    else:  # "msh"
        write_plate_msh(Path(argv[1]), float(argv[2]), float(argv[3]))
        r = {}
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
