"""Reader for CelebA in its official folder layout (the paper's training analysis).

The paper's Sec. 4.3 trains classifiers on CelebA's ``Young`` attribute with a
class-balanced split and then intervenes on the hair colour of young test
faces. This module reads the dataset as it is distributed::

    <root>/
        img_align_celeba/000001.jpg, 000002.jpg, ...   aligned and cropped faces
        list_attr_celeba.txt                           40 binary attributes
        list_eval_partition.txt                        train / val / test

``list_attr_celeba.txt`` has the number of images on line 1, the 40 attribute
names on line 2 (``5_o_Clock_Shadow Arched_Eyebrows ... Young``), then one
line per image: the file name followed by 40 values, ``1`` (present) or
``-1`` (absent), separated by one or more spaces. ``list_eval_partition.txt``
has one line per image, ``<file> <p>``, with ``p`` = 0 (train), 1 (val) or
2 (test).

Where to get it: the CelebA project page of the Multimedia Laboratory at The
Chinese University of Hong Kong offers ``img_align_celeba.zip`` (the "Align &
Cropped Images"), ``Anno/list_attr_celeba.txt`` and
``Eval/list_eval_partition.txt``; unzip the images and put the two text files
next to the image folder. ``torchvision.datasets.CelebA(root, download=True)``
produces the same layout under ``<root>/celeba``, so that folder can be passed
as ``root`` too. Some mirrors ship CSV versions of the two lists
(``list_attr_celeba.csv`` with 0/1 values); this reader expects the official
text files and says so when it finds only the CSV files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

#: Folder of the aligned and cropped images inside the dataset root.
IMAGE_FOLDER = "img_align_celeba"
#: Attribute list inside the dataset root.
ATTRIBUTE_FILE = "list_attr_celeba.txt"
#: Train/val/test partition list inside the dataset root.
PARTITION_FILE = "list_eval_partition.txt"
#: Number of attributes per image.
N_ATTRIBUTES = 40
#: Partition names by the index used in ``list_eval_partition.txt``.
PARTITIONS = ("train", "val", "test")
#: The label attribute of the paper's task.
LABEL_ATTRIBUTE = "Young"
_VALUES = frozenset(("1", "-1"))


def _layout_help(root: Path) -> str:
    return (
        f"expected the official CelebA layout: {root}/{IMAGE_FOLDER}/000001.jpg, ..., "
        f"{root}/{ATTRIBUTE_FILE} and {root}/{PARTITION_FILE} (see "
        "propgrad.chapters.training_dynamics.celeba for where to get them)"
    )


@dataclass(frozen=True)
class CelebAAttributes:
    """The parsed attribute list.

    Attributes
    ----------
    names : tuple of str
        The 40 attribute names, in file order.
    files : tuple of str
        The image file names, in file order.
    values : ndarray
        int8 array (n_images, 40) of +1 (present) and -1 (absent).
    path : Path
        The file they were read from.
    """

    names: tuple[str, ...]
    files: tuple[str, ...]
    values: np.ndarray
    path: Path
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", {f: i for i, f in enumerate(self.files)})

    def row(self, file: str) -> int:
        """Return the row index of ``file``.

        Raises
        ------
        KeyError
            If the file is not listed.
        """
        index = self._rows.get(file)
        if index is None:
            raise KeyError(f"{file!r} is not listed in {self.path}")
        return index

    def column(self, name: str) -> np.ndarray:
        """Return one attribute of every image as a bool array (True where +1).

        Raises
        ------
        ValueError
            If the attribute name is unknown.
        """
        return self.values[:, self._column_index(name)] > 0

    def _column_index(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"unknown attribute {name!r}; {self.path} lists {list(self.names)}")
        return self.names.index(name)


@dataclass(frozen=True)
class CelebAImage:
    """One image of a balanced split: its path, file name, label and partition."""

    path: Path
    file: str
    label: int
    partition: str


def read_celeba_attributes(path: str | Path) -> CelebAAttributes:
    """Parse ``list_attr_celeba.txt``.

    Parameters
    ----------
    path : str or Path
        The attribute file.

    Returns
    -------
    CelebAAttributes
        Names, files and values.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For a malformed count line or header, a malformed data line (the
        message names the line number), a duplicated file name, a count that
        does not match the number of lines, or a header without ``Young``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CelebA attribute file not found: {path}")
    with path.open() as handle:
        lines = handle.read().splitlines()
    if not lines or not lines[0].strip():
        raise ValueError(f"{path}:1: expected the number of images, found an empty line")
    first = lines[0].split()
    if len(first) != 1 or not first[0].isdigit():
        raise ValueError(f"{path}:1: expected the number of images, got {lines[0].strip()!r}")
    declared = int(first[0])
    if len(lines) < 2:
        raise ValueError(f"{path}:2: missing the header line with the {N_ATTRIBUTES} names")
    names = tuple(lines[1].split())
    if len(names) != N_ATTRIBUTES:
        raise ValueError(
            f"{path}:2: malformed header: expected {N_ATTRIBUTES} attribute names, "
            f"found {len(names)}"
        )
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"{path}:2: malformed header: duplicated attribute names {dupes}")
    if LABEL_ATTRIBUTE not in names:
        raise ValueError(
            f"{path}:2: the header has no {LABEL_ATTRIBUTE!r} attribute, which is the label "
            "of the young/not-young task"
        )
    files: list[str] = []
    rows: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != N_ATTRIBUTES + 1:
            raise ValueError(
                f"{path}:{number}: expected a file name and {N_ATTRIBUTES} values, "
                f"found {len(parts)} fields"
            )
        if not _VALUES.issuperset(parts[1:]):
            bad = [v for v in parts[1:] if v not in _VALUES]
            raise ValueError(
                f"{path}:{number}: attribute values must be 1 or -1, got {bad[0]!r} for {parts[0]}"
            )
        if parts[0] in seen:
            raise ValueError(f"{path}:{number}: the file {parts[0]!r} is listed again")
        seen.add(parts[0])
        files.append(parts[0])
        rows.append(" ".join(parts[1:]))
    if len(files) != declared:
        raise ValueError(
            f"{path}:1: declares {declared} images but {len(files)} lines follow the header"
        )
    # every token is "1" or "-1" by now, so a plain text parse is safe (and fast)
    text = " ".join(rows)
    values = np.fromstring(text, dtype=np.int8, sep=" ") if rows else np.zeros(0, np.int8)
    values = values.reshape(len(rows), N_ATTRIBUTES)
    return CelebAAttributes(names=names, files=tuple(files), values=values, path=path)


