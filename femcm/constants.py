"""Physical constants (SI, CODATA 2018)."""

R_GAS = 8.314462618
"""Molar gas constant, J/(mol K)."""

FARADAY = 96485.33212
"""Faraday constant, C/mol."""

T_DEFAULT = 298.15
"""Default temperature, K."""
