"""Run a model over the images of a sweep and collect its outputs.

This is the "images -> model outputs" step of the data flow. The model is any
callable from an image batch (a float tensor of shape (B, 3, H, W)) to outputs
of shape (B, C): a timm model, one of the authors' checkpoints, an open_clip
zero-shot head, or a plain function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def predict(
    model: Callable[[Any], Any],
    images: Sequence[Any],
    preprocess: Callable[[Any], Any] | None = None,
    *,
    batch_size: int = 32,
    device: str | None = None,
    softmax: bool = False,
    progress: bool = False,
) -> np.ndarray:
    """Evaluate ``model`` on every image and return the outputs as an array.

    Parameters
    ----------
    model : callable
        Maps a float tensor batch (B, 3, H, W) to outputs (B, C) or (B,).
        ``torch.nn.Module`` instances are put in eval mode and moved to
        ``device``.
    images : sequence
        The images in sweep order, e.g. a :class:`propgrad.sweep.Sweep` or a
        list of PIL images.
    preprocess : callable, optional
        Turns one image into a (3, H, W) tensor. Without it the images must
        already be tensors or arrays of that shape.
    batch_size : int, optional
        Images per forward pass.
    device : str, optional
        Torch device; defaults to CUDA when available, else CPU.
    softmax : bool, optional
        Apply a softmax over the last axis (for models that return logits).
    progress : bool, optional
        Show a tqdm progress bar over batches.

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
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(model, torch.nn.Module):
        model = model.eval().to(device)

    def to_tensor(image: Any) -> torch.Tensor:
        item = preprocess(image) if preprocess is not None else image
        return torch.as_tensor(np.asarray(item) if not torch.is_tensor(item) else item)

    starts = range(0, len(images), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="predict", unit="batch", disable=None)  # hidden off a terminal
    chunks = []
    with torch.inference_mode():
        for start in starts:
            batch = torch.stack(
                [to_tensor(images[i]) for i in range(start, min(start + batch_size, len(images)))]
            )
            out = model(batch.to(device=device, dtype=torch.float32))
            if softmax:
                out = torch.softmax(out, dim=-1)
            chunks.append(out.detach().float().cpu().numpy())
    outputs = np.concatenate(chunks, axis=0).astype(np.float64)
    bad = ~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"the model returned NaN or inf for {int(bad.sum())} of {len(outputs)} images "
            f"(first at index {first}); check the preprocessing and the weights"
        )
    return outputs
