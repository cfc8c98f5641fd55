"""What a safe expression (:mod:`femcm.base.expressions`) may contain: the whitelist and limits.

The functions and constants a user may call or name, the operators and comparisons (each
mapped to its NumPy function), the size limits, and the wording of refused constructs.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "BINARY",
    "COMPARE",
    "CONSTANTS",
    "FUNCTIONS",
    "KINDS",
    "LOGICAL",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "UNARY",
]

FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "sin": (np.sin, 1),
    "cos": (np.cos, 1),
    "tan": (np.tan, 1),
    "exp": (np.exp, 1),
    "log": (np.log, 1),
    "sqrt": (np.sqrt, 1),
    "tanh": (np.tanh, 1),
    "sinh": (np.sinh, 1),
    "cosh": (np.cosh, 1),
    "arctan": (np.arctan, 1),
    "arctan2": (np.arctan2, 2),
    "abs": (np.abs, 1),
    "minimum": (np.minimum, 2),
    "maximum": (np.maximum, 2),
    "where": (np.where, 3),
}
"""Callable names -> (NumPy function, number of positional arguments)."""

CONSTANTS: dict[str, float] = {"pi": math.pi}
"""Names with a fixed value, available in every expression."""

MAX_LENGTH = 2000
"""Longest accepted expression, characters."""

MAX_DEPTH = 100
"""Deepest accepted nesting of the parsed expression."""

MAX_EXPONENT = 64.0
"""Largest accepted literal exponent in size (``x**64``); larger ones are refused."""

BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
    ast.Mod: np.mod,
}
LOGICAL: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.BitAnd: np.logical_and,
    ast.BitOr: np.logical_or,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: np.positive,
    ast.USub: np.negative,
}
COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}

KINDS = {
    "Attribute": "an attribute (a.b)",
    "Subscript": "a subscript (a[i])",
    "Lambda": "a lambda",
    "ListComp": "a comprehension",
    "SetComp": "a comprehension",
    "DictComp": "a comprehension",
    "GeneratorExp": "a generator",
    "IfExp": "a conditional (a if b else c); use where(b, a, c)",
    "BoolOp": "and/or; use & and | on comparisons",
    "NamedExpr": "an assignment (:=)",
    "JoinedStr": "a string",
    "Tuple": "a tuple",
    "List": "a list",
    "Set": "a set",
    "Dict": "a dict",
    "Await": "await",
    "Yield": "yield",
    "Starred": "a starred expression",
}
"""AST node type name -> how a refusal names it."""
