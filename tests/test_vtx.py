"""VTX (.bp) output holds higher-degree fields at full degree (1 and 2 ranks).

The ADIOS2 Python bindings are not in the wheel and VTK's pip wheel has no ADIOS2 reader, so
the files are checked from their layout: the BP4 folder (``md.idx``, ``md.0``, ``data.0``),
the VTK schema embedded in ``md.0`` naming the field, and the raw arrays in ``data.0``: this
rank's P2 node coordinates, its nodal values at every written time (2D vectors padded to 3
components, as VTX stores them) and its cells as 6-node VTK Lagrange triangles. A P1 field
(3 nodes per cell, vertex coordinates only) fails these byte checks.
"""

from __future__ import annotations

import numpy as np
import pytest
from dolfinx import fem, mesh

from femcm.app.output import Output
from femcm.app.vtx import VTXSeries, needs_vtx, vtx_fields, write_vtx

VTK_P2_TRIANGLE = [0, 1, 2, 5, 3, 4]
"""DOLFINx P2 triangle dofs (vertices, edges opposite 0, 1, 2) in VTK Lagrange order."""


def _padded(f: fem.Function) -> bytes:
    """Local nodal values (owned + ghost) as VTX writes them: float64, 2D vectors as 3D."""
    bs = f.function_space.dofmap.index_map_bs
    vals = f.x.array.reshape(-1, bs)
    if bs != 2:
        return vals.tobytes()
    out = np.zeros((len(vals), 3))
    out[:, :bs] = vals
    return out.tobytes()


def _check_bp(folder, f: fem.Function, snapshots: list[bytes]) -> None:
    assert {"md.idx", "md.0", "data.0"} <= {p.name for p in folder.iterdir()}
    md = (folder / "md.0").read_bytes()
    assert b"<VTKFile" in md and f'<DataArray Name="{f.name}" />'.encode() in md
    data = (folder / "data.0").read_bytes()
    V = f.function_space
    msh = V.mesh
    nodes = np.ascontiguousarray(V.tabulate_dof_coordinates()).tobytes()
    assert nodes in data, "P2 node coordinates missing"
    ncell = msh.topology.index_map(msh.topology.dim).size_local
    dofs = V.dofmap.list[:ncell][:, VTK_P2_TRIANGLE]
    conn = np.hstack([np.full((ncell, 1), 6), dofs]).astype(np.int64).tobytes()
    assert conn in data, "6-node Lagrange cells missing"
    for values in snapshots:
        assert values in data, "nodal values missing"


def test_vtx_holds_p2_field(comm, shared_tmp):
    msh = mesh.create_unit_square(comm, 6, 5)
    V = fem.functionspace(msh, ("Lagrange", 2, (2,)))
    u = fem.Function(V, name="u")
    u.interpolate(lambda x: np.vstack([np.sin(3 * x[0]) + x[1] ** 2, np.cos(2 * x[1]) * x[0]]))
    out = Output(shared_tmp / "run", comm)
    snapshots = []
    with VTXSeries(out, [u]) as series:
        for t in (0.0, 0.5):
            u.x.array[:] *= 1.0 + t
            snapshots.append(_padded(u))
            series.write(t)
    out.commit({"problem": "vtx"})
    folder = shared_tmp / "run" / "u.bp"
    comm.barrier()
    _check_bp(folder, u, snapshots)
    # More nodes than vertices: the file is not a P1 interpolation.
    nv = msh.topology.index_map(0).size_global
    assert V.dofmap.index_map.size_global > 3 * nv
    # The P1 copy that XDMF gets would fail the same check.
    P1 = fem.functionspace(msh, ("Lagrange", 1, (2,)))
    u1 = fem.Function(P1, name="u")
    u1.interpolate(u)
    data = (folder / "data.0").read_bytes()
    assert _padded(u1) not in data


def test_write_vtx_scalar_p2_and_dg1(comm, shared_tmp):
    msh = mesh.create_unit_square(comm, 4, 4)
    phi = fem.Function(fem.functionspace(msh, ("Lagrange", 2)), name="phi")
    phi.interpolate(lambda x: x[0] ** 2 - x[1])
    sigma = fem.Function(fem.functionspace(msh, ("DG", 1, (3, 3))), name="sigma")
    sigma.interpolate(lambda x: np.tile(x[0] + 2 * x[1], (9, 1)))
    out = Output(shared_tmp / "static", comm)
    write_vtx(out, {"phi": phi, "stress": sigma})  # file names from the keys
    out.commit({"problem": "vtx"})
    comm.barrier()
    _check_bp(shared_tmp / "static" / "phi.bp", phi, [_padded(phi)])
    data = (shared_tmp / "static" / "stress.bp" / "data.0").read_bytes()
    assert sigma.x.array.tobytes() in data  # 9 components stored as they are


def test_which_fields_get_vtx(comm):
    msh = mesh.create_unit_square(comm, 2, 2)

    def f(name, el):
        return fem.Function(fem.functionspace(msh, el), name=name)

    fields = {
        "u": f("u", ("Lagrange", 2, (2,))),
        "c": f("c", ("Lagrange", 1)),
        "phase": f("phase", ("DG", 0)),
        "sigma": f("sigma", ("DG", 1, (3, 3))),
    }
    assert list(vtx_fields(fields)) == ["u", "sigma"]
    assert not needs_vtx(fields["c"]) and needs_vtx(fields["u"])


def test_vtx_without_output_or_duplicate_names(comm, shared_tmp):
    msh = mesh.create_unit_square(comm, 2, 2)
    V = fem.functionspace(msh, ("Lagrange", 2))
    a, b = fem.Function(V, name="a"), fem.Function(V, name="a")
    write_vtx(None, [a])  # no output folder: nothing to do
    write_vtx(Output(None, comm), [a])
    out = Output(shared_tmp / "dup", comm)
    with pytest.raises(ValueError, match="distinct names"):
        VTXSeries(out, [a, b])
    out.abort()
    comm.barrier()  # rank 0 removes the staging folder; look only after it has
    assert not (shared_tmp / "dup").exists() or not any((shared_tmp / "dup").iterdir())


def test_run_writes_p2_displacement(comm, shared_tmp):
    import json

    import femcm

    out = shared_tmp / "im"
    res = femcm.run(
        "inclusion_mechanics", out=out, comm=comm, mesh_size=6e-5, mesh_size_inclusion=1.5e-5
    )
    u = res.fields["u"]
    assert u.function_space.ufl_element().embedded_superdegree == 2
    comm.barrier()
    _check_bp(out / "u.bp", u, [_padded(u)])
    files = json.loads((out / "result.json").read_text())["files"]
    assert {"u.bp", "fields.xdmf", "fields.h5"} <= set(files)
    assert "phase.bp" not in files  # DG0: exact in XDMF
