"""The preprocessing that belongs to a classifier: resize, scale to [0, 1], normalise.

A :class:`Preprocess` turns images into the float tensors one model expects.
It is a plain, comparable record (size, interpolation, per-channel mean and
std), so a model's input convention is data rather than code scattered over
notebooks: training, prediction, the flip task and the saliency baselines all
read it from the same place, and :meth:`Preprocess.unnormalise` turns a model
input back into a picture.

Images are resized straight to ``size`` (no centre crop): an intervention may
change pixels near the border, and a crop would hide them from the model.

Two normalisations are named:

``"unit"``
    mean 0.5 and std 0.5 per channel, i.e. pixels in [-1, 1] (the authors'
    ConvMixers, and the paper's randomly initialised models in appendix D);
``"imagenet"``
    timm's ImageNet mean and std (the paper's pre-trained models).

torch is imported inside the methods, so this module loads without it.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

#: Per-channel mean and std of the named normalisations.
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "unit": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}

_PIL_FILTERS = {
    "nearest": Image.NEAREST,
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}


def _validate_stats(values: Any, name: str) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.size != 3 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be one finite value or three (per channel), got {values!r}")
    if name == "std" and np.any(arr <= 0):
        raise ValueError(f"std must be positive, got {values!r}")
    return tuple(float(v) for v in arr)


def resolve_normalisation(normalisation: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return ``(mean, std)`` for a normalisation name or a ``(mean, std)`` pair.

    Parameters
    ----------
    normalisation : {"unit", "imagenet"} or (mean, std)
        A name of :data:`NORMALISATIONS` or explicit per-channel statistics.

    Returns
    -------
    mean, std : tuple of float
        Three values each.

    Raises
    ------
    ValueError
        For an unknown name or malformed statistics.
    """
    if isinstance(normalisation, str):
        if normalisation not in NORMALISATIONS:
            raise ValueError(
                f"unknown normalisation {normalisation!r}; choose one of "
                f"{sorted(NORMALISATIONS)} or give (mean, std)"
            )
        return NORMALISATIONS[normalisation]
    try:
        mean, std = normalisation
    except (TypeError, ValueError):
        raise ValueError(
            f"normalisation must be a name or a (mean, std) pair, got {normalisation!r}"
        ) from None
    return _validate_stats(mean, "mean"), _validate_stats(std, "std")


