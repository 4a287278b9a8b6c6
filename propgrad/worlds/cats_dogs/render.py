"""Rendering: signed-distance masks on numpy coordinate grids, no per-pixel loops.

Texture and noise are drawn from the sample's own seed in a fixed order before
any property is used, so changing one property (fur tone or background) leaves
every other pixel bit-identical: that is what makes an intervention exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from propgrad.worlds.cats_dogs.params import _FUR_DARK, _FUR_LIGHT, _IRIS, _NOSE, CatDogParams
from propgrad.worlds.drawing import coverage as _coverage
from propgrad.worlds.drawing import sd_ellipse as _sd_ellipse
from propgrad.worlds.drawing import value_noise as _value_noise


def _sd_triangle(px: np.ndarray, py: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Exact signed distance to a triangle with vertices ``pts`` (3, 2)."""
    pts = np.asarray(pts, dtype=np.float32)
    best = None
    crosses = []
    for i in range(3):
        ax, ay = pts[i]
        ex, ey = pts[(i + 1) % 3] - pts[i]
        wx, wy = px - ax, py - ay
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        dx, dy = wx - ex * t, wy - ey * t
        d2 = dx * dx + dy * dy
        best = d2 if best is None else np.minimum(best, d2)
        crosses.append(wx * ey - wy * ex)
    positive = (crosses[0] >= 0) & (crosses[1] >= 0) & (crosses[2] >= 0)
    negative = (crosses[0] <= 0) & (crosses[1] <= 0) & (crosses[2] <= 0)
    inside = positive | negative
    return np.where(inside, -1.0, 1.0) * np.sqrt(best)


def _smoothstep(lo: float, hi: float, x: float) -> float:
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


# ----------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------


@dataclass
class _Layers:
    """Intermediate render products (float RGB in [0, 1] and masks)."""

    animal_mask: np.ndarray
    animal_rgb: np.ndarray
    background_rgb: np.ndarray
    noise: np.ndarray


