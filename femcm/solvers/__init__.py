"""Layer 3: checked PETSc solvers, solver choices, null spaces, time stepping."""
