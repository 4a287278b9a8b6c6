"""Sweeps stored as video: decoding frames, and the authors' real dog_002 sweep.

Captured interventions (a turntable, a dimmer) and published editing sweeps
often come as a video. :func:`frames_from_video` decodes one with PyAV and
optionally crops and resizes every frame. :func:`load_authors_dog_sweep`
rebuilds the authors' InstructPix2Pix fur-colour sweep of their dog_002 photo
from the animation they published, as a :class:`~propgrad.sweep.Sweep`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from propgrad.assets import fetch_asset
from propgrad.sweep import Sweep

AUTHORS_DOG_CROP = (48, 355, 52, 357)
"""Rows 48..355 and columns 52..357 (inclusive) hold the photo in each frame.

This is the crop documented with the assets. Its outermost columns (52 and 357)
are mostly the white figure margin blended into the photo's edge by the video's
chroma subsampling; columns 53..356 are pure photo. The models notice: with the
tighter crop, E[|grad X|] (unit steps, second-order stencil) of the unbiased model
rises from about 0.0012 to 0.0020 and of the dark-cats-bias model from 0.0093 to
0.0100 (the authors report 0.0012 and 0.0082 for their uncompressed frames), a
reminder of how much small input changes matter for these scores."""

AUTHORS_DOG_INSTRUCTION = (
    "Change the dog's fur color to white. Keep the background and other details the same."
)
AUTHORS_DOG_SCALES = np.linspace(1.01, 15.0, 100)
"""The 100 text-guidance (CFG) scales of the authors' sweep."""


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


def load_authors_dog_sweep(
    *,
    include_original: bool = True,
    crop: tuple[int, int, int, int] = AUTHORS_DOG_CROP,
    download: bool = True,
) -> Sweep:
    """Return the authors' InstructPix2Pix fur-colour sweep of their dog_002 photo.

    The authors edited their photo of a dark-furred dog with InstructPix2Pix
    (instruction "Change the dog's fur color to white. Keep the background and
    other details the same.", image guidance 2.5, seed 1337) at 100 text
    guidance scales from 1.01 to 15.0, and published the result as an H.264
    animation. The frames are decoded and cropped to the photo (308 rows x 306
    columns); the video compression makes them differ slightly from the edits
    the authors measured. Frames keep this size; the models' preprocessing
    resizes to 128 x 128.

    Parameters
    ----------
    include_original : bool, optional
        Put the unedited photo first (as the authors do), at grid value 1.0.
    crop : tuple of int, optional
        ``(top, bottom, left, right)`` inclusive crop of each 400 x 400 frame;
        defaults to :data:`AUTHORS_DOG_CROP`.
    download : bool, optional
        Allow downloading the photo and the authors' notebook (the video is
        extracted from it) if they are not found locally.

    Returns
    -------
    Sweep
        101 images (or 100 without the original); grid = text guidance scale.
        The paper's measure treats the sweep as unit-spaced steps and ignores
        these grid values (recorded in ``metadata["spacing"]``).
    """
    video = fetch_asset("cvd/ip2p-dog_002-sweep", download=download)
    frames = frames_from_video(video, crop=crop)
    if len(frames) != len(AUTHORS_DOG_SCALES):
        raise ValueError(
            f"{video}: expected {len(AUTHORS_DOG_SCALES)} frames, decoded {len(frames)}"
        )
    metadata = {
        "source": "authors' published InstructPix2Pix sweep (cvd/ip2p-dog_002-sweep, H.264)",
        "source_image": "cvd/dog_002",
        "editing_model": "timbrooks/instruct-pix2pix (fp16)",
        "instruction": AUTHORS_DOG_INSTRUCTION,
        "text_guidance_scales": [float(s) for s in AUTHORS_DOG_SCALES],
        "image_guidance_scale": 2.5,
        "seed": 1337,
        "crop_rows_cols_inclusive": [int(v) for v in crop],
        "includes_original": include_original,
        "spacing": "the paper treats consecutive images as unit steps; the grid is informative",
        "compressed": True,
    }
    sweep = Sweep(frames, AUTHORS_DOG_SCALES, "text guidance scale", metadata)
    if include_original:
        with Image.open(fetch_asset("cvd/dog_002", download=download)) as photo:
            sweep = sweep.prepend(photo.convert("RGB"), grid_value=1.0)
    return sweep
