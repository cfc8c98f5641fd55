"""Labelled (segmented) 2D images: reading, label map, cropping and coarsening.

A *label image* is a 2D integer array, row 0 at the top, one value per pixel as written by a
segmentation tool. A :class:`LabelMap` says which values are electrolyte, void (pore or unfilled
crack) and Li metal; :func:`phase_image` turns the label image into a *phase image* with the
codes :data:`VOID`, :data:`ELECTROLYTE`, :data:`LI` that the rest of femcm uses.

Formats: ``.npy`` (NumPy, integer dtype), ``.png`` and ``.tif``/``.tiff`` (single-channel 8-
or 16-bit grey or palette images, read with Pillow; a palette image gives its palette indices;
an RGB image is accepted only if its three channels are equal). Every problem with the input
raises a one-line :class:`femcm.base.errors.InputError`.

Run ``python -m femcm.meshes.images IMAGE`` to print the values an image holds and their counts.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from femcm.base.errors import InputError

__all__ = [
    "ELECTROLYTE",
    "LI",
    "PHASE_NAMES",
    "VOID",
    "LabelMap",
    "coarsen",
    "crack_regions",
    "crop",
    "electrode_rows",
    "near",
    "phase_image",
    "read_image",
    "write_image",
]

VOID, ELECTROLYTE, LI = 0, 1, 2
"""Phase codes of a phase image (also the labels of femcm's own example images)."""

PHASE_NAMES = {VOID: "void", ELECTROLYTE: "electrolyte", LI: "li"}

IMAGE_SUFFIXES = (".npy", ".png", ".tif", ".tiff")


@dataclasses.dataclass(frozen=True)
class LabelMap:
    """Which label values of a segmented image are electrolyte, void and Li metal.

    The defaults are the labels of femcm's own images (0 void, 1 electrolyte, 2 Li).
    """

    electrolyte: tuple[int, ...] = (ELECTROLYTE,)
    void: tuple[int, ...] = (VOID,)
    li: tuple[int, ...] = (LI,)

    def __post_init__(self) -> None:
        seen: dict[int, str] = {}
        for name in ("electrolyte", "void", "li"):
            values = getattr(self, name)
            if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
                raise InputError(f"label map: label_{name} = {values!r} must be integers")
            for v in values:
                if int(v) in seen:
                    raise InputError(
                        f"label map: value {v} is both label_{seen[int(v)]} and label_{name}"
                    )
                seen[int(v)] = name
        if not self.electrolyte:
            raise InputError("label map: label_electrolyte is empty (need at least one value)")

    def describe(self) -> str:
        """``electrolyte=(1,), void=(0,), li=(2,)``: for error messages."""
        return f"electrolyte={self.electrolyte}, void={self.void}, li={self.li}"


def read_image(path: str | Path) -> np.ndarray:
    """The label image (2D integer array, row 0 at the top) stored in ``path``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image {str(path)!r}: no such file")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(
            f"image {str(path)!r}: unknown format {suffix!r} (use {', '.join(IMAGE_SUFFIXES)})"
        )
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise InputError(f"image {str(path)!r}: cannot read ({_first_line(err)})") from None
    else:
        arr = _read_pillow(path)
    return _check_label_array(arr, str(path))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _read_pillow(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                raise InputError(
                    f"image {str(path)!r}: {frames} frames (a 3D stack); save one slice"
                )
            mode = img.mode
            arr = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise InputError(f"image {str(path)!r}: cannot read ({_first_line(err)})") from None
    if arr.ndim == 3:
        if arr.shape[2] == 4:  # alpha channel carries no label
            arr = arr[:, :, :3]
        if not all(np.array_equal(arr[:, :, 0], arr[:, :, k]) for k in range(1, arr.shape[2])):
            raise InputError(
                f"image {str(path)!r}: colour image (mode {mode}); save the segmentation as a "
                "single-channel label image"
            )
        arr = arr[:, :, 0]
    return arr


def _check_label_array(arr: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise InputError(f"image {what!r}: shape {arr.shape} is not a 2D image")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)):
            raise InputError(f"image {what!r}: values of type {arr.dtype} are not labels")
        if not np.array_equal(arr, np.round(arr)):
            raise InputError(f"image {what!r}: non-integer values; labels must be integers")
        arr = arr.astype(np.int64)
    return arr


def crop(image: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """The pixels of ``box = (col0, row0, col1, row1)`` (ends exclusive; () = all)."""
    if not len(box):
        return image
    if len(box) != 4:
        raise InputError(f"parameter crop = {tuple(box)!r} must be (col0, row0, col1, row1)")
    c0, r0, c1, r1 = (int(b) for b in box)
    rows, cols = image.shape
    if not (0 <= c0 < c1 <= cols and 0 <= r0 < r1 <= rows):
        raise InputError(
            f"parameter crop = {tuple(box)!r} is outside the image: need 0 <= col0 < col1 <= "
            f"{cols} and 0 <= row0 < row1 <= {rows}"
        )
    return image[r0:r1, c0:c1]


def phase_image(image: np.ndarray, labels: LabelMap) -> np.ndarray:
    """Phase codes (:data:`VOID`, :data:`ELECTROLYTE`, :data:`LI`) of a label image.

    Raises an :class:`InputError` when the image holds values the label map does not name
    (the usual sign of a label map written for another image), when a label of the map cannot
    occur in the image's integer type, and when no pixel is electrolyte.
    """
    image = _check_label_array(image, "array")
    info = np.iinfo(image.dtype)
    for name in ("electrolyte", "void", "li"):
        for v in getattr(labels, name):
            if not info.min <= v <= info.max:
                raise InputError(
                    f"label map does not match the image: label_{name} value {v} cannot occur "
                    f"in a {image.dtype} image"
                )
    phases = np.full(image.shape, -1, dtype=np.int8)
    for code, name in PHASE_NAMES.items():
        phases[np.isin(image, getattr(labels, name))] = code
    if (phases < 0).any():
        unknown = np.unique(image[phases < 0])
        shown = ", ".join(str(v) for v in unknown[:8]) + (", ..." if len(unknown) > 8 else "")
        raise InputError(
            f"image values {{{shown}}} ({int((phases < 0).sum())} pixels) are not in the label "
            f"map ({labels.describe()})"
        )
    if not (phases == ELECTROLYTE).any():
        raise InputError(
            f"image has no electrolyte pixels (label_electrolyte = {labels.electrolyte})"
        )
    return phases


def coarsen(phases: np.ndarray, factor: int) -> np.ndarray:
    """Merge ``factor`` × ``factor`` blocks by majority (ties: electrolyte, then Li, then void).

    Rows and columns that do not fill a whole block at the bottom and right are cut off.
    """
    if factor == 1:
        return phases
    rows, cols = (n // factor for n in phases.shape)
    if rows < 1 or cols < 1:
        raise InputError(
            f"parameter coarsen = {factor} is larger than the image ({phases.shape[1]} × "
            f"{phases.shape[0]} pixels)"
        )
    blocks = phases[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    counts = np.stack([(blocks == code).sum(axis=(1, 3)) for code in (ELECTROLYTE, LI, VOID)])
    winner = np.argmax(counts, axis=0)  # first maximum wins: the tie order above
    return np.array([ELECTROLYTE, LI, VOID], dtype=np.int8)[winner]


def electrode_rows(phases: np.ndarray) -> tuple[int, int]:
    """Thickness (rows) of the top and bottom Li electrode layers.

    An electrode layer is the run of rows from the image edge that are at least half Li;
    (0, 0) for an image without electrode layers.
    """
    li_rows = (phases == LI).mean(axis=1) >= 0.5
    top = int(np.argmin(li_rows)) if not li_rows.all() else len(li_rows)
    bottom = int(np.argmin(li_rows[::-1])) if not li_rows.all() else 0
    return top, bottom


def crack_regions(
    phases: np.ndarray, min_pixels: int = 1
) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Cracks: 8-connected regions of void or Li pixels between the electrode layers.

    Returns the region label image (0 outside cracks, k + 1 in crack k) and per crack
    (pixels, Li pixels, Li filling ratio), largest first; regions smaller than ``min_pixels``
    are left out. A Li-filled crack (or a Li protrusion) is a crack with filling 1, a pore
    a crack with filling 0.
    """
    from scipy import ndimage

    top, bottom = electrode_rows(phases)
    band = np.zeros(phases.shape, dtype=bool)
    band[top : phases.shape[0] - bottom] = True
    crack = band & (phases != ELECTROLYTE)
    labels, n = ndimage.label(crack, structure=np.ones((3, 3), dtype=int))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    lis = np.bincount(labels.ravel(), weights=(phases == LI).ravel(), minlength=n + 1)
    order = [k for k in np.argsort(-sizes[1:], kind="stable") + 1 if sizes[k] >= min_pixels]
    relabel = np.zeros(n + 1, dtype=np.int32)
    relabel[order] = np.arange(1, len(order) + 1)
    info = [(int(sizes[k]), int(lis[k]), float(lis[k] / sizes[k])) for k in order]
    return relabel[labels], info


def near(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels whose centre is within ``radius`` pixels of a pixel of ``mask`` (not in it)."""
    from scipy import ndimage

    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    dist = ndimage.distance_transform_edt(~mask)
    return (dist > 0) & (dist <= radius)


def write_image(path: str | Path, phases: np.ndarray) -> None:
    """Write a label image as ``.npy`` or 8-bit grey ``.png``/``.tif`` (values 0..255)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, np.asarray(phases, dtype=np.uint8))
        return
    from PIL import Image

    Image.fromarray(np.asarray(phases, dtype=np.uint8)).save(path)  # 2D uint8: mode "L"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the label values of an image and how many pixels carry each."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m femcm.meshes.images IMAGE", file=sys.stderr)
        return 2
    try:
        image = read_image(args[0])
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    values, counts = np.unique(image, return_counts=True)
    print(f"{args[0]}: {image.shape[1]} × {image.shape[0]} pixels, dtype {image.dtype}")
    for v, n in zip(values, counts, strict=True):
        print(f"  value {v}: {n} pixels ({100 * n / image.size:.2f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
