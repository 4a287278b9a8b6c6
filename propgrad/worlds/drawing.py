"""Drawing primitives shared by the procedural worlds.

The toy worlds draw smooth shapes with signed distances and anti-aliased
coverage, and texture them with value noise; images stay floats in [0, 1]
until :func:`to_uint8`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def value_noise(rng: np.random.Generator, cells: int, size: int) -> np.ndarray:
    """Smooth noise in [-1, 1]: a random lattice, upsampled with smoothstep weights.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the ``(cells + 1) x (cells + 1)`` lattice values.
    cells : int
        Lattice cells per side (more cells: finer noise).
    size : int
        Width and height of the result in pixels.

    Returns
    -------
    ndarray
        Float array of shape (size, size).
    """
    lattice = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    t = ((np.arange(size) + 0.5) / size * cells).astype(np.float32)
    i0 = np.minimum(t.astype(int), cells - 1)
    f = t - i0
    f = f * f * (3.0 - 2.0 * f)  # smoothstep: softer cell borders than linear weights
    rows = lattice[i0] * (1.0 - f)[:, None] + lattice[i0 + 1] * f[:, None]
    return rows[:, i0] * (1.0 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def sd_ellipse(u: np.ndarray, v: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse centred at the origin.

    Parameters
    ----------
    u, v : ndarray
        Coordinates relative to the centre, in the ellipse's axes.
    a, b : float or ndarray
        Semi-axes along ``u`` and ``v`` (arrays broadcast with ``u``).

    Returns
    -------
    ndarray
        Negative inside, zero on the outline, positive outside; exact on the
        outline and near it for round ellipses.
    """
    return (np.sqrt((u / a) ** 2 + (v / b) ** 2) - 1.0) * np.minimum(a, b).astype(np.float32)


def coverage(sdf: np.ndarray, pixels_per_unit: Any) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance (a one-pixel ramp).

    Parameters
    ----------
    sdf : ndarray
        Signed distance in image units (negative inside).
    pixels_per_unit : float or ndarray
        Pixels per image unit, so that the ramp is one pixel wide.

    Returns
    -------
    ndarray
        1 well inside, 0 well outside, 0.5 on the outline.
    """
    return np.clip(np.float32(0.5) - sdf * pixels_per_unit, 0.0, 1.0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Round a [0, 1] float image to uint8."""
    return np.round(image * 255.0).astype(np.uint8)


def validate_unit(name: str, value: Any) -> float:
    """``value`` as a float, or a ``ValueError`` naming ``name`` if it is not in [0, 1]."""
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value
