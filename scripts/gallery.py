"""Regenerate the picture gallery: ``make gallery`` (or ``python scripts/gallery.py [NAME ...]``).

Runs every problem (or the named ones) with ``--plot`` at the settings below (the defaults,
or a coarser quick setting where the default run takes minutes), one process each, into
``results/gallery/NAME``; copies the PNGs downscaled to at most ``WIDTH`` pixels wide into
``docs/gallery/NAME-FIELD.png``; writes ``docs/gallery.md`` (pictures, settings, wall time,
reported figures) and ``docs/figures.md`` (each problem beside the paper figure it
reproduces). Exit status 1 if any run failed (the others are still written).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
WIDTH = 600

SETTINGS: dict[str, list[str]] = {
    "inclusion_mechanics": [],
    "inclusion_potential": [],
    "thick_cylinder": [],
    "cahn_hilliard": [],
    "edge_dislocation": [],
    "heterointerface": ["t_end=1e-5"],  # quick: the default (5e-5 s) takes > 7 min
    "spallation_current": [],
    "pore_pressure": [],
    "ct_slice": [],
    "ion_occupancy_kmc": [],
}
"""``--set`` options per problem (empty: the problem's defaults)."""

FIGURES: dict[str, tuple[str, str, list[str]]] = {
    "inclusion_mechanics": (
        "[D] mechanics model",
        "σ_h and von Mises around 230-phase inclusions under 1 MPa stack pressure",
        ["inclusion_0_von_mises_ratio", "inclusion_0_sigma_h_ratio", "llzo_von_mises_max"],
    ),
    "inclusion_potential": (
        "[D] electrochemical model",
        "current focusing around the lower-conductivity 230 inclusions",
        ["cell_voltage", "inclusion_0_current_max_ratio", "inclusion_0_current_inside_ratio"],
    ),
    "ion_occupancy_kmc": (
        "[D] Fig. 3b",
        "Li-ion occupancy map and profile across a secondary-phase strip of higher barrier",
        ["occupancy_ratio", "occupancy_ratio_closed_form", "occupancy_bulk_mean"],
    ),
    "edge_dislocation": (
        "[C] Fig. 8",
        "Li enriched on the tensile side of an edge dislocation, depleted on the compressive side",
        ["c_max", "c_max_y", "c_min", "c_min_y", "sigma_h_max"],
    ),
    "heterointerface": (
        "[C] Fig. 6",
        "interdiffusion across LLZO/Li; narrower zone with misfit dislocations",
        [],
    ),
    "spallation_current": (
        "[S] Fig. 1e",
        "current focusing at a Li-filled spallation crack / protrusion",
        ["field_enhancement", "current_ratio", "peak_to_mean"],
    ),
    "pore_pressure": (
        "[S] sub-surface plating",
        "stress around an over-filled pore",
        ["li_pressure", "max_principal", "overfill_at_fracture"],
    ),
    "ct_slice": (
        "[H] Fig. 6",
        "stack-pressure stress and potential in a segmented CT slice with Li-filled cracks",
        ["von_mises_ratio", "field_enhancement_max", "kappa_eff_ratio", "li_filling"],
    ),
    "cahn_hilliard": (
        "generic ([C]'s model without dislocations)",
        "phase separation",
        ["c_min", "c_max", "binodal_low", "steps", "free_energy_total"],
    ),
    "thick_cylinder": ("Lamé (verification)", "thick-walled cylinder under pressure", []),
}
"""Problem -> (paper figure, what the figure shows, preferred reported figures)."""


def run(name: str, out: Path, timeout: float) -> dict:
    """One problem with --plot; returns its result.json (or an ``error`` entry)."""
    cmd = [sys.executable, "-m", "femcm", "run", name, "--plot", "--out", str(out)]
    for s in SETTINGS.get(name, []):
        cmd += ["--set", s]
    env = {**os.environ, "PYVISTA_OFF_SCREEN": "true"}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1], "wall": wall}
    result = json.loads((out / "result.json").read_text())
    result["wall"] = wall
    return result


def copy_pngs(name: str, out: Path, gallery: Path) -> list[str]:
    """Downscale ``out/*.png`` into ``gallery/NAME-FIELD.png``; returns the new names."""
    names = []
    for png in sorted(out.glob("*.png")):
        target = gallery / f"{name}-{png.name}"
        with Image.open(png) as im:
            im = im.convert("RGB")
            if im.width > WIDTH:
                im = im.resize((WIDTH, round(im.height * WIDTH / im.width)), Image.LANCZOS)
            im.save(target, optimize=True)
        names.append(target.name)
    return names


