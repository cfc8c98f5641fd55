"""PNG pictures of fields, rendered off-screen with pyvista on rank 0 (gathered from all ranks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from dolfinx import fem, plot

__all__ = ["save_png"]


def _gather_grid(f: fem.Function):
    """Owned cells of a P1/DG0 field as (topology, cell types, points, point or cell values)."""
    V = f.function_space
    msh = V.mesh
    degree = V.ufl_element().embedded_superdegree
    if degree > 1 or (degree == 1 and V.ufl_element().discontinuous):
        P1 = fem.functionspace(msh, ("Lagrange", 1, f.ufl_shape))
        g = fem.Function(P1, name=f.name)
        g.interpolate(f)
        f, V = g, P1
    tdim = msh.topology.dim
    owned = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
    cell_data = V.ufl_element().embedded_superdegree == 0
    bs = V.dofmap.index_map_bs
    if cell_data:
        topo, types, x = plot.vtk_mesh(msh, tdim, owned)
        dofs = V.dofmap.list[owned, 0]
        vals = f.x.array.reshape(-1, bs)[dofs]
    else:
        topo, types, x = plot.vtk_mesh(V)
        ncell = len(types)
        per = topo.reshape(ncell, -1)[: len(owned)]
        topo, types = per.ravel(), types[: len(owned)]
        vals = f.x.array.reshape(-1, bs)
    parts = msh.comm.gather((topo, types, x, vals), root=0)
    if msh.comm.rank != 0:
        return None
    topos, typess, xs, valss, offset = [], [], [], [], 0
    for t, ty, xx, v in parts:
        t = t.reshape(len(ty), -1).copy()
        t[:, 1:] += offset
        topos.append(t.ravel())
        typess.append(ty)
        xs.append(xx)
        valss.append(v)
        offset += len(xx)
    return np.concatenate(topos), np.concatenate(typess), np.vstack(xs), np.vstack(valss), cell_data


def save_png(
    f: fem.Function,
    path: Path,
    title: str,
    *,
    cmap: str = "viridis",
    length_scale: float = 1e-6,
    length_unit: str = "µm",
    arrows: bool = False,
) -> None:
    """Render a scalar (or vector magnitude, optionally with arrows) field to ``path`` (PNG).

    Collective; only rank 0 renders. ``f`` must be P1 (vertex) or DG0 (cell) data.
    """
    data = _gather_grid(f)
    if data is None:
        return
    import pyvista as pv

    pv.OFF_SCREEN = True
    topo, types, x, vals, cell_data = data
    grid = pv.UnstructuredGrid(topo, types, x / length_scale)
    mag = np.linalg.norm(vals, axis=1) if vals.shape[1] > 1 else vals[:, 0]
    label = f"{title}"
    if cell_data:
        grid.cell_data[label] = mag
    else:
        grid.point_data[label] = mag
        if vals.shape[1] > 1 and arrows:
            vec = np.zeros((len(x), 3))
            vec[:, : vals.shape[1]] = vals
            grid.point_data["vec"] = vec
    is3d = np.ptp(x[:, 2]) > 0
    pl = pv.Plotter(off_screen=True, window_size=(1000, 800))
    pl.add_mesh(
        grid,
        scalars=label,
        cmap=cmap,
        show_edges=False,
        scalar_bar_args={"title": label, "vertical": True},
    )
    if arrows and not cell_data and vals.shape[1] > 1:
        step = max(1, len(x) // 400)
        sub = grid.extract_points(np.arange(0, len(x), step), adjacent_cells=False)
        scale = 0.05 * float(np.ptp(x[:, 0]) / length_scale) / max(float(mag.max()), 1e-300)
        pl.add_mesh(sub.glyph(orient="vec", scale="vec", factor=scale), color="white")
    if is3d:
        pl.view_isometric()
    else:
        pl.view_xy()
    pl.add_text(f"{title}   (lengths in {length_unit})", font_size=10)
    pl.show_axes()
    pl.screenshot(str(path))
    pl.close()
