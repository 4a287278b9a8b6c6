"""Decode image files once: a uint8 array on disk, read back memory-mapped.

Path-based training data (the real datasets of the paper profile) would
otherwise decode and resize every JPEG every epoch. :func:`decoded_images`
decodes and resizes each image once, exactly as :func:`read_image` does (PIL's
``resize`` with the model's interpolation), stores all of them as one uint8
array (N, 3, H, W), the channel-first layout of a model's batch, in a ``.npy``
file under the cache folder ``images/``, and returns it memory-mapped, so a
batch is one gather of rows of that array and the memory the images take is
the operating system's page cache, not the process's.

The file is named by the key (:func:`propgrad.cache.config_key`) of the
resolved paths with their size and modification time, the target size and the
interpolation: a changed, moved or touched file, another size or another
interpolation makes a new file; an interrupted decode leaves nothing behind
(the array is written to a temporary file and renamed into place).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.cache import atomic_path, cache_dir, config_key

#: Version of the stored format (part of every key): 2 = channels first.
FORMAT = 2

__all__ = ["decoded_images", "decoded_key", "read_image"]


def read_image(path: str | Path, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """Read one image file as uint8 RGB, resized to ``size`` when it differs.

    Parameters
    ----------
    path : str or Path
        An image file PIL can read.
    size : (int, int)
        Target (height, width).
    interpolation : str
        One of :data:`propgrad.models.preprocess._PIL_FILTERS` (PIL's filter of
        that name).

    Returns
    -------
    ndarray
        uint8 (H, W, 3).

    Raises
    ------
    ValueError
        If the file is missing or not an image.
    """
    from PIL import Image, UnidentifiedImageError

    from propgrad.models.preprocess import _PIL_FILTERS

    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except (FileNotFoundError, UnidentifiedImageError, OSError) as error:
        raise ValueError(f"cannot read training image {path}: {type(error).__name__}") from None
    height, width = size
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), _PIL_FILTERS[interpolation])
    return np.array(rgb, dtype=np.uint8)


def decoded_key(paths: Sequence[str | Path], size: tuple[int, int], interpolation: str) -> str:
    """The cache key of the decoded images of ``paths`` at one size and interpolation.

    Parameters
    ----------
    paths : sequence of str or Path
        The image files, in order.
    size : (int, int)
        Target (height, width).
    interpolation : str
        Resampling filter.

    Returns
    -------
    str
        A :func:`propgrad.cache.config_key` of every resolved path with its
        size in bytes and modification time (ns), the size and the
        interpolation.

    Raises
    ------
    ValueError
        If a file is missing.
    """
    files = []
    for path in paths:
        resolved = Path(path).resolve()
        try:
            stat = resolved.stat()
        except FileNotFoundError:
            raise ValueError(f"cannot read training image {path}: FileNotFoundError") from None
        files.append([str(resolved), int(stat.st_size), int(stat.st_mtime_ns)])
    return config_key(
        {
            "format": FORMAT,
            "files": files,
            "size": [int(s) for s in size],
            "interpolation": str(interpolation),
        }
    )


def decoded_images(
    paths: Sequence[str | Path],
    size: tuple[int, int],
    interpolation: str,
    *,
    cache_root: str | Path | None = None,
    progress: bool = True,
) -> np.ndarray:
    """All images of ``paths`` decoded and resized once, memory-mapped from the cache.

    Parameters
    ----------
    paths : sequence of str or Path
        The image files, in order.
    size : (int, int)
        Target (height, width).
    interpolation : str
        Resampling filter (as for :func:`read_image`).
    cache_root : str or Path, optional
        Cache root (default ``$PROPGRAD_CACHE`` or ``~/.cache/propgrad``).
    progress : bool, optional
        A progress bar while decoding (on a terminal).

    Returns
    -------
    numpy.memmap
        Read-only uint8 (N, 3, H, W); image ``i`` is exactly
        ``read_image(paths[i], size, interpolation).transpose(2, 0, 1)``.

    Raises
    ------
    ValueError
        If there are no paths, or a file is missing or not an image.
    """
    if len(paths) == 0:
        raise ValueError("no images to decode")
    height, width = (int(s) for s in size)
    path = cache_dir("images", root=cache_root) / f"{decoded_key(paths, size, interpolation)}.npy"
    shape = (len(paths), 3, height, width)
    if path.is_file():
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError):  # unreadable: decode again
            array = None
        if array is not None and array.shape == shape and array.dtype == np.uint8:
            return array
    items: Any = paths
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(paths, desc="decode images", unit="img", disable=None)
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        for i, file in enumerate(items):
            out[i] = read_image(file, (height, width), interpolation).transpose(2, 0, 1)
        out.flush()
        del out
    return np.load(path, mmap_mode="r")
