r"""A procedural portrait world: cartoon faces whose traits are explicit dials.

This world stands in for CelebA in the paper's training analysis (its Sec. 4.3
and appendix D): a binary "young" vs. "not young" task in which grey hair is
*correlated* with the label, and an exact intervention that turns one face's
hair grey while keeping everything else fixed.

Every image is a cartoon head and shoulders on a coloured background, rendered
from a :class:`PortraitParams` record with numpy coordinate grids and
signed-distance masks (vectorised over pixels and over a batch of faces, no
per-pixel Python loops). The continuous dials, all in [0, 1]:

* ``greyness``: 0 = the person's natural hair colour, 1 = fully grey-white.
  In between, the hair turns grey strand by strand (salt and pepper).
* ``hair_length``: 0 = short hair ending above the ears, 1 = hair reaching
  the shoulders (it then hides the ears).
* ``hair_colour``: the natural colour, black -> brown -> auburn -> blond.
* ``skin_tone``: light to dark.
* ``wrinkles``: forehead lines, crow's feet at the eye corners, lines under
  the eyes and from the nose to the mouth, appearing one after another.
* ``makeup``: strength of lip colour, eye shadow, eyeliner and blush.
* ``glasses``: opacity of a pair of round frames (drawn as 0 or 1).
* ``background``: the hue of the background colour.

Pose (position, rotation, scale) and many details (face width, hairline,
eye, lip, eye-shadow, frame and clothing colours, smile, noise) are nuisance
variation drawn per face. The eyebrows keep the natural hair colour: the
greyness dial acts on the hair of the head only.

Generative model
----------------
A latent age :math:`A` (0 is about 18 years, 1 about 75; stored but never
drawn) drives the age-related traits, each with its own individual variation.
A "wears makeup" style variable :math:`S` is nearly independent of age and
goes with longer hair. The label is what an annotator would call the face:
they judge an apparent age that makeup lowers, so heavy makeup counts as
"young" almost whatever the hair:

.. math::

    A &\sim U(0, 1), \qquad o \sim N(\mu_g, \sigma_g^2), \\
    \text{greyness} &= \mathrm{clip}\bigl((A - o) / s_g, 0, 1\bigr), \\
    \text{wrinkles} &= \mathrm{clip}\bigl((A - 0.2) / 0.7 + N(0, \sigma_w^2), 0, 1\bigr), \\
    S &\sim \mathrm{Bernoulli}\bigl(r_m (1 - 0.3 A)\bigr), \qquad
    \text{makeup} = S \cdot U(0.35, 1), \\
    \text{hair\_length} &= \mathrm{clip}\bigl(0.25 + 0.45 S + N(0, 0.18^2), 0, 1\bigr), \\
    \text{glasses} &\sim \mathrm{Bernoulli}(0.1 + 0.3 A), \\
    P(\text{young} = 1) &= \sigma\bigl((a_y - A) / \tau + \beta\,\text{makeup}\bigr),

with :math:`\sigma` the logistic function; skin tone, natural hair colour and
background are independent of everything else. The symbols are the world
settings of :data:`WORLD_DEFAULTS`: ``grey_onset`` (:math:`\mu_g`),
``grey_onset_sd`` (:math:`\sigma_g`), ``grey_span`` (:math:`s_g`),
``wrinkle_noise`` (:math:`\sigma_w`), ``makeup_rate`` (:math:`r_m`),
``young_age`` (:math:`a_y`), ``age_label_noise`` (:math:`\tau`) and
``makeup_effect`` (:math:`\beta`). So greyness, wrinkles and glasses go with
"not young", makeup and long hair with "young", and none of them decides the
label: a few young faces are grey (early greying), and older faces with
makeup are often called young. :func:`label_correlations` measures these
correlations on a sample (with the defaults, over a balanced sample, about
-0.5 for greyness, -0.55 for wrinkles, +0.5 for makeup, +0.4 for hair length
and -0.15 for glasses). The presets (:data:`PORTRAITS_PRESETS`, used by the
training-dynamics chapter) use :data:`DYNAMICS_WORLD` instead: earlier, more
uniform greying, stronger makeup and roughly aligned faces (about -0.5 for
greyness, +0.6 for makeup).

Hence the two local examples of the paper's Fig. 23 (the training-dynamics
chapter picks them by a rule): for a plain young face (no makeup, no wrinkles)
the hair is the main evidence of age, so a classifier trained on this world
should drop its "young" output when the hair turns grey; for a heavily
made-up young face the makeup keeps the output high, so the same
intervention should barely move it.

Interventions and splits
------------------------
An image is a pure function of its parameters, and all seeded noise is drawn
in a fixed order before any dial is read, so :func:`intervene` is an exact
``do(X := x)``: a greyness sweep changes only pixels where hair colour shows
(:func:`hair_mask`), every other pixel stays bit-identical.
:func:`make_split` draws balanced young/not-young training and test sets.
:data:`WORLD` (a :class:`PortraitWorld`) offers the world under the
:class:`~propgrad.worlds.base.World` protocol, with every dial a property.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from propgrad.sweep import Sweep
from propgrad.worlds.base import Split, World, unit_properties
from propgrad.worlds.drawing import coverage as _coverage
from propgrad.worlds.drawing import sd_ellipse as _sd_ellipse
from propgrad.worlds.drawing import to_uint8 as _to_uint8
from propgrad.worlds.drawing import validate_unit as _validate_unit
from propgrad.worlds.drawing import value_noise as _value_noise

#: Class names by label index (CelebA's ``Young`` attribute: 1 = young).
CLASS_NAMES = ("not young", "young")

#: The world's one split: balanced classes, the dials as the generative model
#: draws them (see :func:`make_split`).
SPLITS = ("balanced",)

#: The continuous dials (the semantic properties), all in [0, 1].
DIALS = (
    "greyness",
    "hair_length",
    "hair_colour",
    "skin_tone",
    "wrinkles",
    "makeup",
    "glasses",
    "background",
)

#: Axis labels of the dials (every dial can be intervened on).
PROPERTY_NAMES = {
    "greyness": "hair greyness (0 = natural colour, 1 = grey-white)",
    "hair_length": "hair length (0 = short, 1 = shoulder length)",
    "hair_colour": "natural hair colour (0 = black, 1 = blond)",
    "skin_tone": "skin tone (0 = light, 1 = dark)",
    "wrinkles": "wrinkles (0 = none, 1 = many)",
    "makeup": "makeup strength (0 = none, 1 = heavy)",
    "glasses": "glasses (0 = none, 1 = opaque frames)",
    "background": "background hue (0 to 1, around the colour wheel)",
}

#: Default world settings: the strengths of the correlations (see the module
#: docstring for the generative model), pose jitter and pixel noise.
WORLD_DEFAULTS: dict[str, float] = {
    "young_age": 0.4,
    "age_label_noise": 0.08,
    "makeup_effect": 8.0,
    "makeup_rate": 0.5,
    "grey_onset": 0.55,
    "grey_onset_sd": 0.12,
    "grey_span": 0.3,
    "wrinkle_noise": 0.25,
    "pose_jitter": 1.0,
    "pixel_noise": 0.015,
}

#: The world of the training-dynamics chapter: hair greys earlier and more
#: uniformly (so that at 32 x 32 pixels, where wrinkles are hard to see, grey
#: hair is the clearest visible sign of age), makeup counts more, and faces are
#: roughly aligned (as CelebA's aligned crops are).
DYNAMICS_WORLD: dict[str, float] = {
    **WORLD_DEFAULTS,
    "makeup_effect": 12.0,
    "grey_onset": 0.42,
    "grey_onset_sd": 0.06,
    "pose_jitter": 0.3,
}

#: World settings by size (image size, faces per class, seed and the
#: correlation strengths): the worlds of the training-dynamics chapter at its
#: smoke and demo profiles. Model and training settings belong to the chapter.
PORTRAITS_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "size": 32,
        "n_train_per_class": 100,
        "n_test_per_class": 50,
        "seed": 0,
        **DYNAMICS_WORLD,
    },
    "demo": {
        "size": 32,
        "n_train_per_class": 500,
        "n_test_per_class": 250,
        "seed": 0,
        **DYNAMICS_WORLD,
    },
}

_F = np.float32

# palettes (RGB in [0, 1])
_HAIR = np.array(  # natural hair colour anchors, interpolated by ``hair_colour``
    [[0.09, 0.07, 0.06], [0.30, 0.18, 0.10], [0.56, 0.28, 0.13], [0.88, 0.72, 0.42]], _F
)
_GREY_WHITE = np.array([0.90, 0.90, 0.92], _F)
_SKIN = np.array(  # light to dark, interpolated by ``skin_tone``
    [
        [0.99, 0.87, 0.77],
        [0.94, 0.75, 0.61],
        [0.78, 0.56, 0.41],
        [0.55, 0.37, 0.25],
        [0.36, 0.24, 0.17],
    ],
    _F,
)
_IRIS = np.array(
    [[0.35, 0.20, 0.10], [0.18, 0.10, 0.06], [0.25, 0.45, 0.75], [0.30, 0.55, 0.30]], _F
)
_LIPSTICK = np.array(
    [[0.82, 0.08, 0.15], [0.58, 0.08, 0.32], [0.93, 0.32, 0.55], [0.93, 0.38, 0.28]], _F
)
_SHADOW = np.array(
    [[0.55, 0.28, 0.68], [0.28, 0.45, 0.85], [0.62, 0.38, 0.20], [0.15, 0.62, 0.60]], _F
)
_FRAME = np.array(
    [[0.06, 0.06, 0.07], [0.38, 0.22, 0.10], [0.70, 0.10, 0.12], [0.10, 0.16, 0.42]], _F
)
_BLUSH = np.array([0.95, 0.45, 0.50], _F)
_DARK = np.array([0.10, 0.06, 0.06], _F)


@dataclass
class PortraitParams:
    """Everything needed to render one portrait.

    Lengths are in units of the head's half-height ``R`` (so the head ellipse
    is about 0.78 wide and 1 high) in a face frame centred on the head, with
    ``v`` growing downwards. Positions of the head are in normalised image
    coordinates, the image spanning [-1, 1] on both axes.

    Parameters
    ----------
    young : int
        The label: 1 = young, 0 = not young.
    age : float
        The latent age in [0, 1] that drew the age-related dials (not drawn in
        the image; kept as ground truth).
    greyness, hair_length, hair_colour, skin_tone, wrinkles, makeup, glasses, \
