"""Load the DOLFINx provider in the right order, and keep PETSc away from signals.

The ``dolfinx-solver-real`` wheel requires ``import dolfinx_solver`` before ``dolfinx`` (it
orders ``mpi4py.MPI`` ahead of the compiled bindings). A conda, Spack or Docker DOLFINx has
no such module, so the import is guarded.

PETSc, when it initialises, installs handlers for SIGINT, SIGTERM, SIGPIPE, ... that print its
error banner and abort (or, for SIGINT, swallow the signal). femcm initialises PETSc first,
with ``-no_signal_handler``, so that Ctrl-C stays a Python ``KeyboardInterrupt`` and the
command line can end runs cleanly (:mod:`femcm.base.interrupt`). Without effect if PETSc was
initialised before femcm was imported.
"""

import sys

try:  # pragma: no cover - depends on how DOLFINx was installed
    import dolfinx_solver  # noqa: F401
except ImportError:  # conda / Docker / source builds
    pass

if "petsc4py.PETSc" not in sys.modules:  # pragma: no branch
    import petsc4py

    comm = None
    if "mpi4py.futures" in sys.modules:
        # A process of an mpi4py.futures pool (``femcm study`` on a cluster): PETSc's world is
        # this process alone, since PetscInitialize is collective and the pool's ranks never
        # initialise PETSc together (each case runs on its own communicator).
        from mpi4py import MPI

        comm = MPI.COMM_SELF
    petsc4py.init(["femcm", "-no_signal_handler"], comm=comm)
