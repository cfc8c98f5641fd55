"""The records of a parameter study: case outcomes, ``study.csv`` and the plots.

- a finished case leaves its ``result.json`` (valid: the case is reused on a rerun);
- a failed case is recorded in ``OUT/<key>/failure.json`` (exit status and one line of error);
- ``OUT/study.csv`` is rewritten atomically after every finished case;
- :func:`plot_study` writes ``OUT/plots/S_vs_K.png`` for every scalar S and varied parameter K.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

from femcm.app.output import write_json_atomic
from femcm.app.study_cases import Case
from femcm.base.atomic import write_atomic

__all__ = [
    "EXIT_CASES_FAILED",
    "FAILURE_FILE",
    "CaseOutcome",
    "StudyResult",
    "finish_case",
    "format_value",
    "plot_study",
    "recorded",
    "write_table",
]

FAILURE_FILE = "failure.json"
"""Record of a failed case in its folder (removed when the case later succeeds)."""

EXIT_CASES_FAILED = 3
"""Exit status of ``femcm study`` when at least one case failed."""


@dataclasses.dataclass
class CaseOutcome:
    """What became of a case: ``status`` is "ok", "failed" or "pending"."""

    status: str = "pending"
    exit_status: int | None = None
    error: str = ""
    scalars: dict[str, float] = dataclasses.field(default_factory=dict)
    wall_time_s: float | None = None
    mesh_cache: str = ""
    reused: bool = False


@dataclasses.dataclass
class StudyResult:
    """The outcome of :func:`study`: one row per case (grid order) and the counts."""

    out: Path
    keys: list[str]
    cases: list[Case]
    outcomes: list[CaseOutcome]
    ran: int = 0
    reused: int = 0

    @property
    def csv(self) -> Path:
        """The summary table."""
        return self.out / "study.csv"

    @property
    def failed(self) -> int:
        """Number of failed cases."""
        return sum(o.status == "failed" for o in self.outcomes)

    @property
    def ok(self) -> int:
        """Number of successful cases."""
        return sum(o.status == "ok" for o in self.outcomes)

    @property
    def exit_status(self) -> int:
        """0 when every case succeeded, else 3."""
        return 0 if self.failed == 0 and self.ok == len(self.cases) else EXIT_CASES_FAILED

    def rows(self) -> list[dict[str, Any]]:
        """The rows of ``study.csv`` as dicts (scalars as floats)."""
        rows = []
        for case, o in zip(self.cases, self.outcomes, strict=True):
            rows.append(
                {
                    "case": case.key,
                    **case.varied,
                    "status": o.status,
                    "exit_status": o.exit_status,
                    "error": o.error,
                    **o.scalars,
                    "wall_time_s": o.wall_time_s,
                    "mesh_cache": o.mesh_cache,
                }
            )
        return rows


def _valid_result(path: Path, name: str) -> dict[str, Any] | None:
    """The ``result.json`` of a finished case, or None when missing or not valid."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("problem") != name:
        return None
    if not isinstance(doc.get("scalars"), dict) or not isinstance(doc.get("solver"), dict):
        return None
    return doc


def _outcome_from_result(doc: dict[str, Any], reused: bool) -> CaseOutcome:
    mesh = doc.get("mesh", {})
    cache = mesh.get("cache", "") if isinstance(mesh, dict) else ""
    return CaseOutcome(
        status="ok",
        exit_status=0,
        scalars={k: v for k, v in doc["scalars"].items()},
        wall_time_s=doc["solver"].get("wall_time_s"),
        mesh_cache=str(cache),
        reused=reused,
    )


