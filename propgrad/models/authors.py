"""The authors' three Cats-vs-Dogs ConvMixer checkpoints and their preprocessing.

The paper's first experiment (section 4.1) trains one ConvMixer on each of three
Cats-vs-Dogs splits: the unbiased data, a split with only dark-furred cats and
light-furred dogs ("dark-cats-bias"), and the reverse ("dark-dogs-bias"). The
authors publish the weights; :func:`load_cvd_convmixer` fetches one through
:mod:`propgrad.assets` (checksum verified) and returns it in eval mode.

Inputs are RGB images resized to 128 x 128 with bilinear filtering (what
torchvision's ``Resize`` does to a PIL image), scaled to [0, 1] and then to
[-1, 1]; see :func:`cvd_preprocess`. Output 0 is "cat", output 1 is "dog".

The module also records the numbers the authors and the paper report, so the
book can print them beside ours. They are labelled as theirs, never as results
of this package.

torch is imported inside the functions, so the constants are usable without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from propgrad.assets import fetch_asset

if TYPE_CHECKING:  # pragma: no cover
    import torch

CVD_CLASSES = ("cat", "dog")
"""Class names by output index of the Cats-vs-Dogs models."""

CVD_MODEL_NAMES = ("unbiased", "dark-cats-bias", "dark-dogs-bias")
"""The three training splits, one checkpoint each."""

CVD_IMAGE_NAMES = ("cat_001", "cat_002", "dog_001", "dog_002")
"""The authors' four example photos (assets ``cvd/<name>``)."""

CVD_INPUT_SIZE = 128
"""Side length of the square model input."""

CVD_AUTHORS_REPORTED: dict[str, dict[str, Any]] = {
    "unbiased": {"expected_gradient": 0.001154, "p_value": 0.0, "flips": False},
    "dark-cats-bias": {"expected_gradient": 0.008243, "p_value": 0.0, "flips": True},
    "dark-dogs-bias": {"expected_gradient": 0.000384, "p_value": 0.0, "flips": False},
}
"""The authors' reported results for their InstructPix2Pix fur sweep of dog_002.

From the output of the tutorial notebook in the authors' repository: the
original photo followed by the 100 edited frames (the uncompressed frames, not
the video), the softmaxed cat output, unit step spacing, and a shuffle test with
1000 permutations (p-values without the +1 correction, hence 0.0).
"""

CVD_PAPER_TABLE1: dict[str, dict[str, float]] = {
    "unbiased": {"fur": 0.0099, "background": 0.00060},
    "dark-cats-bias": {"fur": 0.0109, "background": 0.00006},
    "dark-dogs-bias": {"fur": 0.0110, "background": 0.00013},
}
"""The paper's Table 1: E[|grad X|] of fur colour and background for the paper's
three models, on its Fig. 1 example (edits made with MGIE)."""

CVD_PAPER_TABLE6: dict[str, dict[str, float]] = {
    "light dogs": {"unbiased": 0.00598, "dark-cats-bias": 0.00863, "dark-dogs-bias": 0.00888},
    "dark cats": {"unbiased": 0.00638, "dark-cats-bias": 0.01207, "dark-dogs-bias": 0.01084},
}
"""The paper's Table 6 (appendix B.3): E[|grad X|] of the mean prediction over ten
hand-checked images under MGIE fur-colour edits."""

CVD_PAPER_TABLE7: dict[str, dict[str, float]] = {
    "light dogs": {"unbiased": 0.00289, "dark-cats-bias": 0.00015, "dark-dogs-bias": 0.00193},
    "dark cats": {"unbiased": 0.00080, "dark-cats-bias": 0.00004, "dark-dogs-bias": 0.00188},
}
"""The paper's Table 7 (appendix B.3): E[|grad X|] of the mean prediction over ten
images under the designed Gaussian-kernel background intervention."""

CVD_PAPER_TABLE5: dict[str, dict[str, float]] = {
    "unbiased": {"unbiased": 90.71, "dark-cats": 92.52, "dark-dogs": 89.22},
    "dark-cats-bias": {"unbiased": 69.40, "dark-cats": 93.92, "dark-dogs": 45.78},
    "dark-dogs-bias": {"unbiased": 70.93, "dark-cats": 48.45, "dark-dogs": 92.75},
}
"""The paper's Table 5: test accuracy (%) per training split (rows) and test
split (columns)."""

CVD_CHECKPOINT_ACCURACY: dict[str, dict[str, float]] = {
    "unbiased": {"unbiased": 89.92, "dark-cats": 91.53, "dark-dogs": 87.75},
    "dark-cats-bias": {"unbiased": 68.66, "dark-cats": 94.22, "dark-dogs": 43.63},
    "dark-dogs-bias": {"unbiased": 71.28, "dark-cats": 48.85, "dark-dogs": 93.43},
}
"""Test accuracy (%) stored inside the released checkpoints. They differ slightly
from Table 5, so the released weights are close to, not identical with, the
paper's models."""


def _validate_name(name: str) -> str:
    if name not in CVD_MODEL_NAMES:
        raise ValueError(
            f"unknown Cats-vs-Dogs model {name!r}; choose one of {', '.join(CVD_MODEL_NAMES)}"
        )
    return name


