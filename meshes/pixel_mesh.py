"""Pixel-exact DOLFINx meshes from phase images, with named cell and facet tags (no gmsh).

Every kept pixel becomes one quadrilateral (or two triangles, split along the diagonal from
its lower left to its upper right corner); pixels with tag 0 are not meshed, so voids are
holes with traction-free, insulating surfaces. The mesh is built on rank 0 with
:func:`dolfinx.mesh.create_mesh` and distributed; the cell tags follow each cell through the
partitioner by its original index.

Coordinates: pixel (row i, column j) of an image with ``rows`` rows covers
``x ∈ [j h, (j+1) h]``, ``y ∈ [(rows−i−1) h, (rows−i) h]`` (row 0 at the top, y up), h the
pixel size in metres.

Facet tags (:data:`FACET_TAGS`): the exterior facets on the image frame are ``top``,
``bottom``, ``left`` and ``right``; every other exterior facet (the surface of a void or of a
removed fragment) is ``void``.

Floating fragments: :func:`spanning_solid` keeps the solid pixels (4-connected) that belong to
a component touching both the top and the bottom row of the image, i.e. the part that carries
the stack load and the current between the electrodes. A component that misses either row
would be a rigid-body mode of the elastic problem (singular) and carries no current, so it is
dropped and reported.

Run ``python -m femcm.meshes.pixel_mesh IMAGE OUT.xdmf`` to mesh a femcm-labelled image.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Sequence

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import basix.ufl
import numpy as np
from dolfinx import mesh

from mpi4py import MPI

from femcm.base.errors import InputError

__all__ = ["FACET_TAGS", "Fragments", "PixelMesh", "pixel_mesh", "spanning_solid"]

FACET_TAGS: dict[str, int] = {"top": 1, "bottom": 2, "left": 3, "right": 4, "void": 5}
"""Facet tag of each named boundary part."""

CELL_TYPES = ("quadrilateral", "triangle")


@dataclasses.dataclass(frozen=True)
class Fragments:
    """The 4-connected solid components of an image and which of them are kept."""

    keep: np.ndarray
    """Boolean image: solid pixel of a component touching the top and the bottom row."""
    components: int
    """Number of solid components."""
    dropped: int
    """Number of components dropped (touching at most one of the two rows)."""
    dropped_pixels: int
    """Solid pixels in the dropped components."""


def spanning_solid(solid: np.ndarray) -> Fragments:
    """Keep the solid components that connect the top row to the bottom row (see module doc)."""
    from scipy import ndimage

    labels, n = ndimage.label(solid)  # 4-connectivity: pixels sharing an edge
    spanning = np.intersect1d(labels[0][labels[0] > 0], labels[-1][labels[-1] > 0])
    keep = np.isin(labels, spanning) & solid
    return Fragments(
        keep=keep,
        components=int(n),
        dropped=int(n - len(spanning)),
        dropped_pixels=int(solid.sum() - keep.sum()),
    )


@dataclasses.dataclass
class PixelMesh:
    """A pixel mesh with its tags and the pixel of every local cell."""

    mesh: mesh.Mesh
    cell_tags: mesh.MeshTags
    """Cell tags: the value of the tag image at each cell's pixel."""
    facet_tags: mesh.MeshTags
    """Facet tags, :data:`FACET_TAGS`."""
    pixel: np.ndarray
    """Flat pixel index (row-major, row 0 at the top) of every local cell (owned and ghost)."""
    shape: tuple[int, int]
    """(rows, columns) of the image."""
    pixel_size: float
    """Pixel edge length (m)."""

    @property
    def width(self) -> float:
        """Image width (m)."""
        return self.shape[1] * self.pixel_size

    @property
    def height(self) -> float:
        """Image height (m)."""
        return self.shape[0] * self.pixel_size

    def cell_values(self, image: np.ndarray) -> np.ndarray:
        """Values of a per-pixel image (same on every rank) at every local cell."""
        return np.asarray(image).ravel()[self.pixel]

    # -- cell-wise reductions: one value per pixel, identical on any number of ranks --------

    def owned_tags(self) -> np.ndarray:
        """Cell tag of every owned cell."""
        n = self.mesh.topology.index_map(self.mesh.topology.dim).size_local
        tags = np.zeros(n, dtype=np.int32)
        owned = self.cell_tags.indices < n
        tags[self.cell_tags.indices[owned]] = self.cell_tags.values[owned]
        return tags

    def cell_max(self, values: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
        """Global max of owned-cell ``values`` over ``mask`` and the pixel centre (m) of it.

        Ties go to the lowest pixel index, so the location is the same on any number of ranks.
        """
        n = len(values)
        sel = np.flatnonzero(mask[:n])
        if len(sel):
            k = sel[np.lexsort((self.pixel[sel], -values[sel]))[0]]
            best = (float(values[k]), -int(self.pixel[k]))
        else:
            best = (-math.inf, 0)
        top = max(self.mesh.comm.allgather(best))
        if not math.isfinite(top[0]):
            return math.nan, np.full(2, math.nan)
        i, j = divmod(-top[1], self.shape[1])
        h = self.pixel_size
        return top[0], np.array([(j + 0.5) * h, (self.shape[0] - i - 0.5) * h])

    def first_bottom_x(self) -> float:
        """Abscissa (m) of the lower-left corner of the first solid pixel of the bottom row."""
        rows, cols = self.shape
        n = self.mesh.topology.index_map(self.mesh.topology.dim).size_local
        i, j = np.divmod(self.pixel[:n], cols)
        local = j[i == rows - 1]
        first = self.mesh.comm.allreduce(int(local.min()) if len(local) else cols, op=MPI.MIN)
        return first * self.pixel_size


def pixel_mesh(
    comm: MPI.Comm,
    tags: np.ndarray | None,
    pixel_size: float,
    cell_type: str = "quadrilateral",
    root: int = 0,
) -> PixelMesh:
    """Mesh the pixels of a tag image whose value is > 0, each cell tagged with that value.

    Args:
        comm: communicator of the mesh.
        tags: 2D integer image (row 0 at the top), significant on ``root`` only; 0 = no cell.
        pixel_size: pixel edge length (m).
        cell_type: ``"quadrilateral"`` (one cell per pixel) or ``"triangle"`` (two).
        root: the rank that holds the image and builds the mesh.
    """
    if cell_type not in CELL_TYPES:
        raise InputError(f"parameter cell_type = {cell_type!r} must be one of {CELL_TYPES}")
    if not pixel_size > 0:
        raise InputError(f"parameter pixel_size = {pixel_size!r} must be > 0")
    if comm.rank == root:
        tags = np.asarray(tags)
        if tags.ndim != 2 or not np.issubdtype(tags.dtype, np.integer):
            raise InputError(f"tag image must be a 2D integer array, got {tags.dtype} {tags.shape}")
        shape = tags.shape
        rows, cols = np.nonzero(tags > 0)
        pixel = (rows * shape[1] + cols).astype(np.int64)
        cell_tag = tags[rows, cols].astype(np.int32)
        cells, x = _cells_and_vertices(shape, rows, cols, pixel_size, cell_type)
        per_pixel = 1 if cell_type == "quadrilateral" else 2
        pixel = np.repeat(pixel, per_pixel)
        cell_tag = np.repeat(cell_tag, per_pixel)
        info = (shape, len(pixel))
    else:
        info = None
    shape, ncells = comm.bcast(info, root=root)
    if ncells == 0:
        raise InputError("tag image has no cells (every pixel is 0)")
    nv = 4 if cell_type == "quadrilateral" else 3
    if comm.rank != root:
        cells, x = np.zeros((0, nv), dtype=np.int64), np.zeros((0, 2))
        pixel, cell_tag = np.zeros(ncells, np.int64), np.zeros(ncells, np.int32)
    comm.Bcast(pixel, root=root)
    comm.Bcast(cell_tag, root=root)

    element = basix.ufl.element("Lagrange", cell_type, 1, shape=(2,))
    msh = mesh.create_mesh(comm, cells, element, x)
    tdim = msh.topology.dim
    original = np.asarray(msh.topology.original_cell_index, dtype=np.int64)
    local = np.arange(len(original), dtype=np.int32)
    cell_tags = mesh.meshtags(msh, tdim, local, cell_tag[original])
    facet_tags = _facet_tags(msh, shape, pixel_size)
    return PixelMesh(msh, cell_tags, facet_tags, pixel[original], tuple(shape), pixel_size)


def _cells_and_vertices(
    shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, h: float, cell_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """Cell→vertex array and coordinates of the used pixel corners (numbered compactly)."""
    stride = shape[1] + 1  # vertex (i, j) = corner above-left of pixel (i, j)
    tl = rows * stride + cols
    tr, bl, br = tl + 1, tl + stride, tl + stride + 1
    if cell_type == "quadrilateral":  # DOLFINx tensor-product order: (0,0), (1,0), (0,1), (1,1)
        corners = np.stack([bl, br, tl, tr], axis=1)
    else:
        corners = np.stack([bl, br, tr, bl, tr, tl], axis=1).reshape(-1, 3)
    used, cells = np.unique(corners, return_inverse=True)
    vi, vj = np.divmod(used, stride)
    x = np.stack([vj * h, (shape[0] - vi) * h], axis=1).astype(np.float64)
    return cells.reshape(corners.shape).astype(np.int64), x


def _facet_tags(msh: mesh.Mesh, shape: tuple[int, int], h: float) -> mesh.MeshTags:
    """Exterior facets on the image frame by side, every other exterior facet ``void``."""
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    facets = mesh.exterior_facet_indices(msh.topology)
    mid = mesh.compute_midpoints(msh, tdim - 1, facets)
    width, height, tol = shape[1] * h, shape[0] * h, 0.25 * h
    values = np.full(len(facets), FACET_TAGS["void"], dtype=np.int32)
    values[np.abs(mid[:, 0]) < tol] = FACET_TAGS["left"]
    values[np.abs(mid[:, 0] - width) < tol] = FACET_TAGS["right"]
    values[np.abs(mid[:, 1]) < tol] = FACET_TAGS["bottom"]
    values[np.abs(mid[:, 1] - height) < tol] = FACET_TAGS["top"]
    return mesh.meshtags(msh, tdim - 1, facets.astype(np.int32), values)


def main(argv: Sequence[str] | None = None) -> int:
    """Mesh a femcm-labelled image (0 void, 1 electrolyte, 2 Li) and write XDMF."""
    from dolfinx import io

    from femcm.meshes.images import phase_image, read_image

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        usage = "usage: python -m femcm.meshes.pixel_mesh IMAGE OUT.xdmf [PIXEL_SIZE]"
        print(usage, file=sys.stderr)
        return 2
    comm = MPI.COMM_WORLD
    size = float(args[2]) if len(args) == 3 else 0.8e-6
    tags = None
    if comm.rank == 0:
        phases = phase_image(read_image(args[0]), _default_labels())
        tags = np.where(spanning_solid(phases > 0).keep, phases, 0)
    pm = pixel_mesh(comm, tags, size)
    with io.XDMFFile(comm, args[1], "w") as f:
        f.write_mesh(pm.mesh)
        f.write_meshtags(pm.cell_tags, pm.mesh.geometry)
        pm.mesh.topology.create_connectivity(1, 2)
        f.write_meshtags(pm.facet_tags, pm.mesh.geometry)
    return 0


def _default_labels():
    from femcm.meshes.images import LabelMap

    return LabelMap()


if __name__ == "__main__":
    sys.exit(main())
