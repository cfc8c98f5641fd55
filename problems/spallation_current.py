r"""3D current focusing at Li protrusions and a Li-filled spallation crack in LLZTO [S].

Siniscalchi et al., Energy Environ. Sci. 17 (2024) 2431, doi:10.1039/d3ee03916a, Fig. 1e:
an LLZTO block (20 × 30 × 50 µm³) between the plating Li electrode (z = 0) and the counter
electrode (z = L). Li grown into the electrolyte from z = 0 (a hemi-ellipsoidal protrusion,
an inclined Li-filled crack, or a surface reconstructed from tomography and read from a file,
see :mod:`femcm.meshes.spallation_block`) is an equipotential and concentrates the current:

.. math::

    \nabla\cdot(\kappa\nabla\phi) = 0,\qquad i = -\kappa\nabla\phi,\qquad
    \phi = 0 \ \text{on the whole Li/electrolyte interface (crack faces included)},

φ = V (or a current density i_app in) on the counter electrode, zero flux on the four sides
[S]. Optionally (``kinetics = "butler_volmer"``) the Li interface obeys Butler–Volmer kinetics
instead, :math:`\kappa\nabla\phi\cdot n = i_{BV}(-\phi)` (:mod:`femcm.models.potential`),
which spreads the current: the charge-transfer resistance RT/(F i0) in series flattens the
focusing once it exceeds the ohmic resistance of the focusing region (~ radius / κ).

Solved with P2 Lagrange by default (``linear_solver = "iterative"``: CG + GAMG).

**Plating current density on the interface.** ``j = -κ∇φ·n`` (n out of the electrolyte,
into the Li) is averaged to the interface vertices with the lumped P1 trace mass,
j_a = ∫ j w_a ds / ∫ w_a ds: exact for a uniform field, and converging from below to the
pointwise maximum of a smooth field (a hemispherical boss: 5.9 %, 2.6 %, 0.8 % low at tip
sizes R/3.3, R/6.7, R/13, P2).

Reported (SI):

- ``field_enhancement``: max |∇φ| on the interface (= max j/κ) over the nominal field
  E_0 = V/L (potentiostatic) or i_app/κ (galvanostatic); exactly 3 for a hemispherical boss
  in a uniform field (a classical electrostatics result), 1 for a flat interface.
- ``max_x``, ``max_y``, ``max_z``: where it sits. ``focusing``: max j over the mean current
  density through the block I/(L_x L_y); ``peak_to_mean``: max j over the mean over the Li
  interface area (→ 1 when slow kinetics make the plating current uniform).
- ``region_current`` (A): current into the Li through ``li_surface`` (protrusion or crack
  faces); ``projected_area`` (m²): the area the region shades on the interface plane,
  ½(∫|n_z| ds + mouth area) (exact for convex regions); ``current_ratio`` = region current /
  (flat current density · projected area): 3 for a hemispherical boss.
- ``flat_current_density`` (A/m²): what the block carries without the Li feature (κV/L,
  i_app, or the potentiostatic Butler–Volmer slab root);
  ``total_current`` (A), ``cell_voltage`` (V, mean φ on the counter electrode).

=====================  ===============  =====  ==========================================
parameter              default          unit   source
=====================  ===============  =====  ==========================================
block                  20, 30, 50 µm    m      [S]
shape                  crack            --     hemisphere, ellipsoid, crack, file
radius                 8e-6             m      protrusion / crack radius, *assumed*
depth                  4e-6             m      deepest Li point below z = 0, *assumed*
opening                1e-6             m      crack opening (tip radius t/2), *assumed*
inclination            0.349 (20°)      rad    crack plane vs interface, *assumed*
kappa                  0.1 (1 mS/cm)    S/m    [S]
voltage                5e-3             V      *assumed* (flat: 1 mA/cm²)
i0                     10               A/m²   Butler–Volmer option, *assumed*
=====================  ===============  =====  ==========================================
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
import ufl
from dolfinx import fem, la

from mpi4py import MPI

from femcm.app.guards import SizeEstimate
from femcm.app.output import Output
from femcm.app.params import ParameterSet, param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.errors import InputError
from femcm.fem.postprocess import field, integrate, low_order
from femcm.meshes import spallation_block as sb
from femcm.models.potential import AppliedCurrent, Electrode, FixedPotential, PotentialProblem
from femcm.physics.kinetics import ButlerVolmer, butler_volmer_np
from femcm.solvers.options import SolverChoice, linear_options
from femcm.solvers.stats import SolverStats

NAME = "spallation_current"

SHAPES = ("hemisphere", "ellipsoid", "crack", "file", "flat")


class Parameters(ParameterSet):
    """Parameters of ``spallation_current`` (SI units)."""

    shape: str = param("crack", "", "Li region entering the block (flat: none)", choices=SHAPES)
    block: tuple[float, float, float] = param(sb.BLOCK, "m", "block sizes x, y, z [S]")
    centre: tuple[float, ...] = param(
        (), "m", "(x, y) of the Li feature on z = 0; empty: the block centre"
    )
    radius: float = param(8e-6, "m", "protrusion or crack radius (*assumed*)", gt=0)
    depth: float = param(
        4e-6, "m", "deepest Li point below z = 0 (ellipsoid, crack; *assumed*)", gt=0
    )
    opening: float = param(1e-6, "m", "crack opening, tip radius = opening/2 (*assumed*)", gt=0)
    inclination: float = param(
        math.radians(20), "rad", "crack plane vs interface (*assumed*)", ge=0, lt=math.pi / 2
    )
    surface_file: str = param("", "", "closed surface (STL, ...) read with meshio (shape=file)")
    surface_unit: float = param(1e-6, "m", "length unit of surface_file", gt=0)
    kappa: float = param(0.1, "S/m", "electrolyte conductivity, 1 mS/cm [S]", gt=0)
    voltage: float = param(5e-3, "V", "counter-electrode potential (*assumed*)", gt=0)
    current_density: float = param(
        0.0, "A/m^2", "applied current density; > 0 replaces voltage (galvanostatic)", ge=0
    )
    kinetics: str = param(
        "ohmic", "", "Li interface: φ = 0 or Butler–Volmer", choices=("ohmic", "butler_volmer")
    )
    i0: float = param(10.0, "A/m^2", "exchange current density (butler_volmer; *assumed*)", gt=0)
    mesh_size: float = param(2e-6, "m", "element size far from the Li", gt=0)
    mesh_size_tip: float = param(0.25e-6, "m", "element size at the Li surface / crack tip", gt=0)
    growth: float = param(0.3, "1", "mesh size growth per unit distance from the Li", gt=0)
    degree: int = param.degree(2, "of φ")
    linear_solver: str = param.linear_solver("iterative")

    def validate(self) -> None:
        """Geometry inside the block, a readable surface file for ``shape = file``."""
        if len(self.centre) not in (0, 2):
            raise InputError(f"parameter centre = {self.centre!r} must be () or (x, y) in metres")
        depth = self.radius if self.shape == "hemisphere" else self.depth
        sb.check_block(self.block, self.feature_centre, min(depth, self.block[2] / 2))
        if self.shape in ("ellipsoid", "crack"):
            sb.check_block(self.block, self.feature_centre, depth)
        if self.shape == "hemisphere" and self.radius >= self.block[2]:
            raise InputError(
                f"parameter radius = {self.radius:g} is out of range: must be < block z size "
                f"{self.block[2]:g} (m)"
            )
        if self.shape == "file":
            if not self.surface_file or not Path(self.surface_file).is_file():
                raise InputError(
                    f"parameter surface_file = {self.surface_file!r}: no such file (shape=file)"
                )
        elif self.shape == "crack":
            sb.check_crack(self.radius, self.opening, self.inclination, self.depth)
        if self.mesh_size_tip > self.mesh_size:
            raise InputError(
                f"parameter mesh_size_tip = {self.mesh_size_tip:g} is out of range: "
                f"must be <= mesh_size = {self.mesh_size:g}"
            )

    @property
    def feature_centre(self) -> tuple[float, float]:
        """(x, y) of the Li feature (m)."""
        return tuple(self.centre) if self.centre else (self.block[0] / 2, self.block[1] / 2)


TET_VOLUME = 0.21
"""Mean volume of gmsh's tetrahedra of size h, in units of h³ (measured on the flat block)."""

