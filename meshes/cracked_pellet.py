"""Synthetic segmented CT slices of a cracked solid-electrolyte pellet between Li electrodes.

After Hao et al., ACS Nano 19 (2025) 20516 [H]: a Li3PS4 pellet between Li metal electrodes
(top and bottom) with cracks that grow from either electrode interface, branch, and are
partly filled with Li from the electrode they start at. The image uses femcm's labels
(:mod:`femcm.meshes.images`): 0 void (unfilled crack), 1 electrolyte, 2 Li.

Construction, reproducible from ``seed`` (NumPy ``default_rng``):

- each crack starts at a random column on the top or bottom interface (alternating sides,
  first one at the bottom) and grows into the pellet as a random walk of straight segments
  (start angle within ±35° of the interface normal, ±15° turns per segment), down to a
  random depth in ``depth`` (fractions of the pellet thickness); at every joint it branches
  with probability ``branch_probability`` (branch angle 25–50°, half the remaining depth);
- the path is drawn ``crack_width`` pixels wide; a crack that would touch another one (or
  the image sides) is drawn again, so that every crack is its own connected region;
- filling: the crack's pixels are ordered by their distance from its electrode measured
  along the crack (8-connected breadth-first search), and the first
  ``round(filling · N)`` of the N pixels become Li. The measured filling ratio (Li pixels /
  crack pixels) is therefore ``filling`` to within 1/N.

Run ``python -m femcm.meshes.cracked_pellet OUT.png [--seed S] [--filling F ...]`` to write one.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import math
import sys
from collections.abc import Sequence

import numpy as np

from femcm.base.errors import InputError
from femcm.meshes.images import ELECTROLYTE, LI, VOID, write_image

__all__ = ["Crack", "CrackedPellet", "cracked_pellet"]


@dataclasses.dataclass(frozen=True)
class Crack:
    """One generated crack."""

    side: str
    """``"top"`` or ``"bottom"``: the electrode it grows from (and is filled from)."""
    pixels: int
    """Number of crack pixels (Li and void)."""
    filling: float
    """Li pixels / crack pixels, as drawn."""


@dataclasses.dataclass(frozen=True)
class CrackedPellet:
    """A synthetic labelled slice and its cracks."""

    image: np.ndarray
    """Labels (uint8, row 0 at the top): 0 void, 1 electrolyte, 2 Li."""
    cracks: tuple[Crack, ...]
    electrode_rows: int


def cracked_pellet(
    width: int = 200,
    height: int = 160,
    electrode_rows: int = 12,
    n_cracks: int = 4,
    filling: float | Sequence[float] = 0.5,
    seed: int = 0,
    crack_width: float = 2.0,
    depth: tuple[float, float] = (0.3, 0.6),
    branch_probability: float = 0.35,
    segments: int = 8,
) -> CrackedPellet:
    """A synthetic cracked pellet (see the module docstring).

    Args:
        width: image width (pixels).
        height: image height (pixels), electrodes included.
        electrode_rows: thickness of each Li electrode (pixels; 0: no electrode layers).
        n_cracks: number of cracks.
        filling: Li filling ratio of every crack, or one per crack (0..1).
        seed: random seed.
        crack_width: crack opening (pixels).
        depth: range of crack depths as fractions of the pellet thickness.
        branch_probability: chance of a branch at each joint.
        segments: straight segments along the deepest path.
    """
    fill = _fillings(filling, n_cracks)
    pellet = height - 2 * electrode_rows
    if width < 8 or pellet < 8:
        raise InputError(
            f"cracked_pellet: image {width} × {height} with electrode_rows = {electrode_rows} "
            "leaves no pellet (need >= 8 × 8 pixels)"
        )
    if not (crack_width >= 1 and 0 < depth[0] <= depth[1] < 1):
        raise InputError(
            f"cracked_pellet: need crack_width >= 1 and 0 < depth[0] <= depth[1] < 1, "
            f"got {crack_width}, {depth}"
        )
    rng = np.random.default_rng(seed)
    image = np.full((height, width), ELECTROLYTE, dtype=np.uint8)
    image[:electrode_rows] = LI
    image[height - electrode_rows :] = LI
    taken = np.zeros((height, width), dtype=bool)  # existing cracks, dilated
    cracks = []
    for k in range(n_cracks):
        side = "bottom" if k % 2 == 0 else "top"
        for _ in range(50):
            mask = _draw_crack(
                rng, (height, width), electrode_rows, side, crack_width, depth,
                branch_probability, segments,
            )  # fmt: skip
            if mask.any() and not (mask & taken).any():
                break
        else:
            raise InputError(
                f"cracked_pellet: no room for crack {k} after 50 tries (fewer or narrower cracks)"
            )
        taken |= _dilate(mask, 2)
        li = _fill_from_electrode(mask, side, electrode_rows, fill[k])
        image[mask] = VOID
        image[li] = LI
        cracks.append(Crack(side, int(mask.sum()), float(li.sum() / mask.sum())))
    return CrackedPellet(image, tuple(cracks), electrode_rows)


def _fillings(filling: float | Sequence[float], n: int) -> list[float]:
    values = [float(filling)] * n if np.isscalar(filling) else [float(f) for f in filling]
    if len(values) == 1:
        values *= n
    if len(values) != n or not all(0 <= f <= 1 for f in values):
        raise InputError(
            f"cracked_pellet: filling = {filling!r} must be one ratio in [0, 1] or {n} of them"
        )
    return values


def _draw_crack(rng, shape, e, side, w, depth, p_branch, nseg) -> np.ndarray:
    """Boolean image of one branching crack path, drawn w pixels wide inside the pellet."""
    rows, cols = shape
    pellet = rows - 2 * e
    inward = -1.0 if side == "bottom" else 1.0  # row direction into the pellet
    y0 = rows - e if side == "bottom" else e  # interface line (pixel-corner coordinates)
    total = rng.uniform(*depth) * pellet
    x0 = rng.uniform(0.15 * cols, 0.85 * cols)
    angle = math.radians(rng.uniform(-35.0, 35.0))
    segs: list[tuple[float, float, float, float]] = []
    stack = [(x0, y0 - inward * 1.0, angle, total)]  # start one pixel inside the electrode
    seg_len = total / nseg
    while stack:
        x, y, a, remaining = stack.pop()
        while remaining > 1e-9:
            step = min(seg_len, remaining)
            x1, y1 = x + step * math.sin(a), y + inward * step * math.cos(a)
            segs.append((x, y, x1, y1))
            x, y, remaining = x1, y1, remaining - step
            a += math.radians(rng.normal(0.0, 15.0))
            if remaining > seg_len and rng.random() < p_branch:
                turn = math.radians(rng.uniform(25.0, 50.0)) * rng.choice((-1.0, 1.0))
                stack.append((x, y, a + turn, 0.5 * remaining))
    mask = _rasterise(segs, shape, w)
    # Inside the pellet only, clear of the image sides.
    mask[:e] = False
    mask[rows - e :] = False
    side_margin = math.ceil(w) + 1
    if mask[:, :side_margin].any() or mask[:, cols - side_margin :].any():
        return np.zeros(shape, dtype=bool)
    return mask


def _rasterise(segs, shape, w: float) -> np.ndarray:
    """Pixels whose centre lies within w/2 of one of the segments (pixel-corner coordinates)."""
    rows, cols = shape
    mask = np.zeros(shape, dtype=bool)
    r = 0.5 * w
    for x0, y0, x1, y1 in segs:
        c_lo, c_hi = (
            int(max(0, math.floor(min(x0, x1) - r - 1))),
            int(min(cols, max(x0, x1) + r + 2)),
        )
        r_lo, r_hi = (
            int(max(0, math.floor(min(y0, y1) - r - 1))),
            int(min(rows, max(y0, y1) + r + 2)),
        )
        if c_lo >= c_hi or r_lo >= r_hi:
            continue
        yy, xx = np.mgrid[r_lo:r_hi, c_lo:c_hi] + 0.5
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-300), 0, 1)
        d2 = (xx - x0 - t * dx) ** 2 + (yy - y0 - t * dy) ** 2
        mask[r_lo:r_hi, c_lo:c_hi] |= d2 <= r * r
    return mask


def _dilate(mask: np.ndarray, n: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(n):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def _fill_from_electrode(mask: np.ndarray, side: str, e: int, filling: float) -> np.ndarray:
    """The first round(filling·N) crack pixels in order of path distance from the electrode."""
    rows, cols = mask.shape
    start_row = rows - e - 1 if side == "bottom" else e
    dist = np.full(mask.shape, -1, dtype=np.int64)
    queue = collections.deque()
    for j in np.flatnonzero(mask[start_row]):
        dist[start_row, j] = 0
        queue.append((start_row, j))
    if not queue:  # the crack does not reach the interface row: start at its nearest pixel
        ii, jj = np.nonzero(mask)
        k = int(np.argmax(ii) if side == "bottom" else np.argmin(ii))
        dist[ii[k], jj[k]] = 0
        queue.append((ii[k], jj[k]))
    while queue:
        i, j = queue.popleft()
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                a, b = i + di, j + dj
                if 0 <= a < rows and 0 <= b < cols and mask[a, b] and dist[a, b] < 0:
                    dist[a, b] = dist[i, j] + 1
                    queue.append((a, b))
    idx = np.flatnonzero(mask)
    d = dist.ravel()[idx]
    d[d < 0] = np.iinfo(np.int64).max  # pieces not reached along the crack fill last
    order = idx[np.argsort(d, kind="stable")]
    n_li = round(filling * len(idx))
    li = np.zeros(mask.size, dtype=bool)
    li[order[:n_li]] = True
    return li.reshape(mask.shape)


def main(argv: Sequence[str] | None = None) -> int:
    """Write a synthetic slice (``.png``, ``.tif`` or ``.npy``) and print its cracks."""
    ap = argparse.ArgumentParser(prog="python -m femcm.meshes.cracked_pellet")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--height", type=int, default=160)
    ap.add_argument("--electrode-rows", type=int, default=12)
    ap.add_argument("--cracks", type=int, default=4)
    ap.add_argument("--filling", type=float, nargs="+", default=[0.5])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crack-width", type=float, default=2.0)
    args = ap.parse_args(argv)
    try:
        pellet = cracked_pellet(
            args.width, args.height, args.electrode_rows, args.cracks, args.filling, args.seed,
            args.crack_width,
        )  # fmt: skip
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_image(args.out, pellet.image)
    for k, c in enumerate(pellet.cracks):
        print(f"crack {k}: from the {c.side}, {c.pixels} pixels, Li filling {c.filling:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
