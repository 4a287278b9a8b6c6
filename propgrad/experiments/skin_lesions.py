"""The skin-lesion experiment (Sec. 4.2 and appendix C of the paper), for every profile.

Four architectures, each in three variants, are scored under a colourful-patch
intervention on melanoma images:

``unbiased``
    fine-tuned from pre-trained weights on lesions without patches;
``biased``
    fine-tuned on lesions where half of the nevi carry colourful patches;
``imagenet``
    the pre-trained backbone itself. The paper does not say how its
    ImageNet-only model classifies lesions; here its backbone stays frozen and
    only a new two-class head is fitted on the unbiased lesions (a linear
    probe, ``fit(..., train_only="head")``), so every patch sensitivity of
    that variant comes from the pre-trained features.

The recipe is the same for two data sources with one interface:

* :class:`ToyLesions`, the procedural dermoscopy world of
  :mod:`propgrad.worlds.skin_lesions` (the ``smoke`` and ``demo`` profiles),
  with backbones pre-trained on the generic toy task of
  :mod:`propgrad.pretrain` as the ImageNet stand-in;
* :class:`IsicLesions`, ISIC images in the folder layout of
  :mod:`propgrad.datasets.isic` (the ``paper`` profile), with ImageNet weights
  from local files (:func:`find_imagenet_weights`).

Heavy steps are idempotent tasks submitted through
:func:`propgrad.tasks.run_tasks`: pre-training (:func:`propgrad.pretrain.pretrain_task`),
fine-tuning (:func:`train_task`) and the flip-prediction scores
(:func:`flip_scores_task`). Each is described by a plain, picklable dict, so
the same call runs in this process, in a local process pool or on a Dask
cluster; the trainer and the attribution cache make every task resume where a
killed run stopped. Scoring along the sweeps goes through
:func:`propgrad.score_models` (cached predictions).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from propgrad.paper.skin_lesions import MODELS as PAPER_MODELS
from propgrad.pretrain import find_imagenet_weights, pretrain_task, pretrained_backbones

#: Class names by output index (0 = nevus, the benign class).
CLASS_NAMES = ("nevus", "melanoma")

#: Output whose probability is scored and plotted.
TARGET = "melanoma"

#: The three variants of every architecture (the columns of Table 3).
VARIANTS = ("unbiased", "biased", "imagenet")

#: The paper's labels of the variants (Table 3's column labels).
VARIANT_LABELS = {"unbiased": "Unbiased", "biased": "Biased", "imagenet": "ImageNet"}

#: The two training and test splits (Table 10).
SPLITS = ("unbiased", "biased")

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
        (:data:`propgrad.paper.skin_lesions.MODELS`).
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


# ---------------------------------------------------------------------------
# data sources


class ToyLesions:
    """The procedural dermoscopy world as a data source (demo and smoke profiles).

    Parameters
    ----------
    preset : str or dict
        A key of :data:`propgrad.worlds.skin_lesions.SKIN_LESION_PRESETS` or a
        dict of the same layout.
    """

    kind = "toy"

    def __init__(self, preset: str | Mapping[str, Any] = "demo") -> None:
        from propgrad.worlds.skin_lesions import skin_lesion_preset

        self.preset = skin_lesion_preset(dict(preset) if isinstance(preset, Mapping) else preset)
        self.size = int(self.preset["world"]["size"])
        self._splits: dict[str, Any] = {}
        self._pool: list[Any] | None = None

    @property
    def description(self) -> dict[str, Any]:
        """JSON description that rebuilds this source (:func:`lesion_data`)."""
        return {"kind": self.kind, "preset": copy.deepcopy(self.preset)}

    def split(self, name: str) -> Any:
        """The rendered :class:`~propgrad.worlds.skin_lesions.SkinLesionSplit` (cached)."""
        from propgrad.worlds.skin_lesions import make_split_from_preset

        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
        if name not in self._splits:
            self._splits[name] = make_split_from_preset(self.preset, name)
        return self._splits[name]

    def train_set(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Training images and labels of a split."""
        s = self.split(split)
        return s.x_train, s.y_train

    def train_key(self, split: str) -> dict[str, Any]:
        """Identity of a split's training data for the trainer's cache key."""
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

    def _patch_pool(self) -> list[Any]:
        from propgrad.worlds.skin_lesions import intervention_pool_from_preset

        if self._pool is None:
            self._pool = intervention_pool_from_preset(self.preset)
        return self._pool

    def patch_sweep(self, image: int, patch: int, n_steps: int, seed: int = 0) -> Any:
        """Blend intervention patch ``patch`` into test melanoma ``image``.

        The patch is placed beside the lesion (seeded), then alpha-blended in
        from 0 to 1 in ``n_steps`` equal steps
        (:func:`propgrad.worlds.skin_lesions.intervene`).
        """
        from propgrad.worlds.skin_lesions import intervene

        s = self.split("unbiased")
        mel = np.flatnonzero(s.y_test == 1)
        params = s.params_test[int(mel[int(image)])]
        sweep = intervene(
            params, self._patch_pool()[int(patch)], n_steps, size=self.size, seed=seed
        )
        sweep.metadata.update({"image_index": int(image), "patch_index": int(patch)})
        return sweep

    def examples(self, split: str, n_per_class: int = 4) -> tuple[list, list[str]]:
        """A few training images of a split, nevi with patches first, and their titles."""
        s = self.split(split)
        patched = s.has_patch("train")
        order = [
            *np.flatnonzero((s.y_train == 0) & patched),
            *np.flatnonzero((s.y_train == 0) & ~patched),
        ][:n_per_class]
        order += list(np.flatnonzero(s.y_train == 1)[:n_per_class])
        titles = [CLASS_NAMES[s.y_train[i]] + (" + patch" if patched[i] else "") for i in order]
        return [s.x_train[i] for i in order], titles

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and part: nevi, nevi with patches, melanomas."""
        out = {}
        for name in SPLITS:
            s = self.split(name)
            for part, y in (("train", s.y_train), ("test", s.y_test)):
                patched = s.has_patch(part)
                out[f"{name} / {part}"] = {
                    "nevi": int(np.sum(y == 0)),
                    "of them with patches": int(np.sum((y == 0) & patched)),
                    "melanomas": int(np.sum(y == 1)),
                }
        return out


class IsicLesions:
    """ISIC images in the folder layout of :mod:`propgrad.datasets.isic` (paper profile).

    Parameters
    ----------
    root : str or Path
        The ISIC folder (``metadata.csv``, ``images/``, ``patch_masks/``).
    n_train_per_class, n_test_per_class : int, optional
        Images per class in the training and test parts; ``None`` takes the
        largest balanced sizes the folder allows with a fifth of them for
        testing (:func:`propgrad.datasets.isic.largest_split_sizes`; the paper
        does not state its sizes).
    n_reserved : int, optional
        Patch images kept apart for the interventions.
    seed : int, optional
        Seed of the sampling.
    image_size : int, optional
        Size of the intervened images (the models resize anyway).
    """

    kind = "isic"

    def __init__(
        self,
        root: str | Path,
        n_train_per_class: int | None = None,
        n_test_per_class: int | None = None,
        *,
        n_reserved: int = 50,
        seed: int = 0,
        image_size: int = 224,
    ) -> None:
        from propgrad.datasets.isic import largest_split_sizes, list_isic

        if root is None:
            raise FileNotFoundError(
                "the paper profile reads ISIC images: pass data_dir=<folder with metadata.csv, "
                "images/ and patch_masks/> (layout: see propgrad.datasets.isic)"
            )
        self.root = Path(root)
        self.records = list_isic(self.root)
        if n_train_per_class is None or n_test_per_class is None:
            n_train, n_test = largest_split_sizes(self.records, n_reserved=n_reserved, seed=seed)
            n_train_per_class = n_train if n_train_per_class is None else n_train_per_class
            n_test_per_class = n_test if n_test_per_class is None else n_test_per_class
        self.n_train_per_class, self.n_test_per_class = (
            int(n_train_per_class),
            int(n_test_per_class),
        )
        self.n_reserved, self.seed, self.size = int(n_reserved), int(seed), int(image_size)
        self._splits: dict[str, Any] = {}

    @property
    def description(self) -> dict[str, Any]:
        """JSON description that rebuilds this source (:func:`lesion_data`)."""
        return {
            "kind": self.kind,
            "root": str(self.root.resolve()),
            "n_train_per_class": self.n_train_per_class,
            "n_test_per_class": self.n_test_per_class,
            "n_reserved": self.n_reserved,
            "seed": self.seed,
            "image_size": self.size,
        }

    def split(self, name: str) -> Any:
        """The sampled :class:`~propgrad.datasets.isic.IsicSplit` (cached)."""
        from propgrad.datasets.isic import isic_split

        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
        if name not in self._splits:
            self._splits[name] = isic_split(
                self.records,
                name,
                self.n_train_per_class,
                self.n_test_per_class,
                n_reserved=self.n_reserved,
                seed=self.seed,
            )
        return self._splits[name]

    def train_set(self, split: str) -> list[Any]:
        """Training records (path and label) of a split; the trainer reads them."""
        return self.split(split).train

    def train_key(self, split: str) -> None:
        """``None``: the trainer hashes the image paths and sizes itself."""
        return None

    def test_sets(self) -> dict[str, list[Any]]:
        """Test split -> records."""
        return {s: self.split(s).test for s in SPLITS}

    def _melanomas(self) -> list[Any]:
        # the same melanomas in both splits' test parts (see propgrad.datasets.isic)
        test = self.split("unbiased").test
        return sorted((r for r in test if r.label == 1), key=lambda r: r.image_id)

    def n_test_melanomas(self) -> int:
        """Number of melanomas in the test part."""
        return len(self._melanomas())

    def melanoma_images(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """Test melanomas loaded at :attr:`size`, uint8 (n, H, W, 3)."""
        from propgrad.datasets.isic import load_isic_images

        records = self._melanomas()
        chosen = records if indices is None else [records[int(i)] for i in indices]
        return load_isic_images(chosen, self.size)

    def n_patches(self) -> int:
        """Number of reserved patch images."""
        return len(self.split("unbiased").reserved)

    def patch_sweep(self, image: int, patch: int, n_steps: int, seed: int = 0) -> Any:
        """Blend the segmented patches of reserved image ``patch`` into melanoma ``image``.

        Both are resized to :attr:`size`; the patch pixels are blended in
        where the patch image's mask says, alpha from 0 to 1 in ``n_steps``
        equal steps (:func:`propgrad.interventions.designed.alpha_blend_sweep`).
        """
        from propgrad.datasets.isic import load_isic_image, load_isic_patch
        from propgrad.interventions.designed import alpha_blend_sweep

        melanoma = self._melanomas()[int(image)]
        source = self.split("unbiased").reserved[int(patch)]
        overlay, mask = load_isic_patch(source, self.size)
        sweep = alpha_blend_sweep(
            load_isic_image(melanoma, self.size), overlay, mask, np.linspace(0.0, 1.0, n_steps)
        )
        sweep.grid_name = "patch opacity (alpha)"
        sweep.metadata.update(
            {
                "image_index": int(image),
                "patch_index": int(patch),
                "image_id": melanoma.image_id,
                "patch_id": source.image_id,
            }
        )
        return sweep

    def examples(self, split: str, n_per_class: int = 4) -> tuple[list, list[str]]:
        """A few training images of a split, nevi with patches first, and their titles."""
        from propgrad.datasets.isic import load_isic_image

        train = self.split(split).train
        nevi = sorted((r for r in train if r.label == 0), key=lambda r: not r.colorful_patch)
        chosen = nevi[:n_per_class] + [r for r in train if r.label == 1][:n_per_class]
        titles = [r.diagnosis + (" + patch" if r.colorful_patch else "") for r in chosen]
        return [load_isic_image(r, self.size) for r in chosen], titles

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and part: nevi, nevi with patches, melanomas."""
        out = {}
        for name in SPLITS:
            s = self.split(name)
            for part in ("train", "test"):
                y, patched = s.labels(part), s.has_patch(part)
                out[f"{name} / {part}"] = {
                    "nevi": int(np.sum(y == 0)),
                    "of them with patches": int(np.sum((y == 0) & patched)),
                    "melanomas": int(np.sum(y == 1)),
                }
        return out


