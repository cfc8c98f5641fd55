"""Per-phase (cell-tag) piecewise-constant fields."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
from dolfinx import fem, mesh

__all__ = ["cells_of", "indicator", "piecewise_constant"]


def cells_of(cell_tags: mesh.MeshTags, tag: int) -> np.ndarray:
    """Local cells (owned and ghost) carrying ``tag``."""
    return cell_tags.find(tag)


def piecewise_constant(
    msh: mesh.Mesh,
    cell_tags: mesh.MeshTags | None,
    values: Mapping[int, float | np.ndarray],
    shape: tuple[int, ...] = (),
    name: str = "phase_value",
) -> fem.Function:
    """DG0 function equal to ``values[tag]`` on the cells of each tag.

    With ``cell_tags=None`` the mapping must have one entry, used everywhere. Every local cell
    must be covered by a tag present in ``values``.
    """
    V = fem.functionspace(msh, ("DG", 0, shape))
    f = fem.Function(V, name=name)
    bs = int(np.prod(shape)) if shape else 1
    arr = f.x.array.reshape(-1, bs)
    ncells = msh.topology.index_map(msh.topology.dim)
    covered = np.zeros(ncells.size_local + ncells.num_ghosts, dtype=bool)
    for tag, value in values.items():
        if cell_tags is None:
            cells = np.arange(covered.size, dtype=np.int32)
        else:
            cells = cells_of(cell_tags, tag)
        dofs = V.dofmap.list[cells, 0]
        arr[dofs] = np.asarray(value, dtype=float).reshape(bs)
        covered[cells] = True
    if not covered.all():
        missing = set(np.unique(cell_tags.values)) - set(values) if cell_tags else set()
        raise ValueError(f"{name}: cells without a value (tags {sorted(missing)})")
    return f


def indicator(
    msh: mesh.Mesh, cell_tags: mesh.MeshTags, tags: Collection[int], name: str = "indicator"
) -> fem.Function:
    """DG0 function: 1 on the cells carrying one of ``tags``, 0 elsewhere."""
    local = np.unique(cell_tags.values).tolist()  # the tags this rank's cells carry
    return piecewise_constant(
        msh, cell_tags, {t: (1.0 if t in tags else 0.0) for t in local}, name=name
    )
