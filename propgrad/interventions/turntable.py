"""Turntable recordings: one full turn of an object in front of a fixed camera.

The paper's Sec. 4.4 records toy figures on a turntable and treats the
recording as an intervention on the object's orientation.
:func:`load_turntable` reads such a recording, a folder of frames or a video,
and assigns every frame its angle over one full turn, so the result is a
:class:`propgrad.sweep.Sweep` that can be scored with ``periodic=True``.

Angles
------
The ``N`` frames are taken to be equally spaced over exactly one turn, the
last frame one step before the first comes round again: frame ``k`` (in
recording order) shows the turntable at ``start_angle + 360 * k / N`` degrees
when it turns counter-clockwise seen from above (``direction="ccw"``, the
positive sense of a rotation about the vertical z axis in
:mod:`propgrad.interventions.render3d`), and at ``start_angle - 360 * k / N``
degrees when it turns clockwise. The sweep is ordered by angle, so its grid is
always ``start_angle + 360 * k / N`` for ``k = 0..N-1``: for a clockwise
recording image ``k`` of the sweep is frame ``(N - k) mod N`` of the recording
(frame 0 first, then the last frame, and so on backwards).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from propgrad.sweep import _IMAGE_SUFFIXES, Sweep, _natural_key

__all__ = ["load_turntable", "turntable_angles", "VIDEO_SUFFIXES"]

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".gif")
"""File endings read as a video (with PyAV) rather than as a folder of frames."""

_DIRECTIONS = {
    "ccw": 1,
    "counterclockwise": 1,
    "counter-clockwise": 1,
    "cw": -1,
    "clockwise": -1,
}


def _validate_direction(direction) -> int:
    key = direction.lower() if isinstance(direction, str) else direction
    if key not in _DIRECTIONS:
        raise ValueError(
            f"direction must be 'ccw' (counter-clockwise seen from above) or 'cw', "
            f"got {direction!r}"
        )
    return _DIRECTIONS[key]


def turntable_angles(n: int, start_angle: float = 0.0) -> np.ndarray:
    """The angles of ``n`` frames equally spaced over one full turn.

    Parameters
    ----------
    n : int
        Number of frames, at least 3.
    start_angle : float, default 0.0
        Angle of the first frame, degrees.

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``start_angle + 360 * k / n`` for ``k = 0..n-1`` (degrees).

    Raises
    ------
    ValueError
        If ``n < 3`` or ``start_angle`` is not finite.

    Examples
    --------
    >>> turntable_angles(4, start_angle=10.0)
    array([ 10., 100., 190., 280.])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"a full turn needs at least 3 frames, got {n!r}")
    start = float(start_angle)
    if not np.isfinite(start):
        raise ValueError(f"start_angle must be finite, got {start_angle!r}")
    return start + 360.0 * np.arange(int(n)) / int(n)


def _frames_from_folder(folder: Path) -> tuple[list[Image.Image], list[str]]:
    paths = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES),
        key=_natural_key,
    )
    if not paths:
        raise ValueError(
            f"no frames found in {folder}: expected image files ({', '.join(_IMAGE_SUFFIXES)}), "
            "one per turntable position, named so that natural sorting gives the recording "
            "order (frame_1.png, frame_2.png, ..., frame_10.png)"
        )
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"cannot read the frame {path}: {exc}") from None
    return images, [p.name for p in paths]


def load_turntable(
    source: str | Path,
    *,
    start_angle: float = 0.0,
    direction: str = "ccw",
    includes_end: bool = False,
    crop: tuple[int, int, int, int] | None = None,
    size: tuple[int, int] | None = None,
) -> Sweep:
    """Read a turntable recording of one full turn as a periodic sweep.

    Parameters
    ----------
    source : str or Path
        A folder of frames (image files in natural file-name order:
        ``frame_2`` before ``frame_10``) or a video file (one of
        :data:`VIDEO_SUFFIXES`, decoded with
        :func:`propgrad.interventions.video.frames_from_video`; needs PyAV).
    start_angle : float, default 0.0
        Angle of the first frame in degrees (e.g. 0 for a side view with the
        head to the right, as in the canonical pose of :mod:`propgrad.meshes`).
    direction : {"ccw", "cw"}, default "ccw"
        Sense of the turn seen from above: counter-clockwise (the positive
        sense about the vertical axis) or clockwise (see the module notes for
        how the frames are then ordered).
    includes_end : bool, default False
        The last frame was taken after the full turn (at 360 degrees) and
        repeats the first; it is dropped.
    crop : tuple of int, optional
        ``(top, bottom, left, right)``, inclusive, applied to every frame.
    size : tuple of int, optional
        ``(width, height)`` to resize every (cropped) frame to (bicubic).

    Returns
    -------
    Sweep
        The frames ordered by angle, grid ``start_angle + 360 * k / N`` in
        degrees (``grid_name="angle (degrees)"``); ``metadata`` records the
        source, ``"periodic": True``, ``"period": 360.0``, the direction and
        the recording's frame (file name or index) behind each image.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist.
    ValueError
        If the folder holds no images, a frame cannot be read (the message
        names the file), there are fewer than 3 frames, or an option is
        invalid.
    """
    source = Path(source).expanduser()
    sign = _validate_direction(direction)
    if not source.exists():
        raise FileNotFoundError(f"turntable recording not found: {source}")
    if source.is_dir():
        images, names = _frames_from_folder(source)
        kind = "folder"
    elif source.suffix.lower() in VIDEO_SUFFIXES:
        from propgrad.interventions.video import frames_from_video

        images = frames_from_video(source, crop=crop, size=size)
        names = [f"frame {i}" for i in range(len(images))]
        crop = size = None  # already applied
        kind = "video"
    else:
        raise ValueError(
            f"{source} is neither a folder of frames nor a video ({', '.join(VIDEO_SUFFIXES)})"
        )
    if includes_end:
        images, names = images[:-1], names[:-1]
    n = len(images)
    if n < 3:
        extra = " (after dropping the repeated last frame)" if includes_end else ""
        raise ValueError(
            f"a turntable recording needs at least 3 frames over the full turn; {source} "
            f"has {n}{extra}"
        )
    if crop is not None:
        from propgrad.interventions.video import _crop_slices

        cropped = []
        for image in images:
            array = np.asarray(image)
            rows, cols = _crop_slices(crop, *array.shape[:2])
            cropped.append(Image.fromarray(np.ascontiguousarray(array[rows, cols])))
        images = cropped
    if size is not None:
        images = [image.resize(tuple(size), Image.BICUBIC) for image in images]

    grid = turntable_angles(n, start_angle)
    order = list(range(n)) if sign > 0 else [(n - k) % n for k in range(n)]
    metadata = {
        "intervention": "turntable",
        "source": str(source),
        "source_kind": kind,
        "direction": "ccw" if sign > 0 else "cw",
        "start_angle": float(start_angle),
        "includes_end": bool(includes_end),
        "angle_unit": "degrees",
        "periodic": True,
        "period": 360.0,
        "frames": [names[i] for i in order],
    }
    if crop is not None:
        metadata["crop"] = [int(v) for v in crop]
    if size is not None:
        metadata["size"] = [int(v) for v in size]
    return Sweep([images[i] for i in order], grid, "angle (degrees)", metadata)
