"""A gmsh mesh as arrays, and the two ways to turn arrays into a distributed DOLFINx mesh.

- **Input arrays** (rank 0): node coordinates, cells and the tagged lower-dimensional entities
  by gmsh node index, in gmsh's order, as :func:`extract` takes them from the gmsh model.
  :func:`distribute` makes the mesh from them on any number of ranks (DOLFINx's
  ``create_mesh``: partition, cell reordering, topology, geometry). Cell tags are read off by
  each cell's original index (no search); the other tags go through DOLFINx's
  ``distribute_entity_data``, as in ``dolfinx.io.gmsh.model_to_mesh``.
- **Layout arrays** (one set per rank): what :func:`distribute` made on this rank (index maps,
  cell-vertex connectivity, original cell indices, geometry dofmap and coordinates, tags as
  cell/local-entity pairs). :func:`restore` rebuilds exactly that mesh (same numbering of
  cells, vertices, nodes and facets, same tags) on the same number of ranks without
  partitioning or reordering: the fast path of a mesh-cache hit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dolfinx import cpp, default_real_type
from dolfinx import mesh as dmesh
from dolfinx.fem import coordinate_element
from dolfinx.graph import adjacencylist
from dolfinx.io import gmsh as gmshio
from dolfinx.io.utils import distribute_entity_data

from mpi4py import MPI

__all__ = ["distribute", "extract", "layout", "restore"]

TAG_NAMES = ("cell_tags", "facet_tags", "ridge_tags", "peak_tags")
"""Names of the tags by codimension, as in ``dolfinx.io.gmsh.MeshData``."""

Arrays = dict[str, np.ndarray]
Meta = dict[str, Any]


def extract(model, gdim: int, unit: float = 1.0) -> tuple[Meta, Arrays]:
    """Meta data and input arrays of the gmsh ``model`` (rank 0), coordinates times ``unit``.

    Raises RuntimeError (as ``model_to_mesh``) when the model has no physical groups or a cell
    of the highest dimension is not tagged exactly once.
    """
    x = gmshio.extract_geometry(model)[:, :gdim] * unit
    topologies, groups = gmshio.extract_topology_and_markers(model)
    if not groups:
        raise RuntimeError("No 'physical groups' in gmsh mesh. Cannot continue.")
    by_dim: dict[int, list[int]] = {}
    for element in topologies:
        by_dim.setdefault(model.mesh.getElementProperties(element)[1], []).append(element)
    tdim = max(by_dim)
    (cell_type,) = by_dim[tdim]  # one cell type (no mixed meshes)
    cells = topologies[cell_type]
    n_model = sum(len(t) for t in model.mesh.getElements(dim=tdim, tag=-1)[1])
    if len(cells["entity_tags"]) != n_model or len(np.unique(cells["entity_tags"])) != n_model:
        raise RuntimeError("All cells are expected to be tagged once")
    domain = gmshio.ufl_mesh(cell_type, gdim, dtype=default_real_type)
    nodes = domain.ufl_coordinate_element().basix_element.dim
    perm = gmshio.cell_perm_array(cpp.mesh.to_type(str(domain.ufl_cell())), nodes)
    arrays = {
        "x": np.ascontiguousarray(x, dtype=default_real_type),
        "cells": np.ascontiguousarray(np.asarray(cells["topology"], dtype=np.int64)[:, perm]),
        "values0": np.asarray(cells["cell_data"], dtype=np.int32),
    }
    meta: Meta = {"cell": int(cell_type), "gdim": gdim, "tdim": tdim, "tags": {}}
    for dim, elements in by_dim.items():
        if dim == tdim or len(elements) != 1:  # mixed entity types are not tagged (as DOLFINx)
            continue
        t = topologies[elements[0]]
        arrays[f"entities{dim}"] = np.asarray(t["topology"], dtype=np.int64)
        arrays[f"values{dim}"] = np.asarray(t["cell_data"], dtype=np.int32)
        meta["tags"][str(dim)] = int(arrays[f"entities{dim}"].shape[1])
    meta["groups"] = {name: [int(g.dim), int(g.tag)] for name, g in groups.items()}
    return meta, arrays


def _domain(meta: Meta):
    return gmshio.ufl_mesh(meta["cell"], meta["gdim"], dtype=default_real_type)


def _data(msh: dmesh.Mesh, tags: dict[int, dmesh.MeshTags], meta: Meta) -> gmshio.MeshData:
    tdim = msh.topology.dim
    named = {TAG_NAMES[tdim - d]: t for d, t in tags.items()}
    for name, t in named.items():
        t.name = name
    groups = {k: gmshio.PhysicalGroup(d, t) for k, (d, t) in meta["groups"].items()}
    return gmshio.MeshData(msh, *(named.get(n) for n in TAG_NAMES), physical_groups=groups)


def distribute(comm: MPI.Comm, meta: Meta, arrays: Arrays | None) -> gmshio.MeshData:
    """The distributed mesh with tags from the input arrays (held by rank 0; collective)."""
    domain = _domain(meta)
    gdim, nodes = meta["gdim"], domain.ufl_coordinate_element().basix_element.dim
    root = comm.rank == 0
    x = arrays["x"] if root else np.empty((0, gdim), dtype=default_real_type)
    cells = arrays["cells"] if root else np.empty((0, nodes), dtype=np.int64)
    msh = dmesh.create_mesh(comm, cells, domain, x)
    tdim = msh.topology.dim
    # cells: the tag of each local cell is the tag of its original (input) index
    values = comm.bcast(arrays["values0"] if root else None, root=0)
    original = np.asarray(msh.topology.original_cell_index)
    local = np.arange(len(original), dtype=np.int32)
    tags = {tdim: dmesh.meshtags(msh, tdim, local, values[original])}
    for key, width in meta["tags"].items():
        dim = int(key)
        ents = arrays[f"entities{dim}"] if root else np.empty((0, width), dtype=np.int64)
        vals = arrays[f"values{dim}"] if root else np.empty(0, dtype=np.int32)
        local_e, local_v = distribute_entity_data(msh, dim, ents, vals)
        msh.topology.create_connectivity(dim, tdim)
        tags[dim] = dmesh.meshtags_from_entities(
            msh, dim, adjacencylist(local_e), local_v.astype(np.int32, copy=False)
        )
    return _data(msh, tags, meta)


def _index_map(comm: MPI.Comm, a: Arrays, name: str):
    ghosts = np.ascontiguousarray(a[f"{name}_ghosts"], dtype=np.int64)
    owners = np.ascontiguousarray(a[f"{name}_owners"], dtype=np.int32)
    return cpp.common.IndexMap(comm, int(a[f"{name}_size"]), ghosts, owners, 1)


def layout(data: gmshio.MeshData) -> Arrays:
    """This rank's part of the mesh and tags, for :func:`restore`."""
    msh = data.mesh
    top, geo = msh.topology, msh.geometry
    tdim = top.dim
    out: Arrays = {}
    for name, imap in (("v", top.index_map(0)), ("c", top.index_map(tdim)), ("g", geo.index_map())):
        out[f"{name}_size"] = np.array(imap.size_local, dtype=np.int64)
        out[f"{name}_ghosts"] = np.asarray(imap.ghosts, dtype=np.int64)
        out[f"{name}_owners"] = np.asarray(imap.owners, dtype=np.int32)
    ncells = len(top.original_cell_index)
    out["topology"] = top.connectivity(tdim, 0).array.reshape(ncells, -1)
    out["original"] = np.asarray(top.original_cell_index, dtype=np.int64)
    out["dofmap"] = np.asarray(geo.dofmaps[0], dtype=np.int32)
    out["x"] = np.ascontiguousarray(geo.x[:, : geo.dim])
    out["igi"] = np.asarray(geo.input_global_indices, dtype=np.int64)
    for codim, name in enumerate(TAG_NAMES):
        tags = getattr(data, name)
        if tags is None:
            continue
        dim = tdim - codim
        out[f"values{dim}"] = tags.values
        if dim == tdim:
            out[f"cells{dim}"] = tags.indices
            continue
        # a tagged entity as (a cell containing it, its local index in that cell)
        e2c, c2e = top.connectivity(dim, tdim), top.connectivity(tdim, dim)
        cell = e2c.array[e2c.offsets[tags.indices]]
        out[f"cells{dim}"] = cell
        out[f"local{dim}"] = np.argmax(
            c2e.array.reshape(ncells, -1)[cell] == tags.indices[:, None], axis=1
        ).astype(np.int8)
    return out


