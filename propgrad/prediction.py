"""Run a model over images and sweeps: the one prediction path of the package.

This is the "images -> model outputs" step of the data flow. Training
evaluation, the flip-prediction task, the baselines, :func:`propgrad.explain`
and the notebooks all call :func:`predict` (one batch of images) or
:func:`predict_sweeps` (many sweeps at once, cached on disk). Both run under
``torch.inference_mode`` in batches and show a progress bar on a terminal only.

The model is a :class:`propgrad.models.Classifier` (which brings its own
preprocessing), a ``torch.nn.Module`` with a ``preprocess``, or any callable
from an image batch (a float tensor (B, 3, H, W)) to outputs (B, C).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from propgrad.cache import cache_dir, config_key, write_npz_atomic


def _resolve(model: Any, preprocess: Any) -> tuple[Any, Any]:
    from propgrad.models.classifier import split_model  # torch only when predicting

    return split_model(model, preprocess)


def _batches(images: Any, preprocess: Any, batch_size: int):
    """Yield preprocessed float tensors (B, 3, H, W) for consecutive chunks of ``images``."""
    import torch

    from propgrad.models.preprocess import Preprocess

    n = len(images)
    array_batch = isinstance(images, np.ndarray) and isinstance(preprocess, Preprocess)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if array_batch:
            yield preprocess.batch(images[start:stop])
            continue
        if torch.is_tensor(images) and preprocess is None:
            yield images[start:stop]
            continue
        items = []
        for i in range(start, stop):
            item = preprocess(images[i]) if preprocess is not None else images[i]
            items.append(item if torch.is_tensor(item) else torch.as_tensor(np.asarray(item)))
        yield torch.stack(items)


def _check_finite(outputs: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"the model returned NaN or inf for {int(bad.sum())} of {len(outputs)} images "
            f"(first at index {first}); check the preprocessing and the weights"
        )
    return outputs


def predict(
    model: Callable[[Any], Any],
    images: Any,
    preprocess: Callable[[Any], Any] | None = None,
    *,
    batch_size: int = 32,
    device: str | None = None,
    softmax: bool = False,
    progress: bool = True,
    desc: str = "predict",
) -> np.ndarray:
    """Evaluate ``model`` on every image and return the outputs as an array.

    Parameters
    ----------
    model : Classifier or callable
        A :class:`propgrad.models.Classifier`, or anything mapping a float
        tensor batch (B, 3, H, W) to outputs (B, C) or (B,). Modules are put in
        eval mode and moved to ``device``.
    images : Sweep, sequence of images, ndarray or torch.Tensor
        The images in order: a :class:`propgrad.sweep.Sweep`, a list of PIL
        images or (H, W, 3) arrays, a uint8 array (N, H, W, 3) (preprocessed
        in vectorised batches when ``preprocess`` is a
        :class:`~propgrad.models.Preprocess`), or an already preprocessed
        tensor (N, 3, H, W) with ``preprocess=None``.
    preprocess : Preprocess or callable, optional
        Turns one image into a (3, H, W) tensor. Defaults to the classifier's
        own; required otherwise unless the images are model inputs already.
    batch_size : int, optional
        Images per forward pass.
    device : str, optional
        Torch device; defaults to CUDA when available, else CPU.
    softmax : bool, optional
        Apply a softmax over the last axis (for models that return logits).
    progress : bool, optional
        Show a progress bar over batches (only on a terminal; hidden in
        notebooks and logs).
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    ndarray
        float64 outputs of shape (N, C), or (N,) when the model returns one
        value per image.

    Raises
    ------
    ValueError
        If there are no images, ``batch_size < 1``, or the model returns NaN or
        inf values (the message says for which image).
    """
    import torch

    if len(images) == 0:
        raise ValueError("no images to predict on")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    net, preprocess = _resolve(model, preprocess)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(net, torch.nn.Module):
        net = net.eval().to(device)
    batches = _batches(images, preprocess, batch_size)
    if progress:
        from tqdm.auto import tqdm

        total = -(-len(images) // batch_size)
        batches = tqdm(batches, total=total, desc=desc, unit="batch", disable=None)
    chunks = []
    with torch.inference_mode():
        for batch in batches:
            out = net(batch.to(device=device, dtype=torch.float32))
            if softmax:
                out = torch.softmax(out, dim=-1)
            chunks.append(out.detach().float().cpu().numpy())
    return _check_finite(np.concatenate(chunks, axis=0).astype(np.float64))


# ---------------------------------------------------------------------------
# many sweeps at once, cached


class _FlatFrames:
    """The frames of many equally long sweeps as one indexable sequence."""

    def __init__(self, sweeps: Sequence[Any], length: int) -> None:
        self.sweeps, self.length = sweeps, length

    def __len__(self) -> int:
        return len(self.sweeps) * self.length

    def __getitem__(self, index: int) -> Any:
        return self.sweeps[index // self.length][index % self.length]


def _sweep_digest(sweep: Any) -> str:
    """sha256 of a sweep's pixels (arrays hash their bytes, images one by one)."""
    from propgrad.cache import image_sha256

    digest = hashlib.sha256()
    if isinstance(sweep, np.ndarray):
        digest.update(str(sweep.shape).encode() + str(sweep.dtype).encode())
        digest.update(np.ascontiguousarray(sweep).tobytes())
    else:
        for image in sweep:
            digest.update(image_sha256(image).encode())
    return digest.hexdigest()


