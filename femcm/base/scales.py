"""Internal units: the one scales type every model nondimensionalises with.

A model divides each SI quantity by its scale so that Newton and the linear solvers see O(1)
numbers; inputs and outputs stay SI. A model fills in the scales it needs and leaves the
others at 1.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from femcm.base.errors import check_range

__all__ = ["Scales"]


@dataclasses.dataclass(frozen=True)
class Scales:
    """SI values of the internal units."""

    length: float
    """L, m."""
    time: float = 1.0
    """t₀, s."""
    energy: float = 1.0
    """e₀, J/mol (chemical potential)."""
    stress: float = 1.0
    """s₀, Pa."""
    voltage: float = 1.0
    """V₀, V (electric potential)."""
    conductivity: float = 1.0
    """κ₀, S/m."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check_range(f"scales.{f.name}", getattr(self, f.name), gt=0.0)

    @property
    def current(self) -> float:
        """i₀ = κ₀ V₀ / L, A/m²: the current density that drops V₀ across L."""
        return self.conductivity * self.voltage / self.length

    @classmethod
    def natural(cls, length: float, chem: Any, stress: float = 1.0) -> Scales:
        """Scales of a c–μ(–u) model: L given, e₀ from the free energy, t₀ = L² c_max/(M e₀).

        ``chem`` is a :class:`femcm.models.chemomechanics.Chemistry` (anything with
        ``free_energy.energy_scale``, ``c_max`` and ``mobility.reference``).
        """
        e0 = chem.free_energy.energy_scale
        t0 = length**2 * chem.c_max / (chem.mobility.reference * e0)
        return cls(length=length, time=t0, energy=e0, stress=stress)