@dataclass(frozen=True)
class Preprocess:
    """Resize, scale to [0, 1] and normalise images for one model.

    Parameters
    ----------
    size : int or (int, int)
        Output height and width in pixels.
    mean, std : float or sequence of 3 floats
        Per-channel normalisation ``x_norm = (x - mean) / std`` of pixels in
        [0, 1]. Default: ``"unit"`` statistics (inputs in [-1, 1]).
    interpolation : {"bilinear", "bicubic", "nearest", "lanczos"}
        Resampling filter used when an image is not already ``size``.

    Examples
    --------
    >>> pre = Preprocess(4)
    >>> tuple(pre(np.zeros((8, 8, 3), dtype=np.uint8)).shape)
    (3, 4, 4)
    >>> float(pre(np.full((4, 4, 3), 255, dtype=np.uint8)).max())
    1.0
    """

    size: tuple[int, int]
    mean: tuple[float, float, float] = NORMALISATIONS["unit"][0]
    std: tuple[float, float, float] = NORMALISATIONS["unit"][1]
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        size = self.size
        if isinstance(size, (int, np.integer)):
            size = (int(size), int(size))
        size = tuple(int(v) for v in size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"size must be a positive int or (height, width), got {self.size!r}")
        if self.interpolation not in _PIL_FILTERS:
            raise ValueError(
                f"unknown interpolation {self.interpolation!r}; "
                f"choose one of {sorted(_PIL_FILTERS)}"
            )
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "mean", _validate_stats(self.mean, "mean"))
        object.__setattr__(self, "std", _validate_stats(self.std, "std"))

    @classmethod
    def named(
        cls,
        size: int | tuple[int, int],
        normalisation: Any = "unit",
        interpolation: str = "bilinear",
    ) -> Preprocess:
        """Build a preprocessing from a normalisation name (see :func:`resolve_normalisation`)."""
        mean, std = resolve_normalisation(normalisation)
        return cls(size, mean, std, interpolation)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (part of cache keys and records)."""
        record = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}

    # ------------------------------------------------------------------ images
    def __call__(self, image: Any) -> Any:
        """Turn one image into a float32 tensor of shape (3, H, W).

        Parameters
        ----------
        image : PIL.Image.Image or ndarray
            A PIL image (any mode) or a uint8 array (H, W, 3).

        Returns
        -------
        torch.Tensor
        """
        import torch

        if isinstance(image, Image.Image):
            image = image.convert("RGB")
            height, width = self.size
            if image.size != (width, height):
                image = image.resize((width, height), _PIL_FILTERS[self.interpolation])
            array = np.asarray(image, dtype=np.uint8)
            x = torch.from_numpy(array.copy()).permute(2, 0, 1)[None]
            return self.normalise(x.float().div_(255.0))[0]
        return self.batch(np.asarray(image)[None])[0]

    def batch(self, images: Any) -> Any:
        """Turn a batch of images into a float32 tensor (B, 3, H, W).

        Parameters
        ----------
        images : ndarray, torch.Tensor or sequence of PIL images
            uint8 images (B, H, W, 3) (numpy) or (B, 3, H, W) (torch, e.g.
            after a uint8 augmentation), or float images in [0, 1] of either
            layout, or a list of PIL images.

        Returns
        -------
        torch.Tensor
            Resized (antialiased, with the chosen filter) and normalised.

        Raises
        ------
        ValueError
            If the array is not a batch of RGB images.
        """
        import torch

        if not torch.is_tensor(images) and not isinstance(images, np.ndarray):
            items = list(images)
            if items and isinstance(items[0], Image.Image):
                return torch.stack([self(image) for image in items])
            images = np.stack([np.asarray(item) for item in items]) if items else np.zeros((0,))
        if torch.is_tensor(images):
            x = images
            if x.ndim != 4 or x.shape[1] != 3:
                raise ValueError(f"a tensor batch must be (B, 3, H, W), got {tuple(x.shape)}")
        else:
            array = np.asarray(images)
            if array.ndim != 4 or array.shape[-1] != 3:
                raise ValueError(f"images must be a batch (B, H, W, 3), got shape {array.shape}")
            with warnings.catch_warnings():
                # a read-only (memory-mapped) array is only read: the layout change copies it
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                x = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).contiguous()
        x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
        return self.normalise(self.resize(x))

    def resize(self, x: Any) -> Any:
        """Resize a float batch (B, 3, H, W) to ``size`` (no-op when it already fits)."""
        import torch

        if tuple(x.shape[-2:]) == self.size:
            return x
        # "nearest-exact" samples pixel centres as PIL does ("nearest" is shifted by half a pixel)
        mode = {"lanczos": "bicubic", "nearest": "nearest-exact"}.get(
            self.interpolation, self.interpolation
        )
        antialias = mode in ("bilinear", "bicubic")
        out = torch.nn.functional.interpolate(
            x, size=self.size, mode=mode, antialias=antialias, **_align(mode)
        )
        return out.clamp_(0.0, 1.0)

    # ----------------------------------------------------------- normalisation
    def normalise(self, x: Any, *, inplace: bool = False) -> Any:
        """Map a float batch in [0, 1] (B, 3, H, W) to the model's input range.

        Parameters
        ----------
        x : torch.Tensor
            Float images in [0, 1].
        inplace : bool, optional
            Overwrite ``x`` (a tensor the caller owns and needs no more)
            instead of making a new one; the same values.

        Returns
        -------
        torch.Tensor
            ``(x - mean) / std``, channel by channel.
        """
        import torch

        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        # the same floats as (x - mean) / std; dividing the new tensor in place is several
        # times faster on a CPU than a second broadcast into a new one
        return (x.sub_(mean) if inplace else x - mean).div_(std)

    def unnormalise(self, x: Any) -> np.ndarray:
        """Undo the normalisation of model inputs, for showing them as pictures.

        Parameters
        ----------
        x : torch.Tensor
            Model inputs (B, 3, H, W) or (3, H, W).

        Returns
        -------
        ndarray
            float64 images in [0, 1], channels last: (B, H, W, 3) or (H, W, 3).
        """
        arr = x.detach().cpu().double().numpy() if hasattr(x, "detach") else np.asarray(x, float)
        single = arr.ndim == 3
        arr = arr[None] if single else arr
        mean = np.asarray(self.mean)[None, :, None, None]
        std = np.asarray(self.std)[None, :, None, None]
        out = np.clip(arr * std + mean, 0.0, 1.0).transpose(0, 2, 3, 1)
        return out[0] if single else out

    def value_of(self, grey: float) -> np.ndarray:
        """The normalised value of a uniform grey level in [0, 1], per channel."""
        return (float(grey) - np.asarray(self.mean)) / np.asarray(self.std)


def _align(mode: str) -> dict[str, Any]:
    return {"align_corners": False} if mode in ("bilinear", "bicubic") else {}


__all__ = ["NORMALISATIONS", "Preprocess", "resolve_normalisation"]
