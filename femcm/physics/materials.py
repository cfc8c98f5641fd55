"""Elastic materials in SI units: isotropic (E, ν) and cubic (C11, C12, C44, rotated).

Both give their 6×6 Voigt stiffness (engineering shear strains), so a phase map can mix them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from femcm.base.errors import InputError, check_range

__all__ = ["VOIGT_PAIRS", "Cubic", "Isotropic", "Material", "rotation_z", "voigt_rotation"]


@dataclasses.dataclass(frozen=True)
class Isotropic:
    """Isotropic linear-elastic solid."""

    E: float
    """Young's modulus, Pa (> 0)."""
    nu: float
    """Poisson's ratio (-1 < ν < 0.5)."""
    name: str = "E"

    def __post_init__(self) -> None:
        check_range(self.name, self.E, gt=0.0)
        check_range(f"nu of {self.name}", self.nu, gt=-1.0, lt=0.5)

    @property
    def lame(self) -> tuple[float, float]:
        """(λ, μ) in Pa."""
        lmbda = self.E * self.nu / ((1 + self.nu) * (1 - 2 * self.nu))
        return lmbda, self.E / (2 * (1 + self.nu))

    def voigt(self) -> np.ndarray:
        """6×6 Voigt stiffness, Pa."""
        lmbda, mu = self.lame
        C = np.zeros((6, 6))
        C[:3, :3] = lmbda
        C[:3, :3] += 2 * mu * np.eye(3)
        C[3:, 3:] = mu * np.eye(3)
        return C


@dataclasses.dataclass(frozen=True)
class Cubic:
    """Cubic crystal, stiffness in the crystal frame, rotated into the sample frame."""

    C11: float
    C12: float
    C44: float
    rotation: tuple[tuple[float, float, float], ...] = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    """Rows: crystal axes expressed in the sample frame (proper orthogonal)."""
    name: str = "cubic"

    def __post_init__(self) -> None:
        check_range(f"C44 of {self.name}", self.C44, gt=0.0)
        check_range(f"C11 - C12 of {self.name}", self.C11 - self.C12, gt=0.0)
        check_range(f"C11 + 2 C12 of {self.name}", self.C11 + 2 * self.C12, gt=0.0)
        Q = np.asarray(self.rotation, dtype=float)
        if Q.shape != (3, 3) or not np.allclose(Q @ Q.T, np.eye(3), atol=1e-10):
            raise InputError(f"parameter rotation of {self.name} must be a 3×3 orthogonal matrix")

    def voigt(self) -> np.ndarray:
        """6×6 Voigt stiffness in the sample frame, Pa."""
        C = np.zeros((6, 6))
        C[:3, :3] = self.C12
        C[np.arange(3), np.arange(3)] = self.C11
        C[3:, 3:] = self.C44 * np.eye(3)
        K = voigt_rotation(np.asarray(self.rotation, dtype=float).T)
        return K @ C @ K.T


Material = Isotropic | Cubic

VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
"""Tensor index pairs of the six Voigt components (xx, yy, zz, yz, xz, xy)."""


def rotation_z(angle: float) -> tuple[tuple[float, float, float], ...]:
    """Rotation rows for a crystal turned by ``angle`` (rad) about z."""
    c, s = np.cos(angle), np.sin(angle)
    return ((c, s, 0.0), (-s, c, 0.0), (0.0, 0.0, 1.0))


def voigt_rotation(Q: np.ndarray) -> np.ndarray:
    """Bond matrix K with C' = K C Kᵀ for the rotation x' = Q x (stress-like Voigt)."""
    K = np.zeros((6, 6))
    for a, (i, j) in enumerate(VOIGT_PAIRS):
        for b, (k, m) in enumerate(VOIGT_PAIRS):
            K[a, b] = Q[i, k] * Q[j, m] + (Q[i, m] * Q[j, k] if k != m else 0.0)
    return K
