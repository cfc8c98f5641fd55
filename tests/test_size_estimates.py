"""Size guard of the mesh-based problems added last: estimates near the real mesh, absurd
sizes refused before meshing with one line naming the parameter."""

from __future__ import annotations

import pytest

import femcm
from femcm.app.api import problem_module
from femcm.base.errors import InputError


@pytest.mark.parametrize(
    ("name", "cells"),
    [("thick_cylinder", 2261), ("edge_dislocation", 12497), ("heterointerface", 21051)],
)
def test_estimate_near_the_default_mesh(name, cells):
    mod = problem_module(name)
    est = mod.estimate(mod.Parameters.create({}))
    assert est.cells == pytest.approx(cells, rel=0.25)  # measured default meshes


def test_estimate_of_a_run(comm):
    res = femcm.run("thick_cylinder", comm=comm, mesh_size=1e-4)
    mod = problem_module("thick_cylinder")
    est = mod.estimate(mod.Parameters.create({"mesh_size": 1e-4}))
    assert est.cells == pytest.approx(res.mesh["cells"], rel=0.25)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("thick_cylinder", "mesh_size"),
        ("edge_dislocation", "mesh_size_core"),
        ("heterointerface", "mesh_size_interface"),
    ],
)
def test_absurd_size_refused(comm, name, key):
    with pytest.raises(InputError, match=f"parameter {key} = 1e-14 gives about"):
        femcm.run(name, comm=comm, **{key: 1e-14})
