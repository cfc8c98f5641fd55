r"""Li segregation to a non-singular edge dislocation in LLZO ([C] Fig. 8).

Cojocaru-Mirédin et al., J. Power Sources (2025), doi:10.1016/j.jpowsour.2025.238443, with
the non-singular dislocation theory of Cai et al., J. Mech. Phys. Solids 54 (2006) 561.

Mixed c–μ–u model of [C] with Cai's non-singular dislocation eigenstrain:

.. math::

    c_\max\partial_t c = \nabla\cdot(M\nabla\mu),\quad
    \mu = RT[\chi(1-2c) + \ln\tfrac{c}{1-c}] - \sigma:\Omega/3,\quad
    \nabla\cdot\sigma = 0,\quad
    \sigma = \mathbb C:(\varepsilon(u) - \mathrm{sym}(b\otimes n)W - (c - c_\mathrm{ref})
    c_\max\Omega/3),

with Cai's spreading field :math:`W` of a glide cut from each core along :math:`-\hat b`
(b = +b e_x: cut along −x, n = +e_y, compression above the slip plane, Hirth–Lothe), [C]'s
mobility eq. (15), zero flux, start from uniform :math:`c_0`, marched with the adaptive
driver until :math:`\max|\partial_t c| L^2/D_0` < ``equilibrium_tol`` (or ``t_end``).

Options: ``chemistry = false`` solves the elasticity alone (the verification of Cai's
field); ``chemical_expansion = false`` drops the concentration eigenstrain, so σ does not
depend on c and the coupling is one-way: the elastic field is solved first and
:math:`-\Omega\sigma_h` (nodal) enters μ (Cottrell equilibrium: then c and σ_h obey the
regular-solution relation pointwise at equilibrium). ``outer_traction = "cai"`` loads the
boundary with :math:`\sigma_\mathrm{Cai}\cdot n` of all dislocations: the finite square then
carries exactly the infinite-body field; with ``"free"`` (default) the outer boundary is
traction-free and three displacement components at two corners remove the rigid modes. In
both cases W is that of the whole half-line cut, which runs on beyond the boundary, so the
slip across the cut is b right up to the surface (``clip_cuts = true`` integrates over the
cut inside the domain only; that leaves the spread cut carrying
b/2 where it meets the surface, a spurious half dislocation: σ_h of 1.1 GPa there against
0.2 GPa).

Discretisation: P2 displacement (P1 with DG0 W needs far finer meshes at the core), W the
cell-wise L² projection onto DG1 (``w_degree = 1``, the space of the P2 strain; ``0`` is
[C]'s DG0 cell average). The mesh is graded to ``mesh_size_core`` (≤ a/4) at each core and
refined to ``mesh_size_cut`` along each cut (see meshes/dislocation_square.py).

Reports: ``c_min``, ``c_max`` and their positions (``*_x``, ``*_y``; y relative to the slip
plane through the first core), ``sigma_h_min``/``_max`` (Pa) and positions, ``c_integral``
(m², per unit length) and its relative drift, ``time_to_equilibrium`` (s, NaN if not reached),
``steps``, ``rejected_steps``, ``newton_iterations``, Peach–Koehler force on each dislocation
``pk_fx_k``/``pk_fy_k`` (N/m; from the w₂-averaged total stress: other dislocations, image
stresses, chemical stresses) and, with ``outer_traction = "cai"``, ``cai_error`` (max
|σ − σ_Cai| / (D/r) over r ∈ [a, L/2 − 2a], outside the band |s_⊥| < 2a along the cuts).

=====================  ===========  ========  ==============================================
parameter              default      unit      source
=====================  ===========  ========  ==============================================
burgers (along +x)     1.298e-9     m         [100] of LLZO, a₀ = 12.98 Å [C]
core_width             1.298e-9     m         a = |b| (*assumed*)
domain_size            40e-9        m         *assumed*
E, nu                  150e9, 0.26  Pa, 1     *assumed* (LLZO, isotropic)
c_max                  4.25e4       mol/m³    7 Li per f.u., 8 f.u. per cell (*assumed*)
c0 = c_ref             0.5          1         *assumed*
chi                    1.0          1         *assumed*
omega                  1e-6         m³/mol    *assumed*
D0                     3e-13        m²/s      Nernst–Einstein, σ ≈ 0.5 mS/cm (*assumed*)
=====================  ===========  ========  ==============================================
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
from femcm.base.errors import InputError
from femcm.fem.bcs import pin_point
from femcm.fem.dislocation_field import (
    eigenstrain_sources,
    nodal_projection,
    peach_koehler_forces,
    spreading_field,
)
from femcm.fem.postprocess import extremes, field, integrate, low_order
from femcm.fem.probe import probe
from femcm.fem.stiffness import Stiffness
from femcm.meshes.dislocation_square import dislocation_square
from femcm.models.chemomechanics import Chemistry, ChemoMechanics, Mechanics, Scales, SolverOptions
from femcm.models.elastic import solve_elastic
from femcm.physics.chemistry import CojocaruMobility, RegularSolution
from femcm.physics.dislocation import Dislocation
from femcm.physics.dislocation_stress import cai_stress
from femcm.physics.eigenstrains import ConcentrationEigenstrain, isotropic_omega
from femcm.physics.elasticity import hydrostatic, von_mises
from femcm.physics.materials import Cubic, Isotropic
from femcm.solvers.stats import SolverStats
from femcm.solvers.timestepping import StepControl

NAME = "edge_dislocation"
CHECKPOINTS = True  # time-dependent: OUT/checkpoint/, ``--restart``


class Parameters(ParameterSet):
    """Parameters of ``edge_dislocation`` (SI units)."""

    burgers: float = param(
        1.298e-9, "m", "magnitude of the Burgers vector, [100] of LLZO [C]", gt=0
    )
    burgers_angle: float = param(
        0.0, "deg", "direction of b from +x (the glide cut runs along -b)", ge=-360, le=360
    )
    core_width: float = param.core_width(1.298e-9)
    cores: tuple[tuple[float, float], ...] = param(
        ((0.0, 0.0),), "m", "core positions (all with the same b and a glide cut along -b)"
    )
    domain_size: float = param(40e-9, "m", "side of the square centred on the cores", gt=0)
    mesh_size_core: float = param.mesh_size_core(0.2e-9)
    mesh_size_cut: float = param.mesh_size_cut(0.3e-9)
    mesh_size: float = param(2e-9, "m", "element size away from cores and cuts", gt=0)
    mesh_grading: float = param(0.1, "1", "growth of the element size per unit distance", gt=0)
    degree: int = param.degree(2, "of the displacement")
    w_degree: int = param.w_degree()
    elasticity: str = param("isotropic", "", "stiffness model", choices=("isotropic", "cubic"))
    E: float = param.E(150e9, "of LLZO (*assumed*)")
    nu: float = param.nu(0.26, "of LLZO (*assumed*)")
    C11: float = param(0.0, "Pa", "cubic C11 (elasticity = cubic)", ge=0)
    C12: float = param(0.0, "Pa", "cubic C12 (elasticity = cubic)")
    C44: float = param(0.0, "Pa", "cubic C44 (elasticity = cubic)", ge=0)
    chemistry: bool = param(True, "", "solve for c and μ (false: elasticity only)")
    chemical_expansion: bool = param(True, "", "eigenstrain (c − c_ref) c_max Ω/3 on")
    outer_traction: str = param(
        "free",
        "",
        "outer boundary: traction-free or Cai's traction",
        choices=("free", "cai"),
    )
    c0: float = param(0.5, "1", "initial (uniform) concentration", gt=0, lt=1)
    c_ref: float = param(0.5, "1", "stress-free concentration", ge=0, le=1)
    chi: float = param(1.0, "1", "regular-solution interaction χ (< 2) (*assumed*)", ge=-50, lt=2)
    omega: float = param(1e-6, "m^3/mol", "partial molar volume Ω (*assumed*)")
    c_max: float = param(4.25e4, "mol/m^3", "Li site density (*assumed*)", gt=0)
    D0: float = param(3e-13, "m^2/s", "Li diffusivity (*assumed*)", gt=0)
    temperature: float = param.temperature()
    t_end: float = param(0.1, "s", "end time (≈ 20 L²/D0)", gt=0)
    dt_initial: float = param.dt_initial(1e-8)
    dt_min: float = param.dt_min(1e-14)
    dt_max: float = param.dt_max()
    dt_fixed: float = param(0.0, "s", "fixed time step, BDF2 (0: adaptive, error-controlled)", ge=0)
    equilibrium_tol: float = param(
        1e-4, "1", "equilibrium when max|∂c/∂t| L²/D0 falls below this", gt=0
    )
    linear_solver: str = param.linear_solver()
    clip_cuts: bool = param(
        False, "", "W from the cut inside the domain only (false: the cut runs on beyond it)"
    )

    def validate(self) -> None:
        """Cores inside; the core resolved; cubic constants valid; time steps ordered."""
        half = self.domain_size / 2
        if not self.cores:
            raise InputError("parameter cores must list at least one core position")
        cx = sum(c[0] for c in self.cores) / len(self.cores)
        cy = sum(c[1] for c in self.cores) / len(self.cores)
        for c in self.cores:
            if max(abs(c[0] - cx), abs(c[1] - cy)) > half - 4 * self.core_width:
                raise InputError(
                    f"parameter cores: {c!r} is within 4 a of the boundary of the square"
                )
        if self.mesh_size_core > self.core_width / 4:
            raise InputError(
                f"parameter mesh_size_core = {self.mesh_size_core:g} is out of range: "
                f"must be <= core_width/4 = {self.core_width / 4:g}"
            )
        if not self.mesh_size_core <= self.mesh_size_cut <= self.mesh_size <= half:
            raise InputError(
                "parameters mesh_size_core <= mesh_size_cut <= mesh_size <= domain_size/2 violated"
            )
        if self.elasticity == "cubic":
            Cubic(self.C11, self.C12, self.C44)
        self.check_time_steps()


def burgers_vector(p: Parameters) -> tuple[float, float]:
    """(bx, by) in m."""
    angle = math.radians(p.burgers_angle)
    c, s = (0.0 if abs(v) < 1e-12 else v for v in (math.cos(angle), math.sin(angle)))
    return (p.burgers * c, p.burgers * s)


def dislocations(p: Parameters, clip: bool) -> list[Dislocation]:
    """The dislocations; with ``clip`` their cuts end at the boundary of the square."""
    b = burgers_vector(p)
    ds = [Dislocation.glide(c, b, p.core_width) for c in p.cores]
    if clip:
        lo, hi = box(p)
        ds = [d.clipped((lo, hi)) for d in ds]
    return ds


def box(p: Parameters) -> tuple[tuple[float, float], tuple[float, float]]:
    """((x0, y0), (x1, y1)) of the square."""
    cx = sum(c[0] for c in p.cores) / len(p.cores)
    cy = sum(c[1] for c in p.cores) / len(p.cores)
    h = p.domain_size / 2
    return (cx - h, cy - h), (cx + h, cy + h)


def material(p: Parameters) -> Isotropic | Cubic:
    """The LLZO stiffness."""
    if p.elasticity == "cubic":
        return Cubic(p.C11, p.C12, p.C44)
    return p.isotropic()


def shear_and_poisson(p: Parameters) -> tuple[float, float]:
    """(μ_s, ν) of the isotropic material (cubic: from C44 and C12/(C11 + C12))."""
    if p.elasticity == "cubic":
        return p.C44, p.C12 / (p.C11 + p.C12)
    return p.E / (2 * (1 + p.nu)), p.nu


def build_mesh(p: Parameters, comm: MPI.Comm):
    """The graded square with every core and cut embedded."""
    ds = dislocations(p, clip=True)
    return dislocation_square(
        comm,
        p.domain_size,
        [d.position for d in ds],
        [d.cut for d in ds],
        p.mesh_size_core,
        p.mesh_size,
        h_cut=p.mesh_size_cut,
        r_core=2 * p.core_width,
        r_cut=1.5 * p.core_width,
        grading=p.mesh_grading,
    )


def cai_traction(p: Parameters, msh, ds: list[Dislocation]):
    """Σ σ_Cai·n of all dislocations (UFL, Pa) on the boundary."""
    mu_s, nu = shear_and_poisson(p)
    x = ufl.SpatialCoordinate(msh)
    n = ufl.FacetNormal(msh)
    S = 0
    for d in ds:
        sxx, syy, sxy, _ = cai_stress(d, x[0], x[1], mu_s, nu)
        S = S + ufl.as_matrix([[sxx, sxy], [sxy, syy]])
    return ufl.dot(S, n)


def rigid_pins(p: Parameters):
    """Dirichlet builder: u = 0 at the lower-left corner, u_y = 0 at the lower-right one."""
    (x0, y0), (x1, _) = box(p)

    def bcs(V: fem.FunctionSpace) -> list[fem.DirichletBC]:
        return [*pin_point(V, (x0, y0), (0, 1)), *pin_point(V, (x1, y0), (1,))]

    return bcs


def cai_errors(
    p: Parameters, sigma: fem.Function, radii: np.ndarray, band: float = 2.0, n: int = 144
) -> np.ndarray:
    """Max |σ_ij − σ_Cai,ij| / (D/r) on circles of the given radii about the first core.

    Rows: radii; columns: xx, yy, xy, h. Points inside the band |s_⊥| < band·a along every
    cut (s_∥ > 0) are left out. ``sigma`` is a 3×3 field; the reference sums the Cai fields
    of all dislocations.
    """
    ds = dislocations(p, clip=False)
    mu_s, nu = shear_and_poisson(p)
    d0 = ds[0]
    D = mu_s * d0.magnitude / (2 * np.pi * (1 - nu))
    out = np.zeros((len(radii), 4))
    th = np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.0123
    for i, r in enumerate(radii):
        pts = np.c_[d0.position[0] + r * np.cos(th), d0.position[1] + r * np.sin(th), 0 * th]
        keep = np.ones(len(pts), bool)
        for d in ds:
            s_par, s_perp = d.local(pts[:, 0], pts[:, 1])
            keep &= ~((s_par > 0) & (np.abs(s_perp) < band * d.core_width))
        pts = pts[keep]
        v = probe(sigma, pts)
        ref = np.zeros((4, len(pts)))
        for d in ds:
            ref += np.array(cai_stress(d, pts[:, 0], pts[:, 1], mu_s, nu))
        got = np.array([v[:, 0], v[:, 4], v[:, 1], (v[:, 0] + v[:, 4] + v[:, 8]) / 3])
        want = np.array([ref[0], ref[1], ref[2], (ref[0] + ref[1] + ref[3]) / 3])
        out[i] = np.abs(got - want).max(axis=1) / (D / r)
    return out


def _stress_fields(sigma, msh, k: int) -> dict[str, fem.Function]:
    return {
        "sigma": field(sigma, msh, "DG", k, "sigma"),
        "sigma_h": field(hydrostatic(sigma), msh, "DG", k, "sigma_h"),
        "von_mises": field(von_mises(sigma), msh, "DG", k, "von_mises"),
        "sigma_h_nodal": nodal_projection(hydrostatic(sigma), msh, "sigma_h_nodal"),
    }


def estimate(p: Parameters) -> SizeEstimate:
    """Cells, DOFs and memory before meshing (for the size guard).

    Uniform triangles plus graded bands along the cut and around the core, times 3: the
    measured default mesh (12 497 cells) is 3.1 times that plain count.
    """
    L, a = p.domain_size, p.core_width
    cells = 3 * (
        triangles(L * L, p.mesh_size)
        + graded_band(L / 2, p.mesh_size_cut, p.mesh_size, p.mesh_size_cut, 4 * p.mesh_size)
        + graded_band(2 * math.pi * a, p.mesh_size_core, p.mesh_size, a, 4 * p.mesh_size)
    )
    dofs = lagrange_nodes(cells, p.degree, components=2) + lagrange_nodes(cells, 1, components=2)
    name = "mesh_size_core" if p.mesh_size_core < p.mesh_size_cut else "mesh_size_cut"
    bytes_ = dofs * BYTES_PER_DOF[p.linear_solver]
    return SizeEstimate(name, getattr(p, name), cells, dofs, bytes_)


def solve_mechanics(
    p: Parameters, msh, ds: list[Dislocation], stats: SolverStats
) -> tuple[fem.Function, ufl.core.expr.Expr]:
    """Elasticity alone with the dislocation eigenstrain: (u, σ in Pa)."""
    sources = eigenstrain_sources(msh, ds, p.w_degree)
    zero = ufl.as_ufl(0.0)
    eps = sum((s(zero) for s in sources), ufl.zero(3, 3))
    tractions = []
    if p.outer_traction == "cai":
        tractions = [(ufl.ds(domain=msh), cai_traction(p, msh, ds))]
    sol = solve_elastic(
        msh,
        None,
        {0: material(p)},
        degree=p.degree,
        bcs=rigid_pins(p),
        tractions=tractions,
        eigenstrain=eps,
        solver=p.linear_solver,
        stats=stats,
        name=NAME,
    )
    return sol.u, sol.sigma


def chemistry(p: Parameters, external=None) -> Chemistry:
    """Regular solution, [C]'s mobility, zero flux; optional extra potential (J/mol)."""
    return Chemistry(
        RegularSolution(p.chi, p.temperature),
        CojocaruMobility(p.D0, p.c_max, p.temperature),
        p.c_max,
        external_potential=external,
    )


