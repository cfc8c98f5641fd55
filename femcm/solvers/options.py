"""The one solver vocabulary of every problem, and the PETSc options behind each choice.

``direct``: MUMPS LU. ``iterative``: Krylov with algebraic multigrid — CG + GAMG for scalar
elliptic problems, CG + GAMG with the rigid-body near-nullspace for elasticity; coupled
models build their own block preconditioners from the same choice.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "DIRECT",
    "RENAMED_CHOICES",
    "SOLVER_CHOICES",
    "SolverChoice",
    "linear_options",
]


class SolverChoice(enum.StrEnum):
    """How linear systems are solved."""

    DIRECT = "direct"
    ITERATIVE = "iterative"


SOLVER_CHOICES: tuple[str, ...] = tuple(c.value for c in SolverChoice)
"""The allowed values of every ``linear_solver`` parameter."""

RENAMED_CHOICES: dict[str, str] = {"mumps": "direct", "gamg": "iterative"}
"""Names of femcm 0.1 that are refused with a pointer to their replacement."""

DIRECT: dict[str, Any] = {
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
}
"""MUMPS LU."""

_KRYLOV: dict[str, Any] = {
    "ksp_type": "cg",
    "ksp_rtol": 1e-12,
    "ksp_atol": 1e-30,
    "ksp_max_it": 2000,
    "pc_type": "gamg",
}

_ELASTICITY_AMG: dict[str, Any] = {
    "pc_gamg_type": "agg",
    "pc_gamg_coarse_eq_limit": 1000,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}


def linear_options(choice: SolverChoice | str, elasticity: bool = False) -> dict[str, Any]:
    """PETSc KSP/PC options of a choice; ``elasticity`` adds the smoothed-aggregation set-up."""
    choice = SolverChoice(choice)
    if choice is SolverChoice.DIRECT:
        return dict(DIRECT)
    return _KRYLOV | (_ELASTICITY_AMG if elasticity else {})
