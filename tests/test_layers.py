"""The package's layers import downwards only: base < physics < fem < solvers < models < app.

Reads every module's imports (static ``import``/``from`` statements, also inside functions)
with ``ast``; a module may import femcm modules of its own layer or a lower one. The problem
scripts and mesh builders sit on top and may import anything; the library never imports them
statically (``femcm.app.api`` finds the problems at run time).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "femcm"
LAYERS = ("base", "physics", "fem", "solvers", "models", "app")
ANYWHERE = {"femcm._backend"}


def layer_of(module: str) -> int | None:
    """Layer index of a dotted femcm module name (None: not in a layer)."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "femcm" and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return None


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every femcm module a file imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("femcm")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "femcm":  # from femcm import x: x is a subpackage or name
                found += [(node.lineno, f"femcm.{a.name}") for a in node.names]
            elif node.module.startswith("femcm"):
                found.append((node.lineno, node.module))
    return found


def violations(root: Path) -> list[str]:
    """Every import of a higher layer (or of the top: problems, meshes) below ``root``."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        own = layer_of(".".join(rel.with_suffix("").parts))
        if own is None:
            continue
        for line, name in imported_modules(path):
            if name in ANYWHERE:
                continue
            target = layer_of(name)
            top = name.startswith(("femcm.problem_scripts", "femcm.meshes"))
            if top or (target is not None and target > own) or name == "femcm":
                bad.append(f"{rel}:{line} ({LAYERS[own]}) imports {name}")
    return bad


@pytest.mark.serial
def test_layers_import_downwards_only():
    bad = violations(PACKAGE)
    assert not bad, "layer violations:\n" + "\n".join(bad)


@pytest.mark.serial
def test_every_module_is_in_a_layer():
    loose = [
        p.name
        for p in PACKAGE.glob("*.py")
        if p.name not in ("__init__.py", "__main__.py", "_backend.py")
    ]
    assert not loose, f"modules outside the layer folders: {loose}"


@pytest.mark.serial
def test_the_check_catches_a_violation(tmp_path):
    pkg = tmp_path / "femcm"
    (pkg / "physics").mkdir(parents=True)
    (pkg / "physics" / "bad.py").write_text(
        "from femcm.base.errors import InputError\n"
        "def f():\n    from femcm.models.potential import PotentialProblem\n"
    )
    assert violations(pkg) == ["femcm/physics/bad.py:3 (physics) imports femcm.models.potential"]
