"""Layer 5: parameters, the Python API and CLI, studies, output, results and pictures."""
