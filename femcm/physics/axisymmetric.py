r"""Axisymmetric small-strain kinematics as UFL, and the exact misfit-sphere references.

A body of revolution loaded symmetrically about the z axis is solved on its meridian
half-plane (r, z) ≥ 0, with the mesh coordinates x = r, y = z and u = (u_r, u_z). The strain
is the full 3×3 tensor in the (r, z, θ) frame,

.. math::

    \varepsilon = \begin{pmatrix} \partial_r u_r & \tfrac12(\partial_z u_r + \partial_r u_z)
    & 0 \\ \cdot & \partial_z u_z & 0 \\ 0 & 0 & u_r / r \end{pmatrix},

and every volume integral carries the weight 2πr (:func:`volume_weight` returns r; the 2π
cancels in the weak form and in means). The hoop strain u_r/r tends to ∂_r u_r on the axis,
where u_r = 0 is imposed; :func:`hoop_strain` switches to that limit for r below a tolerance so
that stresses can be evaluated at nodes on the axis. Any isotropic or (r, z, θ)-frame stress
law applies unchanged to this strain (e.g. :func:`femcm.physics.elasticity.isotropic_stress`).

NumPy references (Eshelby 1957): a sphere of bulk modulus K_i carrying
the dilatational eigenstrain ε* in an infinite matrix of shear modulus μ_m is under the
uniform pressure p = ε* / (1/(4μ_m) + 1/(3K_i)); outside, σ_rr = −p R³/ρ³ and
σ_θθ = σ_φφ = p R³/(2ρ³).
"""

from __future__ import annotations

import ufl

__all__ = [
    "hoop_strain",
    "max_principal_meridian",
    "misfit_sphere_pressure",
    "strain",
    "volume_weight",
]

Expr = ufl.core.expr.Expr


def volume_weight(msh) -> Expr:
    """r, the radial coordinate (the axisymmetric volume element is 2πr dr dz)."""
    return ufl.SpatialCoordinate(msh)[0]


def hoop_strain(u: Expr, r: Expr, r_axis: float) -> Expr:
    """ε_θθ = u_r / r, replaced by its on-axis limit ∂_r u_r for r ≤ ``r_axis``.

    Written as a blend with a coefficient-only switch, so that it stays linear in a trial or
    test function u (form compilers do not factor arguments out of conditionals).
    """
    off_axis = ufl.conditional(ufl.gt(r, r_axis), 1.0, 0.0)
    return off_axis * u[0] / ufl.max_value(r, r_axis) + (1 - off_axis) * ufl.grad(u)[0, 0]


def strain(u: Expr, r: Expr, r_axis: float) -> Expr:
    """The 3×3 small strain in the (r, z, θ) frame of the meridian displacement u = (u_r, u_z)."""
    g = ufl.grad(u)
    e_rz = (g[0, 1] + g[1, 0]) / 2
    return ufl.as_matrix(
        [[g[0, 0], e_rz, 0], [e_rz, g[1, 1], 0], [0, 0, hoop_strain(u, r, r_axis)]]
    )


def max_principal_meridian(sigma: Expr) -> Expr:
    """Largest principal stress of a (r, z, θ) tensor: the in-plane pair or σ_θθ."""
    mean = (sigma[0, 0] + sigma[1, 1]) / 2
    radius = ufl.sqrt(((sigma[0, 0] - sigma[1, 1]) / 2) ** 2 + sigma[0, 1] ** 2)
    return ufl.max_value(mean + radius, sigma[2, 2])


def misfit_sphere_pressure(eigenstrain: float, bulk_inclusion: float, shear_matrix: float) -> float:
    """Pressure (Pa) in a misfitting sphere: ε* / (1/(4μ_m) + 1/(3K_i)) (Eshelby 1957)."""
    return eigenstrain / (1 / (4 * shear_matrix) + 1 / (3 * bulk_inclusion))
