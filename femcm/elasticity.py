"""Small-strain elasticity as UFL: plane-strain embedding, stress with eigenstrain, invariants.

In 2D every tensor is 3×3 (plane strain: total ε_zz = ε_xz = ε_yz = 0), so σ_zz enters the
hydrostatic stress and the chemical potential. Stiffness per phase comes from
:class:`Stiffness`, which holds isotropic Lamé fields or a general Voigt field as DG0 data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import ufl
from dolfinx import fem, mesh

from femcm.materials import Isotropic, Material
from femcm.phases import piecewise_constant

__all__ = [
    "Stiffness",
    "embed3",
    "hydrostatic",
    "rigid_body_modes",
    "strain",
    "von_mises",
]


def embed3(t: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """A 2×2 (or 3×3) tensor as 3×3, zero out of plane."""
    if ufl.shape(t) == (3, 3):
        return t
    return ufl.as_matrix([[t[0, 0], t[0, 1], 0], [t[1, 0], t[1, 1], 0], [0, 0, 0]])


def strain(u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """Total small strain sym(∇u) as a 3×3 tensor (plane strain in 2D)."""
    return embed3(ufl.sym(ufl.grad(u)))


def hydrostatic(sigma: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """σ_h = tr(σ)/3 over the full 3×3 tensor (tension positive)."""
    return ufl.tr(sigma) / 3


def von_mises(sigma: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """Von Mises equivalent stress sqrt(3/2 s:s) of the 3×3 tensor."""
    s = ufl.dev(sigma)
    return ufl.sqrt(1.5 * ufl.inner(s, s))


_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def _to_voigt(eps: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    return ufl.as_vector([eps[i, j] * (1 if i == j else 2) for i, j in _VOIGT])


def _from_voigt(s: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    return ufl.as_matrix([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])


class Stiffness:
    """Elastic stiffness over a mesh, per phase (cell tag), in Pa.

    All-isotropic phases are stored as DG0 Lamé fields (σ = λ tr ε I + 2μ ε); any cubic phase
    switches to a DG0 6×6 Voigt field. ``scale`` divides the moduli (nondimensionalisation).
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
            self.lmbda = piecewise_constant(
                msh, cell_tags, {t: m.lame[0] / scale for t, m in materials.items()}, name="lambda"
            )
            self.mu = piecewise_constant(
                msh, cell_tags, {t: m.lame[1] / scale for t, m in materials.items()}, name="mu"
            )
        else:
            self.C = piecewise_constant(
                msh,
                cell_tags,
                {t: m.voigt() / scale for t, m in materials.items()},
                shape=(6, 6),
                name="C_voigt",
            )

    def stress(self, eps_el: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """σ = C : ε_el for a 3×3 elastic strain (in units of Pa / scale)."""
        if self.isotropic:
            return self.lmbda * ufl.tr(eps_el) * ufl.Identity(3) + 2 * self.mu * eps_el
        return _from_voigt(ufl.dot(self.C, _to_voigt(eps_el)))

    def contract(self, a: ufl.core.expr.Expr, b: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """A : C : b for symmetric 3×3 tensors a, b."""
        return ufl.inner(a, self.stress(b))


def rigid_body_modes(V: fem.FunctionSpace) -> list[np.ndarray]:
    """Rigid-body modes (translations, rotations) as dof arrays of the vector space V."""
    x = V.tabulate_dof_coordinates()
    gdim = V.mesh.geometry.dim
    n = x.shape[0]
    modes = []
    for d in range(gdim):
        m = np.zeros((n, gdim))
        m[:, d] = 1.0
        modes.append(m)
    rot_axes = [(0, 1)] if gdim == 2 else [(0, 1), (1, 2), (2, 0)]
    for i, j in rot_axes:
        m = np.zeros((n, gdim))
        m[:, i] = -x[:, j]
        m[:, j] = x[:, i]
        modes.append(m)
    return [m.ravel() for m in modes]
