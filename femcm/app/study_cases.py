"""The grid of a parameter study: its cases (cartesian product) and their keys.

Each case is keyed by a hash of its *full* parameter set (defaults included); the key names
the case's folder ``OUT/<key>/`` (see :mod:`femcm.app.study`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from femcm.app import api
from femcm.base.errors import InputError

__all__ = ["Case", "case_key", "make_cases"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One point of the grid."""

    index: int
    key: str
    varied: dict[str, Any]
    overrides: dict[str, Any]


def _split(item: str, what: str) -> tuple[str, str]:
    key, sep, text = item.partition("=")
    if not sep or not key.strip() or not text.strip():
        form = "KEY=V1,V2,..." if what == "--vary" else "KEY=VALUE"
        raise InputError(f"{what} {item!r} must have the form {form}")
    return key.strip(), text.strip()


def _values(P: Any, key: str, values: Any) -> list[Any]:
    """Parsed values of ``key``: from text (``"1e6,2e6"`` or a list of texts) or Python values."""
    if isinstance(values, str):
        values = values.split(",")
    values = list(values)
    if not values:
        raise InputError(f"--vary {key}: needs at least one value")
    return [P.parse_value(key, v.strip()) if isinstance(v, str) else v for v in values]


def _canonical(P: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """The full parameter set of a case (validated when valid; raw defaults + overrides else)."""
    try:
        return P.create(overrides).as_dict()
    except (ValueError, TypeError):
        full = {k: info.default for k, info in P.info().items()}
        full.update(overrides)
        return full


def case_key(name: str, params: Mapping[str, Any]) -> str:
    """Folder name of a case: 16 hex digits of SHA-256 of the problem and full parameters."""
    text = json.dumps({"problem": name, "parameters": dict(params)}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_cases(
    name: str,
    grid: Mapping[str, Any] | Sequence[str],
    sets: Mapping[str, Any] | Sequence[str] | None = None,
) -> tuple[list[str], list[Case]]:
    """Varied keys and the cases of the cartesian product (first key varies slowest)."""
    P = api.problem_module(name).Parameters
    items = list(grid.items()) if isinstance(grid, Mapping) else [_split(g, "--vary") for g in grid]
    if not items:
        raise InputError("--vary needs at least one KEY=V1,V2,...")
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        raise InputError(f"--vary names a parameter twice: {', '.join(keys)}")
    axes = [_values(P, k, v) for k, v in items]
    fixed: dict[str, Any] = {}
    if sets:
        pairs = sets.items() if isinstance(sets, Mapping) else [_split(s, "--set") for s in sets]
        for k, v in pairs:
            fixed[k] = P.parse_value(k, v) if isinstance(v, str) else v
    cases, seen = [], set()
    for combo in itertools.product(*axes):
        varied = dict(zip(keys, combo, strict=True))
        overrides = {**fixed, **varied}
        key = case_key(name, _canonical(P, overrides))
        if key in seen:
            continue  # the same parameter set twice (e.g. 1e6 and 1000000.0)
        seen.add(key)
        cases.append(Case(len(cases), key, varied, overrides))
    return keys, cases
