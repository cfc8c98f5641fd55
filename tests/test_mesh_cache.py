"""Mesh cache (meshes/_cache.cached) and the timings block of result.json (issue 12).

A modulus sweep meshes once: the second case reads the cached mesh (``mesh.cache == "hit"``) in
a fraction of the first case's meshing time and gives the same figures as an uncached run; a
changed geometry parameter (or a changed surface file) is a miss with a different mesh, never
a stale one; a hit, from the stored layout of this rank count or from the stored gmsh arrays,
is the miss's mesh: the same cells, vertices, nodes, facets and tags on every rank.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mpi4py import MPI

import femcm
from femcm.base import runinfo
from femcm.meshes import disk_with_inclusion as disk
from femcm.meshes import dislocation_square as square
from femcm.meshes import plate_with_inclusions as plate
from femcm.meshes import quarter_annulus as annulus
from femcm.meshes import spallation_block as block

COARSE = {"mesh_size": 20e-6, "mesh_size_inclusion": 4e-6}
COMM = MPI.COMM_WORLD


def _builder(function, *args, **defaults):
    """``make(**changes)``: the builder on COMM_WORLD with these defaults, some changed."""
    return lambda **changes: function(COMM, *args, **{**defaults, **changes})


BUILDERS = {
    "plate": _builder(plate.plate_with_inclusions, **COARSE),
    "annulus_p2": _builder(annulus.quarter_annulus, a=0.1, b=0.2, h=0.02),
    "disk": _builder(disk.disk_with_inclusion, r_out=20.0, r_in=1.0, h_in=0.2, h_out=4.0),
    "square": _builder(square.dislocation_square, 40e-9, [(0, 0)], [(-1, 0)], h_core=1e-9, h=5e-9),
    "block_3d": _builder(block.hemi_ellipsoid, radius=5e-6, depth=5e-6, h=10e-6, h_tip=3e-6),
}


@pytest.fixture
def cache(shared_tmp):
    folder = shared_tmp / "meshes"
    runinfo.set_mesh_cache(folder)
    yield folder
    runinfo.set_mesh_cache(None)


def built(make, **kw):
    """(cache state, the mesh's arrays on this rank) of one builder call."""
    runinfo.reset()
    data = make(**kw)
    msh = data.mesh
    top, tdim = msh.topology, msh.topology.dim
    top.create_connectivity(tdim - 1, 0)
    arrays = {
        "cells": top.connectivity(tdim, 0).array,
        "facets": top.connectivity(tdim - 1, 0).array,
        "original": np.asarray(top.original_cell_index),
        "x": msh.geometry.x,
        "dofmap": msh.geometry.dofmaps[0],
        "nodes": msh.geometry.input_global_indices,
        "vertex_ghosts": top.index_map(0).ghosts,
        "groups": np.array(sorted((k, g.dim, g.tag) for k, g in data.physical_groups.items())),
    }
    for name in ("cell_tags", "facet_tags"):
        tags = getattr(data, name)
        arrays[name] = np.concatenate([tags.indices, tags.values])
    return runinfo.notes()["mesh_cache"], arrays


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("name", BUILDERS)
def test_hit_is_the_miss_mesh(cache, name):
    make = BUILDERS[name]
    runinfo.set_mesh_cache("off")
    _, plain = built(make)
    runinfo.set_mesh_cache(cache)
    states = {}
    states["miss"], miss = built(make)
    states["hit"], hit = built(make)  # restored from this rank count's layout
    assert states == {"miss": "miss", "hit": "hit"}
    assert_same(plain, miss)
    assert_same(miss, hit)
    # without the layout of this rank count the hit distributes the stored gmsh arrays
    if COMM.rank == 0:
        for layout in cache.glob(f"*/layout-{COMM.size}"):
            shutil.rmtree(layout)
    COMM.barrier()
    state, replay = built(make)
    assert state == "hit"
    assert_same(miss, replay)
    assert len(list(cache.glob(f"*/layout-{COMM.size}"))) == 1  # stored again


def test_changed_geometry_misses(cache):
    """A changed geometry parameter of three builders: a miss and a different mesh."""
    for make, kw in (
        (BUILDERS["disk"], {"r_in": 1.5}),
        (BUILDERS["square"], {"h_core": 0.8e-9}),
        (BUILDERS["block_3d"], {"radius": 4e-6}),
    ):
        first = built(make)
        changed = built(make, **kw)
        again = built(make)
        assert [first[0], changed[0], again[0]] == ["miss", "miss", "hit"]
        assert COMM.allreduce(not np.array_equal(first[1]["x"], changed[1]["x"]), op=MPI.LOR)
        assert_same(first[1], again[1])


def test_changed_surface_file_misses(cache, shared_tmp):
    """closed_surface is keyed by the file's contents: a rewritten file is never stale."""
    stl = shared_tmp / "boss.stl"

    def write(radius):
        if COMM.rank == 0:
            block.write_boss_stl(stl, (10.0, 15.0, 0.0), radius, n=6)
        COMM.barrier()

    def mesh():
        return built(lambda: block.closed_surface(COMM, stl, 10e-6, 3e-6))

    write(5.0)
    first = mesh()
    write(6.0)
    second = mesh()
    assert [first[0], second[0], mesh()[0]] == ["miss", "miss", "hit"]
    assert COMM.allreduce(not np.array_equal(first[1]["x"], second[1]["x"]), op=MPI.LOR)


def test_damaged_entry_is_rebuilt(cache):
    make = BUILDERS["disk"]
    _, first = built(make)
    if COMM.rank == 0:
        for f in cache.glob("*/meta.json"):
            f.write_text("{not json")
    COMM.barrier()
    state, again = built(make)
    assert state == "miss"
    assert_same(first, again)


def test_modulus_sweep_reuses_mesh(cache, shared_tmp):
    first = femcm.run("inclusion_mechanics", out=shared_tmp / "a", E_230=100e9, **COARSE)
    second = femcm.run("inclusion_mechanics", out=shared_tmp / "b", E_230=200e9, **COARSE)
    assert first.mesh["cache"] == "miss" and second.mesh["cache"] == "hit"
    assert second.mesh["cells"] == first.mesh["cells"]
    # reading is cheaper than meshing (the < 5 % at scale: benchmarks/bench_mesh_cache.py)
    assert second.timings["mesh"] < 0.5 * first.timings["mesh"]
    doc = json.loads((shared_tmp / "b" / "result.json").read_text())
    assert doc["mesh"]["cache"] == "hit" and doc["timings"] == pytest.approx(second.timings)
    runinfo.set_mesh_cache("off")
    plain = femcm.run("inclusion_mechanics", E_230=200e9, **COARSE)
    assert plain.mesh["cache"] == "off"
    for k, v in plain.scalars.items():
        assert second.scalars[k] == pytest.approx(v, rel=1e-12, abs=1e-9), k


def test_changed_geometry_is_not_stale(cache):
    a = femcm.run("inclusion_mechanics", **COARSE)
    b = femcm.run("inclusion_mechanics", **{**COARSE, "mesh_size_inclusion": 5e-6})
    c = femcm.run("inclusion_mechanics", **{**COARSE, "li_thickness": 50e-6})
    assert [r.mesh["cache"] for r in (a, b, c)] == ["miss", "miss", "miss"]
    assert len({a.mesh["cells"], b.mesh["cells"], c.mesh["cells"]}) == 3
    assert femcm.run("inclusion_mechanics", **COARSE).mesh["cache"] == "hit"


def test_timings_block(cache):
    r = femcm.run("inclusion_mechanics", **COARSE)
    t = r.timings
    assert set(t) == {"mesh", "compile", "assemble", "solve", "output", "other", "total"}
    assert all(v >= 0 for v in t.values())
    assert t["mesh"] > 0 and t["assemble"] > 0 and t["solve"] > 0
    parts = sum(v for k, v in t.items() if k != "total")
    assert parts == pytest.approx(t["total"], rel=1e-3, abs=1e-3)
