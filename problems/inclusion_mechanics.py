r"""Plane-strain stresses around 230-phase inclusions in LLZO on Li under stack pressure [D].

Dixit et al., Nature Materials (2022), doi:10.1038/s41563-022-01333-y, mechanics model.

.. math::

    \nabla\cdot\sigma = 0,\qquad \sigma = \mathbb{C}_p : \varepsilon(u),\qquad
    \varepsilon = \mathrm{sym}\,\nabla u \ (3\times 3,\ \varepsilon_{zz} = 0),

with :math:`\mathbb{C}_p` isotropic per phase p ∈ {Li, LLZO-220, LLZO-230}. Traction
:math:`-P n` on the top of the LLZO and the bottom of the Li, rollers (:math:`u_x = 0`) on the
left and right faces, and :math:`u_y = 0` at one corner vertex, which removes the vertical
rigid mode without adding stress (the two pressures balance exactly).

Far from the inclusions the state is uniaxial strain: σ_yy = −P,
σ_xx = σ_zz = −P ν/(1−ν), so σ_h∞ = −P(1+ν)/(3(1−ν)) and σ_vM∞ = P(1−2ν)/(1−ν) (ν of
LLZO-220). Reported per inclusion k (within one radius of its boundary, r ≤ 2R, LLZO only):

- ``inclusion_k_sigma_h_min`` / ``_max`` (Pa) and ``inclusion_k_sigma_h_ratio`` = min σ_h / σ_h∞
- ``inclusion_k_von_mises_max`` (Pa) and ``inclusion_k_von_mises_ratio`` = max σ_vM / σ_vM∞
- ``inclusion_k_sigma_yy_mean`` (Pa): mean σ_yy inside the inclusion

plus ``sigma_h_far``, ``von_mises_far`` and the maxima over the whole LLZO.

=====================  ==========  ======  ==============================================
parameter              default     unit    source
=====================  ==========  ======  ==============================================
width, height          600e-6      m       [D]
li_thickness           100e-6      m       *assumed* (0 removes the Li layer)
inclusions             3 × R 30 µm m       [D] centres (480,420), (330,150), (120,330) µm
E_220, nu_220          161e9, .27  Pa, 1   [D]
E_230, nu_230          156e9, .27  Pa, 1   [D]
E_li, nu_li            7.8e9, .38  Pa, 1   [D]
pressure               1e6         Pa      [D]
=====================  ==========  ======  ==============================================
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
import ufl
from dolfinx import fem
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.app.guards import BYTES_PER_DOF, SizeEstimate, lagrange_nodes
from femcm.app.meshfile import read_msh
from femcm.app.output import Output
from femcm.app.params import param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.errors import InputError
from femcm.fem.bcs import fix_component, pin_point
from femcm.fem.phases import indicator, piecewise_constant
from femcm.fem.postprocess import disk_mean, extremes, field, low_order
from femcm.meshes import plate_with_inclusions as plate
from femcm.models.elastic import solve_elastic, stress_fields
from femcm.solvers.stats import SolverStats

NAME = "inclusion_mechanics"


class Parameters(plate.PlateParameters):
    """Parameters of ``inclusion_mechanics`` (SI units)."""

    li_thickness: float = param(100e-6, "m", "Li layer below the LLZO (*assumed*; 0: none)", ge=0)
    E_220: float = param.E(161e9, "of LLZO-220 [D]")
    nu_220: float = param.nu(0.27, "of LLZO-220 [D]")
    E_230: float = param.E(156e9, "of LLZO-230 [D]")
    nu_230: float = param.nu(0.27, "of LLZO-230 [D]")
    E_li: float = param.E(7.8e9, "of Li [D]")
    nu_li: float = param.nu(0.38, "of Li [D]")
    pressure: float = param.pressure(1e6, "stack pressure on top and bottom [D]")
    degree: int = param.degree(2, "of the displacement")
    linear_solver: str = param.linear_solver()
    mesh_file: str = param("", "", "gmsh .msh with the groups of meshes/plate_with_inclusions")

    def validate(self) -> None:
        """The plate's checks; the mesh file exists; a Li layer at least one element thick."""
        super().validate()
        if self.mesh_file and not Path(self.mesh_file).is_file():
            raise InputError(f"parameter mesh_file = {self.mesh_file!r}: no such file")
        h = min(self.mesh_size, self.mesh_size_inclusion)
        if 0 < self.li_thickness < h:
            raise InputError(
                f"parameter li_thickness = {self.li_thickness:g} is out of range: must be 0 "
                f"(no layer) or >= the element size {h:g}"
            )


def estimate(p: Parameters) -> SizeEstimate | None:
    """Cells, DOFs and memory before meshing (for the size guard); None with a mesh file."""
    if p.mesh_file:
        return None
    cells = p.estimate_cells(p.li_thickness)
    dofs = lagrange_nodes(cells, p.degree, components=2)
    away = plate.estimate_cells(p.width, p.height, p.li_thickness, (), p.mesh_size, p.mesh_size)
    name = "mesh_size" if away >= cells / 2 else "mesh_size_inclusion"
    bytes_ = dofs * BYTES_PER_DOF[p.linear_solver]
    return SizeEstimate(name, getattr(p, name), cells, dofs, bytes_)


