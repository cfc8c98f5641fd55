r"""The one time-step driver: error-controlled Δt, state update, output cadence, stopping.

The driver owns time; the physics is an :class:`Evolution` that can take one implicit step of
a given size from its last accepted state(s), judge the result, and either accept it or roll
back. Two controls:

**Error control** (default; ``rtol`` or ``atol`` > 0, the evolution a
:class:`MultistepEvolution`). Variable-step BDF2 for the monitored unknown (c; the algebraic
unknowns μ and u carry no time derivative and are excluded), started by one backward-Euler
step. With :math:`\omega = \Delta t_n/\Delta t_{n-1}`,

.. math::

    \partial_t c \approx \frac1{\Delta t_n}\Big[\frac{1+2\omega}{1+\omega} c^{n+1}
    - (1+\omega) c^n + \frac{\omega^2}{1+\omega} c^{n-1}\Big].

The local error is estimated from the distance between the solution and the polynomial
through the last p + 1 accepted states (a predictor of the same order p as the corrector):
:math:`e = \frac{\Delta t_n/a_0}{\Delta t_n/a_0 + t_{n+1} - t_{n-p}}\,(c^{n+1} - c^P)`
(exact for a solution whose (p+1)-th derivative is constant; Milne's device), measured as the
lumped-L² mean of :math:`e/(a_\mathrm{tol} + r_\mathrm{tol}|c|)` (ratio ``r``; the RMS, not
the maximum, so a local event such as a vanishing particle does not stall coarsening). A step
with r > 1 is rejected; the next Δt is :math:`\Delta t\,\min(\omega_\max,
\max(0.2, 0.9\, r^{-1/(p+1)}))`. The step ratio is kept below ``max_ratio`` (2 by default):
variable-step BDF2 is zero-stable for ω < 1 + √2 and energy-stable for Cahn–Hilliard for
ω < 4.864 (Liao, Ji, Zhang 2021, arXiv:2102.03731). The predictor (linear extrapolation,
each c-dof kept inside (0, 1)) is also Newton's starting point.

Why in-house and not PETSc ``TS`` (TSBDF + TSAdapt): measured on the default
``cahn_hilliard`` — see the benchmark ``benchmarks/bench_time_accuracy.py``.

**Iteration control** (``rtol = atol = 0``, or an evolution without the multistep methods):
the θ-method step of the evolution; Δt grows by ``grow`` after a step that took at most
``easy_iterations`` Newton iterations, shrinks by ``shrink`` after one that took at least
``hard_iterations``; ``grow = 1`` gives fixed steps.

Both: a failed Newton solve or an inadmissible state (c outside (0, 1)) is rolled back and
retried with Δt·``shrink``; below ``dt_min`` the run stops with :class:`SolveError`; requested
output times are hit exactly (the step is shortened, or the remaining interval split into two
equal steps to avoid a sliver); ``target_change`` optionally caps Δt so that the RMS change of
c per step stays below it; ``steady_tol`` stops when max|Δc|/Δt falls below it.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from mpi4py import MPI

from femcm.base.errors import SolveError, check_range
from femcm.base.log import logger

__all__ = [
    "BACKWARD_EULER",
    "Change",
    "Evolution",
    "MarchReport",
    "MultistepEvolution",
    "Scheme",
    "StepControl",
    "StepRecord",
    "bdf",
    "march",
]

MAX_STABLE_RATIO = 4.864
"""Step ratio below which variable-step BDF2 is energy stable for Cahn–Hilliard."""


class Change(NamedTuple):
    """How much the monitored quantity changed in one accepted step (global values)."""

    largest: float
    """Max |Δ| over the dofs."""
    rms: float
    """Root mean square of Δ over the dofs."""


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


class Evolution(Protocol):
    """What the driver needs from a time-dependent problem."""

    def solve_step(self, t_new: float, dt: float) -> int:
        """Solve for the state at ``t_new`` from the last accepted one; Newton its or -1."""
        ...

    def admissible(self) -> bool:
        """Whether the just-solved state is acceptable (collective)."""
        ...

    def accept(self) -> Change:
        """Make the solved state the last accepted one; return its change (collective)."""
        ...

    def reject(self) -> None:
        """Restore the last accepted state."""
        ...


class MultistepEvolution(Protocol):
    """An :class:`Evolution` that also takes BDF steps and shows its monitored unknown."""

    comm: MPI.Comm

    def set_scheme(self, scheme: Scheme) -> None:
        """Coefficients of the next ``solve_step`` (``accept`` shifts the history)."""
        ...

    def monitored(self) -> np.ndarray:
        """Owned values of the error-controlled unknown in the current state (a copy)."""
        ...

    def monitored_weights(self) -> np.ndarray:
        """Owned quadrature weights of those values (the norm's lumped mass)."""
        ...

    def solve_step(self, t_new: float, dt: float) -> int: ...  # noqa: D102

    def admissible(self) -> bool: ...  # noqa: D102

    def accept(self) -> Change: ...  # noqa: D102

    def reject(self) -> None: ...  # noqa: D102


@dataclasses.dataclass(frozen=True)
class StepControl:
    """Time-step rules (seconds)."""

    dt_initial: float
    """First Δt, s."""
    dt_min: float
    """Smallest Δt before giving up, s."""
    dt_max: float = math.inf
    """Largest Δt, s."""
    grow: float = 1.5
    """Iteration control: factor after an easy step (≥ 1; 1: fixed steps)."""
    shrink: float = 0.5
    """Factor after a failed Newton solve or an inadmissible state (0 < shrink < 1)."""
    easy_iterations: int = 4
    """Iteration control: Newton iterations at or below which Δt grows."""
    hard_iterations: int = 10
    """Newton iterations at or above which Δt shrinks (both controls)."""
    target_change: float = 0.0
    """Extra cap: RMS change of c per step, the next Δt ≤ Δt·target/rms (0: no cap)."""
    steady_tol: float = 0.0
    """Stop when max |Δc|/Δt < steady_tol (1/s); 0 never stops early."""
    max_steps: int = 1_000_000
    """Give up after this many accepted steps."""
    rtol: float = 1e-3
    """Error control: relative tolerance of the local error of c (0 with atol = 0: off)."""
    atol: float = 1e-3
    """Error control: absolute tolerance of the local error of c."""
    order: int = 2
    """2 (variable-step BDF2, default) or 1 (backward Euler) for a multistep evolution."""
    max_ratio: float = 2.0
    """Largest Δt_n/Δt_n−1 (< 4.864 for the energy stability of BDF2)."""
    safety: float = 0.9
    """Error control: factor on the optimal Δt."""

    def __post_init__(self) -> None:
        check_range("dt_initial", self.dt_initial, gt=0.0)
        check_range("dt_min", self.dt_min, gt=0.0, le=self.dt_initial)
        if self.dt_max != math.inf:
            check_range("dt_max", self.dt_max, ge=self.dt_initial)
        check_range("dt_grow", self.grow, ge=1.0)
        check_range("dt_shrink", self.shrink, gt=0.0, lt=1.0)
        check_range("steady_tol", self.steady_tol, ge=0.0)
        check_range("target_change", self.target_change, ge=0.0)
        check_range("rtol", self.rtol, ge=0.0, lt=1.0)
        check_range("atol", self.atol, ge=0.0, lt=1.0)
        check_range("order", self.order, ge=1, le=2)
        check_range("max_ratio", self.max_ratio, gt=1.0, lt=MAX_STABLE_RATIO)
        check_range("safety", self.safety, gt=0.0, le=1.0)

    @property
    def error_control(self) -> bool:
        """Whether Δt follows the local-error estimate."""
        return self.rtol > 0 or self.atol > 0

    @classmethod
    def fixed(cls, dt: float, order: int = 1, **kw) -> StepControl:
        """Fixed Δt, backward Euler (θ-method) or BDF2 (``order = 2``); fails below dt."""
        return cls(dt, dt, grow=1.0, hard_iterations=10**6, rtol=0.0, atol=0.0, order=order, **kw)


class StepRecord(NamedTuple):
    """One accepted step."""

    t: float
    dt: float
    order: int
    newton_iterations: int
    error: float
    """Estimated local error / tolerance (NaN where there is no estimate)."""
    rejected: int
    """Attempts rejected before this step was accepted."""


@dataclasses.dataclass
class MarchReport:
    """What happened: final time, accepted and rejected steps, whether it stopped steady."""

    t: float
    steps: int = 0
    rejected: int = 0
    newton_iterations: int = 0
    steady: bool = False
    records: list[StepRecord] = dataclasses.field(default_factory=list)

    @property
    def dts(self) -> list[float]:
        """Δt of every accepted step."""
        return [r.dt for r in self.records]


class _History:
    """Times and monitored values of the last accepted states; the predictor and the error."""

    def __init__(self, system: MultistepEvolution, control: StepControl, t0: float):
        self.system, self.control = system, control
        self.comm = system.comm
        self.w = system.monitored_weights()
        self.wsum = self.comm.allreduce(float(self.w.sum()), op=MPI.SUM)
        self.ts: collections.deque[float] = collections.deque([t0], maxlen=3)
        self.cs: collections.deque[np.ndarray] = collections.deque([system.monitored()], maxlen=3)

    @property
    def accepted(self) -> int:
        return len(self.ts) - 1

    def scheme(self, dt: float) -> Scheme:
        k = self.accepted
        p = max(1, min(self.control.order, k))
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
        ctl = self.control
        scale = ctl.atol + ctl.rtol * np.maximum(np.abs(c), np.abs(self.cs[-1]))
        local = float(np.sum(self.w * (e / scale) ** 2))
        return math.sqrt(self.comm.allreduce(local, op=MPI.SUM) / self.wsum)

    def push(self, t: float, c: np.ndarray) -> None:
        self.ts.append(t)
        self.cs.append(c)


_MULTISTEP = ("comm", "set_scheme", "monitored", "monitored_weights")


def _factor(err: float, order: int, control: StepControl, err_prev: float = math.nan) -> float:
    """Δt_new/Δt from the error ratio.

    The PI controller of Gustafsson (Hairer & Wanner, Solving ODEs II, §IV.8) when the step
    before also had an estimate, else the elementary one; within [0.2, max_ratio].
    """
    if not math.isfinite(err):
        return 1.0
    k = order + 1
    err = max(err, 1e-10)
    if math.isfinite(err_prev):
        fac = control.safety * err ** (-0.7 / k) * max(err_prev, 1e-10) ** (0.4 / k)
    else:
        fac = control.safety * err ** (-1.0 / k)
    return min(control.max_ratio, max(0.2, fac))


def march(
    system: Evolution,
    control: StepControl,
    t_end: float,
    *,
    t0: float = 0.0,
    output_times: Sequence[float] = (),
    on_output: Callable[[float], None] | None = None,
    on_step: Callable[[float, float, int], None] | None = None,
) -> MarchReport:
    """Integrate from ``t0`` to ``t_end`` (or to steady state).

    ``on_output(t)`` is called at each requested time in (t0, t_end] (t_end always included,
    and the steady-state time); ``on_step(t, dt, newton_its)`` after every accepted step
    (``MarchReport.records`` has the order and error estimate of each).
    Raises :class:`SolveError` when Δt falls below ``control.dt_min`` or too many steps.
    """
    check_range("t_end", t_end, gt=t0)
    outs = sorted({float(o) for o in output_times if t0 < o < t_end} | {float(t_end)})
    rep = MarchReport(t=t0)
    multistep = all(hasattr(system, m) for m in _MULTISTEP)  # also through a wrapper
    adaptive = control.error_control and multistep
    hist = _History(system, control, t0) if multistep else None
    dt = control.dt_initial
    h_last = math.inf
    rejected_here = 0
    err_prev = math.nan
    eps = 1e-12 * max(abs(t_end), abs(t0), 1e-300)
    k = 0
    while k < len(outs):
        target = outs[k]
        if multistep:
            dt = min(dt, control.max_ratio * h_last)
        remaining = target - rep.t
        if remaining <= dt * (1 + 1e-12):
            step = remaining
        elif remaining < 1.5 * dt:
            step = remaining / 2
        else:
            step = dt
        hits = step == remaining
        planned = dt
        t_new = target if hits else rep.t + step
        scheme = BACKWARD_EULER
        if multistep:
            scheme = hist.scheme(step)
            system.set_scheme(scheme)
        its = system.solve_step(t_new, step)
        why = ""
        if its < 0:
            why = "Newton failed"
        elif not system.admissible():
            why = "inadmissible state"
        err = math.nan
        if not why and adaptive:
            err = hist.error(scheme, t_new, system.monitored())
            if err > 1.0:
                why = f"error {err:.3g} x tolerance"
        if why:
            system.reject()
            rep.rejected += 1
            rejected_here += 1
            if adaptive and why.startswith("error"):
                dt = step * min(0.9, _factor(err, scheme.order, control))
            else:
                dt = step * control.shrink
            logger.info("t = %.6g s: %s with dt = %.3e s, retry with %.3e s", rep.t, why, step, dt)
            if dt < control.dt_min:
                raise SolveError(
                    f"time step {dt:.3e} s fell below dt_min = {control.dt_min:.3e} s "
                    f"at t = {rep.t:.6g} s ({why})"
                )
            continue
        rep.newton_iterations += its
        if multistep:
            hist.push(t_new, system.monitored())
        change = system.accept()
        rep.t = t_new
        rep.steps += 1
        h_last = step
        rep.records.append(StepRecord(t_new, step, scheme.order, its, err, rejected_here))
        after_rejection, rejected_here = rejected_here > 0, 0
        logger.info(
            "step %d: t = %.6g s, dt = %.3e s, BDF%d, %d Newton its, error/tol %.3g, "
            "max|dc|/dt = %.3e 1/s",
            rep.steps,
            rep.t,
            step,
            scheme.order,
            its,
            err,
            change.largest / step,
        )
        if on_step is not None:
            on_step(rep.t, step, its)
        written = False
        if abs(rep.t - target) <= eps:
            k += 1
            written = True
            if on_output is not None:
                on_output(rep.t)
        if adaptive:
            fac = _factor(err, scheme.order, control, err_prev)
            err_prev = err
            dt = step * (min(fac, 1.0) if after_rejection else fac)
            if step < planned and not after_rejection:  # shortened for an output time
                dt = max(dt, planned)
            if its >= control.hard_iterations:
                dt = min(dt, step * control.shrink)
            dt = min(max(dt, control.dt_min), control.dt_max)
        else:
            if its <= control.easy_iterations:
                dt = min(max(dt, step) * control.grow, control.dt_max)
            elif its >= control.hard_iterations:
                dt = max(min(dt, step) * control.shrink, control.dt_min)
        if control.target_change > 0 and change.rms * dt > control.target_change * step:
            dt = max(step * control.target_change / change.rms, control.dt_min)
        if control.steady_tol > 0 and change.largest / step < control.steady_tol:
            rep.steady = True
            logger.info(
                "steady state at t = %.6g s (max|dc|/dt = %.3e 1/s)", rep.t, change.largest / step
            )
            if not written and on_output is not None:
                on_output(rep.t)
            break
        if rep.steps >= control.max_steps:
            raise SolveError(f"no end after max_steps = {control.max_steps} steps, t = {rep.t:.6g}")
    return rep
