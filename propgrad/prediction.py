"""Run a model over images and sweeps: the one prediction path of the package.

This is the "images -> model outputs" step of the data flow. Training
evaluation, the flip-prediction task, the baselines, :func:`propgrad.explain`
and the notebooks all call :func:`predict` (one batch of images) or
:func:`predict_sweeps` (many sweeps at once, cached on disk sweep by sweep, so
any subset or reordering of scored sweeps is served from the cache). Both run
under ``torch.inference_mode`` in batches and show a progress bar on a
terminal only.

The model is a :class:`propgrad.models.Classifier` (which brings its own
preprocessing), a ``torch.nn.Module`` with a ``preprocess``, or any callable
from an image batch (a float tensor (B, 3, H, W)) to outputs (B, C).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.cache import atomic_path, cache_dir, config_key

#: Sweeps served from the prediction cache (``hits``) and predicted (``misses``)
#: by :func:`predict_sweeps` in this process; see :func:`cache_stats`.
_STATS = {"hits": 0, "misses": 0}


def _resolve(model: Any, preprocess: Any) -> tuple[Any, Any]:
    from propgrad.models.classifier import split_model  # torch only when predicting

    return split_model(model, preprocess)


def _batches(images: Any, preprocess: Any, batch_size: int):
    """Yield preprocessed float tensors (B, 3, H, W) for consecutive chunks of ``images``."""
    import torch

    from propgrad.models.preprocess import Preprocess

    n = len(images)
    array_batch = isinstance(images, np.ndarray) and isinstance(preprocess, Preprocess)
    rows_batch = (
        isinstance(images, _FlatFrames) and images.arrays and isinstance(preprocess, Preprocess)
    )
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if array_batch:
            yield preprocess.batch(images[start:stop])
            continue
        if rows_batch:
            yield preprocess.batch(images.rows(start, stop))
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
        #: every sweep is a uint8 array (N, H, W, 3): frames can be read as array rows
        self.arrays = all(
            isinstance(s, np.ndarray) and s.ndim == 4 and s.dtype == np.uint8 for s in sweeps
        )

    def __len__(self) -> int:
        return len(self.sweeps) * self.length

    def __getitem__(self, index: int) -> Any:
        return self.sweeps[index // self.length][index % self.length]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start`` to ``stop`` (flat order) as one uint8 array (B, H, W, 3)."""
        parts = []
        while start < stop:
            sweep, step = divmod(start, self.length)
            end = min(stop, (sweep + 1) * self.length)
            parts.append(self.sweeps[sweep][step : step + end - start])
            start = end
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


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


def sweep_digests(sweeps: Any) -> list[str]:
    """The content hash of every sweep (what :func:`predict_sweeps` caches outputs under).

    Hash a group once and pass the result to :func:`predict_sweeps` as
    ``digests`` for every model scored along it.

    Parameters
    ----------
    sweeps : ndarray (M, N, H, W, 3) or sequence of sweeps
        The sweeps.

    Returns
    -------
    list of str
        One sha256 (hex) per sweep, in order: an array's shape, dtype and
        bytes, or a sequence's images one by one.
    """
    return [_sweep_digest(sweep) for sweep in sweeps]


def sweeps_digest(sweeps: Any, digests: Sequence[str] | None = None) -> str:
    """A short hash of the content of many sweeps (order included).

    Parameters
    ----------
    sweeps : ndarray (M, N, H, W, 3) or sequence of sweeps
        The sweeps.
    digests : sequence of str, optional
        Their :func:`sweep_digests`, when known (then the pixels are not read).

    Returns
    -------
    str
        16 hex characters.
    """
    digest = hashlib.sha256()
    for one in sweep_digests(sweeps) if digests is None else digests:
        digest.update(one.encode())
    return digest.hexdigest()[:16]


