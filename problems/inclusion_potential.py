r"""Electric potential and current focusing around 230-phase inclusions in LLZO on Li [D].

Dixit et al., Nature Materials (2022), doi:10.1038/s41563-022-01333-y, electrochemical model.
The LLZO plate of ``inclusion_mechanics`` without the Li layer (its potential drop is
neglected [D]):

.. math::

    \nabla\cdot(\kappa_p\nabla\phi) = 0,\qquad i = -\kappa_p\nabla\phi,
    \qquad p \in \{220, 230\},

- top (y = height): applied current density, :math:`\kappa\nabla\phi\cdot n = i_{app}`
  (galvanostatic, default), or :math:`\phi = V` (``mode = "potentiostatic"``);
- bottom (y = 0, Li/LLZO interface, Li grounded, :math:`U_{eq} = 0`): Butler–Volmer,
  :math:`\kappa\nabla\phi\cdot n = i_0[e^{\alpha_a F\eta/RT} - e^{-\alpha_c F\eta/RT}]`,
  :math:`\eta = -\phi - i_{BV} R_f` (plating: η < 0, φ > 0);
- left and right: zero flux.

Solved by :class:`femcm.models.potential.PotentialProblem` (SNES Newton, exact UFL Jacobian).
Sign convention of the reports: the *interface current* is the normal current density from
the electrolyte into the Li, positive for plating (= −i_BV); ratios divide by i_app
(galvanostatic) or by the mean applied current density (potentiostatic).

Reported figures (SI): ``cell_voltage`` (mean φ on the top), ``current_density_mean``
(current through the top / width), ``overpotential_mean`` / ``_min`` / ``_max`` (η on the
interface), ``interface_current_min`` / ``_max`` and their ``_ratio``,
``inclusion_k_current_max`` and ``_ratio`` (max |i| within one radius of the boundary of
inclusion k, r <= 2R, both phases), ``inclusion_k_current_inside_ratio`` (mean |i| inside
inclusion k; a circular inclusion in a uniform field carries 2κ_230/(κ_220 + κ_230) of the
far current), ``current_top`` and ``current_interface`` (A per metre of depth) and their
``charge_conservation_error`` (relative).

The case where the secondary phase conducts *better* than the bulk is
``--set kappa_230=0.3`` (3 mS/cm): the current is then drawn into the inclusions.

=====================  ============  ======  ===========================================
parameter              default       unit    source
=====================  ============  ======  ===========================================
width, height          600e-6        m       [D]
inclusions             3 × R 30 µm   m       [D] centres (480,420), (330,150), (120,330) µm
kappa_220              0.1           S/m     [D] 1 mS/cm
kappa_230              0.03          S/m     [D] 0.3 mS/cm
i_app                  5             A/m²    [D] 0.5 mA/cm²
i0                     0.1028        A/m²    *assumed*: RT/(F R_int), R_int = 2500 Ω cm² [D]
alpha_a, alpha_c       0.5, 0.5      1       [D]
temperature            298.15        K       *assumed*
film_resistance        0             Ω m²    *assumed* (no film)
voltage                0.25          V       *assumed* (potentiostatic mode only)
=====================  ============  ======  ===========================================
"""

from __future__ import annotations

import math
import sys

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import ufl

from mpi4py import MPI

from femcm.app.guards import BYTES_PER_DOF, SizeEstimate, lagrange_nodes
from femcm.app.output import Output
from femcm.app.params import param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.constants import FARADAY, R_GAS, T_DEFAULT
from femcm.base.errors import check_range
from femcm.base.log import logger
from femcm.fem.phases import indicator, piecewise_constant
from femcm.fem.postprocess import disk_mean, extremes, field, integrate, low_order
from femcm.meshes import plate_with_inclusions as plate
from femcm.models.potential import AppliedCurrent, Electrode, FixedPotential, PotentialProblem
from femcm.physics.kinetics import ButlerVolmer
from femcm.solvers.stats import SolverStats

NAME = "inclusion_potential"

R_INTERFACE = 0.25
"""Interfacial resistance of [D], 2500 Ω cm² = 0.25 Ω m²; i0 = RT/(F R_int)."""


