r"""Stack-pressure stress and electric potential in a segmented CT slice of a cracked pellet [H].

Hao et al., "Fast Degradation of Solid Electrolyte in Initial Cycling Processes, Tracked in 3D
by Synchrotron X-ray CT", ACS Nano 19 (2025) 20516: CT slices of a Li3PS4 pellet between Li
electrodes, with cracks partly filled by Li, imported into a finite-element model that maps
the von Mises stress and the potential.

**Input.** A labelled 2D image (``image``: ``.png``, ``.tif``, ``.npy``; row 0 at the top)
and a label map (``label_electrolyte``, ``label_void``, ``label_li``: the pixel values of
each phase); or, with ``image = ""``, a synthetic slice from
:func:`femcm.meshes.cracked_pellet.cracked_pellet` (``synthetic_*`` parameters). Optional
``crop`` and ``coarsen`` (majority vote over blocks). Pixel size ``pixel_size``.

**Mesh.** One quadrilateral (or two triangles) per pixel (:mod:`femcm.meshes.pixel_mesh`),
cell tags electrolyte (1), Li electrode (2: the rows at the top and bottom that are at least
half Li) and Li in cracks (3). Void pixels are not meshed: voids are traction-free and
insulating surfaces. **Floating fragments are dropped:** solid (electrolyte or Li) regions
4-connected to neither or only one of the top and bottom image rows carry neither the stack
load nor current and would make the elastic problem singular; they are removed from the
mesh and reported (``fragments_dropped``, ``fragment_area_dropped``).

**Mechanics** (plane strain, :func:`femcm.models.elastic.solve_elastic`):

.. math::

    \nabla\cdot\sigma = 0,\qquad \sigma = \mathbb{C}_p : (\varepsilon(u) - \varepsilon^*),
    \qquad \varepsilon^* = \tfrac{1}{3}\frac{\Delta V}{V}\,\mathbf{I}\ \text{in Li in cracks},

isotropic :math:`\mathbb{C}_p` per phase, traction :math:`-P n` on the top and bottom
(stack pressure; on the bottom scaled by top/bottom loaded length if the image rows are not
both fully solid, so the loads balance), and ``lateral``:

- ``rollers`` (default): :math:`u_x = 0` on the left and right (a pellet confined in a die),
  :math:`u_y = 0` at one bottom vertex. Far field: uniaxial strain,
  :math:`\sigma_{vM}^\infty = P(1-2\nu)/(1-\nu)`;
- ``free``: free sides; :math:`u = 0` at the bottom-left corner and :math:`u_y = 0` at the
  bottom-right corner (statically determinate, no reaction under the balanced loads; needs
  full top and bottom rows). Far field: uniaxial stress, :math:`\sigma_{vM}^\infty =
  P\sqrt{1 - \nu + \nu^2}`.

**Potential** (:class:`femcm.models.potential.PotentialProblem`):

.. math::

    \nabla\cdot(\kappa_p\nabla\phi) = 0,\qquad \phi = V \text{ (cathode, bottom)},\qquad
    \phi = 0 \text{ (anode, top)},

zero flux on the sides and on every void surface.

**Reports** (SI):

- image: ``pixels``, ``electrolyte_fraction``, ``li_fraction``, ``void_fraction`` (of the
  image after cropping/coarsening), ``fragments_dropped``, ``fragment_area_dropped``
  (fraction of the image), ``cracks`` and per crack k (largest first, at least
  ``min_crack_pixels``; a crack is an 8-connected region of void or Li pixels between the
  electrode layers) ``crack_k_pixels`` and ``crack_k_filling`` (Li pixels / crack pixels, the
  measured Li filling ratio), and ``li_filling`` (Li / all crack pixels);
- mechanics: ``von_mises_max`` and where (``_x``, ``_y``), the same in the electrolyte
  (``von_mises_max_electrolyte``), ``sigma_h_min_electrolyte``, ``von_mises_far`` and
  ``von_mises_ratio`` (electrolyte max / far field), ``pressure_bottom``;
- potential: ``current`` (A per metre of depth, from the cathode), the charge balance error
  between both electrodes, the effective conductivity ``kappa_eff = I/(V·W/H)`` and
  ``kappa_eff_ratio`` = κ_eff/κ_electrolyte (the current from the dissipation,
  :math:`IV = \int\kappa|\nabla\phi|^2 dx`, exact for the discrete solution; the
  electrode reactions agree with it to ``charge_balance_error``, ~1e-6 with Li electrodes
  whose potential varies by only ~1e-11 V per pixel), the nominal field
  ``field_nominal = V/H`` and the **field enhancement at voids** ``field_enhancement_void``
  = max |∇φ| over electrolyte cells
  within ``tip_radius`` pixels of a void pixel / (V/H) and where (``_x``, ``_y``; along
  smooth crack flanks |∇φ| stays near or below nominal, so the maximum sits at crack tips and
  at the Li/void junction of partly filled cracks), and ``field_enhancement_max`` over all
  electrolyte cells. Values are cell-midpoint values (DG0), one per pixel.

**Li filling and the tip field** (tests/test_ct_slice.py, 64 × 50 pixels, 2-pixel cracks).
A crack *along* the current, filled with Li from its electrode, is an extension of the
electrode and focuses the field at the Li tip: filling 0, ¼, ½, ¾ gives 1.6, 3.2, 4.4, 5.7 ×
nominal (lightning rod; a full crack, without the void cap ahead of the Li, 5.7). A crack
*across* the current, empty, forces the current round its tips (3.9 ×); filling it with Li (a
conductor along an equipotential) removes that: ¼, ½, ¾, 1 give 4.1, 3.6, 2.8, 1.6 ×. Between
0 and ¼ the field first rises, at the Li/void junction (a mixed conducting/insulating point,
as singular as a tip).

**Resolution.** Sharp crack tips and the re-entrant corners of the pixel staircase are
singular points of the continuum fields, so the maxima above are figures *at the image's pixel
scale*: compare them between images of the same pixel size. With the same geometry drawn on
2× and 4× finer pixels, the tip field of a half Li-filled crack grows 4.4 → 6.2 → 8.7 × nominal
(≈ √2 per halving, the r^{-1/2} tip singularity), while κ_eff changes by 0.2 %. The
effective conductivity and the far-field stresses converge; the Kirsch test shows the pixel
model approaching the continuum stress concentration.

With ``--plot``: ``von_mises.png``, ``phi.png``, ``field_strength.png`` (|∇φ|, V/m: the
enhancement in the electrolyte) and ``current_density.png`` (with streamlines; its colour scale
is set by the Li, which carries ~1e9 times the electrolyte's current density per unit field)
over the meshed, void-free image.

=====================  ===========  =====  =============================================
parameter              default      unit   source
=====================  ===========  =====  =============================================
pixel_size             0.8e-6       m      [H]
E_electrolyte          25e9         Pa     [H] Li3PS4
nu_electrolyte         0.3          1      *assumed*
E_li, nu_li            7.8e9, 0.38  Pa, 1  [D]
pressure               5e6          Pa     *assumed* stack pressure
li_crack_misfit        0            1      *assumed* (ΔV/V of Li in cracks, over-filling)
kappa_electrolyte      0.02         S/m    *assumed* (0.2 mS/cm)
kappa_li               1.1e7        S/m    Li metal
voltage                1.0          V      [H] cathode (bottom) 1 V, anode (top) 0 V
=====================  ===========  =====  =============================================

Label conventions for a user's segmented slice: a single-channel image (8/16-bit grey,
palette, or ``.npy``), the pellet stack vertical with row 0 at the top (the anode side);
every pixel value must be listed in exactly one of ``label_electrolyte``, ``label_void``,
``label_li``; Li electrode layers, if imaged, are the full-width Li rows at the top and
bottom; crop away the sample holder and air around the pellet (``crop``).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
import ufl
from dolfinx import fem

from mpi4py import MPI

from femcm.app.output import Output
from femcm.app.params import ParameterSet, param
from femcm.app.result import Solution
from femcm.app.script import entry_points
from femcm.base.errors import InputError
from femcm.base.log import logger
from femcm.fem.bcs import fix_component, pin_point
from femcm.fem.phases import indicator, piecewise_constant
from femcm.fem.postprocess import cell_values, field, integrate, low_order
from femcm.meshes import images
from femcm.meshes.cracked_pellet import cracked_pellet
from femcm.meshes.pixel_mesh import FACET_TAGS, PixelMesh, pixel_mesh, spanning_solid
from femcm.models.elastic import solve_elastic, stress_fields
from femcm.models.potential import FixedPotential, PotentialProblem
from femcm.solvers.options import SolverChoice, linear_options
from femcm.solvers.stats import SolverStats

NAME = "ct_slice"

ELECTROLYTE, LI_ELECTRODE, LI_CRACK = 1, 2, 3
"""Cell tags."""


class Parameters(ParameterSet):
    """Parameters of ``ct_slice`` (SI units)."""

    image: str = param("", "", "labelled image (.png/.tif/.npy); empty: synthetic cracked pellet")
    label_electrolyte: tuple[int, ...] = param((1,), "", "pixel values of the electrolyte")
    label_void: tuple[int, ...] = param((0,), "", "pixel values of voids (unfilled cracks, pores)")
    label_li: tuple[int, ...] = param((2,), "", "pixel values of Li metal")
    pixel_size: float = param(0.8e-6, "m", "pixel edge length [H]", gt=0)
    crop: tuple[int, ...] = param((), "", "(col0, row0, col1, row1), ends exclusive; () = all")
    coarsen: int = param(1, "1", "merge coarsen × coarsen pixel blocks (majority)", ge=1)
    synthetic_width: int = param(200, "1", "synthetic image width (pixels)", ge=8)
    synthetic_height: int = param(160, "1", "synthetic image height (pixels)", ge=8)
    synthetic_electrode_rows: int = param(
        12, "1", "synthetic Li electrode thickness (pixels)", ge=0
    )
    synthetic_cracks: int = param(4, "1", "number of synthetic cracks", ge=0)
    synthetic_filling: tuple[float, ...] = param(
        (0.0, 0.3, 0.6, 1.0), "1", "Li filling ratio of each synthetic crack (or one for all)"
    )
    synthetic_seed: int = param(0, "1", "random seed of the synthetic image", ge=0)
    cell_type: str = param(
        "quadrilateral", "", "cells per pixel", choices=("quadrilateral", "triangle")
    )
    physics: str = param("both", "", "what to solve", choices=("both", "mechanics", "potential"))
    E_electrolyte: float = param.E(25e9, "of Li3PS4 [H]")
    nu_electrolyte: float = param.nu(0.3, "of Li3PS4 (*assumed*)")
    E_li: float = param.E(7.8e9, "of Li [D]")
    nu_li: float = param.nu(0.38, "of Li [D]")
    pressure: float = param.pressure(5e6, "stack pressure on top and bottom (*assumed*)")
    lateral: str = param("rollers", "", "side boundaries", choices=("rollers", "free"))
    li_crack_misfit: float = param(
        0.0, "1", "volumetric misfit ΔV/V of Li in cracks (*assumed* 0)", gt=-0.5, lt=0.5
    )
    kappa_electrolyte: float = param(0.02, "S/m", "electrolyte conductivity (*assumed*)", gt=0)
    kappa_li: float = param(1.1e7, "S/m", "Li conductivity", gt=0)
    voltage: float = param(1.0, "V", "cathode (bottom) potential; anode (top) 0 V [H]", gt=0)
    tip_radius: float = param(3.0, "1", "field enhancement: pixels from a void", gt=0)
    min_crack_pixels: int = param(10, "1", "smallest crack reported (pixels)", ge=1)
    degree: int = param.degree(1, "of u and φ", highest=2)
    linear_solver: str = param.linear_solver()

    def validate(self) -> None:
        """The label map must be consistent; the synthetic fillings in [0, 1]."""
        self.labels  # noqa: B018  (raises on overlapping labels)
        if not all(0 <= f <= 1 for f in self.synthetic_filling) or not self.synthetic_filling:
            raise InputError(
                f"parameter synthetic_filling = {self.synthetic_filling!r}: ratios in [0, 1]"
            )

    @property
    def labels(self) -> images.LabelMap:
        """The label map of the image."""
        return images.LabelMap(self.label_electrolyte, self.label_void, self.label_li)


@dataclasses.dataclass
class Slice:
    """The analysed image: cell-tag image (0 = not meshed), masks and image figures."""

    tags: np.ndarray
    near_void: np.ndarray
    scalars: dict[str, float]


def analyse_image(p: Parameters) -> Slice:
    """Read (or generate), crop, label, coarsen; drop floating fragments; measure cracks."""
    if p.image:
        raw = images.read_image(p.image)
    else:
        raw = cracked_pellet(
            p.synthetic_width,
            p.synthetic_height,
            p.synthetic_electrode_rows,
            p.synthetic_cracks,
            p.synthetic_filling,
            p.synthetic_seed,
        ).image
    phases = images.coarsen(images.phase_image(images.crop(raw, p.crop), p.labels), p.coarsen)
    frag = spanning_solid(phases != images.VOID)
    if not frag.keep.any():
        raise InputError(
            "image: no solid path connects the top and bottom rows "
            "(nothing would carry the load or the current)"
        )
    kept = np.where(frag.keep, phases, images.VOID)
    top, bottom = images.electrode_rows(kept)
    tags = np.zeros(kept.shape, dtype=np.int32)
    tags[kept == images.ELECTROLYTE] = ELECTROLYTE
    tags[kept == images.LI] = LI_CRACK
    electrode = np.zeros(kept.shape, dtype=bool)
    electrode[:top] = True
    electrode[kept.shape[0] - bottom :] = True
    tags[electrode & (kept == images.LI)] = LI_ELECTRODE
    _, cracks = images.crack_regions(kept, p.min_crack_pixels)
    n = phases.size
    scalars: dict[str, float] = {
        "pixels": float(n),
        "electrolyte_fraction": float((phases == images.ELECTROLYTE).sum() / n),
        "li_fraction": float((phases == images.LI).sum() / n),
        "void_fraction": float((phases == images.VOID).sum() / n),
        "fragments_dropped": float(frag.dropped),
        "fragment_area_dropped": frag.dropped_pixels / n,
        "electrode_rows_top": float(top),
        "electrode_rows_bottom": float(bottom),
        "cracks": float(len(cracks)),
    }
    for k, (size, _, filling) in enumerate(cracks):
        scalars[f"crack_{k}_pixels"] = float(size)
        scalars[f"crack_{k}_filling"] = filling
    total = sum(c[0] for c in cracks)
    scalars["li_filling"] = sum(c[1] for c in cracks) / total if total else math.nan
    near_void = images.near(kept == images.VOID, p.tip_radius) & (kept == images.ELECTROLYTE)
    return Slice(tags, near_void, scalars)


def solve(p: Parameters, comm: MPI.Comm, output: Output) -> Solution:
    """Analyse the image on rank 0, mesh it, solve mechanics and potential, report."""
    sl: Slice | None = None
    error = None
    if comm.rank == 0:
        try:
            sl = analyse_image(p)
        except InputError as err:
            error = str(err)
    error = comm.bcast(error, root=0)
    if error is not None:
        raise InputError(error)
    sl = comm.bcast(sl, root=0)
    if sl.scalars["fragments_dropped"]:
        logger.warning(
            "%s: dropped %d floating fragment(s), %.3g %% of the image",
            NAME,
            int(sl.scalars["fragments_dropped"]),
            100 * sl.scalars["fragment_area_dropped"],
        )
    h = p.pixel_size * p.coarsen  # one cell edge per (coarsened) pixel
    pm = pixel_mesh(comm, sl.tags if comm.rank == 0 else None, h, p.cell_type)
    present = [t for t in (ELECTROLYTE, LI_ELECTRODE, LI_CRACK) if (sl.tags == t).any()]
    stats = SolverStats()
    scalars = dict(sl.scalars)
    fields: dict[str, fem.Function] = {
        "phase": piecewise_constant(
            pm.mesh, pm.cell_tags, {t: float(t) for t in present}, name="phase"
        )
    }
    dofs = 0
    plots: list[str] = []
    if p.physics in ("both", "mechanics"):
        mech_fields, mech_scalars, n = solve_mechanics(p, pm, present, stats)
        fields |= mech_fields
        scalars |= mech_scalars
        dofs += n
        plots.append("von_mises")
    if p.physics in ("both", "potential"):
        pot_fields, pot_scalars, n = solve_potential(p, pm, present, sl.near_void, stats)
        fields |= pot_fields
        scalars |= pot_scalars
        dofs += n
        plots += ["phi", "field_strength", "current_density"]
    stats.time_steps = 1
    output.write_fields(pm.mesh, lambda: [low_order(f) for f in fields.values()])
    return Solution(fields, scalars, stats, dofs, plots=tuple(plots))


def solve_mechanics(
    p: Parameters, pm: PixelMesh, present: list[int], stats: SolverStats
) -> tuple[dict[str, fem.Function], dict[str, float], int]:
    """Stack pressure on top and bottom, plane strain; fields, figures and DOFs."""
    msh, ft = pm.mesh, pm.facet_tags
    comm = msh.comm
    electrolyte, li = p.isotropic("electrolyte"), p.isotropic("li")
    materials = {t: (electrolyte if t == ELECTROLYTE else li) for t in present}
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    n = ufl.FacetNormal(msh)
    l_top = integrate(1.0 * ds(FACET_TAGS["top"]), comm)
    l_bottom = integrate(1.0 * ds(FACET_TAGS["bottom"]), comm)
    W = pm.width
    if p.lateral == "free":
        if abs(l_top - W) > 1e-9 * W or abs(l_bottom - W) > 1e-9 * W:
            raise InputError(
                "parameter lateral = 'free' needs fully solid top and bottom rows "
                f"(loaded {l_top / W:.3f} and {l_bottom / W:.3f} of the width); use 'rollers'"
            )

        def bcs(V: fem.FunctionSpace) -> list[fem.DirichletBC]:
            return [*pin_point(V, (0.0, 0.0), comps=(0, 1)), *pin_point(V, (W, 0.0), comps=(1,))]

        nu = p.nu_electrolyte
        vm_far = p.pressure * math.sqrt(1 - nu + nu * nu)
    else:
        x_pin = pm.first_bottom_x()
        sides = [
            side
            for side in ("left", "right")
            if comm.allreduce(len(ft.find(FACET_TAGS[side])), op=MPI.SUM)
        ]
        if not sides:
            raise InputError(
                "parameter lateral = 'rollers' needs solid pixels in the first or last image "
                "column; crop the image or use lateral = 'free'"
            )

        def bcs(V: fem.FunctionSpace) -> list[fem.DirichletBC]:
            rollers = [fix_component(V, ft, FACET_TAGS[side], 0) for side in sides]
            return [*pin_point(V, (x_pin, 0.0), comps=(1,)), *rollers]

        nu = p.nu_electrolyte
        vm_far = p.pressure * (1 - 2 * nu) / (1 - nu)
    p_bottom = p.pressure * l_top / l_bottom
    eigenstrain = None
    if p.li_crack_misfit and LI_CRACK in present:
        in_crack = indicator(msh, pm.cell_tags, [LI_CRACK], name="li_crack")
        eigenstrain = in_crack * (p.li_crack_misfit / 3.0) * ufl.Identity(3)
    sol = solve_elastic(
        msh,
        pm.cell_tags,
        materials,
        degree=p.degree,
        bcs=bcs,
        tractions=[
            (ds(FACET_TAGS["top"]), -p.pressure * n),
            (ds(FACET_TAGS["bottom"]), -p_bottom * n),
        ],
        eigenstrain=eigenstrain,
        solver=p.linear_solver,
        stats=stats,
        name=f"{NAME}_elastic",
    )
    fields = {"u": sol.u, **stress_fields(sol)}
    tags = pm.owned_tags()
    vm = cell_values(fields["von_mises"])
    sh = cell_values(fields["sigma_h"])
    is_e = tags == ELECTROLYTE
    vm_max, x_max = pm.cell_max(vm, np.ones_like(is_e))
    vm_e, x_e = pm.cell_max(vm, is_e)
    sh_min_e, _ = pm.cell_max(-sh, is_e)
    scalars = {
        "von_mises_max": vm_max,
        "von_mises_max_x": x_max[0],
        "von_mises_max_y": x_max[1],
        "von_mises_max_electrolyte": vm_e,
        "von_mises_max_electrolyte_x": x_e[0],
        "von_mises_max_electrolyte_y": x_e[1],
        "sigma_h_min_electrolyte": -sh_min_e,
        "von_mises_far": vm_far,
        "von_mises_ratio": vm_e / vm_far if vm_far else math.nan,
        "pressure_bottom": p_bottom,
    }
    V = sol.u.function_space
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    scalars["dofs_mechanics"] = float(dofs)
    return fields, scalars, dofs


def solve_potential(
    p: Parameters, pm: PixelMesh, present: list[int], near_void: np.ndarray, stats: SolverStats
) -> tuple[dict[str, fem.Function], dict[str, float], int]:
    """Cathode (bottom) at V, anode (top) at 0; fields, figures and DOFs."""
    msh = pm.mesh
    kappa = {t: (p.kappa_electrolyte if t == ELECTROLYTE else p.kappa_li) for t in present}
    anode = FixedPotential(FACET_TAGS["top"], 0.0)
    cathode = FixedPotential(FACET_TAGS["bottom"], p.voltage)
    # The problem is linear: one Newton step is the solution, and a residual test after it
    # only measures rounding (which grows with the image size and the κ contrast).
    options: dict[str, Any] = {"snes_type": "ksponly", "snes_linesearch_type": None}
    if SolverChoice(p.linear_solver) is SolverChoice.ITERATIVE:
        # CG + GAMG; a strength threshold keeps aggregates from straddling the ~1e9 jump in κ
        # between Li and electrolyte (without it CG stalls on images of 400² pixels and up).
        options |= {
            "pc_factor_mat_solver_type": None,
            **linear_options(SolverChoice.ITERATIVE),
            "pc_gamg_threshold": 0.01,
        }
    prob = PotentialProblem(
        msh,
        pm.facet_tags,
        kappa,
        [anode, cathode],
        cell_tags=pm.cell_tags,
        degree=p.degree,
        name=f"{NAME}_potential",
        options=options,
        stats=stats,
    )
    prob.solve()
    # I·V = ∫κ|∇φ|² dx holds exactly for the discrete solution (Galerkin orthogonality) and is
    # dominated by the electrolyte; the electrode reactions are computed inside the Li, where
    # the potential varies by ~1e-11 V per pixel, so they carry the rounding of φ (~1e-6).
    grad = ufl.grad(prob.phi)
    current = integrate(prob.kappa * ufl.inner(grad, grad) * ufl.dx(domain=msh)) / p.voltage
    current_cathode = prob.current_into(cathode)
    current_anode = -prob.current_into(anode)
    W, H = pm.width, pm.height
    e_nominal = p.voltage / H
    e_mag = field(ufl.sqrt(ufl.inner(grad, grad)), msh, "DG", 0, "field_strength")
    i_vec = field(prob.current_density, msh, "DG", 0, "current_density")
    tags = pm.owned_tags()
    e_cells = cell_values(e_mag)
    is_e = tags == ELECTROLYTE
    n_owned = len(tags)
    e_void, x_void = pm.cell_max(e_cells, is_e & pm.cell_values(near_void)[:n_owned])
    e_all, x_all = pm.cell_max(e_cells, is_e)
    scalars = {
        "current": current,
        "charge_balance_error": max(abs(current_cathode - current), abs(current_anode - current))
        / current,
        "kappa_eff": current / (p.voltage * W / H),
        "kappa_eff_ratio": current / (p.voltage * W / H) / p.kappa_electrolyte,
        "field_nominal": e_nominal,
        "field_enhancement_void": e_void / e_nominal,
        "field_enhancement_void_x": x_void[0],
        "field_enhancement_void_y": x_void[1],
        "field_enhancement_max": e_all / e_nominal,
        "field_enhancement_max_x": x_all[0],
        "field_enhancement_max_y": x_all[1],
    }
    dofs = prob.dofs
    scalars["dofs_potential"] = float(dofs)
    logger.info(
        "%s: κ_eff/κ = %.4g, field enhancement at voids %.3g",
        NAME,
        scalars["kappa_eff_ratio"],
        scalars["field_enhancement_void"],
    )
    return {"phi": prob.phi, "current_density": i_vec, "field_strength": e_mag}, scalars, dofs


run, parse_args, main = entry_points(__name__)


if __name__ == "__main__":
    sys.exit(main())
