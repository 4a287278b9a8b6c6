r"""Designed image operations as gradual interventions.

Where an editing model fails at an edit (the paper's background edits with
InstructPix2Pix changed the animal too), a hand-designed image operation can
stand in, provided it changes the property of interest and little else.

Background brightness (appendix B.3 of the paper)
-------------------------------------------------
The subject is assumed to sit in the middle of the photo. A Gaussian bump
centred on the image, rescaled so that its peak is exactly 1,

.. math::

    K(y, x) = \exp\Big(-\tfrac{(y - c_y)^2}{2 (\sigma H)^2}
                         -\tfrac{(x - c_x)^2}{2 (\sigma W)^2}\Big)
              \Big/ \max K,

gives every pixel a weight ``w = 1 - K``: 0 in the middle, close to 1 at the
borders. One step of strength ``s`` multiplies each pixel (all three channels
alike) by ``1 + s * w`` and clips to [0, 255]:

.. math::

    I_s(y, x) = \operatorname{clip}\big(I(y, x) \, (1 + s \, w(y, x)), 0, 255\big).

``s < 0`` darkens towards the borders (``s = -1`` leaves only ``I * K``),
``s > 0`` brightens them, ``s = 0`` returns the photo. ``sigma`` is a fraction
of the image height and width: with the default 0.3 a pixel at the middle of an
edge gets weight 0.75, one halfway between centre and edge 0.29, so the
subject is changed less than the background but not left untouched.

Alpha blending
--------------
:func:`alpha_blend_sweep` blends an overlay (a coloured patch, a ruler) into
an image inside a mask with a growing weight ``alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from propgrad.sweep import Sweep

BACKGROUND_FORMULA = "I_s = clip(I * (1 + s * (1 - K)), 0, 255), K = centred Gaussian, max K = 1"


def _to_array(image: Any, name: str) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"{name} must be a PIL image or an (H, W, 3) array, got {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"{name} array must be uint8, got {array.dtype}")
    return array


def _validate_sigma(sigma: float) -> float:
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive fraction of the image size, got {sigma}")
    return sigma


def gaussian_center_kernel(height: int, width: int, sigma: float = 0.3) -> np.ndarray:
    """Return a centred Gaussian bump whose largest value is exactly 1.

    Parameters
    ----------
    height, width : int
        Size of the kernel in pixels.
    sigma : float, optional
        Standard deviation as a fraction of the height (vertically) and of the
        width (horizontally).

    Returns
    -------
    ndarray
        float64 array of shape (height, width), in (0, 1], equal to 1 at the
        pixel(s) nearest the centre.
    """
    if height < 1 or width < 1:
        raise ValueError(f"kernel size must be positive, got {height} x {width}")
    sigma = _validate_sigma(sigma)
    y = (np.arange(height) - (height - 1) / 2.0) / (sigma * height)
    x = (np.arange(width) - (width - 1) / 2.0) / (sigma * width)
    kernel = np.exp(-0.5 * y[:, None] ** 2) * np.exp(-0.5 * x[None, :] ** 2)
    return kernel / kernel.max()


def scale_background(image: Any, s: float, *, sigma: float = 0.3) -> Image.Image:
    """Brighten (``s > 0``) or darken (``s < 0``) an image towards its borders.

    Parameters
    ----------
    image : PIL.Image.Image or ndarray
        RGB image (uint8 array of shape (H, W, 3) or any PIL image).
    s : float
        Strength, at least -1. Each pixel is multiplied by ``1 + s * (1 - K)``
        with ``K`` from :func:`gaussian_center_kernel`, then clipped to
        [0, 255] and rounded.
    sigma : float, optional
        Kernel width as a fraction of the image size.

    Returns
    -------
    PIL.Image.Image
        The intervened RGB image, same size as the input.
    """
    array = _to_array(image, "image")
    s = float(s)
    if not np.isfinite(s) or s < -1.0:
        raise ValueError(f"strength s must be finite and at least -1 (black borders), got {s}")
    weight = 1.0 - gaussian_center_kernel(*array.shape[:2], sigma=sigma)
    factor = 1.0 + s * weight
    scaled = np.clip(np.rint(array * factor[:, :, None]), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="RGB")


def background_sweep(
    image: Any,
    n_steps: int = 100,
    strength: tuple[float, float] = (-0.8, 0.8),
    *,
    sigma: float = 0.3,
    size: tuple[int, int] | None = None,
) -> Sweep:
    """Sweep the background brightness of a photo with a centred Gaussian kernel.

    The designed intervention of the paper's appendix B.3: pixels are scaled
    multiplicatively, the more the farther they are from the centre (formula
    in the module docstring), from darker to brighter borders.

    Parameters
    ----------
    image : PIL.Image.Image or ndarray
        The photo, subject roughly centred.
    n_steps : int, optional
        Number of images (at least 2); 100 matches the paper's editing sweeps.
    strength : tuple of float, optional
        ``(s_min, s_max)`` with ``-1 <= s_min < s_max``; the grid runs linearly
        between them. The default scales the corners (weight 0.94 with
        ``sigma = 0.3``) by factors from 0.25 to 1.75, the middle of each edge
        (weight 0.75) from 0.4 to 1.6.
    sigma : float, optional
        Kernel width as a fraction of the image size.
    size : tuple of int, optional
        ``(width, height)`` to resize the photo to first (bilinear), e.g.
        ``(128, 128)`` for the Cats-vs-Dogs models; by default its own size.

    Returns
    -------
    Sweep
        ``n_steps`` images; grid = the strengths ``s``, grid name
        "background scaling". When the range contains 0 the unchanged photo
        is not necessarily one of the steps.
    """
    if int(n_steps) != n_steps or n_steps < 2:
        raise ValueError(f"n_steps must be an integer of at least 2, got {n_steps}")
    s_min, s_max = (float(v) for v in strength)
    if not (np.isfinite(s_min) and np.isfinite(s_max)) or not -1.0 <= s_min < s_max:
        raise ValueError(
            f"strength must be (s_min, s_max) with -1 <= s_min < s_max, got {strength}"
        )
    sigma = _validate_sigma(sigma)
    photo = Image.fromarray(_to_array(image, "image"))
    if size is not None:
        photo = photo.resize(tuple(size), Image.BILINEAR)
    grid = np.linspace(s_min, s_max, int(n_steps))
    images = [scale_background(photo, s, sigma=sigma) for s in grid]
    metadata = {
        "intervention": "background brightness, centred Gaussian kernel (appendix B.3)",
        "formula": BACKGROUND_FORMULA,
        "strength": [s_min, s_max],
        "n_steps": int(n_steps),
        "sigma": sigma,
        "image_size": list(photo.size),
    }
    return Sweep(images, grid, "background scaling", metadata)


def _mask_array(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    if isinstance(mask, Image.Image):
        array = np.asarray(mask.convert("L"), dtype=float) / 255.0
    else:
        array = np.asarray(mask)
        if array.dtype == np.uint8:
            array = array.astype(float) / 255.0
        else:
            array = array.astype(float)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.shape != shape:
        raise ValueError(f"the mask has shape {array.shape}, the image {shape}")
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise ValueError("mask values must lie in [0, 1] (bool, float, or uint8 0..255)")
    return array


def alpha_blend_sweep(
    image: Any,
    overlay: Any,
    mask: Any,
    alphas: Sequence[float] = tuple(np.linspace(0.0, 1.0, 11)),
) -> Sweep:
    """Blend an overlay into an image inside a mask with growing weight.

    Each step is ``(1 - alpha * m) * image + alpha * m * overlay``, rounded to
    uint8, where ``m`` is the mask (1 inside, 0 outside; soft masks allowed).
    ``alpha = 0`` gives the image, ``alpha = 1`` the overlay inside the mask.

    Parameters
    ----------
    image : PIL.Image.Image or ndarray
        The base RGB image.
    overlay : PIL.Image.Image or ndarray
        What to blend in (e.g. a coloured patch), same size as ``image``.
    mask : PIL.Image.Image or ndarray
        Where to blend: shape (H, W), bool, floats in [0, 1], or uint8
        0..255 (a PIL image is converted to greyscale).
    alphas : sequence of float, optional
        Strictly increasing weights in [0, 1]; they become the grid.

    Returns
    -------
    Sweep
        One image per alpha; grid name "alpha".
    """
    base = _to_array(image, "image").astype(float)
    top = _to_array(overlay, "overlay").astype(float)
    if base.shape != top.shape:
        raise ValueError(f"the overlay has shape {top.shape}, the image {base.shape}")
    weight = _mask_array(mask, base.shape[:2])[:, :, None]
    grid = np.asarray(alphas, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError("alphas must be a non-empty 1-D sequence of finite numbers")
    if grid.min() < 0 or grid.max() > 1:
        raise ValueError(f"alphas must lie in [0, 1], got {grid.min():g}..{grid.max():g}")
    images = [
        np.clip(np.rint(base + a * weight * (top - base)), 0, 255).astype(np.uint8) for a in grid
    ]
    metadata = {
        "intervention": "alpha blend of an overlay inside a mask",
        "formula": "(1 - alpha * m) * image + alpha * m * overlay",
        "mask_fraction": float(weight.mean()),
    }
    return Sweep(images, grid, "alpha", metadata)