class Parameters(plate.PlateParameters):
    """Parameters of ``inclusion_potential`` (SI units)."""

    kappa_220: float = param(0.1, "S/m", "ionic conductivity of LLZO-220 (1 mS/cm) [D]", gt=0)
    kappa_230: float = param(0.03, "S/m", "ionic conductivity of LLZO-230 (0.3 mS/cm) [D]", gt=0)
    mode: str = param(
        "galvanostatic",
        "",
        "top boundary: applied current or fixed potential",
        choices=("galvanostatic", "potentiostatic"),
    )
    i_app: float = param(5.0, "A/m²", "applied (plating) current density, galvanostatic [D]", gt=0)
    voltage: float = param(0.25, "V", "cell voltage on the top, potentiostatic (*assumed*)", gt=0)
    i0: float = param(
        R_GAS * T_DEFAULT / (FARADAY * R_INTERFACE),
        "A/m²",
        "exchange current density, RT/(F·2500 Ω cm²) (*assumed* from [D])",
        gt=0,
    )
    alpha_a: float = param(0.5, "1", "anodic transfer coefficient [D]", gt=0, le=1)
    alpha_c: float = param(0.5, "1", "cathodic transfer coefficient [D]", gt=0, le=1)
    temperature: float = param.temperature(T_DEFAULT, " (*assumed*)")
    film_resistance: float = param(0.0, "Ω m²", "film resistance in series (*assumed* none)", ge=0)
    degree: int = param.degree(2, "of the potential")
    linear_solver: str = param.linear_solver(
        doc="linear solver of each Newton step (iterative: CG + GAMG)"
    )

    def validate(self) -> None:
        """The plate's checks; a physical temperature; a warning for absurd currents."""
        super().validate()
        check_range("temperature", self.temperature, ge=1.0, le=5000.0)
        if self.mode == "galvanostatic":
            volts = estimated_voltage(self)
            if volts > MAX_SENSIBLE_VOLTAGE:
                logger.warning(
                    "parameter i_app = %g A/m² gives a cell voltage of about %.3g V (ohmic + "
                    "Butler-Volmer estimate), far beyond the few volts of a real cell",
                    self.i_app,
                    volts,
                )

    @property
    def kinetics(self) -> ButlerVolmer:
        """The Butler–Volmer kinetics of the Li/LLZO interface."""
        return ButlerVolmer(
            self.i0, self.alpha_a, self.alpha_c, self.temperature, self.film_resistance
        )


MAX_SENSIBLE_VOLTAGE = 5.0
"""Cell voltage (V) above which a galvanostatic run gets a warning (physically absurd)."""


def estimated_voltage(p: Parameters) -> float:
    """Cell voltage from i_app without solving: bulk ohmic drop + film + Butler–Volmer η."""
    ohmic = p.i_app * (p.height / p.kappa_220 + p.film_resistance)
    alpha = min(p.alpha_a, p.alpha_c)
    eta = R_GAS * p.temperature / (alpha * FARADAY) * math.asinh(p.i_app / (2 * p.i0))
    return ohmic + eta


