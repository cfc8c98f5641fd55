r"""Interdiffusion across an LLZO/Li heterointerface with or without misfit dislocations [C].

Cojocaru-Mirédin et al., J. Power Sources (2025), doi:10.1016/j.jpowsour.2025.238443, Fig. 6.

Mixed c–μ–u model of [C] on a 40 nm × 40 nm square, LLZO below y = 0 and Li above,
from an initial concentration step (c = 0.3 in LLZO, 0.9 in Li):

.. math::

    c_\max\partial_t c = \nabla\cdot(M\nabla\mu),\quad
    \mu = RT[\chi(1-2c) + \ln\tfrac{c}{1-c}] - \sigma:\Omega/3,\quad
    \nabla\cdot\sigma = 0,\quad
    \sigma = \mathbb C_p:(\varepsilon(u) - \varepsilon^D - (c - c_{\mathrm{ref},p})
    c_\max\Omega/3),

per phase p: moduli :math:`\mathbb C_p` and :math:`c_{\mathrm{ref},p}` = the initial c of the
phase (stress-free start). With ``misfit_dislocations``, :math:`\varepsilon^D` is the sum of
Cai's non-singular eigenstrains [Cai] of an array of edge dislocations on the
interface, spacing ``spacing``, Burgers vector ``misfit_burgers`` e_x (parallel to the
interface), each with a climb cut (n = +e_x: b > 0 an extra half-plane in the LLZO, b < 0 a
missing one) straight down through the LLZO and on beyond the bottom (W of the whole
half-line: clipping it at the bottom would leave a spurious half dislocation there, see
edge_dislocation; ``clip_cuts`` to compare). Zero flux on every side (the side walls of
[C]); rollers on the bottom (u_y = 0) and the left side (u_x = 0); top and right
traction-free. Marched with the adaptive driver to ``t_end``.

Reports: ``interdiffusion_width`` (m): the distance between the 10 % and 90 % levels of the
initial step, :math:`c = c_\mathrm{LLZO} + \{0.1, 0.9\}(c_\mathrm{Li} - c_\mathrm{LLZO})`, on
the central vertical line x = 0 (the outermost crossings, as [C] measures away from the
side walls), ``y_10``/``y_90`` (m), ``sigma_h_min``/``_max`` (Pa) within
``report_band`` of the interface, also per phase (``*_llzo``, ``*_li``), ``c_integral``
and its drift, ``steps``, ``newton_iterations``. PNGs (``--plot``): c and σ_h (nodal), the
two panels of [C] Fig. 6 for the chosen case.

=====================  ===============  ========  ==========================================
parameter              default          unit      source
=====================  ===============  ========  ==========================================
width, height          40e-9            m         *assumed*
c_llzo, c_li           0.3, 0.9         1         *assumed* (initial step; c_ref per phase)
E_llzo, nu_llzo        150e9, 0.26      Pa, 1     *assumed* (as edge_dislocation)
E_li, nu_li            7.8e9, 0.38      Pa, 1     [D]
spacing                4e-9             m         *assumed*
misfit_burgers, a      1.298e-9         m         [100] of LLZO [C]; a = |b| (*assumed*)
c_max, chi, omega, D0  4.25e4, 1, 1e-6, mol/m³..  *assumed* (as edge_dislocation)
                       3e-13
t_end                  5e-5             s         *assumed* (√(D0 t) ≈ 4 nm)
=====================  ===============  ========  ==========================================
"""

from __future__ import annotations

import math
import sys

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
from dolfinx import fem

from mpi4py import MPI

from femcm.app.guards import BYTES_PER_DOF, SizeEstimate, graded_band, lagrange_nodes, triangles
from femcm.app.output import Output
from femcm.app.params import ParameterSet, param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.errors import InputError
from femcm.fem.bcs import fix_component
from femcm.fem.dislocation_field import eigenstrain_sources, nodal_projection, spreading_field
from femcm.fem.phases import piecewise_constant
from femcm.fem.postprocess import extremes, low_order
from femcm.fem.probe import probe
from femcm.fem.stiffness import Stiffness
from femcm.meshes.heterointerface import heterointerface, misfit_positions
from femcm.models.chemomechanics import Chemistry, ChemoMechanics, Mechanics, Scales, SolverOptions
from femcm.physics.chemistry import CojocaruMobility, RegularSolution
from femcm.physics.dislocation import Dislocation
from femcm.physics.eigenstrains import ConcentrationEigenstrain, isotropic_omega
from femcm.physics.elasticity import hydrostatic
from femcm.solvers.stats import SolverStats
from femcm.solvers.timestepping import StepControl

