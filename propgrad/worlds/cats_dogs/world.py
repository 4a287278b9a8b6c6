"""The Cats-vs-Dogs world under the :class:`~propgrad.worlds.base.World` protocol."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np

from propgrad.worlds.base import World, unit_properties
from propgrad.worlds.cats_dogs.params import (
    CLASSES,
    PROPERTY_NAMES,
    WORLD_DEFAULTS,
    CatDogParams,
    sample_params,
)
from propgrad.worlds.cats_dogs.render import render_batch
from propgrad.worlds.cats_dogs.splits import (
    SPLITS,
    WORLD_PRESETS,
    CatDogSplit,
    _tone_range,
    make_split_from_preset,
    world_preset,
)


class CatsDogsWorld(World):
    """Cartoon cats and dogs; fur tone and background brightness are the properties.

    * :meth:`sample` draws the animals with :func:`sample_params` and
      :data:`WORLD_DEFAULTS`. Conditions: ``label`` (0, 1, ``"cat"``,
      ``"dog"``), ``fur_tone`` and ``background`` (a value or a
      ``(low, high)`` range), and ``split`` (``"unbiased"``,
      ``"dark-cats"`` or ``"dark-dogs"``: the fur tone drawn from that
      split's label-conditional range, as :func:`make_split` draws it; not
      together with ``fur_tone``).
    * :meth:`intervene` gives what :func:`~propgrad.worlds.cats_dogs.intervene`
      gives for the same values (frames, grid and metadata); it takes no
      options.
    * :meth:`split` builds one of :data:`SPLITS` from a key of
      :data:`WORLD_PRESETS` (or such a dict) with
      :func:`make_split_from_preset`.
    """

    name = "cats_dogs"
    classes = CLASSES
    properties = unit_properties(PROPERTY_NAMES)
    params_type = CatDogParams
    splits = SPLITS
    presets = tuple(WORLD_PRESETS)
    extra_conditions = MappingProxyType({"split": "draw the fur tone as this split does"})
    _render_batch = staticmethod(render_batch)

    def _sample(
        self, labels: list[int], rng: np.random.Generator, conditions: dict[str, Any]
    ) -> list[CatDogParams]:
        split = conditions.pop("split", None)
        if split is not None and split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        if split is not None and "fur_tone" in conditions:
            raise ValueError("split and fur_tone both set the fur tone; give one of them")
        records = [sample_params(rng, label) for label in labels]
        if split is not None:
            ranges = [_tone_range(split, p.label, WORLD_DEFAULTS) for p in records]
            records = [replace(p, fur_tone=float(rng.uniform(*r))) for p, r in zip(records, ranges)]
        return self._set_properties(records, rng, conditions)

    def _metadata(self, record: CatDogParams) -> dict[str, Any]:
        return {"world": self.name, "species": record.species}

    def _make_split(self, name: str, preset: Any, seed: int | None, **options: bool) -> CatDogSplit:
        world = world_preset(preset)
        if seed is not None:
            world["seed"] = int(seed)
        return make_split_from_preset(world, name, **options)


#: The Cats-vs-Dogs world (the entry ``"cats_dogs"`` of :data:`propgrad.worlds.WORLDS`).
WORLD = CatsDogsWorld()
