"""``femcm study``: a grid of runs, each in its own process, summarised in ``study.csv``."""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from femcm.app import api

__all__ = ["study"]


def _grid(name: str, vary: list[str]) -> tuple[list[str], list[tuple[str, ...]]]:
    P = api.problem_module(name).Parameters
    keys, values = [], []
    for item in vary:
        key, sep, text = item.partition("=")
        if not sep or not text:
            raise ValueError(f"--vary {item!r} must have the form KEY=V1,V2,...")
        P.parse_value(key, text.split(",")[0])  # unknown keys fail here, before any run
        keys.append(key)
        values.append(tuple(v.strip() for v in text.split(",")))
    if not keys:
        raise ValueError("--vary needs at least one KEY=V1,V2,...")
    return keys, list(itertools.product(*values))


def study(
    name: str, vary: list[str], sets: list[str], out: Path | None, workers: int, ranks: int = 1
) -> int:
    """Run ``name`` over the cartesian product of ``vary``; write ``OUT/study.csv``."""
    if workers < 1:
        raise ValueError(f"parameter workers = {workers} is out of range: must be >= 1")
    keys, combos = _grid(name, vary)
    out = Path(out) if out is not None else Path("results") / f"{name}_study"
    out.mkdir(parents=True, exist_ok=True)

    def one(i_combo: tuple[int, tuple[str, ...]]) -> tuple[int, int, str]:
        i, combo = i_combo
        cmd = [sys.executable, "-m", "femcm", "run", name, "--out", str(out / f"run_{i:04d}")]
        if ranks > 1:
            mpirun = Path(sys.executable).with_name("mpirun")
            cmd = [str(mpirun) if mpirun.exists() else "mpirun", "-n", str(ranks), *cmd]
        for s in sets:
            cmd += ["--set", s]
        for k, v in zip(keys, combo, strict=True):
            cmd += ["--set", f"{k}={v}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return i, proc.returncode, (proc.stderr.strip().splitlines() or [""])[-1]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(one, enumerate(combos)))

    rows, scalar_keys, failed = [], [], 0
    for (i, code, err), combo in zip(outcomes, combos, strict=True):
        res_path = out / f"run_{i:04d}" / "result.json"
        scalars = json.loads(res_path.read_text())["scalars"] if code == 0 else {}
        for k in scalars:
            if k not in scalar_keys:
                scalar_keys.append(k)
        rows.append((i, combo, code, scalars))
        if code != 0:
            failed += 1
            print(f"femcm study: run {i} failed: {err}", file=sys.stderr)
    with open(out / "study.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", *keys, "status", *scalar_keys])
        for i, combo, code, scalars in rows:
            w.writerow(
                [
                    i,
                    *combo,
                    "ok" if code == 0 else "failed",
                    *[scalars.get(k, "") for k in scalar_keys],
                ]
            )
    print(f"{name} study: {len(combos) - failed}/{len(combos)} runs ok -> {out / 'study.csv'}")
    return 0 if failed == 0 else 3
