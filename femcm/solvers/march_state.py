"""What a march has done so far, and everything needed to continue it exactly (restart).

:class:`MarchReport` is the record a march returns; :class:`MarchState` adds the driver's
private state between two steps (the next Δt, the last one, the controller's previous error,
the history of the monitored unknown): a march resumed from it (``march(..., resume=state)``)
takes the same steps as one that was never stopped.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import numpy as np

__all__ = ["MarchReport", "MarchState", "StepRecord"]


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


@dataclasses.dataclass
class MarchState:
    """The driver between two steps: enough to continue as if never stopped."""

    report: MarchReport
    dt: float
    """Δt planned for the next step, s."""
    h_last: float = math.inf
    """Δt of the last accepted step, s (inf before the first)."""
    err_prev: float = math.nan
    """Error ratio of the last accepted step (the PI controller's memory)."""
    rejected_here: int = 0
    """Attempts rejected since the last accepted step."""
    history_t: list[float] = dataclasses.field(default_factory=list)
    """Times of the last accepted states (oldest first; up to three)."""
    history_values: list[np.ndarray] = dataclasses.field(default_factory=list)
    """Owned monitored values at those times (this rank's order)."""

    @property
    def t(self) -> float:
        """Time of the last accepted state, s."""
        return self.report.t

    def header(self) -> dict[str, Any]:
        """The scalar part, JSON-ready (the arrays are saved apart)."""
        rep = self.report
        return {
            "t": rep.t,
            "dt": self.dt,
            "h_last": self.h_last,
            "err_prev": self.err_prev,
            "rejected_here": self.rejected_here,
            "history_t": list(self.history_t),
            "steps": rep.steps,
            "rejected": rep.rejected,
            "newton_iterations": rep.newton_iterations,
            "steady": rep.steady,
        }

    @classmethod
    def from_header(
        cls, h: dict[str, Any], records: np.ndarray, values: list[np.ndarray]
    ) -> MarchState:
        """Rebuild from :meth:`header`, the step records (rows) and the history values."""

        def num(key: str) -> float:
            v = h[key]
            return math.nan if v is None else float(v)  # JSON keeps NaN as null

        rep = MarchReport(
            t=num("t"),
            steps=int(h["steps"]),
            rejected=int(h["rejected"]),
            newton_iterations=int(h["newton_iterations"]),
            steady=bool(h["steady"]),
            records=[
                StepRecord(r[0], r[1], int(r[2]), int(r[3]), r[4], int(r[5])) for r in records
            ],
        )
        h_last = math.inf if h["h_last"] is None else float(h["h_last"])
        return cls(
            rep,
            num("dt"),
            h_last,
            num("err_prev"),
            int(h["rejected_here"]),
            [float(t) for t in h["history_t"]],
            list(values),
        )
