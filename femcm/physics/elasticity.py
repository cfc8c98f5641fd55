"""Small-strain elasticity as UFL: plane-strain embedding, stress laws, invariants.

In 2D every tensor is 3×3 (plane strain: total ε_zz = ε_xz = ε_yz = 0), so σ_zz enters the
hydrostatic stress and the chemical potential.
"""

from __future__ import annotations

import ufl

from femcm.physics.materials import VOIGT_PAIRS

__all__ = [
    "embed3",
    "from_voigt",
    "hydrostatic",
    "isotropic_stress",
    "max_principal",
    "strain",
    "to_voigt",
    "von_mises",
]

Expr = ufl.core.expr.Expr


def embed3(t: Expr) -> Expr:
    """A 2×2 (or 3×3) tensor as 3×3, zero out of plane."""
    if ufl.shape(t) == (3, 3):
        return t
    return ufl.as_matrix([[t[0, 0], t[0, 1], 0], [t[1, 0], t[1, 1], 0], [0, 0, 0]])


def strain(u: Expr) -> Expr:
    """Total small strain sym(∇u) as a 3×3 tensor (plane strain in 2D)."""
    return embed3(ufl.sym(ufl.grad(u)))


def isotropic_stress(eps: Expr, lmbda: Expr, mu: Expr) -> Expr:
    """σ = λ tr(ε) I + 2μ ε for a 3×3 strain."""
    return lmbda * ufl.tr(eps) * ufl.Identity(3) + 2 * mu * eps


def to_voigt(eps: Expr) -> Expr:
    """Strain-like Voigt vector (engineering shear strains) of a 3×3 tensor."""
    return ufl.as_vector([eps[i, j] * (1 if i == j else 2) for i, j in VOIGT_PAIRS])


def from_voigt(s: Expr) -> Expr:
    """3×3 tensor of a stress-like Voigt vector."""
    return ufl.as_matrix([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])


def hydrostatic(sigma: Expr) -> Expr:
    """σ_h = tr(σ)/3 over the full 3×3 tensor (tension positive)."""
    return ufl.tr(sigma) / 3


def von_mises(sigma: Expr) -> Expr:
    """Von Mises equivalent stress sqrt(3/2 s:s) of the 3×3 tensor."""
    s = ufl.dev(sigma)
    return ufl.sqrt(1.5 * ufl.inner(s, s))


def max_principal(sigma: Expr) -> Expr:
    """Largest principal value of a symmetric 3×3 tensor (trigonometric closed form)."""
    p1 = sigma[0, 1] ** 2 + sigma[0, 2] ** 2 + sigma[1, 2] ** 2
    q = ufl.tr(sigma) / 3
    p2 = sum((sigma[i, i] - q) ** 2 for i in range(3)) + 2 * p1
    p = ufl.sqrt(p2 / 6 + 1e-300)
    B = (sigma - q * ufl.Identity(3)) / p
    r = ufl.max_value(ufl.min_value(ufl.det(B) / 2, 1.0), -1.0)
    return q + 2 * p * ufl.cos(ufl.acos(r) / 3)
