"""A procedural Cats-vs-Dogs world with fur tone and background as free properties.

Every image is a cartoon animal head on a background, rendered from a
:class:`CatDogParams` record with numpy coordinate grids and signed-distance
masks (no per-pixel Python loops):

* **Shape carries the label.** Cats tend to have upright, pointed triangular
  ears, a round head and a short muzzle; dogs tend to have floppy ears hanging
  beside the head, a longer head and a muzzle that sticks out below the chin.
  Each of the three traits is a continuous "dogness" value in [0, 1] whose
  class-conditional ranges overlap (``shape_overlap``), so no single trait,
  and no single pixel, gives the label away.
* **Fur tone** (0 = dark, 1 = light) sets the base colour of every animal pixel;
  fur noise, stripes, ear shading and the lighter muzzle are applied on top of
  it, so the texture survives a change of tone.
* **Background brightness** (0 = dark, 1 = bright) sets the level of a tinted
  background with a gradient and low-frequency noise.
* Pose, position, size, rotation, eye placement and colour, stripes and all
  noise are nuisance variation drawn per sample.

Because an image is a pure function of its parameters, :func:`intervene`
implements an exact intervention ``do(X := x)``: it re-renders one sample with
only the fur tone (or only the background) changed. A fur-tone intervention
leaves every pixel outside the animal bit-identical, a background intervention
every pixel fully inside it.

:func:`make_split` builds training and test sets shaped like the paper's three
Cats vs. Dogs splits (its Table 4, scaled down): an unbiased split, a
"dark-cats" split (dark cats, light dogs) and a "dark-dogs" split (the
reverse). Background brightness is independent of the label in all of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from propgrad.sweep import Sweep

#: Class names by label index (the authors' convention: index 0 = cat).
CLASS_NAMES = ("cat", "dog")

#: Names of the three splits.
SPLITS = ("unbiased", "dark-cats", "dark-dogs")

#: Axis labels of the two intervenable properties.
PROPERTY_NAMES = {
    "fur_tone": "fur tone (0 = dark, 1 = light)",
    "background": "background brightness (0 = dark, 1 = bright)",
}

#: Default world settings (see :func:`sample_params` and :func:`make_split`).
WORLD_DEFAULTS: dict[str, Any] = {
    "shape_overlap": 0.3,
    "pixel_noise": 0.03,
    "dark_range": (0.0, 0.35),
    "light_range": (0.65, 1.0),
}

# Fur colours at tone 0 and tone 1 (RGB in [0, 1]): dark brown to cream.
_FUR_DARK = np.array([0.13, 0.10, 0.08], dtype=np.float32)
_FUR_LIGHT = np.array([0.97, 0.90, 0.78], dtype=np.float32)
# Iris colours (amber, green, brown, blue) and nose colours (dark, pink).
_IRIS = np.array(
    [[0.85, 0.60, 0.10], [0.35, 0.70, 0.25], [0.45, 0.28, 0.12], [0.35, 0.55, 0.85]],
    dtype=np.float32,
)
_NOSE = np.array([[0.08, 0.05, 0.05], [0.80, 0.45, 0.50]], dtype=np.float32)


@dataclass
class CatDogParams:
    """Everything needed to render one image of the Cats-vs-Dogs world.

    Lengths are in units of the head radius unless stated; positions are in
    normalised image coordinates where the image spans [-1, 1] on both axes
    (y grows downwards).

    Parameters
    ----------
    label : int
        0 = cat, 1 = dog.
    fur_tone : float
        Base fur colour, 0 = dark, 1 = light.
    background : float
        Background brightness, 0 = dark, 1 = bright.
    ear : float
        Ear "dogness" in [0, 1]: 0 = upright pointed triangle, 1 = floppy ear
        hanging beside the head.
    snout : float
        Muzzle "dogness" in [0, 1]: how far the muzzle reaches below the chin.
    head : float
        Head-shape "dogness" in [0, 1]: 0 = round, 1 = elongated.
    cx, cy : float
        Head centre in normalised image coordinates.
    scale : float
        Head radius as a fraction of the image half-width.
    angle : float
        Head rotation in radians.
    ear_size : float
        Ear length multiplier.
    ear_spread : float
        Angle (radians, from straight up) at which the ears attach.
    eye_dx, eye_dy, eye_r : float
        Horizontal eye offset, vertical eye offset and eye radius.
    iris : int
        Index of the iris colour.
    nose : int
        Index of the nose colour.
    stripes : float
        Stripe strength in [0, 1) (0 = plain fur).
    stripe_freq, stripe_angle : float
        Stripe frequency (cycles per head radius) and direction (radians).
    fur_hue : float
        Warm/cool shift of the fur colour in [-1, 1].
    bg_tint : tuple of float
        Per-channel multipliers of the background colour.
    bg_gradient : float
        Strength of the linear background gradient.
    bg_gradient_angle : float
        Direction of that gradient (radians).
    pixel_noise : float
        Standard deviation of the additive pixel noise (in [0, 1] units).
    seed : int
        Seed of the texture and pixel noise.
    """

    label: int
    fur_tone: float
    background: float
    ear: float = 0.0
    snout: float = 0.0
    head: float = 0.0
    cx: float = 0.0
    cy: float = 0.0
    scale: float = 0.36
    angle: float = 0.0
    ear_size: float = 1.0
    ear_spread: float = 0.7
    eye_dx: float = 0.38
    eye_dy: float = -0.05
    eye_r: float = 0.13
    iris: int = 0
    nose: int = 0
    stripes: float = 0.0
    stripe_freq: float = 1.0
    stripe_angle: float = 0.0
    fur_hue: float = 0.0
    bg_tint: tuple[float, float, float] = (0.94, 1.0, 1.05)
    bg_gradient: float = 0.0
    bg_gradient_angle: float = 0.0
    pixel_noise: float = 0.03
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def species(self) -> str:
        """The class name, ``"cat"`` or ``"dog"``."""
        return CLASS_NAMES[self.label]

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-serialisable dict."""
        record = asdict(self)
        record["bg_tint"] = list(record["bg_tint"])
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> CatDogParams:
        """Rebuild parameters from :meth:`to_dict` output."""
        record = dict(record)
        record["bg_tint"] = tuple(record.get("bg_tint", (0.94, 1.0, 1.05)))
        return cls(**record)


