r"""Time-step rules of the driver (:func:`femcm.solvers.timestepping.march`): Δt after each step.

**Error control** (default: ``rtol`` or ``atol`` > 0 and a
:class:`~femcm.solvers.evolution.MultistepEvolution`): variable-step BDF2 started by two
backward-Euler steps (:mod:`femcm.solvers.bdf`: the estimate of a BDF2 step needs three past
states); the local error of the monitored unknown (c; μ and u are algebraic in time and
excluded) is estimated by Milne's device from an extrapolation predictor of the same order, as
the ratio ``r`` of its RMS to ``atol + rtol·RMS(c − mean c)``
(relative to the pattern's amplitude). r > 1 rejects the step; the next Δt follows the PI
controller :math:`\Delta t\, 0.9\, r_n^{-0.7/3} r_{n-1}^{0.4/3}` (elementary on the first
estimate, no growth right after a rejection), within [0.2, ``max_ratio``] × Δt;
``max_ratio`` = 2 keeps BDF2 zero- and energy-stable (< 4.864 for Cahn–Hilliard). The
extrapolated state is also Newton's starting point.

**Iteration control** (``rtol = atol = 0``, or an evolution without the multistep methods):
Δt grows by ``grow`` after at most ``easy_iterations`` Newton iterations and shrinks by
``shrink`` after at least ``hard_iterations`` (``StepControl.fixed``: constant Δt).

Both: a failed Newton solve or an inadmissible state (c outside (0, 1)) is rolled back and
retried with Δt·``shrink``; below ``dt_min`` the run stops with
:class:`~femcm.base.errors.SolveError`; output times are hit exactly (the step is shortened,
or the rest split into two equal steps); ``target_change`` optionally caps the RMS change of c
per step; ``steady_tol`` stops when max|Δc|/Δt falls below it.
"""

from __future__ import annotations

import dataclasses
import math

from femcm.base.errors import check_range
from femcm.solvers.bdf import MAX_STABLE_RATIO, step_factor

__all__ = ["StepControl", "dt_after_rejection", "dt_after_step"]


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
    rtol: float = 3e-3
    """Error control: tolerance of the RMS local error of c relative to the RMS deviation of c
    from its mean (0 with atol = 0: iteration control)."""
    atol: float = 1e-4
    """Error control: absolute tolerance of the RMS local error of c."""
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

    @property
    def fixed_step(self) -> bool:
        """Whether every step is ``dt_initial`` (:meth:`fixed`): a failed step cannot shrink."""
        return self.dt_min == self.dt_initial and self.grow == 1.0

    @classmethod
    def fixed(cls, dt: float, order: int = 1, **kw) -> StepControl:
        """Fixed Δt, backward Euler (θ-method) or BDF2 (``order = 2``); fails below dt."""
        return cls(dt, dt, grow=1.0, hard_iterations=10**6, rtol=0.0, atol=0.0, order=order, **kw)


def dt_after_rejection(
    control: StepControl, step: float, order: int, err: float, too_large_error: bool
) -> float:
    """Δt to retry with after a rejected step of size ``step`` and BDF ``order``.

    ``too_large_error``: rejected by the error estimate ``err`` (× tolerance), not by a failed
    Newton solve or an inadmissible state.
    """
    if too_large_error:
        return step * min(0.9, step_factor(err, order, control.safety, control.max_ratio))
    return step * control.shrink


def dt_after_step(
    control: StepControl,
    *,
    dt: float,
    planned: float,
    step: float,
    order: int,
    its: int,
    err: float,
    err_prev: float,
    after_rejection: bool,
    adaptive: bool,
    change_rms: float,
) -> float:
    """Δt of the next step after an accepted step of size ``step``.

    ``dt``: the current Δt; ``planned``: Δt before the step was shortened to an output time.
    ``adaptive``: error control (``err``, ``err_prev``: this and the last error estimate ×
    tolerance); otherwise iteration control by the Newton iterations ``its``. Then the cap
    of ``target_change`` by the RMS change of c in the step.
    """
    if adaptive:
        fac = step_factor(err, order, control.safety, control.max_ratio, err_prev)
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
    if control.target_change > 0 and change_rms * dt > control.target_change * step:
        dt = max(step * control.target_change / change_rms, control.dt_min)
    return dt