background : float
        The dials, each in [0, 1] (see the module docstring).
    cx, cy : float
        Head centre in normalised image coordinates.
    angle : float
        Head rotation in radians.
    scale : float
        Head size multiplier (1 = the default size).
    face_width : float
        Half-width of the head ellipse in head units.
    hair_volume : float
        How far the hair stands out around the head (multiplier).
    hairline : float
        Height of the hairline above the eyes (face-frame ``v``, negative).
    hair_part : float
        Side part of the fringe in [-1, 1].
    smile : float
        Curvature of the mouth (positive = smiling).
    gaze : float
        Horizontal offset of both irises.
    brow_arch : float
        Arch of the eyebrows.
    eye_colour, lip_colour, shadow_colour, frame_colour : int
        Palette indices of iris, lipstick, eye shadow and glasses frames.
    clothing : float
        Hue of the clothing in [0, 1].
    wrinkle_phase : float
        Phase of the waviness of the forehead lines.
    pixel_noise : float
        Standard deviation of the additive pixel noise (in [0, 1] units).
    seed : int
        Seed of the texture and pixel noise.
    """

    young: int
    age: float
    greyness: float
    hair_length: float
    hair_colour: float
    skin_tone: float
    wrinkles: float
    makeup: float
    glasses: float
    background: float
    cx: float = 0.0
    cy: float = -0.08
    angle: float = 0.0
    scale: float = 1.0
    face_width: float = 0.78
    hair_volume: float = 1.0
    hairline: float = -0.62
    hair_part: float = 0.0
    smile: float = 0.3
    gaze: float = 0.0
    brow_arch: float = 0.05
    eye_colour: int = 0
    lip_colour: int = 0
    shadow_colour: int = 0
    frame_colour: int = 0
    clothing: float = 0.6
    wrinkle_phase: float = 0.0
    pixel_noise: float = 0.015
    seed: int = 0

    @property
    def label(self) -> int:
        """The label (``young``), under the name every world's records share."""
        return self.young

    @property
    def label_name(self) -> str:
        """The class name, ``"young"`` or ``"not young"``."""
        return CLASS_NAMES[self.young]

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> PortraitParams:
        """Rebuild parameters from :meth:`to_dict` output."""
        return cls(**record)


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------