MESH_FILE_GROUPS = ("llzo_220", "top", "bottom", "left", "right")
"""Physical groups a ``mesh_file`` must have."""


def build_mesh(p: Parameters, comm: MPI.Comm) -> gmshio.MeshData:
    """The plate mesh, built with gmsh or read from ``p.mesh_file``."""
    if p.mesh_file:
        # checked on rank 0 (readable, 2D, groups), the verdict broadcast, then read
        return read_msh(p.mesh_file, comm, gdim=2, groups=MESH_FILE_GROUPS)
    return plate.plate_with_inclusions(
        comm, p.width, p.height, p.li_thickness, p.inclusions, p.mesh_size, p.mesh_size_inclusion
    )


def far_field(p: Parameters) -> tuple[float, float]:
    """(σ_h∞, σ_vM∞) of the uniaxial-strain state in LLZO-220 (Pa)."""
    nu = p.nu_220
    return -p.pressure * (1 + nu) / (3 * (1 - nu)), p.pressure * (1 - 2 * nu) / (1 - nu)


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Build the mesh, solve the elastic problem, report per-inclusion extremes."""
    data = build_mesh(p, comm)
    msh, ct, ft, groups = data.mesh, data.cell_tags, data.facet_tags, data.physical_groups
    tag = {name: g.tag for name, g in groups.items()}
    materials = {tag["llzo_220"]: p.isotropic("220")}
    if "llzo_230" in tag:
        materials[tag["llzo_230"]] = p.isotropic("230")
    if "li" in tag:
        materials[tag["li"]] = p.isotropic("li")
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    n = ufl.FacetNormal(msh)
    y_bottom = -p.li_thickness if "li" in tag else 0.0
    stats = SolverStats()

    def bcs(V: fem.FunctionSpace) -> list[fem.DirichletBC]:
        return [
            fix_component(V, ft, tag["left"], 0),
            fix_component(V, ft, tag["right"], 0),
            *pin_point(V, (0.0, y_bottom), comps=(1,)),
        ]

    P = p.pressure
    sol = solve_elastic(
        msh,
        ct,
        materials,
        degree=p.degree,
        bcs=bcs,
        tractions=[(ds(tag["top"]), -P * n), (ds(tag["bottom"]), -P * n)],
        solver=p.linear_solver,
        stats=stats,
        name=NAME,
    )
    fields = {"u": sol.u, **stress_fields(sol)}
    fields["phase"] = piecewise_constant(msh, ct, {t: float(t) for t in materials}, name="phase")

    sh_far, vm_far = far_field(p)
    scalars: dict[str, float] = {"sigma_h_far": sh_far, "von_mises_far": vm_far}
    is_llzo = _llzo_mask(fields["sigma_h"], msh, ct, tag)
    mean_syy = disk_mean(msh, indicator(msh, ct, [tag.get("llzo_230")]), sol.sigma[1, 1])
    for k, inc in enumerate(p.inclusions):

        def near(x, inc=inc):
            return plate.near_inclusion(x, inc) & is_llzo

        sh_min, sh_max, _, _ = extremes(fields["sigma_h"], near)
        _, vm_max, _, _ = extremes(fields["von_mises"], near)
        syy = mean_syy(*inc)
        scalars |= {
            f"inclusion_{k}_sigma_h_min": sh_min,
            f"inclusion_{k}_sigma_h_max": sh_max,
            f"inclusion_{k}_sigma_h_ratio": sh_min / sh_far if sh_far else math.nan,
            f"inclusion_{k}_von_mises_max": vm_max,
            f"inclusion_{k}_von_mises_ratio": vm_max / vm_far if vm_far else math.nan,
            f"inclusion_{k}_sigma_yy_mean": syy,
        }
    _, vm_llzo, _, _ = extremes(fields["von_mises"], lambda x: is_llzo)
    sh_llzo_min, sh_llzo_max, _, _ = extremes(fields["sigma_h"], lambda x: is_llzo)
    scalars |= {
        "llzo_von_mises_max": vm_llzo,
        "llzo_sigma_h_min": sh_llzo_min,
        "llzo_sigma_h_max": sh_llzo_max,
    }
    output.write_fields(
        msh,
        lambda: [
            low_order(sol.u),
            *(low_order(fields[f]) for f in ("sigma_h", "von_mises", "sigma")),
            fields["phase"],
        ],
    )
    dofs = sol.u.function_space.dofmap.index_map.size_global * msh.geometry.dim
    return Solution(fields, scalars, stats, dofs, plots=("sigma_h", "von_mises"))


def _llzo_mask(f: fem.Function, msh, ct, tag) -> np.ndarray:
    """Per owned dof of the DG field f: does its cell belong to an LLZO phase."""
    V = f.function_space
    n = V.dofmap.index_map.size_local
    llzo_tags = [tag[t] for t in ("llzo_220", "llzo_230") if t in tag]
    cell_is = indicator(msh, ct, llzo_tags)
    g = field(cell_is, msh, "DG", V.ufl_element().embedded_superdegree, "llzo")
    return g.x.array[:n] > 0.5


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