def recorded(case_dir: Path, name: str) -> CaseOutcome | None:
    """What a previous study left for this case (ok or failed), or None."""
    doc = _valid_result(case_dir / "result.json", name)
    if doc is not None:
        return _outcome_from_result(doc, reused=True)
    try:
        fail = json.loads((case_dir / FAILURE_FILE).read_text())
        return CaseOutcome(
            status="failed",
            exit_status=int(fail["exit_status"]),
            error=str(fail["error"]),
            wall_time_s=fail.get("wall_time_s"),
            reused=True,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def finish_case(case_dir: Path, name: str, code: int, error: str, wall: float) -> CaseOutcome:
    """Record a case that just ended (exit status ``code``)."""
    doc = _valid_result(case_dir / "result.json", name) if code == 0 else None
    if doc is not None:
        (case_dir / FAILURE_FILE).unlink(missing_ok=True)
        return _outcome_from_result(doc, reused=False)
    if code == 0:
        code, error = 1, error or "the run ended without a valid result.json"
    out = CaseOutcome("failed", code, error or f"exit status {code}", wall_time_s=wall)
    case_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        case_dir / FAILURE_FILE, {"exit_status": code, "error": out.error, "wall_time_s": wall}
    )
    return out


def format_value(v: Any) -> str:
    """A parameter or scalar as text (``--set`` value, table cell)."""
    if isinstance(v, list | tuple):
        return ",".join(format_value(x) for x in v)
    return repr(v) if isinstance(v, float) else str(v)


def write_table(result: StudyResult) -> None:
    """Rewrite ``study.csv`` atomically (temporary file, then rename)."""
    scalar_keys: list[str] = []
    for o in result.outcomes:
        scalar_keys += [k for k in o.scalars if k not in scalar_keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case", *result.keys, "status", "exit_status", "error", *scalar_keys,
                "wall_time_s", "mesh_cache"])  # fmt: skip
    for case, o in zip(result.cases, result.outcomes, strict=True):
        w.writerow(
            [
                case.key,
                *[format_value(case.varied[k]) for k in result.keys],
                o.status,
                "" if o.exit_status is None else o.exit_status,
                o.error,
                *[format_value(o.scalars[k]) if k in o.scalars else "" for k in scalar_keys],
                "" if o.wall_time_s is None else f"{o.wall_time_s:.3f}",
                o.mesh_cache,
            ]
        )
    write_atomic(result.csv, buf.getvalue())


def plot_study(result: StudyResult) -> list[Path]:
    """``plots/S_vs_K.png`` for each scalar S and varied K (one line per other-parameter set)."""
    import numpy as np
    import pyvista as pv

    pv.OFF_SCREEN = True
    folder = result.out / "plots"
    folder.mkdir(exist_ok=True)
    ok = [(c, o) for c, o in zip(result.cases, result.outcomes, strict=True) if o.status == "ok"]
    scalars: list[str] = []
    for _, o in ok:
        scalars += [k for k in o.scalars if k not in scalars]
    written = []
    for key in result.keys:
        others = [k for k in result.keys if k != key]
        for s in scalars:
            groups: dict[tuple, list[tuple[float, float]]] = {}
            for c, o in ok:
                x, y = c.varied[key], o.scalars.get(s)
                if isinstance(x, int | float) and isinstance(y, int | float) and np.isfinite(y):
                    groups.setdefault(tuple(format_value(c.varied[k]) for k in others), []).append(
                        (float(x), float(y))
                    )
            if not groups:
                continue
            chart = pv.Chart2D(x_label=key, y_label=s)
            for i, (label, pts) in enumerate(sorted(groups.items())):
                pts.sort()
                x, y = np.array(pts).T
                name = ", ".join(f"{k}={v}" for k, v in zip(others, label, strict=True)) or s
                color = pv.Color(("tab:blue", "tab:red", "tab:green", "tab:orange")[i % 4])
                chart.line(x, y, color=color, width=2.0, label=name)
                chart.scatter(x, y, color=color, size=8, style="o")
            plotter = pv.Plotter(off_screen=True, window_size=(900, 600))
            plotter.add_chart(chart)
            path = folder / f"{s}_vs_{key}.png"
            plotter.screenshot(str(path))
            plotter.close()
            written.append(path)
    return written
