"""The authors' three Cats-vs-Dogs ConvMixers and their example photos.

The paper's first experiment (Sec. 4.1) trains one ConvMixer on each of the
three Cats-vs-Dogs splits (:data:`propgrad.datasets.cats_dogs.SPLITS`): the
unbiased data, dark-furred cats with light-furred dogs ("dark-cats"), and the
reverse ("dark-dogs"). The authors publish the weights; :func:`load_cvd_convmixer`
fetches one through :mod:`propgrad.assets` (checksum verified) and builds it
through the same factory as every other model
(:func:`propgrad.models.create_classifier`), so it comes with its
preprocessing: RGB resized to 128 x 128 with bilinear filtering (what
torchvision's ``Resize`` does to a PIL image) and scaled to [-1, 1]
(:data:`CVD_PREPROCESS`). Output 0 is "cat", output 1 is "dog".

The numbers the paper and the authors report live in
:mod:`propgrad.paper.cats_vs_dogs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from propgrad.assets import fetch_asset
from propgrad.datasets.cats_dogs import CLASSES, SPLITS
from propgrad.models.classifier import Classifier, create_classifier
from propgrad.models.preprocess import Preprocess

CVD_IMAGE_NAMES = ("cat_001", "cat_002", "dog_001", "dog_002")
"""The authors' four example photos (assets ``cvd/<name>``)."""

CVD_INPUT_SIZE = 128
"""Side length of the square model input."""

CVD_PREPROCESS = Preprocess.named(CVD_INPUT_SIZE, "unit", "bilinear")
"""The authors' preprocessing: 128 x 128 bilinear resize, pixels scaled to [-1, 1]."""

cvd_preprocess = CVD_PREPROCESS
"""Alias of :data:`CVD_PREPROCESS` (a callable: one image -> (3, 128, 128) tensor)."""

_ASSET = {
    "unbiased": "cvd/convmixer_unbiased",
    "dark-cats": "cvd/convmixer_dark-cats-bias",
    "dark-dogs": "cvd/convmixer_dark-dogs-bias",
}
_PARAS = ("dim", "depth", "kernel_size", "patch_size", "n_classes", "in_channels")


def _validate_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(
            f"unknown Cats-vs-Dogs model {split!r}: the authors' models are named after their "
            f"training split, one of {', '.join(SPLITS)}"
        )
    return split


def cvd_checkpoint_path(split: str, *, download: bool = True) -> Path:
    """Return the verified local path of one of the authors' checkpoints.

    Parameters
    ----------
    split : str
        The training split, one of :data:`propgrad.datasets.cats_dogs.SPLITS`.
    download : bool, optional
        Allow a download when the file is not found locally.

    Returns
    -------
    Path
        The ``.pth`` file.
    """
    return fetch_asset(_ASSET[_validate_split(split)], download=download)


def _authors_paras(path: Path) -> dict[str, Any]:
    """Read the ConvMixer settings (``paras``) stored in an authors' checkpoint."""
    import torch

    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise ValueError(
            f"cannot read the checkpoint {path}: it is not a PyTorch (torch.save) file, or it "
            f"is truncated ({type(error).__name__})"
        ) from None
    if not isinstance(ckpt, dict) or not {"paras", "state_dict"} <= set(ckpt):
        found = sorted(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(
            f"{path} is not a ConvMixer checkpoint in the authors' format: expected a dict "
            f"with keys 'paras' and 'state_dict', found {found}"
        )
    paras = ckpt["paras"]
    if not isinstance(paras, dict) or set(paras) - set(_PARAS) or "n_classes" not in paras:
        raise ValueError(
            f"{path}: 'paras' {paras!r} do not describe a ConvMixer (expected keys {_PARAS})"
        )
    return dict(paras)


def load_cvd_convmixer(
    split: str | None = None, *, path: str | Path | None = None, device: str = "cpu"
) -> Classifier:
    """Load one of the authors' three Cats-vs-Dogs ConvMixers.

    Parameters
    ----------
    split : str, optional
        The split the model was trained on: ``"unbiased"``, ``"dark-cats"`` or
        ``"dark-dogs"``; fetched through :func:`propgrad.assets.fetch_asset`
        (local assets directory, user cache, or a verified download).
    path : str or Path, optional
        Load this checkpoint file instead (same format: a dict with ``paras``
        and ``state_dict``). Give ``split`` or ``path``, not both.
    device : str, optional
        Where to put the model.

    Returns
    -------
    Classifier
        A ConvMixer-256/8 in eval mode with :data:`CVD_PREPROCESS` and the
        class names ("cat", "dog").

    Raises
    ------
    ValueError
        For an unknown split, for neither or both of ``split`` and ``path``, or
        for a checkpoint that does not load (the message names the file and
        the first missing or unexpected key).
    propgrad.assets.AssetNotFoundError
        If the checkpoint is not available locally and cannot be downloaded.

    Examples
    --------
    >>> model = load_cvd_convmixer("dark-cats")  # doctest: +SKIP
    """
    if (split is None) == (path is None):
        raise ValueError("give either a training split or a checkpoint path (exactly one)")
    path = Path(path) if path is not None else cvd_checkpoint_path(split)
    paras = _authors_paras(path)
    n_classes = int(paras.pop("n_classes"))
    try:
        classifier = create_classifier(
            "convmixer",
            n_classes,
            checkpoint=path,
            image_size=CVD_INPUT_SIZE,
            normalisation="unit",
            interpolation="bilinear",
            class_names=CLASSES if n_classes == len(CLASSES) else None,
            name=f"ConvMixer ({split})" if split else path.stem,
            device=device,
            **paras,
        )
    except ValueError as error:
        if str(path) in str(error):
            raise
        raise ValueError(f"{path}: {error}") from None
    classifier.spec["authors"] = split
    return classifier


def load_cvd_image(name: str, *, download: bool = True) -> Image.Image:
    """Load one of the authors' four example photos as an RGB PIL image.

    Parameters
    ----------
    name : str
        One of :data:`CVD_IMAGE_NAMES` (``"cat_001"``, ..., ``"dog_002"``).
    download : bool, optional
        Allow a download when the file is not found locally.

    Returns
    -------
    PIL.Image.Image
        The photo at its original size.
    """
    if name not in CVD_IMAGE_NAMES:
        raise ValueError(f"unknown example image {name!r}; choose one of {CVD_IMAGE_NAMES}")
    with Image.open(fetch_asset(f"cvd/{name}", download=download)) as image:
        return image.convert("RGB")
