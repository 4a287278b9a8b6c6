"""The reader of the paper profile's data: ISIC images (nevus vs. melanoma) with patch masks.

The paper's skin-lesion experiment (Sec. 4.2 and appendix C) uses nevus and
melanoma images from the ISIC archive. Some nevi come from a study of nevi in
children that stuck colourful adhesive dots beside the lesions, so in the
archive those dots go with the nevus class: a shortcut a classifier can learn.
The paper trains on an ``unbiased`` split (no patch images at all) and on a
``biased`` one (half of the nevi are patch images, melanomas never), tests on
test parts built by the same rules, and intervenes by alpha-blending segmented
patches from patch images that were kept out of both training and test data.

Folder layout
-------------
::

    <root>/
        metadata.csv              one row per image
        images/<image_id>.jpg     (or .jpeg / .png)
        patch_masks/<image_id>.png   for every image with a patch

``metadata.csv`` needs (at least) these columns; any others are ignored::

    image_id,diagnosis,colorful_patch
    ISIC_0000000,nevus,0
    ISIC_0000001,melanoma,0
    ISIC_0000145,nevus,1

* ``diagnosis`` is ``nevus`` or ``melanoma`` (case and surrounding spaces do
  not matter). Rows with other diagnoses are an error unless
  ``skip_other_diagnoses=True`` is passed.
* ``colorful_patch`` is ``1`` (or ``true``) for images showing colourful
  patches and ``0`` (or ``false``) otherwise.
* ``patch_masks/<image_id>.png`` is a segmentation of the patches, the same
  size as the image: white (255, or 1 in a 0/1 mask) on the patches, black
  elsewhere; grey values are read as partial coverage.

The metadata CSV that the ISIC archive exports names its columns differently
(e.g. ``isic_id`` and a diagnosis column with more classes) and carries no
patch flag; map your export to the three columns above, keep the nevus and
melanoma rows, and set ``colorful_patch`` from the patch annotations you use
(the paper took patch segmentations from a separate annotation study).

Sampling (deterministic given ``seed``)
---------------------------------------
1. ``n_reserved`` patch images are set aside for interventions
   (:func:`isic_reserved_patches`); they appear in no training or test part.
2. Melanomas without patches, nevi without patches and the remaining nevi
   with patches are each shuffled once; the first images of each pool go to
   the test part, the next ones to the training part. The partition does not
   depend on the split, so no test image of either split is a training image
   of either split (the paper's training x test table needs that).
3. ``unbiased``: ``n`` melanomas and ``n`` nevi without patches per part.
   ``biased``: ``n`` melanomas, ``round(n / 2)`` nevi with patches and the
   rest of the nevi without. Melanomas with patches are never used.

:func:`largest_split_sizes` gives the largest per-class sizes a folder
allows for both splits (the paper does not state its sizes).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ISIC_SPLITS = ("unbiased", "biased")
ISIC_LABELS = {"nevus": 0, "melanoma": 1}
ISIC_COLUMNS = ("image_id", "diagnosis", "colorful_patch")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_TRUE, _FALSE = {"1", "true", "yes"}, {"0", "false", "no"}


@dataclass(frozen=True)
class IsicImage:
    """One listed ISIC image.

    Attributes
    ----------
    image_id : str
        The id from ``metadata.csv``.
    path : Path
        The image file.
    label : int
        0 = nevus, 1 = melanoma.
    diagnosis : str
        ``"nevus"`` or ``"melanoma"``.
    colorful_patch : bool
        Whether the image shows colourful patches.
    mask_path : Path or None
        The patch segmentation (patch images only).
    """

    image_id: str
    path: Path
    label: int
    diagnosis: str
    colorful_patch: bool
    mask_path: Path | None = None


@dataclass
class IsicSplit:
    """The training part, test part and reserved patch images of one split.

    Attributes
    ----------
    name : str
        ``"unbiased"`` or ``"biased"``.
    train, test : list of IsicImage
        Class-balanced parts, in a seeded random order.
    reserved : list of IsicImage
        Patch images kept apart for interventions (with masks).
    seed : int
        The seed that drew them.
    """

    name: str
    train: list[IsicImage]
    test: list[IsicImage]
    reserved: list[IsicImage] = field(default_factory=list)
    seed: int = 0

    def _part(self, part: str) -> list[IsicImage]:
        if part not in ("train", "test"):
            raise ValueError(f"part must be 'train' or 'test', got {part!r}")
        return self.train if part == "train" else self.test

    def labels(self, part: str = "train") -> np.ndarray:
        """Return the int64 labels (0 = nevus, 1 = melanoma) of a part."""
        return np.array([r.label for r in self._part(part)], dtype=np.int64)

    def has_patch(self, part: str = "train") -> np.ndarray:
        """Return which images of a part show colourful patches."""
        return np.array([r.colorful_patch for r in self._part(part)], dtype=bool)


def _layout_help(root: Path) -> str:
    return (
        f"expected {root}/metadata.csv (columns image_id,diagnosis,colorful_patch), "
        f"{root}/images/<image_id>.jpg and {root}/patch_masks/<image_id>.png for patch "
        "images (see propgrad.chapters.skin_lesions.isic)"
    )


def _parse_flag(value: str, where: str) -> bool:
    flag = value.strip().lower()
    if flag.endswith(".0"):
        flag = flag[:-2]
    if flag in _TRUE:
        return True
    if flag in _FALSE:
        return False
    raise ValueError(f"{where}: colorful_patch must be 0 or 1, got {value!r}")


def _find_image(folder: Path, image_id: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / f"{image_id}{suffix}", folder / f"{image_id}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def list_isic(root: str | Path, *, skip_other_diagnoses: bool = False) -> list[IsicImage]:
    """List and check every image of an ISIC folder.

    Parameters
    ----------
    root : str or Path
        The folder (layout in the module docstring).
    skip_other_diagnoses : bool, optional
        Ignore rows whose diagnosis is neither nevus nor melanoma instead of
        raising.

    Returns
    -------
    list of IsicImage
        In the CSV's order.

    Raises
    ------
    FileNotFoundError
        If the folder, ``metadata.csv``, ``images/``, a listed image or the
        mask of a patch image is missing; the message says what and where.
    ValueError
        For missing columns, an unknown diagnosis, a bad patch flag, a
        duplicate or empty id, or a CSV without rows.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"ISIC folder not found: {root}; {_layout_help(root)}")
    csv_path = root / "metadata.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(
            f"metadata CSV not found: {csv_path}; put a metadata.csv with the columns "
            "image_id,diagnosis,colorful_patch there (map your ISIC export to these columns)"
        )
    images_dir = root / "images"
    if not images_dir.is_dir():
        raise FileNotFoundError(
            f"image folder not found: {images_dir}; put the images there as <image_id>.jpg "
            "or <image_id>.png"
        )
    masks_dir = root / "patch_masks"
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = [name.strip() for name in (reader.fieldnames or [])]
        missing_columns = [c for c in ISIC_COLUMNS if c not in fields]
        if missing_columns:
            raise ValueError(
                f"{csv_path} lacks the column(s) {missing_columns}; it needs "
                f"{list(ISIC_COLUMNS)} (found {fields})"
            )
        rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
    if not rows:
        raise ValueError(f"{csv_path} lists no images")
    records: list[IsicImage] = []
    seen: set[str] = set()
    missing_images: list[str] = []
    missing_masks: list[str] = []
    for line, row in enumerate(rows, start=2):
        where = f"{csv_path}:{line}"
        image_id = row["image_id"].strip()
        if not image_id:
            raise ValueError(f"{where}: empty image_id")
        diagnosis = row["diagnosis"].strip().lower()
        if diagnosis not in ISIC_LABELS:
            if skip_other_diagnoses:
                continue
            raise ValueError(
                f"{where}: unknown diagnosis {row['diagnosis']!r} for {image_id}; use 'nevus' "
                "or 'melanoma' (drop other rows, or pass skip_other_diagnoses=True)"
            )
        if image_id in seen:
            raise ValueError(f"{where}: image_id {image_id!r} is listed twice")
        seen.add(image_id)
        patch = _parse_flag(row["colorful_patch"], where)
        path = _find_image(images_dir, image_id)
        if path is None:
            missing_images.append(image_id)
            continue
        mask_path = None
        if patch:
            mask_path = masks_dir / f"{image_id}.png"
            if not mask_path.is_file():
                missing_masks.append(image_id)
                continue
        records.append(
            IsicImage(image_id, path, ISIC_LABELS[diagnosis], diagnosis, patch, mask_path)
        )
    if missing_images:
        raise FileNotFoundError(
            f"{len(missing_images)} image(s) listed in {csv_path} are missing from {images_dir} "
            f"(looked for <image_id>.jpg/.jpeg/.png), e.g. {missing_images[:3]}"
        )
    if missing_masks:
        raise FileNotFoundError(
            f"{len(missing_masks)} patch image(s) have no mask in {masks_dir}: put a "
            f"segmentation of the patches at {masks_dir}/<image_id>.png, e.g. for "
            f"{missing_masks[:3]}"
        )
    return records


