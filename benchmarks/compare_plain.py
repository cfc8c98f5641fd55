"""Femcm against plain DOLFINx scripts of the same algorithm: a time-dependent and a nonlinear case.

``cahn_hilliard`` (10 fixed steps, BDF2, Newton + MUMPS) against
``plain_dolfinx_cahn_hilliard.py``, and ``inclusion_potential`` (Butler–Volmer, Newton with
femcm's ``linear_options``) against ``plain_dolfinx_potential.py`` on the same ``.msh``
file, each at a default and a larger size. Femcm runs through ``femcm.run`` (``out=None``,
as ``benchmarks/scaling.py`` runs it). Every run is its own serial process; femcm and plain
alternate, ``--repeat`` times each, and the best (least CPU) of each is kept.

Times leave meshing out (``create_rectangle``, gmsh or the mesh cache, reading the ``.msh``):
``cpu`` / ``wall`` are the whole run without the mesh (femcm also computes all its reported
figures and fields, plain only the figures it is checked on), ``solve_cpu`` / ``solve_wall``
the Newton solves alone: assembly + linear solves (femcm's ``timings`` phases ``assemble +
solve``; the same hooks, :mod:`femcm.app.timings`, are installed in the plain process, so both
sides count the same DOLFINx calls). overhead = femcm / plain − 1. Answers: the figures and,
for ``cahn_hilliard``, the nodal c at the end, relative differences; Newton iterations.

Writes ``benchmarks/results/plain_compare.json`` (``--json``). Usage::

    python benchmarks/compare_plain.py [--repeat 3] [--quick] [--cases cahn_hilliard,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PYTHON, clean_env, load_average, process_usage

HERE = Path(__file__).resolve().parent
ENV = clean_env(OMP_NUM_THREADS="1")

CH_DT, CH_STEPS = 1e-4, 10
SIZES = {  # name: (label, parameters) per size; --quick takes the first (smaller) one only
    "cahn_hilliard": [
        ("default", {"mesh_size": 6.25e-9}),  # 51 842 DOFs
        ("large", {"mesh_size": 3.125e-9}),  # 206 082 DOFs
    ],
    "inclusion_potential": [
        ("default", {"mesh_size": 7e-6, "mesh_size_inclusion": 1.4e-6}),
        ("large", {"mesh_size": 3.5e-6, "mesh_size_inclusion": 0.7e-6}),
    ],
}
CHECKED = {
    "cahn_hilliard": (
        "free_energy_total",
        "free_energy_chemical",
        "free_energy_gradient",
        "c_integral",
    ),
    "inclusion_potential": (
        "cell_voltage",
        "current_density_mean",
        "overpotential_mean",
        "current_interface",
    ),
}


# -- children (one run each) --------------------------------------------------------------------


def child_femcm(problem: str, settings: dict, dump: str) -> dict:
    """``scaling.child_femcm`` (mesh builders timed out), ``create_rectangle`` as meshing too."""
    import dolfinx.mesh
    import scaling

    import femcm.app.api as api
    from femcm.app import timings

    kept = []
    run = api.run

    def keep(*args, **kwargs):
        kept.append(run(*args, **kwargs))
        return kept[-1]

    api.run = keep  # child_femcm imports it from the module when called
    dolfinx.mesh.create_rectangle = timings.timed(
        dolfinx.mesh.create_rectangle, timings._phase("mesh")
    )
    r = scaling.child_femcm(problem, settings)
    res = kept[-1]
    r["scalars"] = {k: res.scalars[k] for k in CHECKED[problem]}
    if "c" in res.fields:
        V = res.fields["c"].function_space
        n = V.dofmap.index_map.size_local
        import numpy as np

        np.save(dump, res.fields["c"].x.array[:n])
    return r


def child_plain(problem: str, args: list[str], dump: str) -> dict:
    """One plain run, with femcm's DOLFINx hooks installed for the phase split."""
    import numpy as np

    from mpi4py import MPI

    from femcm.app.timings import Stopwatch

    comm = MPI.COMM_WORLD
    watch = Stopwatch()
    if problem == "cahn_hilliard":
        import plain_dolfinx_cahn_hilliard as plain

        r = plain.solve(comm, float(args[0]), CH_DT, CH_STEPS)
        np.save(dump, r.pop("c"))
    else:
        import plain_dolfinx_potential as plain

        r = plain.solve(args[0], comm, json.loads(args[1]))
    r["timings"], r["cpu_phases"] = watch.block(), watch.cpu_block()
    return r | process_usage(comm)


