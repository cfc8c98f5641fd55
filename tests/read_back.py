"""Open every file of femcm output folders with the reader the README names; report as JSON.

Run as a separate process (``python tests/read_back.py OUT ...``): a reader that crashes
(VTK's XDMF reader segfaulted on DOLFINx's XInclude references before issue 14) then fails
the test instead of killing pytest. Readers:

- ``result.json``: :mod:`json`, strict (no NaN), with the keys of api.md;
- ``*.xdmf`` (+ ``.h5``): ``pyvista.XdmfReader`` (VTK's XDMF3 reader), every output time;
- ``*.csv``: :mod:`csv`, a header and numeric rows of its length;
- ``*.png``: Pillow (``Image.open(...).verify()``, then the size);
- ``*.bp``: the ADIOS2 BP4 layout ParaView's VTX reader opens (``md.idx``, ``md.0``,
  ``data.0``); pyvista's VTK has no ADIOS2 reader, so only the layout is checked here;
- and ``femcm.load(OUT)``, whose scalars must equal result.json's.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

KEYS = {"problem", "parameters", "scalars", "mesh", "solver", "versions", "files"}


def _strict(text: str) -> dict:
    def refuse(name: str) -> float:
        raise ValueError(f"non-standard JSON number {name}")

    return json.loads(text, parse_constant=refuse)


def check(out: Path) -> dict:
    """Read everything in ``out``; returns {file: what was read} or raises on a problem."""
    import pyvista as pv
    from PIL import Image

    import femcm

    seen: dict[str, object] = {}
    doc = _strict((out / "result.json").read_text())
    missing = KEYS - set(doc)
    assert not missing, f"result.json lacks {missing}"
    seen["result.json"] = sorted(doc["scalars"])
    listed = set(doc["files"])
    present = {p.name for p in out.iterdir() if not p.name.startswith(".")} - {"result.json"}
    assert listed == present, f"files listed {sorted(listed)} != present {sorted(present)}"
    for p in sorted(out.iterdir()):
        name = p.name
        if name == "result.json":
            continue
        assert not name.startswith("."), f"left-over {name}"
        if p.suffix == ".xdmf":
            reader = pv.XdmfReader(str(p))
            times = list(reader.time_values) or [0.0]
            arrays = {}
            for t in times:
                if reader.time_values:
                    reader.set_active_time_value(t)
                data = reader.read()
                for block in data if isinstance(data, pv.MultiBlock) else [data]:
                    for key in [*block.point_data.keys(), *block.cell_data.keys()]:
                        v = np.asarray(block[key])
                        assert np.all(np.isfinite(v)), f"{name}: {key} not finite at t = {t}"
                        arrays[key] = list(v.shape)
            assert arrays, f"{name}: no fields"
            seen[name] = {"times": times, "arrays": arrays}
        elif p.suffix == ".h5":
            assert p.with_suffix(".xdmf").exists(), f"{name} without its .xdmf"
            seen[name] = "via .xdmf"
        elif p.suffix == ".csv":
            rows = list(csv.reader(p.open(newline="")))
            assert len(rows) >= 2, f"{name}: no data rows"
            assert all(len(r) == len(rows[0]) for r in rows), f"{name}: ragged rows"
            for r in rows[1:]:
                for v in r:
                    float(v) if v != "" else math.nan
            seen[name] = {"columns": rows[0], "rows": len(rows) - 1}
        elif p.suffix == ".png":
            with Image.open(p) as im:
                im.verify()
            with Image.open(p) as im:
                assert min(im.size) >= 100, f"{name}: {im.size}"
                seen[name] = list(im.size)
        elif p.suffix == ".bp" and p.is_dir():
            parts = {f.name: f.stat().st_size for f in p.iterdir()}
            for part in ("md.idx", "md.0", "data.0"):
                assert parts.get(part, 0) > 0, f"{name}: no {part}"
            seen[name] = "BP4 layout"
        elif name == "checkpoint" and p.is_dir():
            head = _strict((p / "checkpoint.json").read_text())
            assert head["problem"] == doc["problem"], f"{name}: of {head['problem']}"
            for f in p.glob("*.npz"):
                with np.load(f, allow_pickle=False) as z:
                    assert z.files, f"{name}/{f.name}: empty"
            seen[name] = head.get("kind", "state")
        else:
            raise AssertionError(f"unexpected output {name}")
    loaded = femcm.load(out)
    for k, v in doc["scalars"].items():
        w = loaded.scalars[k]
        assert (v is None and math.isnan(w)) or v == w, f"femcm.load scalar {k}: {w} != {v}"
    seen["femcm.load"] = sorted(loaded.fields)
    return seen


def main(argv: list[str]) -> int:
    """Check each folder; print one JSON document {folder: result or "ERROR: ..."}."""
    report = {}
    for out in argv:
        try:
            report[out] = check(Path(out))
        except Exception as exc:
            report[out] = f"ERROR: {type(exc).__name__}: {exc}"
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
