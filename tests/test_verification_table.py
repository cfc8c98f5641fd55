"""scripts/verification_table.py on a small fake record file, and the verify fixture's records."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import REPO, Verify, rel_error

spec = importlib.util.spec_from_file_location(
    "verification_table", REPO / "scripts" / "verification_table.py"
)
vt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vt)


def _record(test, ranks, key, measured, op="<", bound=0.02, passed=True):
    return {
        "test": test,
        "ranks": ranks,
        "key": key,
        "measured": measured,
        "op": op,
        "bound": bound,
        "reference": "Cai |σ − σ_Cai| / (D/r)",
        "what": f"check {key}",
        "passed": passed,
    }


FAKE = [
    _record("tests/test_a.py::test_x[p0]", 1, "err", 1e-3),
    _record("tests/test_a.py::test_x[p1]", 1, "err", 7.5e-3),
    _record("tests/test_a.py::test_x[p0]", 2, "err", 1.1e-3),
    _record("tests/test_a.py::test_x[p1]", 2, "err", 7.25e-3),
    _record("tests/test_a.py::test_rate", 1, "rate", 1.93, op=">=", bound=1.8),
    _record("tests/test_a.py::test_rate", 1, "rate", 1.87, op=">=", bound=1.8),
    _record("tests/test_b.py::test_cli", 2, "agree", 3e-13, op="<=", bound=1e-8),
]


def _files(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nintro\n{vt.BEGIN}\nold table\n{vt.END}\n\n## next\n")
    docs = tmp_path / "verification.md"
    docs.write_text(f"{vt.BEGIN}\n{vt.END}\n")
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in FAKE))
    return readme, docs, records


def _table_lines(text):
    return [ln for ln in text.splitlines() if ln.startswith("| ") and "---" not in ln][1:]


def test_render_grouped_and_per_case(tmp_path):
    readme, docs, records = _files(tmp_path)
    ok = vt.render(vt.load([records]), targets=(readme, docs), commit="abc1234")
    assert ok
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# x\n\nintro\n")
    assert text.endswith(f"{vt.END}\n\n## next\n") and "abc1234" in text
    rows = _table_lines(text)
    # README: one row per check, the worst case over the parametrizations, per rank count
    assert len(rows) == 3
    assert "| 0.0075 | 0.00725 | < 0.02 | `test_a.py::test_x` (2 cases, worst) |" in rows[0]
    assert r"Cai \|σ − σ_Cai\| / (D/r)" in rows[0]  # '|' escaped inside a cell
    assert "| 1.87 | — | >= 1.8 | `test_a.py::test_rate` |" in rows[1]  # smallest for '>='
    assert "| — | 3e-13 | <= 1e-08 | `test_b.py::test_cli` |" in rows[2]
    # docs: one row per test case
    rows = _table_lines(docs.read_text())
    assert len(rows) == 4
    assert "| 0.001 | 0.0011 | < 0.02 | `test_a.py::test_x[p0]` |" in rows[0]
    # rendering again is stable
    before = readme.read_text()
    vt.render(vt.load([records]), targets=(readme, docs), commit="abc1234")
    assert readme.read_text() == before


def test_failed_check_is_shown_and_reported(tmp_path):
    readme, docs, records = _files(tmp_path)
    bad = _record("tests/test_a.py::test_x[p2]", 1, "err", 0.5, passed=False)
    records.write_text(records.read_text() + json.dumps(bad) + "\n")
    assert not vt.render(vt.load([records]), targets=(readme, docs), commit="x")
    assert "**FAILED** 0.5" in _table_lines(readme.read_text())[0]


def test_missing_markers_refused(tmp_path):
    readme, docs, records = _files(tmp_path)
    docs.write_text("no markers here\n")
    with pytest.raises(SystemExit, match="markers"):
        vt.render(vt.load([records]), targets=(readme, docs), commit="x")
    with pytest.raises(SystemExit, match="no verification records"):
        vt.render([], targets=(readme, docs), commit="x")


def test_verify_asserts_and_records(tmp_path, comm):
    out = tmp_path / "rec.jsonl"
    v = Verify("tests/test_x.py::test_y", str(out))
    assert v("k", 0.5, "<", 1.0, reference="r", what="w") == 0.5
    with pytest.raises(AssertionError, match=r"k2: measured 2, required <= 1"):
        v("k2", 2.0, "<=", 1.0, reference="r", what="w")
    with pytest.raises(AssertionError):
        v("k3", float("nan"), "<", 1.0, reference="r", what="w")
    v("k4", 1.9, ">=", 1.8, reference="r", what="w", ranks=2)
    if comm.rank == 0:
        recs = vt.load([out])
        assert [(r["key"], r["passed"]) for r in recs] == [
            ("k", True),
            ("k2", False),
            ("k3", False),
            ("k4", True),
        ]
        assert recs[0]["ranks"] == comm.size and recs[3]["ranks"] == 2
        assert recs[2]["measured"] == "nan"
    else:
        assert not out.exists()  # rank 0 only
    Verify("t", None)("k", 0.5, "<", 1.0, reference="r", what="w")  # no file: assert only


def test_rel_error_is_pytest_approx():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error(1.0 + 1e-9, 1.0) == pytest.approx(1e-9)
    assert rel_error(1e-12, 0.0, floor=1e-9 / 1e-7) == pytest.approx(1e-10)
    assert rel_error(1.0, 0.0) == float("inf")
