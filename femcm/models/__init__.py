"""Layer 4: models — residual, state and derived fields; PETSc set-up lives in the solvers."""
