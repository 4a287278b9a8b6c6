"""Sweeps stored as video: decoding frames.

Captured interventions (a turntable, a dimmer) and published editing sweeps
often come as a video. :func:`frames_from_video` decodes one with PyAV and
optionally crops and resizes every frame (the authors' published fur sweep is
read this way, :func:`propgrad.authors.load_authors_dog_sweep`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def _crop_slices(crop: tuple[int, int, int, int], height: int, width: int) -> tuple[slice, slice]:
    if len(crop) != 4:
        raise ValueError(f"crop must be (top, bottom, left, right), got {crop}")
    top, bottom, left, right = (int(v) for v in crop)
    if not (0 <= top <= bottom < height and 0 <= left <= right < width):
        raise ValueError(
            f"crop rows {top}..{bottom}, columns {left}..{right} (inclusive) do not fit "
            f"in a {height} x {width} frame"
        )
    return slice(top, bottom + 1), slice(left, right + 1)


def frames_from_video(
    path: str | Path,
    *,
    crop: tuple[int, int, int, int] | None = None,
    size: tuple[int, int] | None = None,
    max_frames: int | None = None,
) -> list[Image.Image]:
    """Decode the frames of a video file into RGB PIL images.

    Parameters
    ----------
    path : str or Path
        Any video PyAV (FFmpeg) can read, e.g. an H.264 ``.mp4``.
    crop : tuple of int, optional
        ``(top, bottom, left, right)``: the first and last row and the first
        and last column to keep, all inclusive (so the crop is
        ``bottom - top + 1`` rows high).
    size : tuple of int, optional
        ``(width, height)`` to resize each (cropped) frame to, with bicubic
        filtering; by default frames keep their size.
    max_frames : int, optional
        Stop after this many frames.

    Returns
    -------
    list of PIL.Image.Image
        The frames in presentation order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file holds no video stream or no frames, or the crop does not
        fit in the frame.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    frames: list[Image.Image] = []
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise ValueError(f"could not open {path} as a video: {error}") from error
    with container:
        if not container.streams.video:
            raise ValueError(f"{path} holds no video stream")
        rows = cols = None
        for frame in container.decode(video=0):
            array = frame.to_ndarray(format="rgb24")
            if crop is not None:
                if rows is None:
                    rows, cols = _crop_slices(crop, *array.shape[:2])
                array = array[rows, cols]
            image = Image.fromarray(np.ascontiguousarray(array), mode="RGB")
            if size is not None:
                image = image.resize(tuple(size), Image.BICUBIC)
            frames.append(image)
            if max_frames is not None and len(frames) >= max_frames:
                break
    if not frames:
        raise ValueError(f"no frames could be decoded from {path}")
    return frames