NAME = "heterointerface"
CHECKPOINTS = True  # time-dependent: OUT/checkpoint/, ``--restart``


class Parameters(ParameterSet):
    """Parameters of ``heterointerface`` (SI units)."""

    width: float = param(40e-9, "m", "domain width (*assumed*)", gt=0)
    height: float = param(40e-9, "m", "domain height, LLZO below y = 0 (*assumed*)", gt=0)
    c_llzo: float = param(0.3, "1", "initial c (and c_ref) in LLZO (*assumed*)", gt=0, lt=1)
    c_li: float = param(0.9, "1", "initial c (and c_ref) in Li (*assumed*)", gt=0, lt=1)
    E_llzo: float = param.E(150e9, "of LLZO (*assumed*)")
    nu_llzo: float = param.nu(0.26, "of LLZO (*assumed*)")
    E_li: float = param.E(7.8e9, "of Li [D]")
    nu_li: float = param.nu(0.38, "of Li [D]")
    misfit_dislocations: bool = param(False, "", "edge dislocations on the interface")
    spacing: float = param(4e-9, "m", "spacing of the misfit dislocations (*assumed*)", gt=0)
    misfit_burgers: float = param(
        1.298e-9, "m", "signed b along +x (> 0: extra half-planes in the LLZO) [C]"
    )
    core_width: float = param.core_width(1.298e-9)
    c_max: float = param(4.25e4, "mol/m^3", "Li site density (*assumed*)", gt=0)
    chi: float = param(1.0, "1", "regular-solution interaction χ (< 2) (*assumed*)", ge=-50, lt=2)
    omega: float = param(1e-6, "m^3/mol", "partial molar volume Ω (*assumed*)")
    D0: float = param(3e-13, "m^2/s", "Li diffusivity (*assumed*)", gt=0)
    temperature: float = param.temperature()
    t_end: float = param(5e-5, "s", "end time (*assumed*)", gt=0)
    dt_initial: float = param.dt_initial(1e-9)
    dt_min: float = param.dt_min(1e-15)
    mesh_size: float = param(2e-9, "m", "element size away from the interface", gt=0)
    mesh_size_interface: float = param(0.5e-9, "m", "element size near the interface", gt=0)
    interface_band: float = param(6e-9, "m", "half-width of the band meshed finely", ge=0)
    mesh_size_core: float = param.mesh_size_core(0.3e-9)
    mesh_size_cut: float = param.mesh_size_cut(0.5e-9)
    mesh_grading: float = param(0.2, "1", "growth of the element size per distance", gt=0)
    degree: int = param.degree(2, "of the displacement")
    w_degree: int = param.w_degree()
    report_band: float = param(5e-9, "m", "σ_h extremes within this distance of y = 0", gt=0)
    linear_solver: str = param.linear_solver()
    clip_cuts: bool = param(
        False, "", "W from the cuts inside the domain only (false: they run on beyond it)"
    )

    def validate(self) -> None:
        """Spacing fits; the cores are resolved; sizes ordered."""
        if self.misfit_burgers == 0:
            raise InputError("parameter misfit_burgers = 0 is out of range: must be non-zero")
        if self.spacing > self.width:
            raise InputError(
                f"parameter spacing = {self.spacing:g} is out of range: must be <= width"
            )
        if self.mesh_size_core > self.core_width / 4:
            raise InputError(
                f"parameter mesh_size_core = {self.mesh_size_core:g} is out of range: "
                f"must be <= core_width/4 = {self.core_width / 4:g}"
            )
        if not self.mesh_size_core <= self.mesh_size_cut <= self.mesh_size:
            raise InputError("parameters mesh_size_core <= mesh_size_cut <= mesh_size violated")
        if self.mesh_size > min(self.width, self.height) / 4:
            raise InputError(
                f"parameter mesh_size = {self.mesh_size:g} is out of range: "
                "must be <= min(width, height)/4"
            )
        self.check_time_steps()


