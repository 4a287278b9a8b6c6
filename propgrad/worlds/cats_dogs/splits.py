"""Training and test data shaped like the paper's three Cats-vs-Dogs splits.

"dark-cats" gives cats a dark fur tone and dogs a light one, "dark-dogs" the
reverse, "unbiased" draws the tone uniformly for both (the paper's Table 4,
scaled down). Background brightness is independent of the label everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from propgrad.worlds.base import Split, copy_preset
from propgrad.worlds.cats_dogs.params import CLASSES, WORLD_DEFAULTS, CatDogParams, sample_params
from propgrad.worlds.cats_dogs.render import render_batch

#: The three splits of the paper's Cats-vs-Dogs experiment, named after the bias
#: planted in them (a model is named after the split it was trained on).
SPLITS = ("unbiased", "dark-cats", "dark-dogs")

#: World settings by size: image size, images per class and part, seed, shape
#: overlap, pixel noise and the fur ranges of the biased splits. "smoke" is for
#: tests (seconds); "demo" is what the book trains on.
WORLD_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "size": 32,
        "n_train_per_class": 150,
        "n_test_per_class": 50,
        "seed": 0,
        "shape_overlap": 0.3,
        "pixel_noise": 0.03,
        "dark_range": [0.0, 0.35],
        "light_range": [0.65, 1.0],
    },
    "demo": {
        "size": 64,
        "n_train_per_class": 1250,
        "n_test_per_class": 250,
        "seed": 0,
        "shape_overlap": 0.15,
        "pixel_noise": 0.03,
        "dark_range": [0.0, 0.35],
        "light_range": [0.65, 1.0],
    },
}

_WORLD_KEYS = ("shape_overlap", "pixel_noise", "dark_range", "light_range")


@dataclass
class CatDogSplit(Split):
    """Training and test data of one split: a :class:`~propgrad.worlds.base.Split`.

    ``name`` is ``"unbiased"``, ``"dark-cats"`` or ``"dark-dogs"``, the
    labels are 0 = cat and 1 = dog (``classes``), and ``params_train`` and
    ``params_test`` hold the :class:`CatDogParams` of every image, for
    re-rendering and interventions. :meth:`counts` keys read
    ``"train cats"``, ``"test dogs"``, ...
    """

    classes: tuple[str, ...] = field(default=CLASSES, kw_only=True)
    _COUNT_KEY: ClassVar[str] = "{part} {name}s"

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
    return CatDogSplit.from_params(
        name, params_train, params_test, lambda ps: render_batch(ps, size, progress=progress)
    )


def world_preset(preset: str | dict[str, Any] = "demo") -> dict[str, Any]:
    """Return a copy of the world settings of a preset (a key of :data:`WORLD_PRESETS` or a dict).

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
) -> CatDogSplit:
    """Render one split with the world settings of a preset.

    Parameters
    ----------
    preset : str or dict
        A key of :data:`WORLD_PRESETS` or a dict of the same layout.
    split : {"unbiased", "dark-cats", "dark-dogs"}
        The split.
    test_only : bool, optional
        Skip the training part (its arrays are empty); the test part is the
        same as with it, because both parts draw from separate streams.
    progress : bool, optional
        Show progress bars while rendering.

    Returns
    -------
    CatDogSplit
    """
    world = world_preset(preset)
    return make_split(
        split,
        0 if test_only else world["n_train_per_class"],
        world["n_test_per_class"],
        world["seed"],
        size=world["size"],
        world={k: world[k] for k in _WORLD_KEYS if k in world},
        progress=progress,
    )