def _records(source: str | Path | list[IsicImage], **kwargs: Any) -> list[IsicImage]:
    if isinstance(source, (str, Path)):
        return list_isic(source, **kwargs)
    return list(source)


def _validate_count(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return int(value)


def _shuffled(items: list[IsicImage], seed: int, stream: int) -> list[IsicImage]:
    rng = np.random.default_rng([int(seed), stream])
    order = rng.permutation(len(items))
    return [items[i] for i in order]


def isic_reserved_patches(
    source: str | Path | list[IsicImage],
    n_reserved: int = 50,
    seed: int = 0,
    **kwargs: Any,
) -> list[IsicImage]:
    """Return the patch images kept apart for interventions, with their masks.

    Parameters
    ----------
    source : str, Path or list of IsicImage
        The ISIC folder, or records from :func:`list_isic`.
    n_reserved : int, optional
        How many patch images to set aside (the paper draws five per
        intervened melanoma).
    seed : int, optional
        Seed; :func:`isic_split` with the same ``n_reserved`` and ``seed``
        excludes exactly these images.
    **kwargs
        Passed to :func:`list_isic` when ``source`` is a folder.

    Returns
    -------
    list of IsicImage
        Patch images (any diagnosis) with ``mask_path`` set; load them with
        :func:`load_isic_patch`.

    Raises
    ------
    ValueError
        If fewer than ``n_reserved`` patch images are listed.
    """
    n_reserved = _validate_count("n_reserved", n_reserved)
    patches = [r for r in _records(source, **kwargs) if r.colorful_patch]
    if len(patches) < n_reserved:
        raise ValueError(
            f"too few patch images to reserve {n_reserved} for interventions: metadata.csv "
            f"flags {len(patches)} with colorful_patch=1"
        )
    return _shuffled(patches, seed, 0)[:n_reserved]


def _take(pool: list[IsicImage], start: int, count: int, what: str, split: str) -> list[IsicImage]:
    if start + count > len(pool):
        raise ValueError(
            f"too few {what} for the {split} split: need {start + count} "
            f"(test and training parts together), found {len(pool)} in metadata.csv; "
            "lower n_train_per_class / n_test_per_class or add images"
        )
    return pool[start : start + count]


def _n_patched(n: int) -> int:
    return int(math.floor(n / 2 + 0.5))


def _pools(
    records: list[IsicImage], n_reserved: int, seed: int
) -> tuple[list[IsicImage], list[IsicImage], list[IsicImage], list[IsicImage]]:
    """The reserved patch images and the three pools both splits draw from (unshuffled)."""
    reserved = isic_reserved_patches(records, n_reserved, seed)
    kept = {r.image_id for r in reserved}
    melanomas = [r for r in records if r.label == 1 and not r.colorful_patch]
    clean_nevi = [r for r in records if r.label == 0 and not r.colorful_patch]
    patch_nevi = [
        r for r in records if r.label == 0 and r.colorful_patch and r.image_id not in kept
    ]
    return reserved, melanomas, clean_nevi, patch_nevi


def largest_split_sizes(
    source: str | Path | list[IsicImage],
    *,
    n_reserved: int = 50,
    test_fraction: float = 0.2,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[int, int]:
    """The largest per-class sizes both splits can be sampled with.

    Both splits draw from the same three pools (melanomas and nevi without
    patches, nevi with patches, see the module docstring), so with ``n``
    images per class in a part, ``n_train + n_test`` melanomas and clean nevi
    and ``round(n_train / 2) + round(n_test / 2)`` patch nevi (not reserved)
    are needed.

    Parameters
    ----------
    source : str, Path or list of IsicImage
        The ISIC folder, or records from :func:`list_isic`.
    n_reserved : int, optional
        Patch images kept apart for interventions.
    test_fraction : float, optional
        Share of each class that goes to the test part.
    seed : int, optional
        The seed :func:`isic_split` will use: it decides which patch images
        are reserved, and so how many nevi with patches are left.
    **kwargs
        Passed to :func:`list_isic` when ``source`` is a folder.

    Returns
    -------
    n_train_per_class, n_test_per_class : int

    Raises
    ------
    ValueError
        If ``test_fraction`` is not in (0, 1) or not even one image per part
        fits.
    """
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    _, melanomas, clean_nevi, patch_nevi = _pools(_records(source, **kwargs), n_reserved, seed)
    n_mel, n_clean, n_patch = len(melanomas), len(clean_nevi), len(patch_nevi)
    for total in range(min(n_mel, n_clean), 1, -1):
        n_test = max(1, int(round(float(test_fraction) * total)))
        n_train = total - n_test
        if n_train >= 1 and _n_patched(n_train) + _n_patched(n_test) <= n_patch:
            return n_train, n_test
    raise ValueError(
        f"too few images for two parts per split: {n_mel} melanomas and {n_clean} nevi "
        f"without patches, {n_patch} nevi with patches (besides {n_reserved} reserved)"
    )


def isic_split(
    source: str | Path | list[IsicImage],
    split: str,
    n_train_per_class: int,
    n_test_per_class: int,
    *,
    n_reserved: int = 50,
    seed: int = 0,
    **kwargs: Any,
) -> IsicSplit:
    """Sample the training and test part of one split (appendix C of the paper).

    Parameters
    ----------
    source : str, Path or list of IsicImage
        The ISIC folder, or records from :func:`list_isic`.
    split : {"unbiased", "biased"}
        ``unbiased``: no patch images. ``biased``: half of the nevi (rounded)
        are patch images; melanomas never are.
    n_train_per_class, n_test_per_class : int
        Images per class in the training and the test part.
    n_reserved : int, optional
        Patch images kept apart for interventions (see
        :func:`isic_reserved_patches`); excluded from both parts.
    seed : int, optional
        Seed of the reservation, the partition and the order.
    **kwargs
        Passed to :func:`list_isic` when ``source`` is a folder.

    Returns
    -------
    IsicSplit
        Both parts (class-balanced) and the reserved patch images.

    Raises
    ------
    ValueError
        For an unknown split or too few images of a kind.
    """
    if split not in ISIC_SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {ISIC_SPLITS}")
    n_train = _validate_count("n_train_per_class", n_train_per_class)
    n_test = _validate_count("n_test_per_class", n_test_per_class)
    reserved, melanomas, clean_nevi, patch_nevi = _pools(
        _records(source, **kwargs), n_reserved, seed
    )
    melanomas = _shuffled(melanomas, seed, 1)
    clean_nevi = _shuffled(clean_nevi, seed, 2)
    patch_nevi = _shuffled(patch_nevi, seed, 3)

    parts = {}
    for part, start, n in (("test", 0, n_test), ("train", n_test, n_train)):
        mel = _take(melanomas, start, n, "melanomas without patches", split)
        if split == "unbiased":
            nevi = _take(clean_nevi, start, n, "nevi without patches", split)
        else:
            k = _n_patched(n)
            patch_start = 0 if part == "test" else _n_patched(n_test)
            nevi = _take(patch_nevi, patch_start, k, "nevi with patches (not reserved)", split)
            nevi = nevi + _take(clean_nevi, start, n - k, "nevi without patches", split)
        chosen = mel + nevi
        order = np.random.default_rng([int(seed), 4 + (part == "train")]).permutation(len(chosen))
        parts[part] = [chosen[i] for i in order]
    return IsicSplit(split, parts["train"], parts["test"], reserved, int(seed))


# ----------------------------------------------------------------------------
# loading pixels
# ----------------------------------------------------------------------------


def _resize(image: Any, size: int | tuple[int, int] | None) -> Any:
    from PIL import Image

    if size is None:
        return image
    target = (int(size), int(size)) if np.isscalar(size) else tuple(int(v) for v in size)
    return image.resize(target, Image.BILINEAR)


def load_isic_image(record: IsicImage, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Load one image as uint8 RGB, optionally resized.

    Parameters
    ----------
    record : IsicImage
        The image.
    size : int or tuple of int, optional
        Square side, or ``(width, height)``, to resize to (bilinear).

    Returns
    -------
    ndarray
        uint8 array (H, W, 3).
    """
    from PIL import Image

    with Image.open(record.path) as image:
        return np.asarray(_resize(image.convert("RGB"), size), dtype=np.uint8)


def load_isic_images(records: list[IsicImage], size: int | tuple[int, int]) -> np.ndarray:
    """Load many images at one size into an (N, H, W, 3) uint8 array.

    Parameters
    ----------
    records : list of IsicImage
        The images.
    size : int or tuple of int
        Square side, or ``(width, height)``.

    Returns
    -------
    ndarray
        uint8 array (N, H, W, 3).
    """
    return np.stack([load_isic_image(r, size) for r in records])


def load_isic_patch_mask(
    record: IsicImage, size: int | tuple[int, int] | None = None
) -> np.ndarray:
    """Load the patch segmentation of a patch image as coverage in [0, 1].

    Parameters
    ----------
    record : IsicImage
        A patch image (``mask_path`` set).
    size : int or tuple of int, optional
        Square side, or ``(width, height)``, to resize to (bilinear).

    Returns
    -------
    ndarray
        float64 array (H, W) in [0, 1]; a 0/1 mask and a 0/255 mask read the
        same.

    Raises
    ------
    ValueError
        If the record has no mask or the mask's size differs from the image's.
    """
    from PIL import Image

    if record.mask_path is None:
        raise ValueError(f"{record.image_id} is not a patch image and has no patch mask")
    with Image.open(record.mask_path) as mask, Image.open(record.path) as image:
        if mask.size != image.size:
            raise ValueError(
                f"the patch mask {record.mask_path} is {mask.size[0]}x{mask.size[1]} but its "
                f"image is {image.size[0]}x{image.size[1]}; masks must match their images"
            )
        grey = mask.convert("L")
        binary_01 = grey.getextrema()[1] <= 1
        if binary_01:
            grey = grey.point(lambda v: 255 if v else 0)
        array = np.asarray(_resize(grey, size), dtype=float) / 255.0
    return np.clip(array, 0.0, 1.0)


def load_isic_patch(
    record: IsicImage, size: int | tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load a reserved patch image and its mask, ready for alpha blending.

    The pair plugs into
    :func:`propgrad.interventions.designed.alpha_blend_sweep` as
    ``overlay`` and ``mask`` (resize to the target image's size).

    Parameters
    ----------
    record : IsicImage
        A patch image (``mask_path`` set).
    size : int or tuple of int, optional
        Square side, or ``(width, height)``.

    Returns
    -------
    rgb : ndarray
        uint8 (H, W, 3), the patch image.
    mask : ndarray
        float64 (H, W) coverage of its patches.
    """
    return load_isic_image(record, size), load_isic_patch_mask(record, size)
