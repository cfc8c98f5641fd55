r"""Stress around a sub-surface pore over-filled with plated Li, as a misfit inclusion [S].

Siniscalchi et al., Energy Environ. Sci. 17 (2024) 2431, doi:10.1039/d3ee03916a: Li that
plates into a closed sub-surface pore of LLZTO beyond its volume pressurises it and loads the
ceramic around it. Model: a sphere of radius r_p whose centre lies a depth d below the free
surface, filled with Li that carries the dilatational misfit eigenstrain

.. math::

    \varepsilon^* = \tfrac13\,\frac{\Delta V}{V}\,I,\qquad
    \frac{\Delta V}{V} = \frac{Q\,V_m}{F\,\tfrac43\pi r_p^3}\ \text{(from a plated charge Q)},

linear elasticity :math:`\nabla\cdot\sigma = 0`, :math:`\sigma = \mathbb{C}_p:(\varepsilon -
\varepsilon^*)` per phase (LLZTO, Li; bonded), a traction-free surface.

The sphere on the axis is exactly axisymmetric: the problem is solved on the meridian (r, z)
with r-weighted integrals and the hoop strain u_r/r (:mod:`femcm.physics.axisymmetric`),
P2 displacement, in a cylinder of radius ``width`` and height ``height`` (≫ r_p, *assumed*),
u_r = 0 on the axis, u_z = 0 on the bottom, the top (z = 0) and the mantle free.

Deep in an infinite matrix (Eshelby 1957), the Li pressure is uniform,
:math:`p = \varepsilon^*/(1/(4\mu_m) + 1/(3K_{Li}))`, and the wall hoop stress is p/2 (the
max principal stress, tensile); near the surface the ligament above the pore bends and the
max principal stress grows. Linear problem: every stress scales with ΔV/V, so the overfill
that brings the max principal stress to the fracture strength σ_f is ΔV/V · σ_f / σ_1,max.

Reported (SI): ``li_pressure`` (−mean σ_h over the Li), ``li_pressure_reference`` (the deep
sphere formula), ``wall_hoop_stress`` (mean σ_θθ over the pore wall, electrolyte side, and
``wall_hoop_reference`` = p_ref/2), ``max_principal`` in the electrolyte and its location
``max_principal_r``, ``max_principal_z``, ``surface_max_principal`` (on the free surface),
``overfill``, ``eigenstrain``, ``overfill_at_fracture``, ``charge_at_fracture`` (C),
``pore_volume`` (m³). Fields: ``u`` (u_r, u_z), ``sigma`` (3×3 in the (r, z, θ) frame),
``sigma_h``, ``von_mises``, ``max_principal``, ``phase``.

=====================  ==========  =======  ===========================================
parameter              default     unit     source
=====================  ==========  =======  ===========================================
radius                 1e-6        m        *assumed* [S]
depth                  2e-6        m        pore centre below the surface, *assumed* [S]
width, height          20e-6       m        computational cylinder, *assumed* (≫ r_p)
E_llzto, nu_llzto      150e9, .26  Pa, 1    [S] (LLZTO)
E_li, nu_li            7.8e9, .38  Pa, 1    [D]
overfill               0.01        1        ΔV/V, *assumed*
charge                 0           C        plated charge; > 0 replaces overfill
molar_volume           13.0e-6     m³/mol   V_m of Li
fracture_strength      150e6       Pa       σ_f, *assumed*
=====================  ==========  =======  ===========================================
"""

from __future__ import annotations

import math
import sys

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
import ufl
from dolfinx import fem

from mpi4py import MPI

from femcm.app.guards import BYTES_PER_DOF, SizeEstimate, graded_band, lagrange_nodes, triangles
from femcm.app.output import Output
from femcm.app.params import ParameterSet, param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.constants import FARADAY
from femcm.base.errors import InputError
from femcm.fem.bcs import fix_component
from femcm.fem.phases import indicator, piecewise_constant
from femcm.fem.postprocess import extremes, field, integrate, low_order
from femcm.fem.stiffness import Stiffness
from femcm.meshes import pore
from femcm.physics.axisymmetric import (
    max_principal_meridian,
    misfit_sphere_pressure,
    strain,
    volume_weight,
)
from femcm.physics.elasticity import hydrostatic, von_mises
from femcm.solvers.linear import LinearSolver
from femcm.solvers.options import SolverChoice, linear_options
from femcm.solvers.stats import SolverStats

