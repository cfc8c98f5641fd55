"""Safe arithmetic expressions of position, for user-given fields such as an initial condition.

A user writes a formula as text (``--set initial="0.5 + 0.1*tanh((x - width/2)/2e-8)"``). It is
never handed to :func:`eval`. Instead it is parsed with :mod:`ast` and checked against a
whitelist; what passes is turned into a tree of NumPy operations on float64 arrays:

- numbers (integers become floats, so ``9**9**9`` is float arithmetic and cannot hang);
- the names given by the caller (e.g. ``x``, ``y``, ``z``, ``width``, ``height``) and ``pi``;
- ``+ - * / ** %``, unary ``+ -``, comparisons ``< <= > >= == !=`` (1.0 or 0.0), ``&`` and
  ``|`` of comparisons;
- calls of the functions in ``FUNCTIONS`` with positional arguments.

Everything else is refused before anything is evaluated: attributes (``().__class__``),
subscripts, lambdas, comprehensions, strings, keyword arguments, starred arguments, names
outside the list (including every dunder), conditional expressions, walrus, exponents that
are literal numbers larger than ``MAX_EXPONENT`` in size or that are themselves powers,
and expressions longer than ``MAX_LENGTH`` characters or deeper than ``MAX_DEPTH``.
The whitelist and these limits are in :mod:`femcm.base.expression_names`.
Every refusal is an :class:`~femcm.base.errors.InputError` of one line that names the
parameter.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from femcm.base.errors import InputError
from femcm.base.expression_names import (
    BINARY,
    COMPARE,
    CONSTANTS,
    FUNCTIONS,
    KINDS,
    LOGICAL,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    UNARY,
)

__all__ = ["Expression", "parse_expression"]

_Node = Callable[[Mapping[str, Any]], Any]


class _Refused(Exception):
    """Internal: the reason an expression is refused (turned into an InputError)."""


def _literal(node: ast.expr) -> float | None:
    """The value of a literal number, also with a sign (``-3``), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        inner = _literal(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    return None


class _Compiler:
    """Turn a whitelisted AST into nested closures over NumPy functions."""

    def __init__(self, names: frozenset[str]):
        self.names = names

    def build(self, node: ast.AST, depth: int = 0) -> _Node:
        if depth > MAX_DEPTH:
            raise _Refused(f"is nested deeper than {MAX_DEPTH} levels")
        d = depth + 1
        if isinstance(node, ast.Expression):
            return self.build(node.body, d)
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise _Refused(f"contains {type(node.value).__name__} {node.value!r}: only numbers")
            try:
                value = float(node.value)
            except OverflowError:
                raise _Refused(f"contains the number {node.value} beyond float range") from None
            return lambda env: value
        if isinstance(node, ast.Name):
            name = node.id
            if name in CONSTANTS:
                value = CONSTANTS[name]
                return lambda env: value
            if name not in self.names:
                raise _Refused(f"uses the unknown name {name!r}")
            return lambda env: env[name]
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                self._check_power(node)
            op = BINARY.get(type(node.op)) or LOGICAL.get(type(node.op))
            if op is None:
                raise _Refused(f"uses the operator {type(node.op).__name__}")
            left, right = self.build(node.left, d), self.build(node.right, d)
            if type(node.op) in LOGICAL:
                return lambda env: op(left(env), right(env)).astype(float)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.UnaryOp):
            uop = UNARY.get(type(node.op))
            if uop is None:
                raise _Refused(f"uses the operator {type(node.op).__name__}")
            operand = self.build(node.operand, d)
            return lambda env: uop(operand(env))
        if isinstance(node, ast.Compare):
            parts = [self.build(node.left, d), *(self.build(c, d) for c in node.comparators)]
            ops = []
            for o in node.ops:
                if type(o) not in COMPARE:
                    raise _Refused(f"uses the comparison {type(o).__name__}")
                ops.append(COMPARE[type(o)])

            def compare(env: Mapping[str, Any]) -> Any:
                values = [p(env) for p in parts]
                out = np.asarray(True)
                for op_, a, b in zip(ops, values, values[1:], strict=False):
                    out = np.logical_and(out, op_(a, b))
                return out.astype(float)

            return compare
        if isinstance(node, ast.Call):
            return self._call(node, d)
        kind = KINDS.get(type(node).__name__, type(node).__name__.lower())
        raise _Refused(f"contains {kind}, which is not allowed")

    def _check_power(self, node: ast.BinOp) -> None:
        if isinstance(node.right, ast.BinOp) and isinstance(node.right.op, ast.Pow):
            raise _Refused("uses a power of a power (a**b**c)")
        p = _literal(node.right)
        if p is not None and abs(p) > MAX_EXPONENT:
            raise _Refused(f"uses the exponent {p:g}: at most {MAX_EXPONENT:g} in size")

    def _call(self, node: ast.Call, d: int) -> _Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise _Refused(f"calls {what!r}, which is not an allowed function")
        name = node.func.id
        fn, nargs = FUNCTIONS[name]
        if node.keywords:
            raise _Refused(f"passes keyword arguments to {name}")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _Refused(f"passes starred arguments to {name}")
        if len(node.args) != nargs:
            raise _Refused(f"calls {name} with {len(node.args)} arguments: it takes {nargs}")
        args = [self.build(a, d) for a in node.args]
        if name == "where":
            cond, a, b = args
            return lambda env: np.where(np.asarray(cond(env)) != 0, a(env), b(env))
        return lambda env: fn(*(a(env) for a in args))


