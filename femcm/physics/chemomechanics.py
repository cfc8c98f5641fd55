r"""Residual terms of the mixed c–μ–u system [C], as integrands (pure UFL).

Each function returns one integrand of the weak forms ([C] eqs. 16–18); the model multiplies
them by its measures and scales and sums them. Tests can check each term alone.
"""

from __future__ import annotations

import ufl

__all__ = [
    "diffusion",
    "gradient_energy",
    "momentum_balance",
    "potential_definition",
    "storage",
    "stress_coupling",
]

Expr = ufl.core.expr.Expr


def storage(c: Expr, c_n: Expr, q: Expr, dt: Expr) -> Expr:
    """(c − c_n)/Δt q (integrand; integrate with the lumped measure)."""
    return (c - c_n) / dt * q


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
