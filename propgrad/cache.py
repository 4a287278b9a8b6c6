"""Small helpers for the on-disk cache shared by expensive steps.

Expensive results (editing-model sweeps, trained toy models, model outputs)
are stored under a folder named by a short hash of the configuration that
produced them, so a rerun with the same configuration finds them and a changed
configuration never reads a stale result. Writes go to a temporary file in the
target folder first and are then renamed into place, so a run that is killed
half-way never leaves a truncated file behind that a later run would trust.

The cache root is ``$PROPGRAD_CACHE`` when that variable is set and
``~/.cache/propgrad`` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV = "PROPGRAD_CACHE"


def cache_dir(*parts: str, root: str | Path | None = None) -> Path:
    """Return a folder inside the cache (not created).

    Parameters
    ----------
    *parts : str
        Sub-folder names appended to the root, e.g. ``("ip2p", key)``.
    root : str or Path, optional
        Explicit cache root. Defaults to ``$PROPGRAD_CACHE`` if set, else
        ``~/.cache/propgrad``.

    Returns
    -------
    Path
        The folder path.
    """
    if root is None:
        env = os.environ.get(CACHE_ENV)
        root = Path(env) if env else Path.home() / ".cache" / "propgrad"
    return Path(root).expanduser().joinpath(*parts)


def _canonical(value: Any) -> Any:
    """Turn a configuration value into plain JSON types with a stable form."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_canonical(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _canonical(value.item())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        # repr round-trips exactly; non-finite values become strings
        return repr(value) if not math.isfinite(value) else value
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def config_key(config: Mapping[str, Any], length: int = 16) -> str:
    """Hash a configuration dictionary into a short hexadecimal key.

    The dictionary is written as canonical JSON (sorted keys, numpy values as
    plain numbers, paths as strings, other objects by ``repr``) and hashed with
    SHA-256, so equal configurations give equal keys regardless of key order.

    Parameters
    ----------
    config : mapping
        The settings that determine a result.
    length : int, optional
        Number of hex characters to keep (default 16, i.e. 64 bits).

    Returns
    -------
    str
        The first ``length`` characters of the SHA-256 hex digest.

    Examples
    --------
    >>> config_key({"a": 1, "b": [0.5, 2]}) == config_key({"b": [0.5, 2], "a": 1})
    True
    """
    if not 1 <= length <= 64:
        raise ValueError(f"length must be between 1 and 64, got {length}")
    text = json.dumps(_canonical(dict(config)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def image_sha256(image: Any) -> str:
    """Hash an image by its RGB pixel bytes and its size.

    Parameters
    ----------
    image : PIL.Image.Image or ndarray
        A PIL image (converted to RGB) or a uint8 array of shape (H, W, 3).

    Returns
    -------
    str
        SHA-256 hex digest of ``"<width>x<height>"`` followed by the RGB bytes.
    """
    from PIL import Image

    if isinstance(image, Image.Image):
        rgb = image.convert("RGB")
        width, height = rgb.size
        data = rgb.tobytes()
    else:
        array = np.ascontiguousarray(np.asarray(image))
        if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
            raise ValueError("an image array must be uint8 with shape (H, W, 3)")
        height, width = array.shape[:2]
        data = array.tobytes()
    digest = hashlib.sha256(f"{width}x{height}".encode())
    digest.update(data)
    return digest.hexdigest()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process's umask, read once (reading it means setting it).
_UMASK = _current_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    The temporary file lives in the same folder (so the final rename is atomic
    on POSIX and Windows) and keeps the target's suffix (so writers that pick
    a format from the suffix still work). If the block raises, the temporary
    file is removed and ``path`` is left untouched.

    Parameters
    ----------
    path : str or Path
        The final file path; its folder is created if needed.

    Yields
    ------
    Path
        Where to write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; give it a new file's mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically.

    Parameters
    ----------
    path : str or Path
        Target file.
    data : object
        JSON-serialisable data (numpy scalars and arrays, paths are converted).

    Returns
    -------
    Path
        The written path.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_canonical(data), indent=2), encoding="utf-8")
    return path


def read_json(path: str | Path, default: Any = None) -> Any:
    """Read a JSON file, or return ``default`` if it is missing or unreadable.

    Parameters
    ----------
    path : str or Path
        The file.
    default : object, optional
        Returned when the file does not exist or is not valid JSON.

    Returns
    -------
    object
        The parsed content or ``default``.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def write_npz_atomic(path: str | Path, **arrays: Any) -> Path:
    """Save arrays into an uncompressed ``.npz`` file, atomically.

    Parameters
    ----------
    path : str or Path
        Target file; should end in ``.npz``.
    **arrays
        Named arrays, as for :func:`numpy.savez`.

    Returns
    -------
    Path
        The written path.
    """
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def save_image_atomic(path: str | Path, image: Any) -> Path:
    """Save a PIL image (lossless PNG for a ``.png`` path), atomically.

    Parameters
    ----------
    path : str or Path
        Target file; the format follows the suffix.
    image : PIL.Image.Image
        The image to write.

    Returns
    -------
    Path
        The written path.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp)
    return path
