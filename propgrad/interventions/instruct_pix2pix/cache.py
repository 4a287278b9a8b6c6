"""The on-disk frame cache of InstructPix2Pix sweeps: one folder per key, one PNG per scale.

A sweep's configuration (editor identity, input image, instruction, image
scale, seed, steps; everything except the text scales) is hashed into a key;
its folder ``<cache root>/instruct_pix2pix/<key>/`` holds one lossless PNG per
text scale, named by the scale's exact ``repr`` (``ts_7.5.png``), and a
``manifest.json`` that records the key and the configuration for people.

A frame file is the only record that a frame is done: it is written to a
temporary file and renamed into place, so it exists only when it is complete.
There is no shared list to update, so any number of writers (threads,
processes, Dask workers on a shared file system) may add frames of the same
sweep at once without losing each other's work; two writers of the same frame
write equal content and the last rename wins. The manifest is written once,
with the same content by every writer. A frame that cannot be read (a damaged
file) counts as missing and is computed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from propgrad.cache import cache_dir, config_key, read_json, save_image_atomic, write_json_atomic

__all__ = ["CACHE_FORMAT", "CACHE_SUBDIR", "FrameCache", "frame_name"]

CACHE_SUBDIR = "instruct_pix2pix"
"""The sub-folder of the cache root that holds the sweeps."""

CACHE_FORMAT = 2
"""Part of every key. 2: frame files are the record (format 1 listed them in the manifest)."""

MANIFEST = "manifest.json"
_PREFIX, _SUFFIX = "ts_", ".png"


def frame_name(scale: float) -> str:
    """The file name of the frame at a text scale, e.g. ``"ts_7.5.png"`` (exact ``repr``).

    Parameters
    ----------
    scale : float
        The text scale.

    Returns
    -------
    str
        The file name.
    """
    return f"{_PREFIX}{float(scale)!r}{_SUFFIX}"


@dataclass(frozen=True)
class FrameCache:
    """The cache folder of one sweep configuration.

    Parameters
    ----------
    config : mapping
        The configuration that determines the frames (JSON-able values); its
        :func:`propgrad.cache.config_key` names the folder.
    root : str or Path, optional
        Cache root; defaults to ``$PROPGRAD_CACHE`` or ``~/.cache/propgrad``.

    Attributes
    ----------
    key : str
        The configuration's key.
    folder : Path
        ``<root>/instruct_pix2pix/<key>`` (created on the first write).
    """

    config: Mapping[str, Any]
    root: str | Path | None = None
    key: str = field(init=False)
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", dict(self.config))
        key = config_key(self.config)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "folder", cache_dir(CACHE_SUBDIR, key, root=self.root))

    def path(self, scale: float) -> Path:
        """The file of the frame at ``scale`` (which may not exist yet).

        Parameters
        ----------
        scale : float
            The text scale.

        Returns
        -------
        Path
            The PNG path.
        """
        return self.folder / frame_name(scale)

    def scales(self) -> list[float]:
        """The text scales whose frames are on disk, increasing.

        Returns
        -------
        list of float
            The cached scales (damaged files included; :meth:`load` skips them).
        """
        found = []
        if self.folder.is_dir():
            for path in self.folder.glob(f"{_PREFIX}*{_SUFFIX}"):
                try:
                    found.append(float(path.name[len(_PREFIX) : -len(_SUFFIX)]))
                except ValueError:
                    continue
        return sorted(found)

    def load(self, scales: Iterable[float]) -> dict[float, Image.Image]:
        """Read the cached frames among ``scales``.

        Parameters
        ----------
        scales : iterable of float
            The text scales wanted.

        Returns
        -------
        dict
            ``{scale: RGB image}`` for every scale whose frame is on disk and
            readable; the others are missing.
        """
        frames: dict[float, Image.Image] = {}
        for scale in scales:
            path = self.path(scale)
            if not path.is_file():
                continue
            try:
                with Image.open(path) as handle:
                    frames[float(scale)] = handle.convert("RGB")
            except (OSError, SyntaxError, ValueError):
                continue  # damaged: computed again and replaced
        return frames

    def save(self, scale: float, frame: Image.Image) -> Path:
        """Write one frame atomically (and the manifest, if it is not there yet).

        Parameters
        ----------
        scale : float
            The text scale.
        frame : PIL.Image.Image
            The 8-bit RGB frame.

        Returns
        -------
        Path
            The frame's file.
        """
        path = save_image_atomic(self.path(scale), frame)
        self.write_manifest()
        return path

    def write_manifest(self) -> Path:
        """Write ``manifest.json`` (format, key, configuration) unless it already says so.

        Returns
        -------
        Path
            The manifest's path.
        """
        path = self.folder / MANIFEST
        record = {"format": CACHE_FORMAT, "key": self.key, "config": self.config}
        current = read_json(path, default=None)
        if not (isinstance(current, dict) and current.get("key") == self.key):
            write_json_atomic(path, record)
        return path
