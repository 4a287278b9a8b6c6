"""The chapter's real data source: CelebA, the paper's models and grey-hair edits (Sec. 4.3, D).

:class:`CelebAFaces` has the interface of the toy source
(:class:`~propgrad.chapters.training_dynamics.toy.ToyFaces`), for the paper
profile. What the paper does, as this source reproduces it:

* **data**: CelebA's ``Young`` attribute as the label, class-balanced training
  and test sets from the official partitions
  (:meth:`propgrad.chapters.training_dynamics.celeba.CelebA.young_split`,
  loaded by :func:`celeba_data`);
* **models**: eight architectures (:data:`PAPER_MODELS`, timm names), each
  trained once from ImageNet weights read from local files
  (:func:`propgrad.pretrain.find_imagenet_weights`) and once from random
  initialisation; ImageNet statistics normalise the inputs of pre-trained
  models, [-1, 1] those of random ones; 224 x 224 inputs, batch size 32, AdamW
  with learning rate 1e-4, weight decay 5e-4 and momentum 0.9,
  TrivialAugmentWide, 100 epochs (:data:`PAPER_TRAINING`); a checkpoint kept
  before training and after every epoch (101 per run);
* **intervention**: two young test faces (:func:`pick_local_faces`) edited
  with InstructPix2Pix, instruction :data:`HAIR_INSTRUCTION`, image guidance
  :data:`HAIR_IMAGE_SCALE`, text guidance 1.05 to 9.75 in steps of 0.15
  (:func:`hair_text_scales`), through the batched editor
  (:func:`hair_sweeps`).

The trainings and the scoring of all checkpoints are independent tasks
(:func:`propgrad.runs.train_runs`,
:func:`propgrad.chapters.training_dynamics.dynamics.score_checkpoints`), run
locally or on a Dask cluster.

The paper uses the PyTorch (torchvision) implementations except for the
ConvMixer; this source builds every model with timm, whose architectures
match and whose weights files it loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.chapters.training_dynamics.celeba import CelebA
from propgrad.chapters.training_dynamics.dynamics import LocalSweeps, RunsOfSource

#: The eight models as timm architectures, keyed by the paper's labels.
PAPER_MODELS: dict[str, dict[str, Any]] = {
    "ConvMixer": {"arch": "convmixer_1024_20_ks9_p14", "model_kwargs": {}},
    "ResNet18": {"arch": "resnet18", "model_kwargs": {}},
    "EfficientNet-B0": {"arch": "efficientnet_b0", "model_kwargs": {}},
    "MobileNetV3-L": {"arch": "mobilenetv3_large_100", "model_kwargs": {}},
    "DenseNet121": {"arch": "densenet121", "model_kwargs": {}},
    "ConvNeXt-S": {"arch": "convnext_small", "model_kwargs": {}},
    "ViT-B/16": {"arch": "vit_base_patch16_224", "model_kwargs": {}},
    "SwinT-S": {"arch": "swin_small_patch4_window7_224", "model_kwargs": {}},
}

#: Input size of every model (appendix D).
IMAGE_SIZE = 224

#: Training settings of appendix D (fields of :class:`propgrad.train.TrainSettings`).
PAPER_TRAINING: dict[str, Any] = {
    "epochs": 100,
    "batch_size": 32,
    "lr": 1e-4,
    "weight_decay": 5e-4,
    "betas": (0.9, 0.999),
    "augment": "trivialaugment",
}

#: The edit instruction of the grey-hair sweep (appendix D.2).
HAIR_INSTRUCTION = "change the hair to gray-white color"
#: Its CFG image scale.
HAIR_IMAGE_SCALE = 2.5

#: Class names by label index (CelebA's ``Young`` attribute: 1 = young).
CLASS_NAMES = ("not young", "young")

#: Attributes whose correlation with "young" the chapter shows (the visible
#: traits the toy world has as dials).
SHOWN_ATTRIBUTES = (
    "Gray_Hair",
    "Bald",
    "Eyeglasses",
    "Heavy_Makeup",
    "Wearing_Lipstick",
    "Blond_Hair",
    "Black_Hair",
)

#: Where the runs' data loader lived when the first models were trained. The
#: loader's name is part of every run's cache key (``TrainSpec.data_key``), so
#: the runs keep this name although the loader is now :func:`celeba_data` here:
#: changing it would retrain every model.
TRAINED_WITH_LOADER = "propgrad.experiments.celeba:young_data"

#: Attributes a local face must lack (both faces).
_EXCLUDED = ("Gray_Hair", "Eyeglasses", "Wearing_Hat", "Bald")


def hair_text_scales() -> np.ndarray:
    """The text scales of the grey-hair sweep: 1.05 to 9.75 in steps of 0.15 (59 values)."""
    from propgrad.interventions.instruct_pix2pix import paper_text_scales

    return paper_text_scales(1.05, 9.75, 0.15)


def celeba_data(
    root: str | Path,
    n_train_per_class: int | None = None,
    n_test_per_class: int | None = None,
    seed: int = 0,
) -> tuple[list[Any], dict[str, list[Any]]]:
    """Balanced young/not-young training and test sets (a loader for ``TrainSpec.data``).

    Parameters
    ----------
    root : str or Path
        The CelebA folder (official layout, see
        :mod:`propgrad.chapters.training_dynamics.celeba`).
    n_train_per_class, n_test_per_class : int, optional
        Images per class (default: all images of the smaller class, as the
        paper's balanced split).
    seed : int, optional
        Seed of the selection within each class.

    Returns
    -------
    train : list of CelebAImage
        The training images (records with ``path`` and ``label``).
    eval_sets : dict
        ``{"test": [...]}``.
    """
    data = CelebA(root)
    train = data.young_split("train", n_train_per_class, seed)
    test = data.young_split("test", n_test_per_class, seed)
    return train, {"test": test}


def data_spec(
    root: str | Path,
    n_train_per_class: int | None = None,
    n_test_per_class: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The ``data`` entry of a :class:`~propgrad.runs.TrainSpec` for :func:`celeba_data`."""
    return {
        "loader": f"{__name__}:celeba_data",
        "root": str(Path(root).expanduser().resolve()),
        "n_train_per_class": n_train_per_class,
        "n_test_per_class": n_test_per_class,
        "seed": int(seed),
    }


def pick_local_faces(root: str | Path, partition: str = "test") -> tuple[str, str]:
    """Pick the two local faces of the paper's Fig. 23 by a fixed rule.

    The paper does not name its two faces; this rule stands in for the
    choice. Candidates are the images of ``partition``, in file order,
    labelled ``Young`` and without ``Gray_Hair``, ``Eyeglasses``,
    ``Wearing_Hat`` and ``Bald``. Then

    * the **hair** face is the first candidate without ``Heavy_Makeup``,
      ``Wearing_Lipstick`` and a beard (``No_Beard``) and with black or brown
      hair: little but the hair speaks about age, and grey shows clearly;
    * the **makeup** face is the first candidate with ``Heavy_Makeup`` and
      ``Wearing_Lipstick`` (the confounded example).

    Parameters
    ----------
    root : str or Path
        The CelebA folder.
    partition : str, optional
        The partition to pick from (default: test).

    Returns
    -------
    (str, str)
        File names of the hair face and the makeup face.

    Raises
    ------
    ValueError
        If no image fits one of the two rules.
    """
    data = CelebA(root)
    attrs = data.attributes
    files = [f for f, p in data.partition.items() if p == partition]
    rows = np.array([attrs.row(f) for f in files], dtype=np.int64)

    def has(name: str) -> np.ndarray:
        return attrs.column(name)[rows] if rows.size else np.zeros(0, bool)

    candidate = has("Young")
    for name in _EXCLUDED:
        candidate &= ~has(name)
    dark = has("Black_Hair") | has("Brown_Hair")
    plain = candidate & ~has("Heavy_Makeup") & ~has("Wearing_Lipstick") & has("No_Beard") & dark
    made_up = candidate & has("Heavy_Makeup") & has("Wearing_Lipstick")
    picks = []
    for what, mask in (("hair", plain), ("makeup", made_up)):
        index = np.flatnonzero(mask)
        if index.size == 0:
            raise ValueError(
                f"no {partition!r} image of {data.root} fits the rule of the {what} face "
                "(see propgrad.chapters.training_dynamics.real.pick_local_faces)"
            )
        picks.append(files[int(index[0])])
    return picks[0], picks[1]


def hair_sweeps(
    root: str | Path,
    files: Sequence[str],
    *,
    editor: Any = "timbrooks/instruct-pix2pix",
    text_scales: Any = None,
    num_inference_steps: int = 20,
    seed: int = 0,
    cluster: Any = None,
    progress: bool = True,
) -> list[Any]:
    """The grey-hair InstructPix2Pix sweeps of the given CelebA images.

    Parameters
    ----------
    root : str or Path
        The CelebA folder.
    files : sequence of str
        Image file names (e.g. from :func:`pick_local_faces`).
    editor : str, path or pipeline, optional
        InstructPix2Pix weights: a hub id or a local folder with a saved
        pipeline.
    text_scales : array_like, optional
        Text guidance scales (default :func:`hair_text_scales`).
    num_inference_steps, seed
        Settings of every edit.
    cluster : str or dask.distributed.Client, optional
        Where to run the edits (see :func:`propgrad.tasks.run_tasks`).
    progress : bool, optional
        Progress bar.

    Returns
    -------
    list of Sweep
        One sweep per file, frames in increasing text scale.
    """
    from propgrad.interventions.instruct_pix2pix import edit_sweeps

    data = CelebA(root)
    paths = []
    for file in files:
        path = data.image_path(file)
        if not path.is_file():
            raise FileNotFoundError(f"CelebA image not found: {path}")
        paths.append(path)
    scales = hair_text_scales() if text_scales is None else text_scales
    return edit_sweeps(
        paths,
        HAIR_INSTRUCTION,
        scales,
        image_scale=HAIR_IMAGE_SCALE,
        editor=editor,
        num_inference_steps=num_inference_steps,
        seed=seed,
        cluster=cluster,
        progress=progress,
    )


class CelebAFaces(RunsOfSource):
    """Real CelebA as the chapter's data source (the paper profile; see the module notes).

    Parameters
    ----------
    root : str or Path
        The CelebA folder (official layout, see
        :mod:`propgrad.chapters.training_dynamics.celeba`).
    n_train_per_class, n_test_per_class : int, optional
        Images per class (default: all of the smaller class, balanced).
    seed : int, optional
        Seed of the selection within each class and of every edit.
    image_size : int, optional
        The models' input size (the paper's 224 by default).
    imagenet_weights : str, Path or mapping, optional
        A folder with one ImageNet weights file per architecture, or a mapping
        (see :func:`propgrad.pretrain.find_imagenet_weights`).
    local_faces : sequence of str, optional
        The file names of the hair face and the makeup face (default: the
        rule of :func:`pick_local_faces`).
    editor : str, optional
        InstructPix2Pix weights: a hub id or a local folder.
    text_scales : array_like, optional
        Text guidance scales of the hair edits (default :func:`hair_text_scales`).
    num_inference_steps : int, optional
        Denoising steps of every edit.
    cluster : str or dask Client, optional
        Where the edits run.
    num_threads : int, optional
        Torch CPU threads per training.
    """

    class_names = tuple(CLASS_NAMES)

    kind = "real"
    #: What the traits shown with their correlations are.
    trait = "attribute"
    #: What the models start from in the pre-trained runs.
    pretraining = "ImageNet weights from a local file"
    #: What Table 11's accuracy is measured on.
    test_description = "real CelebA test split"

    def __init__(
        self,
        root: str | Path,
        n_train_per_class: int | None = None,
        n_test_per_class: int | None = None,
        *,
        seed: int = 0,
        image_size: int = IMAGE_SIZE,
        imagenet_weights: Any = None,
        local_faces: Sequence[str] | None = None,
        editor: Any = "timbrooks/instruct-pix2pix",
        text_scales: Any = None,
        num_inference_steps: int = 20,
        cluster: Any = None,
        num_threads: int | None = None,
    ) -> None:
        self.root = root
        self.data = data_spec(root, n_train_per_class, n_test_per_class, seed)
        self.seed = int(seed)
        self.size = int(image_size)
        self.imagenet_weights = imagenet_weights
        self.local_faces = None if not local_faces else list(local_faces)
        self.edit = dict(
            editor=editor,
            text_scales=text_scales,
            num_inference_steps=num_inference_steps,
            seed=seed,
            cluster=cluster,
        )
        self.num_threads = num_threads

    @property
    def description(self) -> str:
        """What the data are, for captions."""
        return "CelebA"

    @property
    def data_key(self) -> dict[str, Any]:
        """The runs' data as in their cache key: the old loader (:data:`TRAINED_WITH_LOADER`)."""
        return {**self.data, "loader": TRAINED_WITH_LOADER}

    def _split(self) -> tuple[list[Any], dict[str, list[Any]]]:
        from propgrad.runs import load_data

        return load_data(self.data)

    @property
    def n_train(self) -> int:
        """Training images."""
        return len(self._split()[0])

    def correlations(self) -> dict[str, float]:
        """Correlation of some attributes (:data:`SHOWN_ATTRIBUTES`) with "young" in training.

        NaN where an attribute (or the label) is constant over the training
        images.
        """
        attributes = CelebA(self.root).attributes
        train = self._split()[0]
        rows = np.array([attributes.row(item.file) for item in train], dtype=np.int64)
        young = np.array([item.label for item in train], dtype=float)
        out = {}
        for name in SHOWN_ATTRIBUTES:
            values = attributes.column(name)[rows].astype(float)
            defined = values.std() > 0 and young.std() > 0
            out[name] = float(np.corrcoef(values, young)[0, 1]) if defined else float("nan")
        return out

    def examples(self, n_per_class: int = 6, size: int = 64) -> dict[str, np.ndarray]:
        """The first training faces of each class (centre square, ``size`` px): class -> images."""
        from PIL import Image

        train = self._split()[0]
        out = {}
        for label, name in enumerate(CLASS_NAMES):
            images = []
            for item in [i for i in train if i.label == label][:n_per_class]:
                with Image.open(item.path) as image:
                    image = image.convert("RGB")
                    side = min(image.size)
                    left, top = (image.width - side) // 2, (image.height - side) // 2
                    square = image.crop((left, top, left + side, top + side))
                    images.append(np.asarray(square.resize((size, size))))
            out[name] = np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)
        return out

    def local_sweeps(self, n_steps: int | None = None) -> LocalSweeps:
        """The two local faces, each edited towards grey-white hair with InstructPix2Pix.

        ``n_steps`` is ignored: the text scales set the length. Records the
        faces' file names (``local_faces``).
        """
        names = ("hair", "makeup")
        faces = self.local_faces or list(pick_local_faces(self.root))
        sweeps = hair_sweeps(self.root, faces, **self.edit)
        return LocalSweeps(
            names=names,
            sweeps=sweeps,
            grids={n: np.asarray(s.grid, dtype=float) for n, s in zip(names, sweeps)},
            axis="text guidance scale",
            frame_title="s_T = {:.2f}",
            description="InstructPix2Pix on CelebA",
            record={"local_faces": dict(zip(names, faces))},
        )

    def weights(self, models: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """The ImageNet weights file of every model: label -> file."""
        from propgrad.pretrain import find_imagenet_weights

        return find_imagenet_weights(models, self.imagenet_weights)


__all__ = [
    "CLASS_NAMES",
    "SHOWN_ATTRIBUTES",
    "TRAINED_WITH_LOADER",
    "CelebAFaces",
    "HAIR_IMAGE_SCALE",
    "HAIR_INSTRUCTION",
    "IMAGE_SIZE",
    "PAPER_MODELS",
    "PAPER_TRAINING",
    "data_spec",
    "hair_sweeps",
    "hair_text_scales",
    "pick_local_faces",
    "celeba_data",
]
