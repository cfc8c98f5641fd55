r"""Lamé's thick-walled cylinder under internal and external pressure (plane strain).

The textbook check of the elastic core, and the worked example of "How femcm is built"
(``docs/architecture.md``): a quarter of the cross-section, a ≤ r ≤ b, with symmetry rollers.

.. math::

    \nabla\cdot\sigma = 0,\quad \sigma = \mathbb C:\varepsilon(u),\quad
    \sigma n = -p_i n \ (r = a),\quad \sigma n = -p_o n \ (r = b),\quad
    u_y = 0 \ (y = 0),\ u_x = 0 \ (x = 0).

Closed form (Lamé 1852; Timoshenko & Goodier, *Theory of Elasticity*, §28), with
:math:`A = (p_i a^2 - p_o b^2)/(b^2 - a^2)` and :math:`B = (p_i - p_o) a^2 b^2/(b^2 - a^2)`:

.. math::

    \sigma_{rr} = A - B/r^2,\quad \sigma_{\theta\theta} = A + B/r^2,\quad
    \sigma_{zz} = 2\nu A,\quad
    u_r = \frac{1+\nu}{E}\left[(1-2\nu) A r + \frac{B}{r}\right].

Reports: ``hoop_stress_inner`` (σ_θθ at r = a, Pa) and its closed form
``hoop_stress_inner_exact``, ``radial_displacement_inner`` (m) and its closed form, and the
relative L² errors of σ_rr, σ_θθ, σ_zz over the wall (``*_error``).

=====================  ===========  ======  =======================
parameter              default      unit    source
=====================  ===========  ======  =======================
inner_radius           1e-3         m       *assumed*
outer_radius           2e-3         m       *assumed*
inner_pressure         10e6         Pa      *assumed*
outer_pressure         0            Pa      *assumed*
E, nu                  150e9, 0.26  Pa, 1   LLZO (*assumed*)
=====================  ===========  ======  =======================
"""

from __future__ import annotations

import math
import sys

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
import ufl
from dolfinx import fem

from mpi4py import MPI

from femcm.app.guards import BYTES_PER_DOF, SizeEstimate, lagrange_nodes, triangles
from femcm.app.output import Output
from femcm.app.params import ParameterSet, param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.errors import InputError
from femcm.fem.bcs import fix_component
from femcm.fem.postprocess import field, integrate, low_order
from femcm.meshes.quarter_annulus import quarter_annulus
from femcm.models.elastic import solve_elastic, stress_fields
from femcm.solvers.stats import SolverStats

NAME = "thick_cylinder"


class Parameters(ParameterSet):
    """Parameters of ``thick_cylinder`` (SI units)."""

    inner_radius: float = param(1e-3, "m", "inner radius a (*assumed*)", gt=0)
    outer_radius: float = param(2e-3, "m", "outer radius b (*assumed*)", gt=0)
    inner_pressure: float = param.pressure(10e6, "pressure on r = a (*assumed*)", le=1e10)
    outer_pressure: float = param.pressure(0.0, "pressure on r = b (*assumed*)", le=1e10)
    E: float = param.E(150e9, "(LLZO, *assumed*)")
    nu: float = param.nu(0.26, "(LLZO, *assumed*)")
    mesh_size: float = param(5e-5, "m", "element size", gt=0)
    degree: int = param.degree(2, "of the displacement")
    linear_solver: str = param.linear_solver()

    def validate(self) -> None:
        """A wall of positive thickness, at least a few cells across."""
        if self.outer_radius <= self.inner_radius:
            raise InputError(
                f"parameter outer_radius = {self.outer_radius:g} is out of range: "
                f"must be > inner_radius = {self.inner_radius:g}"
            )
        wall = self.outer_radius - self.inner_radius
        if self.mesh_size > wall / 2:
            raise InputError(
                f"parameter mesh_size = {self.mesh_size:g} is out of range: "
                f"must be <= (outer_radius - inner_radius)/2 = {wall / 2:g}"
            )


