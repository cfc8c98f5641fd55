r"""Phase separation (Cahn–Hilliard) with a pluggable free energy, mobility and optional mechanics.

The generic c–μ(–u) capability, on a rectangle or any 2D gmsh
geometry. Mixed form, split into two second-order equations [Cahn & Hilliard 1958; C]:

.. math::

    c_\max\,\partial_t c = \nabla\cdot(M(c)\nabla\mu),\qquad
    \mu = g'(c) - \sigma:\Omega/3 - \frac{\kappa}{c_\max}\nabla^2 c,\qquad
    (\nabla\cdot\sigma = 0 \text{ when } \texttt{mechanics}),

zero flux everywhere, with the regular-solution :math:`g = RT[c\ln c + (1-c)\ln(1-c) +
\chi c(1-c)]` or the polynomial double well :math:`c_\max g = \rho_s (c-c_\alpha)^2
(c_\beta-c)^2`, and a constant, degenerate :math:`c(1-c)`, or [C]'s eq. (15) mobility, all given
by the diffusivity :math:`D_0` (:math:`M_0 = D_0 c_\max/RT`). Time: variable-step BDF2
(started by one backward-Euler step) with Δt from an estimate of the local time error of c
against ``atol + rtol·RMS(c − mean c)`` (``femcm.solvers.timestepping``; cut and retried on
a failed Newton solve): spinodal transients are followed to within 1 % in F, and coarsening
spans decades of time. ``time_order = 1`` gives backward Euler (with θ < 1 the θ-method);
``rtol = atol = 0`` the older control by Newton iterations (``dt_grow``, ``easy_iterations``);
``target_change`` is an optional extra cap on the RMS change of c per step.
Mechanics (option): plane strain, isotropic (E, ν), concentration eigenstrain
:math:`(c - c_\mathrm{ref}) c_\max\Omega/3`, rollers on the left and bottom edges.

The initial concentration is a NumPy expression of ``x``, ``y`` (metres; also ``pi``,
``width``, ``height``, ``sin``, ``cos``, ``exp``, ``tanh``, ``sqrt``, ``where``, ``abs``) plus
seeded noise: a random Fourier series (``noise_modes`` modes, wavelengths down to
``noise_wavelength``), a smooth function of position, so it is the same on any number of ranks.

Reports: ``free_energy_*`` (J/m, per unit thickness; chemical, gradient, elastic, total) at the
end, ``c_integral`` (m²) and its relative drift, ``energy_steady_time`` (s: the time after which
|dF/dt|/max|F| stays below ``energy_tol``; NaN if never), ``steps``, ``rejected_steps``,
``newton_per_step``, ``c_min``, ``c_max``, ``t_final``; with χ > 2 also ``binodal_low/high``
(the common tangent). ``free_energy.csv`` (next to result.json): the series at every accepted
step (time, total, chemical, gradient, elastic, c_integral); ``steps.csv``: per accepted step
its time, Δt, BDF order, Newton iterations, error estimate / tolerance and the rejected
attempts before it (``-v`` prints the same per step).

=====================  ===========  ========  ==================================================
parameter              default      unit      source
=====================  ===========  ========  ==================================================
width, height          1e-6         m         *assumed*
mesh_size              1.25e-8      m         *assumed* (resolves the interface, ~3 cells)
free_energy            regular      -         regular solution [C] or polynomial
chi                    3.0          1         *assumed* (> 2: miscibility gap)
rho_s, c_alpha, c_beta 1e7, .2, .8  J/m³, 1   *assumed* polynomial double well
c_max                  1e4          mol/m³    *assumed*
kappa                  1.55e-8      J/m       *assumed* (√(κ/(c_max RT)) = 25 nm)
mobility, D0           degenerate,  -, m²/s   *assumed*
                       1e-14
initial                "0.5"        -         expression of x, y (m)
noise                  0.02         1         amplitude of the seeded noise
t_end                  100          s         = L²/D0
rtol, atol             1e-3, 1e-6   1         F(t) within 1 % of a time-converged run
=====================  ===========  ========  ==================================================
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
from dolfinx import mesh

from mpi4py import MPI

from femcm.app.guards import BYTES_PER_DOF, SizeEstimate, lagrange_nodes
from femcm.app.meshfile import read_msh
from femcm.app.output import Output
from femcm.app.params import ParameterSet, param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.errors import InputError
from femcm.base.expressions import parse_expression
from femcm.fem.bcs import fix_component
from femcm.fem.postprocess import extremes
from femcm.fem.stiffness import Stiffness
from femcm.models.chemomechanics import Chemistry, ChemoMechanics, Mechanics, Scales, SolverOptions
from femcm.physics.chemistry import (
    CojocaruMobility,
    ConstantMobility,
    DegenerateMobility,
    DoubleWell,
    FreeEnergy,
    Mobility,
    RegularSolution,
    mobility_from_diffusivity,
)
from femcm.physics.eigenstrains import ConcentrationEigenstrain, isotropic_omega
from femcm.solvers.bounds import Bounds
from femcm.solvers.stats import SolverStats
from femcm.solvers.timestepping import StepControl

NAME = "cahn_hilliard"
CHECKPOINTS = True  # time-dependent: OUT/checkpoint/, ``--restart``


class Parameters(ParameterSet):
    """Parameters of ``cahn_hilliard`` (SI units)."""

    width: float = param(1e-6, "m", "domain width (*assumed*)", gt=0)
    height: float = param(1e-6, "m", "domain height (*assumed*)", gt=0)
    mesh_size: float = param(1.25e-8, "m", "element size of the rectangle", gt=0)
    mesh_file: str = param("", "", "2D gmsh .msh instead of the rectangle (zero flux all round)")
    free_energy: str = param(
        "regular", "", "homogeneous free energy", choices=("regular", "polynomial")
    )
    chi: float = param(3.0, "1", "regular-solution interaction parameter χ", ge=-50, le=50)
    temperature: float = param.temperature()
    rho_s: float = param(1e7, "J/m^3", "double-well height ρ_s", gt=0)
    c_alpha: float = param(0.2, "1", "double-well composition c_α", ge=0, lt=1)
    c_beta: float = param(0.8, "1", "double-well composition c_β", gt=0, le=1)
    c_max: float = param(1e4, "mol/m^3", "site density c_max (*assumed*)", gt=0)
    kappa: float = param(1.55e-8, "J/m", "gradient-energy coefficient κ", ge=0)
    mobility: str = param(
        "degenerate",
        "",
        "mobility M(c): M0, M0 c(1-c), or [C] eq. (15)",
        choices=("constant", "degenerate", "cojocaru"),
    )
    D0: float = param(1e-14, "m^2/s", "diffusivity; M0 = D0 c_max / RT", gt=0)
    initial: str = param("0.5", "", "initial c: expression of x, y (m), or a constant")
    noise: float = param(0.02, "1", "amplitude of the seeded noise added to c", ge=0, lt=0.5)
    noise_seed: int = param(1, "1", "seed of the noise", ge=0)
    noise_modes: int = param(48, "1", "Fourier modes of the noise", ge=1)
    noise_wavelength: float = param(5e-8, "m", "shortest wavelength of the noise", gt=0)
    t_end: float = param(100.0, "s", "end time", gt=0)
    output_times: tuple[float, ...] = param((), "s", "times at which fields are written")
    dt_initial: float = param.dt_initial(1e-4)
    dt_min: float = param.dt_min(1e-9)
    dt_max: float = param.dt_max()
    rtol: float = param(1e-3, "1", "local time error of c relative to RMS(c - mean c)", ge=0, lt=1)
    atol: float = param(1e-6, "1", "absolute tolerance of the local time error of c", ge=0, lt=1)
    time_order: int = param(2, "1", "2: BDF2, 1: backward Euler (θ-method)", ge=1, le=2)
    max_ratio: float = param(
        2.0, "1", "largest ratio of successive time steps (BDF2 stable below 4.864)", gt=1, lt=4.864
    )
    dt_grow: float = param(1.5, "1", "growth factor after an easy step (rtol = atol = 0)", ge=1)
    target_change: float = param(
        0.0, "1", "RMS change of c per step that caps the time step (0: no cap)", ge=0, lt=1
    )
    easy_iterations: int = param(
        4, "1", "Newton iterations at or below which Δt grows (rtol = atol = 0)", ge=1
    )
    theta: float = param(1.0, "1", "θ of the θ-method (needs time_order = 1)", ge=0.5, le=1)
    steady_tol: float = param(0.0, "1/s", "stop when max|Δc|/Δt falls below (0: never)", ge=0)
    energy_tol: float = param(1e-6, "1/s", "|dF/dt|/max|F| below which F has stopped", gt=0)
    mechanics: bool = param(False, "", "solve for the displacement too")
    E: float = param.E(100e9, "(mechanics)")
    nu: float = param.nu(0.3, "(mechanics)")
    omega: float = param(1e-6, "m^3/mol", "partial molar volume Ω (isotropic)")
    c_ref: float = param(0.5, "1", "stress-free concentration", ge=0, le=1)
    linear_solver: str = param.linear_solver()
    bounds: str = param("damped", "", "keeping c in (0, 1)", choices=tuple(Bounds))

    def validate(self) -> None:
        """Cross-parameter checks."""
        if self.c_beta <= self.c_alpha:
            raise InputError(
                f"parameter c_beta = {self.c_beta:g} is out of range: must be > c_alpha"
            )
        if self.mesh_size > min(self.width, self.height) / 2:
            raise InputError(
                f"parameter mesh_size = {self.mesh_size:g} is out of range: "
                f"must be <= min(width, height)/2 = {min(self.width, self.height) / 2:g}"
            )
        self.check_time_steps()
        if self.theta != 1 and self.time_order != 1:
            raise InputError(
                f"parameter theta = {self.theta:g} is out of range: must be 1 unless time_order = 1"
            )
        if self.mesh_file and not Path(self.mesh_file).is_file():
            raise InputError(f"parameter mesh_file = {self.mesh_file!r}: no such file")
        if self.mesh_file and self.mechanics:
            raise InputError("parameter mechanics = true needs the rectangle (mesh_file = '')")
        if self.kappa == 0 and self.mobility != "cojocaru":
            raise InputError(
                "parameter kappa = 0 is out of range: must be > 0 unless mobility = cojocaru"
            )
        if not all(0 < t <= self.t_end for t in self.output_times):  # NaN fails too
            raise InputError(
                f"parameter output_times = {self.output_times!r} is out of range: "
                f"each must be in (0, t_end = {self.t_end:g}]"
            )
        if self.mobility == "cojocaru" and free_energy(self).convexity_error:
            raise InputError(free_energy(self).convexity_error + " with mobility = cojocaru")
        if self.noise_modes > MAX_NOISE_MODES:
            raise InputError(
                f"parameter noise_modes = {self.noise_modes} is out of range: "
                f"must be <= {MAX_NOISE_MODES}"
            )
        shortest = 1e-6 * max(self.width, self.height)
        if self.noise_wavelength < shortest:
            raise InputError(
                f"parameter noise_wavelength = {self.noise_wavelength:g} is out of range: "
                f"must be >= 1e-6 max(width, height) = {shortest:g}"
            )
        _initial_function(self)  # parse and sample the expression now, fail early


INITIAL_NAMES = ("x", "y", "width", "height")
"""Names the ``initial`` expression may use (besides ``pi`` and the functions of
:data:`femcm.base.expression_names.FUNCTIONS`)."""

MAX_NOISE_MODES = 10_000
"""Largest ``noise_modes``: each mode costs one cosine per mesh vertex."""


def _initial_function(p: Parameters, samples: int = 65):
    """c0(x) = expression(x, y) + seeded Fourier noise, as a callable of x (3, n).

    The expression is parsed by :mod:`femcm.base.expressions` (a whitelist, never ``eval``)
    and c0 is evaluated on a ``samples`` × ``samples`` grid of [0, width] × [0, height]:
    a value that is not finite or not in (0, 1) is an :class:`InputError` naming ``initial``.
    """
    expr = parse_expression("initial", p.initial, INITIAL_NAMES)
    rng = np.random.default_rng(p.noise_seed)
    kmax = 2 * np.pi / p.noise_wavelength
    k = rng.uniform(-kmax, kmax, size=(p.noise_modes, 2))
    phase = rng.uniform(0, 2 * np.pi, size=p.noise_modes)
    amp = p.noise * np.sqrt(2.0 / p.noise_modes)

    def c0(x: np.ndarray) -> np.ndarray:
        base = expr(x=x[0], y=x[1], width=p.width, height=p.height)
        noise = np.zeros(x.shape[1])
        for i in range(0, p.noise_modes, 256):  # bounded temporaries: 256 modes at a time
            noise += np.cos(k[i : i + 256] @ x[:2] + phase[i : i + 256, None]).sum(axis=0)
        return base + amp * noise

    s = np.linspace(0.0, 1.0, samples)
    X, Y = np.meshgrid(s * p.width, s * p.height)
    pts = np.vstack([X.ravel(), Y.ravel(), np.zeros(X.size)])
    values = c0(pts)
    bad = ~((values > 0) & (values < 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        noise = f" plus noise {p.noise:g}" if p.noise else ""
        raise InputError(
            f"parameter initial = {p.initial!r}{noise} gives c = {values[i]:.4g} at "
            f"(x, y) = ({pts[0, i]:.4g}, {pts[1, i]:.4g}) m: must be in (0, 1)"
        )
    return c0


def free_energy(p: Parameters) -> FreeEnergy:
    """The chosen homogeneous free energy."""
    if p.free_energy == "regular":
        return RegularSolution(p.chi, p.temperature)
    return DoubleWell(p.rho_s, p.c_alpha, p.c_beta, p.c_max)


def mobility(p: Parameters) -> Mobility:
    """The chosen mobility, all from D0."""
    m0 = mobility_from_diffusivity(p.D0, p.c_max, p.temperature)
    return {
        "constant": lambda: ConstantMobility(m0),
        "degenerate": lambda: DegenerateMobility(m0),
        "cojocaru": lambda: CojocaruMobility(p.D0, p.c_max, p.temperature),
    }[p.mobility]()


def build_mesh(p: Parameters, comm: MPI.Comm) -> mesh.Mesh:
    """The rectangle [0, width] × [0, height], or the gmsh mesh of ``mesh_file``."""
    if p.mesh_file:
        return read_msh(p.mesh_file, comm, gdim=2).mesh  # checked on rank 0 first
    nx = max(2, round(p.width / p.mesh_size))
    ny = max(2, round(p.height / p.mesh_size))
    return mesh.create_rectangle(comm, [[0.0, 0.0], [p.width, p.height]], [nx, ny])


def estimate(p: Parameters) -> SizeEstimate | None:
    """Cells, DOFs and memory of the rectangle before meshing (size guard); None with a file."""
    if p.mesh_file:
        return None
    nx = max(2, round(p.width / p.mesh_size))
    ny = max(2, round(p.height / p.mesh_size))
    cells = 2.0 * nx * ny
    dofs = 2.0 * (nx + 1) * (ny + 1) + (lagrange_nodes(cells, 2, 2) if p.mechanics else 0.0)
    bytes_ = dofs * BYTES_PER_DOF[p.linear_solver]
    return SizeEstimate("mesh_size", p.mesh_size, cells, dofs, bytes_)


def build_model(p: Parameters, msh: mesh.Mesh, stats: SolverStats) -> ChemoMechanics:
    """Assemble the model from its typed parts."""
    chem = Chemistry(free_energy(p), mobility(p), p.c_max, kappa=p.kappa)
    mech = None
    stress = 1.0
    if p.mechanics:
        stress = p.E
        stiff = Stiffness(msh, None, {0: p.isotropic()}, scale=stress)
        facets = _edges(msh, p)
        mech = Mechanics(
            stiffness=stiff,
            bcs=lambda V: [fix_component(V, facets, 1, 0), fix_component(V, facets, 2, 1)],
            eigenstrains=(ConcentrationEigenstrain(isotropic_omega(p.omega), p.c_max, p.c_ref),),
        )
    return ChemoMechanics(
        msh,
        chem,
        mech,
        scales=Scales.natural(max(p.width, p.height), chem, stress),
        solver=SolverOptions(linear_solver=p.linear_solver, bounds=p.bounds),
        theta=p.theta,
        stats=stats,
        name=NAME,
    )


def _edges(msh: mesh.Mesh, p: Parameters) -> mesh.MeshTags:
    """Facet tags 1 (left, x = 0) and 2 (bottom, y = 0)."""
    fdim = msh.topology.dim - 1
    tol = 1e-9 * max(p.width, p.height)
    left = mesh.locate_entities_boundary(msh, fdim, lambda x: np.isclose(x[0], 0.0, atol=tol))
    bottom = mesh.locate_entities_boundary(msh, fdim, lambda x: np.isclose(x[1], 0.0, atol=tol))
    facets = np.concatenate([left, bottom]).astype(np.int32)
    values = np.concatenate([np.full(len(left), 1), np.full(len(bottom), 2)]).astype(np.int32)
    order = np.argsort(facets, kind="stable")
    facets, values = facets[order], values[order]
    facets, first = np.unique(facets, return_index=True)  # the corner facet count once
    return mesh.meshtags(msh, fdim, facets, values[first])


def steady_time(series: np.ndarray, tol: float) -> float:
    """Time after which |ΔF/Δt| / max|F| stays below ``tol`` (series rows: t, F); NaN if never."""
    t, F = series[:, 0], series[:, 1]
    if len(t) < 2:
        return math.nan
    scale = max(float(np.abs(F).max()), 1e-300)
    rate = np.abs(np.diff(F)) / np.diff(t) / scale
    above = np.nonzero(rate >= tol)[0]
    if len(above) == 0:
        return float(t[0])
    last = above[-1] + 1
    return float(t[last]) if last < len(t) - 1 else math.nan


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Build, march to t_end (or steady state), report energies and composition."""
    msh = build_mesh(p, comm)
    stats = SolverStats()
    model = build_model(p, msh, stats)
    model.set_initial(_initial_function(p))
    writer = output.fields(msh)
    rows: list[list[float]] = []

    def record(t: float) -> None:
        e = model.energies()
        rows.append([t, e["total"], e["chemical"], e["gradient"], e["elastic"], e["c_integral"]])

    def write(t: float) -> None:
        writer.write(list(model.fields().values()), t)

    record(0.0)
    write(0.0)
    control = StepControl(
        dt_initial=p.dt_initial,
        dt_min=p.dt_min,
        dt_max=p.dt_max or math.inf,
        grow=p.dt_grow,
        easy_iterations=p.easy_iterations,
        target_change=p.target_change,
        steady_tol=p.steady_tol,
        rtol=p.rtol,
        atol=p.atol,
        order=p.time_order,
        max_ratio=p.max_ratio,
    )
    rep = output.checkpoints.march(
        model,
        control,
        p.t_end,
        series={"free_energy": rows},
        output_times=p.output_times,
        on_output=write,
        on_step=lambda t, dt, its: record(t),
    )
    output.write_csv(
        "free_energy.csv", ["time", "total", "chemical", "gradient", "elastic", "c_integral"], rows
    )
    output.write_csv(
        "steps.csv",
        ["time", "dt", "order", "newton_iterations", "error_ratio", "rejected_before"],
        [list(r) for r in rep.records],
    )
    fields = model.fields()
    series = np.asarray(rows)
    c_min, c_max, _, _ = extremes(fields["c"])
    scalars = {
        "free_energy_total": series[-1, 1],
        "free_energy_chemical": series[-1, 2],
        "free_energy_gradient": series[-1, 3],
        "free_energy_elastic": series[-1, 4],
        "c_integral": series[-1, 5],
        "c_integral_rel_change": abs(series[-1, 5] - series[0, 5]) / abs(series[0, 5]),
        "energy_steady_time": steady_time(series[:, :2], p.energy_tol),
        "t_final": rep.t,
        "steps": rep.steps,
        "rejected_steps": rep.rejected,
        "newton_per_step": rep.newton_iterations / max(rep.steps, 1),
        "c_min": c_min,
        "c_max": c_max,
    }
    fe = free_energy(p)
    if p.free_energy == "polynomial" or p.chi > 2:
        lo, hi = fe.binodal()
        scalars |= {"binodal_low": lo, "binodal_high": hi}
    return Solution(fields, scalars, stats, model.dofs, plots=("c", "mu"))


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