NAME = "pore_pressure"


class Parameters(ParameterSet):
    """Parameters of ``pore_pressure`` (SI units)."""

    radius: float = param(1e-6, "m", "pore radius r_p (*assumed* [S])", gt=0)
    depth: float = param(2e-6, "m", "depth of the pore centre below the surface (*assumed*)", gt=0)
    width: float = param(20e-6, "m", "radius of the computational cylinder (*assumed*)", gt=0)
    height: float = param(20e-6, "m", "height of the computational cylinder (*assumed*)", gt=0)
    E_llzto: float = param.E(150e9, "of LLZTO [S]")
    nu_llzto: float = param.nu(0.26, "of LLZTO [S]")
    E_li: float = param.E(7.8e9, "of Li [D]")
    nu_li: float = param.nu(0.38, "of Li [D]")
    overfill: float = param(0.01, "1", "over-plated volume fraction ΔV/V (*assumed*)", ge=0, lt=1)
    charge: float = param(0.0, "C", "plated excess charge Q; > 0 sets ΔV = Q V_m / F", ge=0)
    molar_volume: float = param(13.0e-6, "m^3/mol", "molar volume of Li V_m", gt=0)
    fracture_strength: float = param(150e6, "Pa", "fracture strength σ_f (*assumed*)", gt=0)
    mesh_size: float = param(2e-6, "m", "element size far from the pore", gt=0)
    mesh_size_wall: float = param(0.05e-6, "m", "element size at the pore wall", gt=0)
    degree: int = param.degree(2, "of the displacement")
    linear_solver: str = param.linear_solver()

    def validate(self) -> None:
        """The pore lies below the surface inside the cylinder; some overfill."""
        pore.check_pore(self.radius, self.depth, self.width, self.height)
        if self.overfill == 0 and self.charge == 0:
            raise InputError("parameters overfill and charge are both 0: need one of them > 0")

    @property
    def pore_volume(self) -> float:
        """4/3 π r_p³ (m³)."""
        return 4 / 3 * math.pi * self.radius**3

    @property
    def volume_fraction(self) -> float:
        """ΔV/V used: from the charge if given, else ``overfill``."""
        if self.charge > 0:
            return self.charge * self.molar_volume / FARADAY / self.pore_volume
        return self.overfill


def reference_pressure(p: Parameters) -> float:
    """Li pressure of the same pore deep in an infinite matrix (Pa, Eshelby 1957)."""
    mu_m = p.E_llzto / (2 * (1 + p.nu_llzto))
    k_li = p.E_li / (3 * (1 - 2 * p.nu_li))
    return misfit_sphere_pressure(p.volume_fraction / 3, k_li, mu_m)


