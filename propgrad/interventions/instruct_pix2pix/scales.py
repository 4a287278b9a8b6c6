"""Guidance scales: the paper's text-scale grid and the checks every sweep applies.

The diffusers InstructPix2Pix pipeline switches classifier-free guidance off
when ``guidance_scale <= 1`` or ``image_guidance_scale < 1``; the batched loop
in :mod:`~propgrad.interventions.instruct_pix2pix.denoise` applies the
three-branch formula at every scale, so such scales are refused unless the
caller opts in (``allow_low_scales=True``), and then a warning says that the
frames differ from a pipeline call.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["paper_text_scales"]

# the warnings below start with these words; the sweep filters them after validating once
LOW_SCALE_WARNING = r"(text scales <= 1|image_scale \S+ < 1)"


def paper_text_scales(start: float = 1.05, stop: float = 14.7, step: float = 0.15) -> np.ndarray:
    """Return the paper's CFG text scales: ``start, start + step, ..., stop``.

    The paper's fur-colour sweeps (appendix B.3) use text scales from 1.05 to
    14.7 in steps of 0.15 (92 values) with an image scale of 2.0; other
    experiments stop earlier (e.g. 9.75 with image scale 2.5).

    Parameters
    ----------
    start : float, optional
        First scale (default 1.05).
    stop : float, optional
        Last scale, included (default 14.7). ``stop - start`` must be a whole
        multiple of ``step`` (up to rounding).
    step : float, optional
        Spacing (default 0.15).

    Returns
    -------
    ndarray
        The scales, rounded to 10 decimals so that they print cleanly.

    Raises
    ------
    ValueError
        If ``step`` is not positive, ``stop < start``, or the range is not a
        whole number of steps.

    Examples
    --------
    >>> scales = paper_text_scales()
    >>> len(scales), float(scales[0]), float(scales[-1])
    (92, 1.05, 14.7)
    """
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    if stop < start:
        raise ValueError(f"stop ({stop}) must not be below start ({start})")
    count = (stop - start) / step
    n = int(round(count))
    if abs(count - n) > 1e-6:
        raise ValueError(
            f"the range {start}..{stop} is not a whole number of steps of {step} "
            f"({count:.4f} steps)"
        )
    return np.round(start + step * np.arange(n + 1), 10)


def validate_text_scales(
    text_scales: Sequence[float],
    *,
    min_count: int,
    allow_low_scales: bool,
    stacklevel: int = 3,
) -> np.ndarray:
    """Check text scales: 1-D, finite, strictly increasing, above 1 unless allowed.

    Parameters
    ----------
    text_scales : sequence of float
        The scales to check.
    min_count : int
        The fewest scales accepted (2 for a sweep, 1 for frames).
    allow_low_scales : bool
        Accept scales <= 1 with a warning instead of raising.
    stacklevel : int, optional
        Passed to :func:`warnings.warn`.

    Returns
    -------
    ndarray
        The scales as float64.

    Raises
    ------
    ValueError
        If any of the checks fails.
    """
    scales = np.asarray(text_scales, dtype=float)
    if scales.ndim != 1:
        raise ValueError(f"text_scales must be a 1-D sequence, got shape {scales.shape}")
    if scales.size < min_count:
        raise ValueError(
            f"a sweep needs at least {min_count} text scales, got {scales.size}"
            + (" (use paper_text_scales() for the paper's grid)" if min_count > 1 else "")
        )
    if not np.all(np.isfinite(scales)):
        raise ValueError("text_scales contain NaN or inf")
    if scales.size > 1 and not np.all(np.diff(scales) > 0):
        bad = int(np.argmin(np.diff(scales) > 0))
        raise ValueError(
            "text_scales must be strictly increasing; "
            f"value {bad + 1} ({scales[bad + 1]:g}) does not exceed value {bad} ({scales[bad]:g})"
        )
    low = scales[scales <= 1.0]
    if low.size:
        message = (
            f"text scales <= 1 ({', '.join(f'{v:g}' for v in low[:5])}"
            f"{', ...' if low.size > 5 else ''}): the diffusers InstructPix2Pix pipeline "
            "switches guidance off for guidance_scale <= 1 and uses the text-and-image "
            "prediction alone, whereas this sweep applies the three-branch CFG formula "
            "(Eq. 3) at every scale, so these frames differ from a pipeline call"
        )
        if not allow_low_scales:
            raise ValueError(
                message + ". Pass allow_low_scales=True to extrapolate the formula below 1 "
                "anyway (text scale 0 is the image-guided reconstruction without the edit)."
            )
        warnings.warn(message + " (allow_low_scales=True).", UserWarning, stacklevel=stacklevel)
    return scales


def validate_image_scale(
    image_scale: float, *, allow_low_scales: bool, stacklevel: int = 3
) -> float:
    """Check one image scale: finite, at least 1 unless allowed.

    Parameters
    ----------
    image_scale : float
        The CFG image scale.
    allow_low_scales : bool
        Accept a scale below 1 with a warning instead of raising.
    stacklevel : int, optional
        Passed to :func:`warnings.warn`.

    Returns
    -------
    float
        The scale.

    Raises
    ------
    ValueError
        If the scale is not finite, or below 1 and not allowed.
    """
    value = float(image_scale)
    if not np.isfinite(value):
        raise ValueError(f"image_scale must be finite, got {image_scale}")
    if value < 1.0:
        message = (
            f"image_scale {value:g} < 1: the diffusers InstructPix2Pix pipeline switches "
            "guidance off for image_guidance_scale < 1, whereas this sweep applies the "
            "three-branch CFG formula, so the frames differ from a pipeline call"
        )
        if not allow_low_scales:
            raise ValueError(message + ". Pass allow_low_scales=True to use the formula anyway.")
        warnings.warn(message + " (allow_low_scales=True).", UserWarning, stacklevel=stacklevel)
    return value


def validate_image_scales(image_scales: Sequence[float]) -> np.ndarray:
    """Check the image scales of a grid: non-empty, 1-D, finite, strictly increasing.

    Parameters
    ----------
    image_scales : sequence of float
        The image scales (each is checked again by its sweep).

    Returns
    -------
    ndarray
        The scales as float64.

    Raises
    ------
    ValueError
        If any of the checks fails.
    """
    values = np.asarray(image_scales, dtype=float)
    if values.ndim != 1 or values.size < 1:
        raise ValueError("image_scales must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(values)):
        raise ValueError("image_scales contain NaN or inf")
    if values.size > 1 and not np.all(np.diff(values) > 0):
        raise ValueError(f"image_scales must be strictly increasing, got {values.tolist()}")
    return values
