"""The one sweep type shared by every kind of intervention.

A :class:`Sweep` is an ordered sequence of images, the grid values that
produced them (a guidance scale, a blend weight, an angle, ...), and the
metadata needed to reproduce it (source image, seed, parameters). Editing-model
sweeps, designed image operations, captured frames and 3D renders all return
one, and a sweep round-trips through a folder of PNG frames plus a small
``sweep.json`` file, so a user's own edits or captured frames are sweeps too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

METADATA_FILE = "sweep.json"
_FRAME_PATTERN = "frame_{:04d}.png"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def _as_rgb_image(image: Any) -> Image.Image:
    """Convert a PIL image or an (H, W, 3) array to an RGB PIL image."""
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode != "RGB" else image
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"an image array must have shape (H, W, 3), got {array.shape}")
    if array.dtype != np.uint8:
        if not np.all(np.isfinite(array)):
            raise ValueError("an image array contains NaN or inf values")
        if array.min() < 0.0 or array.max() > 1.0:
            raise ValueError("a float image array must lie in [0, 1]")
        array = np.round(array * 255.0).astype(np.uint8)
    return Image.fromarray(array, mode="RGB")


@dataclass
class Sweep:
    """An ordered sequence of intervened images and the grid that produced them.

    Parameters
    ----------
    images : sequence of PIL.Image.Image or ndarray
        The intervened images in sweep order. Arrays of shape (H, W, 3)
        (uint8, or floats in [0, 1]) are converted to RGB PIL images.
    grid : sequence of float, optional
        One strictly increasing value per image: the intervention strength that
        produced it (CFG text scale, alpha, angle, ...). Defaults to the step
        index ``0, 1, ..., N - 1`` (the paper's unit-step convention).
    grid_name : str, optional
        What the grid values are, used as an axis label ("step" by default).
    metadata : dict, optional
        JSON-serialisable facts needed to reproduce the sweep (source image,
        instruction, seed, parameters, ...).

    Raises
    ------
    ValueError
        If there are no images, if the grid length differs from the number of
        images, or if the grid is not finite and strictly increasing.

    Examples
    --------
    >>> import numpy as np
    >>> frames = [np.full((8, 8, 3), v, dtype=np.uint8) for v in (0, 128, 255)]
    >>> sweep = Sweep(frames, grid=[0.0, 0.5, 1.0], grid_name="alpha")
    >>> len(sweep), sweep.grid.tolist()
    (3, [0.0, 0.5, 1.0])
    """

    images: list[Image.Image]
    grid: np.ndarray | None = None
    grid_name: str = "step"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.images = [_as_rgb_image(image) for image in self.images]
        if not self.images:
            raise ValueError("a sweep needs at least one image")
        n = len(self.images)
        grid = np.arange(n, dtype=float) if self.grid is None else np.asarray(self.grid, float)
        if grid.ndim != 1 or grid.shape[0] != n:
            raise ValueError(f"the grid has {grid.size} values but the sweep has {n} images")
        if not np.all(np.isfinite(grid)):
            raise ValueError("the grid contains NaN or inf values")
        if n > 1 and not np.all(np.diff(grid) > 0):
            bad = int(np.argmin(np.diff(grid) > 0))
            raise ValueError(
                f"the grid must be strictly increasing; value {bad + 1} ({grid[bad + 1]:g}) "
                f"does not exceed value {bad} ({grid[bad]:g})"
            )
        self.grid = grid
        self.metadata = dict(self.metadata)

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[Image.Image]:
        return iter(self.images)

    def __getitem__(self, index: int | slice) -> Image.Image | Sweep:
        if isinstance(index, slice):
            return Sweep(self.images[index], self.grid[index], self.grid_name, dict(self.metadata))
        return self.images[index]

    def prepend(self, image: Any, grid_value: float | None = None) -> Sweep:
        """Return a new sweep with ``image`` (e.g. the original photo) in front.

        Parameters
        ----------
        image : PIL.Image.Image or ndarray
            The image to put first.
        grid_value : float, optional
            Its grid value; defaults to one step below the first value (the
            spacing of the first two values, or 1 for a single image).

        Returns
        -------
        Sweep
            A sweep of ``len(self) + 1`` images.
        """
        if grid_value is None:
            step = float(self.grid[1] - self.grid[0]) if len(self) > 1 else 1.0
            grid_value = float(self.grid[0]) - step
        grid = np.concatenate([[grid_value], self.grid])
        return Sweep([image, *self.images], grid, self.grid_name, dict(self.metadata))

    def to_array(self) -> np.ndarray:
        """Stack the images into a uint8 array of shape (N, H, W, 3).

        Raises
        ------
        ValueError
            If the images do not all have the same size.
        """
        sizes = {image.size for image in self.images}
        if len(sizes) != 1:
            raise ValueError(f"images differ in size: {sorted(sizes)}")
        return np.stack([np.asarray(image) for image in self.images])

    def save(self, folder: str | Path) -> Path:
        """Write the frames as PNG files and the grid and metadata as ``sweep.json``.

        Parameters
        ----------
        folder : str or Path
            Target folder; created if needed. Existing frames are overwritten.

        Returns
        -------
        Path
            The folder.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for i, image in enumerate(self.images):
            name = _FRAME_PATTERN.format(i)
            image.save(folder / name)
            names.append(name)
        record = {
            "grid": [float(v) for v in self.grid],
            "grid_name": self.grid_name,
            "frames": names,
            "metadata": self.metadata,
        }
        from propgrad.cache import atomic_path

        with atomic_path(folder / METADATA_FILE) as tmp:
            tmp.write_text(json.dumps(record, indent=2, default=_json_default))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Sweep:
        """Read a sweep from a folder.

        A folder written by :meth:`save` has a ``sweep.json`` with the grid and
        metadata. A plain folder of images (a user's own edits, captured
        frames) is read in natural file-name order with a unit-step grid.

        Parameters
        ----------
        folder : str or Path
            The folder to read.

        Returns
        -------
        Sweep
            The loaded sweep.

        Raises
        ------
        FileNotFoundError
            If the folder does not exist.
        ValueError
            If it holds no images, ``sweep.json`` is unreadable or names
            missing frames, or an image cannot be decoded (not an image,
            corrupt or truncated); the message names the file.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"sweep folder not found: {folder}")
        meta_path = folder / METADATA_FILE
        if meta_path.exists():
            try:
                record = json.loads(meta_path.read_text())
                paths = [folder / name for name in record["frames"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"cannot read {meta_path}: {_describe(exc)}") from exc
            missing = [p.name for p in paths if not p.exists()]
            if missing:
                raise ValueError(f"{meta_path} lists frames that are missing: {missing[:5]}")
            grid = record.get("grid")
            grid_name = record.get("grid_name", "step")
            metadata = record.get("metadata", {})
        else:
            paths = sorted(
                (p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES),
                key=_natural_key,
            )
            grid, grid_name, metadata = None, "step", {"source": str(folder)}
        if not paths:
            raise ValueError(f"no images found in {folder}")
        return cls([_read_image(path) for path in paths], grid, grid_name, metadata)


def _describe(exc: BaseException) -> str:
    """An exception as one line: its class name and the first line of its message."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def _read_image(path: Path) -> Image.Image:
    """Open and fully decode one frame as RGB; a ValueError names the file if that fails."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")  # decodes every pixel: a truncated file fails here
    except UnidentifiedImageError as exc:
        raise ValueError(
            f"cannot read image {path}: {type(exc).__name__} (not a known image format)"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read image {path}: {_describe(exc)}") from exc


def load_sweep(folder: str | Path) -> Sweep:
    """Read a sweep from a folder (see :meth:`Sweep.load`)."""
    return Sweep.load(folder)


def _natural_key(path: Path) -> list[Any]:
    """Sort key that orders ``frame_2`` before ``frame_10``."""
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON serialisable")


def grid_from_values(values: Sequence[float]) -> np.ndarray:
    """Return ``values`` as a float array, checked to be strictly increasing.

    Parameters
    ----------
    values : sequence of float
        Candidate grid values.

    Returns
    -------
    ndarray
        The values as float64.

    Raises
    ------
    ValueError
        If the values are empty, not finite or not strictly increasing.
    """
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError("grid values must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(grid)):
        raise ValueError("grid values contain NaN or inf")
    if grid.size > 1 and not np.all(np.diff(grid) > 0):
        raise ValueError(f"grid values must be strictly increasing, got {grid.tolist()[:8]}...")
    return grid
