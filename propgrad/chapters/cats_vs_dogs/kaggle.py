"""The reader of the paper profile's data: Kaggle "Dogs vs. Cats" with fur labels.

The Kaggle competition's data: a folder ``train/`` with files named
``cat.<n>.jpg`` and ``dog.<n>.jpg``, plus a CSV of fur labels that defines the
paper's three splits (appendix B.1 of the paper sorted images by asking a
vision-language model whether the animal has dark fur). The CSV has a header
and one row per image::

    file,split,fur
    cat.0.jpg,train,dark
    dog.17.jpg,test,light

``split`` is ``train`` or ``test``; ``fur`` is ``dark`` or ``light``. The
unbiased split uses every listed image; ``dark-cats`` keeps dark-furred cats
and light-furred dogs; ``dark-dogs`` the opposite.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from propgrad.chapters.cats_vs_dogs.paper import FUR_GROUPS
from propgrad.worlds.cats_dogs import CLASSES, SPLITS

_KAGGLE_NAME = re.compile(r"^(cat|dog)\.\d+\.(jpe?g|png)$", re.IGNORECASE)


@dataclass(frozen=True)
class LabelledImage:
    """One image of a dataset split: its path, class index and fur label."""

    path: Path
    label: int
    fur: str


def _layout_help(root: Path) -> str:
    return (
        f"expected the Kaggle Dogs-vs-Cats layout: {root}/train/cat.0.jpg, "
        f"{root}/train/dog.0.jpg, ... (download it from the Kaggle competition "
        "'dogs-vs-cats' and unzip train.zip there)"
    )


def cats_dogs_split(
    root: str | Path, fur_labels: str | Path, split: str, part: str = "train"
) -> list[LabelledImage]:
    """List the images of one Cats-vs-Dogs split.

    Parameters
    ----------
    root : str or Path
        Folder that contains ``train/`` with ``cat.<n>.jpg`` / ``dog.<n>.jpg``.
    fur_labels : str or Path
        CSV with columns ``file``, ``split`` and ``fur`` (see module docstring).
    split : {"unbiased", "dark-cats", "dark-dogs"}
        Which of the paper's splits.
    part : {"train", "test"}
        Training or test part.

    Returns
    -------
    list of LabelledImage
        In the CSV's order. Label 0 is cat, 1 is dog (the authors' convention).

    Raises
    ------
    FileNotFoundError
        If the folder, its ``train/`` subfolder, the CSV or listed images are
        missing; the message says what was expected and where.
    ValueError
        For an unknown split or part, a malformed CSV, or an empty selection.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', got {part!r}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Cats-vs-Dogs folder not found: {root}; {_layout_help(root)}")
    images_dir = root / "train"
    if not images_dir.is_dir():
        raise FileNotFoundError(f"no 'train' folder in {root}; {_layout_help(root)}")
    fur_labels = Path(fur_labels)
    if not fur_labels.is_file():
        raise FileNotFoundError(
            f"fur-label CSV not found: {fur_labels}; it needs the columns file,split,fur "
            "(see propgrad.chapters.cats_vs_dogs.kaggle)"
        )
    with fur_labels.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing_columns = {"file", "split", "fur"} - set(reader.fieldnames or [])
        if missing_columns:
            raise ValueError(f"{fur_labels} lacks the column(s) {sorted(missing_columns)}")
        rows = list(reader)
    selected: list[LabelledImage] = []
    missing: list[str] = []
    for line, row in enumerate(rows, start=2):
        name, row_part, fur = row["file"].strip(), row["split"].strip(), row["fur"].strip()
        match = _KAGGLE_NAME.match(name)
        if match is None:
            raise ValueError(
                f"{fur_labels}:{line}: {name!r} is not named cat.<n>.jpg or dog.<n>.jpg"
            )
        if fur not in ("dark", "light"):
            raise ValueError(f"{fur_labels}:{line}: fur must be 'dark' or 'light', got {fur!r}")
        if row_part not in ("train", "test"):
            raise ValueError(
                f"{fur_labels}:{line}: split must be 'train' or 'test', got {row_part!r}"
            )
        if row_part != part:
            continue
        animal = match.group(1).lower()
        if split == "dark-cats" and (animal == "cat") != (fur == "dark"):
            continue
        if split == "dark-dogs" and (animal == "dog") != (fur == "dark"):
            continue
        path = images_dir / name
        if not path.is_file():
            missing.append(name)
            continue
        selected.append(LabelledImage(path, CLASSES.index(animal), fur))
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} image(s) listed in {fur_labels} are missing from {images_dir}, "
            f"e.g. {missing[:3]}"
        )
    if not selected:
        raise ValueError(f"no images for split {split!r} ({part}) in {fur_labels}")
    return selected


def fur_group(
    root: str | Path, fur_labels: str | Path, group: str, part: str = "test"
) -> list[LabelledImage]:
    """List the images of one of the paper's fur groups (see :data:`FUR_GROUPS`).

    Parameters
    ----------
    root, fur_labels
        As for :func:`cats_dogs_split`.
    group : str
        A key of :data:`FUR_GROUPS`, e.g. ``"dark cats"``.
    part : {"train", "test"}
        Training or test part.

    Returns
    -------
    list of LabelledImage
        The group's images in the CSV's order.
    """
    if group not in FUR_GROUPS:
        raise ValueError(f"unknown fur group {group!r}; choose one of {list(FUR_GROUPS)}")
    split, animal, fur = FUR_GROUPS[group]
    label = CLASSES.index(animal)
    return [i for i in cats_dogs_split(root, fur_labels, split, part) if i.label == label]