_SOURCES: dict[str, Any] = {}


def lesion_data(description: Mapping[str, Any]) -> ToyLesions | IsicLesions:
    """Rebuild a data source from its :attr:`description` (cached per process).

    Parameters
    ----------
    description : mapping
        ``{"kind": "toy", "preset": ...}`` or ``{"kind": "isic", "root": ...,
        ...}``.

    Returns
    -------
    ToyLesions or IsicLesions
    """
    key = json.dumps(description, sort_keys=True, default=str)
    if key not in _SOURCES:
        options = dict(description)
        kind = options.pop("kind", None)
        if kind == "toy":
            _SOURCES[key] = ToyLesions(options["preset"])
        elif kind == "isic":
            root = options.pop("root")
            n_train, n_test = options.pop("n_train_per_class"), options.pop("n_test_per_class")
            _SOURCES[key] = IsicLesions(root, n_train, n_test, **options)
        else:
            raise ValueError(f"unknown data source kind {kind!r}; use 'toy' or 'isic'")
    return _SOURCES[key]


# ---------------------------------------------------------------------------
# pre-trained weights


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
        From :func:`architecture_table`.
    weights : mapping
        Label -> weights file from :func:`propgrad.pretrain.pretrained_backbones`.
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
    from propgrad.worlds.shapes import CLASS_NAMES, make_shapes

    images, labels = make_shapes(int(n_per_class), int(image_size), int(seed))
    factors = np.array([name.split("/") for name in CLASS_NAMES])
    report = {}
    for label, spec in architectures.items():
        classifier = create_classifier(
            spec["arch"],
            len(CLASS_NAMES),
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


# ---------------------------------------------------------------------------
# training


def model_jobs(
    architectures: Mapping[str, Mapping[str, Any]],
    data: ToyLesions | IsicLesions,
    weights: Mapping[str, str],
    image_size: int,
    *,
    train: Mapping[str, Any],
    head: Mapping[str, Any],
    num_threads: int | None = None,
    progress: bool = True,
) -> dict[str, dict[str, dict[str, Any]]]:
    """One training job per architecture and variant.

    Parameters
    ----------
    architectures : mapping
        From :func:`architecture_table`.
    data : ToyLesions or IsicLesions
        The data source.
    weights : mapping
        Label -> pre-trained weights file.
    image_size : int
        Model input size.
    train, head : mapping
        :class:`propgrad.train.TrainSettings` fields of the fine-tunings and of
        the head of the ``imagenet`` variant.
    num_threads, progress
        Torch threads while training; progress bars.

    Returns
    -------
    dict
        Label -> variant -> job (a plain dict; see :func:`train_task`).
    """
    jobs: dict[str, dict[str, dict[str, Any]]] = {}
    for label, spec in architectures.items():
        jobs[label] = {}
        for variant in VARIANTS:
            jobs[label][variant] = {
                "label": label,
                "variant": variant,
                "arch": spec["arch"],
                "model_kwargs": dict(spec["model_kwargs"]),
                "image_size": int(image_size),
                "pretrained": str(weights[label]),
                "data": data.description,
                "train_split": "biased" if variant == "biased" else "unbiased",
                "train_only": "head" if variant == "imagenet" else None,
                "settings": dict(head if variant == "imagenet" else train),
                "num_threads": num_threads,
                "progress": progress,
            }
    return jobs


def build_classifier(job: Mapping[str, Any]) -> Any:
    """The untrained classifier of a job (pre-trained backbone, new two-class head)."""
    from propgrad.models.classifier import create_classifier

    return create_classifier(
        job["arch"],
        len(CLASS_NAMES),
        pretrained=job["pretrained"],
        image_size=int(job["image_size"]),
        normalisation="imagenet",
        class_names=CLASS_NAMES,
        name=f"{job['label']} ({job['variant']})",
        model_kwargs=job["model_kwargs"],
    )


def fit_job(job: Mapping[str, Any], *, progress: bool | None = None) -> Any:
    """Train (or load from the cache) the classifier of one job.

    Parameters
    ----------
    job : mapping
        From :func:`model_jobs`.
    progress : bool, optional
        Override the job's progress setting.

    Returns
    -------
    Classifier
        Trained, with ``.training.accuracies`` on both test splits.
    """
    from propgrad.train import TrainSettings, fit

    data = lesion_data(job["data"])
    split = job["train_split"]
    key = data.train_key(split)
    return fit(
        build_classifier(job),
        (lambda: data.train_set(split)) if key is not None else data.train_set(split),
        eval_sets=data.test_sets,
        settings=TrainSettings(**job["settings"]),
        data_key=key,
        train_only=job["train_only"],
        progress=bool(job.get("progress", True)) if progress is None else progress,
        num_threads=job.get("num_threads"),
    )


def train_task(job: Mapping[str, Any]) -> dict[str, Any]:
    """Task: train one job's classifier (cached, resumable); return its cache key and accuracies."""
    classifier = fit_job(job)
    return {"key": classifier.training.key, "accuracies": classifier.training.accuracies}


def train_models(
    jobs: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    cluster: Any = None,
    max_workers: int = 1,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run every training job as a task, then load the trained classifiers.

    Parameters
    ----------
    jobs : mapping
        From :func:`model_jobs`.
    cluster, max_workers
        Where to train (see :func:`propgrad.tasks.run_tasks`).
    progress : bool, optional
        Progress bars.

    Returns
    -------
    dict
        Label -> variant -> trained :class:`~propgrad.models.Classifier`.
    """
    from propgrad.tasks import run_tasks

    flat = [job for variants in jobs.values() for job in variants.values()]
    run_tasks(
        train_task,
        flat,
        cluster=cluster,
        max_workers=max_workers,
        progress=progress,
        desc="fine-tune",
    )
    return {
        label: {v: fit_job(job, progress=False) for v, job in variants.items()}
        for label, variants in jobs.items()
    }


def table10(models: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Accuracy (%) by training split, architecture and test split (Table 10's layout).

    Parameters
    ----------
    models : mapping
        Label -> variant -> trained classifier (:func:`train_models`).

    Returns
    -------
    dict
        ``{training split: {label: {test split: accuracy %}}}``.
    """
    return {
        split: {
            label: {t: 100.0 * variants[split].training.accuracies[t] for t in SPLITS}
            for label, variants in models.items()
        }
        for split in SPLITS
    }


# ---------------------------------------------------------------------------
# interventions


def melanoma_probabilities(classifier: Any, images: np.ndarray) -> np.ndarray:
    """The classifier's melanoma probability for each image (e.g. the test melanomas), (n,)."""
    from propgrad.prediction import predict

    probabilities = predict(classifier, images, softmax=True, progress=False)
    return probabilities[:, CLASS_NAMES.index(TARGET)]


def intervention_design(
    p_melanoma: np.ndarray, n_images: int, n_patches: int, n_pool: int, seed: int = 0
) -> list[tuple[int, list[int]]]:
    """Draw the paper's design: correctly classified melanomas, distinct patches each.

    Melanomas qualify when every model classifies them correctly
    (``p_melanoma > 0.5``); ``n_images`` of them are drawn at random. Should
    fewer qualify (tiny models at the smoke profile), the remaining places
    go to the melanomas with the highest probability, with a warning.

    Parameters
    ----------
    p_melanoma : ndarray, shape (n,)
        The lowest melanoma probability any of the chosen models gives each
        test melanoma (the paper: the biased and the unbiased model).
    n_images, n_patches : int
        Melanomas and patches per melanoma (the paper: 10 and 5).
    n_pool : int
        Size of the patch pool.
    seed : int, optional
        Seed of both draws.

    Returns
    -------
    list of (int, list of int)
        Melanoma index and its patch indices, in drawing order.

    Raises
    ------
    ValueError
        If there are fewer test melanomas than ``n_images`` or fewer patches
        than ``n_patches``.
    """
    import warnings

    p = np.asarray(p_melanoma, dtype=float)
    if p.size < n_images:
        raise ValueError(f"only {p.size} test melanomas, fewer than n_images={n_images}")
    if n_pool < n_patches:
        raise ValueError(f"the patch pool has {n_pool} patches, fewer than n_patches={n_patches}")
    rng = np.random.default_rng([int(seed), 5])
    correct = np.flatnonzero(p > 0.5)
    if correct.size >= n_images:
        images = rng.choice(correct, size=int(n_images), replace=False)
    else:
        warnings.warn(
            f"only {correct.size} test melanomas are classified correctly by every model; "
            f"taking the {n_images - correct.size} most melanoma-like others as well",
            UserWarning,
            stacklevel=2,
        )
        others = [int(i) for i in np.argsort(-p, kind="stable") if p[i] <= 0.5]
        images = np.array([*correct, *others[: int(n_images) - correct.size]])
    return [
        (int(i), [int(k) for k in rng.choice(n_pool, size=int(n_patches), replace=False)])
        for i in images
    ]


def design_sweeps(
    data: ToyLesions | IsicLesions,
    design: Sequence[tuple[int, Sequence[int]]],
    n_steps: int,
    seed: int = 0,
) -> list[list[Any]]:
    """The sweeps of a design: ``result[i][j]`` = image ``i`` with its ``j``-th patch."""
    return [
        [
            data.patch_sweep(image, patch, n_steps, seed=int(seed) + 1000 * image + j)
            for j, patch in enumerate(patches)
        ]
        for image, patches in design
    ]


class PatchInterventions(NamedTuple):
    """The patch interventions of one architecture and their scores.

    Attributes
    ----------
    design : list of (int, list of int)
        Melanoma index and its patch indices (:func:`intervention_design`).
    sweeps : list of list of Sweep
        ``sweeps[i][j]``: melanoma ``i`` with its ``j``-th patch.
    scores : propgrad.scores.Scores
        The three variants along all sweeps (one group, ``"patches"``).
    """

    design: list[tuple[int, list[int]]]
    sweeps: list[list[Any]]
    scores: Any


def patch_interventions(
    models: Mapping[str, Mapping[str, Any]],
    data: ToyLesions | IsicLesions,
    *,
    n_images: int = 10,
    n_patches: int = 5,
    n_steps: int = 11,
    seed: int = 0,
    **score_options: Any,
) -> dict[str, PatchInterventions]:
    """The paper's patch interventions for every architecture, scored for all its variants.

    Per architecture, ``n_images`` test melanomas that its biased and its
    unbiased model classify correctly are drawn, each gets ``n_patches``
    distinct patches from the intervention pool, and the three variants are
    run along all sweeps (:func:`propgrad.score_models`, melanoma
    probability scored).

    Parameters
    ----------
    models : mapping
        Label -> variant -> trained classifier.
    data : ToyLesions or IsicLesions
        The data source.
    n_images, n_patches, n_steps : int, optional
        Melanomas, patches per melanoma, alpha steps.
    seed : int, optional
        Seed of the design, the patch placement and the shuffle tests.
    **score_options
        Passed to :func:`propgrad.score_models` (``n_permutations``,
        ``alpha``, ``progress``, ...).

    Returns
    -------
    dict
        Label -> :class:`PatchInterventions`.
    """
    from propgrad.scores import score_models

    melanomas = data.melanoma_images()  # read once for every model
    out = {}
    for label, variants in models.items():
        p = np.minimum(*(melanoma_probabilities(variants[s], melanomas) for s in SPLITS))
        design = intervention_design(p, n_images, n_patches, data.n_patches(), seed=seed)
        sweeps = design_sweeps(data, design, n_steps, seed=seed)
        flat = [s for row in sweeps for s in row]
        scores = score_models(
            dict(variants), {"patches": flat}, target=TARGET, seed=seed, **score_options
        )
        out[label] = PatchInterventions(design, sweeps, scores)
    return out


def table3(patches: Mapping[str, PatchInterventions]) -> dict[str, dict[str, float]]:
    """E[|∇X|] of every variant's mean curve over its architecture's sweeps (Table 3's layout).

    Parameters
    ----------
    patches : mapping
        From :func:`patch_interventions`.

    Returns
    -------
    dict
        ``{label: {variant: E[|∇X|]}}``.
    """
    return {
        label: {v: float(p.scores[v, "patches"].expected_property_gradient) for v in VARIANTS}
        for label, p in patches.items()
    }


def local_curves(outputs: np.ndarray, n_patches: int, target: int = 1) -> np.ndarray:
    """Per-image curves: the scored output averaged over each image's patches.

    Parameters
    ----------
    outputs : ndarray, shape (n_images * n_patches, N, C)
        Outputs along the sweeps of a design, image by image.
    n_patches : int
        Patches per image.
    target : int, optional
        Output column (1 = melanoma).

    Returns
    -------
    ndarray, shape (n_images, N)
    """
    m, n, _ = outputs.shape
    return outputs[:, :, target].reshape(m // int(n_patches), int(n_patches), n).mean(axis=1)


# ---------------------------------------------------------------------------
# the flip-prediction task (Table 2, bottom)


def flip_design(data: ToyLesions | IsicLesions, n_images: int, seed: int = 0) -> list[tuple]:
    """The first ``n_images`` test melanomas, each with one random intervention patch."""
    n = min(int(n_images), data.n_test_melanomas())
    rng = np.random.default_rng([int(seed), 9])
    return [(i, [int(rng.integers(data.n_patches()))]) for i in range(n)]


def flip_scores_task(job: Mapping[str, Any]) -> dict[str, Any]:
    """Task: the flip-task scores of one model (attributions cached and resumable).

    Parameters
    ----------
    job : mapping
        ``model`` (a job of :func:`model_jobs`), ``design`` (from
        :func:`flip_design`), ``n_steps``, ``n_samples`` (LIME / Kernel SHAP
        samples, ``None`` for captum's default), ``seed``, ``progress``.

    Returns
    -------
    dict
        ``scores`` (method -> (M,) array), ``flipped`` ((M,) bool).
    """
    from propgrad.baselines import flip_task_scores

    classifier = fit_job(job["model"], progress=False)
    data = lesion_data(job["model"]["data"])
    sweeps = [
        row[0]
        for row in design_sweeps(data, job["design"], int(job["n_steps"]), seed=int(job["seed"]))
    ]
    result = flip_task_scores(
        classifier,
        sweeps,
        target=CLASS_NAMES.index(TARGET),
        n_samples=job.get("n_samples"),
        seed=int(job["seed"]),
        progress=bool(job.get("progress", True)),
    )
    return {"scores": result.scores, "flipped": result.flipped}


def flip_task(
    jobs: Mapping[str, Mapping[str, Mapping[str, Any]]],
    design: Sequence[tuple[int, Sequence[int]]],
    n_steps: int,
    *,
    n_per_resample: int = 100,
    n_resamples: int = 10,
    n_samples: int | None = None,
    seed: int = 0,
    cluster: Any = None,
    max_workers: int = 1,
    progress: bool = True,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], dict[str, Any]]:
    """Table 2 (bottom): accuracy at predicting a flip, averaged over biased and unbiased training.

    Every biased and unbiased model is scored on the same sweeps (one patch
    blended into each melanoma of ``design``). Per model and resample, each
    score's best-threshold accuracy is taken
    (:func:`propgrad.baselines.flip_prediction_task`, ``n_per_resample``
    melanomas drawn with replacement, the same draws for every method and
    model); the two models' accuracies are averaged per resample, and mean and
    standard deviation are taken over the resamples.

    Parameters
    ----------
    jobs : mapping
        Label -> variant -> job (:func:`model_jobs`).
    design : sequence
        From :func:`flip_design`.
    n_steps : int
        Alpha steps of every sweep.
    n_per_resample, n_resamples : int, optional
        Images per resample and number of resamples (the paper: 100 and 10).
    n_samples : int, optional
        LIME / Kernel SHAP samples (``None``: captum's default).
    seed : int, optional
        Seed of the attributions and the resamples.
    cluster, max_workers, progress
        Where to run the scoring tasks (:func:`propgrad.tasks.run_tasks`).

    Returns
    -------
    means, stds : dict
        Label -> method key (``"ours"`` and
        :data:`propgrad.baselines.METHODS`) -> accuracy in %.
    flipped : dict
        Label -> split -> fraction of sweeps whose prediction flips.
    """
    from propgrad.baselines import flip_prediction_task
    from propgrad.tasks import run_tasks

    keys = [(label, split) for label in jobs for split in SPLITS]
    tasks = [
        {
            "model": jobs[label][split],
            "design": [(int(i), [int(k) for k in ks]) for i, ks in design],
            "n_steps": int(n_steps),
            "n_samples": n_samples,
            "seed": int(seed),
            "progress": progress,
        }
        for label, split in keys
    ]
    results = run_tasks(
        flip_scores_task,
        tasks,
        cluster=cluster,
        max_workers=max_workers,
        progress=progress,
        desc="flip-task scores",
    )
    by_key = dict(zip(keys, results, strict=True))
    means: dict[str, dict[str, float]] = {}
    stds: dict[str, dict[str, float]] = {}
    flipped: dict[str, Any] = {}
    for label in jobs:
        per_split = {
            split: flip_prediction_task(
                by_key[label, split]["scores"],
                by_key[label, split]["flipped"],
                None,
                n_per_class=int(n_per_resample),
                n_resamples=int(n_resamples),
                seed=int(seed),
                replace=True,
            )
            for split in SPLITS
        }
        methods = list(per_split[SPLITS[0]])
        averaged = {
            m: np.mean([per_split[s][m].accuracies for s in SPLITS], axis=0) for m in methods
        }
        means[label] = {m: 100.0 * float(a.mean()) for m, a in averaged.items()}
        stds[label] = {m: 100.0 * float(a.std()) for m, a in averaged.items()}
        flipped[label] = {s: float(np.mean(by_key[label, s]["flipped"])) for s in SPLITS}
    return means, stds, flipped


__all__ = [
    "ARCHITECTURES",
    "CLASS_NAMES",
    "IsicLesions",
    "SPLITS",
    "TARGET",
    "ToyLesions",
    "VARIANTS",
    "VARIANT_LABELS",
    "architecture_table",
    "build_classifier",
    "design_sweeps",
    "find_imagenet_weights",
    "fit_job",
    "flip_design",
    "flip_scores_task",
    "flip_task",
    "intervention_design",
    "lesion_data",
    "local_curves",
    "PatchInterventions",
    "melanoma_probabilities",
    "patch_interventions",
    "model_jobs",
    "pretrain_task",
    "pretraining_report",
    "pretrained_backbones",
    "table10",
    "table3",
    "train_models",
    "train_task",
]
