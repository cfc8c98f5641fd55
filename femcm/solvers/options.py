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
"""Smoothed aggregation with the rigid-body near-nullspace (attached by the solver).

Chosen by measurement (``benchmarks/bench_gamg.py``, ``inclusion_mechanics``, P2, serial, CPU
seconds of the solve incl. set-up, on the shared 2-core machine): at 317 554 / 1 252 634 DOFs
these defaults (threshold 0, 2 Chebyshev/Jacobi steps, aggressive coarsening on the first
level) take 46 / 52 CG iterations and 3.16 / 15.3 s; threshold 0.01: 31 / 31 iterations but
3.28 / 15.7 s (a costlier hierarchy); 0.02 and 0.05: 3.6 and 4.2 s at 317 k; 3 smoothing
steps: 3.29 / 16.8 s; SOR smoothing 5.5 s; no aggressive coarsening 6.2 s. None beats the
defaults, so they stay.
"""


def linear_options(choice: SolverChoice | str, elasticity: bool = False) -> dict[str, Any]:
    """PETSc KSP/PC options of a choice; ``elasticity`` adds the smoothed-aggregation set-up."""
    choice = SolverChoice(choice)
    if choice is SolverChoice.DIRECT:
        return dict(DIRECT)
    return _KRYLOV | (_ELASTICITY_AMG if elasticity else {})
