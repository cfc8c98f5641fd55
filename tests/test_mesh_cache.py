"""Mesh cache (meshes/_cache.cached) and the timings block of result.json (issue 12).

A modulus sweep meshes once: the second case reads the cached mesh (``mesh.cache == "hit"``) in
a fraction of the first case's meshing time and gives the same figures as an uncached run; a
changed geometry parameter (or a changed surface file) is a miss with a different mesh, never
a stale one; a hit, from the stored layout of this rank count or from the stored gmsh arrays,
is the miss's mesh: the same cells, vertices, nodes, facets and tags on every rank.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from mpi4py import MPI

import femcm
from femcm.base import mesh_cache, runinfo
from femcm.base.errors import InputError
from femcm.meshes import _cache
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


def test_key_covers_imported_mesh_modules(tmp_path):
    """A builder's key hashes the sibling modules it imports: editing one is never stale."""
    names = [p.name for p in _cache._sources(Path(block.__file__))]
    assert names == ["spallation_block.py", "spallation_crack.py", "surface_files.py"]
    (tmp_path / "a.py").write_text("import numpy\nfrom femcm.meshes.b import f\n")
    (tmp_path / "b.py").write_text("from femcm.meshes import c\nf = 1\n")
    (tmp_path / "c.py").write_text("g = 2\n")
    found = _cache._sources(tmp_path / "a.py")
    assert [p.name for p in found] == ["a.py", "b.py", "c.py"]
    before = [_cache._sha(p) for p in found]
    (tmp_path / "c.py").write_text("g = 3\n")
    assert [_cache._sha(p) for p in found] != before


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


# --- size limit, pruning, `femcm cache` ------------------------------------------------------

LIMIT = "FEMCM_MESH_CACHE_MB"


def _on_root(action):
    """``action()`` on rank 0 only, its result on every rank."""
    result = action() if COMM.rank == 0 else None
    COMM.barrier()
    return COMM.bcast(result, root=0)


def _set_limit(monkeypatch, nbytes: int) -> None:
    monkeypatch.setenv(LIMIT, repr(nbytes / 2**20))  # exact: a power of two divides


def _sizes(cache) -> dict[str, int]:
    """Entry name -> size in bytes (as rank 0 sees the folder)."""
    return _on_root(lambda: {e.path.name: e.size for e in mesh_cache.entries(cache)})


def _entries_by_radius(cache, radii) -> dict[float, str]:
    """Build one disk mesh per inner radius; radius -> the name of its new entry."""
    names = {}
    for r in radii:
        before = set(_sizes(cache))
        assert built(BUILDERS["disk"], r_in=r)[0] == "miss"
        (names[r],) = set(_sizes(cache)) - before
    return names


def _age(cache, ages: dict[str, float]) -> None:
    """Set the entries' last use to ``now - seconds``."""
    now = time.time()
    _on_root(lambda: [os.utime(cache / n, (now - s, now - s)) for n, s in ages.items()])


def _forget(cache, name: str) -> None:
    assert _on_root(lambda: mesh_cache.discard(cache / name))


def test_limit_prunes_least_recently_used(cache, monkeypatch):
    """Over the limit, the oldest entries go first, exactly as many as needed; a hit makes an
    entry young again (the next oldest goes instead)."""
    a, b, c, d, e = _entries_by_radius(cache, (1.0, 1.2, 1.4, 1.6, 1.8)).values()
    size = _sizes(cache)
    for name in (d, e):  # built again below, under the limit
        _forget(cache, name)
    _age(cache, {a: 300, b: 200, c: 100})
    _set_limit(monkeypatch, size[b] + size[c] + size[d])
    assert built(BUILDERS["disk"], r_in=1.6)[0] == "miss"
    assert set(_sizes(cache)) == {b, c, d}  # a (the oldest) removed: the rest fits exactly
    assert _sizes(cache) == {k: size[k] for k in (b, c, d)}
    _age(cache, {b: 300, c: 200, d: 100})
    assert built(BUILDERS["disk"], r_in=1.2)[0] == "hit"  # b is now the youngest
    _set_limit(monkeypatch, size[b] + size[d] + size[e])
    assert built(BUILDERS["disk"], r_in=1.8)[0] == "miss"
    assert set(_sizes(cache)) == {b, d, e}  # c went, not the older-but-used b
    assert not _on_root(lambda: [p.name for p in cache.glob(".*")])  # no trash left


def test_entry_in_use_is_kept(cache, monkeypatch):
    """A limit below one entry's size keeps the entry just written (and reads it back)."""
    monkeypatch.setenv(LIMIT, "1e-6")  # 1 byte
    (a,) = _entries_by_radius(cache, (1.0,)).values()
    (b,) = _entries_by_radius(cache, (1.2,)).values()
    assert set(_sizes(cache)) == {b}
    assert built(BUILDERS["disk"], r_in=1.2)[0] == "hit"
    assert built(BUILDERS["disk"], r_in=1.0)[0] == "miss"  # a was pruned
    assert set(_sizes(cache)) == {a}


def test_limit_zero_disables(cache, monkeypatch):
    """FEMCM_MESH_CACHE_MB=0: no reads (an existing entry is not used, not touched), no writes."""
    (a,) = _entries_by_radius(cache, (1.0,)).values()
    _age(cache, {a: 500})
    used = _on_root(lambda: (cache / a).stat().st_mtime)
    monkeypatch.setenv(LIMIT, "0")
    assert runinfo.mesh_cache_dir() is None
    assert built(BUILDERS["disk"], r_in=1.0)[0] == "off"
    assert built(BUILDERS["disk"], r_in=1.2)[0] == "off"
    assert set(_sizes(cache)) == {a}
    assert _on_root(lambda: (cache / a).stat().st_mtime) == used


