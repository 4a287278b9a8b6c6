"""Small CPU training loop for toy-world classifiers, with a configuration-keyed cache.

:func:`train_classifier` trains any ``nn.Module`` that maps (B, 3, H, W)
inputs to class logits with AdamW (the paper's settings by default: learning
rate 1e-3, weight decay 5e-4, betas (0.9, 0.999)) and cross-entropy.
:func:`train_or_load` wraps it in a disk cache under
:func:`propgrad.cache.cache_dir` ``("models")``: a model is identified by the
key of its configuration (:func:`propgrad.cache.config_key`, re-exported here:
the sha256 of its canonical sorted JSON), trained once, saved atomically
(:func:`propgrad.cache.atomic_path`) and loaded on every later call. Training
writes a checkpoint after every epoch, so an interrupted run resumes where it
stopped.

Inputs are uint8 images (N, H, W, 3) (or floats in [0, 1]); they are scaled to
[-1, 1], the normalisation the authors use for their ConvMixers.

Determinism: the shuffling and augmentation of epoch ``e`` draw from a torch
generator seeded with ``(seed, e)`` and the weights are initialised after
``torch.manual_seed(seed)``. On a CPU with a fixed number of threads and the
same library versions, the same configuration therefore gives the same weights,
and a resumed run gives the same weights as an uninterrupted one. Across
machines, thread counts or versions results can differ in the last bits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from propgrad.cache import atomic_path, cache_dir, config_key

#: Augmentations understood by name (see :func:`make_augment`).
AUGMENTATIONS = ("none", "flip", "flip-crop", "trivialaugment")


def default_cache_dir() -> Path:
    """Return the model cache folder: ``$PROPGRAD_CACHE/models`` or ``~/.cache/propgrad/models``.

    Returns
    -------
    Path
        The folder (not created).
    """
    return cache_dir("models")


def to_model_input(images: Any) -> torch.Tensor:
    """Convert images to a float tensor (N, 3, H, W) scaled to [-1, 1].

    Parameters
    ----------
    images : ndarray or Tensor
        uint8 images of shape (N, H, W, 3) (or one image (H, W, 3)), or float
        images in [0, 1] of the same layout.

    Returns
    -------
    torch.Tensor
        float32 tensor (N, 3, H, W) with values in [-1, 1].

    Raises
    ------
    ValueError
        If the array is not (N, H, W, 3) or (H, W, 3).
    """
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {tuple(x.shape)}")
    x = x.permute(0, 3, 1, 2)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    return x * 2.0 - 1.0


def make_augment(name: str | None) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """Return a batch augmentation by name.

    Parameters
    ----------
    name : {"none", "flip", "flip-crop", "trivialaugment"} or None
        ``"flip"``: random horizontal flips. ``"flip-crop"``: flips plus a
        random shift of up to 1/16 of the image size (reflect padding, then
        crop). ``"trivialaugment"``: torchvision's TrivialAugment with the wide
        augmentation space (the paper's choice; slow on a CPU) plus flips.

    Returns
    -------
    callable
        ``augment(batch, generator) -> batch`` on float tensors (B, 3, H, W)
        in [-1, 1].

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    name = "none" if name is None else name
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; choose one of {AUGMENTATIONS}")

    def flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        mask = torch.rand(x.shape[0], generator=gen) < 0.5
        return torch.where(mask[:, None, None, None], x.flip(-1), x)

    def flip_crop(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = flip(x, gen)
        size = x.shape[-1]
        pad = max(1, size // 16)
        padded = nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
        offsets = torch.randint(0, 2 * pad + 1, (x.shape[0], 2), generator=gen)
        return torch.stack(
            [
                padded[i, :, oy : oy + x.shape[-2], ox : ox + size]
                for i, (oy, ox) in enumerate(offsets.tolist())
            ]
        )

    def trivial(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        from torchvision.transforms import v2

        augmenter = v2.TrivialAugmentWide()
        as_uint8 = ((x + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
        # torchvision draws from the global generator: seed it from ours
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        out = torch.stack([augmenter(img) for img in as_uint8])
        return flip(out.float() / 127.5 - 1.0, gen)

    if name == "none":
        return lambda x, gen: x
    return {"flip": flip, "flip-crop": flip_crop, "trivialaugment": trivial}[name]


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0]))
    return gen


def train_classifier(
    model: nn.Module,
    train_x: Any,
    train_y: Any,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 5e-4,
    betas: tuple[float, float] = (0.9, 0.999),
    seed: int = 0,
    augment: str | Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    progress: bool = True,
    start_epoch: int = 0,
    optimizer_state: dict[str, Any] | None = None,
    history: list[dict[str, float]] | None = None,
    on_epoch_end: Callable[[int, nn.Module, torch.optim.Optimizer, list], None] | None = None,
    num_threads: int | None = None,
) -> list[dict[str, float]]:
    """Train a classifier with AdamW and cross-entropy on a CPU (or its current device).

    Parameters
    ----------
    model : nn.Module
        Maps (B, 3, H, W) inputs in [-1, 1] to logits (B, C). Trained in place.
    train_x : ndarray or Tensor
        Training images, uint8 (N, H, W, 3) or floats in [0, 1].
    train_y : array-like of int
        Class indices (N,).
    epochs : int, optional
        Total number of epochs (including those before ``start_epoch``).
    batch_size : int, optional
        Mini-batch size; the last, smaller batch of an epoch is kept.
    lr, weight_decay : float, optional
        AdamW learning rate and decoupled weight decay.
    betas : tuple of float, optional
        AdamW moment coefficients.
    seed : int, optional
        Seed of the per-epoch shuffling and augmentation.
    augment : str or callable, optional
        An augmentation name for :func:`make_augment` or a callable
        ``(batch, generator) -> batch``.
    progress : bool, optional
        Show a tqdm bar over epochs with the running loss and accuracy.
    start_epoch : int, optional
        First epoch to run (for resuming).
    optimizer_state : dict, optional
        AdamW state to resume from.
    history : list of dict, optional
        Records of the epochs already run (for resuming); new records are
        appended to a copy.
    on_epoch_end : callable, optional
        Called as ``on_epoch_end(epoch, model, optimizer, history)`` after
        every epoch (``epoch`` counts from 1), e.g. to save a checkpoint.
    num_threads : int, optional
        Torch CPU threads while training (restored afterwards). On a machine
        shared with other jobs one thread is often much faster than several,
        which then wait on each other.

    Returns
    -------
    list of dict
        One record per epoch: ``epoch``, ``loss`` (mean training loss),
        ``train_acc`` (accuracy on the augmented batches) and ``seconds``.

    Raises
    ------
    ValueError
        If the data are empty or inconsistent, or a setting is out of range.
    """
    x = to_model_input(train_x)
    y = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    if x.shape[0] == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(f"got {x.shape[0]} images but {y.shape[0]} labels")
    if epochs < 0 or batch_size < 1 or not (0 <= start_epoch <= epochs):
        raise ValueError(
            f"need epochs >= 0, batch_size >= 1 and 0 <= start_epoch <= epochs; got "
            f"epochs={epochs}, batch_size={batch_size}, start_epoch={start_epoch}"
        )
    aug = augment if callable(augment) else make_augment(augment)
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    try:
        return _train_loop(
            model,
            x,
            y,
            epochs,
            batch_size,
            lr,
            weight_decay,
            betas,
            seed,
            aug,
            progress,
            start_epoch,
            optimizer_state,
            history,
            on_epoch_end,
        )
    finally:
        torch.set_num_threads(previous_threads)


def _train_loop(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float],
    seed: int,
    aug: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    progress: bool,
    start_epoch: int,
    optimizer_state: dict[str, Any] | None,
    history: list[dict[str, float]] | None,
    on_epoch_end: Callable[[int, nn.Module, torch.optim.Optimizer, list], None] | None,
) -> list[dict[str, float]]:
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=lr, betas=tuple(betas), weight_decay=weight_decay
    )
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    history = list(history or [])
    loss_fn = nn.CrossEntropyLoss()
    epochs_iter: Any = range(start_epoch, epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, initial=start_epoch, total=epochs, desc="train", unit="ep")
    n = x.shape[0]
    for epoch in epochs_iter:
        start = time.perf_counter()
        gen = _epoch_generator(seed, epoch)
        order = torch.randperm(n, generator=gen)
        model.train()
        total_loss, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            xb = aug(x[idx], gen).to(device)
            yb = y[idx].to(device)
            optimizer.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.detach().argmax(1) == yb).sum())
        record = {
            "epoch": epoch + 1,
            "loss": total_loss / n,
            "train_acc": correct / n,
            "seconds": time.perf_counter() - start,
        }
        history.append(record)
        if progress:
            epochs_iter.set_postfix(loss=f"{record['loss']:.3f}", acc=f"{record['train_acc']:.3f}")
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, model, optimizer, history)
    model.eval()
    return history


