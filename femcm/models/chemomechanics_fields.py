"""Derived fields and energies of a :class:`~femcm.models.chemomechanics.ChemoMechanics` state.

SI units: c, μ (J/mol), u (m), σ_h and von Mises (Pa) as functions, each in its own collapsed
space (σ_h, von Mises: DG of one degree below u); the free-energy parts and ∫c dx as numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ufl
from dolfinx import fem

from mpi4py import MPI

from femcm.fem.postprocess import field, integrate
from femcm.physics import chemomechanics as terms
from femcm.physics.elasticity import hydrostatic, von_mises

if TYPE_CHECKING:
    from femcm.models.chemomechanics import ChemoMechanics

__all__ = ["energies", "energy_forms", "fields"]


def fields(model: ChemoMechanics) -> dict[str, fem.Function]:
    """c, μ (J/mol), and u (m), σ_h, von Mises (Pa) each in its own collapsed space."""
    out = {}
    scales = (1.0, model.scales.energy, model.scales.length)
    for name, scale, (V, dofs) in zip(("c", "mu", "u"), scales, model._collapsed, strict=False):
        f = fem.Function(V, name=name)
        f.x.array[:] = scale * model.w.x.array[dofs]
        out[name] = f
    if model.mech is not None:
        k = max(model.mech.degree - 1, 0)
        s = model.sigma()
        out["sigma_h"] = field(hydrostatic(s), model.msh, "DG", k, "sigma_h")
        out["von_mises"] = field(von_mises(s), model.msh, "DG", k, "von_mises")
    return out


def energy_forms(model: ChemoMechanics) -> dict[str, fem.Form | None]:
    """The free-energy parts and ∫c dx of ``model.w`` as compiled forms (None: no such part).

    Compiled once per model (:meth:`ChemoMechanics.energies` keeps them): they read ``model.w``
    and the model's constants when assembled, so each step only assembles.
    """
    c, _, u = model.split(model.w)
    dens = terms.energy_densities(model.chem, model.mech, model.scales, c, u)
    dx = {"chemical": model.dx_lumped}
    forms = {k: None if v is None else fem.form(v * dx.get(k, ufl.dx(domain=model.msh)))
             for k, v in dens.items()}  # fmt: skip
    forms["c_integral"] = fem.form(c * model.dx_lumped)
    return forms


def energies(forms: dict[str, fem.Form | None], comm: MPI.Comm) -> dict[str, float]:
    """Free energy parts (J, or J/m per unit thickness in 2D) and ∫c dx (m^d) from ``forms``."""
    e = {k: 0.0 if f is None else integrate(f, comm) for k, f in forms.items()}
    e["total"] = e["chemical"] + e["gradient"] + e["elastic"]
    return e
