"""A problem's answer (:class:`Solution`) and what ``femcm.run`` returns (:class:`Result`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from dolfinx import fem

from femcm.fem.probe import probe as _probe
from femcm.solvers.stats import SolverStats

__all__ = ["Result", "Solution"]


@dataclasses.dataclass
class Solution:
    """A problem's answer: fields, reported figures, solver totals, size, fields to plot."""

    fields: dict[str, fem.Function]
    scalars: dict[str, float]
    stats: SolverStats
    dofs: int
    plots: tuple[str, ...] = ()
    charts: dict[str, Callable[[Path], None]] = dataclasses.field(default_factory=dict)
    """Other pictures for ``--plot``: file name -> function writing that PNG (rank 0 calls it)."""


@dataclasses.dataclass
class Result:
    """The outcome of ``femcm.run``: the same content as ``result.json`` plus live fields."""

    problem: str
    parameters: dict[str, Any]
    scalars: dict[str, float]
    fields: dict[str, fem.Function]
    mesh: dict[str, int]
    solver: dict[str, Any]
    versions: dict[str, str]
    out: Path | None = None
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    """Seconds per phase (:mod:`femcm.app.timings`): mesh, compile, assemble, solve, ..."""

    def probe(self, name: str, points: np.ndarray) -> np.ndarray:
        """Values of field ``name`` at ``points`` (N×3, metres); the same array on every rank."""
        if name not in self.fields:
            raise KeyError(f"no field {name!r}; fields: {', '.join(self.fields)}")
        return _probe(self.fields[name], points)

    def as_json(self) -> dict[str, Any]:
        """The ``result.json`` document."""
        return {
            "problem": self.problem,
            "parameters": self.parameters,
            "scalars": self.scalars,
            "mesh": self.mesh,
            "solver": self.solver,
            "versions": self.versions,
            "timings": self.timings,
        }