def estimate(p: Parameters) -> SizeEstimate:
    """Cells, DOFs and memory of the meridian mesh before meshing (for the size guard)."""
    growth = 0.2  # the builder's default
    h, h_wall = p.mesh_size, min(p.mesh_size_wall, p.mesh_size)
    band = graded_band(math.pi * p.radius, h_wall, h, 0.0, (h - h_wall) / growth)
    cells = triangles(p.width * p.height, h) + band
    dofs = lagrange_nodes(cells, p.degree, components=2)
    name = "mesh_size" if band < cells / 2 else "mesh_size_wall"
    bytes_ = dofs * BYTES_PER_DOF[p.linear_solver]
    return SizeEstimate(name, getattr(p, name), cells, dofs, bytes_)


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Mesh the meridian, solve the axisymmetric misfit problem, report pressures and stresses."""
    data = pore.pore_axisymmetric(
        comm, p.radius, p.depth, p.width, p.height, p.mesh_size, p.mesh_size_wall
    )
    msh, ct, ft = data.mesh, data.cell_tags, data.facet_tags
    tag = {name: g.tag for name, g in data.physical_groups.items()}
    li, llzto = tag["li"], tag["electrolyte"]
    materials = {llzto: p.isotropic("llzto"), li: p.isotropic("li")}
    scale = max(p.E_llzto, p.E_li)
    C = Stiffness(msh, ct, materials, scale=scale)
    e_star = p.volume_fraction / 3
    misfit = piecewise_constant(msh, ct, {li: e_star, llzto: 0.0}, name="misfit")
    eps_star = misfit * ufl.Identity(3)

    r = volume_weight(msh)
    r_axis = 1e-9 * p.radius
    w = r / p.radius  # dimensionless weight keeps the matrix O(1)
    V = fem.functionspace(msh, ("Lagrange", p.degree, (2,)))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    dx = ufl.Measure("dx", domain=msh, subdomain_data=ct)
    a = ufl.inner(C.stress(strain(u, r, r_axis)), strain(v, r, r_axis)) * w * dx
    L = ufl.inner(C.stress(eps_star), strain(v, r, r_axis)) * w * dx
    bcs = [fix_component(V, ft, tag["axis"], 0), fix_component(V, ft, tag["bottom"], 1)]
    stats = SolverStats()
    uh = fem.Function(V, name="u")
    choice = SolverChoice(p.linear_solver)
    LinearSolver(
        a,
        L,
        uh,
        bcs,
        name=NAME,
        options=linear_options(choice, elasticity=True),
        elasticity_space=V if choice is SolverChoice.ITERATIVE else None,
        stats=stats,
    ).solve()
    sigma = scale * C.stress(strain(uh, r, r_axis) - eps_star)

    k = max(p.degree - 1, 0)
    fields = {
        "u": uh,
        "sigma": field(sigma, msh, "DG", k, "sigma"),
        "sigma_h": field(hydrostatic(sigma), msh, "DG", k, "sigma_h"),
        "von_mises": field(von_mises(sigma), msh, "DG", k, "von_mises"),
        "max_principal": field(max_principal_meridian(sigma), msh, "DG", k, "max_principal"),
        "phase": piecewise_constant(msh, ct, {li: float(li), llzto: float(llzto)}, name="phase"),
    }

    # Li pressure: −⟨σ_h⟩ over the pore volume (weight 2πr).
    li_volume = integrate(r * dx(li), comm)
    li_pressure = -integrate(hydrostatic(sigma) * r * dx(li), comm) / li_volume
    # Wall hoop stress, electrolyte side: σ_θθ of the matrix cell on either side of each facet.
    chi = indicator(msh, ct, [llzto], name="electrolyte")
    dS = ufl.Measure("dS", domain=msh, subdomain_data=ft)(tag["wall"])
    hoop = chi("+") * sigma[2, 2]("+") + chi("-") * sigma[2, 2]("-")
    wall_hoop = integrate(hoop * r("+") * dS, comm) / integrate(r("+") * dS, comm)

    in_llzto = _cell_mask(fields["max_principal"], chi)
    _, s1_max, _, x_max = extremes(fields["max_principal"], lambda x: in_llzto)
    tol = 1e-9 * p.height
    _, s1_surf, _, _ = extremes(
        fields["max_principal"], lambda x: in_llzto & (np.abs(x[:, 1]) < tol)
    )
    p_ref = reference_pressure(p)
    dv = p.volume_fraction
    dv_f = dv * p.fracture_strength / s1_max
    scalars = {
        "overfill": dv,
        "eigenstrain": e_star,
        "pore_volume": p.pore_volume,
        "li_pressure": li_pressure,
        "li_pressure_reference": p_ref,
        "wall_hoop_stress": wall_hoop,
        "wall_hoop_reference": p_ref / 2,
        "max_principal": s1_max,
        "max_principal_r": float(x_max[0]),
        "max_principal_z": float(x_max[1]),
        "surface_max_principal": s1_surf,
        "overfill_at_fracture": dv_f,
        "charge_at_fracture": dv_f * p.pore_volume * FARADAY / p.molar_volume,
    }
    output.write_fields(
        msh,
        lambda: [
            low_order(uh),
            *(low_order(fields[f]) for f in ("sigma_h", "von_mises", "max_principal")),
            fields["phase"],
        ],
    )
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    return Solution(fields, scalars, stats, dofs, plots=("max_principal", "sigma_h"))


def _cell_mask(f: fem.Function, chi: fem.Function) -> np.ndarray:
    """Per owned dof of the DG field f: does its cell belong to the electrolyte (chi = 1)."""
    V = f.function_space
    n = V.dofmap.index_map.size_local
    g = fem.Function(V)
    g.interpolate(chi)
    return g.x.array[:n] > 0.5


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