def dislocations(p: Parameters) -> list[Dislocation]:
    """The misfit array on y = 0: b = misfit_burgers e_x, climb cuts down through the LLZO.

    The cut normal is +e_x for either sign, so ε^D_xx = b W: b > 0 inserts an extra half-plane
    of thickness |b| into the LLZO below each core, b < 0 removes one (with n = b̂ the sign of
    b would drop out of sym(b ⊗ n)).
    """
    box = ((-p.width / 2, -p.height / 2), (p.width / 2, p.height / 2))
    out = []
    for x in misfit_positions(p.width, p.spacing):
        d = Dislocation((x, 0.0), (p.misfit_burgers, 0.0), (0.0, -1.0), (1.0, 0.0), p.core_width)
        out.append(d.clipped(box) if p.clip_cuts else d)
    return out


def build_mesh(p: Parameters, comm: MPI.Comm):
    """The two-phase rectangle; cores and cuts are meshed in both cases."""
    return heterointerface(
        comm,
        p.width,
        p.height,
        misfit_positions(p.width, p.spacing),
        p.mesh_size_core,
        p.mesh_size,
        h_cut=p.mesh_size_cut,
        h_interface=p.mesh_size_interface,
        r_interface=p.interface_band,
        r_core=p.core_width,
        grading=p.mesh_grading,
    )


def build_model(p: Parameters, data, stats: SolverStats) -> ChemoMechanics:
    """The coupled model from its parts: per-phase C and c_ref, misfit eigenstrains, rollers."""
    msh, ct, ft = data.mesh, data.cell_tags, data.facet_tags
    tag = {name: g.tag for name, g in data.physical_groups.items()}
    llzo, li = tag["llzo"], tag["li"]
    materials = {llzo: p.isotropic("llzo"), li: p.isotropic("li")}
    c_ref = piecewise_constant(msh, ct, {llzo: p.c_llzo, li: p.c_li}, name="c_ref")
    sources: tuple = (ConcentrationEigenstrain(isotropic_omega(p.omega), p.c_max, c_ref),)
    if p.misfit_dislocations:
        sources = (*eigenstrain_sources(msh, dislocations(p), p.w_degree), *sources)
    stress = max(p.E_llzo, p.E_li)

    def bcs(V: fem.FunctionSpace) -> list[fem.DirichletBC]:
        return [fix_component(V, ft, tag["bottom"], 1), fix_component(V, ft, tag["left"], 0)]

    mech = Mechanics(
        stiffness=Stiffness(msh, ct, materials, scale=stress),
        bcs=bcs,
        eigenstrains=sources,
        degree=p.degree,
    )
    chem = Chemistry(
        RegularSolution(p.chi, p.temperature),
        CojocaruMobility(p.D0, p.c_max, p.temperature),
        p.c_max,
    )
    return ChemoMechanics(
        msh,
        chem,
        mech,
        scales=Scales.natural(max(p.width, p.height), chem, stress),
        solver=SolverOptions(linear_solver=p.linear_solver),
        stats=stats,
        name=NAME,
    )


def interdiffusion_width(
    c: fem.Function, p: Parameters, n: int = 2001
) -> tuple[float, float, float]:
    """(width, y_10, y_90) on the line x = 0: outermost crossings of the 10 % / 90 % levels."""
    y = np.linspace(-p.height / 2, p.height / 2, n)
    v = probe(c, np.c_[0 * y, y, 0 * y])
    lo = p.c_llzo + 0.1 * (p.c_li - p.c_llzo)
    hi = p.c_llzo + 0.9 * (p.c_li - p.c_llzo)
    up = p.c_li > p.c_llzo

    def first_crossing(level: float, from_below: bool) -> float:
        above = v >= level if up else v <= level
        idx = np.nonzero(above)[0] if from_below else np.nonzero(~above)[0]
        if len(idx) == 0:
            return math.nan
        i = idx[0] if from_below else idx[-1]
        j = i - 1 if from_below else i + 1
        if j < 0 or j >= n:
            return float(y[i])
        return float(y[j] + (level - v[j]) * (y[i] - y[j]) / (v[i] - v[j]))

    y10 = first_crossing(lo, from_below=True)
    y90 = first_crossing(hi, from_below=False)
    return abs(y90 - y10), y10, y90


