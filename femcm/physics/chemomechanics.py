r"""Residual of the mixed c–μ–u system [C], as a sum of small integrands (pure UFL).

Each term function returns one integrand of the weak forms ([C] eqs. 16–18); :func:`residual`
multiplies them by the measures and scales and sums them. All quantities are nondimensional:
lengths by L, μ by e₀, stress by s₀, time by t₀ (:class:`femcm.base.scales.Scales`).

Time: the storage term is a variable-step BDF rate :math:`(a_0 c + a_1 c_n + a_2 c_{n-1})/\Delta
t` (backward Euler: a = (1, −1, 0)); the flux is θ-weighted (θ = 1 with BDF2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ufl

from femcm.physics.chemistry import homogeneous_curvature
from femcm.physics.elasticity import strain

__all__ = [
    "bdf_rate",
    "chemical_terms",
    "diffusion",
    "eigenstrain",
    "energy_densities",
    "gradient_energy",
    "momentum_balance",
    "potential_definition",
    "residual",
    "storage",
    "stress_coupling",
]

Expr = ufl.core.expr.Expr


def bdf_rate(c: Expr, history: Sequence[Expr], a: Sequence[Expr], dt: Expr) -> Expr:
    """(a₀ c + a₁ c_n + a₂ c_n−1 + ...)/Δt."""
    rate = a[0] * c
    for ai, ci in zip(a[1:], history, strict=True):
        rate = rate + ai * ci
    return rate / dt


def storage(rate: Expr, q: Expr) -> Expr:
    """∂c/∂t q (integrand; integrate with the lumped measure)."""
    return rate * q


def diffusion(flux: Expr, flux_n: Expr, q: Expr, theta: Expr, grad) -> Expr:
    """[θ J + (1−θ) J_n]·∇q with J = M∇μ (integrand)."""
    return ufl.inner(theta * flux + (1 - theta) * flux_n, grad(q))


def potential_definition(mu: Expr, mu_hom: Expr, mu_ext: Expr, q: Expr) -> Expr:
    """(μ − g'(c) − μ_ext) q (integrand; integrate with the lumped measure)."""
    return (mu - mu_hom - mu_ext) * q


def stress_coupling(mu_el: Expr, q: Expr) -> Expr:
    """−μ_el q with μ_el = −σ : ∂ε*/∂c / c_max (integrand)."""
    return -mu_el * q


def gradient_energy(kappa: Expr, c: Expr, q: Expr, grad) -> Expr:
    """−κ ∇c·∇q, the gradient-energy part of the μ equation (integrand)."""
    return -kappa * ufl.inner(grad(c), grad(q))


def momentum_balance(sigma: Expr, eps_test: Expr) -> Expr:
    """σ : ε(η) (integrand)."""
    return ufl.inner(sigma, eps_test)


def eigenstrain(mech: Any, c: Expr) -> Expr:
    """Sum of the eigenstrain sources of ``mech`` (None: no mechanics) at c (3×3)."""
    eps = ufl.zero(3, 3)
    for src in mech.eigenstrains if mech is not None else ():
        eps = eps + src(c)
    return eps


def stress_hat(mech: Any, scales: Any, c: Expr, u: Expr) -> Expr:
    """σ/s₀ = C:(ε(u) − ε*(c))/s₀ with u in units of L."""
    return mech.stiffness.stress(scales.length * strain(u) - eigenstrain(mech, c))


def chemical_terms(chem: Any, mech: Any, scales: Any, c: Expr, mu: Expr, u: Expr | None):
    """μ̂_hom, μ̂_ext, μ̂_el, flux M̂∇̂μ̂ and σ̂ of a state, sharing one c-variable.

    ``chem``: a Chemistry (free energy, mobility, c_max, external potential); ``mech``: a
    Mechanics (stiffness, eigenstrains) or None.
    """
    sc = scales
    cv = ufl.variable(c)
    fe = chem.free_energy
    curvature = sc.energy * homogeneous_curvature(fe, c)  # J/mol
    out = {
        "mu_hom": ufl.diff(fe.density(cv), cv),
        "mu_ext": ufl.as_ufl(0.0),
        "mu_el": ufl.as_ufl(0.0),
        "sigma": None,
    }
    if chem.external_potential is not None:
        out["mu_ext"] = chem.external_potential / sc.energy
    if mech is not None:
        out["sigma"] = stress_hat(mech, sc, cv, u)
        deps = ufl.diff(eigenstrain(mech, cv), cv)
        out["mu_el"] = -sc.stress / (sc.energy * chem.c_max) * ufl.inner(out["sigma"], deps)
        curvature = curvature + sc.stress / chem.c_max * mech.stiffness.contract(deps, deps)
    M = chem.mobility.shape(c, curvature)  # M / M_ref
    out["flux"] = M * sc.length * ufl.grad(mu)
    return out


def residual(
    chem: Any,
    mech: Any,
    scales: Any,
    tests: Sequence[Expr],
    now: Sequence[Expr],
    before: Sequence[Expr],
    older_c: Expr,
    *,
    a: Sequence[Expr],
    dt: Expr,
    theta: Expr,
    dx: ufl.Measure,
    dx_lumped: ufl.Measure,
) -> ufl.Form:
    """The c–μ(–u) residual form.

    ``now``/``before`` are (c, μ̂, û) of the new and the last state, ``older_c`` the c before
    that (BDF2), ``a`` the BDF coefficients, ``dt`` = Δt/t₀.
    """
    sc = scales
    d = ufl.domain.extract_unique_domain(now[0]).geometric_dimension
    vol = 1.0 / sc.length**d  # dx̂ = dx / L^d
    area = 1.0 / sc.length ** (d - 1)  # dŝ = ds / L^(d-1)

    def grad(f: Expr) -> Expr:
        return sc.length * ufl.grad(f)

    q_c, q_mu = tests[0], tests[1]
    c, mu = now[0], now[1]
    new = chemical_terms(chem, mech, sc, *now)
    old = chemical_terms(chem, mech, sc, *before)
    rate = bdf_rate(c, (before[0], older_c), a, dt)
    F = vol * storage(rate, q_mu) * dx_lumped
    F += vol * diffusion(new["flux"], old["flux"], q_mu, theta, grad) * dx
    F += vol * potential_definition(mu, new["mu_hom"], new["mu_ext"], q_c) * dx_lumped
    if mech is not None:
        # σ is discontinuous (DG0 for P1 u): a vertex rule would average it one-sidedly
        # at each vertex (O(h)); the consistent rule keeps the coupling O(h²).
        F += vol * stress_coupling(new["mu_el"], q_c) * dx
    if chem.kappa > 0:
        kappa_hat = chem.kappa / (chem.c_max * sc.energy * sc.length**2)
        F += vol * gradient_energy(kappa_hat, c, q_c, grad) * dx
    flux_scale = sc.time / chem.c_max
    if chem.source is not None:
        F -= vol * flux_scale * chem.source * q_mu * dx
    for ds, jbar in chem.fluxes:
        F -= area * flux_scale / sc.length * jbar * q_mu * ds
    if mech is not None:
        eta = tests[2]
        F += vol * momentum_balance(new["sigma"], sc.length * strain(eta)) * dx
        if mech.body_force is not None:
            F -= vol * sc.length / sc.stress * ufl.inner(mech.body_force, eta) * dx
        for ds, t in mech.tractions:
            F -= area * ufl.inner(t / sc.stress, eta) * ds
    return F


def energy_densities(chem: Any, mech: Any, scales: Any, c: Expr, u: Expr | None) -> dict:
    """Free-energy densities in SI (J/m³; elastic None without mechanics).

    Chemical c_max e₀ g(c) (integrate with the lumped vertex rule), gradient ½κ|∇c|², elastic
    ½σ:(ε − ε*).
    """
    sc = scales
    out = {
        "chemical": chem.c_max * sc.energy * chem.free_energy.density(c),
        "gradient": 0.5 * chem.kappa * ufl.inner(ufl.grad(c), ufl.grad(c)),
        "elastic": None,
    }
    if mech is not None:
        eps_el = sc.length * strain(u) - eigenstrain(mech, c)
        out["elastic"] = 0.5 * sc.stress * ufl.inner(stress_hat(mech, sc, c, u), eps_el)
    return out