def child_msh(path: str, mesh_size: float, mesh_size_inclusion: float) -> dict:
    """``inclusion_potential``'s plate (no Li layer) at these sizes, as a .msh file."""
    from mpi4py import MPI

    from femcm.meshes import plate_with_inclusions as plate
    from femcm.meshes._gmsh import session, write_msh
    from femcm.problem_scripts.inclusion_potential import Parameters

    p = Parameters(mesh_size=mesh_size, mesh_size_inclusion=mesh_size_inclusion)
    with session("plate_with_inclusions", MPI.COMM_SELF):
        geometry = (p.width, p.height, 0.0, p.inclusions, p.mesh_size, p.mesh_size_inclusion)
        plate._build(plate._Plate(*geometry))
        write_msh(Path(path), unit=1e-6)
    return {}


def launch(kind: str, args: list) -> dict:
    """Run ``--child kind args`` in its own serial process; its JSON (last line)."""
    cmd = [PYTHON, __file__, "--child", kind, *map(str, args)]
    load = load_average()
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=HERE)
    process_wall = time.perf_counter() - t0
    if out.returncode:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"{kind} {args}: exit {out.returncode}: {tail}")
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line) | {"load": load[0], "process_wall_s": round(process_wall, 2)}


# -- one case ------------------------------------------------------------------------------------


def femcm_times(r: dict) -> dict[str, float]:
    """Whole run without the mesh, and the solve alone (assembly + solves), CPU and wall."""
    cpu, wall = r["cpu"], r["timings"]
    return {
        "cpu": cpu["total"] - cpu["mesh"],
        "wall": wall["total"] - wall["mesh"],
        "solve_cpu": cpu["assemble"] + cpu["solve"],
        "solve_wall": wall["assemble"] + wall["solve"],
    }


def plain_times(r: dict) -> dict[str, float]:
    """The same figures of a plain run (its own clock for the whole, the hooks for the solve)."""
    cpu, wall = r["cpu_phases"], r["timings"]
    return {
        "cpu": sum(v for k, v in r["cpu"].items() if k != "mesh"),
        "wall": sum(v for k, v in r["wall"].items() if k != "mesh"),
        "solve_cpu": cpu["assemble"] + cpu["solve"],
        "solve_wall": wall["assemble"] + wall["solve"],
    }


def run_case(problem: str, label: str, params: dict, repeat: int, solver: str, tmp: Path) -> dict:
    """Femcm and plain alternately, ``repeat`` times each; best times, answers, overheads."""
    from femcm.solvers.nonlinear import NEWTON_DEFAULTS
    from femcm.solvers.options import linear_options

    dump_f, dump_p = tmp / "c_femcm.npy", tmp / "c_plain.npy"
    if problem == "cahn_hilliard":
        dt = CH_DT
        settings = params | {
            "t_end": CH_STEPS * dt,
            "dt_initial": dt,
            "dt_max": dt,
            "rtol": 0.0,
            "atol": 0.0,
            "dt_grow": 1.0,
        }
        plain_args = [params["mesh_size"]]
    else:
        msh = tmp / f"plate_{label}.msh"
        launch("msh", [msh, params["mesh_size"], params["mesh_size_inclusion"]])
        settings = params | {"linear_solver": solver}
        options = NEWTON_DEFAULTS | linear_options(solver)  # as femcm's NonlinearSolver
        if options["pc_type"] != "lu":
            options.pop("pc_factor_mat_solver_type")
        plain_args = [msh, json.dumps(options)]
    fem_runs, plain_runs = [], []
    for _ in range(repeat):
        fem_runs.append(launch("femcm", [problem, json.dumps(settings), dump_f]))
        plain_runs.append(launch("plain", [problem, *plain_args, dump_p]))
    f = min(fem_runs, key=lambda r: femcm_times(r)["cpu"])
    p = min(plain_runs, key=lambda r: plain_times(r)["cpu"])
    out: dict = {"problem": problem, "size": label, "settings": settings, "dofs": f["dofs"]}
    if p["dofs"] != f["dofs"]:
        out["dofs_plain"] = p["dofs"]
    out["newton_iterations"] = {"femcm": f["newton_iterations"], "plain": p["newton_iterations"]}
    if problem == "cahn_hilliard":
        out["newton_per_step_plain"] = p["newton_per_step"]
        out["time_steps"] = {"femcm": f["time_steps"], "plain": len(p["newton_per_step"])}
        out["linear_solver"] = "direct"
    else:
        out["linear_iterations"] = {
            "femcm": f["linear_iterations"],
            "plain": p["linear_iterations"],
        }
        out["linear_solver"] = solver
    out["answers"] = {
        k: {
            "femcm": f["scalars"][k],
            "plain": p["scalars"][k],
            "rel_diff": abs(f["scalars"][k] - p["scalars"][k]) / abs(p["scalars"][k]),
        }
        for k in CHECKED[problem]
    }
    if problem == "cahn_hilliard":
        import numpy as np

        cf, cp = np.load(dump_f), np.load(dump_p)
        out["answers"]["c_nodal_max_abs_diff"] = float(np.abs(cf - cp).max())
    tf = [femcm_times(r) for r in fem_runs]
    tp = [plain_times(r) for r in plain_runs]
    for key in ("cpu", "wall", "solve_cpu", "solve_wall"):
        bf, bp = min(t[key] for t in tf), min(t[key] for t in tp)
        out[key] = {
            "femcm_s": round(bf, 3),
            "plain_s": round(bp, 3),
            "overhead": round(bf / bp - 1, 4),
            "femcm_all_s": [round(t[key], 3) for t in tf],
            "plain_all_s": [round(t[key], 3) for t in tp],
        }
    out["femcm_cpu_phases"] = f["cpu"]
    out["femcm_timings"] = f["timings"]
    out["plain_cpu_phases"] = {k: round(v, 3) for k, v in p["cpu"].items()}
    out["plain_hook_cpu_phases"] = p["cpu_phases"]
    out["plain_wall_phases"] = {k: round(v, 3) for k, v in p["wall"].items()}
    out["rss_mb"] = {"femcm": f["rss_mb"], "plain": p["rss_mb"]}
    out["load"] = [r["load"] for r in fem_runs + plain_runs]
    return out