def _validate_label(label: Any) -> int:
    if isinstance(label, str):
        if label not in CLASS_NAMES:
            raise ValueError(f"species must be 'cat' or 'dog', got {label!r}")
        return CLASS_NAMES.index(label)
    if int(label) not in (0, 1):
        raise ValueError(f"label must be 0 (cat) or 1 (dog), got {label!r}")
    return int(label)


def _validate_unit(name: str, value: float) -> float:
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def sample_params(
    rng: np.random.Generator,
    label: int | str,
    fur_tone: float | None = None,
    background: float | None = None,
    *,
    shape_overlap: float = WORLD_DEFAULTS["shape_overlap"],
    pixel_noise: float = WORLD_DEFAULTS["pixel_noise"],
) -> CatDogParams:
    """Draw the parameters of one random cat or dog.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    label : int or str
        0 or ``"cat"``, 1 or ``"dog"``.
    fur_tone : float, optional
        Fur tone in [0, 1]; uniform on [0, 1] if not given.
    background : float, optional
        Background brightness in [0, 1]; uniform on [0, 1] if not given.
    shape_overlap : float, optional
        Overlap of the class-conditional shape distributions, in [0, 1]. Each
        shape trait is uniform on ``[0, (1 + o) / 2]`` for cats and on
        ``[(1 - o) / 2, 1]`` for dogs, so 0 separates the classes by every
        trait and 1 makes shape carry no information.
    pixel_noise : float, optional
        Standard deviation of the additive pixel noise.

    Returns
    -------
    CatDogParams
        The drawn parameters.

    Raises
    ------
    ValueError
        If the label, a property value or ``shape_overlap`` is out of range.
    """
    label = _validate_label(label)
    overlap = _validate_unit("shape_overlap", shape_overlap)
    fur = rng.uniform() if fur_tone is None else _validate_unit("fur_tone", fur_tone)
    bg = rng.uniform() if background is None else _validate_unit("background", background)
    lo, hi = (0.0, (1.0 + overlap) / 2.0) if label == 0 else ((1.0 - overlap) / 2.0, 1.0)
    ear, snout, head = rng.uniform(lo, hi, size=3)
    return CatDogParams(
        label=label,
        fur_tone=float(fur),
        background=float(bg),
        ear=float(ear),
        snout=float(snout),
        head=float(head),
        cx=float(rng.uniform(-0.15, 0.15)),
        cy=float(rng.uniform(-0.12, 0.08)),
        scale=float(rng.uniform(0.36, 0.46)),
        angle=float(rng.uniform(-0.4, 0.4)),
        ear_size=float(rng.uniform(0.85, 1.15)),
        ear_spread=float(rng.uniform(0.55, 0.85)),
        eye_dx=float(rng.uniform(0.30, 0.45)),
        eye_dy=float(rng.uniform(-0.20, 0.05)),
        eye_r=float(rng.uniform(0.10, 0.16)),
        iris=int(rng.integers(len(_IRIS))),
        nose=int(rng.integers(len(_NOSE))),
        stripes=float(rng.uniform(0.0, 0.3) if rng.uniform() < 0.5 else 0.0),
        stripe_freq=float(rng.uniform(1.5, 3.0)),
        stripe_angle=float(rng.uniform(0.0, math.pi)),
        fur_hue=float(rng.uniform(-1.0, 1.0)),
        bg_tint=tuple(float(v) for v in rng.uniform([0.85, 0.92, 0.95], [1.0, 1.05, 1.15])),
        bg_gradient=float(rng.uniform(-0.2, 0.2)),
        bg_gradient_angle=float(rng.uniform(0.0, 2.0 * math.pi)),
        pixel_noise=float(pixel_noise),
        seed=int(rng.integers(2**31 - 1)),
    )


