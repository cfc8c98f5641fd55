"""Mesh cache and meshing: a miss (gmsh + conversion + store) against a hit, per mesh size.

    python benchmarks/bench_mesh_cache.py [--sizes 2e-6,0.5e-6] [--options] [--out FILE]
    mpirun -n 2 python benchmarks/bench_mesh_cache.py --sizes 2e-6,0.5e-6

For the ``plate_with_inclusions`` mesh of ``inclusion_mechanics`` (``mesh_size`` = 5 h,
``mesh_size_inclusion`` = h; h = 2e-6 is the default, 0.5e-6 gives ~1.25 M P2 DOFs) and a
fresh cache folder, per size:

- ``gmsh``, ``convert``, ``model_to_mesh``: gmsh meshing alone; femcm's conversion to DOLFINx
  (``to_dolfinx``) and DOLFINx's ``model_to_mesh`` on the same model (same mesh and tags);
- ``miss``: the cached builder on an empty cache (gmsh + conversion + storing);
- ``hit``: the second call (the stored layout of this rank count), ``hit_cpu`` its CPU seconds;
  ``replay``: a hit without that layout (the stored gmsh arrays distributed again);
- ``ratio`` = hit / miss, the issue's "< 5 %".

``--options`` adds gmsh's 2D options on the ~1 M-DOF mesh (algorithm 6 Frontal-Delaunay, 5
Delaunay, 8, 1 MeshAdapt; 2 threads; smoothing 0 and 3): seconds (wall and CPU), triangles,
quality γ and SICN (min and mean). Machine load changes wall times: compare CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import gmsh
import numpy as np
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.base import runinfo
from femcm.meshes import _gmsh
from femcm.meshes import plate_with_inclusions as plate

COMM = MPI.COMM_WORLD


def _plate(h: float) -> plate._Plate:
    return plate._Plate(600e-6, 600e-6, 100e-6, plate.DEFAULT_INCLUSIONS, 5 * h, h)


def _seconds(action) -> tuple[float, float, object]:
    """(wall seconds, max over ranks; CPU seconds of this rank; result) of ``action()``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = action()
    wall = COMM.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    return wall, time.process_time() - c0, out


def conversion(h: float) -> dict:
    """Time gmsh alone, then femcm's conversion and DOLFINx's model_to_mesh of the same model."""
    with _gmsh.session("plate_with_inclusions", COMM) as root:
        t_gmsh, _, _ = _seconds(lambda: plate._build(_plate(h)) if root else None)
        t_conv, _, _ = _seconds(lambda: _gmsh.to_dolfinx(COMM, 2, 1e-6))
        t_dolfinx, _, _ = _seconds(lambda: gmshio.model_to_mesh(gmsh.model, COMM, 0, gdim=2))
    return {"gmsh": t_gmsh, "convert": t_conv, "model_to_mesh": t_dolfinx}


def cache_times(h: float, folder: str) -> dict:
    """Miss, hit (layout) and replay (gmsh arrays) of the cached builder."""
    runinfo.set_mesh_cache(folder)
    row = {}

    def call():
        runinfo.reset()
        data = plate.plate_with_inclusions(COMM, mesh_size=5 * h, mesh_size_inclusion=h)
        return runinfo.notes()["mesh_cache"], data

    for name in ("miss", "hit", "replay"):
        if name == "replay" and COMM.rank == 0:
            for layout in list(Path(folder).glob("*/layout-*")):
                shutil.rmtree(layout)
        COMM.barrier()
        wall, cpu, (state, data) = _seconds(call)
        assert state == ("miss" if name == "miss" else "hit"), (name, state)
        row[name], row[f"{name}_cpu"] = wall, cpu
    row["cells"] = data.mesh.topology.index_map(2).size_global
    row["p2_dofs"] = p2_dofs(data)
    row["ratio"] = row["hit"] / row["miss"]
    return row


def p2_dofs(data) -> int:
    """Vector P2 DOFs of the mesh (vertices + edges, two components)."""
    top = data.mesh.topology
    top.create_entities(1)
    return 2 * (top.index_map(0).size_global + top.index_map(1).size_global)


def options(h: float) -> list[dict]:
    """Measure gmsh's 2D options on the plate (serial, rank 0 only)."""
    cases = [
        ({"Mesh.Algorithm": 6}, "6 Frontal-Delaunay (adopted)"),
        ({"Mesh.Algorithm": 5}, "5 Delaunay"),
        ({"Mesh.Algorithm": 8}, "8 Frontal-Delaunay for quads"),
        ({"Mesh.Algorithm": 1}, "1 MeshAdapt"),
        ({"General.NumThreads": 2, "Mesh.MaxNumThreads2D": 2}, "6, two threads"),
        ({"Mesh.Smoothing": 0}, "6, no smoothing"),
        ({"Mesh.Smoothing": 3}, "6, smoothing 3"),
    ]
    rows = []
    generate = gmsh.model.mesh.generate
    for settings, label in cases:

        def patched(dim, settings=settings):
            for k, v in settings.items():
                gmsh.option.setNumber(k, v)
            generate(dim)

        gmsh.model.mesh.generate = patched
        try:
            with _gmsh.session("plate_with_inclusions", MPI.COMM_SELF):
                wall, cpu, _ = _seconds(lambda: plate._build(_plate(h)))
                tags = np.concatenate(gmsh.model.mesh.getElements(2)[1])
                row = {"options": label, "wall": wall, "cpu": cpu, "triangles": len(tags)}
                for q in ("gamma", "minSICN"):
                    v = np.asarray(gmsh.model.mesh.getElementQualities(tags, q))
                    row[f"{q}_min"], row[f"{q}_mean"] = float(v.min()), float(v.mean())
        finally:
            gmsh.model.mesh.generate = generate
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    """Measure per size; print rows, write JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2e-6,0.5e-6", help="mesh_size_inclusion values (m)")
    ap.add_argument("--options", action="store_true", help="also gmsh's 2D options (serial)")
    ap.add_argument("--out", default="bench_mesh_cache.json")
    args = ap.parse_args()
    result = {"ranks": COMM.size, "sizes": [], "options": []}
    for h in (float(s) for s in args.sizes.split(",")):
        folder = COMM.bcast(tempfile.mkdtemp() if COMM.rank == 0 else None, root=0)
        try:
            row = {"h": h, **conversion(h), **cache_times(h, folder)}
        finally:
            if COMM.rank == 0:
                shutil.rmtree(folder, ignore_errors=True)
        result["sizes"].append(row)
        if COMM.rank == 0:
            rounded = {k: v if k == "h" else round(v, 4) for k, v in row.items()}
            print(json.dumps(rounded), flush=True)
    if args.options and COMM.size == 1:
        result["options"] = options(min(float(s) for s in args.sizes.split(",")))
    if COMM.rank == 0:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