def _validate_size(size: Any) -> int:
    if isinstance(size, bool) or int(size) != size:
        raise ValueError(f"size must be an integer number of pixels, got {size!r}")
    size = int(size)
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    return size


def _validate_params(p: PortraitParams) -> None:
    if int(p.young) not in (0, 1):
        raise ValueError(f"young must be 0 or 1, got {p.young!r}")
    for name in DIALS:
        _validate_unit(name, getattr(p, name))


def _world_config(world: dict[str, Any] | None) -> dict[str, float]:
    cfg = {**WORLD_DEFAULTS, **(world or {})}
    unknown = set(cfg) - set(WORLD_DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown world settings: {sorted(unknown)}; known: {sorted(WORLD_DEFAULTS)}"
        )
    cfg = {k: float(v) for k, v in cfg.items()}
    for name in ("age_label_noise", "grey_span"):
        if cfg[name] <= 0.0:
            raise ValueError(f"{name} must be positive, got {cfg[name]}")
    for name in ("grey_onset_sd", "wrinkle_noise", "pose_jitter", "pixel_noise"):
        if cfg[name] < 0.0:
            raise ValueError(f"{name} must be non-negative, got {cfg[name]}")
    _validate_unit("makeup_rate", cfg["makeup_rate"])
    return cfg


# ----------------------------------------------------------------------------
# the generative model
# ----------------------------------------------------------------------------


