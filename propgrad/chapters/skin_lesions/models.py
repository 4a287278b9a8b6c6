"""The chapter's models: four architectures in three variants, as training runs.

Every architecture of the paper (:data:`~propgrad.chapters.skin_lesions.paper.MODELS`)
is trained in three variants (:data:`~propgrad.chapters.skin_lesions.paper.VARIANTS`),
all starting from the same pre-trained weights (a data source's ``backbones``):

``unbiased``
    fine-tuned on lesions without patches;
``biased``
    fine-tuned on lesions where half of the nevi carry colourful patches;
``imagenet``
    the pre-trained backbone itself. The paper does not say how its
    ImageNet-only model classifies lesions; here its backbone stays frozen and
    only a new two-class head is fitted on the unbiased lesions (a linear
    probe, ``train_only="head"``), so every patch sensitivity of that variant
    comes from the pre-trained features.

:data:`ARCHITECTURES` says which timm model stands in for which of the
paper's, by profile; :func:`lesion_runs` describes the twelve trainings as
:class:`propgrad.runs.TrainSpec`; :func:`train_models` runs them with
:func:`propgrad.runs.train_runs` (here, in a process pool or on Dask; cached
by configuration) and loads the classifiers. A run names its data by the data
source's :attr:`config`; :func:`training_data` rebuilds the source from it
where the run trains (:func:`lesion_source`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from propgrad.chapters.skin_lesions.paper import MODELS as PAPER_MODELS
from propgrad.chapters.skin_lesions.paper import VARIANTS
from propgrad.runs import TrainSpec, train_runs
from propgrad.worlds.skin_lesions import CLASS_NAMES, SPLITS

#: Output whose probability is scored and plotted.
TARGET = "melanoma"

#: Which architecture stands in for which of the paper's, by profile. Values:
#: the timm name and its arguments. ``img_size`` is added for ViTs.
ARCHITECTURES: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "ResNet18": {"arch": "resnet18"},
        "EfficientNet-B0": {"arch": "efficientnet_b0"},
        "ConvNeXt-S": {"arch": "convnext_small"},
        "ViT-B/16": {"arch": "vit_base_patch16_224"},
    },
    "demo": {
        # the paper's ResNet18 and EfficientNet-B0 themselves, at a small input size
        "ResNet18": {"arch": "resnet18"},
        "EfficientNet-B0": {"arch": "efficientnet_b0"},
        # the smallest ConvNeXt, and a six-block ViT with 8 x 8 patches
        "ConvNeXt-S": {"arch": "convnext_atto"},
        "ViT-B/16": {
            "arch": "vit_tiny_patch16_224",
            "model_kwargs": {"patch_size": 8, "depth": 6},
        },
    },
    "smoke": {
        "ResNet18": {"arch": "test_resnet"},
        "EfficientNet-B0": {"arch": "test_efficientnet"},
        "ConvNeXt-S": {"arch": "test_convnext"},
        "ViT-B/16": {"arch": "test_vit", "model_kwargs": {"patch_size": 8}},
    },
}


def architecture_table(architectures: Mapping[str, Any], image_size: int) -> dict[str, dict]:
    """Normalise an architecture mapping: paper label -> ``{"arch", "model_kwargs"}``.

    Parameters
    ----------
    architectures : mapping
        Paper label -> a timm name, or a dict with ``arch`` and optionally
        ``model_kwargs``. Labels must be the paper's
        (:data:`propgrad.chapters.skin_lesions.paper.MODELS`).
    image_size : int
        Input size; ViTs (timm names containing ``vit``) get it as
        ``img_size`` unless given.

    Returns
    -------
    dict
        Label -> ``{"arch": str, "model_kwargs": dict}`` in the paper's order.

    Raises
    ------
    ValueError
        For a label that is not one of the paper's.
    """
    unknown = [label for label in architectures if label not in PAPER_MODELS]
    if unknown:
        raise ValueError(
            f"unknown architecture label(s) {unknown}; use the paper's: {list(PAPER_MODELS)}"
        )
    table = {}
    for label in PAPER_MODELS:
        if label not in architectures:
            continue
        entry = architectures[label]
        entry = {"arch": entry} if isinstance(entry, str) else dict(entry)
        kwargs = dict(entry.get("model_kwargs") or {})
        if "vit" in entry["arch"]:
            kwargs.setdefault("img_size", int(image_size))
        table[label] = {"arch": str(entry["arch"]), "model_kwargs": kwargs}
    return table


_SOURCES: dict[str, Any] = {}


def _source_key(config: Mapping[str, Any]) -> str:
    return json.dumps(dict(config), sort_keys=True, default=str)


def lesion_source(config: Mapping[str, Any]) -> Any:
    """The data source of a ``config`` (built once per process, then reused).

    Parameters
    ----------
    config : mapping
        A source's :attr:`config`: ``{"kind": "toy", "preset": ...}`` or
        ``{"kind": "isic", "root": ..., ...}``.

    Returns
    -------
    ToyLesions or IsicLesions

    Raises
    ------
    ValueError
        For an unknown kind.
    """
    key = _source_key(config)
    if key not in _SOURCES:
        options = dict(config)
        kind = options.pop("kind", None)
        if kind == "toy":
            from propgrad.chapters.skin_lesions.toy import ToyLesions

            _SOURCES[key] = ToyLesions(options["preset"])
        elif kind == "isic":
            from propgrad.chapters.skin_lesions.real import IsicLesions

            root = options.pop("root")
            n_train, n_test = options.pop("n_train_per_class"), options.pop("n_test_per_class")
            _SOURCES[key] = IsicLesions(root, n_train, n_test, **options)
        else:
            raise ValueError(f"unknown data source kind {kind!r}; use 'toy' or 'isic'")
    return _SOURCES[key]


def training_data(source: Mapping[str, Any], split: str) -> tuple[Any, dict[str, Any]]:
    """A run's data: the training part of one split; the test parts of both.

    The loader of the chapter's :class:`~propgrad.runs.TrainSpec`.

    Parameters
    ----------
    source : mapping
        A data source's :attr:`config`.
    split : {"unbiased", "biased"}
        The training split.

    Returns
    -------
    train, eval_sets
        The training data (images and labels, or image records); test split
        -> test data.
    """
    data = lesion_source(source)
    return data.train_set(split), data.test_sets()


def lesion_runs(
    architectures: Mapping[str, Mapping[str, Any]],
    data: Any,
    weights: Mapping[str, str],
    image_size: int,
    *,
    train: Mapping[str, Any],
    head: Mapping[str, Any],
    num_threads: int | None = None,
) -> dict[str, dict[str, TrainSpec]]:
    """The training run of every architecture and variant.

    Parameters
    ----------
    architectures : mapping
        From :func:`architecture_table`.
    data : ToyLesions or IsicLesions
        The data source (kept for the runs trained in this process).
    weights : mapping
        Label -> pre-trained weights file (the source's ``backbones``).
    image_size : int
        Model input size.
    train, head : mapping
        :class:`propgrad.train.TrainSettings` fields of the fine-tunings and of
        the head of the ``imagenet`` variant.
    num_threads : int, optional
        Torch CPU threads while training.

    Returns
    -------
    dict
        Label -> variant -> :class:`~propgrad.runs.TrainSpec`: the pre-trained
        backbone with a new two-class head, inputs normalised as ImageNet's;
        fine-tuned on the biased or the unbiased split, or (``imagenet``) only
        its head fitted on the unbiased split. A run's cache key is that of the
        data source's ``train_key``.
    """
    _SOURCES[_source_key(data.config)] = data
    runs: dict[str, dict[str, TrainSpec]] = {}
    for label, spec in architectures.items():
        runs[label] = {}
        for variant in VARIANTS:
            split = "biased" if variant == "biased" else "unbiased"
            runs[label][variant] = TrainSpec(
                name=f"{label} ({variant})",
                arch=spec["arch"],
                data={
                    "loader": f"{__name__}:training_data",
                    "source": data.config,
                    "split": split,
                },
                data_key=data.train_key(split),
                image_size=int(image_size),
                num_classes=len(CLASS_NAMES),
                class_names=CLASS_NAMES,
                model_kwargs=dict(spec["model_kwargs"]),
                weights=str(weights[label]),
                normalisation="imagenet",
                settings=dict(head if variant == "imagenet" else train),
                train_only="head" if variant == "imagenet" else None,
                num_threads=num_threads,
                tags={"label": label, "variant": variant, "split": split},
            )
    return runs


def train_models(
    runs: Mapping[str, Mapping[str, TrainSpec]],
    *,
    cluster: Any = None,
    max_workers: int = 1,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Train every run (or find it in the cache), then load the classifiers.

    Parameters
    ----------
    runs : mapping
        From :func:`lesion_runs`.
    cluster, max_workers
        Where to train (see :func:`propgrad.runs.train_runs`).
    progress : bool, optional
        A progress bar over the runs.

    Returns
    -------
    dict
        Label -> variant -> trained :class:`~propgrad.models.Classifier`, with
        ``.training.accuracies`` on both test splits.
    """
    flat = [spec for variants in runs.values() for spec in variants.values()]
    trained = train_runs(
        flat, cluster=cluster, max_workers=max_workers, progress=progress, desc="fine-tune"
    )
    by_name = {run.spec.name: run for run in trained}
    return {
        label: {v: by_name[spec.name].classifier() for v, spec in variants.items()}
        for label, variants in runs.items()
    }


def accuracy_table(models: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, dict]]:
    """Test accuracy (%) by training variant, architecture and test split.

    Parameters
    ----------
    models : mapping
        Label -> variant -> trained classifier (:func:`train_models`).

    Returns
    -------
    dict
        ``{variant: {label: {test split: accuracy %}}}`` for every variant the
        models have (Table 10's layout for ``unbiased`` and ``biased``).
    """
    variants = [v for v in VARIANTS if all(v in m for m in models.values())]
    return {
        variant: {
            label: {t: 100.0 * trained[variant].training.accuracies[t] for t in SPLITS}
            for label, trained in models.items()
        }
        for variant in variants
    }


