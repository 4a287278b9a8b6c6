"""A procedural Cats-vs-Dogs world with fur tone and background as free properties.

Every image is a cartoon animal head on a background, rendered from a
:class:`CatDogParams` record with numpy coordinate grids and signed-distance
masks:

* **Shape carries the label.** Cats tend to have upright, pointed ears, a round
  head and a short muzzle; dogs floppy ears, a longer head and a muzzle that
  sticks out below the chin. Each trait is a continuous "dogness" value whose
  class-conditional ranges overlap (``shape_overlap``), so no single trait,
  and no single pixel, gives the label away.
* **Fur tone** (0 = dark, 1 = light) sets the base colour of every animal
  pixel; texture, stripes and shading sit on top of it.
* **Background brightness** (0 = dark, 1 = bright) sets the level of a tinted
  background with a gradient and soft noise.
* Pose, position, size, eyes, stripes and all noise are nuisance variation.

Because an image is a pure function of its parameters, :func:`intervene` is an
exact intervention ``do(X := x)``: it re-renders one sample with only the fur
tone (or only the background) changed. :func:`make_split` builds data shaped
like the paper's three splits, and :func:`train_cats_dogs` trains the model of
one split through :func:`propgrad.train.fit` (cached).

Modules: ``params`` (the record and its sampling), ``render``,
``interventions``, ``splits``, ``groups`` (the paper's image groups),
``presets`` (settings and training), ``world`` (:data:`WORLD`, the world
under the :class:`~propgrad.worlds.base.World` protocol).
"""

from __future__ import annotations

from propgrad.datasets.cats_dogs import CLASSES, SPLITS
from propgrad.worlds.cats_dogs.groups import flip_task_pool, group_params, group_sweeps
from propgrad.worlds.cats_dogs.interventions import exact_sweeps, intervene, partial_fur_sweep
from propgrad.worlds.cats_dogs.params import (
    PROPERTY_NAMES,
    WORLD_DEFAULTS,
    CatDogParams,
    sample_params,
)
from propgrad.worlds.cats_dogs.presets import (
    CATS_DOGS_PRESETS,
    cats_dogs_config,
    make_split_from_config,
    train_cats_dogs,
)
from propgrad.worlds.cats_dogs.render import animal_mask, render, render_batch
from propgrad.worlds.cats_dogs.splits import CatDogSplit, make_split, sample_split_params
from propgrad.worlds.cats_dogs.world import WORLD, CatsDogsWorld

__all__ = [
    "CATS_DOGS_PRESETS",
    "CLASSES",
    "CatDogParams",
    "CatDogSplit",
    "CatsDogsWorld",
    "PROPERTY_NAMES",
    "SPLITS",
    "WORLD",
    "WORLD_DEFAULTS",
    "animal_mask",
    "cats_dogs_config",
    "exact_sweeps",
    "flip_task_pool",
    "group_params",
    "group_sweeps",
    "intervene",
    "make_split",
    "make_split_from_config",
    "partial_fur_sweep",
    "render",
    "render_batch",
    "sample_params",
    "sample_split_params",
    "train_cats_dogs",
]
