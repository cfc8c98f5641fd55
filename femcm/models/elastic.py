"""Static linear elasticity with per-phase materials, eigenstrain and tractions (one solve)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import ufl
from dolfinx import fem, mesh

from femcm.fem.postprocess import field, stress_invariants
from femcm.fem.stiffness import Stiffness
from femcm.physics.elasticity import strain
from femcm.physics.materials import Material
from femcm.solvers.linear import LinearSolver
from femcm.solvers.options import SolverChoice, linear_options
from femcm.solvers.stats import SolverStats

__all__ = ["ElasticSolution", "solve_elastic", "stress_fields"]


@dataclasses.dataclass
class ElasticSolution:
    """Displacement (m), the stress as UFL (Pa) and the stiffness used."""

    u: fem.Function
    sigma: ufl.core.expr.Expr
    stiffness: Stiffness


def solve_elastic(
    msh: mesh.Mesh,
    cell_tags: mesh.MeshTags | None,
    materials: Mapping[int, Material],
    *,
    degree: int,
    bcs: Callable[[fem.FunctionSpace], Sequence[fem.DirichletBC]],
    tractions: Sequence[tuple[ufl.Measure, ufl.core.expr.Expr]] = (),
    eigenstrain: ufl.core.expr.Expr | None = None,
    solver: SolverChoice | str = SolverChoice.DIRECT,
    stats: SolverStats | None = None,
    name: str = "elastic",
) -> ElasticSolution:
    """Solve ∇·σ = 0, σ = C:(ε(u) − ε*), with prescribed tractions (Pa) and Dirichlet bcs.

    Moduli are divided by the largest Young's-type modulus internally so that the stiffness
    matrix is O(1); the returned ``sigma`` is in Pa.
    """
    scale = max(float(abs(m.voigt()).max()) for m in materials.values())
    C = Stiffness(msh, cell_tags, materials, scale=scale)
    V = fem.functionspace(msh, ("Lagrange", degree, (msh.geometry.dim,)))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    dx = ufl.Measure("dx", domain=msh)
    a = ufl.inner(C.stress(strain(u)), strain(v)) * dx
    zero = fem.Constant(msh, np.zeros(msh.geometry.dim))
    L = ufl.inner(zero, v) * dx
    if eigenstrain is not None:
        L += ufl.inner(C.stress(eigenstrain), strain(v)) * dx
    for ds, t in tractions:
        L += ufl.inner(t / scale, v) * ds
    uh = fem.Function(V, name="u")
    solver = SolverChoice(solver)
    LinearSolver(
        a,
        L,
        uh,
        bcs(V),
        name=name,
        options=linear_options(solver, elasticity=True),
        elasticity_space=V if solver is SolverChoice.ITERATIVE else None,
        stats=stats,
    ).solve()
    eps_el = strain(uh) if eigenstrain is None else strain(uh) - eigenstrain
    sigma = scale * C.stress(eps_el)
    return ElasticSolution(uh, sigma, C)


def stress_fields(sol: ElasticSolution, degree: int | None = None) -> dict[str, fem.Function]:
    """σ (3×3), σ_h and von Mises as discontinuous fields exact for the displacement degree."""
    msh = sol.u.function_space.mesh
    k = sol.u.function_space.ufl_element().embedded_superdegree - 1 if degree is None else degree
    return {
        "sigma": field(sol.sigma, msh, "DG", k, "sigma"),
        **stress_invariants(sol.sigma, msh, k),
    }
