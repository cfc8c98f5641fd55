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
    "pc_gamg_threshold": 0.01,
    "pc_gamg_coarse_eq_limit": 1000,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}
"""Smoothed aggregation with the rigid-body near-nullspace (attached by the solver).

Chosen by measurement for large meshes (``benchmarks/bench_gamg.py``, ``inclusion_mechanics``,
P2, serial, quiet 2-core machine, PETSc's flop counts from ``-log_view``): with the strength
threshold 0.01 the CG iterations stay at 32 / 31 / 30 and the flops of set-up + CG at
16.8 / 16.3 / 15.9 k per DOF at 317 554 / 1 252 634 / 4 971 450 DOFs, so the time per DOF is
flat (best of 3, whole run less meshing: 12.8 / 12.6 CPU µs per DOF at 318 k / 1.25 M).
Threshold 0 (PETSc's default, femcm 0.1 to 0.3) needs 45 / 52 / 53 iterations and 16.8 / 19.2
/ 19.5 k flops per DOF: cheaper below ~0.5 M DOFs (10.7 µs per DOF at 318 k) but 9 % slower at
1.25 M (13.7) and growing 29 % per 4× DOFs. 0.005 and 0.02 are slower at both sizes; 0.01 on
the finest level only takes 37 / 44 iterations. 2 Chebyshev/Jacobi steps and aggressive
coarsening on the first level are PETSc's defaults; with threshold 0, 3 steps, SOR smoothing
and no aggressive coarsening were each slower (5–100 %).
"""


def linear_options(choice: SolverChoice | str, elasticity: bool = False) -> dict[str, Any]:
    """PETSc KSP/PC options of a choice; ``elasticity`` adds the smoothed-aggregation set-up."""
    choice = SolverChoice(choice)
    if choice is SolverChoice.DIRECT:
        return dict(DIRECT)
    return _KRYLOV | (_ELASTICITY_AMG if elasticity else {})
