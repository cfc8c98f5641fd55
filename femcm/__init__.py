"""femcm: finite-element chemo-mechanics of solid-state battery electrolytes on DOLFINx.

Public API (see the README)::

    import femcm
    femcm.problems()                       # canonical problem names
    femcm.parameters("inclusion_mechanics")  # name -> ParameterInfo(default, unit, doc)
    res = femcm.run("inclusion_mechanics", out="results/im", pressure=2e6)
    st = femcm.study("inclusion_mechanics", {"E_230": [50e9, 156e9]}, out="results/st", workers=2)
"""

from femcm import _backend  # noqa: F401  (must precede every dolfinx import)
from femcm.app.api import parameters, problems, run
from femcm.app.load import Loaded, load
from femcm.app.params import ParameterInfo
from femcm.app.result import Result
from femcm.app.study import study
from femcm.base.errors import InputError, SolveError

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "Loaded",
    "ParameterInfo",
    "Result",
    "SolveError",
    "__version__",
    "load",
    "parameters",
    "problems",
    "run",
    "study",
]