# ----------------------------------------------------------------------------
# signed distances (negative inside), vectorised over coordinate grids
# ----------------------------------------------------------------------------


def _sd_ellipse(u: np.ndarray, v: np.ndarray, a: float, b: float) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse (semi-axes a, b)."""
    k = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return (k - 1.0) * min(a, b)


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


def _coverage(sdf: np.ndarray, pixels_per_unit: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance (one-pixel ramp)."""
    return np.clip(0.5 - sdf * pixels_per_unit, 0.0, 1.0)


def _value_noise(rng: np.random.Generator, cells: int, size: int) -> np.ndarray:
    """Smooth noise in [-1, 1]: a random (cells+1)^2 lattice, bilinearly upsampled."""
    lattice = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    t = ((np.arange(size) + 0.5) / size * cells).astype(np.float32)
    i0 = np.minimum(t.astype(int), cells - 1)
    f = t - i0
    f = f * f * (3.0 - 2.0 * f)  # smoothstep for softer cells
    rows = lattice[i0] * (1.0 - f)[:, None] + lattice[i0 + 1] * f[:, None]
    return rows[:, i0] * (1.0 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


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


# ----------------------------------------------------------------------------
# interventions
# ----------------------------------------------------------------------------


def intervene(
    params: CatDogParams,
    property: str,  # noqa: A002 - the natural name for the intervened property
    values: Sequence[float] | np.ndarray | int = 21,
    *,
    size: int = 64,
) -> Sweep:
    """Exact intervention ``do(X := x)`` on one sample, as a sweep.

    The sample is re-rendered once per value with only ``property`` replaced;
    shape, pose, texture and noise stay the same.

    Parameters
    ----------
    params : CatDogParams
        The sample to intervene on.
    property : {"fur_tone", "background"}
        The property to set.
    values : sequence of float or int, optional
        Strictly increasing property values in [0, 1], or a number of evenly
        spaced values from 0 to 1 (default 21).
    size : int, optional
        Image size in pixels.

    Returns
    -------
    Sweep
        The re-rendered images, ``grid`` = the property values and
        ``grid_name`` a readable axis label. ``metadata`` holds the world name,
        the property, the image size and the original parameters.

    Raises
    ------
    ValueError
        If the property is unknown or a value lies outside [0, 1].
    """
    if property not in PROPERTY_NAMES:
        raise ValueError(f"unknown property {property!r}; choose one of {sorted(PROPERTY_NAMES)}")
    if isinstance(values, (int, np.integer)):
        if values < 2:
            raise ValueError(f"need at least 2 values, got {values}")
        grid = np.linspace(0.0, 1.0, int(values))
    else:
        grid = np.asarray(values, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError("values must be a non-empty 1-D sequence")
    if np.any(grid < 0.0) or np.any(grid > 1.0):
        raise ValueError(f"{property} values must lie in [0, 1]")
    images = [render(replace(params, **{property: float(value)}), size) for value in grid]
    metadata = {
        "world": "cats_dogs",
        "property": property,
        "size": int(size),
        "label": int(params.label),
        "species": params.species,
        "original_value": float(getattr(params, property)),
        "params": params.to_dict(),
    }
    return Sweep(images, grid, PROPERTY_NAMES[property], metadata)


# ----------------------------------------------------------------------------
# biased splits
# ----------------------------------------------------------------------------


@dataclass
class CatDogSplit:
    """Training and test data of one split.

    Attributes
    ----------
    name : str
        ``"unbiased"``, ``"dark-cats"`` or ``"dark-dogs"``.
    x_train, x_test : ndarray
        uint8 images (N, H, W, 3).
    y_train, y_test : ndarray
        int64 labels (0 = cat, 1 = dog).
    params_train, params_test : list of CatDogParams
        The parameters of every image, for re-rendering and interventions.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    params_train: list[CatDogParams]
    x_test: np.ndarray
    y_test: np.ndarray
    params_test: list[CatDogParams]

    def fur_tones(self, part: str = "train") -> np.ndarray:
        """Return the fur tones of the ``"train"`` or ``"test"`` images."""
        params = self.params_train if part == "train" else self.params_test
        return np.array([p.fur_tone for p in params])


def _tone_range(name: str, label: int, world: dict[str, Any]) -> tuple[float, float]:
    if name == "unbiased":
        return 0.0, 1.0
    dark, light = tuple(world["dark_range"]), tuple(world["light_range"])
    dark_label = 0 if name == "dark-cats" else 1
    return dark if label == dark_label else light


def sample_split_params(
    name: str,
    n_per_class: int,
    rng: np.random.Generator,
    world: dict[str, Any] | None = None,
) -> list[CatDogParams]:
    """Draw parameters for one part of a split, classes interleaved.

    Parameters
    ----------
    name : {"unbiased", "dark-cats", "dark-dogs"}
        The split. "dark-cats" gives cats a fur tone in ``dark_range`` and
        dogs one in ``light_range``; "dark-dogs" the reverse; "unbiased" draws
        the tone uniformly on [0, 1] for both. Background brightness is uniform
        on [0, 1] and independent of the label in every split.
    n_per_class : int
        Number of cats and of dogs.
    rng : numpy.random.Generator
        Source of randomness.
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS`.

    Returns
    -------
    list of CatDogParams
        ``2 * n_per_class`` samples ordered cat, dog, cat, dog, ...
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
    if n_per_class < 0:
        raise ValueError(f"n_per_class must be non-negative, got {n_per_class}")
    cfg = {**WORLD_DEFAULTS, **(world or {})}
    unknown = set(cfg) - set(WORLD_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown world settings: {sorted(unknown)}")
    out = []
    for _ in range(n_per_class):
        for label in (0, 1):
            lo, hi = _tone_range(name, label, cfg)
            out.append(
                sample_params(
                    rng,
                    label,
                    fur_tone=float(rng.uniform(lo, hi)),
                    shape_overlap=cfg["shape_overlap"],
                    pixel_noise=cfg["pixel_noise"],
                )
            )
    return out


def make_split(
    name: str,
    n_train_per_class: int,
    n_test_per_class: int,
    seed: int = 0,
    *,
    size: int = 64,
    world: dict[str, Any] | None = None,
    progress: bool = False,
) -> CatDogSplit:
    """Build the training and test data of one split.

    Parameters
    ----------
    name : {"unbiased", "dark-cats", "dark-dogs"}
        The split (see :func:`sample_split_params`).
    n_train_per_class, n_test_per_class : int
        Images per class in the training and in the test part.
    seed : int, optional
        Seed; the training and test parts use independent streams of it, and
        different splits with the same seed share nothing but the seed.
    size : int, optional
        Image size in pixels.
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS` (``shape_overlap``,
        ``pixel_noise``, ``dark_range``, ``light_range``).
    progress : bool, optional
        Show tqdm progress bars while rendering.

    Returns
    -------
    CatDogSplit
        Images, labels and parameters of both parts.
    """
    split_index = SPLITS.index(name) if name in SPLITS else -1
    if split_index < 0:
        raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
    train_rng, test_rng = (np.random.default_rng([int(seed), split_index, part]) for part in (0, 1))
    params_train = sample_split_params(name, n_train_per_class, train_rng, world)
    params_test = sample_split_params(name, n_test_per_class, test_rng, world)
    return CatDogSplit(
        name=name,
        x_train=render_batch(params_train, size, progress=progress),
        y_train=np.array([p.label for p in params_train], dtype=np.int64),
        params_train=params_train,
        x_test=render_batch(params_test, size, progress=progress),
        y_test=np.array([p.label for p in params_test], dtype=np.int64),
        params_test=params_test,
    )


# ----------------------------------------------------------------------------
# presets and cached models
# ----------------------------------------------------------------------------

#: World, model and training settings of the Cats-vs-Dogs experiment by size.
#: "smoke" only checks that everything runs (seconds; accuracies are near
#: chance). "demo" reproduces the pattern of the paper's Table 5 on a CPU in
#: about two minutes per model (one torch thread): the unbiased model is
#: accurate on all three test splits, each biased model only on its own split.
#: The knobs that matter: ``shape_overlap`` (shape must stay learnable for the
#: unbiased model yet be harder than the fur-tone colour cue), the number of
#: epochs and the patch size (8 keeps an epoch at a few seconds on a CPU).
#: See ``benchmarks/calibrate_cats_dogs.py`` for the measured table.
CATS_DOGS_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "world": {
            "size": 32,
            "n_train_per_class": 150,
            "n_test_per_class": 50,
            "seed": 0,
            "shape_overlap": 0.3,
            "pixel_noise": 0.03,
            "dark_range": [0.0, 0.35],
            "light_range": [0.65, 1.0],
        },
        "model": {"dim": 32, "depth": 2, "kernel_size": 5, "patch_size": 4, "n_classes": 2},
        "train": {
            "epochs": 3,
            "batch_size": 32,
            "lr": 1e-3,
            "weight_decay": 5e-4,
            "betas": [0.9, 0.999],
            "seed": 0,
            "augment": "flip",
        },
    },
    "demo": {
        "world": {
            "size": 64,
            "n_train_per_class": 1250,
            "n_test_per_class": 250,
            "seed": 0,
            "shape_overlap": 0.15,
            "pixel_noise": 0.03,
            "dark_range": [0.0, 0.35],
            "light_range": [0.65, 1.0],
        },
        "model": {"dim": 64, "depth": 4, "kernel_size": 5, "patch_size": 8, "n_classes": 2},
        "train": {
            "epochs": 10,
            "batch_size": 32,
            "lr": 1e-3,
            "weight_decay": 5e-4,
            "betas": [0.9, 0.999],
            "seed": 0,
            "augment": "flip-crop",
        },
    },
}

_WORLD_KEYS = ("shape_overlap", "pixel_noise", "dark_range", "light_range")


def cats_dogs_config(split: str, preset: str | dict[str, Any] = "demo") -> dict[str, Any]:
    """Return the full configuration of one Cats-vs-Dogs model.

    Parameters
    ----------
    split : {"unbiased", "dark-cats", "dark-dogs"}
        The training split.
    preset : str or dict, optional
        A key of :data:`CATS_DOGS_PRESETS` or a dict of the same layout.

    Returns
    -------
    dict
        ``{"world": ..., "split": split, "model": ..., "train": ...}`` (a deep
        copy, safe to modify); its hash is the model's cache key.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    if isinstance(preset, str):
        if preset not in CATS_DOGS_PRESETS:
            raise ValueError(
                f"unknown preset {preset!r}; choose one of {sorted(CATS_DOGS_PRESETS)}"
            )
        preset = CATS_DOGS_PRESETS[preset]
    import copy

    config = copy.deepcopy({k: preset[k] for k in ("world", "model", "train")})
    config["split"] = split
    config["world_name"] = "cats_dogs"
    return config


def make_split_from_config(
    config: dict[str, Any],
    split: str | None = None,
    *,
    test_only: bool = False,
    progress: bool = False,
) -> CatDogSplit:
    """Render the split named in ``config`` (or ``split``) with its world settings.

    Parameters
    ----------
    config : dict
        A configuration from :func:`cats_dogs_config`.
    split : str, optional
        Render this split instead of ``config["split"]`` (e.g. the other test
        splits).
    test_only : bool, optional
        Skip the training part (its arrays are empty); the test part is the
        same as with it, because both parts draw from separate streams.
    progress : bool, optional
        Show progress bars while rendering.

    Returns
    -------
    CatDogSplit
        The rendered split.
    """
    world = config["world"]
    return make_split(
        split or config["split"],
        0 if test_only else world["n_train_per_class"],
        world["n_test_per_class"],
        world["seed"],
        size=world["size"],
        world={k: world[k] for k in _WORLD_KEYS if k in world},
        progress=progress,
    )


def train_cats_dogs(
    split: str,
    preset: str | dict[str, Any] = "demo",
    *,
    cache_dir: Any = None,
    progress: bool = True,
    num_threads: int | None = None,
) -> Any:
    """Train (or load from the cache) the ConvMixer of one split.

    Parameters
    ----------
    split : {"unbiased", "dark-cats", "dark-dogs"}
        The training split.
    preset : str or dict, optional
        A key of :data:`CATS_DOGS_PRESETS` or a dict of the same layout.
    cache_dir : str or Path, optional
        Model cache folder (see :func:`propgrad.train.train_or_load`).
    progress : bool, optional
        Show progress bars.
    num_threads : int, optional
        Torch CPU threads while training (1 is often fastest on a shared
        machine).

    Returns
    -------
    propgrad.models.convmixer.ConvMixer
        The trained model in eval mode; ``model.training_record["accuracies"]``
        holds its accuracy on the test part of all three splits.
    """
    from propgrad.models.convmixer import ConvMixer
    from propgrad.train import train_or_load

    config = cats_dogs_config(split, preset)

    def build(cfg: dict[str, Any]) -> Any:
        return ConvMixer(**cfg["model"])

    def data(cfg: dict[str, Any]) -> dict[str, Any]:
        own = make_split_from_config(cfg, progress=progress)
        evals = {}
        for name in SPLITS:
            other = own if name == split else make_split_from_config(cfg, name, test_only=True)
            evals[name] = (other.x_test, other.y_test)
        return {"train": (own.x_train, own.y_train), "eval": evals}

    return train_or_load(config, build, data, cache_dir, progress=progress, num_threads=num_threads)