BYTES_PER_DOF_3D = {"direct": 10000.0, "iterative": 3000.0}
"""Peak memory per DOF, all ranks, with a margin: measured 2.7 kB (CG + GAMG) and 6.4 kB (MUMPS)
per P2 DOF on the crack block (73 806 and 240 140 DOFs)."""


def estimate(p: Parameters) -> SizeEstimate | None:
    """Cells, DOFs and memory before meshing (for the size guard); None for a surface file.

    Bulk tetrahedra V/(c h³), plus the graded shell on the Li surface (area A, size h_s growing
    at the rate g: A/(2 c g h_s²)) and, for the crack, the tube around its rim (length ℓ,
    π ℓ/(c g² h_tip)), with c = :data:`TET_VOLUME`.
    """
    if p.shape == "file":
        return None
    lx, ly, lz = p.block
    h, h_tip, g = p.mesh_size, min(p.mesh_size_tip, p.mesh_size), p.growth
    cells = lx * ly * lz / (TET_VOLUME * h**3)
    if p.shape == "crack":
        h_s = min(max(h_tip, p.opening / 2), h)
        cells += 2 * math.pi * p.radius**2 / (2 * TET_VOLUME * g * h_s**2)
        cells += math.pi * 2 * math.pi * p.radius / (TET_VOLUME * g**2 * h_tip)
    elif p.shape in ("hemisphere", "ellipsoid"):
        cells += 2 * math.pi * p.radius * max(p.radius, p.depth) / (2 * TET_VOLUME * g * h_tip**2)
    dofs = cells * (0.18, 1.5, 4.6)[p.degree - 1]  # Lagrange nodes per tetrahedron, measured
    name = "mesh_size_tip" if p.shape != "flat" else "mesh_size"
    bytes_ = dofs * BYTES_PER_DOF_3D[p.linear_solver]
    return SizeEstimate(name, getattr(p, name), cells, dofs, bytes_)


