"""Mesh cache: time of a cache miss (gmsh + conversion + store) vs a hit (read) per mesh size.

    python benchmarks/bench_mesh_cache.py [--sizes 2e-6,1e-6,0.8e-6] [--out bench_mesh_cache.json]

Builds ``plate_with_inclusions`` (the mesh of inclusion_mechanics) into a fresh cache folder,
then reads it back; prints cells, miss and hit seconds and their ratio; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from mpi4py import MPI

import femcm  # noqa: F401  (DOLFINx provider first)
from femcm.base import runinfo
from femcm.meshes.plate_with_inclusions import plate_with_inclusions


def main() -> None:
    """Measure miss and hit per size; print rows, write JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2e-6,1e-6,0.8e-6", help="mesh_size_inclusion values")
    ap.add_argument("--out", default="bench_mesh_cache.json")
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        runinfo.set_mesh_cache(folder)
        for h in (float(s) for s in args.sizes.split(",")):
            times = {}
            for _ in range(2):
                runinfo.reset()
                t0 = time.perf_counter()
                data = plate_with_inclusions(comm, mesh_size=5 * h, mesh_size_inclusion=h)
                times[runinfo.notes()["mesh_cache"]] = comm.allreduce(
                    time.perf_counter() - t0, op=MPI.MAX
                )
            cells = data.mesh.topology.index_map(2).size_global
            row = {"h": h, "cells": cells, "ranks": comm.size, **times}
            row["ratio"] = times["hit"] / times["miss"]
            rows.append(row)
            if comm.rank == 0:
                print(json.dumps(row), flush=True)
    if comm.rank == 0:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
