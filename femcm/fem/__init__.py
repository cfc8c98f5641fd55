"""Layer 2: DOLFINx helpers — phase fields, Dirichlet conditions, reductions, probes."""