def estimate(p: Parameters) -> SizeEstimate:
    """Cells, DOFs and memory of the quarter annulus before meshing (for the size guard)."""
    area = math.pi * (p.outer_radius**2 - p.inner_radius**2) / 4
    cells = triangles(area, p.mesh_size)
    dofs = lagrange_nodes(cells, p.degree, components=2)
    return SizeEstimate(
        "mesh_size", p.mesh_size, cells, dofs, dofs * BYTES_PER_DOF[p.linear_solver]
    )


def lame(p: Parameters, r):
    """Closed form (σ_rr, σ_θθ, σ_zz, u_r) at radius r (NumPy arrays or UFL)."""
    a, b, pi, po = p.inner_radius, p.outer_radius, p.inner_pressure, p.outer_pressure
    A = (pi * a**2 - po * b**2) / (b**2 - a**2)
    B = (pi - po) * a**2 * b**2 / (b**2 - a**2)
    u_r = (1 + p.nu) / p.E * ((1 - 2 * p.nu) * A * r + B / r)
    return A - B / r**2, A + B / r**2, 2 * p.nu * A, u_r


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Mesh the quarter annulus, solve, compare with Lamé's closed form."""
    data = quarter_annulus(comm, p.inner_radius, p.outer_radius, p.mesh_size)
    msh, ct, ft = data.mesh, data.cell_tags, data.facet_tags
    tag = {name: g.tag for name, g in data.physical_groups.items()}
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    n = ufl.FacetNormal(msh)
    stats = SolverStats()

    def bcs(V: fem.FunctionSpace) -> list[fem.DirichletBC]:
        return [fix_component(V, ft, tag["x_axis"], 1), fix_component(V, ft, tag["y_axis"], 0)]

    sol = solve_elastic(
        msh,
        ct,
        {tag["wall"]: p.isotropic()},
        degree=p.degree,
        bcs=bcs,
        tractions=[
            (ds(tag["inner"]), -p.inner_pressure * n),
            (ds(tag["outer"]), -p.outer_pressure * n),
        ],
        solver=p.linear_solver,
        stats=stats,
        name=NAME,
    )
    x = ufl.SpatialCoordinate(msh)
    r = ufl.sqrt(x[0] ** 2 + x[1] ** 2)
    e_r = ufl.as_vector([x[0] / r, x[1] / r, 0])
    e_t = ufl.as_vector([-x[1] / r, x[0] / r, 0])
    s = sol.sigma
    computed = (ufl.dot(e_r, s * e_r), ufl.dot(e_t, s * e_t), s[2, 2])
    exact = lame(p, r)[:3]
    scalars: dict[str, float] = {}
    for name, fe, ex in zip(("sigma_rr", "sigma_tt", "sigma_zz"), computed, exact, strict=True):
        err = integrate((fe - ex) ** 2 * ufl.dx, comm)
        ref = integrate(ufl.as_ufl(ex) ** 2 * ufl.dx(domain=msh), comm)
        scalars[f"{name}_error"] = float(np.sqrt(err / ref))
    a = p.inner_radius
    arc = integrate(1.0 * ds(tag["inner"]), comm)
    hoop = integrate(computed[1] * ds(tag["inner"]), comm) / arc
    u_in = integrate(ufl.dot(sol.u, ufl.as_vector([x[0] / r, x[1] / r])) * ds(tag["inner"]), comm)
    _, hoop_exact, _, u_exact = lame(p, a)
    scalars |= {
        "hoop_stress_inner": hoop,
        "hoop_stress_inner_exact": hoop_exact,
        "radial_displacement_inner": u_in / arc,
        "radial_displacement_inner_exact": u_exact,
    }
    fields = {"u": sol.u, **stress_fields(sol)}
    output.write_fields(
        msh,
        lambda: [
            # XDMF needs Lagrange fields of the (quadratic) geometry's degree
            field(sol.u, msh, "Lagrange", msh.geometry.cmaps[0].degree, "u"),
            *(low_order(fields[f]) for f in ("sigma_h", "von_mises")),
        ],
    )
    dofs = sol.u.function_space.dofmap.index_map.size_global * msh.geometry.dim
    return Solution(fields, scalars, stats, dofs, plots=("von_mises", "sigma_h"))


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