def cache_stats(reset: bool = False) -> dict[str, int]:
    """How many sweeps :func:`predict_sweeps` served from its cache and predicted.

    Parameters
    ----------
    reset : bool, optional
        Set both counts to zero after reading them.

    Returns
    -------
    dict
        ``{"hits": ..., "misses": ...}``: sweeps (of one model) found in the
        cache and sweeps predicted, since the process started or the last reset
        (calls with ``cache=False`` or without a model identity not counted).
    """
    stats = dict(_STATS)
    if reset:
        _STATS.update(hits=0, misses=0)
    return stats


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
    digests: Sequence[str] | None = None,
) -> np.ndarray:
    """Outputs of one model along many sweeps, batched across sweeps and cached per sweep.

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
        Store and reuse the outputs of every sweep under the cache folder
        ``outputs/<model key>/<sweep hash>.npy``: the model key is that of
        the model's identity (:attr:`Classifier.identity`, or a hash of a
        module's weights), the preprocessing and ``softmax``; the sweep hash
        that of its pixels (:func:`sweep_digests`). Only the sweeps not found
        are predicted, so a subset, a reordering or a superset of sweeps scored
        before costs nothing for those. Outputs a group was cached under
        before (one file for the whole group) are found too. Only possible
        when the preprocessing can be identified (a
        :class:`~propgrad.models.Preprocess` or ``None``); otherwise nothing
        is cached.
    progress : bool, optional
        Progress bar on a terminal.
    desc : str, optional
        Label of the progress bar.
    digests : sequence of str, optional
        The sweeps' :func:`sweep_digests`, when the caller knows them (e.g.
        scoring many models along one group hashes it once).

    Returns
    -------
    ndarray
        float64 outputs (M, N, C).

    Raises
    ------
    ValueError
        If there are no sweeps, their lengths differ, ``digests`` does not
        have one entry per sweep, or the model returns NaN or inf.
    """
    from propgrad.models.classifier import Classifier, model_identity
    from propgrad.models.preprocess import Preprocess

    n = sweep_length(sweeps)
    m = len(sweeps)
    net, pre = _resolve(model, preprocess)
    folder = None
    if cache and (pre is None or isinstance(pre, Preprocess)):
        identity = (
            model.identity
            if isinstance(model, Classifier) and preprocess is None
            else model_identity(net)
            if hasattr(net, "state_dict")
            else None
        )
        if identity is not None:
            setting = {
                "model": identity,
                "preprocess": pre.to_dict() if pre is not None else None,
                "softmax": bool(softmax),
            }
            folder = cache_dir("outputs", config_key(setting))
    stored: list[Any] = [None] * m
    if folder is not None:
        digests = sweep_digests(sweeps) if digests is None else list(digests)
        if len(digests) != m:
            raise ValueError(f"{len(digests)} digests for {m} sweeps")
        for i, digest in enumerate(digests):
            stored[i] = _load_sweep(folder / f"{digest[:32]}.npy")
        if all(out is None for out in stored):
            legacy = _legacy_group(setting, sweeps_digest(sweeps, digests), m, n)
            if legacy is not None:
                for i, digest in enumerate(digests):
                    stored[i] = legacy[i]
                    _save_sweep(folder / f"{digest[:32]}.npy", legacy[i])
    missing = [i for i, out in enumerate(stored) if out is None]
    if folder is not None:
        _STATS["hits"] += m - len(missing)
        _STATS["misses"] += len(missing)
    if missing:
        if isinstance(sweeps, np.ndarray) and len(missing) == m:
            frames: Any = sweeps.reshape(m * n, *sweeps.shape[2:])
        else:
            frames = _FlatFrames([sweeps[i] for i in missing], n)
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
        computed = flat.reshape(len(missing), n, *flat.shape[1:])
        for j, i in enumerate(missing):
            stored[i] = computed[j]
            if folder is not None:
                _save_sweep(folder / f"{digests[i][:32]}.npy", computed[j])
        if len(missing) == m:
            return computed
    return np.stack(stored)


def _load_sweep(path: Path) -> np.ndarray | None:
    """The stored outputs of one sweep, or ``None`` (missing or unreadable)."""
    try:
        return np.load(path)
    except (FileNotFoundError, ValueError, OSError):
        return None


def _save_sweep(path: Path, outputs: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.ascontiguousarray(outputs))


def _legacy_group(setting: dict[str, Any], group: str, m: int, n: int) -> np.ndarray | None:
    """Outputs cached for a whole group by earlier versions (one ``.npz`` per call)."""
    key = config_key({**setting, "sweeps": group, "shape": [m, n]})
    path = cache_dir("outputs") / f"{key}.npz"
    if not path.is_file():
        return None
    with np.load(path) as data:
        outputs = data["outputs"]
    return outputs if outputs.shape[:2] == (m, n) else None


__all__ = [
    "cache_stats",
    "predict",
    "predict_sweeps",
    "sweep_digests",
    "sweep_length",
    "sweeps_digest",
]
