"""PNG pictures of fields, rendered off-screen with pyvista on rank 0 (gathered from all ranks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from dolfinx import fem, plot

from femcm.fem.postprocess import low_order

__all__ = ["FIELD_UNITS", "FLOW_FIELDS", "save_png"]

FIELD_UNITS: dict[str, tuple[str, float]] = {
    "sigma_h": ("MPa", 1e-6),
    "von_mises": ("MPa", 1e-6),
    "sigma": ("MPa", 1e-6),
    "max_principal": ("MPa", 1e-6),
    "u": ("nm", 1e9),
    "phi": ("V", 1.0),
    "current_density": ("A/m²", 1.0),
    "c": ("1", 1.0),
    "mu": ("kJ/mol", 1e-3),
    "W": ("1/nm", 1e-9),
    "field_strength": ("V/m", 1.0),
}
"""Display unit and factor from SI for the colour bar of each field name of the public interface."""

FLOW_FIELDS = frozenset({"current_density"})
"""Vector fields drawn with streamlines by default (2D): their direction is the message."""


def _gather_grid(f: fem.Function):
    """Owned cells of a P1/DG0 field as (topology, cell types, points, point or cell values)."""
    V = f.function_space
    msh = V.mesh
    f = low_order(f)  # vertex data, or cell averages for discontinuous fields
    V = f.function_space
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
    arrows: bool = False,
    streamlines: bool | None = None,
    slice_normal: str | None = "x",
) -> None:
    """Render a scalar (or vector magnitude, optionally with arrows) field to ``path`` (PNG).

    Collective; only rank 0 renders. ``f`` must be P1 (vertex) or DG0 (cell) data.
    ``streamlines`` (2D vector fields; default: names in :data:`FLOW_FIELDS`) overlays
    white streamlines seeded evenly across the inflow side. 3D fields are shown on a cut
    through the middle normal to ``slice_normal`` (None: the outer surface, isometric).
    """
    data = _gather_grid(f)
    if data is None:
        return
    import pyvista as pv

    _quiet_vtk()
    pv.OFF_SCREEN = True
    topo, types, x, vals, cell_data = data
    extent = float(np.ptp(x, axis=0).max())
    length_unit, length_scale = next(
        (u, s)
        for u, s in (("nm", 1e-9), ("µm", 1e-6), ("mm", 1e-3), ("m", 1.0))
        if extent < 2000 * s
    )
    grid = pv.UnstructuredGrid(topo, types, x / length_scale)
    unit, factor = FIELD_UNITS.get(f.name, ("", 1.0))
    mag = factor * (np.linalg.norm(vals, axis=1) if vals.shape[1] > 1 else vals[:, 0])
    label = f"{title} [{unit}]" if unit else title
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
    sliced = is3d and slice_normal is not None
    if sliced:  # 3D: a cut through the middle, normal to slice_normal, inside the outline
        pl.add_mesh(grid.outline(), color="black")
    pl.add_mesh(
        grid.slice(normal=slice_normal) if sliced else grid,
        scalars=label,
        cmap=cmap,
        show_edges=False,
        scalar_bar_args={
            "title": label,
            "vertical": False,
            "position_x": 0.2,
            "position_y": 0.02,
            "width": 0.6,
            "title_font_size": 16,
            "label_font_size": 14,
        },
    )
    if arrows and not cell_data and vals.shape[1] > 1:
        step = max(1, len(x) // 400)
        sub = grid.extract_points(np.arange(0, len(x), step), adjacent_cells=False)
        scale = 0.05 * float(np.ptp(x[:, 0]) / length_scale) / max(float(mag.max()), 1e-300)
        pl.add_mesh(sub.glyph(orient="vec", scale="vec", factor=scale), color="white")
    if streamlines is None:
        streamlines = f.name in FLOW_FIELDS
    if streamlines and vals.shape[1] == 2 and not is3d:
        _add_streamlines(pl, grid, vals, cell_data)
    if sliced and slice_normal in ("x", "y", "z"):
        {"x": pl.view_yz, "y": pl.view_xz, "z": pl.view_xy}[slice_normal]()
    elif is3d:
        pl.view_isometric()
    else:
        pl.view_xy()
    pl.add_text(f"{title}   (lengths in {length_unit})", font_size=10)
    pl.show_axes()
    pl.screenshot(str(path))
    pl.close()


def _add_streamlines(pl, grid, vals: np.ndarray, cell_data: bool, n: int = 40) -> None:
    """Streamlines of a 2D vector field (vertex or cell data), drawn white on ``pl``.

    Seeds are ``n`` evenly spaced points just inside the upstream side of the bounding box
    (the side the mean flow enters through), integrated both ways; for a uniform inflow each
    line then carries the same flux.
    """
    flow = grid.copy(deep=False)
    vec = np.zeros((len(vals), 3))
    vec[:, :2] = vals
    if cell_data:
        flow.cell_data["flow"] = vec
        flow = flow.cell_data_to_point_data()
    else:
        flow.point_data["flow"] = vec
    mean = vec[:, :2].mean(axis=0)
    if not np.any(mean):
        return
    lo, hi = np.asarray(flow.bounds[0::2])[:2], np.asarray(flow.bounds[1::2])[:2]
    size = float(np.max(hi - lo))
    k = int(np.argmax(np.abs(mean)))
    along = 1 - k
    seeds = np.zeros((n, 3))
    seeds[:, along] = lo[along] + (np.arange(n) + 0.5) / n * (hi[along] - lo[along])
    seeds[:, k] = hi[k] - 1e-3 * size if mean[k] < 0 else lo[k] + 1e-3 * size
    lines = flow.streamlines_from_source(
        _polydata(seeds),
        vectors="flow",
        integration_direction="both",
        initial_step_length=0.2,
        step_unit="cl",
        max_length=10 * size,
        max_steps=20000,
        interpolator_type="cell",
    )
    if lines.n_points:
        pl.add_mesh(lines, color="white", line_width=1)


def _quiet_vtk() -> None:
    """Keep VTK's warnings off stderr; its errors still show.

    Off-screen rendering without an X server warns "bad X server connection" on every picture.
    """
    from vtkmodules.vtkCommonCore import vtkLogger

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)


def _polydata(points: np.ndarray):
    """Point cloud as pyvista PolyData (pyvista imported lazily)."""
    import pyvista as pv

    return pv.PolyData(points)