def _render_layers(p: CatDogParams, size: int) -> _Layers:
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    rng = np.random.default_rng(p.seed)
    # texture and noise draws come first and in a fixed order, so they do not
    # depend on the property values
    fur_noise = 0.6 * _value_noise(rng, 6, size) + 0.4 * _value_noise(rng, 14, size)
    bg_noise = _value_noise(rng, 4, size)
    pix_noise = rng.standard_normal((size, size, 3), dtype=np.float32) * np.float32(p.pixel_noise)

    coords = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
    y, x = np.meshgrid(coords, coords, indexing="ij")
    radius = p.scale
    ppu = radius * size / 2.0  # pixels per head-radius unit
    c, s = math.cos(p.angle), math.sin(p.angle)
    dx, dy = x - p.cx, y - p.cy
    u = (c * dx + s * dy) / radius
    v = (-s * dx + c * dy) / radius

    # head: round (cat-like) to elongated (dog-like)
    a_head = 1.0 - 0.06 * p.head
    b_head = 0.90 + 0.32 * p.head
    sd_head = _sd_ellipse(u, v, a_head, b_head)

    # ears, mirrored: evaluate on |u| so one shape gives both ears
    uu = np.abs(u)
    w_ear = _smoothstep(0.25, 0.75, p.ear)
    phi = p.ear_spread
    length = 0.75 * p.ear_size

    def on_outline(theta: float) -> np.ndarray:
        return np.array([a_head * math.sin(theta), -b_head * math.cos(theta)])

    base_in, base_out = on_outline(phi - 0.38), on_outline(phi + 0.30)
    mid = on_outline(phi)
    tip_dir = np.array([math.sin(phi - 0.2), -math.cos(phi - 0.2)])
    apex = mid + tip_dir * length
    sd_pointed = _sd_triangle(uu, v, np.stack([base_in, base_out, apex]))
    # floppy ear: an ellipse hanging from the attachment point, tilted outwards
    attach = on_outline(phi + 0.25)
    centre = attach + np.array([0.12, 0.55 * length])
    tilt = -0.35
    ct, st = math.cos(tilt), math.sin(tilt)
    eu, ev = uu - np.float32(centre[0]), v - np.float32(centre[1])
    ru, rv = ct * eu + st * ev, -st * eu + ct * ev
    sd_floppy = _sd_ellipse(ru, rv, 0.28 * p.ear_size, 0.62 * length)
    sd_ear = (1.0 - w_ear) * sd_pointed + w_ear * sd_floppy

    # muzzle: from below the eyes down to a chin line that moves out with ``snout``
    top = 0.12
    bottom = 0.72 * b_head + 0.75 * p.snout
    half_h = (bottom - top) / 2.0
    sd_muzzle = _sd_ellipse(u, v - (top + half_h), 0.40 + 0.05 * p.snout, half_h)

    sd_animal = np.minimum(np.minimum(sd_head, sd_ear), sd_muzzle)
    m_animal = _coverage(sd_animal, ppu)
    m_ear_only = _coverage(sd_ear, ppu) * (1.0 - _coverage(sd_head, ppu))
    m_muzzle = _coverage(sd_muzzle, ppu)

    # fur colour: tone sets the base, hue/texture/stripes/shading modulate it
    fur = _FUR_DARK + p.fur_tone * (_FUR_LIGHT - _FUR_DARK)
    hue = np.array([1.0, 0.0, -1.0], dtype=np.float32)
    fur = np.clip(fur * (1.0 + 0.06 * p.fur_hue * hue), 0.0, 1.0)
    sc, ss = math.cos(p.stripe_angle), math.sin(p.stripe_angle)
    stripe_wave = 0.5 + 0.5 * np.sin(2.0 * math.pi * p.stripe_freq * (sc * u + ss * v))
    texture = 1.0 + 0.14 * fur_noise - p.stripes * stripe_wave**2
    texture = texture * (1.0 - 0.18 * m_ear_only)
    animal = fur[None, None, :] * texture[..., None]
    muzzle_rgb = animal + 0.18 * (1.0 - animal)
    animal = animal + m_muzzle[..., None] * (muzzle_rgb - animal)

    # eyes (iris + pupil, mirrored like the ears) and nose, painted over the fur
    m_eye = _coverage(_sd_ellipse(uu - p.eye_dx, v - p.eye_dy, p.eye_r, p.eye_r * 0.85), ppu)
    animal = animal + m_eye[..., None] * (_IRIS[p.iris] - animal)
    sd_pupil = _sd_ellipse(uu - p.eye_dx, v - p.eye_dy, 0.45 * p.eye_r, 0.6 * p.eye_r)
    m_pupil = _coverage(sd_pupil, ppu)[..., None]
    animal = animal + m_pupil * (0.03 - animal)
    sd_nose = _sd_ellipse(u, v - (bottom - 0.14), 0.13, 0.08)
    m_nose = _coverage(sd_nose, ppu)[..., None]
    animal = animal + m_nose * (_NOSE[p.nose] - animal)

    # background: brightness level, tint, linear gradient and soft noise
    level = 0.06 + 0.88 * p.background
    gc, gs = math.cos(p.bg_gradient_angle), math.sin(p.bg_gradient_angle)
    shade = level * (1.0 + p.bg_gradient * (gc * x + gs * y)) + 0.05 * bg_noise
    background = shade[..., None] * np.asarray(p.bg_tint, dtype=np.float32)[None, None, :]

    return _Layers(m_animal, np.clip(animal, 0.0, 1.0), np.clip(background, 0.0, 1.0), pix_noise)


def render(params: CatDogParams, size: int = 64) -> np.ndarray:
    """Render one image.

    Parameters
    ----------
    params : CatDogParams
        The sample to draw.
    size : int, optional
        Width and height in pixels (any size of at least 8).

    Returns
    -------
    ndarray
        uint8 image of shape (size, size, 3). The same parameters always give
        the same image.
    """
    layers = _render_layers(params, int(size))
    m = layers.animal_mask[..., None]
    image = m * layers.animal_rgb + (1.0 - m) * layers.background_rgb + layers.noise
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def animal_mask(params: CatDogParams, size: int = 64) -> np.ndarray:
    """Return the animal's coverage mask.

    Parameters
    ----------
    params : CatDogParams
        The sample.
    size : int, optional
        Width and height in pixels.

    Returns
    -------
    ndarray
        float64 array (size, size) in [0, 1]: 1 on pixels fully covered by the
        animal, 0 on pure background pixels, in between on the outline.
    """
    return _render_layers(params, int(size)).animal_mask


def render_batch(
    params: Sequence[CatDogParams], size: int = 64, *, progress: bool = False
) -> np.ndarray:
    """Render many images into one array.

    Parameters
    ----------
    params : sequence of CatDogParams
        The samples.
    size : int, optional
        Width and height in pixels.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    ndarray
        uint8 array of shape (N, size, size, 3).
    """
    out = np.empty((len(params), size, size, 3), dtype=np.uint8)
    items: Iterable[tuple[int, CatDogParams]] = enumerate(params)
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, total=len(params), desc="render", unit="img")
    for i, p in items:
        out[i] = render(p, size)
    return out
