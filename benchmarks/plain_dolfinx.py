"""``inclusion_mechanics`` written the way the DOLFINx demos are, for femcm's overhead.

The same plane-strain problem as ``problems/inclusion_mechanics.py`` on the same gmsh ``.msh``
file (read with ``dolfinx.io.gmsh.read_from_msh``; meshing is not compared): P2 displacement,
Lamé moduli per phase as DG0 functions (scaled by the largest C11, as femcm does),
traction −P n on top and bottom, u_x = 0 on the sides, u_y = 0 at the corner vertex (0, y_b),
the rigid-body near-nullspace built as in the DOLFINx elasticity demo, one
``dolfinx.fem.petsc.LinearProblem`` with the given PETSc options (the benchmark passes
femcm's own, so the algorithm is the same), then the stresses: σ, σ_h and von Mises
interpolated into DG1 and their extremes over the LLZO.

``solve(path, comm, petsc_options)`` returns seconds per phase (wall and CPU of this process),
DOFs, iterations and the extreme von Mises stress (to check it is the same solution).
"""

from __future__ import annotations

import time

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
import ufl
from dolfinx import fem, la
from dolfinx.fem.petsc import LinearProblem
from dolfinx.io import gmsh as gmshio

from mpi4py import MPI
from petsc4py import PETSc

E = {"llzo_220": (161e9, 0.27), "llzo_230": (156e9, 0.27), "li": (7.8e9, 0.38)}
PRESSURE = 1e6


def build_nullspace(V: fem.FunctionSpace) -> PETSc.NullSpace:
    """Rigid-body modes of V (2D: two translations, one rotation), as in the DOLFINx demo."""
    x = V.tabulate_dof_coordinates()
    bs = V.dofmap.index_map_bs
    ns = [la.vector(V.dofmap.index_map, bs, dtype=PETSc.ScalarType) for _ in range(3)]
    for i in range(2):
        ns[i].array.reshape(-1, 2)[:, i] = 1.0
    ns[2].array.reshape(-1, 2)[:, 0] = -x[:, 1]
    ns[2].array.reshape(-1, 2)[:, 1] = x[:, 0]
    la.orthonormalize(ns)
    vecs = [la.petsc.create_vector_wrap(v) for v in ns]
    return PETSc.NullSpace().create(vectors=vecs, comm=V.mesh.comm), vecs


class _Clock:
    """Wall and CPU seconds per phase."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._t = (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        t = (time.perf_counter(), time.process_time())
        self.wall[name] = t[0] - self._t[0]
        self.cpu[name] = t[1] - self._t[1]
        self._t = t


def solve(path: str, comm: MPI.Comm, petsc_options: dict, degree: int = 2) -> dict:
    """Read the mesh, solve, compute the stresses; phases in seconds (see the module doc)."""
    clock = _Clock()
    data = gmshio.read_from_msh(path, comm, 0, gdim=2)
    msh, ct, ft = data.mesh, data.cell_tags, data.facet_tags
    tag = {name: g.tag for name, g in data.physical_groups.items()}
    clock.lap("mesh")

    scale = max(e / (1 + n) / (1 - 2 * n) * (1 - n) for e, n in E.values())  # largest C11
    Q = fem.functionspace(msh, ("DG", 0))
    mu, lmbda = fem.Function(Q), fem.Function(Q)
    for name, (e, n) in E.items():
        if name in tag:
            cells = ct.find(tag[name])
            mu.x.array[cells] = e / (2 * (1 + n)) / scale
            lmbda.x.array[cells] = e * n / ((1 + n) * (1 - 2 * n)) / scale

    def epsilon(u):
        return ufl.sym(ufl.grad(u))

    def sigma(u):
        return 2 * mu * epsilon(u) + lmbda * ufl.tr(epsilon(u)) * ufl.Identity(2)

    V = fem.functionspace(msh, ("Lagrange", degree, (2,)))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    n = ufl.FacetNormal(msh)
    a = ufl.inner(sigma(u), epsilon(v)) * ufl.dx
    t = -PRESSURE / scale * n
    L = ufl.inner(t, v) * ds(tag["top"]) + ufl.inner(t, v) * ds(tag["bottom"])

    fdim = msh.topology.dim - 1
    bcs = []
    for side in ("left", "right"):
        dofs = fem.locate_dofs_topological(V.sub(0), fdim, ft.find(tag[side]))
        bcs.append(fem.dirichletbc(PETSc.ScalarType(0), dofs, V.sub(0)))
    y_b = -100e-6 if "li" in tag else 0.0
    V1, _ = V.sub(1).collapse()
    corner = fem.locate_dofs_geometrical(
        (V.sub(1), V1), lambda x: np.isclose(x[0], 0.0) & np.isclose(x[1], y_b, atol=1e-12)
    )
    bcs.append(fem.dirichletbc(PETSc.ScalarType(0), corner[0], V.sub(1)))

    uh = fem.Function(V, name="u")
    problem = LinearProblem(
        a, L, bcs=bcs, u=uh, petsc_options=petsc_options, petsc_options_prefix="plain_"
    )
    nullspace, _vecs = build_nullspace(V)
    problem.A.setNearNullSpace(nullspace)
    clock.lap("setup")

    problem.solve()
    ksp = problem.solver
    assert ksp.getConvergedReason() > 0, ksp.getConvergedReason()
    clock.lap("solve")

    # stresses in Pa, plane strain: σ_zz = λ tr ε
    s2 = scale * sigma(uh)
    s_zz = scale * lmbda * ufl.tr(epsilon(uh))
    s3 = ufl.as_matrix([[s2[0, 0], s2[0, 1], 0], [s2[1, 0], s2[1, 1], 0], [0, 0, s_zz]])  # 3×3
    s_h = ufl.tr(s3) / 3
    dev = s3 - s_h * ufl.Identity(3)
    vm = ufl.sqrt(1.5 * ufl.inner(dev, dev))
    W = fem.functionspace(msh, ("DG", degree - 1))
    T = fem.functionspace(msh, ("DG", degree - 1, (3, 3)))
    fields = {}
    for name, expr, space in (("sigma", s3, T), ("sigma_h", s_h, W), ("von_mises", vm, W)):
        f = fem.Function(space, name=name)
        f.interpolate(fem.Expression(expr, space.element.interpolation_points))
        fields[name] = f
    llzo = np.concatenate([ct.find(tag[k]) for k in ("llzo_220", "llzo_230") if k in tag])
    cells_owned = llzo[llzo < msh.topology.index_map(2).size_local]
    dofs = np.unique(W.dofmap.list[cells_owned].ravel())
    vm_local = fields["von_mises"].x.array[dofs].max() if len(dofs) else -np.inf
    vm_max = comm.allreduce(vm_local, op=MPI.MAX)
    clock.lap("post")
    return {
        "dofs": V.dofmap.index_map.size_global * V.dofmap.index_map_bs,
        "linear_iterations": ksp.getIterationNumber(),
        "llzo_von_mises_max": vm_max,
        "wall": clock.wall,
        "cpu": clock.cpu,
    }
