r"""Kinetic Monte Carlo of Li-ion hopping near a secondary-phase strip, with its continuum twin [D].

Dixit et al., Nature Materials (2022), doi:10.1038/s41563-022-01333-y, Methods "Kinetic Monte
Carlo model" and Fig. 3b.

**Lattice model.** A 2D square lattice (spacing a) of ``width`` × ``height`` with the secondary
(230) phase as a strip of ``strip_width`` through the middle (along y for ``strip_orientation =
vertical``), the rest bulk (220). Ions start at random on a fraction ``occupancy`` of the sites
(2 % in [D]). An ion hops to each empty nearest neighbour at

.. math::

    k_i = \nu \exp\!\left(-\frac{E_{a,i}}{k_B T}\right),

i the phase of the site it *leaves*. Rejection-free (BKL) selection: an event with probability
:math:`k/k_\mathrm{tot}`, time step :math:`-\ln r / k_\mathrm{tot}` (``femcm.models.kmc_events``).
Boundaries: periodic along the strip *and* across it (*assumed*; [D] does not say. Periodic
across keeps every site equivalent within its phase; with origin-only rates the equilibrium is
the same for reflecting walls). ``replicas`` independent runs (seeds spawned from ``seed``)
are spread over the MPI ranks; figures are means over replicas with standard errors
(std/√R), identical on any number of ranks.

**Closed form** (detailed balance, ``femcm.physics.lattice_gas``): per phase

.. math::

    \frac{n_i}{1-n_i} = A \exp\!\left(\frac{E_{a,i}}{k_B T}\right),\qquad
    \sum_i f_i n_i = \bar n,

so the slower phase holds more ions; dilute, :math:`n_2/n_1 \to k_1/k_2`. It holds at every
site, next to the phase boundary too.

**Continuum counterpart.** The same cross-section as a c–μ problem (``femcm.models.
chemomechanics``, no mechanics): an ideal lattice gas (regular solution with χ = 0) with a
site energy per phase as external potential,

.. math::

    c_\max \partial_t c = \nabla\cdot(M\nabla\mu),\quad
    \mu = RT\ln\frac{c}{1-c} - N_A E_{a,i},\quad M = \frac{D_1 c_\max}{RT} c(1-c),

zero flux, marched from the uniform :math:`c = \bar n` to steady state (uniform μ: the closed
form with :math:`A = e^{\mu/RT}`). The 1D mesh across the strip has its vertices on the lattice
sites (one period, [a/2, L + a/2]) and the site energy is nodal (P1), so with the lumped
μ equation and lumped storage every vertex satisfies the closed form exactly, the mass
constraint included; the steady state matches it to the Newton tolerance. (A DG0 site energy
would give the two interface vertices an averaged energy and shift A by O(a/L).) The transient
is not the KMC's (M is the exclusion-process mobility of the bulk); only the steady state is
compared.

**Reports.** ``occupancy_bulk_mean``, ``occupancy_secondary_mean`` (time-weighted after
``equilibration_events``) and ``occupancy_ratio`` (secondary/bulk, per replica), each with
``*_stderr``, ``*_closed_form`` and ``*_deviation`` (in standard errors); ``*_fe`` and
``fe_closed_form_error`` (max relative nodal difference, continuum vs closed form);
``simulated_time`` and ``averaging_time`` (s, per replica), ``events_per_second`` (per core,
event loops only; machine dependent), ``ions``, ``sites``. ``occupancy_profile.csv``: position
across the strip (m), phase, KMC mean and standard error, continuum, closed form. Fields:
``occupancy`` (KMC, DG0 on the lattice cells) in ``kmc.xdmf``; ``c``, ``mu`` (continuum) in
``continuum.xdmf``. With ``--plot``: ``occupancy.png`` (map) and ``occupancy_profile.png``.

=======================  =================  ====  ===============================================
parameter                default            unit  source
=======================  =================  ====  ===============================================
width, height            60e-9              m     [D]
strip_width              7e-9               m     [D] (secondary phase, in the middle)
lattice_spacing          0.5e-9             m     *assumed*
E_bulk                   0.30 eV            J     *assumed* (4.8065e-20 J)
E_secondary              E_bulk + 0.0309 eV J     *assumed*: k_BT ln(1/0.3) at 298 K, from the
                                                  conductivities 1 : 0.3 mS/cm [D]
attempt_frequency        1e13               1/s   *assumed*
temperature              298                K     *assumed* (room temperature)
occupancy                0.02               1     [D]
events                   4e6                1     [D] (equilibration included)
equilibration_events     2e6                1     *assumed* (see below)
seed, replicas           2022, 8            1     *assumed*
=======================  =================  ====  ===============================================

Equilibration: from the uniform start the strip fills slowly (measured on [D]'s lattice with
12 replicas, ``benchmarks/bench_kmc.py``): its deficit against the closed form is ~35 % after
2.5·10⁵ events, ~5–8 % after 10⁶ and within the noise (~1–2 %) after 2·10⁶. Averaging from
10⁶ on would bias a 4·10⁶-event run by about one standard error of 8 replicas.

Barriers are in joules like every energy in femcm (SI at the interface): 1 eV =
1.602176634e-19 J. A value typed in eV (below 1e-18) is refused by the range check.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
from dolfinx import fem, mesh

from mpi4py import MPI

from femcm.app.guards import SizeEstimate
from femcm.app.output import Output
from femcm.app.params import ParameterSet, param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.constants import E_CHARGE, K_B, N_A
from femcm.base.errors import InputError
from femcm.fem.postprocess import owned_values
from femcm.models import kmc
from femcm.models.chemomechanics import Chemistry, ChemoMechanics, Scales
from femcm.models.kmc import ReplicaResult, mean_stderr, run_replicas
from femcm.models.kmc_lattice import Lattice, strip_lattice
from femcm.physics.chemistry import DegenerateMobility, RegularSolution, mobility_from_diffusivity
from femcm.physics.lattice_gas import (
    equilibrium_occupancy,
    hop_rate,
    site_energy_potential,
    tracer_diffusivity,
)
from femcm.solvers.stats import SolverStats
from femcm.solvers.timestepping import StepControl, march

NAME = "ion_occupancy_kmc"
CHECKPOINTS = True  # OUT/checkpoint/: one file per finished replica; ``--restart``

T_ROOM = 298.0
E_BULK = round(0.30 * E_CHARGE, 30)  # 4.806529902e-20 J
E_SECONDARY = E_BULK + K_B * T_ROOM * math.log(1 / 0.3)
MAX_SITES = 1 << 22
"""Largest lattice (sites): event lists take ~20 bytes a site and class."""


class Parameters(ParameterSet):
    """Parameters of ``ion_occupancy_kmc`` (SI units)."""

    width: float = param(60e-9, "m", "domain size along x [D]", gt=0)
    height: float = param(60e-9, "m", "domain size along y [D]", gt=0)
    strip_width: float = param(7e-9, "m", "secondary-phase strip width [D]", gt=0)
    lattice_spacing: float = param(0.5e-9, "m", "square-lattice spacing a (*assumed*)", gt=0)
    E_bulk: float = param(
        E_BULK, "J", "hop barrier in the bulk (220) phase, 0.30 eV (*assumed*)", gt=0, lt=1e-18
    )
    E_secondary: float = param(
        E_SECONDARY,
        "J",
        "hop barrier in the secondary (230) phase: E_bulk + k_BT ln(1/0.3) (*assumed* from [D])",
        gt=0,
        lt=1e-18,
    )
    attempt_frequency: float = param(1e13, "1/s", "attempt frequency ν (*assumed*)", gt=0)
    temperature: float = param.temperature(T_ROOM, " (*assumed*)", le=5000)
    occupancy: float = param(0.02, "1", "mean ion occupancy of the sites [D]", gt=0, lt=1)
    events: int = param(4_000_000, "1", "KMC events per replica, equilibration included [D]", gt=0)
    equilibration_events: int = param(
        2_000_000, "1", "events before time averaging starts (*assumed*)", ge=0
    )
    seed: int = param(2022, "1", "base seed of the replicas' random streams", ge=0, lt=2**63)
    replicas: int = param(8, "1", "independent KMC runs (spread over MPI ranks)", ge=1, le=4096)
    strip_orientation: str = param(
        "vertical", "", "strip along y (vertical) or x (horizontal)",
        choices=("vertical", "horizontal"),
    )  # fmt: skip

    def validate(self) -> None:
        """Lattice spacing divides the domain and strip; strip narrower; sane sizes."""
        if self.equilibration_events >= self.events:
            raise InputError(
                f"parameter equilibration_events = {self.equilibration_events} is out of range: "
                f"must be < events = {self.events}"
            )
        if self.events > 10**11:
            raise InputError(f"parameter events = {self.events} is out of range: must be <= 1e11")
        sites = (self.width / self.lattice_spacing) * (self.height / self.lattice_spacing)
        if sites > MAX_SITES:
            raise InputError(
                f"parameter lattice_spacing = {self.lattice_spacing:g} m gives {sites:.3g} sites:"
                f" must give <= {MAX_SITES}"
            )
        lat = self.lattice()
        ions = round(self.occupancy * lat.n_sites)
        if not 0 < ions < lat.n_sites:
            raise InputError(
                f"parameter occupancy = {self.occupancy:g} gives {ions} ions on {lat.n_sites} "
                "sites: must give at least one ion and one empty site"
            )

    def lattice(self) -> Lattice:
        """The strip lattice (phase 0 bulk, 1 secondary); InputError for a bad geometry."""
        return strip_lattice(
            self.width, self.height, self.strip_width, self.lattice_spacing, self.strip_orientation
        )

    @property
    def barriers(self) -> tuple[float, float]:
        """(E_bulk, E_secondary), J."""
        return (self.E_bulk, self.E_secondary)


def estimate(p: Parameters) -> SizeEstimate:
    """Size from the parameters: sites, continuum DOFs, bytes (engine + gathered replicas)."""
    nx, ny = p.width / p.lattice_spacing, p.height / p.lattice_spacing
    sites = nx * ny
    across = nx if p.strip_orientation == "vertical" else ny
    # event lists, positions, neighbours, clocks (~100 B a site) + every replica's map on
    # every rank (9 B a site) + the lattice field (~200 B a cell)
    return SizeEstimate("lattice_spacing", p.lattice_spacing, sites, 4 * (across + 1),
                        sites * (300 + 9 * p.replicas))  # fmt: skip


# --- continuum counterpart ------------------------------------------------------------------


def solve_continuum(
    band: np.ndarray,
    spacing: float,
    barriers: Sequence[float],
    occupancy: float,
    temperature: float,
    attempt_frequency: float,
    comm: MPI.Comm,
    stats: SolverStats | None = None,
) -> tuple[ChemoMechanics, np.ndarray, np.ndarray]:
    """Steady ideal lattice gas with per-phase site energies across the strip (1D, zero flux).

    Args:
        band: phase index of each lattice site across the strip (one period).
        spacing: lattice spacing a, m (the vertices sit on the sites).
        barriers: E_a per phase, J (the site energy is −E_a).
        occupancy: mean occupancy (the initial uniform c).
        temperature: K.
        attempt_frequency: ν, 1/s (sets the mobility, hence only the time scale).
        comm: communicator of the mesh.
        stats: solver totals to add to.

    Returns:
        (model at steady state, vertex positions (N,) m, c at the vertices (N,)), the arrays
        the same on every rank, ordered by position; vertex N (the periodic image of vertex 0)
        is left out.
    """
    n = len(band)
    length = n * spacing
    msh = mesh.create_interval(comm, n, [0.5 * spacing, length + 0.5 * spacing])
    energy = np.asarray(barriers, dtype=float)[np.asarray(band)]
    V = fem.functionspace(msh, ("Lagrange", 1))
    mu_site = fem.Function(V, name="site_potential")
    mu_site.interpolate(
        lambda x: site_energy_potential(energy[np.rint(x[0] / spacing - 0.5).astype(int) % n])
    )
    c_max = 1.0 / (N_A * spacing**3)  # one site per a³
    d_bulk = tracer_diffusivity(attempt_frequency, spacing, float(energy[0]), temperature)
    chem = Chemistry(
        free_energy=RegularSolution(chi=0.0, T=temperature),
        mobility=DegenerateMobility(mobility_from_diffusivity(d_bulk, c_max, temperature)),
        c_max=c_max,
        external_potential=mu_site,
    )
    scales = Scales.natural(length, chem)
    model = ChemoMechanics(msh, chem, scales=scales, stats=stats, name="ion_occupancy_continuum")
    model.set_initial(occupancy)
    t0 = scales.time  # L²/D_bulk; the slowest mode decays as exp(−π² t/t0) at most
    control = StepControl(dt_initial=1e-2 * t0, dt_min=1e-12 * t0, grow=4.0, easy_iterations=6)
    march(model, control, 100.0 * t0)
    x, c = owned_values(model.fields()["c"])
    xs = np.concatenate(comm.allgather(x[:, 0]))
    cs = np.concatenate(comm.allgather(c[:, 0]))
    order = np.argsort(xs)[:n]  # owned dofs are unique; drop vertex N
    return model, xs[order], cs[order]


# --- the problem ------------------------------------------------------------------------------


def _lattice_field(lat: Lattice, values: np.ndarray, comm: MPI.Comm, name: str) -> fem.Function:
    """Site values as a DG0 field on a quadrilateral mesh with one cell per site."""
    nx, ny = lat.shape
    a = lat.spacing
    msh = mesh.create_rectangle(
        comm, [[0.0, 0.0], [nx * a, ny * a]], [nx, ny], mesh.CellType.quadrilateral
    )
    V = fem.functionspace(msh, ("DG", 0))
    f = fem.Function(V, name=name)

    def site_value(x: np.ndarray) -> np.ndarray:
        i = np.clip(np.floor(x[0] / a).astype(int), 0, nx - 1)
        j = np.clip(np.floor(x[1] / a).astype(int), 0, ny - 1)
        return values[i, j]

    f.interpolate(site_value)
    return f


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Run the KMC replicas and the continuum steady state; compare with the closed form."""
    lat = p.lattice()
    ions = round(p.occupancy * lat.n_sites)
    mean_occ = ions / lat.n_sites
    rates = hop_rate(p.attempt_frequency, p.barriers, p.temperature)
    ck = output.checkpoints  # each finished replica is saved; a restart runs only the rest
    done = {r: ReplicaResult.from_arrays(a) for r, a in ck.pieces().items()}
    reps = run_replicas(
        lat, rates, ions, p.events, p.equilibration_events, p.seed, p.replicas, comm, done=done,
        on_done=lambda res: ck.save_piece(res.replica, res.as_arrays()),
    )  # fmt: skip
    closed = equilibrium_occupancy(p.barriers, lat.site_counts, mean_occ, p.temperature)
    bulk = kmc.estimate([r.phase_occupancy[0] for r in reps])
    secondary = kmc.estimate([r.phase_occupancy[1] for r in reps])
    ratio = kmc.estimate([r.phase_occupancy[1] / r.phase_occupancy[0] for r in reps])
    # profile across the strip: average along it
    along = 1 if p.strip_orientation == "vertical" else 0
    across_phase = lat.phases[:, 0] if along == 1 else lat.phases[0, :]
    prof_mean, prof_se = mean_stderr(np.array([r.occupancy.mean(axis=along) for r in reps]))
    stats = SolverStats()
    model, centres, c_fe = solve_continuum(
        across_phase,
        p.lattice_spacing,
        p.barriers,
        mean_occ,
        p.temperature,
        p.attempt_frequency,
        comm,
        stats,
    )
    closed_sites = closed[across_phase]
    fe_error = float(np.max(np.abs(c_fe / closed_sites - 1.0)))
    fe_phase = [float(np.mean(c_fe[across_phase == k])) for k in (0, 1)]
    loop_seconds = sum(r.seconds for r in reps)
    scalars = {
        "occupancy_bulk_mean": bulk.mean,
        "occupancy_bulk_stderr": bulk.stderr,
        "occupancy_bulk_closed_form": closed[0],
        "occupancy_bulk_deviation": bulk.deviation(closed[0]),
        "occupancy_bulk_fe": fe_phase[0],
        "occupancy_secondary_mean": secondary.mean,
        "occupancy_secondary_stderr": secondary.stderr,
        "occupancy_secondary_closed_form": closed[1],
        "occupancy_secondary_deviation": secondary.deviation(closed[1]),
        "occupancy_secondary_fe": fe_phase[1],
        "occupancy_ratio": ratio.mean,
        "occupancy_ratio_stderr": ratio.stderr,
        "occupancy_ratio_closed_form": closed[1] / closed[0],
        "occupancy_ratio_deviation": ratio.deviation(closed[1] / closed[0]),
        "fe_closed_form_error": fe_error,
        "simulated_time": float(np.mean([r.time for r in reps])),
        "averaging_time": float(np.mean([r.averaging_time for r in reps])),
        "events_per_second": sum(r.events for r in reps) / loop_seconds,
        "ions": float(ions),
        "sites": float(lat.n_sites),
    }
    output.write_csv(
        "occupancy_profile.csv",
        ["position", "phase", "kmc_mean", "kmc_stderr", "continuum", "closed_form"],
        np.column_stack([centres, across_phase, prof_mean, prof_se, c_fe, closed_sites]).tolist(),
    )
    occupancy = _lattice_field(lat, np.mean([r.occupancy for r in reps], axis=0), comm, "occupancy")
    fe_fields = model.fields()
    kmc_writer = output.fields(occupancy.function_space.mesh, "kmc")
    kmc_writer.write([occupancy])
    kmc_writer.close()
    fe_writer = output.fields(model.msh, "continuum")
    fe_writer.write([fe_fields["c"], fe_fields["mu"]])
    fe_writer.close()
    axis = "x" if along == 1 else "y"

    def draw_profile(path: Path) -> None:
        save_profile_png(path, centres, prof_mean, prof_se, c_fe, closed_sites, axis)

    fields = {"occupancy": occupancy, "c": fe_fields["c"], "mu": fe_fields["mu"]}
    return Solution(
        fields,
        scalars,
        stats,
        model.dofs,
        plots=("occupancy",),
        charts={"occupancy_profile.png": draw_profile},
    )


def save_profile_png(
    path: Path,
    x: np.ndarray,
    kmc: np.ndarray,
    kmc_se: np.ndarray,
    continuum: np.ndarray,
    closed: np.ndarray,
    axis: str,
) -> None:
    """Occupancy across the strip: KMC mean ± 2 standard errors, continuum, closed form."""
    import pyvista as pv

    pv.OFF_SCREEN = True
    xn = x * 1e9
    chart = pv.Chart2D(x_label=f"{axis} [nm]", y_label="occupancy")
    if np.all(np.isfinite(kmc_se)):
        chart.area(xn, kmc - 2 * kmc_se, kmc + 2 * kmc_se, color=(0.55, 0.7, 1.0, 0.5))
    chart.line(xn, closed, color="black", width=1.5, style="--", label="closed form")
    chart.line(xn, kmc, color="tab:blue", width=2.0, label="KMC (± 2 s.e.)")
    chart.scatter(xn, continuum, color="tab:red", size=6, style="o", label="continuum (FE)")
    chart.title = "Ion occupancy across the secondary-phase strip"
    plotter = pv.Plotter(off_screen=True, window_size=(1000, 650))
    plotter.add_chart(chart)
    plotter.screenshot(str(path))
    plotter.close()


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
