"""Parameter field declarations: ``param(...)`` and the shared ones (``param.E``, ...).

A field carries its SI unit, one-line meaning, allowed range or choices in its metadata;
:class:`femcm.app.params.ParameterSet` reads them for validation, ``femcm show`` and parsing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from femcm.base.errors import check_bounds
from femcm.solvers.options import RENAMED_CHOICES, SOLVER_CHOICES

__all__ = ["param"]


class _Param:
    """Field declarations: ``param(...)``; ``param.E(...)``, ``param.nu(...)``, ... shared ones.

    The shared ones are the parameters that many problems declare, each with one unit, range
    and wording. Each stays one line of the problem's own class, so the declaration order
    (``femcm show``, the positional order) is the problem's.
    """

    def __call__(
        self,
        default: Any,
        unit: str,
        doc: str,
        *,
        choices: tuple[str, ...] | None = None,
        renamed: dict[str, str] | None = None,
        **bounds: float,
    ) -> Any:
        """Declare a parameter field with its unit, meaning and allowed range.

        Args:
            default: default value, SI units.
            unit: SI unit (``"1"`` for dimensionless, ``""`` for non-numeric).
            doc: one-line meaning, with its source ([D], [C], ... or *assumed*).
            choices: allowed values of a string parameter.
            renamed: former values of a string parameter -> their replacement (refused,
                naming it).
            **bounds: ``gt``, ``ge``, ``lt``, ``le``: exclusive or inclusive bounds.
        """
        meta = {"unit": unit, "doc": doc, **check_bounds(bounds), "choices": choices}
        meta["renamed"] = renamed or {}
        return dataclasses.field(default=default, metadata=meta)

    def E(self, default: float, of: str) -> Any:
        """A Young's modulus (Pa, > 0); ``of`` ends the doc line, e.g. ``"of Li [D]"``."""
        return self(default, "Pa", f"Young's modulus {of}", gt=0)

    def nu(self, default: float, of: str) -> Any:
        """A Poisson's ratio (-1 < ν < 0.5); ``of`` ends the doc line, e.g. ``"of Li [D]"``."""
        return self(default, "1", f"Poisson's ratio {of}", gt=-1, lt=0.5)

    def degree(self, default: int, of: str, highest: int = 3) -> Any:
        """A polynomial degree from 1 to ``highest``; ``of`` names the field(s)."""
        return self(default, "1", f"polynomial degree {of}", ge=1, le=highest)

    def linear_solver(self, default: str = "direct", doc: str = "linear solver") -> Any:
        """``direct`` or ``iterative``; the old names (mumps, gamg) are refused, naming these."""
        return self(default, "", doc, choices=SOLVER_CHOICES, renamed=RENAMED_CHOICES)

    def dt_initial(self, default: float) -> Any:
        """The first time step (s, > 0); see :meth:`ParameterSet.check_time_steps`."""
        return self(default, "s", "first time step", gt=0)

    def dt_min(self, default: float) -> Any:
        """The smallest time step (s, > 0) before a march gives up."""
        return self(default, "s", "smallest time step before giving up", gt=0)

    def dt_max(self, default: float = 0.0) -> Any:
        """The largest time step (s, >= 0; 0: no limit)."""
        return self(default, "s", "largest time step (0: no limit)", ge=0)

    def pressure(self, default: float, doc: str, **upper: float) -> Any:
        """A pressure load (Pa, >= 0), ``upper`` an upper bound; ``doc`` is the whole doc line."""
        return self(default, "Pa", doc, ge=0, **upper)

    def temperature(self, default: float = 298.15, note: str = "", **upper: float) -> Any:
        """A temperature (K, > 0); ``note`` ends the doc line, ``upper`` an upper bound."""
        return self(default, "K", f"temperature{note}", gt=0, **upper)

    def core_width(self, default: float) -> Any:
        """The core width a of non-singular dislocations (m, > 0), by default |b|."""
        return self(default, "m", "core width a (*assumed* = |b|)", gt=0)

    def mesh_size_core(self, default: float) -> Any:
        """The element size at dislocation cores (m, > 0; a problem checks <= a/4)."""
        return self(default, "m", "element size at the cores (<= a/4)", gt=0)

    def mesh_size_cut(self, default: float) -> Any:
        """The element size along the dislocation cuts (m, > 0)."""
        return self(default, "m", "element size along the cuts", gt=0)

    def w_degree(self) -> Any:
        """The space of the cut indicator W of dislocations: DG0 (cell averages) or DG1."""
        return self(1, "1", "W field: 0 = DG0 cell averages [C], 1 = DG1", ge=0, le=1)


param = _Param()
"""Declare a parameter field: ``param(default, unit, doc, choices=..., gt=...)``; shared
declarations as ``param.E``, ``param.nu``, ``param.degree``, ``param.linear_solver``,
``param.dt_initial``, ``param.dt_min``, ``param.dt_max``, ``param.pressure``,
``param.temperature`` and, for dislocations, ``param.core_width``, ``param.mesh_size_core``,
``param.mesh_size_cut``, ``param.w_degree``."""
