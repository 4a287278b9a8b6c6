"""A procedural dermoscopy world with a planted colourful-patch bias.

Every image is a cartoon dermoscopy photo of one skin lesion, rendered from a
:class:`LesionParams` record with numpy coordinate grids (no per-pixel Python
loops):

* **The ABCD cues carry the label.** Dermatologists screen pigmented lesions
  by Asymmetry, Border irregularity, Colour variegation and Diameter. Each is a
  continuous "melanoma-ness" value in [0, 1] here: ``asymmetry`` bends the
  outline with low-order harmonics and moves the darkest pigment off-centre,
  ``border`` adds high-frequency notches and makes the edge stop abruptly,
  ``colour`` paints in zones of black-brown, blue-grey, red and pale
  (regression-like) pigment, and ``diameter`` sets the lesion's size. Nevi
  (label 0) and melanomas (label 1) draw every cue from class-conditional
  ranges that overlap (``overlap``), so no single cue separates the classes.
* **Skin and optics are nuisance.** Skin tone and redness, fine skin texture
  and furrows, the lens' dark circular field of view (the vignette typical of
  contact dermoscopy), hairs, pigment network, lesion position, rotation and
  elongation vary independently of the label.
* **Colourful patches are the planted shortcut.** Round or oval adhesive dots
  in saturated colours (like the ones a study of nevi in children stuck next
  to the lesions, which made their way into the ISIC archive) sit beside the
  lesion, never on it. In the ``biased`` split half of the nevi carry one or
  more of them and melanomas never do; the ``unbiased`` split has none.

A patch (:class:`Patch`) exists on its own: :func:`patch_layer` renders its
colour and its anti-aliased coverage mask at image size wherever it is placed,
so any patch can be blended into any image. Patches are drawn from named pools
(:func:`patch_pool`): the training images, the test images and the
interventions each use their own pool, so the patches used to intervene were
never seen in training or testing (as in the paper).

Because an image is a pure function of its parameters (all noise comes from
``seed`` in a fixed order), an image with patches is bit-identical to the
image without them with the patch layers alpha-blended in at ``alpha = 1``
(:func:`render` composites them with exactly the formula of
:func:`propgrad.interventions.designed.alpha_blend_sweep`). :func:`intervene`
is the paper's synthetic intervention: it blends one segmented patch into an
image with alpha growing from 0 to 1. Which melanomas get which patches (the
paper's design) is the skin-lesion chapter's business
(:mod:`propgrad.chapters.skin_lesions`); the world knows nothing of models.

Under the :class:`~propgrad.worlds.base.World` protocol (:data:`WORLD`, a
:class:`SkinLesionWorld`) the patch is a continuous property, its opacity: a
:class:`PatchedLesion` (built by :func:`with_patch`) is a lesion image that
carries one more patch and the opacity at which it is blended in, so the
patch intervention is an exact sweep of that opacity like any ABCD cue.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np

from propgrad.sweep import Sweep
from propgrad.worlds.base import Split, World, copy_preset, unit_properties
from propgrad.worlds.drawing import to_uint8 as _to_uint8
from propgrad.worlds.drawing import validate_unit as _validate_unit
from propgrad.worlds.exact import exact_sweep

#: Class names by label index (0 = nevus, the benign class).
CLASS_NAMES = ("nevus", "melanoma")

#: Names of the two kinds of split (appendix C of the paper).
SPLITS = ("unbiased", "biased")

#: The patch pools: one for training images, one for test images, one for
#: interventions. They never share a patch.
POOLS = ("train", "test", "intervention")

#: The ABCD properties and readable axis labels.
ABCD_PROPERTIES = {
    "asymmetry": "asymmetry (0 = symmetric, 1 = strongly asymmetric)",
    "border": "border irregularity (0 = smooth, 1 = notched)",
    "colour": "colour variegation (0 = one brown, 1 = many colours)",
    "diameter": "diameter (0 = small, 1 = large)",
}

#: Axis label of the patch intervention.
PATCH_GRID_NAME = "patch opacity (alpha)"

#: Default world settings (see :func:`sample_params` and :func:`make_split`).
WORLD_DEFAULTS: dict[str, Any] = {
    "overlap": 0.5,
    "hair_rate": 0.3,
    "pixel_noise": 0.02,
    "patch_rate": 0.5,
    "max_patches": 2,
    "patch_pool_size": 64,
    "patch_scale": 1.0,
}

#: Smallest image size the renderer supports (keeps the patch-lesion gap
#: wider than the anti-aliasing ramp).
MIN_SIZE = 16

# Saturated colours of adhesive dots (RGB in [0, 1]).
PATCH_COLOURS = {
    "blue": (0.12, 0.36, 0.86),
    "green": (0.18, 0.68, 0.30),
    "yellow": (0.96, 0.86, 0.14),
    "orange": (0.97, 0.52, 0.10),
    "pink": (0.96, 0.42, 0.68),
    "red": (0.86, 0.14, 0.20),
    "purple": (0.56, 0.30, 0.80),
    "cyan": (0.16, 0.76, 0.86),
}

_MAX_HAIRS = 6
_HARMONICS = (1, 2, 3, 5, 7, 9, 11, 13)  # outline harmonics: asymmetry, then border
_N_LOW, _N_HIGH = 3, 5
_ASYM_AMP, _BORDER_AMP = 0.3, 0.2
_GAP = 0.1  # clearance between a patch and the lesion (normalised units)
_PATCH_GAP = 0.05  # clearance between two patches

_SKIN_LIGHT = np.array([0.94, 0.77, 0.68], dtype=np.float32)
_SKIN_DARK = np.array([0.66, 0.46, 0.34], dtype=np.float32)
_PIGMENT_LIGHT = np.array([0.68, 0.47, 0.33], dtype=np.float32)
_PIGMENT_DARK = np.array([0.40, 0.24, 0.15], dtype=np.float32)
# Variegation zones, painted in this order (later ones on top).
_ZONE_COLOURS = np.array(
    [
        [0.76, 0.34, 0.34],  # red
        [0.86, 0.80, 0.78],  # pale, regression-like
        [0.44, 0.49, 0.58],  # blue-grey veil
        [0.13, 0.07, 0.06],  # black-brown
    ],
    dtype=np.float32,
)
_ZONE_WEIGHTS = np.array([0.5, 0.5, 0.6, 0.95], dtype=np.float32)
_ZONE_LOW = (0.2, 0.3, 0.25, -0.05)  # where each zone starts (higher = smaller zone)
_HAIR_COLOUR = np.array([0.10, 0.07, 0.05], dtype=np.float32)


# ----------------------------------------------------------------------------
# parameter records
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Patch:
    """One colourful adhesive dot, independent of any lesion image.

    Lengths and positions are in normalised image coordinates: the image spans
    [-1, 1] on both axes (y grows downwards).

    Parameters
    ----------
    patch_id : str
        Unique name, ``"<pool>-s<seed>-<index>"``.
    colour_name : str
        Key of :data:`PATCH_COLOURS` it was drawn from.
    colour : tuple of float
        RGB in [0, 1] (the named colour with a small jitter).
    rx, ry : float
        Semi-axes of the dot.
    angle : float
        Rotation of the dot in radians.
    shine : float
        Strength of the specular highlight in [0, 1].
    rim : float
        Darkening towards the dot's edge in [0, 1].
    seed : int
        Seed of the dot's own fine texture.
    cx, cy : float or None
        Centre of the dot; ``None`` for a pool patch not yet placed (see
        :func:`place_patch`).
    """

    patch_id: str
    colour_name: str
    colour: tuple[float, float, float]
    rx: float
    ry: float
    angle: float = 0.0
    shine: float = 0.3
    rim: float = 0.2
    seed: int = 0
    cx: float | None = None
    cy: float | None = None

    @property
    def placed(self) -> bool:
        """Whether the patch has a position."""
        return self.cx is not None and self.cy is not None

    @property
    def radius(self) -> float:
        """The larger semi-axis (a bound on the dot's extent)."""
        return max(self.rx, self.ry)

    def at(self, cx: float | None, cy: float | None) -> Patch:
        """Return the same patch centred at ``(cx, cy)`` (``None`` unplaces it)."""
        return replace(
            self,
            cx=None if cx is None else float(cx),
            cy=None if cy is None else float(cy),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the patch as a JSON-serialisable dict."""
        record = asdict(self)
        record["colour"] = list(record["colour"])
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Patch:
        """Rebuild a patch from :meth:`to_dict` output."""
        record = dict(record)
        record["colour"] = tuple(float(v) for v in record["colour"])
        return cls(**record)


@dataclass
class LesionParams:
    """Everything needed to render one image of the dermoscopy world.

    Positions and lengths are in normalised image coordinates (the image spans
    [-1, 1] on both axes, y grows downwards).

    Parameters
    ----------
    label : int
        0 = nevus, 1 = melanoma.
    asymmetry, border, colour, diameter : float
        The ABCD cues in [0, 1] (0 = benign-looking, 1 = melanoma-looking).
    cx, cy : float
        Lesion centre.
    angle : float
        Lesion rotation in radians.
    elongation : float
        Ratio of the lesion's long to short axis (at least 1).
    pigment : float
        Base pigment darkness in [0, 1] (light tan to dark brown).
    fade : float
        How gradually the pigment fades out at the border, in [0, 1].
    network : float
        Strength of the reticular pigment network in [0, 1].
    skin_tone : float
        0 = light, 1 = dark skin.
    skin_red : float
        Redness of the skin in [-1, 1].
    fov : float
        Radius at which the dark circular field of view of the dermoscope
        starts (about 1.6 or more leaves the corners bright).
    vignette : float
        Darkness outside the field of view, in [0, 1].
    n_hairs : int
        Number of hairs (0 to 6).
    pixel_noise : float
        Standard deviation of the additive pixel noise (in [0, 1] units).
    seed : int
        Seed of all textures, shape harmonics, hair geometry and pixel noise.
    patches : tuple of Patch
        Colourful patches on the image (placed), composited last.
    """

    label: int
    asymmetry: float
    border: float
    colour: float
    diameter: float
    cx: float = 0.0
    cy: float = 0.0
    angle: float = 0.0
    elongation: float = 1.1
    pigment: float = 0.5
    fade: float = 0.5
    network: float = 0.5
    skin_tone: float = 0.3
    skin_red: float = 0.0
    fov: float = 1.3
    vignette: float = 0.8
    n_hairs: int = 0
    pixel_noise: float = 0.02
    seed: int = 0
    patches: tuple[Patch, ...] = field(default_factory=tuple)

    @property
    def diagnosis(self) -> str:
        """The class name, ``"nevus"`` or ``"melanoma"``."""
        return CLASS_NAMES[self.label]

    @property
    def abcd(self) -> tuple[float, float, float, float]:
        """The four ABCD cues ``(asymmetry, border, colour, diameter)``."""
        return (self.asymmetry, self.border, self.colour, self.diameter)

    @property
    def lesion_radius(self) -> float:
        """Base radius of the lesion (before harmonics and elongation)."""
        return 0.14 + 0.26 * self.diameter

    @property
    def lesion_extent(self) -> float:
        """Distance from the lesion centre beyond which no lesion pixel lies."""
        bump = 1.0 + _ASYM_AMP * self.asymmetry + _BORDER_AMP * self.border
        return self.lesion_radius * bump * math.sqrt(self.elongation)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-serialisable dict."""
        record = asdict(self)
        record["patches"] = [patch.to_dict() for patch in self.patches]
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> LesionParams:
        """Rebuild parameters from :meth:`to_dict` output."""
        record = dict(record)
        record["patches"] = tuple(Patch.from_dict(p) for p in record.get("patches", ()))
        return cls(**record)


@dataclass
class PatchedLesion(LesionParams):
    """A lesion image with one more patch, blended in at opacity ``patch``.

    This is how the colourful patch becomes a continuous property of the
    world (:class:`SkinLesionWorld`): :func:`render` draws the lesion image
    (with its own ``patches``) and then blends ``overlay`` in with weight
    ``patch`` inside its coverage mask, by the formula of
    :func:`propgrad.interventions.designed.alpha_blend_sweep`. So
    ``dataclasses.replace(scene, patch=a)`` renders to frame ``a`` of the
    patch intervention (:func:`intervene`), at ``patch = 0`` to the lesion
    image itself and at ``patch = 1`` to the image with the overlay added to
    ``patches``. Build one with :func:`with_patch`. (:func:`patch_mask`
    covers ``patches`` only, not the overlay.)

    Parameters
    ----------
    overlay : Patch
        The patch to blend in, placed (keyword only).
    patch : float, optional
        Its opacity in [0, 1] (keyword only; default 1).
    """

    overlay: Patch = field(kw_only=True)
    patch: float = field(default=1.0, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.overlay, Patch):
            raise ValueError(
                f"overlay must be a Patch (see patch_pool), got {type(self.overlay).__name__}"
            )
        if not self.overlay.placed:
            raise ValueError(
                f"patch {self.overlay.patch_id} has no position; place it with with_patch()"
            )
        self.patch = _validate_unit("patch", self.patch)

    @property
    def lesion(self) -> LesionParams:
        """The lesion image without the overlay."""
        return LesionParams(**{f.name: getattr(self, f.name) for f in fields(LesionParams)})

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-serialisable dict."""
        return {**self.lesion.to_dict(), "overlay": self.overlay.to_dict(), "patch": self.patch}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> PatchedLesion:
        """Rebuild parameters from :meth:`to_dict` output."""
        record = dict(record)
        overlay = Patch.from_dict(record.pop("overlay"))
        alpha = record.pop("patch", 1.0)
        return with_patch(LesionParams.from_dict(record), overlay, alpha, place=False)


# ----------------------------------------------------------------------------
# validation and sampling
# ----------------------------------------------------------------------------


def _validate_label(label: Any) -> int:
    if isinstance(label, str):
        if label not in CLASS_NAMES:
            raise ValueError(f"diagnosis must be 'nevus' or 'melanoma', got {label!r}")
        return CLASS_NAMES.index(label)
    if int(label) not in (0, 1):
        raise ValueError(f"label must be 0 (nevus) or 1 (melanoma), got {label!r}")
    return int(label)


def _validate_size(size: int) -> int:
    if int(size) != size or size < MIN_SIZE:
        raise ValueError(f"size must be an integer of at least {MIN_SIZE} pixels, got {size}")
    return int(size)


def _validate_n_steps(n_steps: int) -> int:
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 2:
        raise ValueError(f"n_steps must be an integer of at least 2 (alpha 0 and 1), got {n_steps}")
    return int(n_steps)


def _world_settings(world: dict[str, Any] | None) -> dict[str, Any]:
    cfg = {**WORLD_DEFAULTS, **(world or {})}
    unknown = set(cfg) - set(WORLD_DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown world settings: {sorted(unknown)}; known are {sorted(WORLD_DEFAULTS)}"
        )
    _validate_unit("overlap", cfg["overlap"])
    _validate_unit("hair_rate", cfg["hair_rate"])
    _validate_unit("patch_rate", cfg["patch_rate"])
    if int(cfg["max_patches"]) < 1:
        raise ValueError(f"max_patches must be at least 1, got {cfg['max_patches']}")
    if not float(cfg["patch_scale"]) > 0:
        raise ValueError(f"patch_scale must be positive, got {cfg['patch_scale']}")
    if int(cfg["patch_pool_size"]) < int(cfg["max_patches"]):
        raise ValueError(
            f"patch_pool_size ({cfg['patch_pool_size']}) must be at least max_patches "
            f"({cfg['max_patches']})"
        )
    return cfg


def sample_params(
    rng: np.random.Generator,
    label: int | str,
    *,
    overlap: float = WORLD_DEFAULTS["overlap"],
    hair_rate: float = WORLD_DEFAULTS["hair_rate"],
    pixel_noise: float = WORLD_DEFAULTS["pixel_noise"],
) -> LesionParams:
    """Draw the parameters of one random nevus or melanoma (without patches).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    label : int or str
        0 or ``"nevus"``, 1 or ``"melanoma"``.
    overlap : float, optional
        Overlap of the class-conditional ABCD distributions, in [0, 1]. Each
        cue is uniform on ``[0, (1 + o) / 2]`` for nevi and on
        ``[(1 - o) / 2, 1]`` for melanomas: 0 separates the classes by every
        cue, 1 makes the cues carry no information. With the default 0.5 the
        best possible accuracy from the four cues is about 90 %.
    hair_rate : float, optional
        Probability that the image shows hairs (then 1 to 6 of them).
    pixel_noise : float, optional
        Standard deviation of the additive pixel noise.

    Returns
    -------
    LesionParams
        The drawn parameters.

    Raises
    ------
    ValueError
        If the label, ``overlap`` or ``hair_rate`` is out of range.
    """
    label = _validate_label(label)
    overlap = _validate_unit("overlap", overlap)
    hair_rate = _validate_unit("hair_rate", hair_rate)
    lo, hi = (0.0, (1.0 + overlap) / 2.0) if label == 0 else ((1.0 - overlap) / 2.0, 1.0)
    asymmetry, border, colour, diameter = (float(v) for v in rng.uniform(lo, hi, size=4))
    has_fov = rng.uniform() < 0.7
    fov = float(rng.uniform(1.05, 1.3)) if has_fov else float(rng.uniform(1.6, 1.8))
    n_hairs = int(rng.integers(1, _MAX_HAIRS + 1)) if rng.uniform() < hair_rate else 0
    return LesionParams(
        label=label,
        asymmetry=asymmetry,
        border=border,
        colour=colour,
        diameter=diameter,
        cx=float(rng.uniform(-0.08, 0.08)),
        cy=float(rng.uniform(-0.08, 0.08)),
        angle=float(rng.uniform(0.0, math.pi)),
        elongation=float(rng.uniform(1.0, 1.25)),
        pigment=float(rng.uniform()),
        fade=float(rng.uniform()),
        network=float(rng.uniform()),
        skin_tone=float(rng.beta(2.0, 3.0)),
        skin_red=float(rng.uniform(-1.0, 1.0)),
        fov=fov,
        vignette=float(rng.uniform(0.75, 1.0)),
        n_hairs=n_hairs,
        pixel_noise=float(pixel_noise),
        seed=int(rng.integers(2**31 - 1)),
    )


def _pool_index(pool: str) -> int:
    if pool not in POOLS:
        raise ValueError(f"unknown patch pool {pool!r}; choose one of {POOLS}")
    return POOLS.index(pool)


def patch_pool(
    n: int, seed: int = 0, pool: str = "intervention", *, scale: float = 1.0
) -> list[Patch]:
    """Draw a pool of colourful patches (not yet placed on any image).

    Each pool draws from its own random stream, so the ``"train"``,
    ``"test"`` and ``"intervention"`` pools of the same seed share no patch
    (their ids differ too). Colours, sizes and shapes follow the same
    distribution in every pool: patches seen in training look like the ones
    used for interventions without being the same ones.

    Parameters
    ----------
    n : int
        Number of patches.
    seed : int, optional
        Seed of the pool.
    pool : {"train", "test", "intervention"}, optional
        Which pool.
    scale : float, optional
        Factor on every dot's size (the semi-axes are drawn from 0.08 to 0.15
        normalised units, times ``scale``); the same dots otherwise.

    Returns
    -------
    list of Patch
        Unplaced patches with ids ``"<pool>-s<seed>-<index>"``.

    Raises
    ------
    ValueError
        For an unknown pool or a negative ``n``.
    """
    index = _pool_index(pool)
    if int(n) != n or n < 0:
        raise ValueError(f"the pool size must be a non-negative integer, got {n}")
    if not float(scale) > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    rng = np.random.default_rng([int(seed), 1000 + index])
    names = list(PATCH_COLOURS)
    out = []
    for i in range(int(n)):
        name = names[int(rng.integers(len(names)))]
        jitter = rng.uniform(-0.05, 0.05, size=3)
        colour = tuple(float(v) for v in np.clip(np.array(PATCH_COLOURS[name]) + jitter, 0, 1))
        r = float(rng.uniform(0.08, 0.15)) * float(scale)
        aspect = float(rng.uniform(0.8, 1.0)) if rng.uniform() < 0.5 else 1.0
        out.append(
            Patch(
                patch_id=f"{pool}-s{int(seed)}-{i:04d}",
                colour_name=name,
                colour=colour,
                rx=r,
                ry=r * aspect,
                angle=float(rng.uniform(0.0, math.pi)),
                shine=float(rng.uniform(0.1, 0.5)),
                rim=float(rng.uniform(0.0, 0.35)),
                seed=int(rng.integers(2**31 - 1)),
            )
        )
    return out


def place_patch(
    patch: Patch,
    params: LesionParams,
    seed: int = 0,
    *,
    n_candidates: int = 2048,
) -> Patch:
    """Put a patch beside the lesion of an image, touching neither lesion nor patches.

    Candidate centres are drawn at random; the first one is taken whose dot
    lies inside the image and inside the bright field of view, keeps a gap of
    0.1 (normalised units) to the lesion's outer bound
    (:attr:`LesionParams.lesion_extent`) and a gap of 0.05 to every patch the
    image already carries.

    Parameters
    ----------
    patch : Patch
        The patch (placed or not; its old position is ignored).
    params : LesionParams
        The image to place it on.
    seed : int, optional
        Seed of the candidate positions.
    n_candidates : int, optional
        How many random centres to try.

    Returns
    -------
    Patch
        The patch with ``cx`` and ``cy`` set.

    Raises
    ------
    ValueError
        If no candidate position is free.
    """
    rng = np.random.default_rng([int(seed), 77])
    r = patch.radius
    limit = max(0.98 - r, 0.0)
    xy = rng.uniform(-limit, limit, size=(int(n_candidates), 2))
    ok = np.hypot(xy[:, 0], xy[:, 1]) <= params.fov - r
    ok &= r < 0.98  # a dot as wide as the image fits nowhere
    ok &= np.hypot(xy[:, 0] - params.cx, xy[:, 1] - params.cy) >= params.lesion_extent + r + _GAP
    for other in params.patches:
        if other.placed:
            clearance = other.radius + r + _PATCH_GAP
            ok &= np.hypot(xy[:, 0] - other.cx, xy[:, 1] - other.cy) >= clearance
    hits = np.flatnonzero(ok)
    if hits.size == 0:
        raise ValueError(
            f"no free place for patch {patch.patch_id} (radius {r:.2f}) beside a lesion of "
            f"extent {params.lesion_extent:.2f} with {len(params.patches)} patch(es) already on it"
        )
    cx, cy = xy[hits[0]]
    return patch.at(float(cx), float(cy))


def place_or_shrink(
    patch: Patch, params: LesionParams, seed: int = 0, *, shrink: float = 0.85, tries: int = 5
) -> Patch:
    """Place a patch with :func:`place_patch`, making it smaller while there is no room.

    Large dots (``patch_scale > 1``) may not fit beside the largest lesions;
    such a dot is shrunk by ``shrink`` (both semi-axes) and placed again, up
    to ``tries`` times.

    Parameters
    ----------
    patch : Patch
        The patch.
    params : LesionParams
        The image to place it on.
    seed : int, optional
        Seed of the candidate positions (the same for every try).
    shrink : float, optional
        Factor on the semi-axes per try, in (0, 1).
    tries : int, optional
        How often to shrink before giving up.

    Returns
    -------
    Patch
        The (possibly smaller) patch with a position.

    Raises
    ------
    ValueError
        If even the smallest try finds no room.
    """
    for _ in range(int(tries)):
        try:
            return place_patch(patch, params, seed)
        except ValueError:
            patch = replace(patch, rx=patch.rx * float(shrink), ry=patch.ry * float(shrink))
    return place_patch(patch, params, seed)


def with_patch(
    params: LesionParams,
    patch: Patch,
    alpha: float = 1.0,
    *,
    seed: int = 0,
    place: bool | None = None,
) -> PatchedLesion:
    """Return the image with ``patch`` to blend in at opacity ``alpha``.

    Parameters
    ----------
    params : LesionParams
        The image (for a :class:`PatchedLesion`, its overlay is replaced).
    patch : Patch
        The patch, e.g. from ``patch_pool(n, pool="intervention")``.
    alpha : float, optional
        Its opacity in [0, 1] (the ``patch`` property).
    seed : int, optional
        Seed of the position search when the patch is placed here.
    place : bool, optional
        Place the patch beside this image's lesion with
        :func:`place_or_shrink`. By default an unplaced patch is placed and
        a placed one kept where it is (as :func:`intervene` does).

    Returns
    -------
    PatchedLesion
        The image's parameters with ``overlay`` and ``patch`` set.

    Raises
    ------
    ValueError
        If ``patch`` is not a :class:`Patch`, has no position with
        ``place=False``, finds no free position, or ``alpha`` is outside
        [0, 1].
    """
    if not isinstance(patch, Patch):
        raise ValueError(f"patch must be a Patch (see patch_pool), got {type(patch).__name__}")
    lesion = params.lesion if isinstance(params, PatchedLesion) else params
    if place is None:
        place = not patch.placed
    placed = place_or_shrink(patch, lesion, seed) if place else patch
    if not placed.placed:
        raise ValueError(f"patch {patch.patch_id} has no position; pass place=True")
    fields_ = {f.name: getattr(lesion, f.name) for f in fields(LesionParams)}
    return PatchedLesion(**fields_, overlay=placed, patch=alpha)


# ----------------------------------------------------------------------------
# rendering helpers
# ----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    coords = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
    y, x = np.meshgrid(coords, coords, indexing="ij")
    y.setflags(write=False)
    x.setflags(write=False)
    return y, x


@lru_cache(maxsize=32)
def _interp(cells: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(size) + 0.5) / size * cells
    i0 = np.minimum(t.astype(int), cells - 1)
    f = (t - i0).astype(np.float32)
    return i0, f * f * (3.0 - 2.0 * f)


def _value_noise(lattice: np.ndarray, size: int) -> np.ndarray:
    """Smooth noise in [-1, 1] from a (cells+1)^2 lattice, bicubic-ish upsampled."""
    cells = lattice.shape[0] - 1
    i0, f = _interp(cells, size)
    rows = lattice[i0] * (1.0 - f)[:, None] + lattice[i0 + 1] * f[:, None]
    return rows[:, i0] * (1.0 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass
class _Draws:
    """Every random draw of one image, in a fixed order (size-independent lattices)."""

    skin_coarse: np.ndarray
    skin_fine: np.ndarray
    furrow: np.ndarray
    zones: np.ndarray
    net: np.ndarray
    phases: np.ndarray
    weights: np.ndarray
    pigment_dir: float
    hairs: np.ndarray
    pixel: np.ndarray


def _draw(seed: int, size: int) -> _Draws:
    rng = np.random.default_rng(seed)

    def lattice(cells: int) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)

    skin_coarse = lattice(3)
    skin_fine = lattice(24)
    furrow = lattice(5)
    zones = np.stack([lattice(4) for _ in range(4)])
    net = lattice(6)
    phases = rng.uniform(0.0, 2.0 * math.pi, size=_N_LOW + _N_HIGH).astype(np.float32)
    weights = rng.uniform(0.4, 1.0, size=_N_LOW + _N_HIGH).astype(np.float32)
    pigment_dir = float(rng.uniform(0.0, 2.0 * math.pi))
    hairs = rng.uniform(size=(_MAX_HAIRS, 7))
    pixel = rng.standard_normal((size, size, 3), dtype=np.float32)
    return _Draws(
        skin_coarse, skin_fine, furrow, zones, net, phases, weights, pigment_dir, hairs, pixel
    )


def _lesion_layers(
    p: LesionParams, size: int, d: _Draws, y: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the lesion's opacity (H, W) and its colour (H, W, 3)."""
    c, s = math.cos(p.angle), math.sin(p.angle)
    dx, dy = x - np.float32(p.cx), y - np.float32(p.cy)
    stretch = math.sqrt(p.elongation)
    u = (c * dx + s * dy) / stretch
    v = (-s * dx + c * dy) * stretch
    r = np.sqrt(u * u + v * v)
    theta = np.arctan2(v, u)

    # outline: base radius (D), low harmonics (A), high harmonics (B)
    w_low = d.weights[:_N_LOW] / d.weights[:_N_LOW].sum()
    w_high = d.weights[_N_LOW:] / d.weights[_N_LOW:].sum()
    low = sum(w * np.cos(k * theta + ph) for k, w, ph in zip(_HARMONICS, w_low, d.phases))
    high = sum(
        w * np.cos(k * theta + ph)
        for k, w, ph in zip(_HARMONICS[_N_LOW:], w_high, d.phases[_N_LOW:])
    )
    radius = p.lesion_radius * (1.0 + _ASYM_AMP * p.asymmetry * low + _BORDER_AMP * p.border * high)
    # the pigment fades inwards from the outline; an irregular border stops abruptly
    width = p.lesion_radius * (0.06 + 0.45 * p.fade * (1.0 - 0.85 * p.border))
    width = max(width, 2.0 / size)
    opacity = np.clip((radius - r) / np.float32(width), 0.0, 1.0)
    opacity = opacity * opacity * (3.0 - 2.0 * opacity)

    # base pigment, darker towards a centre that asymmetry moves off the middle
    base = _PIGMENT_LIGHT + p.pigment * (_PIGMENT_DARK - _PIGMENT_LIGHT)
    off = 0.5 * p.asymmetry * p.lesion_radius
    pu = u - np.float32(off * math.cos(d.pigment_dir))
    pv = v - np.float32(off * math.sin(d.pigment_dir))
    core = np.exp(-(pu * pu + pv * pv) / np.float32(2.0 * (0.55 * p.lesion_radius) ** 2))
    rgb = base[None, None, :] * (1.0 - 0.35 * core)[..., None]

    # pigment network: a faint darker mesh
    wobble = 1.2 * _value_noise(d.net, size)
    freq = 7.0 / (0.5 * p.lesion_radius + 0.2)
    mesh = np.abs(np.sin(freq * u + wobble)) * np.abs(np.sin(freq * v - wobble))
    rgb = rgb * (1.0 - 0.25 * p.network * _smoothstep(0.15, 0.0, mesh))[..., None]

    # colour variegation: zones of red, pale, blue-grey and black-brown pigment
    for zone, colour, weight, lo in zip(d.zones, _ZONE_COLOURS, _ZONE_WEIGHTS, _ZONE_LOW):
        amount = p.colour * weight * _smoothstep(lo, lo + 0.4, _value_noise(zone, size))
        rgb = rgb + amount[..., None] * (colour - rgb)
    return opacity.astype(np.float32), rgb.astype(np.float32)


def _base_image(p: LesionParams, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render the image without patches: float RGB (H, W, 3) and lesion opacity."""
    d = _draw(p.seed, size)
    y, x = _grid(size)
    # skin: tone and redness, coarse blotches, fine texture, faint furrows
    skin = _SKIN_LIGHT + p.skin_tone * (_SKIN_DARK - _SKIN_LIGHT)
    skin = skin * (1.0 + 0.05 * p.skin_red * np.array([1.0, -0.6, -0.4], dtype=np.float32))
    texture = (
        1.0 + 0.05 * _value_noise(d.skin_coarse, size) + 0.035 * _value_noise(d.skin_fine, size)
    )
    furrows = np.abs(np.sin(9.0 * (x + 0.6 * y) + 2.5 * _value_noise(d.furrow, size)))
    texture = texture - 0.03 * _smoothstep(0.25, 0.0, furrows)
    image = skin[None, None, :] * texture[..., None]

    opacity, lesion = _lesion_layers(p, size, d, y, x)
    image = image + opacity[..., None] * (lesion - image)

    # hairs: thin, slightly bent dark strands over skin and lesion
    ppu = size / 2.0
    for h in d.hairs[: p.n_hairs]:
        hx, hy = 2.0 * h[0] - 1.0, 2.0 * h[1] - 1.0
        phi = h[2] * math.pi
        length = 0.8 + 1.6 * h[3]
        bend = (h[4] - 0.5) * 1.2
        half_width = (0.35 + 0.45 * h[5]) / ppu
        darkness = 0.55 + 0.4 * h[6]
        t = (x - hx) * math.cos(phi) + (y - hy) * math.sin(phi)
        n = -(x - hx) * math.sin(phi) + (y - hy) * math.cos(phi) - bend * t * t / 2.0
        cover = np.clip(0.5 + (half_width - np.abs(n)) * ppu, 0.0, 1.0)
        cover = cover * _smoothstep(length / 2.0, length / 2.0 - 0.1, np.abs(t))
        image = image + (darkness * cover)[..., None] * (_HAIR_COLOUR - image)

    # optics: a soft lens falloff and the dark circular field of view
    rr = np.sqrt(x * x + y * y)
    light = 1.0 - 0.1 * rr * rr
    light = light * (1.0 - p.vignette * _smoothstep(p.fov, p.fov + 0.3, rr))
    image = image * light[..., None] + np.float32(p.pixel_noise) * d.pixel
    return np.clip(image, 0.0, 1.0), opacity


def _blend(base: np.ndarray, top: np.ndarray, mask: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Composite like :func:`alpha_blend_sweep` at ``alpha`` (bit-identical)."""
    weight = alpha * mask[:, :, None]
    out = base.astype(float) + weight * (top.astype(float) - base.astype(float))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------
# public rendering
# ----------------------------------------------------------------------------


def patch_layer(patch: Patch, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Render a placed patch on its own: its colour and its coverage mask.

    Parameters
    ----------
    patch : Patch
        A placed patch (``cx`` and ``cy`` set).
    size : int, optional
        Width and height in pixels.

    Returns
    -------
    rgb : ndarray
        uint8 (size, size, 3): the dot's colour with dome shading, darker rim,
        a highlight and a faint texture (meaningful where the mask is > 0).
    mask : ndarray
        float64 (size, size) coverage in [0, 1], anti-aliased over one pixel;
        exactly 0 farther than half a pixel outside the dot.

    Raises
    ------
    ValueError
        If the patch has not been placed.
    """
    size = _validate_size(size)
    if not patch.placed:
        raise ValueError(
            f"patch {patch.patch_id} has no position; place it first with place_patch() "
            "or patch.at(cx, cy)"
        )
    y, x = _grid(size)
    c, s = math.cos(patch.angle), math.sin(patch.angle)
    dx, dy = x - np.float32(patch.cx), y - np.float32(patch.cy)
    u = c * dx + s * dy
    v = -s * dx + c * dy
    k = np.sqrt((u / patch.rx) ** 2 + (v / patch.ry) ** 2)
    sd = (k - 1.0) * min(patch.rx, patch.ry)
    mask = np.clip(0.5 - sd.astype(float) * (size / 2.0), 0.0, 1.0)

    rng = np.random.default_rng(patch.seed)
    grain = _value_noise(rng.uniform(-1.0, 1.0, size=(17, 17)).astype(np.float32), size)
    colour = np.asarray(patch.colour, dtype=np.float32)
    shade = (1.0 - 0.12 * np.minimum(k, 1.0) ** 2) * (1.0 - patch.rim * _smoothstep(0.7, 1.0, k))
    shade = shade * (1.0 + 0.03 * grain)
    rgb = colour[None, None, :] * shade[..., None]
    hu, hv = u + 0.35 * patch.rx, v + 0.35 * patch.ry
    glint = patch.shine * np.exp(-(hu * hu + hv * hv) / np.float32(2.0 * (0.22 * patch.rx) ** 2))
    rgb = rgb + glint[..., None] * (1.0 - rgb)
    return _to_uint8(np.clip(rgb, 0.0, 1.0)), mask


def render(params: LesionParams, size: int = 64) -> np.ndarray:
    """Render one image.

    The image without patches is rendered in floating point and rounded to
    uint8; each patch of ``params.patches`` is then blended in with its
    :func:`patch_layer` at ``alpha = 1``. For a :class:`PatchedLesion` its
    ``overlay`` is blended in last, at ``alpha = params.patch``.

    Parameters
    ----------
    params : LesionParams
        The sample to draw.
    size : int, optional
        Width and height in pixels (at least 16).

    Returns
    -------
    ndarray
        uint8 image of shape (size, size, 3). The same parameters always give
        the same image.
    """
    size = _validate_size(size)
    image, _ = _base_image(params, size)
    out = _to_uint8(image)
    for patch in params.patches:
        rgb, mask = patch_layer(patch, size)
        out = _blend(out, rgb, mask)
    if isinstance(params, PatchedLesion):
        rgb, mask = patch_layer(params.overlay, size)
        out = _blend(out, rgb, mask, params.patch)
    return out


def lesion_mask(params: LesionParams, size: int = 64) -> np.ndarray:
    """Return the lesion's opacity: 1 inside, fading to exactly 0 at its outline.

    Parameters
    ----------
    params : LesionParams
        The sample.
    size : int, optional
        Width and height in pixels.

    Returns
    -------
    ndarray
        float32 array (size, size) in [0, 1].
    """
    size = _validate_size(size)
    return _base_image(params, size)[1]


def patch_mask(params: LesionParams, size: int = 64) -> np.ndarray:
    """Return the union of the coverage masks of an image's patches.

    Parameters
    ----------
    params : LesionParams
        The sample.
    size : int, optional
        Width and height in pixels.

    Returns
    -------
    ndarray
        float64 array (size, size) in [0, 1]; all zeros without patches.
    """
    size = _validate_size(size)
    union = np.zeros((size, size))
    for patch in params.patches:
        union = np.maximum(union, patch_layer(patch, size)[1])
    return union


def render_batch(
    params: Sequence[LesionParams], size: int = 64, *, progress: bool = False
) -> np.ndarray:
    """Render many images into one array.

    Coordinate grids and interpolation weights are cached per size, so each
    image costs only its own draws and array operations.

    Parameters
    ----------
    params : sequence of LesionParams
        The samples.
    size : int, optional
        Width and height in pixels.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    ndarray
        uint8 array of shape (N, size, size, 3), equal to rendering each
        sample with :func:`render`.
    """
    size = _validate_size(size)
    out = np.empty((len(params), size, size, 3), dtype=np.uint8)
    items: Iterable[tuple[int, LesionParams]] = enumerate(params)
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
    params: LesionParams,
    patch: Patch,
    n_steps: int = 11,
    *,
    size: int = 64,
    seed: int = 0,
    place: bool | None = None,
) -> Sweep:
    """Blend one segmented patch into an image, alpha from 0 to 1 in equal steps.

    The paper's synthetic colourful-patch intervention (Sec. 4.2, appendix
    C), with the formula of :func:`propgrad.interventions.designed.alpha_blend_sweep`
    (bit-identical): step ``alpha`` shows ``(1 - alpha * m) * image + alpha * m * patch`` with
    ``m`` the patch's coverage mask. The first frame is the image itself, the
    last one is bit-identical to ``render`` of the image with the patch added,
    and pixels outside the mask never change.

    Parameters
    ----------
    params : LesionParams
        The image to intervene on (in the paper a correctly classified
        melanoma).
    patch : Patch
        The patch, e.g. from ``patch_pool(n, pool="intervention")``.
    n_steps : int, optional
        Number of frames, at least 2 (the paper's unit-step convention: the
        frames are equidistant in alpha).
    size : int, optional
        Image size in pixels.
    seed : int, optional
        Seed of the position search when the patch is placed here.
    place : bool, optional
        Place the patch beside this image's lesion with
        :func:`place_or_shrink` (smaller when a large dot finds no room).
        By default an unplaced patch is placed and a placed one kept where it
        is.

    Returns
    -------
    Sweep
        ``n_steps`` images; ``grid`` = alpha, ``grid_name`` =
        :data:`PATCH_GRID_NAME`; ``metadata`` holds the world, the patch id
        and record (with its position), the image size and the image's
        parameters.

    Raises
    ------
    ValueError
        If ``n_steps`` is below 2 or no free position for the patch exists.
    """
    n_steps = _validate_n_steps(n_steps)
    size = _validate_size(size)
    scene = with_patch(params, patch, seed=seed, place=place)
    return _patch_sweep(scene, np.linspace(0.0, 1.0, n_steps), size, "colourful patch")


def _patch_sweep(scene: PatchedLesion, grid: np.ndarray, size: int, name: str) -> Sweep:
    """Frames of ``scene`` with its overlay at every opacity of ``grid``.

    Frame ``a`` equals ``render(replace(scene, patch=a), size)``: the lesion
    image is rendered once and the overlay blended in by :func:`_blend`.
    """
    base = render(scene.lesion, size)
    rgb, mask = patch_layer(scene.overlay, size)
    metadata = {
        "intervention": "alpha blend of an overlay inside a mask",
        "formula": "(1 - alpha * m) * image + alpha * m * overlay",
        "mask_fraction": float(mask.mean()),
        "world": "skin_lesions",
        "property": name,
        "patch_id": scene.overlay.patch_id,
        "patch": scene.overlay.to_dict(),
        "size": int(size),
        "label": int(scene.label),
        "diagnosis": scene.diagnosis,
        "params": scene.lesion.to_dict(),
    }
    frames = [_blend(base, rgb, mask, alpha) for alpha in grid]
    return Sweep(frames, grid, PATCH_GRID_NAME, metadata)


def intervene_property(
    params: LesionParams,
    property: str,  # noqa: A002 - the natural name for the intervened property
    values: Sequence[float] | np.ndarray | int = 11,
    *,
    size: int = 64,
) -> Sweep:
    """Exact intervention ``do(X := x)`` on one ABCD cue, as a sweep.

    The sample is re-rendered once per value with only that cue replaced;
    every texture, harmonic phase and noise draw stays the same. Useful as a
    contrast to the patch intervention (a model that uses the lesion should
    react to these). Patches already on the image stay where they are (a
    larger lesion may then reach under them).

    Parameters
    ----------
    params : LesionParams
        The sample.
    property : {"asymmetry", "border", "colour", "diameter"}
        The cue to set.
    values : sequence of float or int, optional
        Strictly increasing values in [0, 1], or a number of evenly spaced
        values from 0 to 1.
    size : int, optional
        Image size in pixels.

    Returns
    -------
    Sweep
        The re-rendered images; ``grid`` = the values, ``grid_name`` from
        :data:`ABCD_PROPERTIES`.

    Raises
    ------
    ValueError
        For an unknown property, fewer than 2 values or values outside [0, 1].
    """
    return exact_sweep(
        params,
        property,
        values,
        render,
        size=size,
        grid_names=ABCD_PROPERTIES,
        metadata={"world": "skin_lesions", "diagnosis": params.diagnosis},
    )


# ----------------------------------------------------------------------------
# splits
# ----------------------------------------------------------------------------


@dataclass
class SkinLesionSplit(Split):
    """Training and test data of one split: a :class:`~propgrad.worlds.base.Split`.

    ``name`` is ``"unbiased"`` or ``"biased"``, the labels are 0 = nevus and
    1 = melanoma (``classes``), and ``params_train`` and ``params_test`` hold
    the :class:`LesionParams` of every image, for re-rendering and
    interventions.
    """

    classes: tuple[str, ...] = field(default=CLASS_NAMES, kw_only=True)

    def has_patch(self, part: str = "train") -> np.ndarray:
        """Return a boolean array: which ``"train"`` or ``"test"`` images carry patches."""
        return np.array([bool(p.patches) for p in self._params(part)], dtype=bool)

    def abcd(self, part: str = "train") -> np.ndarray:
        """Return the ABCD cues of the ``"train"`` or ``"test"`` images, shape (N, 4)."""
        return np.array([p.abcd for p in self._params(part)], dtype=float).reshape(-1, 4)


def _n_patched(n_nevi: int, rate: float) -> int:
    return int(math.floor(rate * n_nevi + 0.5))


def sample_split_params(
    name: str,
    n_per_class: int,
    seed: int = 0,
    part: str = "train",
    world: dict[str, Any] | None = None,
) -> list[LesionParams]:
    """Draw parameters for one part of a split, classes interleaved.

    The lesions depend only on ``seed`` and ``part``: the ``biased`` and the
    ``unbiased`` split of the same seed show the same lesions, and differ
    only by the patches on half of the nevi. That makes the two test parts a
    controlled pair: an accuracy gap between them is caused by the patches.

    Parameters
    ----------
    name : {"unbiased", "biased"}
        The split. ``biased`` puts 1 to ``max_patches`` patches beside
        exactly ``round(patch_rate * n_per_class)`` of the nevi (half by
        default) and none on melanomas; ``unbiased`` has no patches at all.
    n_per_class : int
        Number of nevi and of melanomas.
    seed : int, optional
        Seed of the lesions, of the part's patch pool and of the patch choice.
    part : {"train", "test"}, optional
        Which part; each part draws its patches from its own pool
        (:func:`patch_pool` with ``pool=part``).
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS`.

    Returns
    -------
    list of LesionParams
        ``2 * n_per_class`` samples ordered nevus, melanoma, nevus, ...

    Raises
    ------
    ValueError
        For an unknown split, part or world setting, or a negative count.
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', got {part!r}")
    if int(n_per_class) != n_per_class or n_per_class < 0:
        raise ValueError(f"n_per_class must be a non-negative integer, got {n_per_class}")
    cfg = _world_settings(world)
    part_index = ("train", "test").index(part)
    rng = np.random.default_rng([int(seed), part_index, 0])
    params = [
        sample_params(
            rng,
            label,
            overlap=cfg["overlap"],
            hair_rate=cfg["hair_rate"],
            pixel_noise=cfg["pixel_noise"],
        )
        for _ in range(int(n_per_class))
        for label in (0, 1)
    ]
    if name == "unbiased" or n_per_class == 0:
        return params
    pool = patch_pool(int(cfg["patch_pool_size"]), seed, pool=part, scale=cfg["patch_scale"])
    rng = np.random.default_rng([int(seed), part_index, 1])
    nevi = np.flatnonzero([p.label == 0 for p in params])
    chosen = np.sort(rng.choice(nevi, size=_n_patched(len(nevi), cfg["patch_rate"]), replace=False))
    for i in chosen:
        n = int(rng.integers(1, int(cfg["max_patches"]) + 1))
        picks = rng.choice(len(pool), size=n, replace=False)
        sample = params[i]
        for k in picks:
            try:
                placed = place_or_shrink(pool[int(k)], sample, int(rng.integers(2**31 - 1)))
            except ValueError:
                if sample.patches:
                    continue  # no room for another one: keep those placed
                raise
            sample = replace(sample, patches=(*sample.patches, placed))
        params[i] = sample
    return params


def make_split(
    name: str,
    n_train_per_class: int,
    n_test_per_class: int,
    seed: int = 0,
    *,
    size: int = 64,
    world: dict[str, Any] | None = None,
    progress: bool = False,
) -> SkinLesionSplit:
    """Build the training and test data of one split (appendix C, scaled down).

    Both parts are class-balanced. For the paper's Table 10 layout (training
    split x test split) train on one split and test on the test parts of
    both; ``make_split(name, 0, n)`` renders only a test part.

    Parameters
    ----------
    name : {"unbiased", "biased"}
        The split (see :func:`sample_split_params`).
    n_train_per_class, n_test_per_class : int
        Images per class in the training and in the test part.
    seed : int, optional
        Seed; the two parts use separate streams (the test part does not
        depend on the training size) and separate patch pools.
    size : int, optional
        Image size in pixels.
    world : dict, optional
        Overrides of :data:`WORLD_DEFAULTS`.
    progress : bool, optional
        Show tqdm progress bars while rendering.

    Returns
    -------
    SkinLesionSplit
        Images, labels and parameters of both parts.
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
    size = _validate_size(size)
    params_train = sample_split_params(name, n_train_per_class, seed, "train", world)
    params_test = sample_split_params(name, n_test_per_class, seed, "test", world)
    return SkinLesionSplit.from_params(
        name, params_train, params_test, lambda ps: render_batch(ps, size, progress=progress)
    )


# ----------------------------------------------------------------------------
# presets
# ----------------------------------------------------------------------------

#: World settings by size: image size, images per class and part, seed, and the
#: settings of :data:`WORLD_DEFAULTS`. "smoke" only checks that everything
#: runs; "demo" is large enough for small CNNs and ViTs on a CPU (40 px; the
#: ABCD cues overlap enough that the dots pay as a shortcut, and the dots are
#: drawn at twice their default size, as the stickers in the archive are large
#: and distinct).
WORLD_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "size": 32,
        "n_train_per_class": 150,
        "n_test_per_class": 50,
        "seed": 0,
        "overlap": 0.4,
        "hair_rate": 0.3,
        "pixel_noise": 0.02,
        "patch_rate": 0.5,
        "max_patches": 3,
        "patch_pool_size": 32,
        "patch_scale": 2.0,
    },
    "demo": {
        "size": 40,
        "n_train_per_class": 500,
        "n_test_per_class": 200,
        "seed": 0,
        "overlap": 0.4,
        "hair_rate": 0.3,
        "pixel_noise": 0.02,
        "patch_rate": 0.5,
        "max_patches": 3,
        "patch_pool_size": 128,
        "patch_scale": 2.0,
    },
}

_SPLIT_KEYS = ("size", "n_train_per_class", "n_test_per_class", "seed")


def world_preset(preset: str | dict[str, Any] = "demo") -> dict[str, Any]:
    """Return a copy of the world settings of a preset (safe to modify).

    Parameters
    ----------
    preset : str or dict, optional
        A key of :data:`WORLD_PRESETS` or a dict of the same layout.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        For an unknown preset name.
    """
    return copy_preset(WORLD_PRESETS, preset)


def make_split_from_preset(
    preset: str | dict[str, Any],
    split: str,
    *,
    test_only: bool = False,
    progress: bool = False,
) -> SkinLesionSplit:
    """Render one split with the world settings of a preset.

    Parameters
    ----------
    preset : str or dict
        A key of :data:`WORLD_PRESETS` or a dict of the same layout.
    split : {"unbiased", "biased"}
        The split.
    test_only : bool, optional
        Skip the training part (its arrays are empty); the test part is the
        same as with it.
    progress : bool, optional
        Show progress bars while rendering.

    Returns
    -------
    SkinLesionSplit
        The rendered split.
    """
    world = world_preset(preset)
    return make_split(
        split,
        0 if test_only else world["n_train_per_class"],
        world["n_test_per_class"],
        world["seed"],
        size=world["size"],
        world={k: v for k, v in world.items() if k not in _SPLIT_KEYS},
        progress=progress,
    )


# ----------------------------------------------------------------------------
# the World protocol
# ----------------------------------------------------------------------------


class SkinLesionWorld(World):
    """The dermoscopy world under the :class:`~propgrad.worlds.base.World` protocol.

    Properties: the four ABCD cues and ``"patch"``, the opacity of one
    colourful patch blended in beside the lesion (axis label
    :data:`PATCH_GRID_NAME`). The patch property lives on
    :class:`PatchedLesion` records, which carry the patch to blend in
    (``overlay``) and its opacity (``patch``).

    * :meth:`sample` returns :class:`PatchedLesion` records: each lesion
      carries its own patch from a fresh ``"intervention"`` pool (never used
      by any split's training or test images), placed beside the lesion,
      at opacity 0 unless the ``patch`` condition says otherwise. So every
      property can be intervened on every sampled record, and at opacity 0
      the image is exactly the lesion without the patch.
    * :meth:`intervene` with ``"patch"`` blends the record's overlay in at
      each opacity, or, with ``patch=<Patch>``, that patch (placed beside
      the lesion as :func:`intervene` places it, with ``seed`` and
      ``place``). Given the same patch and the alphas
      ``linspace(0, 1, n_steps)`` it returns the frames and grid of
      ``intervene(params, patch, n_steps)`` (the metadata names the
      property ``"patch"``). Records from :meth:`split` are plain
      :class:`LesionParams`: pass ``patch=`` for them (or wrap them with
      :meth:`with_patch`).
    * :meth:`sample` accepts the conditions ``label`` (0, 1, ``"nevus"``,
      ``"melanoma"``), each ABCD cue and ``patch`` (a value or a
      ``(low, high)`` range; a cue set after drawing the rest of the lesion
      from its class, before the patch is placed). The lesions are drawn
      with :data:`WORLD_DEFAULTS`.
    * :meth:`split` builds ``"unbiased"`` or ``"biased"`` from a key of
      :data:`WORLD_PRESETS` (or such a dict) with
      :func:`make_split_from_preset`.
    """

    name = "skin_lesions"
    classes = CLASS_NAMES
    properties = unit_properties({**ABCD_PROPERTIES, "patch": PATCH_GRID_NAME})
    params_type = LesionParams
    splits = SPLITS
    presets = tuple(WORLD_PRESETS)
    _render_batch = staticmethod(render_batch)
    with_patch = staticmethod(with_patch)

    def _sample(
        self, labels: list[int], rng: np.random.Generator, conditions: dict[str, Any]
    ) -> list[PatchedLesion]:
        alpha = {"patch": conditions.pop("patch")} if "patch" in conditions else {}
        lesions = [sample_params(rng, label) for label in labels]
        lesions = self._set_properties(lesions, rng, conditions)
        pool = patch_pool(len(lesions), int(rng.integers(2**31 - 1)), pool="intervention")
        scenes = [
            with_patch(p, patch, 0.0, seed=int(rng.integers(2**31 - 1)))
            for p, patch in zip(lesions, pool)
        ]
        return self._set_properties(scenes, rng, alpha)

    def _sweep(
        self,
        record: LesionParams,
        property: str,  # noqa: A002 - the natural name for the intervened property
        grid: np.ndarray,
        size: int,
        *,
        patch: Patch | None = None,
        seed: int | None = None,
        place: bool | None = None,
    ) -> Sweep:
        """Intervene on one record; ``patch``, ``seed`` and ``place`` go with ``"patch"``."""
        if property != "patch":
            if (patch, seed, place) != (None, None, None):
                raise ValueError("patch=, seed= and place= apply to the 'patch' property only")
            return intervene_property(record, property, grid, size=size)
        if patch is not None:
            record = with_patch(record, patch, seed=seed or 0, place=place)
        elif (seed, place) != (None, None):
            raise ValueError("seed= and place= place the patch given with patch=; none was given")
        elif not isinstance(record, PatchedLesion):
            raise ValueError(
                "the 'patch' property needs a patch to blend in: pass patch=<Patch> (e.g. "
                "from patch_pool), or intervene on records from sample() or with_patch()"
            )
        return _patch_sweep(record, grid, _validate_size(size), "patch")

    def _make_split(self, name: str, preset: Any, seed: int | None, **options: bool) -> Split:
        world = world_preset(preset)
        if seed is not None:
            world["seed"] = int(seed)
        return make_split_from_preset(world, name, **options)


#: The dermoscopy world (the entry ``"skin_lesions"`` of :data:`propgrad.worlds.WORLDS`).
WORLD = SkinLesionWorld()
