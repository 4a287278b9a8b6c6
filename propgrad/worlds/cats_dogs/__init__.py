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
like the paper's three splits, with the bias planted in the fur tone; the
sizes of the smoke and demo worlds are :data:`WORLD_PRESETS`.
:data:`WORLD` is this world under the :class:`~propgrad.worlds.World`
protocol. Training models on it is the Cats-vs-Dogs chapter's business
(:mod:`propgrad.chapters.cats_vs_dogs`); the world knows nothing of models.

Modules: ``params`` (the record and its sampling), ``render``,
``interventions``, ``splits`` (the three splits and the world presets),
``world`` (the protocol).
"""

from __future__ import annotations

from propgrad.worlds.cats_dogs.interventions import intervene
from propgrad.worlds.cats_dogs.params import (
    CLASSES,
    PROPERTY_NAMES,
    WORLD_DEFAULTS,
    CatDogParams,
    sample_params,
)
from propgrad.worlds.cats_dogs.render import animal_mask, render, render_batch
from propgrad.worlds.cats_dogs.splits import (
    SPLITS,
    WORLD_PRESETS,
    CatDogSplit,
    make_split,
    make_split_from_preset,
    sample_split_params,
    world_preset,
)
from propgrad.worlds.cats_dogs.world import WORLD, CatsDogsWorld

__all__ = [
    "CLASSES",
    "CatDogParams",
    "CatDogSplit",
    "CatsDogsWorld",
    "PROPERTY_NAMES",
    "SPLITS",
    "WORLD",
    "WORLD_DEFAULTS",
    "WORLD_PRESETS",
    "animal_mask",
    "intervene",
    "make_split",
    "make_split_from_preset",
    "render",
    "render_batch",
    "sample_params",
    "sample_split_params",
    "world_preset",
]
