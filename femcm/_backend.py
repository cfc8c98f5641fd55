"""Load the DOLFINx provider in the right order.

The ``dolfinx-solver-real`` wheel requires ``import dolfinx_solver`` before ``dolfinx`` (it
orders ``mpi4py.MPI`` ahead of the compiled bindings). A conda, Spack or Docker DOLFINx has
no such module, so the import is guarded.
"""

try:  # pragma: no cover - depends on how DOLFINx was installed
    import dolfinx_solver  # noqa: F401
except ImportError:  # conda / Docker / source builds
    pass
