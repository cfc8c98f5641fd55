"""Dislocation spreading fields W as DG0 cell averages or DG1 projections [C, Cai].

W varies on the core width a; a centroid value misrepresents it on cells of size ~a and
above (near the core, and along the cut on coarser cells, where the integral of W across the
cut must stay 1 so the cut remains a rigid slip). Each cell's value is therefore the average
of the closed form over the cell ([C]'s DG0 field): a Gauss rule mapped onto each of the m²
sub-triangles of a uniform refinement of the (affine) triangle, with m chosen from the cell
size so that every sub-triangle is below ``resolution`` × a. Degree 1 is the cell-wise L²
projection onto DG1 with the same rule: the space of the strain of a P2 displacement, whose
stress then matches Cai's field to ~1 % (DG0 leaves O(h/a) errors of the slip eigenstrain
μb/a along the cut, see tests/test_edge_dislocation.py). Every rank computes its owned and
ghost cells, so the field needs no communication and is the same on any number of ranks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import basix
import numpy as np
import ufl
from dolfinx import fem, la, mesh

from mpi4py import MPI

from femcm.physics.dislocation import Dislocation, DislocationEigenstrain
from femcm.physics.dislocation_stress import peach_koehler

__all__ = [
    "cell_projection",
    "cell_quadrature",
    "core_averaged_stress",
    "eigenstrain_sources",
    "nodal_projection",
    "peach_koehler_forces",
    "spreading_field",
]

QUADRATURE_DEGREE = 8
"""Degree of the Gauss rule on each sub-triangle."""


def _subtriangles(m: int) -> np.ndarray:
    """Vertices (m², 3, 2) of the uniform m-refinement of the reference triangle."""
    tris = []
    for i in range(m):
        for j in range(m - i):
            tris.append([(i, j), (i + 1, j), (i, j + 1)])
            if i + j <= m - 2:
                tris.append([(i + 1, j), (i + 1, j + 1), (i, j + 1)])
    return np.asarray(tris, dtype=float) / m


def _reference_rule(m: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite rule on the reference triangle: points (n, 2), weights (n,) summing to 1."""
    pts, wts = basix.make_quadrature(basix.CellType.triangle, degree)
    sub = _subtriangles(m)
    e1, e2 = sub[:, 1] - sub[:, 0], sub[:, 2] - sub[:, 0]
    p = sub[:, None, 0] + pts[None, :, :1] * e1[:, None] + pts[None, :, 1:] * e2[:, None]
    w = np.broadcast_to(wts / wts.sum() / len(sub), (len(sub), len(wts)))
    return p.reshape(-1, 2), w.ravel()


def _cell_vertices(msh: mesh.Mesh) -> np.ndarray:
    """Vertex coordinates (num local cells incl. ghosts, 3, 2) of an affine triangle mesh."""
    if msh.topology.cell_type != mesh.CellType.triangle:
        raise ValueError("dislocation fields need a triangle mesh")
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    n = imap.size_local + imap.num_ghosts
    nodes = msh.geometry.dofmaps[0][:n, :3]
    return msh.geometry.x[nodes][:, :, :2]