def cvd_checkpoint_path(name: str, *, download: bool = True) -> Path:
    """Return the verified local path of one of the authors' checkpoints.

    Parameters
    ----------
    name : str
        One of :data:`CVD_MODEL_NAMES`.
    download : bool, optional
        Allow a download when the file is not found locally.

    Returns
    -------
    Path
        The ``.pth`` file.
    """
    return fetch_asset(f"cvd/convmixer_{_validate_name(name)}", download=download)


def load_convmixer_checkpoint(path: str | Path, *, device: str = "cpu") -> torch.nn.Module:
    """Build a ConvMixer from a checkpoint file in the authors' format.

    The file must hold a dict with ``paras`` (the ConvMixer keyword arguments)
    and ``state_dict`` (weights whose names follow the plain ``nn.Sequential``
    layout). It is read with ``weights_only=True``, so no code runs on load.

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    device : str, optional
        Where to put the model.

    Returns
    -------
    torch.nn.Module
        The model in eval mode.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file cannot be read (truncated, not a torch file), is not a dict
        with ``paras`` and ``state_dict``, its ``paras`` do not build a
        ConvMixer, or its weights do not match the architecture. The message
        names the file and the problem.
    """
    import torch

    from propgrad.models.convmixer import ConvMixer

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise ValueError(
            f"could not read the checkpoint {path}: {type(error).__name__}: {error}. "
            "The file may be truncated, corrupted or not a torch checkpoint."
        ) from error
    if not isinstance(ckpt, dict) or not {"paras", "state_dict"} <= set(ckpt):
        found = sorted(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(
            f"{path} is not a ConvMixer checkpoint in the authors' format: expected a dict "
            f"with keys 'paras' and 'state_dict', found {found}"
        )
    paras, state = ckpt["paras"], ckpt["state_dict"]
    if not isinstance(paras, dict) or not isinstance(state, dict):
        raise ValueError(f"{path}: 'paras' and 'state_dict' must both be dicts")
    try:
        model = ConvMixer(**paras)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: 'paras' {paras} do not describe a ConvMixer: {error}") from None
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(getattr(state[k], "shape", ())) != tuple(v.shape)
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})")
        if mismatched:
            parts.append(f"{len(mismatched)} shape mismatches (e.g. {mismatched[:3]})")
        raise ValueError(
            f"{path}: the weights do not match ConvMixer({paras}): " + "; ".join(parts)
        )
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def load_cvd_convmixer(
    name: str | None = None, *, path: str | Path | None = None, device: str = "cpu"
) -> torch.nn.Module:
    """Load one of the authors' three Cats-vs-Dogs ConvMixers.

    Parameters
    ----------
    name : str, optional
        ``"unbiased"``, ``"dark-cats-bias"`` or ``"dark-dogs-bias"``; fetched
        through :func:`propgrad.assets.fetch_asset` (local assets directory,
        user cache, or a verified download).
    path : str or Path, optional
        Load this checkpoint file instead (same format). Give ``name`` or
        ``path``, not both.
    device : str, optional
        Where to put the model.

    Returns
    -------
    torch.nn.Module
        A ConvMixer-256/8 in eval mode mapping (B, 3, 128, 128) inputs in
        [-1, 1] to two logits (cat, dog).

    Raises
    ------
    ValueError
        For an unknown name, for neither or both of ``name`` and ``path``, or
        for a checkpoint that does not load (see
        :func:`load_convmixer_checkpoint`).
    propgrad.assets.AssetNotFoundError
        If the checkpoint is not available locally and cannot be downloaded.

    Examples
    --------
    >>> model = load_cvd_convmixer("dark-cats-bias")  # doctest: +SKIP
    """
    if (name is None) == (path is None):
        raise ValueError("give either a model name or a checkpoint path (exactly one)")
    if path is None:
        path = cvd_checkpoint_path(name)
    return load_convmixer_checkpoint(path, device=device)


def cvd_preprocess(image: Image.Image | np.ndarray) -> torch.Tensor:
    """Turn one image into the Cats-vs-Dogs models' input tensor.

    RGB, resized to 128 x 128 with PIL's bilinear filter (identical to
    torchvision's ``Resize((128, 128))`` on a PIL image), scaled to [0, 1],
    then normalised with mean 0.5 and std 0.5 per channel to [-1, 1].

    Parameters
    ----------
    image : PIL.Image.Image or ndarray
        A PIL image (any mode) or a uint8 array of shape (H, W, 3).

    Returns
    -------
    torch.Tensor
        float32 tensor of shape (3, 128, 128).
    """
    import torch

    if not isinstance(image, Image.Image):
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
            raise ValueError(
                f"expected a PIL image or a uint8 (H, W, 3) array, got {array.dtype} {array.shape}"
            )
        image = Image.fromarray(array)
    image = image.convert("RGB").resize((CVD_INPUT_SIZE, CVD_INPUT_SIZE), Image.BILINEAR)
    tensor = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
    return tensor.float().div(255.0).sub(0.5).div(0.5)


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
