"""Closed-form elasticity references, written once for NumPy arrays and UFL expressions.

Only arithmetic is used, so every function accepts either NumPy arrays or UFL expressions of
the coordinates (used for exact tractions on the outer boundary). Conventions: tension
positive; plane strain (ε_zz = 0, σ_zz ≠ 0). See ``../shared/spec/verification.md`` §3–§5.
"""

from __future__ import annotations


def goodier_factors(E_m: float, nu_m: float, E_i: float, nu_i: float) -> tuple[float, float]:
    """(F_b, F_s) of a circular inhomogeneity in plane strain.

    Goodier, J. Appl. Mech. 55 (1933) 39; Eshelby, Proc. R. Soc. A 241 (1957) 376.
    Interior stress: σ_xx = F_b S_b + F_s T, σ_yy = F_b S_b − F_s T for remote
    σ_xx = S_b + T, σ_yy = S_b − T.
    """
    mu_m, mu_i = E_m / (2 * (1 + nu_m)), E_i / (2 * (1 + nu_i))
    k_m, k_i = 3 - 4 * nu_m, 3 - 4 * nu_i
    F_b = (k_m + 1) * mu_i / (2 * mu_i + (k_i - 1) * mu_m)
    F_s = (k_m + 1) * mu_i / (k_m * mu_i + mu_m)
    return F_b, F_s


def polar_to_cartesian(srr, stt, srt, x, y):
    """(σ_xx, σ_yy, σ_xy) from polar components at (x, y)."""
    r2 = x**2 + y**2
    c2, s2, cs = x**2 / r2, y**2 / r2, x * y / r2
    sxx = srr * c2 + stt * s2 - 2 * srt * cs
    syy = srr * s2 + stt * c2 + 2 * srt * cs
    sxy = (srr - stt) * cs + srt * (c2 - s2)
    return sxx, syy, sxy


def goodier_matrix_biaxial(S_b: float, F_b: float, R: float, x, y):
    """(σ_xx, σ_yy, σ_xy) in the matrix for remote biaxial S_b (verification.md §3)."""
    delta = 1 - F_b
    q2 = R**2 / (x**2 + y**2)
    return polar_to_cartesian(S_b * (1 - delta * q2), S_b * (1 + delta * q2), 0 * x, x, y)


def kirsch(S: float, a: float, x, y):
    """(σ_xx, σ_yy, σ_xy) around a traction-free hole of radius a, remote uniaxial S along x.

    Kirsch, VDI Z. 42 (1898) 797: σ_θθ(a, θ) = S(1 − 2 cos 2θ).
    """
    r2 = x**2 + y**2
    q2, q4 = a**2 / r2, a**4 / r2**2
    c2t, s2t = (x**2 - y**2) / r2, 2 * x * y / r2
    srr = S / 2 * (1 - q2) + S / 2 * (1 - 4 * q2 + 3 * q4) * c2t
    stt = S / 2 * (1 + q2) - S / 2 * (1 + 3 * q4) * c2t
    srt = -S / 2 * (1 + 2 * q2 - 3 * q4) * s2t
    return polar_to_cartesian(srr, stt, srt, x, y)


def misfit_inside(E: float, nu: float, eps_star: float) -> tuple[float, float]:
    """Interior (σ_xx = σ_yy, σ_zz) of a dilatational eigenstrain ε* δ_ij in a circle.

    Plane strain, homogeneous infinite body; Eshelby (1957), verification.md §4.
    """
    return -E * eps_star / (2 * (1 - nu)), -E * eps_star / (1 - nu)


def misfit_outside(E: float, nu: float, eps_star: float, R: float, x, y):
    """(σ_xx, σ_yy, σ_xy) outside the misfitting circle: σ_rr = −σ_θθ ∝ R²/r²."""
    srr = -E * eps_star * R**2 / (2 * (1 - nu) * (x**2 + y**2))
    return polar_to_cartesian(srr, -srr, 0 * x, x, y)