@torch.no_grad()
def predict_proba(model: nn.Module, images: Any, *, batch_size: int = 256) -> np.ndarray:
    """Return the softmax class probabilities of a classifier.

    Parameters
    ----------
    model : nn.Module
        The classifier (put in eval mode).
    images : ndarray or Tensor
        uint8 images (N, H, W, 3) or floats in [0, 1].
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    ndarray
        float64 probabilities (N, C).
    """
    model.eval()
    device = next(model.parameters()).device
    x = to_model_input(images)
    out = [
        torch.softmax(model(x[i : i + batch_size].to(device)), dim=1).cpu()
        for i in range(0, x.shape[0], batch_size)
    ]
    return torch.cat(out).double().numpy()


def evaluate_accuracy(model: nn.Module, x: Any, y: Any, *, batch_size: int = 256) -> float:
    """Return the fraction of images whose arg-max class equals the label.

    Parameters
    ----------
    model : nn.Module
        The classifier.
    x : ndarray or Tensor
        uint8 images (N, H, W, 3) or floats in [0, 1].
    y : array-like of int
        Class indices (N,).
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    y = np.asarray(y)
    if len(y) == 0:
        raise ValueError("no images to evaluate")
    proba = predict_proba(model, x, batch_size=batch_size)
    return float(np.mean(proba.argmax(1) == y))


def _save_checkpoint(payload: dict[str, Any], path: Path) -> None:
    """Write ``payload`` with torch.save to a temporary file, then rename it into place."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _plain(value: Any) -> Any:
    """Round-trip through JSON so a configuration holds only weights_only-safe types."""
    return json.loads(json.dumps(value, default=str))


_TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "betas", "seed", "augment")


def train_or_load(
    config: dict[str, Any],
    build_fn: Callable[[dict[str, Any]], nn.Module],
    data_fn: Callable[[dict[str, Any]], Any],
    cache_dir: str | Path | None = None,
    *,
    progress: bool = True,
    num_threads: int | None = None,
) -> nn.Module:
    """Train a model once per configuration and load it from disk afterwards.

    Parameters
    ----------
    config : dict
        JSON-serialisable description of everything that determines the model.
        Its ``"train"`` entry holds the keyword arguments of
        :func:`train_classifier` (``epochs``, ``batch_size``, ``lr``,
        ``weight_decay``, ``betas``, ``seed``, ``augment``); the rest is free
        (world, split, model settings, ...).
    build_fn : callable
        ``build_fn(config) -> nn.Module``: an untrained model. Called after
        ``torch.manual_seed(config["train"]["seed"])``.
    data_fn : callable
        ``data_fn(config)`` returns ``(train_x, train_y)`` or a dict with
        ``"train": (x, y)`` and optionally ``"eval": {name: (x, y)}``; the
        accuracy on every evaluation set is stored with the model. Not called
        when the model is cached.
    cache_dir : str or Path, optional
        Cache folder; defaults to :func:`default_cache_dir`.
    progress : bool, optional
        Show a progress bar while training.
    num_threads : int, optional
        Torch CPU threads while training (see :func:`train_classifier`); not
        part of the cache key.

    Returns
    -------
    nn.Module
        The trained model in eval mode. Its attribute ``training_record`` is a
        dict with ``key``, ``path``, ``config``, ``history``, ``accuracies``
        and ``from_cache``.

    Notes
    -----
    The finished model is saved as ``<cache_dir>/<key>.pt`` (``state_dict``,
    ``config``, ``history``, ``accuracies``), written to a temporary file and
    renamed so a crash never leaves a half-written file. While training,
    ``<key>.partial.pt`` holds the weights and optimiser state after the last
    completed epoch; a later call resumes from it. Files are loaded with
    ``torch.load(..., weights_only=True)``.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    config = _plain(config)
    train_cfg = dict(config.get("train", {}))
    unknown = set(train_cfg) - set(_TRAIN_KEYS)
    if unknown:
        raise ValueError(f"unknown training settings in config['train']: {sorted(unknown)}")
    key = config_key(config)
    final_path = cache / f"{key}.pt"
    partial_path = cache / f"{key}.partial.pt"
    seed = int(train_cfg.get("seed", 0))

    torch.manual_seed(seed)
    model = build_fn(config)
    if final_path.exists():
        payload = torch.load(final_path, map_location="cpu", weights_only=True)
        model.load_state_dict(payload["state_dict"])
        model.eval()
        model.training_record = {
            "key": key,
            "path": str(final_path),
            "config": payload["config"],
            "history": payload["history"],
            "accuracies": payload["accuracies"],
            "from_cache": True,
        }
        return model

    data = data_fn(config)
    if isinstance(data, dict):
        train_x, train_y = data["train"]
        eval_sets = data.get("eval", {}) or {}
    else:
        train_x, train_y = data
        eval_sets = {}

    start_epoch, optimizer_state, history = 0, None, []
    if partial_path.exists():
        state = torch.load(partial_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        start_epoch = int(state["epoch"])
        optimizer_state = state["optimizer"]
        history = list(state["history"])

    def save_partial(epoch: int, net: nn.Module, opt: torch.optim.Optimizer, hist: list) -> None:
        _save_checkpoint(
            {
                "state_dict": net.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "history": hist,
                "config": config,
            },
            partial_path,
        )

    kwargs = {k: v for k, v in train_cfg.items() if k in _TRAIN_KEYS}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    history = train_classifier(
        model,
        train_x,
        train_y,
        progress=progress,
        start_epoch=start_epoch,
        optimizer_state=optimizer_state,
        history=history,
        on_epoch_end=save_partial,
        num_threads=num_threads,
        **kwargs,
    )
    accuracies = {name: evaluate_accuracy(model, x, y) for name, (x, y) in eval_sets.items()}
    _save_checkpoint(
        {
            "state_dict": model.state_dict(),
            "config": config,
            "history": history,
            "accuracies": accuracies,
        },
        final_path,
    )
    partial_path.unlink(missing_ok=True)
    model.eval()
    model.training_record = {
        "key": key,
        "path": str(final_path),
        "config": config,
        "history": history,
        "accuracies": accuracies,
        "from_cache": False,
    }
    return model
