"""Mesh cache (meshes/_gmsh.cached) and the timings block of result.json (issue 12).

A modulus sweep meshes once: the second case reads the cached mesh (``mesh.cache == "hit"``) in
a fraction of the first case's meshing time and gives the same figures as an uncached run; a
changed geometry parameter is a miss with a different mesh, never a stale one.
"""

from __future__ import annotations

import json

import pytest

import femcm
from femcm.base import runinfo

COARSE = {"mesh_size": 20e-6, "mesh_size_inclusion": 4e-6}


@pytest.fixture
def cache(shared_tmp):
    folder = shared_tmp / "meshes"
    runinfo.set_mesh_cache(folder)
    yield folder
    runinfo.set_mesh_cache(None)


def test_modulus_sweep_reuses_mesh(cache, shared_tmp):
    first = femcm.run("inclusion_mechanics", out=shared_tmp / "a", E_230=100e9, **COARSE)
    second = femcm.run("inclusion_mechanics", out=shared_tmp / "b", E_230=200e9, **COARSE)
    assert first.mesh["cache"] == "miss" and second.mesh["cache"] == "hit"
    assert second.mesh["cells"] == first.mesh["cells"]
    # reading is cheaper than meshing (the < 5 % at scale: benchmarks/bench_mesh_cache.py)
    assert second.timings["mesh"] < first.timings["mesh"]
    doc = json.loads((shared_tmp / "b" / "result.json").read_text())
    assert doc["mesh"]["cache"] == "hit" and doc["timings"] == pytest.approx(second.timings)
    runinfo.set_mesh_cache("off")
    plain = femcm.run("inclusion_mechanics", E_230=200e9, **COARSE)
    assert plain.mesh["cache"] == "off"
    for k, v in plain.scalars.items():
        assert second.scalars[k] == pytest.approx(v, rel=1e-8, abs=1e-6), k


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
