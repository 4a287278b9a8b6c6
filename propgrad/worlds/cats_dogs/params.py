"""Parameters of one cartoon cat or dog, and how to draw them at random.

Every image of the toy world is a pure function of a :class:`CatDogParams`
record; :func:`sample_params` draws one with shape traits that carry the label
(overlapping between the classes) and free fur tone and background brightness.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from propgrad.worlds.drawing import validate_unit as _validate_unit

#: Class names by label index (0 = cat, 1 = dog; the authors' convention too).
CLASSES = ("cat", "dog")

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
        return CLASSES[self.label]

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
        if label not in CLASSES:
            raise ValueError(f"species must be 'cat' or 'dog', got {label!r}")
        return CLASSES.index(label)
    if int(label) not in (0, 1):
        raise ValueError(f"label must be 0 (cat) or 1 (dog), got {label!r}")
    return int(label)


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
