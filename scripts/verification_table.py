"""The verification tables of README.md and docs/verification.md, from the tests' own numbers.

Every verified number in the tests goes through the ``verify`` fixture (tests/conftest.py): it
asserts ``measured OP bound`` and, with ``FEMCM_VERIFICATION_OUT=FILE`` set, rank 0 appends
one JSON line (test, ranks, key, measured, op, bound, reference, what, passed) to FILE.

    python scripts/verification_table.py            # make verification: run, then render
    python scripts/verification_table.py run        # the same
    python scripts/verification_table.py render build/verification/records.jsonl

``run`` runs the tests marked ``verification`` serially (one pytest session) and on 2 ranks
(one ``mpirun -n 2`` per test module, as scripts/test-parallel), recording into
build/verification/records.jsonl, then renders. ``render`` rewrites the text between
``<!-- verification-table:begin -->`` and ``<!-- verification-table:end -->`` in README.md (one
row per check, the worst case over its parametrizations) and docs/verification.md (one row per
test case). A failed check is rendered with "FAILED" and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- verification-table:begin -->", "<!-- verification-table:end -->"
ENV = "FEMCM_VERIFICATION_OUT"
RECORDS = REPO / "build" / "verification" / "records.jsonl"
TARGETS = (REPO / "README.md", REPO / "docs" / "verification.md")
LOWER_IS_BETTER = {"<": True, "<=": True, ">": False, ">=": False}


def load(paths: list[Path]) -> list[dict]:
    """All records of the JSON-lines files, in file order."""
    records = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def _worst(records: list[dict]) -> dict:
    """The record with the smallest margin (largest measured for '<', smallest for '>')."""
    failed = [r for r in records if not r.get("passed", True)]
    if failed:
        return failed[0]

    def value(r):
        m = r["measured"]
        m = float(m) if not isinstance(m, str) else float("inf")
        return m if LOWER_IS_BETTER[r["op"]] else -m

    return max(records, key=value)


def _fmt(record: dict | None) -> str:
    if record is None:
        return "—"
    m = record["measured"]
    text = m if isinstance(m, str) else f"{m:.3g}"
    return text if record.get("passed", True) else f"**FAILED** {text}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _test_name(nodeid: str, params: bool) -> str:
    name = nodeid.split("/")[-1]
    return name if params else re.sub(r"\[.*\]$", "", name)


def rows(records: list[dict], group_params: bool) -> list[dict]:
    """Table rows in first-seen order: per (test, key), or per (test function, key, bound)."""
    groups: dict[tuple, dict] = {}
    for r in records:
        test = _test_name(r["test"], not group_params)
        ident = (test, r["key"], r["op"], r["bound"]) if group_params else (test, r["key"])
        g = groups.setdefault(ident, {"test": test, "first": r, "cases": set(), "by_ranks": {}})
        g["cases"].add(r["test"])
        g["by_ranks"].setdefault(1 if r["ranks"] == 1 else 2, []).append(r)
    out = []
    for g in groups.values():
        r = g["first"]
        worst = {n: _worst(rs) for n, rs in g["by_ranks"].items()}
        n = len(g["cases"])
        test = f"`{g['test']}`" + (f" ({n} cases, worst)" if n > 1 else "")
        out.append(
            {
                "what": r["what"],
                "reference": r["reference"],
                "serial": _fmt(worst.get(1)),
                "parallel": _fmt(worst.get(2)),
                "bound": f"{r['op']} {r['bound']:.3g}",
                "test": test,
                "failed": any(not w.get("passed", True) for w in worst.values()),
            }
        )
    return out


def table(records: list[dict], group_params: bool) -> str:
    """The markdown table (with its header line) of the records."""
    head = ("problem / capability", "reference", "measured, 1 rank", "measured, 2 ranks")
    lines = ["| " + " | ".join((*head, "bound", "test")) + " |", "|---|---|---|---|---|---|"]
    for row in rows(records, group_params):
        cells = [row[k] for k in ("what", "reference", "serial", "parallel", "bound", "test")]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def replace_between_markers(text: str, body: str, name: str) -> str:
    """``text`` with everything between the BEGIN and END marker lines replaced by ``body``."""
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < i:
        raise SystemExit(f"{name}: markers {BEGIN} ... {END} not found (add them once by hand)")
    return text[: i + len(BEGIN)] + "\n" + body.strip() + "\n" + text[j:]


def render(records: list[dict], targets=TARGETS, commit: str | None = None) -> bool:
    """Rewrite the tables in ``targets`` (README: grouped; others: per case). True if all pass."""
    if not records:
        raise SystemExit("no verification records: nothing to render")
    commit = commit or _commit()
    n1 = sum(r["ranks"] == 1 for r in records)
    note = (
        f"_Generated by `make verification` (scripts/verification_table.py) at commit {commit}"
        f" from {len(records)} recorded checks ({n1} on 1 rank, {len(records) - n1} on 2 ranks)"
        "; do not edit by hand._"
    )
    for path in targets:
        path = Path(path)
        grouped = path.name == "README.md"
        body = note + "\n\n" + table(records, group_params=grouped)
        text = path.read_text(encoding="utf-8")
        new = replace_between_markers(text, body, str(path))
        if new != text:
            path.write_text(new, encoding="utf-8")
    return all(r.get("passed", True) for r in records)


def verification_modules() -> list[Path]:
    """The test modules that use the ``verify`` fixture."""
    pattern = re.compile(r"\bverify\b[,)]")
    return [p for p in sorted((REPO / "tests").glob("test_*.py")) if pattern.search(p.read_text())]


def run_tests(out: Path) -> bool:
    """Serial session, then one ``mpirun -n 2`` per module; records into ``out``. True if ok."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    env = {**os.environ, ENV: str(out)}
    py = Path(sys.executable)
    mpirun = py.with_name("mpirun")
    pytest = [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    modules = [str(p.relative_to(REPO)) for p in verification_modules()]
    ok = True
    t0 = time.perf_counter()
    rc = subprocess.run([*pytest, "-m", "verification", *modules], cwd=REPO, env=env).returncode
    ok &= rc == 0
    print(f"serial: {time.perf_counter() - t0:.0f} s, exit {rc}", flush=True)
    for module in modules:
        t0 = time.perf_counter()
        cmd = [str(mpirun if mpirun.exists() else "mpirun"), "-n", "2", *pytest]
        cmd += ["-m", "verification and not serial", module]
        rc = subprocess.run(cmd, cwd=REPO, env=env, timeout=900).returncode
        ok &= rc in (0, 5)  # 5: every verification test of the module is serial-only
        print(f"2 ranks {module}: {time.perf_counter() - t0:.0f} s, exit {rc}", flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    """``run`` (default) or ``render RECORDS...``; exit 1 if a test or a check failed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("run", help="run the verification tests (1 and 2 ranks), then render")
    r = sub.add_parser("render", help="rewrite the tables from record files")
    r.add_argument("records", nargs="+", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "render":
        return 0 if render(load(args.records)) else 1
    tests_ok = run_tests(RECORDS)
    checks_ok = render(load([RECORDS]))
    print(f"wrote the verification tables of {', '.join(str(t.name) for t in TARGETS)}")
    return 0 if tests_ok and checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
