r"""Variable-step BDF1/BDF2 for the time-step driver: coefficients, local-error estimate, Δt.

With :math:`\omega = \Delta t_n/\Delta t_{n-1}`, BDF2 reads

.. math::

    \partial_t c \approx \frac1{\Delta t_n}\Big[\frac{1+2\omega}{1+\omega} c^{n+1}
    - (1+\omega) c^n + \frac{\omega^2}{1+\omega} c^{n-1}\Big],

zero-stable for ω < 1 + √2 and energy-stable for Cahn–Hilliard for ω < 4.864 (Liao, Ji,
Zhang 2021, arXiv:2102.03731); backward Euler is a = (1, −1, 0).

Local error (Milne's device): with :math:`c^P` the polynomial through the last p + 1
accepted states evaluated at :math:`t_{n+1}` (an explicit predictor of the corrector's order
p), both errors are multiples of the same derivative :math:`c^{(p+1)}`: the corrector's is
:math:`\frac{\Delta t_n}{a_0}\prod_{i<p}(t_{n+1}-t_{n-i})\,c^{(p+1)}/(p+1)!`, the
predictor's :math:`\prod_{i\le p}(t_{n+1}-t_{n-i})\,c^{(p+1)}/(p+1)!`, hence

.. math::

    e = \frac{\Delta t_n/a_0}{\Delta t_n/a_0 + t_{n+1} - t_{n-p}}\,(c^{n+1} - c^P).

The step is accepted when the ratio :math:`\|e\| / (a_\mathrm{tol} + r_\mathrm{tol}\|c -
\bar c\|)` is ≤ 1, both norms the lumped-L² RMS over the domain and :math:`\bar c` the mean:
the relative tolerance refers to the amplitude of the pattern, not to c itself, so the onset
of a spinodal decomposition from a perturbation of 0.01 is followed as accurately, relative to
its size, as the coarsening of a fully separated pattern; the RMS, not the maximum, so that a
local event such as a vanishing particle does not stall coarsening.
"""

from __future__ import annotations

import collections
import math
from typing import Any, NamedTuple

import numpy as np

from mpi4py import MPI

__all__ = ["BACKWARD_EULER", "MAX_STABLE_RATIO", "History", "Scheme", "bdf", "step_factor"]

MAX_STABLE_RATIO = 4.864
"""Step ratio below which variable-step BDF2 is energy stable for Cahn–Hilliard."""


class Scheme(NamedTuple):
    """One variable-step BDF step: ∂c/∂t ≈ (a0 c + a1 cₙ + a2 cₙ₋₁)/Δt."""

    order: int
    a0: float
    a1: float
    a2: float
    ratio: float
    """ω = Δt/Δt_previous (0: no previous step); the initial guess is w_n + ω (w_n − w_n−1)."""


def bdf(order: int, ratio: float) -> Scheme:
    """BDF1 (backward Euler) or variable-step BDF2 coefficients at step ratio ω."""
    if order == 1:
        return Scheme(1, 1.0, -1.0, 0.0, ratio)
    w = ratio
    return Scheme(2, (1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w), ratio)


BACKWARD_EULER = bdf(1, 0.0)


class History:
    """Times and monitored values of the last accepted states; the predictor and the error."""

    def __init__(self, system: Any, t0: float, order: int, rtol: float, atol: float):
        self.order, self.rtol, self.atol = order, rtol, atol
        self.comm = system.comm
        self.w = system.monitored_weights()
        self.wsum = self.comm.allreduce(float(self.w.sum()), op=MPI.SUM)
        self.ts: collections.deque[float] = collections.deque([t0], maxlen=3)
        self.cs: collections.deque[np.ndarray] = collections.deque([system.monitored()], maxlen=3)

    @property
    def accepted(self) -> int:
        """Accepted steps so far."""
        return len(self.ts) - 1

    def scheme(self, dt: float) -> Scheme:
        """BDF of the next step: order 1 until there is a history for the requested order."""
        k = self.accepted
        p = max(1, min(self.order, k))
        ratio = dt / (self.ts[-1] - self.ts[-2]) if k >= 1 else 0.0
        return bdf(p, ratio)

    def error(self, scheme: Scheme, t_new: float, c: np.ndarray) -> float:
        """Estimated local error of the step just solved, relative to the tolerance."""
        p = scheme.order
        if len(self.ts) < p + 1:
            return math.nan
        ts = list(self.ts)[-(p + 1) :]
        cs = list(self.cs)[-(p + 1) :]
        pred = np.zeros_like(c)
        for i, (ti, ci) in enumerate(zip(ts, cs, strict=True)):
            li = 1.0
            for j, tj in enumerate(ts):
                if j != i:
                    li *= (t_new - tj) / (ti - tj)
            pred += li * ci
        h = t_new - self.ts[-1]
        lead = h / scheme.a0
        e = lead / (lead + t_new - ts[0]) * (c - pred)
        w = self.w
        sums = np.array([w @ (e * e), w @ c, w @ (c * c)])
        ee, m1, m2 = self.comm.allreduce(sums, op=MPI.SUM) / self.wsum
        amplitude = math.sqrt(max(m2 - m1 * m1, 0.0))  # RMS deviation of c from its mean
        return math.sqrt(ee) / (self.atol + self.rtol * amplitude)

    def restore(self, ts: list[float], cs: list[np.ndarray]) -> None:
        """Replace the history by saved times and values (a restart)."""
        if len(ts) != len(cs) or not ts:
            raise ValueError("a history needs as many values as times, at least one")
        self.ts = collections.deque(ts, maxlen=3)
        self.cs = collections.deque(cs, maxlen=3)

    def push(self, t: float, c: np.ndarray) -> None:
        """Record an accepted state."""
        self.ts.append(t)
        self.cs.append(c)


def step_factor(
    err: float, order: int, safety: float, max_ratio: float, err_prev: float = math.nan
) -> float:
    """Δt_new/Δt from the error ratio.

    The PI controller of Gustafsson (Hairer & Wanner, Solving ODEs II, §IV.8) when the step
    before also had an estimate, else the elementary one; within [0.2, max_ratio].
    """
    if not math.isfinite(err):
        return 1.0
    k = order + 1
    err = max(err, 1e-10)
    if math.isfinite(err_prev):
        fac = safety * err ** (-0.7 / k) * max(err_prev, 1e-10) ** (0.4 / k)
    else:
        fac = safety * err ** (-1.0 / k)
    return min(max_ratio, max(0.2, fac))
