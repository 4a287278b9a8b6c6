"""The authors' released files: three Cats-vs-Dogs ConvMixers, four photos, one real sweep.

The paper's first experiment (Sec. 4.1) trains one ConvMixer on each of the
three Cats-vs-Dogs splits (:data:`propgrad.worlds.cats_dogs.SPLITS`): the
unbiased data, dark-furred cats with light-furred dogs ("dark-cats"), and the
reverse ("dark-dogs"). The authors publish the weights; :func:`load_cvd_convmixer`
fetches one through :mod:`propgrad.assets` (checksum verified) and builds it
through the same factory as every other model
(:func:`propgrad.models.create_classifier`), so it comes with its
preprocessing: RGB resized to 128 x 128 with bilinear filtering (what
torchvision's ``Resize`` does to a PIL image) and scaled to [-1, 1]
(:data:`CVD_PREPROCESS`). Output 0 is "cat", output 1 is "dog".

:func:`load_authors_dog_sweep` rebuilds the authors' InstructPix2Pix
fur-colour sweep of their dog_002 photo from the animation they published, as
a :class:`~propgrad.sweep.Sweep`. These files serve the method's examples, the
command line, the how-to page and the Cats-vs-Dogs chapter; the numbers the
paper and the authors report live in :mod:`propgrad.chapters.cats_vs_dogs.paper`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from propgrad.assets import fetch_asset
from propgrad.interventions.video import frames_from_video
from propgrad.models.classifier import Classifier, create_classifier
from propgrad.models.preprocess import Preprocess
from propgrad.sweep import Sweep
from propgrad.worlds.cats_dogs import CLASSES, SPLITS

CVD_IMAGE_NAMES = ("cat_001", "cat_002", "dog_001", "dog_002")
"""The authors' four example photos (assets ``cvd/<name>``)."""

CVD_INPUT_SIZE = 128
"""Side length of the square model input."""

CVD_PREPROCESS = Preprocess.named(CVD_INPUT_SIZE, "unit", "bilinear")
"""The authors' preprocessing: 128 x 128 bilinear resize, pixels scaled to [-1, 1]."""

cvd_preprocess = CVD_PREPROCESS
"""Alias of :data:`CVD_PREPROCESS` (a callable: one image -> (3, 128, 128) tensor)."""

AUTHORS_DOG_CROP = (48, 355, 52, 357)
"""Rows 48..355 and columns 52..357 (inclusive) hold the photo in each frame.

This is the crop documented with the assets. Its outermost columns (52 and 357)
are mostly the white figure margin blended into the photo's edge by the video's
chroma subsampling; columns 53..356 are pure photo. The models notice: with the
tighter crop, E[|grad X|] (unit steps, second-order stencil) of the unbiased model
rises from about 0.0012 to 0.0020 and of the dark-cats-bias model from 0.0093 to
0.0100 (the authors report 0.0012 and 0.0082 for their uncompressed frames), a
reminder of how much small input changes matter for these scores."""

AUTHORS_DOG_INSTRUCTION = (
    "Change the dog's fur color to white. Keep the background and other details the same."
)
AUTHORS_DOG_SCALES = np.linspace(1.01, 15.0, 100)
"""The 100 text-guidance (CFG) scales of the authors' sweep."""

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
        The training split, one of :data:`propgrad.worlds.cats_dogs.SPLITS`.
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


def load_authors_dog_sweep(
    *,
    include_original: bool = True,
    crop: tuple[int, int, int, int] = AUTHORS_DOG_CROP,
    download: bool = True,
) -> Sweep:
    """Return the authors' InstructPix2Pix fur-colour sweep of their dog_002 photo.

    The authors edited their photo of a dark-furred dog with InstructPix2Pix
    (instruction "Change the dog's fur color to white. Keep the background and
    other details the same.", image guidance 2.5, seed 1337) at 100 text
    guidance scales from 1.01 to 15.0, and published the result as an H.264
    animation. The frames are decoded and cropped to the photo (308 rows x 306
    columns); the video compression makes them differ slightly from the edits
    the authors measured. Frames keep this size; the models' preprocessing
    resizes to 128 x 128.

    Parameters
    ----------
    include_original : bool, optional
        Put the unedited photo first (as the authors do), at grid value 1.0.
    crop : tuple of int, optional
        ``(top, bottom, left, right)`` inclusive crop of each 400 x 400 frame;
        defaults to :data:`AUTHORS_DOG_CROP`.
    download : bool, optional
        Allow downloading the photo and the authors' notebook (the video is
        extracted from it) if they are not found locally.

    Returns
    -------
    Sweep
        101 images (or 100 without the original); grid = text guidance scale.
        The paper's measure treats the sweep as unit-spaced steps and ignores
        these grid values (recorded in ``metadata["spacing"]``).
    """
    video = fetch_asset("cvd/ip2p-dog_002-sweep", download=download)
    frames = frames_from_video(video, crop=crop)
    if len(frames) != len(AUTHORS_DOG_SCALES):
        raise ValueError(
            f"{video}: expected {len(AUTHORS_DOG_SCALES)} frames, decoded {len(frames)}"
        )
    metadata = {
        "source": "authors' published InstructPix2Pix sweep (cvd/ip2p-dog_002-sweep, H.264)",
        "source_image": "cvd/dog_002",
        "editing_model": "timbrooks/instruct-pix2pix (fp16)",
        "instruction": AUTHORS_DOG_INSTRUCTION,
        "text_guidance_scales": [float(s) for s in AUTHORS_DOG_SCALES],
        "image_guidance_scale": 2.5,
        "seed": 1337,
        "crop_rows_cols_inclusive": [int(v) for v in crop],
        "includes_original": include_original,
        "spacing": "the paper treats consecutive images as unit steps; the grid is informative",
        "compressed": True,
    }
    sweep = Sweep(frames, AUTHORS_DOG_SCALES, "text guidance scale", metadata)
    if include_original:
        with Image.open(fetch_asset("cvd/dog_002", download=download)) as photo:
            sweep = sweep.prepend(photo.convert("RGB"), grid_value=1.0)
    return sweep