def estimate(p: Parameters) -> SizeEstimate:
    """Cells, DOFs and memory before meshing (for the size guard)."""
    cells = p.estimate_cells(0.0)
    dofs = lagrange_nodes(cells, p.degree)
    away = plate.estimate_cells(p.width, p.height, 0.0, (), p.mesh_size, p.mesh_size)
    name = "mesh_size" if away >= cells / 2 else "mesh_size_inclusion"
    return SizeEstimate(name, getattr(p, name), cells, dofs, dofs * BYTES_PER_DOF[p.linear_solver])


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Build the mesh, solve for φ, report voltage, overpotential and current focusing."""
    data = plate.plate_with_inclusions(
        comm, p.width, p.height, 0.0, p.inclusions, p.mesh_size, p.mesh_size_inclusion
    )
    msh, ct, ft = data.mesh, data.cell_tags, data.facet_tags
    tag = {name: g.tag for name, g in data.physical_groups.items()}
    kappa = {tag["llzo_220"]: p.kappa_220}
    if "llzo_230" in tag:
        kappa[tag["llzo_230"]] = p.kappa_230
    # Without a Li layer the interface facets carry the "bottom" tag (one tag per facet).
    electrode = Electrode(tag["bottom"], p.kinetics)
    if p.mode == "galvanostatic":
        top: AppliedCurrent | FixedPotential = AppliedCurrent(tag["top"], p.i_app)
    else:
        top = FixedPotential(tag["top"], p.voltage)
    stats = SolverStats()
    prob = PotentialProblem(
        msh,
        ft,
        kappa,
        [top, electrode],
        cell_tags=ct,
        degree=p.degree,
        solver=p.linear_solver,
        name=NAME,
        stats=stats,
    )
    its = prob.solve()
    stats.time_steps = 1

    ds = prob.ds
    k = p.degree
    i_vec = prob.current_density
    fields = {
        "phi": prob.phi,
        "current_density": field(i_vec, msh, "DG", k - 1, "current_density"),
        "phase": piecewise_constant(msh, ct, {t: float(t) for t in kappa}, name="phase"),
    }

    current_top = prob.current_into(top)
    current_interface = -prob.current_into(electrode)
    i_ref = p.i_app if p.mode == "galvanostatic" else current_top / p.width
    top_length = integrate(1.0 * ds(tag["top"]), comm)
    bottom_length = integrate(1.0 * ds(tag["bottom"]), comm)
    cell_voltage = integrate(prob.phi * ds(tag["top"]), comm) / top_length
    eta = prob.overpotential(electrode)
    on_interface = prob.owned_dofs_on([tag["bottom"]])
    eta_min, eta_max, _, _ = extremes(field(eta, msh, "Lagrange", k, "eta"), lambda x: on_interface)
    i_n = field(-prob.electrode_current(electrode), msh, "Lagrange", k, "interface_current")
    in_min, in_max, _, _ = extremes(i_n, lambda x: on_interface)
    scalars: dict[str, float] = {
        "cell_voltage": cell_voltage,
        "current_density_mean": current_top / p.width,
        "overpotential_mean": integrate(eta * ds(tag["bottom"]), comm) / bottom_length,
        "overpotential_min": eta_min,
        "overpotential_max": eta_max,
        "interface_current_min": in_min,
        "interface_current_max": in_max,
        "interface_current_min_ratio": in_min / i_ref,
        "interface_current_max_ratio": in_max / i_ref,
    }

    i_mag_expr = ufl.sqrt(ufl.inner(i_vec, i_vec))
    i_mag = field(i_mag_expr, msh, "DG", k - 1, "current_magnitude")
    mean_inside = disk_mean(msh, indicator(msh, ct, [tag.get("llzo_230")]), i_mag_expr)
    for n, inc in enumerate(p.inclusions):
        _, i_max, _, _ = extremes(i_mag, lambda x, inc=inc: plate.near_inclusion(x, inc))
        scalars |= {
            f"inclusion_{n}_current_max": i_max,
            f"inclusion_{n}_current_max_ratio": i_max / i_ref,
            f"inclusion_{n}_current_inside_ratio": mean_inside(*inc) / i_ref,
        }
    scalars |= {
        "current_top": current_top,
        "current_interface": current_interface,
        "charge_conservation_error": abs(current_top - current_interface) / abs(current_top),
    }
    logger_summary(scalars, its)

    output.write_fields(
        msh,
        lambda: [
            low_order(prob.phi),
            field(i_vec, msh, "DG", 0, "current_density"),
            fields["phase"],
        ],
    )
    dofs = prob.scalar_space.dofmap.index_map.size_global
    return Solution(fields, scalars, stats, dofs, plots=("phi", "current_density"))


def logger_summary(scalars: dict[str, float], its: int) -> None:
    """One progress line (rank 0, with ``-v``)."""
    logger.info(
        "%s: Newton %d its, V = %.6g V, interface current %.4g..%.4g A/m², conservation %.1e",
        NAME,
        its,
        scalars["cell_voltage"],
        scalars["interface_current_min"],
        scalars["interface_current_max"],
        scalars["charge_conservation_error"],
    )


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
