"""Ohmic conduction, i = −κ∇φ, as UFL."""

from __future__ import annotations

import ufl

__all__ = ["current_density", "ohmic_residual"]


def current_density(phi, kappa):
    """I = −κ∇φ (A/m² for φ in V and κ in S/m)."""
    return -kappa * ufl.grad(phi)


def ohmic_residual(phi, v, kappa, dx: ufl.Measure):
    """∫ κ ∇φ·∇v dx (the bulk part of the residual, any consistent units)."""
    return ufl.inner(kappa * ufl.grad(phi), ufl.grad(v)) * dx
