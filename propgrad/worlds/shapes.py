"""A generic toy pre-training task: many classes of shape, colour and texture.

The paper's skin-lesion and training-dynamics experiments compare models that
start from ImageNet weights with models trained from scratch. No ImageNet
weights can be downloaded here, so the demo profile pre-trains each backbone
once on this task instead: every image shows one object on a cluttered
background, and its class is the combination of the object's **shape**
(disc, square, triangle, ring, cross, star), **colour** (eight hues) and
**texture** (plain, stripes, dots). That is 6 x 8 x 3 = 144 classes, so a
backbone must learn general colour, edge and texture features, as ImageNet
pre-training does (colour in particular, which the paper suggests is why its
ImageNet models react to colourful patches). Position, size, rotation,
brightness, background colour and distractor blobs vary freely.

The weights are trained and cached by :func:`propgrad.pretrain.pretrained_weights`
and loaded through the same path as real ImageNet weights
(``create_classifier(..., pretrained=<file>)``).
"""

from __future__ import annotations

import math

import numpy as np

SHAPES = ("disc", "square", "triangle", "ring", "cross", "star")
COLOURS = {
    "red": (0.86, 0.16, 0.14),
    "orange": (0.95, 0.55, 0.10),
    "yellow": (0.93, 0.85, 0.20),
    "green": (0.20, 0.65, 0.25),
    "cyan": (0.15, 0.75, 0.80),
    "blue": (0.18, 0.30, 0.85),
    "purple": (0.55, 0.25, 0.75),
    "pink": (0.95, 0.50, 0.70),
}
TEXTURES = ("plain", "stripes", "dots")
#: Class names, ``"<shape>/<colour>/<texture>"``, in label order.
CLASS_NAMES = tuple(f"{s}/{c}/{t}" for s in SHAPES for c in COLOURS for t in TEXTURES)

#: Sizes of the task by profile: images per class and image size.
#: Each preset also holds the pre-training settings (:class:`propgrad.train.TrainSettings`).
#: "demo" (1,728 images, six epochs) pre-trains a CPU-sized backbone at 40 px in
#: about a minute on two cores (ResNet18 takes about two).
SHAPES_PRESETS = {
    "smoke": {
        "world": {"n_per_class": 4, "seed": 0},
        "train": {"epochs": 1, "batch_size": 64, "lr": 1e-3, "augment": "flip", "seed": 0},
    },
    "demo": {
        "world": {"n_per_class": 12, "seed": 0},
        "train": {"epochs": 6, "batch_size": 64, "lr": 2e-3, "augment": "flip", "seed": 0},
    },
}


def _shape_sdf(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) of a unit-sized shape in local coordinates."""
    if shape == "disc":
        return np.hypot(u, v) - 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) - 0.85
    if shape == "ring":
        return np.abs(np.hypot(u, v) - 0.75) - 0.25
    if shape == "cross":
        arm_u = np.maximum(np.abs(u) - 1.0, np.abs(v) - 0.32)
        arm_v = np.maximum(np.abs(u) - 0.32, np.abs(v) - 1.0)
        return np.minimum(arm_u, arm_v)
    angle = np.arctan2(v, u)
    radius = np.hypot(u, v)
    if shape == "triangle":
        k = 2 * math.pi / 3
        local = np.mod(angle + math.pi / 2, k) - k / 2
        return radius * np.cos(local) - 0.55
    if shape == "star":
        return radius - (0.5 + 0.5 * np.abs(np.cos(2.5 * angle)))
    raise ValueError(f"unknown shape {shape!r}; choose one of {SHAPES}")


def render_shape(label: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """Render one image of class ``label``.

    Parameters
    ----------
    label : int
        Index into :data:`CLASS_NAMES`.
    rng : numpy.random.Generator
        Source of the nuisance variation.
    size : int, optional
        Width and height in pixels.

    Returns
    -------
    ndarray
        uint8 image (size, size, 3).
    """
    if not 0 <= int(label) < len(CLASS_NAMES):
        raise ValueError(f"label must lie in [0, {len(CLASS_NAMES)}), got {label}")
    shape, colour, texture = CLASS_NAMES[int(label)].split("/")
    coords = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    y, x = np.meshgrid(coords, coords, indexing="ij")
    background = rng.uniform(0.15, 0.85, 3)
    image = np.broadcast_to(background, (size, size, 3)).copy()
    image += 0.08 * rng.standard_normal((size, size, 1)) * rng.uniform(0.2, 1.0)
    for _ in range(int(rng.integers(0, 4))):  # distractor blobs of random colour
        cx, cy, r = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.08, 0.25)
        blob = np.clip((r - np.hypot(x - cx, y - cy)) * size / 2, 0, 1)[..., None]
        image = image * (1 - blob) + blob * rng.uniform(0, 1, 3)
    scale = rng.uniform(0.35, 0.6)
    cx, cy = rng.uniform(-0.35, 0.35, 2)
    theta = rng.uniform(0, 2 * math.pi)
    c, s = math.cos(theta), math.sin(theta)
    u = (c * (x - cx) + s * (y - cy)) / scale
    v = (-s * (x - cx) + c * (y - cy)) / scale
    inside = np.clip(0.5 - _shape_sdf(shape, u, v) * scale * size / 2, 0, 1)[..., None]
    rgb = np.asarray(COLOURS[colour]) * rng.uniform(0.75, 1.15)
    pattern = np.ones((size, size))
    if texture == "stripes":
        pattern = 0.55 + 0.45 * (np.sin(7.0 * u) > 0)
    elif texture == "dots":
        pattern = 1.0 - 0.5 * ((np.sin(5.0 * u) * np.sin(5.0 * v)) > 0.35)
    image = image * (1 - inside) + inside * rgb * pattern[..., None]
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def make_shapes(
    n_per_class: int, size: int = 48, seed: int = 0, *, classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A balanced data set of the task.

    Parameters
    ----------
    n_per_class : int
        Images per class.
    size : int, optional
        Image size in pixels.
    seed : int, optional
        Seed of the whole set.
    classes : int, optional
        Use only the first ``classes`` classes (for tests).

    Returns
    -------
    images : ndarray
        uint8 (N, size, size, 3), classes interleaved.
    labels : ndarray
        int64 (N,).
    """
    n_classes = len(CLASS_NAMES) if classes is None else int(classes)
    if n_per_class < 1 or not 1 <= n_classes <= len(CLASS_NAMES):
        raise ValueError(f"need n_per_class >= 1 and 1 <= classes <= {len(CLASS_NAMES)}")
    rng = np.random.default_rng([int(seed), 7])
    labels = np.tile(np.arange(n_classes), int(n_per_class))
    images = np.stack([render_shape(int(k), rng, size) for k in labels])
    return images, labels.astype(np.int64)


__all__ = [
    "CLASS_NAMES",
    "COLOURS",
    "SHAPES",
    "SHAPES_PRESETS",
    "TEXTURES",
    "make_shapes",
    "render_shape",
]
