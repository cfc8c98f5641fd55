"""Iteration totals that every solver adds to and ``result.json`` reports."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["SolverStats"]


@dataclasses.dataclass
class SolverStats:
    """Totals reported in ``result.json`` under ``solver``."""

    time_steps: int = 0
    newton_iterations: int = 0
    linear_iterations: int = 0
    converged: bool = True
    wall_time_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return dataclasses.asdict(self)
