"""The chapter's toy data source: the portrait world, CPU-sized stand-ins, exact hair sweeps.

:class:`ToyFaces` has the interface the chapter uses for either source (this
one and :class:`~propgrad.chapters.training_dynamics.real.CelebAFaces`): the
data the runs train on, the correlations of the visible traits with the label,
example faces, the two local faces with their hair sweeps, and the weights the
pre-trained runs start from. Here the world is
:data:`propgrad.worlds.portraits.WORLD` at a preset of
:data:`~propgrad.worlds.portraits.PORTRAITS_PRESETS`, the hair sweep is exact
(the face re-rendered with only its greyness changed), the models are small
members of the paper's eight families (:data:`STANDINS`), and "pre-trained"
means pre-trained on the shapes world (:func:`propgrad.pretrain.pretrained_backbones`,
shared with the skin-lesion chapter) instead of ImageNet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from propgrad.chapters.training_dynamics.dynamics import LocalSweeps, RunsOfSource
from propgrad.worlds import portraits as world
from propgrad.worlds.drawing import validate_unit

#: CPU-sized members of the paper's eight families (timm architectures with
#: smaller arguments), keyed by the paper's labels; the ViT and Swin ones are
#: built for the toy world's 32 x 32 pixels.
STANDINS: dict[str, dict[str, Any]] = {
    "ConvMixer": {
        "arch": "propgrad_convmixer",
        "model_kwargs": {"dim": 64, "depth": 4, "kernel_size": 5, "patch_size": 4},
    },
    "ResNet18": {
        "arch": "resnet18",
        "model_kwargs": {"channels": [16, 32, 64, 128], "stem_width": 16},
    },
    "EfficientNet-B0": {"arch": "tinynet_e", "model_kwargs": {}},
    "MobileNetV3-L": {"arch": "mobilenetv3_large_075", "model_kwargs": {}},
    "DenseNet121": {
        "arch": "densenet121",
        "model_kwargs": {"growth_rate": 12, "block_config": [2, 4, 6, 4]},
    },
    "ConvNeXt-S": {
        "arch": "convnext_small",
        "model_kwargs": {"dims": [24, 48, 96, 192], "depths": [1, 1, 3, 1]},
    },
    "ViT-B/16": {
        "arch": "vit_base_patch16_224",
        "model_kwargs": {
            "img_size": 32,
            "patch_size": 8,
            "embed_dim": 96,
            "depth": 4,
            "num_heads": 3,
        },
    },
    "SwinT-S": {
        "arch": "swin_small_patch4_window7_224",
        "model_kwargs": {
            "img_size": 32,
            "patch_size": 4,
            "window_size": 4,
            "embed_dim": 32,
            "depths": [1, 1, 2],
            "num_heads": [1, 2, 4],
        },
    },
}

#: The families trained at the demo profile: the two depthwise-convolution
#: families (EfficientNet-B0, MobileNetV3-L) train about three times slower per
#: batch on a CPU and are left out.
DEMO_FAMILIES = ["ConvMixer", "ResNet18", "DenseNet121", "ConvNeXt-S", "ViT-B/16", "SwinT-S"]

#: The demo's stand-in for ImageNet: settings of
#: :func:`propgrad.pretrain.pretrained_backbones` (its ``preset``).
PRETRAIN_PRESET: dict[str, Any] = {
    "world": {"n_per_class": 8, "seed": 0},
    "train": {"epochs": 4, "batch_size": 64, "lr": 1e-3, "augment": "flip", "seed": 0},
}

#: Where the runs' data loader lived when the cached models were trained. The
#: loader's name is part of every run's cache key (``TrainSpec.data_key``), so
#: the runs keep this name although the loader is now :func:`portrait_data` here:
#: changing it would retrain every model.
TRAINED_WITH_LOADER = "propgrad.worlds.portraits:young_data"


def portrait_data(
    preset: str | Mapping[str, Any] = "demo",
) -> tuple[tuple[np.ndarray, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Training data and test set of a world preset, as :func:`propgrad.train.fit` takes them.

    The data loader of the toy runs (``TrainSpec.data``; see
    :func:`propgrad.runs.load_data`).

    Parameters
    ----------
    preset : str or mapping, optional
        As for :func:`propgrad.worlds.portraits.make_split_from_preset`.

    Returns
    -------
    train : (ndarray, ndarray)
        uint8 images (N, H, W, 3) and labels (1 = young).
    eval_sets : dict
        ``{"test": (images, labels)}``.
    """
    split = world.make_split_from_preset(preset if isinstance(preset, str) else dict(preset))
    return (split.x_train, split.y_train), {"test": (split.x_test, split.y_test)}


