"""The one adaptive time-step driver: Δt control, state update, output cadence, stopping.

The driver owns time; the physics is a :class:`Evolution` that can take one implicit step of a
given size from its last accepted state, judge the result, and either accept it (``u_n ← u``)
or roll back (``u ← u_n``). Rules (physics.md §1; issue 4):

- Δt grows by ``grow`` after a step that took at most ``easy_iterations`` Newton iterations,
  shrinks by ``shrink`` after one that took at least ``hard_iterations``;
- a failed Newton solve or an inadmissible state (e.g. c outside (0, 1)) is rolled back and
  retried with Δt·``shrink``; below ``dt_min`` the run stops with :class:`SolveError`;
- requested output times are hit exactly (the step is shortened, or the remaining interval is
  split into two equal steps to avoid a sliver), without lowering the natural Δt;
- optional accuracy limit ``target_change``: after each step the next Δt is capped at
  Δt·``target_change``/rms|Δc| of the step just taken. The iteration count alone lets Δt grow
  through fast transients (the onset of spinodal decomposition) onto a wrong trajectory:
  backward Euler's error per step grows with the change per step. The RMS over the domain,
  not the maximum, so a local event (a shrinking particle vanishing) does not stall a
  coarsening run;
- optional steady-state stop when the largest change per unit time of the evolution's
  monitored quantity falls below ``steady_tol``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from femcm.base.errors import SolveError, check_range
from femcm.base.log import logger

__all__ = ["Change", "Evolution", "MarchReport", "StepControl", "march"]


class Change(NamedTuple):
    """How much the monitored quantity changed in one accepted step (global values)."""

    largest: float
    """Max |Δ| over the dofs."""
    rms: float
    """Root mean square of Δ over the dofs."""


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


@dataclasses.dataclass(frozen=True)
class StepControl:
    """Adaptive Δt rules (seconds)."""

    dt_initial: float
    """First Δt, s."""
    dt_min: float
    """Smallest Δt before giving up, s."""
    dt_max: float = math.inf
    """Largest Δt, s."""
    grow: float = 1.5
    """Factor after an easy step (> 1)."""
    shrink: float = 0.5
    """Factor after a failed or hard step (0 < shrink < 1)."""
    easy_iterations: int = 4
    """Newton iterations at or below which Δt grows."""
    hard_iterations: int = 10
    """Newton iterations at or above which Δt shrinks."""
    target_change: float = 0.0
    """Intended RMS change per step: the next Δt is capped at Δt·target/rms (0: no cap)."""
    steady_tol: float = 0.0
    """Stop when max |Δc|/Δt < steady_tol (1/s); 0 never stops early."""
    max_steps: int = 1_000_000
    """Give up after this many accepted steps."""

    def __post_init__(self) -> None:
        check_range("dt_initial", self.dt_initial, gt=0.0)
        check_range("dt_min", self.dt_min, gt=0.0, le=self.dt_initial)
        if self.dt_max != math.inf:
            check_range("dt_max", self.dt_max, ge=self.dt_initial)
        check_range("dt_grow", self.grow, ge=1.0)
        check_range("dt_shrink", self.shrink, gt=0.0, lt=1.0)
        check_range("steady_tol", self.steady_tol, ge=0.0)
        check_range("target_change", self.target_change, ge=0.0)


@dataclasses.dataclass
class MarchReport:
    """What happened: final time, accepted and rejected steps, whether it stopped steady."""

    t: float
    steps: int = 0
    rejected: int = 0
    newton_iterations: int = 0
    steady: bool = False
    dts: list[float] = dataclasses.field(default_factory=list)


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
    and the steady-state time); ``on_step(t, dt, newton_its)`` after every accepted step.
    Raises :class:`SolveError` when Δt falls below ``control.dt_min`` or too many steps.
    """
    check_range("t_end", t_end, gt=t0)
    outs = sorted({float(o) for o in output_times if t0 < o < t_end} | {float(t_end)})
    rep = MarchReport(t=t0)
    dt = control.dt_initial
    eps = 1e-12 * max(abs(t_end), abs(t0), 1e-300)
    k = 0
    while k < len(outs):
        target = outs[k]
        remaining = target - rep.t
        if remaining <= dt:
            step = remaining
        elif remaining < 1.5 * dt:
            step = remaining / 2
        else:
            step = dt
        hits = step == remaining
        t_new = target if hits else rep.t + step
        its = system.solve_step(t_new, step)
        if its < 0 or not system.admissible():
            system.reject()
            rep.rejected += 1
            dt = step * control.shrink
            why = "Newton failed" if its < 0 else "inadmissible state"
            logger.info("t = %.6g s: %s with dt = %.3e s, retry with %.3e s", rep.t, why, step, dt)
            if dt < control.dt_min:
                raise SolveError(
                    f"time step {dt:.3e} s fell below dt_min = {control.dt_min:.3e} s "
                    f"at t = {rep.t:.6g} s ({why})"
                )
            continue
        rep.newton_iterations += its
        change = system.accept()
        rep.t = t_new
        rep.steps += 1
        rep.dts.append(step)
        logger.info(
            "step %d: t = %.6g s, dt = %.3e s, %d Newton its, max|dc|/dt = %.3e 1/s",
            rep.steps,
            rep.t,
            step,
            its,
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