__all__ = [
    "ARCHITECTURES",
    "TARGET",
    "architecture_table",
    "accuracy_table",
    "lesion_runs",
    "lesion_source",
    "train_models",
    "training_data",
]


#: The toy profiles' model and training settings (the notebook's parameters of
#: the same names); the paper profile overrides them with the paper's.
TOY_TRAINING: dict[str, dict[str, Any]] = {
    "demo": {
        "image_size": 40, "architectures": ARCHITECTURES["demo"], "pretrain_preset": "demo",
        "epochs": 7, "learning_rate": 1e-3, "batch_size": 32, "augment": "flip",
        "head_epochs": 5, "head_learning_rate": 2e-3,
    },
    "smoke": {
        "image_size": 32, "architectures": ARCHITECTURES["smoke"], "pretrain_preset": "smoke",
        "epochs": 1, "learning_rate": 1e-3, "batch_size": 32, "augment": "flip",
        "head_epochs": 1, "head_learning_rate": 2e-3,
    },
}  # fmt: skip


def training_settings(settings: Mapping[str, Any], seed: int = 0) -> tuple[dict, dict]:
    """The fine-tuning and the head-fitting settings from the notebook's parameters."""
    train = {
        "epochs": settings["epochs"],
        "lr": settings["learning_rate"],
        "batch_size": settings["batch_size"],
        "augment": settings["augment"],
        "seed": seed,
    }
    head = {**train, "epochs": settings["head_epochs"], "lr": settings["head_learning_rate"]}
    return train, head


def toy_models(profile: str = "demo", *, seed: int = 0) -> dict[str, dict[str, Any]]:
    """The toy world's trained models of a profile, as the chapter trains them (cached).

    Other pages reuse the chapter's models with this one call (the "Reading the
    score" chapter's flip contest); the chapter's notebook builds the same runs
    step by step.

    Parameters
    ----------
    profile : {"demo", "smoke"}
        Which of :data:`TOY_TRAINING`.
    seed : int, optional
        The training seed (the chapter's default 0).

    Returns
    -------
    dict
        ``{"data": ToyLesions, "models": label -> variant -> Classifier}``.
    """
    from propgrad.chapters.skin_lesions.toy import ToyLesions

    settings = TOY_TRAINING[profile]
    data = ToyLesions(profile, pretrain_preset=settings["pretrain_preset"])
    archs = architecture_table(settings["architectures"], settings["image_size"])
    weights = data.backbones(archs, settings["image_size"])
    train, head = training_settings(settings, seed)
    runs = lesion_runs(archs, data, weights, settings["image_size"], train=train, head=head)
    return {"data": data, "models": train_models(runs, progress=False)}
