"""Presets of the Cats-vs-Dogs toy experiment and its three cached models.

A preset fixes the world (image size, counts, seed, shape overlap, fur
ranges), the model (an architecture for :func:`propgrad.models.create_classifier`
and its arguments) and the training settings (:class:`propgrad.train.TrainSettings`).
:func:`train_cats_dogs` builds and trains the model of one split through the
shared toolkit, so it is cached under the key of the full configuration.
"""

from __future__ import annotations

import copy
from typing import Any

from propgrad.datasets.cats_dogs import CLASSES, SPLITS
from propgrad.worlds.cats_dogs.splits import CatDogSplit, make_split

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
    progress: bool = True,
    num_threads: int | None = None,
) -> Any:
    """Train (or load from the cache) the toy model of one split.

    Parameters
    ----------
    split : {"unbiased", "dark-cats", "dark-dogs"}
        The training split; the model is named after it.
    preset : str or dict, optional
        A key of :data:`CATS_DOGS_PRESETS` or a dict of the same layout.
    progress : bool, optional
        Show progress bars (on a terminal).
    num_threads : int, optional
        Torch CPU threads while training (1 is often fastest on a shared
        machine).

    Returns
    -------
    propgrad.models.Classifier
        The trained model in eval mode, with [-1, 1] inputs at the world's
        image size; ``classifier.training.accuracies`` holds its accuracy on
        the test part of all three splits.
    """
    from propgrad.models.classifier import create_classifier
    from propgrad.train import TrainSettings, fit

    config = cats_dogs_config(split, preset)
    model = dict(config["model"])
    arch = model.pop("arch", "convmixer")
    settings = TrainSettings(**config["train"])
    classifier = create_classifier(
        arch,
        len(CLASSES),
        image_size=config["world"]["size"],
        normalisation="unit",
        class_names=CLASSES,
        name=f"toy ConvMixer ({split})",
        seed=settings.seed,
        **model,
    )

    def train_data() -> tuple[Any, Any]:
        own = make_split_from_config(config, progress=progress)
        return own.x_train, own.y_train

    def eval_sets() -> dict[str, Any]:
        parts = {s: make_split_from_config(config, s, test_only=True) for s in SPLITS}
        return {s: (d.x_test, d.y_test) for s, d in parts.items()}

    data_key = {k: config[k] for k in ("world_name", "world", "split")}
    return fit(
        classifier,
        train_data,
        eval_sets=eval_sets,
        settings=settings,
        data_key=data_key,
        progress=progress,
        num_threads=num_threads,
    )