def cell_quadrature(
    msh: mesh.Mesh, length: float, resolution: float = 0.5, degree: int = QUADRATURE_DEGREE
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per-cell composite Gauss rules: [(cells, points (nc, nq, 2), weights (nq,)), ...].

    Cells are grouped by their refinement level m = ceil(diameter / (resolution · length));
    the weights sum to one (they give cell averages).
    """
    _check_resolution(resolution)
    verts = _cell_vertices(msh)
    edges = verts[:, [1, 2, 0]] - verts
    diam = np.sqrt((edges**2).sum(axis=2)).max(axis=1)
    levels = np.maximum(1, np.ceil(diam / (resolution * length))).astype(int)
    out = []
    for m in np.unique(levels):
        cells = np.nonzero(levels == m)[0]
        ref, w = _reference_rule(int(m), degree)
        v = verts[cells]
        J1, J2 = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
        x = v[:, None, 0] + ref[None, :, :1] * J1[:, None] + ref[None, :, 1:] * J2[:, None]
        out.append((cells, x, w))
    return out


def cell_projection(
    msh: mesh.Mesh,
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    length: float,
    degree: int = 0,
    resolution: float = 0.5,
    name: str = "W",
) -> fem.Function:
    """The cell-wise L² projection of f(x, y) onto DG_degree (degree 0: the cell averages).

    Computed in every local cell (owned and ghost) with the composite rule of
    :func:`cell_quadrature`; affine cells, so the local mass matrix is the reference one.
    """
    if degree not in (0, 1):
        raise ValueError(f"degree of the spreading field must be 0 or 1, got {degree!r}")
    V = fem.functionspace(msh, ("DG", degree))
    out = fem.Function(V, name=name)
    dofs = V.dofmap.list
    basis = V.ufl_element().basix_element
    for cells, x, w in cell_quadrature(msh, length, resolution):
        if degree == 0:  # the weights sum to one: the cell averages
            out.x.array[dofs[cells, 0]] = f(x[..., 0], x[..., 1]) @ w
            continue
        ref = _reference_rule(_level(x, w), QUADRATURE_DEGREE)[0]
        phi = basis.tabulate(0, ref)[0, :, :, 0]  # (nq, ndofs)
        mass = phi.T @ (w[:, None] * phi)
        rhs = (f(x[..., 0], x[..., 1]) * w) @ phi  # (nc, ndofs)
        out.x.array[dofs[cells]] = np.linalg.solve(mass, rhs.T).T
    return out


def _level(x: np.ndarray, w: np.ndarray) -> int:
    """The refinement level m of a composite rule (m² sub-triangles)."""
    pts, _ = basix.make_quadrature(basix.CellType.triangle, QUADRATURE_DEGREE)
    return round(math.sqrt(len(w) / len(pts)))


def _W_sum(dislocations: Sequence[Dislocation]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return sum(d.W(x, y) for d in dislocations)

    return f


def spreading_field(
    msh: mesh.Mesh,
    dislocations: Sequence[Dislocation],
    degree: int = 0,
    resolution: float = 0.5,
    name: str = "W",
) -> fem.Function:
    """Σ_k W_k (1/m) as a DG_degree field: DG0 cell averages by default."""
    a = min(d.core_width for d in dislocations)
    return cell_projection(msh, _W_sum(dislocations), a, degree, resolution, name)


def eigenstrain_sources(
    msh: mesh.Mesh,
    dislocations: Sequence[Dislocation],
    degree: int = 0,
    resolution: float = 0.5,
) -> tuple[DislocationEigenstrain, ...]:
    """One eigenstrain source per distinct sym(b ⊗ n), each with its DG0 W (superposed)."""
    groups: dict[tuple[float, ...], list[Dislocation]] = {}
    for d in dislocations:
        key = (*np.round(d.strain_tensor().ravel() / d.magnitude, 12).tolist(), d.magnitude)
        groups.setdefault(key, []).append(d)
    out = []
    for k, group in enumerate(groups.values()):
        d0 = group[0]
        W = spreading_field(msh, group, degree, resolution, name=f"W_{k}")
        out.append(DislocationEigenstrain(W, d0.burgers, d0.normal))
    return tuple(out)


def _check_resolution(resolution: float) -> None:
    if not 0 < resolution <= 1 or not math.isfinite(resolution):
        raise ValueError(f"resolution must be in (0, 1], got {resolution!r}")


def core_averaged_stress(
    msh: mesh.Mesh, sigma: ufl.core.expr.Expr, d: Dislocation, degree: int = 8
) -> tuple[float, float, float]:
    """(σ_xx, σ_yy, σ_xy) averaged with the spreading function w₂ about the core of ``d``.

    The stress a non-singular dislocation feels (Cai et al. 2006): the w₂-weighted mean. The
    dislocation's own Cai field averages to zero (it is odd about the core), so applied to the
    total FE stress this is the stress of everything else: other dislocations, image
    stresses of the boundaries, applied loads, concentration eigenstrains.
    """
    x = ufl.SpatialCoordinate(msh)
    a = d.core_width
    r2 = (x[0] - d.position[0]) ** 2 + (x[1] - d.position[1]) ** 2
    w = 2 * a**4 / (np.pi * (r2 + a**2) ** 3)
    dx = ufl.dx(domain=msh, metadata={"quadrature_degree": degree})
    comm = msh.comm

    def integral(e: ufl.core.expr.Expr) -> float:
        return comm.allreduce(fem.assemble_scalar(fem.form(e * dx)), op=MPI.SUM)

    norm = integral(w)
    return tuple(integral(w * sigma[i, j]) / norm for i, j in ((0, 0), (1, 1), (0, 1)))


def peach_koehler_forces(
    msh: mesh.Mesh, sigma: ufl.core.expr.Expr, dislocations: Sequence[Dislocation]
) -> np.ndarray:
    """Peach–Koehler force per length (N/m, shape (N, 2)) on each dislocation from σ (Pa).

    f = (σ̄·b) × e_z with σ̄ the core average of :func:`core_averaged_stress`.
    """
    return np.array(
        [peach_koehler(d, *core_averaged_stress(msh, sigma, d)) for d in dislocations]
    ).reshape(len(dislocations), 2)


def nodal_projection(expr: ufl.core.expr.Expr, msh: mesh.Mesh, name: str) -> fem.Function:
    """Lumped L² projection onto P1: vertex value ∫ e φ_i / ∫ φ_i (continuous, local)."""
    V = fem.functionspace(msh, ("Lagrange", 1))
    v = ufl.TestFunction(V)
    dx = ufl.dx(domain=msh, metadata={"quadrature_degree": 4})
    num = fem.assemble_vector(fem.form(expr * v * dx))
    den = fem.assemble_vector(fem.form(v * dx))
    for vec in (num, den):
        vec.scatter_reverse(la.InsertMode.add)
        vec.scatter_forward()
    out = fem.Function(V, name=name)
    out.x.array[:] = num.array / den.array
    return out