class Expression:
    """A parsed, whitelisted expression; call it with arrays (or floats) for its names."""

    def __init__(self, parameter: str, text: str, names: Iterable[str]):
        self.parameter = parameter
        self.text = text
        self.names = frozenset(names)
        self._root = _parse(parameter, text, self.names)

    def __call__(self, **values: Any) -> np.ndarray:
        """Evaluate with every name given (arrays broadcast); returns a float64 array.

        Raises:
            InputError: a value is missing, or the result is not finite.
        """
        missing = sorted(self.names - set(values))
        if missing:
            raise InputError(f"parameter {self.parameter}: no value for {', '.join(missing)}")
        env = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        shape = np.broadcast_shapes(*(v.shape for v in env.values())) if env else ()
        with np.errstate(all="ignore"):
            try:
                out = np.asarray(self._root(env), dtype=float)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise InputError(
                    f"parameter {self.parameter} = {self.text!r} cannot be evaluated: "
                    f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                ) from None
        out = np.broadcast_to(out, shape).copy() if out.shape != shape else out
        bad = ~np.isfinite(out)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = ", ".join(
                f"{k} = {np.broadcast_to(v, shape).flat[i]:.6g}"
                for k, v in sorted(env.items())
                if np.ndim(v)
            )
            raise InputError(
                f"parameter {self.parameter} = {self.text!r} is not finite"
                + (f" at {where}" if where else "")
            )
        return out

    def __repr__(self) -> str:
        return f"Expression({self.parameter!r}, {self.text!r})"


def _parse(parameter: str, text: str, names: frozenset[str]) -> _Node:
    head = f"parameter {parameter} = {_short(text)}"
    if not isinstance(text, str):
        raise InputError(f"parameter {parameter} = {text!r} must be a string expression")
    if len(text) > MAX_LENGTH:
        raise InputError(f"parameter {parameter} is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise InputError(f"parameter {parameter} is empty: give an expression or a number")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = getattr(exc, "msg", None) or type(exc).__name__
        raise InputError(f"{head} is not a valid expression ({detail})") from None
    try:
        return _Compiler(names).build(tree)
    except _Refused as why:
        allowed = ", ".join([*sorted(names), *CONSTANTS, *FUNCTIONS])
        raise InputError(f"{head} {why}; allowed: numbers, + - * / ** %, {allowed}") from None
    except RecursionError:
        raise InputError(f"{head} is nested too deeply") from None


def _short(text: Any, n: int = 80) -> str:
    r = repr(text)
    return r if len(r) <= n else r[: n - 4] + "...'"


def parse_expression(parameter: str, text: str, names: Iterable[str]) -> Expression:
    """Parse ``text`` as a safe expression of ``names`` for the parameter ``parameter``.

    Args:
        parameter: parameter name, used in every error message.
        text: the expression, e.g. ``"0.5 + 0.1*sin(2*pi*x/width)"``.
        names: variable names the expression may use (``pi`` and the functions are always
            available).

    Raises:
        InputError: one line naming ``parameter`` and what is wrong.
    """
    return Expression(parameter, text, names)
