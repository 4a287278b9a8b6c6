"""The chapter's toy data source: the Cats-vs-Dogs world, three trained models, exact sweeps.

:class:`ToyCatsDogs` has the interface the chapter uses for either source
(this one and :class:`~propgrad.chapters.cats_vs_dogs.real.KaggleCatsDogs`):
the three models, their accuracies (Table 5), the split sizes (Table 4), the
paper's four image groups with a fur and a background sweep each, and the
pool of the flip-prediction task. Here the world is
:data:`propgrad.worlds.cats_dogs.WORLD`, the models are small ConvMixers
trained on its three splits (:data:`TOY_PRESETS`; one
:class:`propgrad.runs.TrainSpec` each, cached by configuration), and every
intervention is exact: the animal re-rendered with only its fur (or only its
background) changed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np

from propgrad.chapters.cats_vs_dogs.paper import FUR_GROUPS
from propgrad.runs import TrainSpec, train_runs
from propgrad.worlds.cats_dogs import (
    CLASSES,
    SPLITS,
    WORLD,
    WORLD_PRESETS,
    CatDogParams,
    CatDogSplit,
    make_split_from_preset,
    world_preset,
)

#: The model and its training by world preset. "smoke" only checks that
#: everything runs (seconds; accuracies near chance). "demo" gives the pattern
#: of the paper's Table 5 on a CPU in about two minutes per model (one torch
#: thread). The knobs that matter: the world's ``shape_overlap`` (shape must
#: stay learnable for the unbiased model yet be harder than the fur-tone
#: colour cue), the number of epochs and the patch size (8 keeps an epoch at a
#: few seconds on a CPU). ``benchmarks/calibrate_cats_dogs.py`` measures them.
TOY_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "model": {"arch": "convmixer", "dim": 32, "depth": 2, "kernel_size": 5, "patch_size": 4},
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
        "model": {"arch": "convmixer", "dim": 64, "depth": 4, "kernel_size": 5, "patch_size": 8},
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

#: How far a flip-task edit moves the fur towards the far end (a uniform draw).
FLIP_STRENGTH = (0.2, 1.0)


def toy_preset(preset: str | Mapping[str, Any] = "demo") -> dict[str, Any]:
    """The full settings of a preset: ``{"world": ..., "model": ..., "train": ...}``.

    Parameters
    ----------
    preset : str or mapping
        ``"smoke"`` or ``"demo"`` (:data:`TOY_PRESETS` with the world's
        :data:`~propgrad.worlds.cats_dogs.WORLD_PRESETS`), or a dict of that
        layout.

    Returns
    -------
    dict
        A deep copy, safe to change.

    Raises
    ------
    ValueError
        For an unknown preset name.
    """
    if isinstance(preset, str):
        if preset not in TOY_PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(TOY_PRESETS)}")
        return {"world": world_preset(preset), **copy.deepcopy(TOY_PRESETS[preset])}
    return copy.deepcopy({k: preset[k] for k in ("world", "model", "train")})


def training_data(world: Mapping[str, Any], split: str) -> tuple[Any, dict[str, Any]]:
    """A run's data: the training part of one split; the test parts of all three.

    The loader of the chapter's :class:`~propgrad.runs.TrainSpec`s.

    Parameters
    ----------
    world : mapping
        World settings (a :data:`~propgrad.worlds.cats_dogs.WORLD_PRESETS` entry).
    split : str
        The training split.

    Returns
    -------
    train, eval_sets
        ``(images, labels)`` of the training part; split -> test part.
    """
    own = make_split_from_preset(dict(world), split)
    tests = {s: make_split_from_preset(dict(world), s, test_only=True) for s in SPLITS}
    return (own.x_train, own.y_train), {s: (d.x_test, d.y_test) for s, d in tests.items()}


def toy_run(split: str, preset: str | Mapping[str, Any] = "demo", **options: Any) -> TrainSpec:
    """The training run of the toy model of one split.

    Parameters
    ----------
    split : {"unbiased", "dark-cats", "dark-dogs"}
        The training split; the model is named after it.
    preset : str or mapping, optional
        See :func:`toy_preset`.
    **options
        Other :class:`~propgrad.runs.TrainSpec` fields (e.g. ``num_threads``).

    Returns
    -------
    TrainSpec
        ConvMixer inputs scaled to [-1, 1] at the world's image size; the data
        are named by the world settings and the split (the run's cache key).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    config = toy_preset(preset)
    model = dict(config["model"])
    arch = model.pop("arch", "convmixer")
    return TrainSpec(
        name=f"toy ConvMixer ({split})",
        arch=arch,
        data={"loader": f"{__name__}:training_data", "world": config["world"], "split": split},
        data_key={"world_name": WORLD.name, "world": config["world"], "split": split},
        image_size=config["world"]["size"],
        class_names=CLASSES,
        model_kwargs=model,
        normalisation="unit",
        seed=config["train"]["seed"],
        settings=config["train"],
        tags={"split": split},
        **options,
    )


def fur_edit_values(tone: float, strength: float, n_steps: int) -> np.ndarray:
    """Fur tones of an edit that moves ``tone`` a fraction ``strength`` to the far end.

    Dark fur (below 0.5) moves towards 1, light fur towards 0; the values are
    in the order of the edit.
    """
    if not 0.0 < float(strength) <= 1.0:
        raise ValueError(f"strength must lie in (0, 1], got {strength}")
    far = 1.0 if tone < 0.5 else 0.0
    return np.linspace(tone, tone + strength * (far - tone), n_steps)


def _sweep_array(
    params: CatDogParams, prop: str, values: np.ndarray, size: int, *, reverse: bool = False
) -> np.ndarray:
    """uint8 frames (N, size, size, 3) of an exact sweep over ``values`` (sorted here).

    ``reverse`` puts the frames in decreasing order of the property; a sweep
    whose ``values`` decrease comes out in their order too.
    """
    frames = WORLD.intervene(params, prop, np.sort(values), size=size).to_array()
    return frames[::-1] if reverse or values[-1] < values[0] else frames


class ToyCatsDogs:
    """The toy world as the chapter's data source (see the module notes).

    Parameters
    ----------
    preset : str or mapping, optional
        See :func:`toy_preset`.
    num_threads : int, optional
        Torch CPU threads while training.
    progress : bool, optional
        Progress bars while training.
    """

    kind = "toy"

    def __init__(
        self,
        preset: str | Mapping[str, Any] = "demo",
        *,
        num_threads: int | None = None,
        progress: bool = True,
    ) -> None:
        self.preset = toy_preset(preset)
        self.preset_name = preset if isinstance(preset, str) else "custom"
        self.num_threads = num_threads
        self.progress = progress

    @property
    def size(self) -> int:
        """Image size in pixels."""
        return int(self.preset["world"]["size"])

    @property
    def description(self) -> str:
        """What the data are, for captions."""
        return f"toy world, preset {self.preset_name!r}"

    @cached_property
    def splits(self) -> dict[str, CatDogSplit]:
        """The test parts of the three splits (the training parts are rendered only to train)."""
        return {s: make_split_from_preset(self.preset["world"], s, test_only=True) for s in SPLITS}

    def runs(self) -> list[TrainSpec]:
        """The training runs of the three models."""
        return [toy_run(s, self.preset, num_threads=self.num_threads) for s in SPLITS]

    def models(self, *, cluster: Any = None) -> dict[str, Any]:
        """Train the three models (or load them from the cache): split -> classifier."""
        trained = train_runs(self.runs(), cluster=cluster, progress=False)
        return {run.spec.tags["split"]: run.classifier() for run in trained}

    def accuracy(self, models: Mapping[str, Any]) -> dict[str, dict[str, float]]:
        """Test accuracy in [0, 1] of every model on every split (Table 5's layout)."""
        return {m: dict(models[m].training.accuracies) for m in SPLITS}

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split, class and part (Table 4's layout)."""
        n_train = int(self.preset["world"]["n_train_per_class"])  # every split is balanced
        return {
            f"{split} / {name}": {"Training": n_train, "Test": int((d.y_test == label).sum())}
            for split, d in self.splits.items()
            for label, name in enumerate(CLASSES)
        }

    def examples(self, n_per_class: int = 4) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The first training images of each class per split, and their class names.

        Only these are rendered: a split's samples are drawn one after the
        other (cat, dog, cat, ...), so the first ``n_per_class`` of each class
        do not depend on how many follow.
        """
        world = {**self.preset["world"], "n_train_per_class": n_per_class, "n_test_per_class": 0}
        firsts = {s: make_split_from_preset(world, s) for s in SPLITS}
        order = {s: np.argsort(d.y_train, kind="stable") for s, d in firsts.items()}  # cats first
        images = {s: d.x_train[order[s]] for s, d in firsts.items()}
        names = {s: [CLASSES[c] for c in d.y_train[order[s]]] for s, d in firsts.items()}
        return images, names

    def group_params(self, n_images: int | None = None, *, last: bool = False) -> dict[str, list]:
        """Test samples of each of the paper's fur groups (:data:`FUR_GROUPS`).

        Each group comes from the test part of the biased split that holds it;
        ``last`` takes the last ``n_images`` instead of the first (a disjoint
        pool for small ``n_images``).
        """
        out = {}
        for group, (split, animal, _) in FUR_GROUPS.items():
            members = [p for p in self.splits[split].params_test if p.species == animal]
            if n_images is not None:
                members = members[-n_images:] if last else members[:n_images]
            out[group] = members
        return out

    def group_sweeps(
        self, n_images: int, n_steps: int = 21
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Exact fur and background sweeps of the first ``n_images`` of every group.

        Dark animals are swept towards light fur and light animals towards dark
        fur, over the whole range; the background always goes from dark to
        bright. Rendering them is the chapter's longest step, so the sweeps are
        cached on disk (keyed by the world settings and the sizes) and come
        back memory-mapped: a rerun reads them instead of rendering, and only
        the frames in use occupy memory.

        Returns
        -------
        fur, background : dict
            Group -> uint8 sweeps (M, N, size, size, 3), read-only.
        """
        from propgrad.cache import atomic_path, cache_dir, config_key

        key = config_key({"cats_dogs group sweeps": 1, "world": self.preset["world"],
                          "n_images": int(n_images), "n_steps": int(n_steps)})  # fmt: skip
        folder = cache_dir("cats_vs_dogs_sweeps", key)
        names = [f"{kind}-{g.replace(' ', '_')}.npy" for kind in ("fur", "background")
                 for g in FUR_GROUPS]  # fmt: skip
        if not all((folder / n).is_file() for n in names):
            fur, background = self._render_group_sweeps(n_images, n_steps)
            for kind, arrays in (("fur", fur), ("background", background)):
                for group, array in arrays.items():
                    with atomic_path(folder / f"{kind}-{group.replace(' ', '_')}.npy") as tmp:
                        np.save(tmp, array)
        loaded = {
            kind: {g: np.load(folder / f"{kind}-{g.replace(' ', '_')}.npy", mmap_mode="r")
                   for g in FUR_GROUPS}
            for kind in ("fur", "background")
        }  # fmt: skip
        return loaded["fur"], loaded["background"]

    def _render_group_sweeps(
        self, n_images: int, n_steps: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        full = np.linspace(0.0, 1.0, n_steps)
        fur, background = {}, {}
        for group, params in self.group_params(n_images).items():
            light = FUR_GROUPS[group][2] == "light"
            fur[group] = np.stack(
                [_sweep_array(p, "fur_tone", full, self.size, reverse=light) for p in params]
            )
            background[group] = np.stack(
                [_sweep_array(p, "background", full, self.size) for p in params]
            )
        return fur, background

    def flip_pool(
        self, n_per_class: int, n_steps: int = 21, *, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fur edits of random strength for the flip-prediction task.

        Half of each class is dark and half light (the last samples of each
        group, disjoint from :meth:`group_sweeps` for small ``n_images``);
        every animal's fur moves a random fraction (uniform in
        :data:`FLIP_STRENGTH`) of the way to the far end of its range, like a
        real editor at fixed settings, which changes some animals a lot and
        others little.

        Returns
        -------
        sweeps : ndarray
            uint8 (M, N, size, size, 3), M = 2 * (n_per_class // 2) * 2.
        labels : ndarray
            Class index of every sweep.
        """
        groups = self.group_params(n_per_class // 2, last=True)
        params = [p for members in groups.values() for p in members]
        strengths = np.random.default_rng(seed).uniform(*FLIP_STRENGTH, len(params))
        sweeps = np.stack(
            [
                _sweep_array(p, "fur_tone", fur_edit_values(p.fur_tone, k, n_steps), self.size)
                for p, k in zip(params, strengths)
            ]
        )
        return sweeps, np.array([p.label for p in params])

    def guidance_grid(self, models: Any, image_scales: Any, text_scales: Any = None) -> None:
        """No guidance grid in the toy world: its interventions are exact (see the real source)."""
        return None

    def probing_set(self, n_per_class: int) -> dict[str, Any]:
        """Probing images for concept discovery, with per-pixel maps of the known properties.

        The first ``n_per_class`` cats and dogs of the unbiased test split
        (fur and background drawn independently of the class). The maps say,
        per pixel, how much of each known property is there: ``dark fur`` and
        ``light fur`` on the animal, ``bright background`` and ``dark
        background`` around it.

        Returns
        -------
        dict
            ``images`` (uint8 (N, H, W, 3)) and ``maps`` (name -> (N, H, W)).
        """
        from propgrad.worlds.cats_dogs import animal_mask

        d = self.splits["unbiased"]
        pick = np.concatenate([np.flatnonzero(d.y_test == c)[:n_per_class] for c in (0, 1)])
        params = [d.params_test[i] for i in pick]
        animal = np.stack([animal_mask(p, self.size) for p in params])
        tone = np.array([p.fur_tone for p in params])[:, None, None]
        light = np.array([p.background for p in params])[:, None, None]
        maps = {
            "dark fur": animal * (1 - tone),
            "light fur": animal * tone,
            "bright background": (1 - animal) * light,
            "dark background": (1 - animal) * (1 - light),
        }
        return {"images": d.x_test[pick], "maps": maps}

    def name_concepts(self, found: Mapping[str, Any], probing: Mapping[str, Any]) -> dict:
        """Name every concept by the known property its patch scores track best (per model)."""
        from propgrad.baselines.concepts import name_by_properties

        properties = {k: found["patches"].mean_of(v) for k, v in probing["maps"].items()}
        return {m: name_by_properties(d, properties) for m, d in found["discoveries"].items()}

    def tcav_sets(self, n: int, *, seed: int = 0) -> dict[str, Any]:
        """Images for TCAV: cats to explain, the two known concepts, random images.

        Fresh samples of the world: ``inputs`` are cats; ``dark fur``
        animals of both classes have a fur tone below 0.15, ``bright
        background`` animals a background above 0.85 (everything else drawn as
        usual); ``random`` animals are drawn without conditions.
        """
        from propgrad.worlds.cats_dogs import render_batch

        def draw(k: int, **conditions: Any) -> np.ndarray:
            return render_batch(WORLD.sample(n, seed=seed + k, **conditions), self.size)

        return {
            "inputs": draw(0, label="cat"),
            "concepts": {"dark fur": draw(1, fur_tone=(0.0, 0.15)),
                         "bright background": draw(2, background=(0.85, 1.0))},
            "random": draw(3),
        }  # fmt: skip

    def ci_sample(self, n_per_class: int) -> dict[str, Any]:
        """Test images of the two biased splits for the global tests (Table 9).

        The first ``n_per_class`` cats and dogs of each biased test split,
        their labels, the paper's proxies of the two properties (fur by split
        membership, background by the corner pixels) and their exact values
        (the fur tone and background brightness each image was drawn with).

        Returns
        -------
        dict
            ``images`` (uint8 (N, H, W, 3)), ``labels``, ``proxies`` and
            ``exact`` (Table 9's property label -> values).
        """
        from propgrad.chapters.cats_vs_dogs.global_tests import corner_brightness, split_fur

        images, labels, fur, tone, brightness = [], [], [], [], []
        for split in ("dark-cats", "dark-dogs"):
            d = self.splits[split]
            pick = np.concatenate([np.flatnonzero(d.y_test == c)[:n_per_class] for c in (0, 1)])
            images.append(d.x_test[pick])
            labels.append(d.y_test[pick])
            fur.append(split_fur(split, d.y_test[pick]))
            tone.extend(d.params_test[i].fur_tone for i in pick)
            brightness.extend(d.params_test[i].background for i in pick)
        images = np.concatenate(images)
        return {
            "images": images,
            "labels": np.concatenate(labels),
            "proxies": {"Fur Color": np.concatenate(fur),
                        "Background Color": corner_brightness(images)},
            "exact": {"Fur Color": np.array(tone), "Background Color": np.array(brightness)},
        }  # fmt: skip


__all__ = [
    "FLIP_STRENGTH",
    "TOY_PRESETS",
    "ToyCatsDogs",
    "fur_edit_values",
    "toy_preset",
    "toy_run",
    "training_data",
]

# the world's presets are the chapter's too; keep them in step
assert set(TOY_PRESETS) == set(WORLD_PRESETS)
