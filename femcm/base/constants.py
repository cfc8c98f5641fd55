"""Physical constants (SI, CODATA 2018)."""

R_GAS = 8.314462618
"""Molar gas constant, J/(mol K)."""

FARADAY = 96485.33212
"""Faraday constant, C/mol."""

K_B = 1.380649e-23
"""Boltzmann constant, J/K."""

E_CHARGE = 1.602176634e-19
"""Elementary charge, C (1 eV = E_CHARGE J)."""

N_A = 6.02214076e23
"""Avogadro constant, 1/mol."""

T_DEFAULT = 298.15
"""Default temperature, K."""
