"""The lattice of the kinetic Monte Carlo (:mod:`femcm.models.kmc`): sites and their phases.

A 2D square lattice, periodic in both directions; every site belongs to a phase p (an integer
index, one hop rate per phase).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from femcm.base.errors import InputError, check_range

__all__ = ["DIRECTIONS", "Lattice", "strip_lattice"]

DIRECTIONS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.int64)
"""Hop directions in lattice units: +x, −x, +y, −y (the opposite of d is d ^ 1)."""


@dataclasses.dataclass(frozen=True)
class Lattice:
    """A periodic 2D square lattice with a phase index per site.

    ``phases[i, j]`` is the phase of the site at ((i + ½) a, (j + ½) a).
    """

    phases: np.ndarray
    """Phase index per site, shape (nx, ny), integers 0 .. P−1."""
    spacing: float
    """Lattice spacing a, m."""

    def __post_init__(self) -> None:
        ph = np.asarray(self.phases)
        if ph.ndim != 2 or min(ph.shape) < 3 or not np.issubdtype(ph.dtype, np.integer):
            raise InputError("lattice phases must be an integer array of shape (nx>=3, ny>=3)")
        if ph.min() < 0:
            raise InputError("lattice phase indices must be >= 0")
        check_range("lattice_spacing", self.spacing, gt=0.0)
        object.__setattr__(self, "phases", ph.astype(np.int64))

    @property
    def shape(self) -> tuple[int, int]:
        """(nx, ny)."""
        return self.phases.shape

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return int(self.phases.size)

    @property
    def n_phases(self) -> int:
        """Number of phases P (max index + 1)."""
        return int(self.phases.max()) + 1

    @property
    def site_counts(self) -> np.ndarray:
        """Sites per phase, shape (P,)."""
        return np.bincount(self.phases.ravel(), minlength=self.n_phases)

    def neighbours(self) -> np.ndarray:
        """Flat index of the neighbour of each flat site index in each direction, (N, 4)."""
        nx, ny = self.shape
        i, j = np.divmod(np.arange(nx * ny), ny)
        out = np.empty((nx * ny, 4), dtype=np.int64)
        for d, (dx, dy) in enumerate(DIRECTIONS):
            out[:, d] = ((i + dx) % nx) * ny + (j + dy) % ny
        return out


def _sites(length: float, spacing: float, name: str) -> int:
    """length/spacing as an integer, or a one-line InputError naming the parameter."""
    n = length / spacing
    if abs(n - round(n)) > 1e-6 * max(1.0, n) or round(n) < 1:
        raise InputError(
            f"parameter {name} = {length:g} m is not a whole multiple of lattice_spacing = "
            f"{spacing:g} m: must be k * lattice_spacing, k = 1, 2, ..."
        )
    return round(n)


def strip_lattice(
    width: float,
    height: float,
    strip_width: float,
    spacing: float,
    orientation: str = "vertical",
) -> Lattice:
    """Bulk (phase 0) with a secondary-phase strip (phase 1) through the middle.

    Args:
        width: domain size along x, m.
        height: domain size along y, m.
        strip_width: strip width across the strip, m (0 < strip_width < domain size across).
        spacing: lattice spacing a, m; must divide width, height and strip_width.
        orientation: ``vertical`` (strip along y, centred in x) or ``horizontal`` (along x).

    Returns:
        The lattice; the strip holds the sites whose centre lies within the strip.
    """
    check_range("lattice_spacing", spacing, gt=0.0)
    check_range("width", width, gt=0.0)
    check_range("height", height, gt=0.0)
    if orientation not in ("vertical", "horizontal"):
        raise InputError(
            f"parameter strip_orientation = {orientation!r} is not allowed: "
            "must be one of vertical, horizontal"
        )
    nx = _sites(width, spacing, "width")
    ny = _sites(height, spacing, "height")
    across, n_across = (width, nx) if orientation == "vertical" else (height, ny)
    if not 0.0 < strip_width < across:
        raise InputError(
            f"parameter strip_width = {strip_width:g} m is out of range: must be > 0 and "
            f"< {across:g} m (the domain {'width' if orientation == 'vertical' else 'height'})"
        )
    m = _sites(strip_width, spacing, "strip_width")
    start = (n_across - m) // 2
    band = np.zeros(n_across, dtype=np.int64)
    band[start : start + m] = 1
    phases = np.broadcast_to(
        band[:, None] if orientation == "vertical" else band[None, :], (nx, ny)
    )
    return Lattice(np.ascontiguousarray(phases), spacing)
