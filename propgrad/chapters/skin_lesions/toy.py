"""The chapter's toy data source: the dermoscopy world and stand-in ImageNet backbones.

:class:`ToyLesions` has the interface the chapter uses for either source
(this one and :class:`~propgrad.chapters.skin_lesions.real.IsicLesions`): the
two splits (training data, test sets, counts, examples), the test melanomas,
the pool of patches kept apart for the interventions and the patch sweep of
any melanoma with any of them, and the pre-trained weights the models start
from. Here the world is :mod:`propgrad.worlds.skin_lesions`, the sweeps blend
one of the world's intervention patches into a rendered melanoma (exact: the
last frame is the melanoma rendered with the patch), and the "ImageNet"
weights are backbones pre-trained on the generic toy task of
:mod:`propgrad.pretrain` (:meth:`ToyLesions.backbones`;
:func:`pretraining_report` says what they learned).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from propgrad.chapters.skin_lesions.report import part_counts
from propgrad.worlds.skin_lesions import (
    CLASS_NAMES,
    SPLITS,
    WORLD_DEFAULTS,
    WORLD_PRESETS,
    Patch,
    SkinLesionSplit,
    intervene,
    make_split_from_preset,
    patch_pool,
    world_preset,
)

#: The pool of intervention patches by world preset: its size and seed. The
#: patches come from the world's ``"intervention"`` pool, which no training or
#: test image uses (as in the paper, the dots blended in were never seen).
INTERVENTION_POOLS: dict[str, dict[str, int]] = {
    "smoke": {"pool_size": 8, "seed": 0},
    "demo": {"pool_size": 50, "seed": 0},
}


def toy_preset(preset: str | Mapping[str, Any] = "demo") -> dict[str, Any]:
    """The full settings of a preset: ``{"world": ..., "intervention_pool": ...}``.

    Parameters
    ----------
    preset : str or mapping
        ``"smoke"`` or ``"demo"`` (the world's
        :data:`~propgrad.worlds.skin_lesions.WORLD_PRESETS` with
        :data:`INTERVENTION_POOLS`), or a dict of that layout (without
        ``intervention_pool``, the demo pool).

    Returns
    -------
    dict
        A deep copy, safe to change.

    Raises
    ------
    ValueError
        For an unknown preset name or a dict without ``world``.
    """
    if isinstance(preset, str):
        if preset not in INTERVENTION_POOLS:
            raise ValueError(
                f"unknown preset {preset!r}; choose one of {sorted(INTERVENTION_POOLS)}"
            )
        return {
            "world": world_preset(preset),
            "intervention_pool": dict(INTERVENTION_POOLS[preset]),
        }
    if "world" not in preset:
        raise ValueError("a toy preset needs a 'world' entry (see WORLD_PRESETS)")
    return {
        "world": world_preset(dict(preset["world"])),
        "intervention_pool": copy.deepcopy(
            dict(preset.get("intervention_pool", INTERVENTION_POOLS["demo"]))
        ),
    }


def intervention_pool(preset: str | Mapping[str, Any] = "demo") -> list[Patch]:
    """The preset's intervention patches (kept apart from all data), unplaced.

    Parameters
    ----------
    preset : str or mapping
        See :func:`toy_preset`.

    Returns
    -------
    list of Patch
        ``pool_size`` patches of the world's ``"intervention"`` pool, seeded
        with the pool's ``seed`` and sized by the world's ``patch_scale``.
    """
    config = toy_preset(preset)
    pool = config["intervention_pool"]
    scale = float(config["world"].get("patch_scale", WORLD_DEFAULTS["patch_scale"]))
    return patch_pool(int(pool["pool_size"]), int(pool["seed"]), pool="intervention", scale=scale)


class ToyLesions:
    """The procedural dermoscopy world as the chapter's data source (demo and smoke profiles).

    Parameters
    ----------
    preset : str or mapping, optional
        See :func:`toy_preset`.
    pretrain_preset : str or mapping, optional
        The stand-in ImageNet pre-training (a preset of
        :func:`propgrad.pretrain.pretrained_backbones`); by default the
        preset's name (``"demo"`` for a dict).
    """

    kind = "toy"

    def __init__(
        self,
        preset: str | Mapping[str, Any] = "demo",
        *,
        pretrain_preset: str | Mapping[str, Any] | None = None,
    ) -> None:
        self.preset = toy_preset(preset)
        self.preset_name = preset if isinstance(preset, str) else "custom"
        if pretrain_preset is None:
            pretrain_preset = preset if isinstance(preset, str) else "demo"
        self.pretrain_preset = pretrain_preset
        self.size = int(self.preset["world"]["size"])
        self._splits: dict[str, SkinLesionSplit] = {}
        self._pool: list[Patch] | None = None

    @property
    def description(self) -> str:
        """What the data are, for captions."""
        return f"toy world, preset {self.preset_name!r}"

    @property
    def config(self) -> dict[str, Any]:
        """JSON description that rebuilds this source (:func:`~.models.lesion_source`)."""
        return {"kind": self.kind, "preset": copy.deepcopy(self.preset)}

    def split(self, name: str) -> SkinLesionSplit:
        """The rendered :class:`~propgrad.worlds.skin_lesions.SkinLesionSplit` (cached)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
        if name not in self._splits:
            self._splits[name] = make_split_from_preset(self.preset["world"], name)
        return self._splits[name]

    def train_set(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Training images and labels of a split."""
        s = self.split(split)
        return s.x_train, s.y_train

    def train_key(self, split: str) -> dict[str, Any]:
        """Identity of a split's training data in the trainer's cache key."""
        return {"world": "skin_lesions", **self.preset["world"], "split": split}

    def test_sets(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Test split -> (images, labels)."""
        return {s: (self.split(s).x_test, self.split(s).y_test) for s in SPLITS}

    def n_test_melanomas(self) -> int:
        """Number of melanomas in the test part (the same in both splits)."""
        return int(np.sum(self.split("unbiased").y_test == 1))

    def melanoma_images(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """Test melanomas as uint8 (n, H, W, 3); the same lesions in both splits."""
        s = self.split("unbiased")
        mel = np.flatnonzero(s.y_test == 1)
        return s.x_test[mel if indices is None else mel[np.asarray(indices, dtype=int)]]

    def n_patches(self) -> int:
        """Size of the intervention patch pool (kept apart from all data)."""
        return len(self._patch_pool())

    def _patch_pool(self) -> list[Patch]:
        if self._pool is None:
            self._pool = intervention_pool(self.preset)
        return self._pool

    def patch_sweep(self, image: int, patch: int, n_steps: int, seed: int = 0) -> Any:
        """Blend intervention patch ``patch`` into test melanoma ``image``.

        The patch is placed beside the lesion (seeded), then alpha-blended in
        from 0 to 1 in ``n_steps`` equal steps
        (:func:`propgrad.worlds.skin_lesions.intervene`).
        """
        s = self.split("unbiased")
        mel = np.flatnonzero(s.y_test == 1)
        params = s.params_test[int(mel[int(image)])]
        sweep = intervene(
            params, self._patch_pool()[int(patch)], n_steps, size=self.size, seed=seed
        )
        sweep.metadata.update({"image_index": int(image), "patch_index": int(patch)})
        return sweep

    def examples(self, n_per_class: int = 4) -> tuple[dict[str, list], dict[str, list[str]]]:
        """The first training images of each class per split (nevi with patches first).

        Returns
        -------
        images, titles : dict
            Split -> images; split -> their titles (class, "+ patch").
        """
        images, titles = {}, {}
        for split in SPLITS:
            s = self.split(split)
            patched = s.has_patch("train")
            order = [
                *np.flatnonzero((s.y_train == 0) & patched),
                *np.flatnonzero((s.y_train == 0) & ~patched),
            ][:n_per_class]
            order += list(np.flatnonzero(s.y_train == 1)[:n_per_class])
            images[split] = [s.x_train[i] for i in order]
            titles[split] = [
                CLASS_NAMES[s.y_train[i]] + (" + patch" if patched[i] else "") for i in order
            ]
        return images, titles

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and part: nevi, nevi with patches, melanomas."""
        out = {}
        for name in SPLITS:
            s = self.split(name)
            for part, y in (("train", s.y_train), ("test", s.y_test)):
                out[f"{name} / {part}"] = part_counts(y, s.has_patch(part))
        return out

    def backbones(
        self,
        architectures: Mapping[str, Mapping[str, Any]],
        image_size: int,
        *,
        cluster: Any = None,
        num_threads: int | None = None,
        progress: bool = True,
    ) -> dict[str, str]:
        """The stand-in ImageNet weights: every backbone pre-trained on the toy task.

        Parameters
        ----------
        architectures : mapping
            From :func:`~propgrad.chapters.skin_lesions.models.architecture_table`.
        image_size : int
            Model input size.
        cluster, num_threads, progress
            See :func:`propgrad.pretrain.pretrained_backbones` (cached; shared
            with the training-dynamics chapter).

        Returns
        -------
        dict
            Label -> weights file.
        """
        from propgrad.pretrain import pretrained_backbones

        return pretrained_backbones(
            architectures,
            image_size,
            preset=self.pretrain_preset,
            cluster=cluster,
            num_threads=num_threads,
            progress=progress,
        )


def pretraining_report(
    architectures: Mapping[str, Mapping[str, Any]],
    weights: Mapping[str, str],
    image_size: int,
    *,
    n_per_class: int = 2,
    seed: int = 99,
) -> dict[str, dict[str, float]]:
    """What the toy pre-training taught each backbone, on fresh images of the toy task.

    Parameters
    ----------
    architectures : mapping
        From :func:`~propgrad.chapters.skin_lesions.models.architecture_table`.
    weights : mapping
        Label -> weights file from :meth:`ToyLesions.backbones`.
    image_size : int
        Input size.
    n_per_class : int, optional
        Held-out images per class (a seed the pre-training never used).
    seed : int, optional
        Seed of the held-out images.

    Returns
    -------
    dict
        Label -> accuracy (%) at the 144 classes and at each factor alone
        (``shape``, ``colour``, ``texture``: is the predicted class's factor
        the true one?).
    """
    from propgrad.models.classifier import create_classifier
    from propgrad.prediction import predict
    from propgrad.worlds.shapes import CLASS_NAMES as SHAPE_CLASSES
    from propgrad.worlds.shapes import make_shapes

    images, labels = make_shapes(int(n_per_class), int(image_size), int(seed))
    factors = np.array([name.split("/") for name in SHAPE_CLASSES])
    report = {}
    for label, spec in architectures.items():
        classifier = create_classifier(
            spec["arch"],
            len(SHAPE_CLASSES),
            checkpoint=weights[label],
            image_size=int(image_size),
            normalisation="imagenet",
            model_kwargs=spec["model_kwargs"],
        )
        guess = predict(classifier.model, images, classifier.preprocess, progress=False)
        guess = guess.argmax(axis=1)
        row = {"144 classes": 100.0 * float(np.mean(guess == labels))}
        for i, factor in enumerate(("shape", "colour", "texture")):
            row[factor] = 100.0 * float(np.mean(factors[guess, i] == factors[labels, i]))
        report[label] = row
    return report


__all__ = [
    "INTERVENTION_POOLS",
    "ToyLesions",
    "intervention_pool",
    "pretraining_report",
    "toy_preset",
]

# the world's presets are the chapter's too; keep them in step
assert set(INTERVENTION_POOLS) == set(WORLD_PRESETS)