def read_celeba_partition(path: str | Path) -> dict[str, str]:
    """Parse ``list_eval_partition.txt``.

    Parameters
    ----------
    path : str or Path
        The partition file.

    Returns
    -------
    dict
        File name -> ``"train"``, ``"val"`` or ``"test"``, in file order.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For a malformed line (the message names the line number), a
        duplicated file name, or an empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CelebA partition file not found: {path}")
    out: dict[str, str] = {}
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise ValueError(
                    f"{path}:{number}: expected '<file> <0|1|2>', got {line.strip()!r}"
                )
            if parts[0] in out:
                raise ValueError(f"{path}:{number}: the file {parts[0]!r} is listed again")
            out[parts[0]] = PARTITIONS[int(parts[1])]
    if not out:
        raise ValueError(f"{path} lists no images")
    return out


def _partition_name(partition: str | int) -> str:
    if isinstance(partition, (int, np.integer)) and not isinstance(partition, bool):
        if 0 <= int(partition) < len(PARTITIONS):
            return PARTITIONS[int(partition)]
    elif partition in PARTITIONS:
        return str(partition)
    elif partition in ("valid", "validation"):
        return "val"
    raise ValueError(f"partition must be one of {PARTITIONS} (or 0, 1, 2), got {partition!r}")


class CelebA:
    """The CelebA dataset in a folder with the official layout.

    The folder and the two list files are checked when the object is made;
    the lists are parsed on first use and kept.

    Parameters
    ----------
    root : str or Path
        The folder holding ``img_align_celeba/``, ``list_attr_celeba.txt`` and
        ``list_eval_partition.txt``.

    Raises
    ------
    FileNotFoundError
        If the folder, the image folder or one of the list files is missing;
        the message names what is missing and where it belongs.

    Examples
    --------
    >>> data = CelebA("~/data/celeba")  # doctest: +SKIP
    >>> test = data.young_split("test", n_per_class=500, seed=0)  # doctest: +SKIP
    >>> data.attributes_of(test[0].file, ["Gray_Hair", "Heavy_Makeup"])  # doctest: +SKIP
    {'Gray_Hair': False, 'Heavy_Makeup': True}
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"CelebA folder not found: {self.root}; {_layout_help(self.root)}"
            )
        self.image_dir = self.root / IMAGE_FOLDER
        if not self.image_dir.is_dir():
            raise FileNotFoundError(
                f"no {IMAGE_FOLDER!r} folder in {self.root}; unzip img_align_celeba.zip there "
                f"({_layout_help(self.root)})"
            )
        for name in (ATTRIBUTE_FILE, PARTITION_FILE):
            if not (self.root / name).is_file():
                csv = (self.root / name).with_suffix(".csv")
                hint = (
                    f"; found {csv.name}, a CSV variant from a mirror: this reader needs the "
                    "official text file"
                    if csv.is_file()
                    else ""
                )
                raise FileNotFoundError(
                    f"{name} not found in {self.root}{hint}; {_layout_help(self.root)}"
                )
        self._attributes: CelebAAttributes | None = None
        self._partition: dict[str, str] | None = None

    @property
    def attributes(self) -> CelebAAttributes:
        """The parsed ``list_attr_celeba.txt`` (see :func:`read_celeba_attributes`)."""
        if self._attributes is None:
            self._attributes = read_celeba_attributes(self.root / ATTRIBUTE_FILE)
        return self._attributes

    @property
    def partition(self) -> dict[str, str]:
        """The parsed ``list_eval_partition.txt`` (see :func:`read_celeba_partition`)."""
        if self._partition is None:
            self._partition = read_celeba_partition(self.root / PARTITION_FILE)
        return self._partition

    def image_path(self, file: str) -> Path:
        """Return the path of an image file name such as ``"000001.jpg"``."""
        return self.image_dir / file

    def open_image(self, file: str) -> Image.Image:
        """Open one image as an RGB ``PIL.Image.Image``.

        Raises
        ------
        FileNotFoundError
            If the image is not in the image folder.
        """
        from PIL import Image

        path = self.image_path(file)
        if not path.is_file():
            raise FileNotFoundError(f"CelebA image not found: {path}")
        with Image.open(path) as image:
            return image.convert("RGB")

    def attributes_of(self, file: str, names: Sequence[str] | None = None) -> dict[str, bool]:
        """Look up attributes of one image.

        Parameters
        ----------
        file : str
            Image file name, e.g. ``"000001.jpg"``.
        names : sequence of str, optional
            Attribute names (default: all 40).

        Returns
        -------
        dict
            Attribute name -> True (value 1) or False (value -1).

        Raises
        ------
        KeyError
            If the file is not listed in the attribute file.
        ValueError
            If an attribute name is unknown.
        """
        attrs = self.attributes
        row = attrs.values[attrs.row(file)]
        names = attrs.names if names is None else tuple(names)
        return {name: bool(row[attrs._column_index(name)] > 0) for name in names}

    def young_split(
        self,
        partition: str | int = "train",
        n_per_class: int | None = None,
        seed: int = 0,
        *,
        check_images: bool = True,
    ) -> list[CelebAImage]:
        """A class-balanced young/not-young selection of one partition.

        Parameters
        ----------
        partition : {"train", "val", "test"} or {0, 1, 2}, optional
            The official partition.
        n_per_class : int, optional
            Images per class (a size cap). By default as many as the smaller
            class has, so every image of that class is used.
        seed : int, optional
            Seed of the random choice within each class; the same seed gives
            the same selection.
        check_images : bool, optional
            Check that every selected image exists in the image folder.

        Returns
        -------
        list of CelebAImage
            ``2 * n_per_class`` images, alternating not young (label 0) and
            young (label 1); label 1 is ``Young == 1``.

        Raises
        ------
        ValueError
            For an unknown partition, a partition file listing images that the
            attribute file lacks, or too few images of a class.
        FileNotFoundError
            If selected images are missing from the image folder.
        """
        name = _partition_name(partition)
        attrs = self.attributes
        files = [f for f, p in self.partition.items() if p == name]
        index = attrs._rows
        unknown = [f for f in files if f not in index]
        if unknown:
            raise ValueError(
                f"{len(unknown)} image(s) of the {name!r} partition in "
                f"{self.root / PARTITION_FILE} are not listed in {attrs.path}, "
                f"e.g. {unknown[:3]}"
            )
        rows = np.array([index[f] for f in files], dtype=np.int64)
        young = attrs.column(LABEL_ATTRIBUTE)[rows] if rows.size else np.zeros(0, bool)
        by_class = [rows[~young], rows[young]]
        available = min(len(by_class[0]), len(by_class[1]))
        if n_per_class is None:
            n = available
        else:
            if isinstance(n_per_class, bool) or int(n_per_class) != n_per_class:
                raise ValueError(f"n_per_class must be an integer, got {n_per_class!r}")
            n = int(n_per_class)
            if n < 1:
                raise ValueError(f"n_per_class must be at least 1, got {n}")
        if available < max(n, 1):
            raise ValueError(
                f"too few images for a balanced split of the {name!r} partition: "
                f"{len(by_class[1])} young and {len(by_class[0])} not young, "
                f"{max(n, 1)} per class needed"
            )
        rng = np.random.default_rng([int(seed), PARTITIONS.index(name)])
        chosen = [rng.permutation(group)[:n] for group in by_class]
        out: list[CelebAImage] = []
        for old_row, young_row in zip(chosen[0], chosen[1]):
            for label, row in ((0, old_row), (1, young_row)):
                file = attrs.files[row]
                out.append(CelebAImage(self.image_path(file), file, label, name))
        if check_images:
            missing = [image.file for image in out if not image.path.is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} selected image(s) listed in {attrs.path} are missing from "
                    f"{self.image_dir}, e.g. {missing[:3]}"
                )
        return out


def celeba_young_split(
    root: str | Path,
    partition: str | int = "train",
    n_per_class: int | None = None,
    seed: int = 0,
) -> list[CelebAImage]:
    """A class-balanced young/not-young split of one CelebA partition.

    Shorthand for ``CelebA(root).young_split(partition, n_per_class, seed)``;
    see :meth:`CelebA.young_split`.

    Parameters
    ----------
    root : str or Path
        The dataset folder (official layout).
    partition : {"train", "val", "test"} or {0, 1, 2}, optional
        The official partition.
    n_per_class : int, optional
        Images per class (default: as many as the smaller class has).
    seed : int, optional
        Seed of the selection.

    Returns
    -------
    list of CelebAImage
        The balanced selection.
    """
    return CelebA(root).young_split(partition, n_per_class, seed)