def _print(r: dict) -> None:
    worst = max(a["rel_diff"] for k, a in r["answers"].items() if isinstance(a, dict))
    print(
        f"{r['problem']:20} {r['size']:8} {r['dofs']:8d} dofs  newton {r['newton_iterations']}  "
        f"cpu {r['cpu']['femcm_s']:.2f}/{r['cpu']['plain_s']:.2f} s "
        f"({100 * r['cpu']['overhead']:+.1f} %)  solve {r['solve_cpu']['femcm_s']:.2f}/"
        f"{r['solve_cpu']['plain_s']:.2f} s ({100 * r['solve_cpu']['overhead']:+.1f} %)  "
        f"answers within {worst:.1e}",
        flush=True,
    )


def main() -> int:
    """Run the cases, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(SIZES), help="comma-separated problem names")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, the best kept")
    ap.add_argument("--quick", action="store_true", help="the default sizes only")
    ap.add_argument(
        "--linear-solver",
        default="direct",
        choices=("direct", "iterative"),
        help="inclusion_potential's linear solver (cahn_hilliard: MUMPS, its default)",
    )
    ap.add_argument("--json", type=Path, default=HERE / "results" / "plain_compare.json")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args.child)
    note = (
        "serial; femcm and plain alternate, best of --repeat each; meshing excluded; "
        "overhead = femcm / plain - 1; cpu/wall: whole run, solve_*: assembly + solves"
    )
    doc = dict(command=" ".join(sys.argv), note=note, load_average_start=load_average())
    doc |= {"machine": {"cpus": os.cpu_count(), "shared_with_other_agents": True}, "cases": []}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for problem in args.cases.split(","):
            for label, params in SIZES[problem][: 1 if args.quick else None]:
                r = run_case(problem, label, params, args.repeat, args.linear_solver, Path(tmp))
                doc["cases"].append(r)
                _print(r)
                args.json.write_text(json.dumps(doc, indent=1))
    doc["load_average_end"] = load_average()
    doc["elapsed_s"] = round(time.perf_counter() - t0, 1)
    args.json.write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.json}")
    return 0


def _child(argv: list[str]) -> int:
    """One child run; its JSON on the last line of stdout (serial)."""
    import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

    kind, rest = argv[0], argv[1:]
    runs = {
        "femcm": lambda: child_femcm(rest[0], json.loads(rest[1]), rest[2]),
        "plain": lambda: child_plain(rest[0], rest[1:-1], rest[-1]),
        "msh": lambda: child_msh(rest[0], float(rest[1]), float(rest[2])),
    }
    print(json.dumps(runs[kind]()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