def test_default_limit(monkeypatch):
    monkeypatch.delenv(LIMIT, raising=False)
    assert runinfo.mesh_cache_limit() == 2 * 2**30
    monkeypatch.setenv(LIMIT, " 0.5 ")
    assert runinfo.mesh_cache_limit() == 2**19


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "2GB"])
def test_bad_limit_refused(cache, monkeypatch, value):
    monkeypatch.setenv(LIMIT, value)
    for call in (runinfo.mesh_cache_dir, BUILDERS["disk"]):
        with pytest.raises(InputError, match=r"FEMCM_MESH_CACHE_MB.* must be a number of MiB >= 0"):
            call()
    with pytest.raises(InputError) as info:
        runinfo.mesh_cache_limit()
    assert "\n" not in str(info.value)
    assert not _sizes(cache)


@pytest.mark.parametrize("when", ["layout", "arrays", "after_read"])
def test_vanished_entry_is_a_miss(cache, monkeypatch, when):
    """Another process removes the entry while this run reads it: before the layout or the gmsh
    arrays are read, a miss (the same mesh, stored again); after the arrays were read, the mesh
    is built from them and its layout is not stored into the vanished entry (no folder without
    meta.json left behind)."""
    make = BUILDERS["disk"]
    _, first = built(make)
    (name,) = _sizes(cache)
    if when != "layout":  # the read goes through the stored gmsh arrays
        _on_root(lambda: [shutil.rmtree(p) for p in cache.glob(f"{name}/layout-*")])
    read = _cache._read

    def removed_meanwhile(path):
        if COMM.rank == 0 and when != "after_read":
            mesh_cache.discard(cache / name)
        arrays = read(path)
        if COMM.rank == 0 and when == "after_read":
            mesh_cache.discard(cache / name)
        return arrays

    monkeypatch.setattr(_cache, "_read", removed_meanwhile)
    state, again = built(make)
    monkeypatch.setattr(_cache, "_read", read)
    assert state == ("hit" if when == "after_read" else "miss")
    assert_same(first, again)
    left = [] if when == "after_read" else [name]
    assert _on_root(lambda: sorted(p.name for p in cache.iterdir())) == left
    assert built(make)[0] == ("miss" if when == "after_read" else "hit")


def test_prune_plain_folders(tmp_path):
    """mesh_cache.prune on folders of known sizes and ages (per rank, no meshes)."""
    now = time.time()
    for i in range(5):
        (tmp_path / f"e{i}").mkdir()
        (tmp_path / f"e{i}" / "sub").mkdir()
        (tmp_path / f"e{i}" / "sub" / "x.npz").write_bytes(b"0" * 1000)
        os.utime(tmp_path / f"e{i}", (now - 100 + i, now - 100 + i))
    for name, age in ((".stale-write", 2 * mesh_cache.STALE_S), (".fresh-write", 1)):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))
    assert [e.size for e in mesh_cache.entries(tmp_path)] == [1000] * 5
    removed = mesh_cache.prune(tmp_path, 2500, keep=[tmp_path / "e0"])
    assert [e.path.name for e in removed] == ["e1", "e2", "e3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".fresh-write", "e0", "e4"]
    assert mesh_cache.prune(tmp_path, 2000) == []  # within the limit: nothing to do
    assert [e.path.name for e in mesh_cache.clear(tmp_path)] == ["e0", "e4"]
    assert mesh_cache.entries(tmp_path) == [] and mesh_cache.clear(tmp_path / "none") == []


@pytest.mark.serial
def test_cache_command(cache, monkeypatch, tmp_path):
    """``femcm cache`` reports folder, entries, size and limit; ``--clear`` empties the cache;
    a bad limit is one line on stderr and exit status 2."""
    _entries_by_radius(cache, (1.0, 1.2))
    size = sum(_sizes(cache).values())
    monkeypatch.setenv("FEMCM_MESH_CACHE", str(cache))
    monkeypatch.setenv(LIMIT, "1.5")
    r = run_cli(["cache"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"mesh cache: {cache}"
    assert lines[1].split() == ["entries", "2"]
    assert f"({size} bytes)" in lines[2]
    assert lines[3].split()[:3] == ["limit", "1.5", "MiB"]
    monkeypatch.setenv(LIMIT, "-1")
    r = run_cli(["cache"])
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and LIMIT in r.stderr
    monkeypatch.delenv(LIMIT)
    monkeypatch.setenv("FEMCM_MESH_CACHE", str(tmp_path / "elsewhere"))  # --mesh-cache wins
    r = run_cli(["cache", "--clear", "--mesh-cache", str(cache)])
    assert r.returncode == 0 and "removed 2 entries" in r.stdout, r.stderr
    assert not _sizes(cache) and cache.is_dir()


@pytest.mark.serial
@pytest.mark.parametrize("command", ["run", "study"])
def test_bad_limit_refused_before_start(monkeypatch, tmp_path, command):
    """A bad FEMCM_MESH_CACHE_MB ends ``femcm run``/``study`` before anything is written: one
    line naming it, exit status 2, no output or study folder (not one failed case per case)."""
    monkeypatch.setenv(LIMIT, "-5")
    out = tmp_path / "out"
    args = {"run": ["run", "inclusion_mechanics"], "study": [*VARY_PRESSURE]}[command]
    r = run_cli([*args, "--out", str(out)])
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert LIMIT in r.stderr and ">= 0" in r.stderr
    assert not out.exists()


VARY_PRESSURE = ("study", "inclusion_mechanics", "--vary", "pressure=1e6,2e6")