def sweeps_digest(sweeps: Any) -> str:
    """A short hash of the content of many sweeps (order included).

    Parameters
    ----------
    sweeps : ndarray (M, N, H, W, 3) or sequence of sweeps
        The sweeps.

    Returns
    -------
    str
        16 hex characters.
    """
    digest = hashlib.sha256()
    for sweep in sweeps:
        digest.update(_sweep_digest(sweep).encode())
    return digest.hexdigest()[:16]


def sweep_length(sweeps: Any) -> int:
    """The common length of a non-empty group of sweeps (``ValueError`` otherwise)."""
    lengths = {len(s) for s in sweeps}
    if not lengths:
        raise ValueError("no sweeps given")
    if len(lengths) != 1:
        raise ValueError(f"all sweeps must have the same length, got lengths {sorted(lengths)}")
    return lengths.pop()


def predict_sweeps(
    model: Any,
    sweeps: Any,
    preprocess: Any = None,
    *,
    softmax: bool = True,
    batch_size: int = 64,
    device: str | None = None,
    cache: bool = True,
    progress: bool = True,
    desc: str = "predict sweeps",
) -> np.ndarray:
    """Outputs of one model along many sweeps, batched across sweeps and cached.

    Parameters
    ----------
    model : Classifier or callable
        As for :func:`predict`.
    sweeps : ndarray or sequence
        M sweeps of equal length N: a uint8 array (M, N, H, W, 3) (toy worlds
        render these directly), or a sequence of :class:`~propgrad.sweep.Sweep`
        objects or (N, H, W, 3) arrays.
    preprocess : Preprocess or callable, optional
        As for :func:`predict`.
    softmax : bool, optional
        Apply a softmax to the outputs (default, for logits).
    batch_size : int, optional
        Images per forward pass (frames of consecutive sweeps share batches).
    device : str, optional
        Torch device.
    cache : bool, optional
        Store and reuse the outputs under the cache folder ``outputs/``, keyed
        by the model's identity (:attr:`Classifier.identity`, or a hash of a
        module's weights), the preprocessing, ``softmax`` and the sweeps'
        pixels. Only possible when the preprocessing can be identified (a
        :class:`~propgrad.models.Preprocess` or ``None``); otherwise nothing is
        cached.
    progress : bool, optional
        Progress bar on a terminal.
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    ndarray
        float64 outputs (M, N, C).

    Raises
    ------
    ValueError
        If there are no sweeps, their lengths differ, or the model returns
        NaN or inf.
    """
    from propgrad.models.classifier import Classifier, model_identity
    from propgrad.models.preprocess import Preprocess

    n = sweep_length(sweeps)
    m = len(sweeps)
    net, pre = _resolve(model, preprocess)
    path = None
    if cache and (pre is None or isinstance(pre, Preprocess)):
        identity = (
            model.identity
            if isinstance(model, Classifier) and preprocess is None
            else model_identity(net)
            if hasattr(net, "state_dict")
            else None
        )
        if identity is not None:
            key = config_key(
                {
                    "model": identity,
                    "preprocess": pre.to_dict() if pre is not None else None,
                    "softmax": bool(softmax),
                    "sweeps": sweeps_digest(sweeps),
                    "shape": [m, n],
                }
            )
            path = cache_dir("outputs") / f"{key}.npz"
            if path.is_file():
                with np.load(path) as data:
                    return data["outputs"]
    if isinstance(sweeps, np.ndarray):
        frames: Any = sweeps.reshape(m * n, *sweeps.shape[2:])
    else:
        frames = _FlatFrames(sweeps, n)
    flat = predict(
        net,
        frames,
        pre,
        batch_size=batch_size,
        device=device,
        softmax=softmax,
        progress=progress,
        desc=desc,
    )
    outputs = flat.reshape(m, n, *flat.shape[1:])
    if path is not None:
        write_npz_atomic(path, outputs=outputs)
    return outputs


__all__ = ["predict", "predict_sweeps", "sweep_length", "sweeps_digest"]
