"""Run every bad input of ``tests/bad_inputs.py`` as a subprocess and tabulate the outcomes.

Each case runs with a timeout (a hang) and an address-space limit (a runaway), in its own
process group. Outcomes:

- ``ok``: exit 2, one line on stderr containing the expected word, nothing written, no
  payload file;
- ``vague``: non-zero exit without a traceback, but the wrong status, several lines, or a
  line that does not name the parameter;
- ``traceback``: a Python traceback (or exit 1);
- ``hang``: still running at the timeout; ``runaway``: ``MemoryError`` or killed;
- ``accepted``: exit 0; ``code ran``: the injection payload created its file;
- ``wrote``: refused but something was left in the output folder.

Usage (``--tree`` runs another checkout, e.g. the code before issue 14)::

    python benchmarks/bad_input_battery.py [--tree DIR] [--timeout 40] [--ranks 2] [--json F]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, clean_env, mpi, start

sys.path.insert(0, str(REPO / "tests"))

from bad_inputs import CASES, KINDS, Case, api_source, femcm_args, make_inputs

OUTCOMES = ("ok", "vague", "traceback", "hang", "runaway", "accepted", "code ran", "wrote")


def _limit(mem_gb: float):
    def pre() -> None:
        lim = int(mem_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    return pre


def run_case(case: Case, tree: Path, work: Path, timeout: float, ranks: int, mem_gb: float):
    """Run one case; return (outcome, exit status, first stderr lines, seconds)."""
    data = work / "data"
    pwn = work / f"pwn_{case.id}"
    out = work / f"out_{case.id}"
    py = sys.executable
    if case.channel == "api":
        cmd = [py, "-c", api_source(case, data, pwn, out)]
    elif case.channel == "script":
        cmd = [py, str(tree / "problems" / f"{case.problem}.py"), *femcm_args(case, data, pwn, out)]
    else:
        cmd = [py, "-m", "femcm", *femcm_args(case, data, pwn, out)]
    cmd = mpi(cmd, ranks)
    env = clean_env(**({"PYTHONPATH": str(tree)} if tree != REPO else {}))
    junk_before = (data / "junk.bin").read_bytes()
    t0 = time.perf_counter()
    proc = start(cmd, env=env, cwd=work, start_new_session=True, preexec_fn=_limit(mem_gb))
    try:
        _, err = proc.communicate(timeout=timeout)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        hung = True
    dt = time.perf_counter() - t0
    rc = proc.returncode
    lines = [ln for ln in err.splitlines() if ln.strip()]
    written = (out.exists() and any(out.iterdir())) or (data / "junk.bin").read_bytes() != (
        junk_before
    )
    if hung:
        outcome = "hang"
    elif pwn.exists():
        outcome = "code ran"
    elif "MemoryError" in err or rc in (-9, 137):
        outcome = "runaway"
    elif "Traceback" in err or rc == 1:
        outcome = "traceback"
    elif rc == 0:
        outcome = "accepted"
    elif written:
        outcome = "wrote"
    elif rc == 2 and len(lines) == 1 and case.word in lines[0]:
        outcome = "ok"
    else:
        outcome = "vague"
    return outcome, rc, lines[:3], dt


def main() -> int:
    """Run the battery and print the table of kinds × outcomes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=REPO, help="checkout to run (PYTHONPATH)")
    ap.add_argument("--timeout", type=float, default=40.0)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--mem-gb", type=float, default=6.0, help="address-space limit per process")
    ap.add_argument("--only", default="", help="comma-separated case ids")
    ap.add_argument("--json", type=Path, help="write the per-case outcomes here")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.only or c.id in args.only.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="femcm-battery-") as tmp:
        work = Path(tmp)
        make_inputs(work / "data")
        for case in cases:
            outcome, rc, lines, dt = run_case(
                case, args.tree.resolve(), work, args.timeout, args.ranks, args.mem_gb
            )
            rows.append(
                {
                    "id": case.id,
                    "kind": case.kind,
                    "channel": case.channel,
                    "outcome": outcome,
                    "status": rc,
                    "stderr": lines,
                    "seconds": round(dt, 2),
                }
            )
            first = lines[0][:110] if lines else ""
            print(f"{case.id:24s} {outcome:9s} rc={rc!s:4s} {dt:5.1f}s  {first}", flush=True)
    table = collections.defaultdict(collections.Counter)
    for r in rows:
        table[r["kind"]][r["outcome"]] += 1
    print()
    print(f"{'kind':48s} " + " ".join(f"{o:>9s}" for o in OUTCOMES))
    for kind, label in KINDS.items():
        print(f"{label:48s} " + " ".join(f"{table[kind][o]:9d}" for o in OUTCOMES))
    total = collections.Counter(r["outcome"] for r in rows)
    print(f"{'total (' + str(len(rows)) + ')':48s} " + " ".join(f"{total[o]:9d}" for o in OUTCOMES))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