def build_mesh(p: Parameters, comm: MPI.Comm):
    """The electrolyte block minus the Li region (gmsh)."""
    common = {"block": p.block, "growth": p.growth}
    h, h_tip = p.mesh_size, p.mesh_size_tip
    if p.shape == "flat":
        return sb.flat(comm, h, p.block)
    if p.shape == "file":
        return sb.closed_surface(comm, p.surface_file, h, h_tip, unit=p.surface_unit, **common)
    common["centre"] = p.feature_centre
    if p.shape == "crack":
        return sb.inclined_crack(
            comm, p.radius, p.opening, p.inclination, p.depth, h, h_tip, **common
        )
    depth = p.radius if p.shape == "hemisphere" else p.depth
    return sb.hemi_ellipsoid(comm, p.radius, depth, h, h_tip, **common)


def flat_current_density(p: Parameters, kinetics: ButlerVolmer | None) -> float:
    """Plating current density of the block without a Li feature (A/m², > 0)."""
    length = p.block[2]
    if p.current_density > 0:
        return p.current_density
    if kinetics is None:
        return p.kappa * p.voltage / length
    from scipy.optimize import brentq

    # κ(V − φ_s)/L = −i_BV(−φ_s): the ohmic drop and the plating overpotential share V.
    def balance(phi_s: float) -> float:
        return p.kappa * (p.voltage - phi_s) / length + float(butler_volmer_np(-phi_s, kinetics))

    phi_s = brentq(balance, 0.0, p.voltage, xtol=1e-15 * p.voltage, rtol=1e-14)
    return p.kappa * (p.voltage - phi_s) / length