class LocalExamples(NamedTuple):
    """Indices of the two local examples (into a split part's faces)."""

    hair: int
    """The plain young face whose prediction should move with the hair."""
    makeup: int
    """The heavily made-up young face (the confounded example)."""


def pick_local_examples(
    split: world.PortraitSplit | Sequence[world.PortraitParams],
    part: str = "test",
    *,
    max_greyness: float = 0.1,
) -> LocalExamples:
    """Pick the two local examples of the paper's Fig. 23 by a fixed rule.

    The rule: among the **young** faces of ``part`` without glasses and with
    natural greyness below ``max_greyness`` (room for the sweep to grey them),

    * ``makeup`` is the face with the largest ``makeup`` (the confounded
      example: makeup is strong evidence for "young" whatever the hair);
    * ``hair`` is, among the other candidates, the face with the smallest
      ``makeup + wrinkles + hair_colour``: no makeup, smooth skin and dark
      natural hair, so little but the hair speaks about age and the grey
      contrasts clearly.

    Ties go to the lowest index.

    Parameters
    ----------
    split : PortraitSplit or sequence of PortraitParams
        The split (or a list of faces, in which case ``part`` is ignored).
    part : {"test", "train"}, optional
        Which part of the split to pick from (default: test).
    max_greyness : float, optional
        Upper bound (exclusive) of a candidate's natural greyness, in [0, 1].

    Returns
    -------
    LocalExamples
        ``(hair, makeup)`` indices into ``split.params_test`` (or the part or
        list given).

    Raises
    ------
    ValueError
        If fewer than two faces qualify, none of them wears makeup, or
        ``max_greyness`` is outside [0, 1].
    """
    if isinstance(split, world.PortraitSplit):
        if part not in ("train", "test"):
            raise ValueError(f"part must be 'train' or 'test', got {part!r}")
        params = split.params_train if part == "train" else split.params_test
    else:
        params = list(split)
    max_greyness = validate_unit("max_greyness", max_greyness)
    candidates = [
        i
        for i, p in enumerate(params)
        if p.young == 1 and p.glasses == 0.0 and p.greyness < max_greyness
    ]
    if len(candidates) < 2:
        raise ValueError(
            f"need at least two young faces without glasses and greyness < {max_greyness:g}, "
            f"found {len(candidates)} among {len(params)}"
        )
    makeup = candidates[int(np.argmax([params[i].makeup for i in candidates]))]
    if params[makeup].makeup <= 0.0:
        raise ValueError("no young candidate wears makeup; cannot pick a confounded example")
    others = [i for i in candidates if i != makeup]
    scores = [params[i].makeup + params[i].wrinkles + params[i].hair_colour for i in others]
    hair = others[int(np.argmin(scores))]
    return LocalExamples(hair=hair, makeup=makeup)


