"""Layer 0: errors and range checks, physical constants, logging, internal scales."""
