"""The paper's training analysis on real CelebA (Sec. 4.3, appendix D).

What the paper does, as this recipe reproduces it:

* **data**: CelebA's ``Young`` attribute as the label, class-balanced training
  and test sets from the official partitions
  (:meth:`propgrad.datasets.celeba.CelebA.young_split`);
* **models**: eight architectures (:data:`PAPER_MODELS`, timm names), each
  trained once from ImageNet weights read from local files
  (:func:`propgrad.pretrain.find_imagenet_weights`) and once from random initialisation; ImageNet
  statistics normalise the inputs of pre-trained models, [-1, 1] those of
  random ones; 224 x 224 inputs, batch size 32, AdamW with learning rate 1e-4,
  weight decay 5e-4 and momentum 0.9, TrivialAugmentWide, 100 epochs
  (:data:`PAPER_TRAINING`); a checkpoint kept before training and after every
  epoch (101 per run);
* **intervention**: two young test faces (:func:`pick_local_faces`) edited
  with InstructPix2Pix, instruction :data:`HAIR_INSTRUCTION`, image guidance
  :data:`HAIR_IMAGE_SCALE`, text guidance 1.05 to 9.75 in steps of 0.15
  (:func:`hair_text_scales`), through the batched editor
  (:func:`hair_sweeps`).

The trainings and the scoring of all checkpoints are independent tasks of
:mod:`propgrad.dynamics`; :func:`run_specs` describes the sixteen runs, which
the chapter hands to :func:`propgrad.tasks.run_tasks` (locally or on a Dask
cluster).

The paper uses the PyTorch (torchvision) implementations except for the
ConvMixer; this recipe builds every model with timm, whose architectures
match and whose weights files it loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.datasets.celeba import CelebA

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

#: Attributes a local face must lack (both faces).
_EXCLUDED = ("Gray_Hair", "Eyeglasses", "Wearing_Hat", "Bald")


def hair_text_scales() -> np.ndarray:
    """The text scales of the grey-hair sweep: 1.05 to 9.75 in steps of 0.15 (59 values)."""
    from propgrad.interventions.instruct_pix2pix import paper_text_scales

    return paper_text_scales(1.05, 9.75, 0.15)


def young_data(
    root: str | Path,
    n_train_per_class: int | None = None,
    n_test_per_class: int | None = None,
    seed: int = 0,
) -> tuple[list[Any], dict[str, list[Any]]]:
    """Balanced young/not-young training and test sets (a loader for ``RunSpec.data``).

    Parameters
    ----------
    root : str or Path
        The CelebA folder (official layout, see :mod:`propgrad.datasets.celeba`).
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
    """The ``data`` entry of a :class:`~propgrad.dynamics.RunSpec` for :func:`young_data`."""
    return {
        "loader": f"{__name__}:young_data",
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
                "(see propgrad.experiments.celeba.pick_local_faces)"
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


__all__ = [
    "HAIR_IMAGE_SCALE",
    "HAIR_INSTRUCTION",
    "IMAGE_SIZE",
    "PAPER_MODELS",
    "PAPER_TRAINING",
    "data_spec",
    "hair_sweeps",
    "hair_text_scales",
    "pick_local_faces",
    "young_data",
]