class ToyFaces(RunsOfSource):
    """The portrait world as the chapter's data source (see the module notes).

    Parameters
    ----------
    preset : str or mapping, optional
        The world: a key of :data:`~propgrad.worlds.portraits.PORTRAITS_PRESETS`
        or a dict of that layout (image size, faces per class, seed, world
        settings).
    pretrain_preset : str or mapping, optional
        Settings of the stand-in for ImageNet pre-training (a preset of
        :func:`propgrad.pretrain.pretrained_backbones`; default
        :data:`PRETRAIN_PRESET`).
    cluster : str or dask Client, optional
        Where the pre-trainings run.
    num_threads : int, optional
        Torch CPU threads per training.
    """

    class_names = tuple(world.CLASS_NAMES)

    kind = "toy"
    #: What the traits shown with their correlations are.
    trait = "dial"
    #: What the models start from in the pre-trained runs.
    pretraining = "toy shape/colour/texture pre-training (propgrad.pretrain)"
    #: What Table 11's accuracy is measured on.
    test_description = "toy world, balanced test set"

    def __init__(
        self,
        preset: str | Mapping[str, Any] = "demo",
        *,
        pretrain_preset: str | Mapping[str, Any] | None = None,
        cluster: Any = None,
        num_threads: int | None = None,
    ) -> None:
        if isinstance(preset, str):
            if preset not in world.PORTRAITS_PRESETS:
                raise ValueError(
                    f"unknown preset {preset!r}; choose one of {sorted(world.PORTRAITS_PRESETS)}"
                )
            preset = world.PORTRAITS_PRESETS[preset]
        self.preset = dict(preset)
        self.pretrain_preset = PRETRAIN_PRESET if pretrain_preset is None else pretrain_preset
        self.cluster = cluster
        self.num_threads = num_threads

    @property
    def size(self) -> int:
        """Image size in pixels (the models' input size)."""
        return int(self.preset["size"])

    @property
    def description(self) -> str:
        """What the data are, for captions."""
        return "toy world"

    @property
    def data(self) -> dict[str, Any]:
        """The runs' data: :func:`portrait_data` of the preset."""
        return {"loader": f"{__name__}:portrait_data", "preset": self.preset}

    @property
    def data_key(self) -> dict[str, Any]:
        """The runs' data as in their cache key: the old loader (:data:`TRAINED_WITH_LOADER`)."""
        return {"loader": TRAINED_WITH_LOADER, "preset": self.preset}

    @cached_property
    def split(self) -> world.PortraitSplit:
        """The rendered split (training and test faces)."""
        return world.make_split_from_preset(self.preset)

    @property
    def n_train(self) -> int:
        """Training images."""
        return len(self.split.y_train)

    def correlations(self) -> dict[str, float]:
        """Correlation of every dial (and the hidden age) with "young" over the training faces."""
        return world.label_correlations(self.split.params_train)

    def examples(self, n_per_class: int = 6) -> dict[str, np.ndarray]:
        """The first training faces of each class: class name -> uint8 images."""
        picks = {
            c: np.flatnonzero(self.split.y_train == k)[:n_per_class]
            for k, c in enumerate(world.CLASS_NAMES)
        }
        return {c: self.split.x_train[i] for c, i in picks.items()}

    def local_sweeps(self, n_steps: int = 21) -> LocalSweeps:
        """The two local faces (:func:`pick_local_examples`), greyed in ``n_steps`` exact steps.

        Each sweep runs from the face's own greyness to fully grey-white;
        every pixel outside the hair stays the same. Records the faces'
        indices in the test part (``local_examples``) and their dials
        (``local_example_dials``).
        """
        names = ("hair", "makeup")
        examples = pick_local_examples(self.split)
        faces = [self.split.params_test[i] for i in examples]
        sweeps = [world.intervene(p, "greyness", n_steps, size=self.size) for p in faces]
        return LocalSweeps(
            names=names,
            sweeps=np.stack([np.stack(list(s)) for s in sweeps]),
            grids={n: np.asarray(s.grid, dtype=float) for n, s in zip(names, sweeps)},
            axis="hair greyness",
            frame_title="grey {:.2f}",
            description="toy world, exact intervention",
            record={
                "local_examples": dict(zip(names, (int(i) for i in examples))),
                "local_example_dials": {
                    n: {d: getattr(p, d) for d in world.DIALS} for n, p in zip(names, faces)
                },
            },
        )

    def weights(self, models: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """Pre-train every model's backbone on the shapes world (cached): label -> weights file."""
        from propgrad.pretrain import pretrained_backbones

        return pretrained_backbones(
            models,
            self.size,
            preset=self.pretrain_preset,
            cluster=self.cluster,
            num_threads=self.num_threads,
            progress=False,
        )


__all__ = [
    "DEMO_FAMILIES",
    "PRETRAIN_PRESET",
    "STANDINS",
    "TRAINED_WITH_LOADER",
    "LocalExamples",
    "ToyFaces",
    "pick_local_examples",
    "portrait_data",
]
