r"""Closed forms of the lattice gas with origin-dependent hop rates [D, Methods].

An ion on site s hops to each empty nearest neighbour at :math:`k_s = \nu\exp(-E_{a,s}/k_BT)`,
the barrier being that of the phase of the *origin* site. Detailed balance between a
configuration C and C' (one ion moved from s to t) holds with
:math:`\pi(C)\,k_s = \pi(C')\,k_t`, i.e. the stationary distribution is a product over the
occupied sites, :math:`\pi(C) \propto \prod_{s\ \mathrm{occupied}} \exp(E_{a,s}/k_BT)`:
a deeper trap is a *slower* site, so it holds more ions. Per phase i, with the ion number
fixed only on average (grand canonical, the thermodynamic limit),

.. math::

    \frac{n_i}{1 - n_i} = A\,\exp\!\left(\frac{E_{a,i}}{k_BT}\right),\qquad
    \sum_i f_i\, n_i = \bar n,

with :math:`f_i` the site fraction of phase i and :math:`\bar n` the mean occupancy, which fixes
A (:func:`equilibrium_occupancy`). On a finite lattice with exactly N ions the exact canonical
average is :func:`canonical_occupancy`; it tends to the closed form as N grows (relative
difference O(1/N)).

Dilute tracer diffusion on the 2D square lattice: four hops of length a, each at rate k, give
:math:`\langle r^2\rangle = 4 k a^2 t = 4 D t`, so :math:`D = \nu a^2 \exp(-E_a/k_BT)`
(:func:`tracer_diffusivity`).

The continuum counterpart is the ideal lattice gas with a per-phase site energy,
:math:`\mu = RT\ln(c/(1-c)) - N_A E_{a,i}` (:func:`site_energy_potential` is the second term):
uniform μ at steady state gives the same closed form with :math:`A = \exp(\mu/RT)`.

All energies in J (1 eV = ``E_CHARGE`` J), temperatures in K, rates in 1/s, lengths in m.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from femcm.base.constants import K_B, N_A
from femcm.base.errors import InputError, check_range

__all__ = [
    "canonical_occupancy",
    "equilibrium_occupancy",
    "hop_rate",
    "log_prefactor",
    "site_energy_potential",
    "tracer_diffusivity",
]


def hop_rate(attempt_frequency: float, barrier: float | np.ndarray, temperature: float):
    """Arrhenius hop rate k = ν exp(−E_a/k_BT) to one empty neighbour, 1/s."""
    return attempt_frequency * np.exp(-np.asarray(barrier, dtype=float) / (K_B * temperature))


def tracer_diffusivity(
    attempt_frequency: float, spacing: float, barrier: float, temperature: float
) -> float:
    """Dilute tracer diffusivity on the 2D square lattice, D = ν a² exp(−E_a/k_BT), m²/s."""
    return float(spacing**2 * hop_rate(attempt_frequency, barrier, temperature))


def _logistic(z: np.ndarray) -> np.ndarray:
    """1/(1 + e^−z), overflow-free."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _check(barriers: Sequence[float], weights: Sequence[float], temperature: float):
    e = np.asarray(barriers, dtype=float)
    w = np.asarray(weights, dtype=float)
    if e.ndim != 1 or e.shape != w.shape or len(e) == 0:
        raise InputError("barriers and fractions must be equally long, non-empty sequences")
    if np.any(w < 0) or not np.all(np.isfinite(e)):
        raise InputError("fractions must be >= 0 and barriers finite")
    check_range("temperature", temperature, gt=0.0)
    return e, w


def log_prefactor(
    barriers: Sequence[float],
    fractions: Sequence[float],
    occupancy: float,
    temperature: float,
) -> float:
    """The logarithm ln A of the closed form: Σ f_i n_i = n̄ with n_i/(1−n_i) = A exp(E_i/k_BT).

    Args:
        barriers: E_a,i per phase, J.
        fractions: site fraction f_i of each phase (normalised here).
        occupancy: mean occupancy n̄, in (0, 1).
        temperature: K.

    Returns:
        ln A, to round-off (bisection on a monotone function, bracketed exactly).
    """
    e, f = _check(barriers, fractions, temperature)
    check_range("occupancy", occupancy, gt=0.0, lt=1.0)
    f = f / f.sum()
    be = e / (K_B * temperature)
    logit = math.log(occupancy / (1.0 - occupancy))
    # Σ f σ(x + βE) is increasing in x; it is ≤ n̄ at x = logit − max βE, ≥ n̄ at logit − min βE.
    lo, hi = logit - be.max(), logit - be.min()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if float(f @ _logistic(mid + be)) < occupancy:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def equilibrium_occupancy(
    barriers: Sequence[float],
    fractions: Sequence[float],
    occupancy: float,
    temperature: float,
) -> np.ndarray:
    """Per-phase equilibrium occupancies n_i of the closed form (thermodynamic limit).

    n_i/(1 − n_i) = A exp(E_a,i/k_BT), A fixed by the mean occupancy Σ f_i n_i = n̄.
    Arguments as for :func:`log_prefactor`.
    """
    x = log_prefactor(barriers, fractions, occupancy, temperature)
    return _logistic(x + np.asarray(barriers, dtype=float) / (K_B * temperature))


def canonical_occupancy(
    barriers: Sequence[float],
    site_counts: Sequence[int],
    ions: int,
    temperature: float,
) -> np.ndarray:
    """Exact per-phase mean occupancies of a finite two-phase lattice holding exactly N ions.

    The stationary distribution weights a configuration with k ions in phase 2 and N − k in
    phase 1 by C(M₂, k) C(M₁, N − k) exp(k (E₂ − E₁)/k_BT); the mean of k gives n₂ = ⟨k⟩/M₂ and
    n₁ = (N − ⟨k⟩)/M₁. One phase: n = N/M.

    Args:
        barriers: E_a,i per phase (one or two), J.
        site_counts: sites M_i per phase.
        ions: N, 0 < N < ΣM_i.
        temperature: K.
    """
    e, m = _check(barriers, site_counts, temperature)
    m = m.astype(int)
    if len(e) > 2:
        raise InputError("canonical_occupancy handles one or two phases")
    check_range("ions", ions, gt=0, lt=int(m.sum()))
    if len(e) == 1:
        return np.array([ions / m[0]])
    m1, m2 = int(m[0]), int(m[1])
    k = np.arange(max(0, ions - m1), min(ions, m2) + 1)
    lg = np.vectorize(math.lgamma)

    def log_binom(n: int, r: np.ndarray) -> np.ndarray:
        return math.lgamma(n + 1) - lg(r + 1.0) - lg(n - r + 1.0)

    logw = log_binom(m2, k) + log_binom(m1, ions - k) + k * (e[1] - e[0]) / (K_B * temperature)
    w = np.exp(logw - logw.max())
    mean_k = float((k * w).sum() / w.sum())
    return np.array([(ions - mean_k) / m1, mean_k / m2])


def site_energy_potential(barrier: float | np.ndarray):
    """Chemical-potential shift of a site with barrier E_a in the continuum, −N_A E_a, J/mol."""
    return -N_A * np.asarray(barrier, dtype=float)
