"""Per-phase elastic stiffness over a mesh, as DG0 data behind one ``stress(ε)`` call."""

from __future__ import annotations

from collections.abc import Mapping

import ufl
from dolfinx import mesh

from femcm.fem.phases import piecewise_constant
from femcm.physics.elasticity import from_voigt, isotropic_stress, to_voigt
from femcm.physics.materials import Isotropic, Material

__all__ = ["Stiffness"]


class Stiffness:
    """Elastic stiffness per phase (cell tag), in Pa divided by ``scale``.

    All-isotropic phases are stored as DG0 Lamé fields; any cubic phase switches to a DG0 6×6
    Voigt field. ``scale`` divides the moduli (nondimensionalisation).
    """

    def __init__(
        self,
        msh: mesh.Mesh,
        cell_tags: mesh.MeshTags | None,
        materials: Mapping[int, Material],
        scale: float = 1.0,
    ):
        self.materials = dict(materials)
        self.scale = scale
        self.isotropic = all(isinstance(m, Isotropic) for m in self.materials.values())
        if self.isotropic:
            lame = {t: m.lame for t, m in self.materials.items()}
            self.lmbda = piecewise_constant(
                msh, cell_tags, {t: v[0] / scale for t, v in lame.items()}, name="lambda"
            )
            self.mu = piecewise_constant(
                msh, cell_tags, {t: v[1] / scale for t, v in lame.items()}, name="mu"
            )
        else:
            self.C = piecewise_constant(
                msh,
                cell_tags,
                {t: m.voigt() / scale for t, m in self.materials.items()},
                shape=(6, 6),
                name="C_voigt",
            )

    def stress(self, eps_el: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """σ = C : ε_el for a 3×3 elastic strain (in units of Pa / scale)."""
        if self.isotropic:
            return isotropic_stress(eps_el, self.lmbda, self.mu)
        return from_voigt(ufl.dot(self.C, to_voigt(eps_el)))

    def contract(self, a: ufl.core.expr.Expr, b: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """A : C : b for symmetric 3×3 tensors a, b."""
        return ufl.inner(a, self.stress(b))