def interface_current(
    flux: ufl.core.expr.Expr, msh, ds: ufl.Measure, tags: tuple[int, ...]
) -> tuple[fem.Function, np.ndarray]:
    """A facet flux (the plating current density) averaged to the interface vertices.

    j_a = ∫ flux w_a ds / ∫ w_a ds with the P1 hat functions w_a (the lumped P1 trace mass).
    Returns the P1 function (zero off the interface) and a mask of its owned interface dofs.
    """
    Q = fem.functionspace(msh, ("Lagrange", 1))
    w = ufl.TestFunction(Q)
    num = fem.assemble_vector(fem.form(flux * w * ds(tags)))
    den = fem.assemble_vector(fem.form(w * ds(tags)))
    for vec in (num, den):
        vec.scatter_reverse(la.InsertMode.add)
        vec.scatter_forward()
    j = fem.Function(Q, name="plating_current")
    on = den.array > 0
    j.x.array[on] = num.array[on] / den.array[on]
    return j, on[: Q.dofmap.index_map.size_local]


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Mesh, solve the potential, report the focusing figures."""
    data = build_mesh(p, comm)
    msh, ft = data.mesh, data.facet_tags
    tag = {name: g.tag for name, g in data.physical_groups.items()}
    li_tags = tuple(tag[t] for t in ("electrode", "li_surface") if t in tag)
    kinetics = ButlerVolmer(p.i0) if p.kinetics == "butler_volmer" else None
    li = Electrode(li_tags, kinetics) if kinetics else FixedPotential(li_tags, 0.0)
    galvanostatic = p.current_density > 0
    counter = (
        AppliedCurrent(tag["counter"], p.current_density)
        if galvanostatic
        else FixedPotential(tag["counter"], p.voltage)
    )
    choice = SolverChoice(p.linear_solver)
    options = linear_options(choice)
    if choice is SolverChoice.ITERATIVE:
        options["pc_factor_mat_solver_type"] = None  # drop the direct default
    stats = SolverStats()
    problem = PotentialProblem(
        msh,
        ft,
        p.kappa,
        [li, counter],
        degree=p.degree,
        name=NAME,
        options=options,
        stats=stats,
    )
    problem.solve()
    phi = problem.phi

    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    n = ufl.FacetNormal(msh)
    # Plating current density (into the Li): the Butler–Volmer flux of the residual, or −κ∇φ·n.
    flux = -problem.electrode_current(li) if kinetics else -p.kappa * ufl.dot(ufl.grad(phi), n)
    j, on = interface_current(flux, msh, ds, li_tags)
    x_q = j.function_space.tabulate_dof_coordinates()[: len(on)]
    vals = j.x.array[: len(on)]
    local = (float(vals[on].max()), comm.rank) if on.any() else (-np.inf, comm.rank)
    j_max, owner = comm.allreduce(local, op=MPI.MAXLOC)
    x_max = comm.bcast(x_q[on][np.argmax(vals[on])] if comm.rank == owner else None, root=owner)

    lx, ly, lz = p.block
    e_nom = p.current_density / p.kappa if galvanostatic else p.voltage / lz
    total = problem.current_into(counter)  # = the plating current (charge conservation)
    j_flat = flat_current_density(p, kinetics)
    one = fem.Constant(msh, 1.0)
    area_flat = integrate(one * ds(tag["electrode"]), comm) if "electrode" in tag else 0.0
    if "li_surface" in tag:
        surface = ds(tag["li_surface"])
        region = integrate(flux * surface, comm)
        projected = 0.5 * (integrate(abs(n[2]) * surface, comm) + lx * ly - area_flat)
    else:  # flat interface: no Li feature
        region, projected = 0.0, 0.0
    v_cell = integrate(phi * ds(tag["counter"]), comm) / integrate(one * ds(tag["counter"]), comm)
    scalars = {
        "field_enhancement": j_max / p.kappa / e_nom,
        "max_x": float(x_max[0]),
        "max_y": float(x_max[1]),
        "max_z": float(x_max[2]),
        "focusing": j_max / (total / (lx * ly)),
        "peak_to_mean": j_max / (total / integrate(one * ds(li_tags), comm)),
        "max_current_density": j_max,
        "region_current": region,
        "projected_area": projected,
        "current_ratio": region / (j_flat * projected) if projected > 0 else math.nan,
        "flat_current_density": j_flat,
        "total_current": total,
        "cell_voltage": v_cell,
    }
    k = max(p.degree - 1, 0)
    i_field = field(problem.current_density, msh, "DG", k, "current_density")
    fields = {"phi": phi, "current_density": i_field, "plating_current": j}
    output.write_fields(
        msh,
        lambda: [
            low_order(phi),
            low_order(i_field),
            j,
        ],
    )
    return Solution(fields, scalars, stats, problem.dofs, plots=("current_density",))


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