def restore(comm: MPI.Comm, meta: Meta, a: Arrays) -> gmshio.MeshData:
    """The mesh and tags :func:`layout` saved on this rank (collective, same number of ranks)."""
    domain = _domain(meta)
    cmap = coordinate_element(domain.ufl_coordinate_element().basix_element)  # as create_mesh
    cell_type = cpp.mesh.to_type(str(domain.ufl_cell()))
    vmap, cellmap, gmap = (_index_map(comm, a, n) for n in ("v", "c", "g"))
    topology = cpp.mesh.Topology(
        cell_type,
        vmap,
        cellmap,
        cpp.graph.AdjacencyList_int32(np.ascontiguousarray(a["topology"], dtype=np.int32)),
        np.ascontiguousarray(a["original"], dtype=np.int64),
    )
    f64 = np.dtype(default_real_type) == np.float64
    geometry_cls = cpp.mesh.Geometry_float64 if f64 else cpp.mesh.Geometry_float32
    x = np.ascontiguousarray(a["x"], dtype=default_real_type)
    dofmap = np.ascontiguousarray(a["dofmap"], dtype=np.int32)
    geometry = geometry_cls(gmap, dofmap, cmap._cpp_object, x, a["igi"])
    cpp_mesh = (cpp.mesh.Mesh_float64 if f64 else cpp.mesh.Mesh_float32)(comm, topology, geometry)
    msh = dmesh.Mesh(cpp_mesh, domain)
    tdim = msh.topology.dim
    tags = {}
    if f"values{tdim}" in a:
        tags[tdim] = dmesh.meshtags(msh, tdim, a[f"cells{tdim}"], a[f"values{tdim}"])
    for key in meta["tags"]:
        dim = int(key)
        msh.topology.create_connectivity(dim, tdim)
        ncells = len(a["original"])
        c2e = msh.topology.connectivity(tdim, dim).array.reshape(ncells, -1)
        ents = c2e[a[f"cells{dim}"], a[f"local{dim}"]]
        order = np.argsort(ents, kind="stable")
        tags[dim] = dmesh.meshtags(msh, dim, ents[order], a[f"values{dim}"][order])
    return _data(msh, tags, meta)
