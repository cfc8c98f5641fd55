"""Layer 1: physics as small pure functions returning UFL, materials, and NumPy twins.

Nothing here touches PETSc, meshes or function spaces.
"""