def sample_population(
    n: int, rng: np.random.Generator, world: dict[str, Any] | None = None
) -> list[PortraitParams]:
    """Draw ``n`` faces from the generative model (labels included).

    Parameters
    ----------
    n : int
        Number of faces.
    rng : numpy.random.Generator
        Source of randomness (all ``n`` faces are drawn in one vectorised pass).
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS`.

    Returns
    -------
    list of PortraitParams
        The faces, unbalanced: the label follows the generative model.

    Raises
    ------
    ValueError
        If ``n`` is negative or a world setting is unknown or out of range.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    n = int(n)
    cfg = _world_config(world)
    u = rng.uniform
    age = u(0.0, 1.0, n)
    onset = rng.normal(cfg["grey_onset"], cfg["grey_onset_sd"], n)
    greyness = np.clip((age - onset) / cfg["grey_span"], 0.0, 1.0)
    wrinkles = np.clip((age - 0.2) / 0.7 + rng.normal(0.0, cfg["wrinkle_noise"], n), 0.0, 1.0)
    style = u(0.0, 1.0, n) < cfg["makeup_rate"] * (1.0 - 0.3 * age)
    makeup = style * u(0.35, 1.0, n)
    hair_length = np.clip(0.25 + 0.45 * style + rng.normal(0.0, 0.18, n), 0.0, 1.0)
    glasses = (u(0.0, 1.0, n) < 0.1 + 0.3 * age).astype(float)
    logit = (cfg["young_age"] - age) / cfg["age_label_noise"] + cfg["makeup_effect"] * makeup
    young = u(0.0, 1.0, n) < 1.0 / (1.0 + np.exp(-logit))
    hair_colour = rng.beta(1.2, 1.8, n)
    skin_tone = u(0.0, 1.0, n)
    background = u(0.0, 1.0, n)
    j = cfg["pose_jitter"]
    cx = u(-0.06, 0.06, n) * j
    cy = -0.08 + u(-0.05, 0.05, n) * j
    angle = u(-0.12, 0.12, n) * j
    scale = 1.0 + u(-0.06, 0.06, n) * j
    face_width = u(0.72, 0.84, n)
    hair_volume = u(0.92, 1.12, n)
    hairline = u(-0.68, -0.56, n)
    hair_part = u(-1.0, 1.0, n)
    smile = u(-0.1, 0.6, n)
    gaze = u(-0.025, 0.025, n)
    brow_arch = u(0.0, 0.08, n)
    eye_colour = rng.integers(len(_IRIS), size=n)
    lip_colour = rng.integers(len(_LIPSTICK), size=n)
    shadow_colour = rng.integers(len(_SHADOW), size=n)
    frame_colour = rng.integers(len(_FRAME), size=n)
    clothing = u(0.0, 1.0, n)
    wrinkle_phase = u(0.0, 2.0 * math.pi, n)
    seeds = rng.integers(2**31 - 1, size=n)
    out = []
    for i in range(n):
        out.append(
            PortraitParams(
                young=int(young[i]),
                age=float(age[i]),
                greyness=float(greyness[i]),
                hair_length=float(hair_length[i]),
                hair_colour=float(hair_colour[i]),
                skin_tone=float(skin_tone[i]),
                wrinkles=float(wrinkles[i]),
                makeup=float(makeup[i]),
                glasses=float(glasses[i]),
                background=float(background[i]),
                cx=float(cx[i]),
                cy=float(cy[i]),
                angle=float(angle[i]),
                scale=float(scale[i]),
                face_width=float(face_width[i]),
                hair_volume=float(hair_volume[i]),
                hairline=float(hairline[i]),
                hair_part=float(hair_part[i]),
                smile=float(smile[i]),
                gaze=float(gaze[i]),
                brow_arch=float(brow_arch[i]),
                eye_colour=int(eye_colour[i]),
                lip_colour=int(lip_colour[i]),
                shadow_colour=int(shadow_colour[i]),
                frame_colour=int(frame_colour[i]),
                clothing=float(clothing[i]),
                wrinkle_phase=float(wrinkle_phase[i]),
                pixel_noise=cfg["pixel_noise"],
                seed=int(seeds[i]),
            )
        )
    return out


def sample_params(rng: np.random.Generator, world: dict[str, Any] | None = None) -> PortraitParams:
    """Draw one face from the generative model (see :func:`sample_population`).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS`.

    Returns
    -------
    PortraitParams
        The drawn face.
    """
    return sample_population(1, rng, world)[0]


def label_correlations(
    params: Sequence[PortraitParams], dials: Sequence[str] = DIALS
) -> dict[str, float]:
    """Pearson correlation between the ``young`` label and each dial.

    With a binary label this is the point-biserial correlation: positive means
    the dial is larger among young faces.

    Parameters
    ----------
    params : sequence of PortraitParams
        The faces (a population sample from :func:`sample_population`, or a
        split's parameters).
    dials : sequence of str, optional
        Which dials (default: all of :data:`DIALS`; ``"age"`` is accepted too).

    Returns
    -------
    dict
        Dial name -> correlation coefficient in [-1, 1]; NaN for a dial that is
        constant over the sample.

    Raises
    ------
    ValueError
        If there are fewer than two faces, all faces share one label, or a dial
        name is unknown.
    """
    params = list(params)
    if len(params) < 2:
        raise ValueError(f"need at least two faces, got {len(params)}")
    unknown = [d for d in dials if d not in DIALS and d != "age"]
    if unknown:
        raise ValueError(f"unknown dial(s) {unknown}; choose from {list(DIALS)} or 'age'")
    y = np.array([p.young for p in params], dtype=float)
    if y.min() == y.max():
        raise ValueError("all faces have the same label; correlations are undefined")
    yc = y - y.mean()
    out = {}
    for name in dials:
        x = np.array([getattr(p, name) for p in params], dtype=float)
        xc = x - x.mean()
        denom = math.sqrt(float(xc @ xc) * float(yc @ yc))
        out[name] = float(xc @ yc / denom) if denom > 0 else float("nan")
    return out


# ----------------------------------------------------------------------------
# vectorised shape helpers (signed distances are negative inside)
# ----------------------------------------------------------------------------


def _sd_segment(u: np.ndarray, v: np.ndarray, a: tuple, b: tuple, half_width: float) -> np.ndarray:
    """Signed distance to a line segment from ``a`` to ``b`` of half-width ``half_width``."""
    ex, ey = b[0] - a[0], b[1] - a[1]
    wx, wy = u - a[0], v - a[1]
    t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
    return np.sqrt((wx - ex * t) ** 2 + (wy - ey * t) ** 2) - half_width


def _palette(anchors: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Piecewise-linear colour ramp through ``anchors`` at ``t`` in [0, 1]; (N, 3)."""
    pos = np.clip(t, 0.0, 1.0) * (len(anchors) - 1)
    i0 = np.minimum(pos.astype(int), len(anchors) - 2)
    f = (pos - i0)[:, None].astype(_F)
    return anchors[i0] * (1.0 - f) + anchors[i0 + 1] * f


def _hue_rgb(hue: np.ndarray, sat: float, val: float) -> np.ndarray:
    """HSV to RGB for arrays of hues with fixed saturation and value; (N, 3)."""
    k = (np.array([5.0, 3.0, 1.0])[None, :] + 6.0 * hue[:, None]) % 6.0
    return (val - val * sat * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)).astype(_F)


def _smooth(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ----------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------


def _draw_noise(params: Sequence[PortraitParams], size: int) -> dict[str, np.ndarray]:
    """Per-face seeded noise, drawn in a fixed order that reads no dial."""
    n = len(params)
    out = {
        "hair": np.empty((n, size, size), _F),
        "strand": np.empty((n, size, size), _F),
        "skin": np.empty((n, size, size), _F),
        "bg": np.empty((n, size, size), _F),
        "pixel": np.empty((n, size, size, 3), _F),
    }
    for i, p in enumerate(params):
        rng = np.random.default_rng(int(p.seed))
        out["hair"][i] = _value_noise(rng, 8, size)
        out["strand"][i] = 0.5 * _value_noise(rng, 12, size) + 0.5 * _value_noise(rng, 26, size)
        out["skin"][i] = _value_noise(rng, 5, size)
        out["bg"][i] = _value_noise(rng, 3, size)
        out["pixel"][i] = rng.standard_normal((size, size, 3), dtype=_F) * _F(p.pixel_noise)
    return out


def _column(params: Sequence[PortraitParams], name: str) -> np.ndarray:
    return np.array([getattr(p, name) for p in params], dtype=_F)


_INDEX_FIELDS = ("eye_colour", "lip_colour", "shadow_colour", "frame_colour")


def _render_core(params: Sequence[PortraitParams], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render a batch; return float RGB (N, H, W, 3) in [0, 1] and the hair weight (N, H, W).

    All arithmetic is elementwise (no reductions across pixels or faces), so a
    face renders to the same bits alone or in any batch.
    """
    n = len(params)
    noise = _draw_noise(params, size)

    def col(name: str) -> np.ndarray:
        return _column(params, name)[:, None, None]

    def rgb(values: np.ndarray) -> np.ndarray:  # (N, 3) -> (N, 1, 1, 3)
        return values.astype(_F)[:, None, None, :]

    idx = {k: np.array([getattr(p, k) for p in params], int) for k in _INDEX_FIELDS}

    coords = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(_F)
    yy, xx = coords[None, :, None], coords[None, None, :]
    radius = _F(0.56) * col("scale")
    ppu = radius * _F(size / 2.0)  # pixels per face unit, (N, 1, 1)
    ang = col("angle")
    c, s = np.cos(ang), np.sin(ang)
    dx, dy = xx - col("cx"), yy - col("cy")
    u = (c * dx + s * dy) / radius
    v = (-s * dx + c * dy) / radius
    au = np.abs(u)

    img = np.empty((n, size, size, 3), _F)
    hair_w = np.zeros((n, size, size), _F)

    def paint(mask: np.ndarray, colour: np.ndarray, hair: bool = False) -> None:
        """Composite ``colour`` over the image with coverage ``mask``.

        ``img * (1 - m) + colour * m`` keeps a pixel exactly when m = 0 and
        replaces it exactly when m = 1, so covered layers leave no trace.
        """
        nonlocal img, hair_w
        m = mask[..., None]
        img *= 1.0 - m
        img += colour * m
        hair_w = hair_w * (1.0 - mask) + (mask if hair else 0.0)

    # --- background: a hue from the dial, a soft vertical gradient and noise
    bg = rgb(_hue_rgb(_column(params, "background"), 0.42, 0.80))
    shade = 1.0 + 0.10 * yy + 0.05 * noise["bg"]
    img[...] = bg * shade[..., None]

    # --- colours of skin and hair
    skin_base = rgb(_palette(_SKIN, _column(params, "skin_tone")))
    natural = rgb(_palette(_HAIR, _column(params, "hair_colour")))
    g = col("greyness")
    grey_field = np.clip(g + 0.7 * g * (1.0 - g) * noise["strand"], 0.0, 1.0)[..., None]
    strand_angle = np.arctan2(u, v + 1.6)
    strands = 0.5 + 0.5 * np.sin(46.0 * strand_angle + 1.5 * noise["hair"])
    hair_tex = (1.0 - 0.20 * strands**2 + 0.06 * noise["hair"])[..., None]
    hair_rgb = (natural * (1.0 - grey_field) + _GREY_WHITE * grey_field) * hair_tex

    # --- shoulders (clothing)
    cloth = rgb(_hue_rgb(_column(params, "clothing"), 0.55, 0.62))
    m_sh = _coverage(_sd_ellipse(u, v - 2.35, 1.75, 0.95), ppu)
    paint(m_sh, cloth * (1.0 - 0.12 * np.clip(v - 1.4, 0.0, 1.0))[..., None])

    # --- hair behind the head: a cap around the skull plus a curtain whose
    # bottom edge moves down with the hair length
    length = col("hair_length")
    vol = col("hair_volume")
    fw = col("face_width")
    v_end = -0.05 + 1.75 * length - 0.12 * (u / 0.95) ** 2
    hw = (fw + 0.16) * vol + 0.10 * length * np.clip(v, 0.0, 2.0)
    sd_cap = _sd_ellipse(u, v + 0.06, (fw + 0.15) * vol, 1.12 * vol)
    sd_curtain = np.maximum(au - hw, -0.2 - v)
    sd_back = np.maximum(np.minimum(sd_cap, sd_curtain), v - v_end)
    m_back = _coverage(sd_back, ppu)
    paint(m_back, hair_rgb * _F(0.85), hair=True)

    # --- neck, ears (hidden by long hair), face
    sd_neck = np.maximum(au - 0.30, np.maximum(0.45 - v, _sd_ellipse(u, v - 1.0, 0.30, 0.55)))
    neck_shade = (0.80 + 0.10 * np.clip(v - 0.6, 0.0, 1.0))[..., None]
    paint(_coverage(sd_neck, ppu), skin_base * neck_shade)
    ear_show = 1.0 - _smooth(0.30, 0.50, length)
    m_ear = _coverage(_sd_ellipse(au - fw, v - 0.05, 0.12, 0.20), ppu) * ear_show
    paint(m_ear, skin_base * _F(0.90))
    taper = 1.0 + 0.14 * np.clip(v, 0.0, 1.0) ** 2
    r_face = np.sqrt((u * taper / fw) ** 2 + v**2)
    sd_face = (r_face - 1.0) * np.minimum(fw, 1.0)
    m_face = _coverage(sd_face, ppu)
    skin = skin_base * (1.0 - 0.14 * _smooth(0.55, 1.0, r_face) + 0.025 * noise["skin"])[..., None]
    paint(m_face, skin)

    # --- makeup: blush (soft), eye shadow (under the eyes' whites)
    mk = col("makeup")
    blush = np.exp(-(((au - 0.45) / 0.16) ** 2) - ((v - 0.24) / 0.10) ** 2)
    paint(0.6 * mk * blush * m_face, _BLUSH)
    shadow = rgb(_SHADOW[idx["shadow_colour"]])
    m_shadow = _coverage(_sd_ellipse(au - 0.30, v + 0.12, 0.22, 0.15), ppu)
    paint(0.9 * mk * m_shadow, shadow)

    # --- wrinkles: lines that appear one after another as the dial grows
    wr = col("wrinkles")
    wrinkle_rgb = skin_base * _F(0.42)
    line = np.zeros_like(u)
    phase = col("wrinkle_phase")
    for k in range(3):  # forehead lines
        curve = -0.37 - 0.085 * k + 0.018 * np.sin(9.0 * u + phase + k)
        sd = np.maximum(np.abs(v - curve) - 0.030, au - (0.34 - 0.05 * k))
        line = np.maximum(line, _coverage(sd, ppu) * _smooth(0.10 + 0.22 * k, 0.35 + 0.22 * k, wr))
    for end in ((0.64, -0.11), (0.66, -0.02), (0.63, 0.07)):  # crow's feet
        sd = _sd_segment(au, v, (0.48, -0.02), end, 0.026)
        line = np.maximum(line, _coverage(sd, ppu) * _smooth(0.15, 0.5, wr))
    sd_bag = np.maximum(np.abs(v - 0.11 - 0.9 * (au - 0.30) ** 2) - 0.024, np.abs(au - 0.30) - 0.12)
    line = np.maximum(line, _coverage(sd_bag, ppu) * _smooth(0.35, 0.75, wr))
    sd_fold = _sd_segment(au, v, (0.17, 0.31), (0.36, 0.56), 0.030)  # nose to mouth
    line = np.maximum(line, _coverage(sd_fold, ppu) * _smooth(0.05, 0.45, wr))
    paint(0.85 * line * m_face, wrinkle_rgb)

    # --- eyes: whites, iris, pupil, lid line (thicker with eyeliner)
    sd_white = _sd_ellipse(au - 0.30, v + 0.02, 0.15, 0.085)
    paint(_coverage(sd_white, ppu), np.array([0.97, 0.97, 0.96], _F))
    side = np.where(u >= 0.0, _F(1.0), _F(-1.0))
    iu = u - side * 0.30 - col("gaze")
    sd_iris = np.maximum(np.sqrt(iu**2 + (v + 0.02) ** 2) - 0.075, sd_white)
    paint(_coverage(sd_iris, ppu), rgb(_IRIS[idx["eye_colour"]]))
    paint(_coverage(np.sqrt(iu**2 + (v + 0.02) ** 2) - 0.035, ppu), _DARK)
    lid = 0.016 + 0.022 * mk
    sd_lid = np.maximum(np.abs(sd_white) - lid, v + 0.02)
    paint(_coverage(sd_lid, ppu), _DARK)

    # --- eyebrows keep the natural hair colour (greyness acts on head hair only)
    bu = (au - 0.30) / 0.17
    brow_v = -0.25 - col("brow_arch") * (1.0 - bu**2)
    sd_brow = np.maximum(np.abs(v - brow_v) - 0.032 * (1.0 - 0.4 * bu**2), np.abs(bu) - 1.0)
    paint(_coverage(sd_brow, ppu), natural * _F(0.8))

    # --- nose and mouth
    sd_ridge = _sd_segment(u, v, (0.03, 0.04), (0.07, 0.27), 0.016)
    paint(0.35 * _coverage(sd_ridge, ppu), skin_base * _F(0.6))
    sd_nostril = _sd_ellipse(au - 0.06, v - 0.30, 0.035, 0.028)
    paint(0.8 * _coverage(sd_nostril, ppu), skin_base * _F(0.5))
    mu = u / 0.28
    mouth_v = 0.54 + col("smile") * 0.08 * (1.0 - mu**2)
    natural_lips = skin_base * np.array([0.82, 0.58, 0.58], _F)
    lips = natural_lips + mk[..., None] * (rgb(_LIPSTICK[idx["lip_colour"]]) - natural_lips)
    sd_lips = _sd_ellipse(u, v - mouth_v, 0.28, 0.11)
    paint(_coverage(sd_lips, ppu), lips)
    sd_mouth = np.maximum(np.abs(v - mouth_v) - 0.014, np.abs(mu) - 0.95)
    paint(0.9 * _coverage(sd_mouth, ppu), _DARK)

    # --- fringe: hair over the top of the face, above a curved hairline
    hl = col("hairline") + 0.26 * (u / fw) ** 2 + 0.05 * col("hair_part") * u
    sd_fringe = np.maximum(sd_face - 0.03, v - hl)
    paint(_coverage(sd_fringe, ppu), hair_rgb, hair=True)

    # --- glasses: lenses (slight tint), round frames, bridge, temples
    gl = col("glasses")
    frame = rgb(_FRAME[idx["frame_colour"]])
    dist = np.sqrt((au - 0.30) ** 2 + (v + 0.02) ** 2)
    paint(0.15 * gl * _coverage(dist - 0.19, ppu), np.array([0.85, 0.92, 1.0], _F))
    sd_frame = np.abs(dist - 0.19) - 0.026
    sd_frame = np.minimum(sd_frame, _sd_segment(au, v, (0.0, -0.06), (0.12, -0.05), 0.024))
    sd_frame = np.minimum(sd_frame, _sd_segment(au, v, (0.49, -0.04), (fw + 0.06, -0.08), 0.024))
    paint(gl * _coverage(sd_frame, ppu), frame)

    img += noise["pixel"]
    return np.clip(img, 0.0, 1.0, out=img), hair_w


def render(params: PortraitParams, size: int = 64) -> np.ndarray:
    """Render one portrait.

    Parameters
    ----------
    params : PortraitParams
        The face to draw.
    size : int, optional
        Width and height in pixels (at least 16).

    Returns
    -------
    ndarray
        uint8 image of shape (size, size, 3). The same parameters always give
        the same image, alone or in a batch (:func:`render_batch`).

    Raises
    ------
    ValueError
        If the size is too small or a dial lies outside [0, 1].
    """
    return render_batch([params], size)[0]


def render_batch(
    params: Sequence[PortraitParams],
    size: int = 64,
    *,
    progress: bool = False,
    chunk: int = 64,
) -> np.ndarray:
    """Render many portraits into one array, vectorised over chunks of faces.

    Parameters
    ----------
    params : sequence of PortraitParams
        The faces.
    size : int, optional
        Width and height in pixels (at least 16).
    progress : bool, optional
        Show a tqdm progress bar (one step per chunk).
    chunk : int, optional
        Faces rendered together; bounds the memory used (about
        ``chunk * size**2 * 60`` bytes).

    Returns
    -------
    ndarray
        uint8 array of shape (N, size, size, 3).

    Raises
    ------
    ValueError
        If the size is too small, ``chunk`` is not positive or a dial lies
        outside [0, 1].
    """
    size = _validate_size(size)
    if int(chunk) < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    params = list(params)
    for p in params:
        _validate_params(p)
    out = np.empty((len(params), size, size, 3), dtype=np.uint8)
    starts: Iterable[int] = range(0, len(params), int(chunk))
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(list(starts), desc="render", unit="chunk")
    for start in starts:
        batch = params[start : start + int(chunk)]
        out[start : start + len(batch)] = _to_uint8(_render_core(batch, size)[0])
    return out


def hair_mask(params: PortraitParams, size: int = 64) -> np.ndarray:
    """Return how much the hair colour shows in each pixel.

    Parameters
    ----------
    params : PortraitParams
        The face.
    size : int, optional
        Width and height in pixels.

    Returns
    -------
    ndarray
        float32 array (size, size) in [0, 1]: the weight of the hair colour in
        each pixel after everything in front of the hair (face, ears, neck,
        glasses) is composited. A greyness intervention can change a pixel only
        where this is above 0; where it is 0 the pixel is bit-identical. The
        mask depends on ``hair_length`` and the pose but not on ``greyness``.
    """
    _validate_params(params)
    return _render_core([params], _validate_size(size))[1][0]


# ----------------------------------------------------------------------------
# interventions
# ----------------------------------------------------------------------------


def intervene(
    params: PortraitParams,
    property: str = "greyness",  # noqa: A002 - the natural name for the intervened property
    n_steps: int = 21,
    *,
    to: float = 1.0,
    size: int = 64,
) -> Sweep:
    """Exact intervention ``do(X := x)`` on one face, as a sweep.

    The face is re-rendered ``n_steps`` times with only ``property`` changed,
    in equal steps from its own value to ``to`` (by default: the hair from its
    natural greyness to fully grey-white). Pose, every other dial and all
    noise stay the same, so the first frame is the original image bit for bit.

    Parameters
    ----------
    params : PortraitParams
        The face to intervene on.
    property : str, optional
        The dial to sweep, one of :data:`DIALS` (default ``"greyness"``).
    n_steps : int, optional
        Number of frames, at least 2 (default 21).
    to : float, optional
        The last value, in [0, 1] and above the face's own value (default 1).
    size : int, optional
        Image size in pixels.

    Returns
    -------
    Sweep
        The frames, ``grid`` = the property values, ``grid_name`` a readable
        axis label, and ``metadata`` with the world name, the property, the
        image size, the label, the original value and the face's parameters.

    Raises
    ------
    ValueError
        If the property is unknown, ``n_steps`` is below 2, or ``to`` is
        outside [0, 1] or not above the face's own value (for instance a face
        that is already fully grey).
    """
    if property not in PROPERTY_NAMES:
        raise ValueError(f"unknown property {property!r}; choose one of {list(DIALS)}")
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 2:
        raise ValueError(f"n_steps must be an integer of at least 2, got {n_steps!r}")
    _validate_params(params)
    to = _validate_unit("to", to)
    start = float(getattr(params, property))
    if not to > start:
        raise ValueError(
            f"the sweep must go up: {property} is already {start:g} for this face, "
            f"so it cannot be swept to {to:g}"
        )
    grid = np.linspace(start, to, int(n_steps))
    grid[0], grid[-1] = start, to
    frames = render_batch([replace(params, **{property: float(x)}) for x in grid], size)
    metadata = {
        "world": "portraits",
        "property": property,
        "size": int(size),
        "young": int(params.young),
        "label_name": params.label_name,
        "original_value": start,
        "to": to,
        "params": params.to_dict(),
    }
    return Sweep(list(frames), grid, PROPERTY_NAMES[property], metadata)


# ----------------------------------------------------------------------------
# balanced splits
# ----------------------------------------------------------------------------


@dataclass
class PortraitSplit(Split):
    """Balanced training and test data of the portrait world.

    A :class:`~propgrad.worlds.base.Split` whose constructor keeps this
    class's original signature: ``name`` and ``classes`` are keyword-only
    with defaults, ``size`` and ``world`` follow the six data fields.

    Attributes
    ----------
    x_train, x_test : ndarray
        uint8 images (N, H, W, 3).
    y_train, y_test : ndarray
        int64 labels (1 = young, 0 = not young), alternating 0, 1, 0, 1, ...
    params_train, params_test : list of PortraitParams
        The parameters of every image, for re-rendering and interventions.
    size : int
        Image size in pixels.
    world : dict
        The world settings used (all of :data:`WORLD_DEFAULTS`).
    name : str
        ``"balanced"``, the world's only split (keyword only).
    classes : tuple of str
        ``("not young", "young")`` (keyword only).
    """

    size: int
    world: dict[str, float]
    name: str = field(default=SPLITS[0], kw_only=True)
    classes: tuple[str, ...] = field(default=CLASS_NAMES, kw_only=True)

    def dial(self, name: str, part: str = "train") -> np.ndarray:
        """Return one dial (or ``"age"``) of every ``"train"`` or ``"test"`` face."""
        if name not in DIALS and name != "age":
            raise ValueError(f"unknown dial {name!r}; choose from {list(DIALS)} or 'age'")
        return self.values(name, part)


def sample_balanced(
    n_per_class: int,
    rng: np.random.Generator,
    world: dict[str, Any] | None = None,
    *,
    batch: int = 512,
) -> list[PortraitParams]:
    """Draw faces from the generative model until each class has ``n_per_class``.

    Faces are drawn in batches and kept in order of drawing until a class is
    full, so the result follows the class-conditional distribution of the
    dials given the label. The output alternates not young, young, not
    young, ...

    Parameters
    ----------
    n_per_class : int
        Faces per class.
    rng : numpy.random.Generator
        Source of randomness.
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS`.
    batch : int, optional
        Faces drawn per batch.

    Returns
    -------
    list of PortraitParams
        ``2 * n_per_class`` faces.

    Raises
    ------
    ValueError
        If ``n_per_class`` is negative, or the world settings make one class so
        rare that it cannot be filled.
    """
    if int(n_per_class) != n_per_class or n_per_class < 0:
        raise ValueError(f"n_per_class must be a non-negative integer, got {n_per_class!r}")
    n_per_class = int(n_per_class)
    pools: tuple[list[PortraitParams], list[PortraitParams]] = ([], [])
    drawn = 0
    limit = 200 * max(n_per_class, 1) + 10_000
    while min(len(pools[0]), len(pools[1])) < n_per_class:
        if drawn > limit:
            raise ValueError(
                f"after {drawn} faces one class still has fewer than {n_per_class}: "
                f"{len(pools[0])} not young, {len(pools[1])} young; the world settings make "
                "one label too rare"
            )
        for p in sample_population(batch, rng, world):
            if len(pools[p.young]) < n_per_class:
                pools[p.young].append(p)
        drawn += batch
    return [p for pair in zip(pools[0], pools[1]) for p in pair]


def make_split(
    n_train_per_class: int,
    n_test_per_class: int,
    seed: int = 0,
    *,
    size: int = 64,
    world: dict[str, Any] | None = None,
    progress: bool = False,
) -> PortraitSplit:
    """Build balanced young/not-young training and test sets.

    Parameters
    ----------
    n_train_per_class, n_test_per_class : int
        Faces per class in the training and in the test part.
    seed : int, optional
        Seed; the two parts use independent streams of it, so the test part
        does not depend on the size of the training part.
    size : int, optional
        Image size in pixels.
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS` (the correlation strengths).
    progress : bool, optional
        Show tqdm progress bars while rendering.

    Returns
    -------
    PortraitSplit
        Images, labels and parameters of both parts.
    """
    size = _validate_size(size)
    cfg = _world_config(world)
    train_rng, test_rng = (np.random.default_rng([int(seed), 17, part]) for part in (0, 1))
    params_train = sample_balanced(n_train_per_class, train_rng, cfg)
    params_test = sample_balanced(n_test_per_class, test_rng, cfg)
    return PortraitSplit.from_params(
        SPLITS[0],
        params_train,
        params_test,
        lambda ps: render_batch(ps, size, progress=progress),
        size=size,
        world=cfg,
    )


def make_split_from_preset(
    preset: str | dict[str, Any] = "demo", *, test_only: bool = False, progress: bool = False
) -> PortraitSplit:
    """Build the split of a preset (a key of :data:`PORTRAITS_PRESETS` or such a dict).

    Parameters
    ----------
    preset : str or dict, optional
        ``"smoke"``, ``"demo"``, or a dict with ``size``, ``n_train_per_class``,
        ``n_test_per_class``, ``seed`` and optional world settings.
    test_only : bool, optional
        Skip the training part (its arrays are empty); the test part is the
        same as with it.
    progress : bool, optional
        Show progress bars while rendering.

    Returns
    -------
    PortraitSplit
        The rendered split.

    Raises
    ------
    ValueError
        For an unknown preset name or a preset dict lacking a required key.
    """
    if isinstance(preset, str):
        if preset not in PORTRAITS_PRESETS:
            raise ValueError(
                f"unknown preset {preset!r}; choose one of {sorted(PORTRAITS_PRESETS)}"
            )
        preset = PORTRAITS_PRESETS[preset]
    required = ("size", "n_train_per_class", "n_test_per_class", "seed")
    missing = [k for k in required if k not in preset]
    if missing:
        raise ValueError(f"the preset lacks {missing}")
    world = {k: v for k, v in preset.items() if k not in required}
    return make_split(
        0 if test_only else preset["n_train_per_class"],
        preset["n_test_per_class"],
        preset["seed"],
        size=preset["size"],
        world=world,
        progress=progress,
    )


# ----------------------------------------------------------------------------
# the World protocol
# ----------------------------------------------------------------------------


class PortraitWorld(World):
    """The portrait world under the :class:`~propgrad.worlds.base.World` protocol.

    * The properties are the eight dials (:data:`PROPERTY_NAMES`, all on
      [0, 1]; ``background`` is a hue, circular: 0 and 1 are the same
      colour); records have a ``label`` (= ``young``).
    * :meth:`sample` draws faces from the generative model with
      :data:`WORLD_DEFAULTS` and keeps them in order of drawing until each
      label of the requested pattern is filled (as :func:`sample_balanced`
      does), so the dials follow their class-conditional distribution.
      Conditions: ``label`` (0, 1, ``"not young"``, ``"young"``) and any
      dial (a value or a ``(low, high)`` range). A dial condition *sets*
      the dial after the face is drawn (``do(dial := x)``): the label and
      the other dials keep the values the generative model gave them, so
      it is not conditioning on the dial.
    * :meth:`intervene` re-renders the face once per value (unlike
      :func:`intervene`, which sweeps from the face's own value to ``to``);
      it takes no options.
    * :meth:`split` builds the one split, ``"balanced"``, from a key of
      :data:`PORTRAITS_PRESETS` (or such a dict) with
      :func:`make_split_from_preset`.
    """

    name = "portraits"
    classes = CLASS_NAMES
    properties = unit_properties(PROPERTY_NAMES, circular=("background",))
    params_type = PortraitParams
    splits = SPLITS
    presets = tuple(PORTRAITS_PRESETS)
    _render_batch = staticmethod(render_batch)

    def _sample(
        self, labels: list[int], rng: np.random.Generator, conditions: dict[str, Any]
    ) -> list[PortraitParams]:
        faces = sample_balanced(max(labels.count(0), labels.count(1)), rng)
        by_label = {0: iter(faces[0::2]), 1: iter(faces[1::2])}
        records = [next(by_label[label]) for label in labels]
        return self._set_properties(records, rng, conditions)

    def _metadata(self, record: PortraitParams) -> dict[str, Any]:
        return {"world": self.name, "label_name": record.label_name}

    def _make_split(self, name: str, preset: Any, seed: int | None, **options: bool) -> Split:
        if seed is not None:
            preset = PORTRAITS_PRESETS.get(preset, preset) if isinstance(preset, str) else preset
            if not isinstance(preset, str):  # an unknown name fails below
                preset = {**preset, "seed": int(seed)}
        return make_split_from_preset(preset, **options)


#: The portrait world (the entry ``"portraits"`` of :data:`propgrad.worlds.WORLDS`).
WORLD = PortraitWorld()
