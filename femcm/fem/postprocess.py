"""Derived fields and reductions that give the same numbers on any number of ranks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import ufl
from dolfinx import fem, mesh

from mpi4py import MPI

from femcm.physics.elasticity import hydrostatic, von_mises

__all__ = [
    "cell_values",
    "disk_mean",
    "extremes",
    "field",
    "integrate",
    "low_order",
    "owned_values",
    "stress_invariants",
]


def field(
    expr: ufl.core.expr.Expr,
    msh: mesh.Mesh,
    family: str,
    degree: int,
    name: str,
) -> fem.Function:
    """Interpolate a UFL expression into a new ``(family, degree)`` space of its shape."""
    V = fem.functionspace(msh, (family, degree, ufl.shape(expr)))
    f = fem.Function(V, name=name)
    f.interpolate(fem.Expression(expr, V.element.interpolation_points))
    return f


def low_order(f: fem.Function) -> fem.Function:
    """``f`` itself if P1 or DG0, else its P1 (continuous) or DG0 (discontinuous) copy.

    What XDMF files and pictures show: discontinuous fields (stresses) as cell averages, so
    jumps across phase boundaries stay sharp.
    """
    el = f.function_space.ufl_element()
    msh = f.function_space.mesh
    if el.discontinuous:
        return f if el.embedded_superdegree == 0 else field(f, msh, "DG", 0, f.name)
    return f if el.embedded_superdegree == 1 else field(f, msh, "Lagrange", 1, f.name)


def cell_values(f: fem.Function) -> np.ndarray:
    """Owned-cell values of a scalar DG field at the cell midpoints (DG0 copy if needed)."""
    msh = f.function_space.mesh
    if f.function_space.ufl_element().embedded_superdegree != 0:
        f = field(f, msh, "DG", 0, f.name)
    n = msh.topology.index_map(msh.topology.dim).size_local
    return f.x.array[f.function_space.dofmap.list[:n, 0]]


def stress_invariants(sigma: ufl.core.expr.Expr, msh: mesh.Mesh, degree: int) -> dict:
    """σ_h and von Mises of a 3×3 stress (Pa) as DG fields of ``degree``: the api's names."""
    return {
        "sigma_h": field(hydrostatic(sigma), msh, "DG", degree, "sigma_h"),
        "von_mises": field(von_mises(sigma), msh, "DG", degree, "von_mises"),
    }


def integrate(form: ufl.Form | fem.Form, comm: MPI.Comm | None = None) -> float:
    """Assemble a scalar form (UFL, or already compiled) and sum over ranks."""
    compiled = form if isinstance(form, fem.Form) else fem.form(form)
    comm = comm or compiled.mesh.comm
    return comm.allreduce(fem.assemble_scalar(compiled), op=MPI.SUM)


def owned_values(f: fem.Function) -> tuple[np.ndarray, np.ndarray]:
    """Owned dof coordinates (n, 3) and values (n, block size) of ``f``."""
    V = f.function_space
    n = V.dofmap.index_map.size_local
    bs = V.dofmap.index_map_bs
    return V.tabulate_dof_coordinates()[:n], f.x.array[: n * bs].reshape(n, bs)


def extremes(
    f: fem.Function, where: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Global (min, max) of a scalar field over owned dofs selected by ``where(x)``.

    Returns (min, max, x_of_min, x_of_max); NaN and empty locations when nothing is selected.
    """
    x, v = owned_values(f)
    v = v[:, 0]
    if where is not None:
        sel = where(x)
        x, v = x[sel], v[sel]
    comm = f.function_space.mesh.comm
    lo = (float(v.min()), comm.rank) if len(v) else (np.inf, comm.rank)
    hi = (float(-v.max()), comm.rank) if len(v) else (np.inf, comm.rank)
    glo = comm.allreduce(lo, op=MPI.MINLOC)
    ghi = comm.allreduce(hi, op=MPI.MINLOC)
    xlo = comm.bcast(x[np.argmin(v)] if comm.rank == glo[1] and len(v) else None, root=glo[1])
    xhi = comm.bcast(x[np.argmax(v)] if comm.rank == ghi[1] and len(v) else None, root=ghi[1])
    if not np.isfinite(glo[0]):
        return np.nan, np.nan, np.full(3, np.nan), np.full(3, np.nan)
    return glo[0], -ghi[0], np.asarray(xlo), np.asarray(xhi)


def disk_mean(
    msh: mesh.Mesh, weight: ufl.core.expr.Expr, expr: ufl.core.expr.Expr, factor: float = 1.5
) -> Callable[[float, float, float], float]:
    """Weighted mean of ``expr`` over the disk of radius ``factor`` r about (x_c, y_c).

    ``weight`` selects the cells (e.g. a phase :func:`femcm.fem.phases.indicator`). The forms are
    compiled once; the returned ``mean(x_c, y_c, r)`` only updates constants and reassembles.
    """
    centre, radius = fem.Constant(msh, np.zeros(2)), fem.Constant(msh, 1.0)
    x = ufl.SpatialCoordinate(msh)
    d2 = (x[0] - centre[0]) ** 2 + (x[1] - centre[1]) ** 2
    inside = weight * ufl.conditional(ufl.lt(d2, (factor * radius) ** 2), 1.0, 0.0)
    dx = ufl.dx(domain=msh)
    forms = fem.form(inside * dx), fem.form(inside * expr * dx)

    def mean(xc: float, yc: float, r: float) -> float:
        centre.value[:] = (xc, yc)
        radius.value = r
        area, total = (msh.comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM) for f in forms)
        return total / area

    return mean