def _fmt(v) -> str:
    return "–" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


def _scalars(name: str, result: dict, n: int = 6) -> list[tuple[str, object]]:
    scalars = result.get("scalars", {})
    keys = [k for k in FIGURES.get(name, ("", "", []))[2] if k in scalars]
    keys += [k for k in scalars if k not in keys][: max(0, n - len(keys))]
    return [(k, scalars[k]) for k in keys]


def write_gallery(results: dict[str, dict], pictures: dict[str, list[str]]) -> None:
    """docs/gallery.md: pictures, settings, timings and reported figures per problem."""
    lines = [
        "# Gallery",
        "",
        "Generated by `make gallery` (`scripts/gallery.py`): every problem run serially with",
        "`--plot`; settings are the defaults unless listed. Do not edit by hand.",
        "",
    ]
    for name, result in results.items():
        lines += [f"## `{name}`", ""]
        sets = " ".join(f"--set {s}" for s in SETTINGS.get(name, [])) or "(defaults)"
        lines += [f"`femcm run {name} --plot {sets}`".replace(" (defaults)", ""), ""]
        if "error" in result:
            lines += [f"**Run failed:** {result['error']}", ""]
            continue
        mesh, solver = result.get("mesh", {}), result.get("solver", {})
        lines += [
            f"{mesh.get('cells')} cells, {mesh.get('dofs')} DOFs, "
            f"{solver.get('time_steps', 0)} time steps, wall {result['wall']:.1f} s "
            "(including start-up and pictures).",
            "",
        ]
        lines += [f"![{p}](gallery/{p})" for p in pictures.get(name, [])] + [""]
        rows = _scalars(name, result)
        if rows:
            lines += ["| figure | value (SI) |", "|---|---|"]
            lines += [f"| `{k}` | {_fmt(v)} |" for k, v in rows] + [""]
    (DOCS / "gallery.md").write_text("\n".join(lines))


def write_figures(results: dict[str, dict]) -> None:
    """docs/figures.md: each problem beside the paper figure it reproduces."""
    lines = [
        "# Problems and the paper figures they reproduce",
        "",
        "Generated by `make gallery` from the gallery runs (`docs/gallery.md`). The papers'",
        "own numbers are not in femcm's specification; the column *figure shows* states what",
        "the figure shows (physics.md §4), and femcm's figures are the reported scalars of the",
        "run (SI units; the names are documented in each problem's docstring).",
        "",
        "| problem | paper figure | figure shows | femcm (this run) |",
        "|---|---|---|---|",
    ]
    for name, result in results.items():
        fig, what, _ = FIGURES.get(name, ("", "", []))
        if "error" in result:
            ours = f"run failed: {result['error']}"
        else:
            ours = "<br>".join(f"`{k}` = {_fmt(v)}" for k, v in _scalars(name, result, 4))
        lines.append(f"| `{name}` | {fig} | {what} | {ours} |")
    (DOCS / "figures.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python scripts/gallery.py [NAME ...] [--timeout S]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="problems (default: all)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="per run, seconds")
    ap.add_argument("--results", type=Path, default=REPO / "results" / "gallery")
    ap.add_argument("--no-run", action="store_true", help="only rewrite the .md files")
    args = ap.parse_args(argv)
    import femcm

    names = [] if args.no_run else (args.names or femcm.problems())
    gallery = DOCS / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    # Keep the other problems' records when only some are regenerated.
    record = DOCS / "gallery.json"
    old = json.loads(record.read_text()) if record.exists() else {}
    results, pictures = old.get("results", {}), old.get("pictures", {})
    for name in names:
        print(f"gallery: {name} ...", file=sys.stderr, flush=True)
        for p in gallery.glob(f"{name}-*.png"):
            p.unlink()
        out = args.results / name
        results[name] = run(name, out, args.timeout)
        pictures[name] = [] if "error" in results[name] else copy_pngs(name, out, gallery)
        status = results[name].get("error") or f"{results[name]['wall']:.1f} s"
        print(f"gallery: {name}: {status}", file=sys.stderr, flush=True)
    order = [n for n in femcm.problems() if n in results]
    results = {n: results[n] for n in order}
    keep = ("mesh", "solver", "scalars", "wall", "error")
    slim = {
        n: {k: v for k, v in r.items() if k in keys} for n, r in results.items() for keys in [keep]
    }
    record.write_text(json.dumps({"results": slim, "pictures": pictures}, indent=1) + "\n")
    write_gallery(slim, pictures)
    write_figures(slim)
    return 1 if any("error" in results[n] for n in names) else 0


if __name__ == "__main__":
    sys.exit(main())