def build_model(
    p: Parameters, msh, ds: list[Dislocation], stats: SolverStats, external=None
) -> ChemoMechanics:
    """The c–μ(–u) model: coupled with chemical expansion, else c–μ with −Ωσ_h given."""
    chem = chemistry(p, external)
    mech = None
    stress = 1.0
    if p.chemical_expansion:
        stress = float(np.abs(material(p).voigt()).max())
        sources = eigenstrain_sources(msh, ds, p.w_degree)
        conc = ConcentrationEigenstrain(isotropic_omega(p.omega), p.c_max, p.c_ref)
        tractions = ()
        if p.outer_traction == "cai":
            tractions = ((ufl.ds(domain=msh), cai_traction(p, msh, ds)),)
        mech = Mechanics(
            stiffness=Stiffness(msh, None, {0: material(p)}, scale=stress),
            bcs=rigid_pins(p),
            eigenstrains=(*sources, conc),
            tractions=tractions,
            degree=p.degree,
        )
    return ChemoMechanics(
        msh,
        chem,
        mech,
        scales=Scales.natural(p.domain_size, chem, stress),
        solver=SolverOptions(linear_solver=p.linear_solver),
        stats=stats,
        name=NAME,
    )


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Mesh, W, (elasticity), march c to equilibrium, report segregation and forces."""
    msh = build_mesh(p, comm).mesh
    ds = dislocations(p, clip=p.clip_cuts and p.outer_traction == "free")
    stats = SolverStats()
    fields: dict[str, fem.Function] = {"W": spreading_field(msh, ds, 0, name="W")}
    scalars: dict[str, float] = {}
    k = p.degree - 1
    model = None
    if not p.chemistry or not p.chemical_expansion:
        u, sigma = solve_mechanics(p, msh, ds, stats)
        fields |= {"u": u, **_stress_fields(sigma, msh, k)}
        dofs = u.function_space.dofmap.index_map.size_global * 2
    if p.chemistry:
        external = None
        if not p.chemical_expansion:
            external = -p.omega * fields["sigma_h_nodal"]
        model = build_model(p, msh, ds, stats, external)
        model.set_initial(p.c0)
        scalars |= _march(p, model, output)
        mf = model.fields()
        fields |= {"c": mf["c"], "mu": mf["mu"]}
        if p.chemical_expansion:
            sigma = model.sigma()
            fields |= {"u": mf["u"], **_stress_fields(sigma, msh, k)}
        dofs = model.dofs
    scalars |= _report(p, msh, ds, sigma, fields)
    if p.outer_traction == "cai":
        a, half = p.core_width, p.domain_size / 2
        radii = np.geomspace(a, half - 2 * a, 8)
        err = cai_errors(p, fields["sigma"], radii)
        scalars["cai_error"] = float(err.max())
        for r, e in zip(radii, err.max(axis=1), strict=True):
            scalars[f"cai_error_r{r / a:.1f}a"] = float(e)
    output.write_fields(
        msh,
        lambda: (
            [
                f
                for name, f in fields.items()
                if name in ("c", "mu", "W", "sigma_h_nodal")
                or (name in ("sigma_h", "von_mises", "sigma") and k == 0)
            ]
            + [low_order(fields["u"])]
        ),
    )
    plots = ("c", "sigma_h_nodal") if p.chemistry else ("sigma_h_nodal", "W")
    return Solution(fields, scalars, stats, dofs, plots=plots)


def _march(p: Parameters, model: ChemoMechanics, output: Output) -> dict[str, float]:
    rows: list[list[float]] = []

    def record(t: float) -> None:
        e = model.energies()
        rows.append([t, e["total"], e["chemical"], e["elastic"], e["c_integral"]])

    record(0.0)
    steady = p.equilibrium_tol * p.D0 / p.domain_size**2
    if p.dt_fixed > 0:
        control = StepControl.fixed(p.dt_fixed, order=2, steady_tol=steady)
    else:
        control = StepControl(
            dt_initial=p.dt_initial,
            dt_min=p.dt_min,
            dt_max=p.dt_max or math.inf,
            steady_tol=steady,
        )
    rep = output.checkpoints.march(
        model, control, p.t_end, series={"free_energy": rows}, on_step=lambda t, dt, its: record(t)
    )
    output.write_csv(
        "free_energy.csv", ["time", "total", "chemical", "elastic", "c_integral"], rows
    )
    series = np.asarray(rows)
    return {
        "c_integral": series[-1, 4],
        "c_integral_rel_change": abs(series[-1, 4] - series[0, 4]) / abs(series[0, 4]),
        "free_energy_total": series[-1, 1],
        "time_to_equilibrium": rep.t if rep.steady else math.nan,
        "t_final": rep.t,
        "steps": rep.steps,
        "rejected_steps": rep.rejected,
        "newton_iterations": rep.newton_iterations,
    }


def _report(p, msh, ds, sigma, fields) -> dict[str, float]:
    out: dict[str, float] = {}
    y0 = ds[0].position[1]

    def extremes_at(name: str) -> dict[str, float]:
        """Minimum and maximum of a field and where (y relative to the first core)."""
        lo, hi, xlo, xhi = extremes(fields[name])
        return {
            f"{name}_{kind}{suffix}": value
            for kind, v, x in (("min", lo, xlo), ("max", hi, xhi))
            for suffix, value in (("", v), ("_x", x[0]), ("_y", x[1] - y0))
        }

    if "c" in fields:
        out |= extremes_at("c")
    out |= extremes_at("sigma_h")
    forces = peach_koehler_forces(msh, sigma, ds)
    for i, (fx, fy) in enumerate(forces):
        out[f"pk_fx_{i}"] = fx
        out[f"pk_fy_{i}"] = fy
    out["W_integral"] = integrate(fields["W"] * ufl.dx, msh.comm)
    return out


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
