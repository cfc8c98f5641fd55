"""``inclusion_potential`` written the way the DOLFINx demos are, for femcm's overhead.

The default galvanostatic problem of ``problems/inclusion_potential.py`` on a gmsh ``.msh``
file of the same plate (read with ``dolfinx.io.gmsh.read_from_msh``; meshing is not
compared): P2 potential, conductivity per phase as a DG0 function, the applied current
density on the top, Butler–Volmer kinetics against grounded Li on the bottom, zero flux on
the sides, one ``NonlinearProblem`` (SNES Newton with the exact Jacobian) with the given PETSc
options (the benchmark passes femcm's Newton defaults and ``linear_options``, so the
algorithm is the same: ``newtonls``, backtracking line search, rtol 1e-10, atol 1e-12).

Same residual and scaling as femcm's ``PotentialProblem`` (so that the same Newton
tolerances mean the same thing): φ in units of V₀ = RT/F, conductivities in units of the
largest one, lengths by L (the bounding box), current densities by i_ref = κ_max V₀ / L,
every number a ``fem.Constant``.

Then the reported figures a demo would print: the cell voltage (mean φ on the top), the
current through the top and into the Li, the mean overpotential on the interface and the
current density i = −κ∇φ interpolated into DG(k − 1) with its largest magnitude.

``solve(msh_file, comm, options)`` returns seconds per phase (wall and CPU of this process:
``mesh``, ``setup``, ``solve``, ``post``), DOFs, Newton and linear iterations and the scalars.
"""

from __future__ import annotations

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

import numpy as np
import ufl
from dolfinx import fem
from dolfinx.fem.petsc import NonlinearProblem
from dolfinx.io import gmsh as gmshio
from plain_dolfinx import _Clock

from mpi4py import MPI

R_GAS = 8.314462618
FARADAY = 96485.33212
T = 298.15
KAPPA = {"llzo_220": 0.1, "llzo_230": 0.03}
I_APP = 5.0
I0 = R_GAS * T / (FARADAY * 0.25)
ALPHA_A = ALPHA_C = 0.5


def solve(msh_file: str, comm: MPI.Comm, options: dict, degree: int = 2) -> dict:
    """Read ``msh_file``, solve with the PETSc ``options``, compute the figures (module doc)."""
    clock = _Clock()
    data = gmshio.read_from_msh(msh_file, comm, 0, gdim=2)
    clock.lap("mesh")
    tag = {name: g.tag for name, g in data.physical_groups.items()}
    msh, ct, ft = data.mesh, data.cell_tags, data.facet_tags

    x = msh.geometry.x[:, :2]
    L = comm.allreduce(float((x.max(axis=0) - x.min(axis=0)).max()), op=MPI.MAX)
    V0 = R_GAS * T / FARADAY
    k0 = max(KAPPA.values())
    i_ref = k0 * V0 / L
    msh.topology.create_connectivity(1, 2)

    Q = fem.functionspace(msh, ("DG", 0))
    kappa, kappa_hat = fem.Function(Q), fem.Function(Q)
    for name, value in KAPPA.items():
        if name in tag:
            cells = ct.find(tag[name])
            kappa.x.array[cells] = value
            kappa_hat.x.array[cells] = value / k0

    def const(value: float) -> fem.Constant:
        return fem.Constant(msh, np.float64(value))

    V = fem.functionspace(msh, ("Lagrange", degree))
    u, v = fem.Function(V), ufl.TestFunction(V)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    c_dx, c_ds = const(1.0), const(1.0 / L)  # L^(2-d), L^(1-d) in 2D
    i_app = const(I_APP / i_ref)
    eta = const(0.0) - u  # Li grounded, U_eq = 0, no film
    i0, aa, ac, to_x = const(I0 / i_ref), const(ALPHA_A), const(ALPHA_C), const(1.0)
    j_bv = i0 * (ufl.exp(aa * to_x * eta) - ufl.exp(-ac * to_x * eta))
    F = c_dx * ufl.inner(kappa_hat * ufl.grad(u), ufl.grad(v)) * ufl.dx
    F += c_ds * -i_app * v * ds(tag["top"])
    F += c_ds * -j_bv * v * ds(tag["bottom"])
    J = ufl.derivative(F, u, ufl.TrialFunction(V))
    problem = NonlinearProblem(F, u, J=J, petsc_options_prefix="plain_pot_", petsc_options=options)
    clock.lap("setup")

    problem.solve()
    snes = problem.solver
    assert snes.getConvergedReason() > 0, snes.getConvergedReason()
    clock.lap("solve")

    def integral(form) -> float:
        return comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    phi = fem.Function(V, name="phi")
    phi.x.array[:] = V0 * u.x.array
    i_vec = -kappa * ufl.grad(phi)
    W = fem.functionspace(msh, ("DG", degree - 1, (2,)))
    i_h = fem.Function(W, name="current_density")
    i_h.interpolate(fem.Expression(i_vec, W.element.interpolation_points))
    n_owned = W.dofmap.index_map.size_local
    i_mag = np.linalg.norm(i_h.x.array.reshape(-1, 2)[:n_owned], axis=1)
    top_length = integral(1.0 * ds(tag["top"]))
    bottom_length = integral(1.0 * ds(tag["bottom"]))
    current_top = integral(i_ref * i_app * ds(tag["top"]))
    scalars = {
        "cell_voltage": integral(phi * ds(tag["top"])) / top_length,
        "current_density_mean": current_top / top_length,
        "overpotential_mean": integral(V0 * eta * ds(tag["bottom"])) / bottom_length,
        "current_top": current_top,
        "current_interface": -integral(i_ref * j_bv * ds(tag["bottom"])),
        "current_density_max": comm.allreduce(float(i_mag.max(initial=0.0)), op=MPI.MAX),
    }
    clock.lap("post")
    return {
        "dofs": V.dofmap.index_map.size_global,
        "newton_iterations": snes.getIterationNumber(),
        "linear_iterations": snes.getLinearSolveIterations(),
        "scalars": scalars,
        "wall": clock.wall,
        "cpu": clock.cpu,
    }