def estimate(p: Parameters) -> SizeEstimate:
    """Cells, DOFs and memory before meshing (for the size guard).

    Uniform triangles plus the graded interface band, times 3.4: the measured default mesh
    (21 051 cells) is 3.4 times that plain count.
    """
    h, h_i = p.mesh_size, p.mesh_size_interface
    band = graded_band(p.width, h_i, h, p.interface_band, p.interface_band + 4 * h)
    cells = 3.4 * (triangles(p.width * p.height, h) + band)
    dofs = lagrange_nodes(cells, p.degree, components=2) + lagrange_nodes(cells, 1, components=2)
    name = "mesh_size_interface" if band > cells / 6.8 else "mesh_size"
    bytes_ = dofs * BYTES_PER_DOF[p.linear_solver]
    return SizeEstimate(name, getattr(p, name), cells, dofs, bytes_)


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Mesh, model, march to t_end; interdiffusion width and σ_h near the interface."""
    data = build_mesh(p, comm)
    msh = data.mesh
    stats = SolverStats()
    model = build_model(p, data, stats)
    # vertices on y = 0 take the mean; their computed coordinates carry rounding errors of
    # either sign that depend on the partition, hence the tolerance
    mid, tol = 0.5 * (p.c_llzo + p.c_li), 1e-6 * p.mesh_size_interface
    model.set_initial(lambda x: np.where(x[1] < -tol, p.c_llzo, np.where(x[1] > tol, p.c_li, mid)))
    rows: list[list[float]] = []

    def record(t: float) -> None:
        e = model.energies()
        rows.append([t, e["total"], e["chemical"], e["elastic"], e["c_integral"]])

    record(0.0)
    control = StepControl(dt_initial=p.dt_initial, dt_min=p.dt_min)
    rep = output.checkpoints.march(
        model, control, p.t_end, series={"free_energy": rows}, on_step=lambda t, dt, its: record(t)
    )
    output.write_csv(
        "free_energy.csv", ["time", "total", "chemical", "elastic", "c_integral"], rows
    )
    model.w.x.scatter_forward()  # ghosts up to date for point evaluation
    mf = model.fields()
    sigma = model.sigma()
    groups = data.physical_groups
    phases = {groups["llzo"].tag: 0.0, groups["li"].tag: 1.0}
    fields = {
        "c": mf["c"],
        "mu": mf["mu"],
        "u": mf["u"],
        "sigma_h": mf["sigma_h"],
        "von_mises": mf["von_mises"],
        "sigma_h_nodal": nodal_projection(hydrostatic(sigma), msh, "sigma_h_nodal"),
        "phase": piecewise_constant(msh, data.cell_tags, phases, name="phase"),
    }
    if p.misfit_dislocations:
        fields["W"] = spreading_field(msh, dislocations(p), 0, name="W")
    width, y10, y90 = interdiffusion_width(fields["c"], p)
    series = np.asarray(rows)
    scalars = {
        "interdiffusion_width": width,
        "y_10": y10,
        "y_90": y90,
        "c_integral": series[-1, 4],
        "c_integral_rel_change": abs(series[-1, 4] - series[0, 4]) / abs(series[0, 4]),
        "free_energy_total": series[-1, 1],
        "t_final": rep.t,
        "steps": rep.steps,
        "rejected_steps": rep.rejected,
        "newton_iterations": rep.newton_iterations,
    }
    band = p.report_band
    for suffix, sel in (
        ("", lambda x: np.abs(x[:, 1]) <= band),
        ("_llzo", lambda x: (x[:, 1] <= 0) & (x[:, 1] >= -band)),
        ("_li", lambda x: (x[:, 1] >= 0) & (x[:, 1] <= band)),
    ):
        lo, hi, _, _ = extremes(fields["sigma_h_nodal"], sel)
        scalars[f"sigma_h_min{suffix}"] = lo
        scalars[f"sigma_h_max{suffix}"] = hi
    lo, hi, _, _ = extremes(fields["c"])
    scalars |= {"c_min": lo, "c_max": hi}
    output.write_fields(
        msh,
        lambda: (
            [f for k, f in fields.items() if k in ("c", "mu", "sigma_h_nodal", "phase", "W")]
            + [low_order(fields["u"])]
        ),
    )
    return Solution(fields, scalars, stats, model.dofs, plots=("c", "sigma_h_nodal"))


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
