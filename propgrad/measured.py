"""A measured property axis: how much of the property each frame of a sweep shows.

A generative sweep is indexed by the editor's guidance scale, not by the
property: an editor can change fur colour little at low scales and all at once
at some onset (the paper's Fig. 14 and Table 6 show how onsets differ between
images). E[|∇X|] per step then mixes how the model reacts with how the editor
moves the property. :func:`measure_property` measures the property in every
frame instead (here: the mean luminance of the region the edit changes, or of
a mask the user gives), and :func:`gradient_per_unit` re-expresses the score
per unit of that measured value.

The measured values serve as the grid of the finite differences (Fornberg
weights handle any spacing). A grid must be strictly monotone: when the
measured axis decreases along the sweep its sign is flipped (``|dF/dm|`` does
not depend on the direction); when it is **not monotone** (the edit
overshoots, or the measurement is noisy), the frames are not in the
property's order, so no derivative along the property exists in the sweep's
order. :func:`gradient_per_unit` then sorts the frames by the measured value
(averaging frames that measure the same) and takes the derivative along the
sorted axis, and says so with a warning: the result describes the outputs
against the property, no longer along the intervention's own order, and
noise in the measurement reorders frames.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from propgrad.measure import expected_property_gradient

__all__ = ["MeasuredProperty", "gradient_per_unit", "measure_property"]

#: Luminance weights of sRGB channels (ITU-R BT.601), for images in [0, 1].
LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class MeasuredProperty:
    """Per-frame values of a property measured from a sweep's frames.

    Attributes
    ----------
    values : ndarray
        One value per frame, in sweep order.
    mask : ndarray
        The (H, W) weights of the region measured, in [0, 1].
    monotone : bool
        Whether ``values`` change strictly monotonically along the sweep.
    direction : int
        +1 if the values grow from the first to the last frame, -1 if they fall.
    """

    values: np.ndarray
    mask: np.ndarray
    monotone: bool
    direction: int

    def __len__(self) -> int:
        return len(self.values)


def _frames(sweep: Any) -> np.ndarray:
    """The frames as floats in [0, 1], (N, H, W, 3), all at the size of the last frame."""
    if isinstance(sweep, np.ndarray):
        frames = sweep
    else:
        from PIL import Image

        pictures = [np.asarray(f) for f in sweep]
        height, width = pictures[-1].shape[:2]
        frames = np.stack(
            [
                f
                if f.shape[:2] == (height, width)
                else np.asarray(Image.fromarray(f).resize((width, height), Image.BILINEAR))
                for f in pictures
            ]
        )
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"a sweep's frames must be (N, H, W, 3), got shape {frames.shape}")
    if len(frames) < 2:
        raise ValueError(f"a measured axis needs at least 2 frames, got {len(frames)}")
    return frames.astype(float) / 255.0 if frames.dtype == np.uint8 else frames.astype(float)


def measure_property(sweep: Any, mask: Any = None, *, quantile: float = 0.9) -> MeasuredProperty:
    """Measure the mean luminance of the region a sweep changes, frame by frame.

    Parameters
    ----------
    sweep : Sweep, sequence of images or ndarray
        The frames in sweep order (uint8 or floats in [0, 1]). Frames of
        another size than the last one (e.g. an original photo put in front
        of an editor's outputs) are resized to it (bilinear).
    mask : array_like, shape (H, W), optional
        Where to measure (booleans or weights in [0, 1]), e.g. the fur of an
        animal. By default, the pixels whose luminance changes most between
        the first and the last frame: those above the ``quantile`` of that
        change (the edited region, found from the sweep itself).
    quantile : float, optional
        With the default mask, the share of pixels left out (0.9: the 10 %
        that change most).

    Returns
    -------
    MeasuredProperty

    Raises
    ------
    ValueError
        For frames of the wrong shape, a mask of another size or without
        weight, a quantile outside (0, 1), or a sweep whose frames do not
        change at all (no region to measure).
    """
    frames = _frames(sweep)
    luminance = frames @ LUMA
    if mask is None:
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
        change = np.abs(luminance[-1] - luminance[0])
        if not change.max() > 0:
            raise ValueError("the first and the last frame are identical: no region to measure")
        weights = (change >= np.quantile(change, quantile)).astype(float)
    else:
        weights = np.asarray(mask, dtype=float)
        if weights.shape != luminance.shape[1:]:
            raise ValueError(
                f"the mask has shape {weights.shape}, the frames {luminance.shape[1:]}"
            )
        if not np.isfinite(weights).all() or weights.min() < 0 or not weights.sum() > 0:
            raise ValueError("the mask must hold non-negative weights, not all zero")
    values = (luminance * weights).sum(axis=(1, 2)) / weights.sum()
    steps = np.diff(values)
    monotone = bool((steps > 0).all() or (steps < 0).all())
    direction = 1 if values[-1] >= values[0] else -1
    return MeasuredProperty(values, weights, monotone, direction)


def gradient_per_unit(outputs: Any, measured: Any, **options: Any) -> Any:
    """E[|∇X|] per unit of a measured property instead of per step.

    Parameters
    ----------
    outputs : array_like, shape (N,) or (N, C)
        Model outputs along the sweep.
    measured : MeasuredProperty or array_like, shape (N,)
        The property's value in every frame.
    **options
        For :func:`propgrad.measure.expected_property_gradient` (``accuracy``,
        ``edge_order``; not ``grid``).

    Returns
    -------
    float or ndarray
        The mean absolute derivative of the outputs with respect to the
        measured property, over the frames.

    Raises
    ------
    ValueError
        If the lengths differ, the measured values are not finite, or they
        do not vary.

    Warns
    -----
    UserWarning
        When the measured axis is not monotone along the sweep: the frames are
        then sorted by the measured value (equal values averaged) before
        differentiating, so the score no longer follows the sweep's order.

    Examples
    --------
    >>> x = np.linspace(0.0, 1.0, 11)
    >>> round(gradient_per_unit(0.3 * x, x), 12)
    0.3
    """
    values = np.asarray(getattr(measured, "values", measured), dtype=float)
    f = np.asarray(outputs, dtype=float)
    if values.ndim != 1 or len(values) != len(f):
        raise ValueError(
            f"need one measured value per frame: {len(values)} values, {len(f)} frames"
        )
    if not np.isfinite(values).all():
        raise ValueError("the measured values must be finite")
    if np.ptp(values) == 0:
        raise ValueError("the measured property does not change along the sweep")
    if "grid" in options:
        raise ValueError("gradient_per_unit takes the grid from the measured values")
    steps = np.diff(values)
    if (steps > 0).all():
        return expected_property_gradient(f, grid=values, **options)
    if (steps < 0).all():
        return expected_property_gradient(f, grid=-values, **options)
    warnings.warn(
        "the measured property is not monotone along the sweep: the frames are sorted by "
        "the measured value (equal values averaged) before differentiating",
        stacklevel=2,
    )
    grid, inverse = np.unique(values, return_inverse=True)
    counts = np.bincount(inverse)
    merged = np.zeros((len(grid),) + f.shape[1:])
    np.add.at(merged, inverse, f)
    merged /= counts.reshape((-1,) + (1,) * (f.ndim - 1))
    return expected_property_gradient(merged, grid=grid, **options)
