"""Train a classifier with the paper's settings: cached, resumable, with kept checkpoints.

:func:`fit` trains any :class:`propgrad.models.Classifier` (so any timm
architecture or the ConvMixer, each with its own preprocessing) with AdamW and
cross-entropy on

* in-memory arrays: ``(images, labels)`` with uint8 images (N, H, W, 3), or
  float images in [0, 1] as the toy worlds' ``render`` gives them (turned
  into uint8 exactly), or
* an image dataset: a sequence of ``(path, label)`` pairs or of records with
  ``path`` and ``label`` attributes (the real-dataset readers in
  chapters' real-data readers return these); images are decoded and resized
  to the model's input size once, into a uint8 array cached on disk and read
  back memory-mapped (:func:`propgrad.imagecache.decoded_images`; exactly the
  pixels of decoding them batch by batch, which ``image_cache=False`` does).

Defaults are the paper's (appendices C and D): AdamW with learning rate 1e-4,
weight decay 5e-4, betas (0.9, 0.999), batch size 32, TrivialAugment with the
wide augmentation space (torchvision's ``TrivialAugmentWide``). Augmentations
act on the uint8 images before the model's normalisation, so they are the same
whatever the normalisation is.

Caching and resuming. A training run is identified by the key
(:func:`propgrad.cache.config_key`) of its full configuration: the classifier's
specification (architecture, classes, weights files by sha256, initialisation
seed), its preprocessing, the training settings, and the data (a hash of the
arrays, or a ``data_key`` the caller gives). Under ``<cache>/models/<key>/``:

``resume.pt``
    weights, optimiser state and history after the last finished epoch,
    rewritten atomically after every epoch; a later call resumes from it;
``epoch_0000.pt`` ...
    the weights before training (epoch 0) and after every epoch, kept when
    ``keep_checkpoints=True`` (the training-dynamics chapter scores all of
    them);
``final.pt``
    the trained weights, history and accuracies; its presence means done, and
    a later call loads it instead of training.

Determinism: the shuffling and augmentation of epoch ``e`` draw from a torch
generator seeded with ``(seed, e)``; the initial weights come from
:func:`propgrad.models.create_classifier`'s ``seed``. On a CPU with a fixed
number of threads and the same library versions, the same configuration gives
the same weights, and a resumed run the same weights as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.cache import atomic_path, cache_dir, config_key, write_json_atomic

#: Augmentations understood by name (see :func:`make_augment`).
AUGMENTATIONS = ("none", "flip", "flip-crop", "trivialaugment")


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings; the defaults are the paper's (appendices C and D).

    Parameters
    ----------
    epochs : int
        Number of epochs (the paper: 50 for skin lesions, 100 for CelebA and
        Cats vs. Dogs).
    batch_size : int
        Mini-batch size (the last, smaller batch of an epoch is kept).
    lr, weight_decay : float
        AdamW learning rate and decoupled weight decay.
    betas : (float, float)
        AdamW moment coefficients (the paper's "momentum 0.9").
    augment : {"none", "flip", "flip-crop", "trivialaugment"}
        Training augmentation (see :func:`make_augment`).
    seed : int
        Seed of the per-epoch shuffling and augmentation.
    """

    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    augment: str = "trivialaugment"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value:
                raise ValueError(f"{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if int(self.epochs) < 0 or int(self.batch_size) < 1:
            raise ValueError(
                f"need epochs >= 0 and batch_size >= 1, got {self.epochs} and {self.batch_size}"
            )
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise ValueError(
                f"need lr > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}"
            )
        if (self.augment or "none") not in AUGMENTATIONS:
            raise ValueError(
                f"unknown augmentation {self.augment!r}; choose one of {AUGMENTATIONS}"
            )
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        object.__setattr__(self, "augment", self.augment or "none")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        record = asdict(self)
        record["betas"] = list(record["betas"])
        return record


@dataclass
class TrainingRecord:
    """What :func:`fit` did and where it left the weights.

    Attributes
    ----------
    key : str
        Cache key of the run.
    folder : Path
        Its cache folder.
    config : dict
        The configuration the key hashes.
    history : list of dict
        One record per epoch: ``epoch``, ``loss``, ``train_acc``, ``seconds``
        and ``data_seconds`` (the part spent reading, augmenting and
        normalising the batches).
    accuracies : dict
        Accuracy in [0, 1] on every evaluation set.
    checkpoints : dict
        Epoch -> checkpoint file, for the kept checkpoints (0 = before
        training); empty unless ``keep_checkpoints``.
    from_cache : bool
        Whether the final weights were loaded rather than trained now.
    """

    key: str
    folder: Path
    config: dict[str, Any]
    history: list[dict[str, float]]
    accuracies: dict[str, float]
    checkpoints: dict[int, Path] = field(default_factory=dict)
    from_cache: bool = False
    _base: Any = field(default=None, repr=False)

    def classifier_at(self, epoch: int) -> Any:
        """The classifier with the weights of a kept checkpoint.

        Parameters
        ----------
        epoch : int
            0 (before training) to the number of epochs.

        Returns
        -------
        Classifier
            A new classifier (the trained one is left alone); its identity
            includes the run's key and the epoch.
        """
        import torch

        if epoch not in self.checkpoints:
            kept = sorted(self.checkpoints)
            raise ValueError(
                f"no checkpoint kept for epoch {epoch}"
                + (
                    f" (kept: {kept[0]}..{kept[-1]})"
                    if kept
                    else "; train with keep_checkpoints=True"
                )
            )
        state = torch.load(self.checkpoints[epoch], map_location="cpu", weights_only=True)
        return self._base.with_weights(state, trained=self.key, epoch=int(epoch))


# ---------------------------------------------------------------------------
# augmentations


def make_augment(name: str | None) -> Callable[[Any, Any], Any]:
    """Return a batch augmentation by name.

    Parameters
    ----------
    name : {"none", "flip", "flip-crop", "trivialaugment"} or None
        ``"flip"``: random horizontal flips. ``"flip-crop"``: flips plus a
        random shift of up to 1/16 of the image size (reflect padding, then
        crop). ``"trivialaugment"``: torchvision's ``TrivialAugmentWide`` on
        each image (the paper's choice; slow on a CPU), then flips.

    Returns
    -------
    callable
        ``augment(batch, generator) -> batch``: a uint8 batch (B, 3, H, W) in,
        a float batch in [0, 1] out.

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    import torch
    from torch import nn

    name = "none" if name is None else name
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; choose one of {AUGMENTATIONS}")

    def to_float(x: Any) -> Any:
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def flip(x: Any, gen: Any) -> Any:
        # flipped before the conversion: the same floats, a quarter of the memory traffic
        mask = torch.rand(x.shape[0], generator=gen) < 0.5
        if x.dtype == torch.uint8 and x.device.type == "cpu" and x.is_contiguous():
            # numpy copies a reversed axis of bytes several times faster than torch.flip
            array = x.numpy()
            out = array.copy()
            chosen = np.flatnonzero(mask.numpy())
            out[chosen] = array[chosen, ..., ::-1]
            return to_float(torch.from_numpy(out))
        return to_float(torch.where(mask[:, None, None, None], x.flip(-1), x))

    def flip_crop(x: Any, gen: Any) -> Any:
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

    def trivial(x: Any, gen: Any) -> Any:
        from torchvision.transforms import v2

        augmenter = v2.TrivialAugmentWide()
        x = x if x.dtype == torch.uint8 else (x * 255.0).round().clamp(0, 255).to(torch.uint8)
        # torchvision draws from the global generator: seed it from ours, restore it after
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            out = torch.stack([augmenter(img) for img in x])
        return flip(out, gen)

    if name == "none":
        return lambda x, gen: to_float(x)
    return {"flip": flip, "flip-crop": flip_crop, "trivialaugment": trivial}[name]


def _epoch_generator(seed: int, epoch: int) -> Any:
    import torch

    gen = torch.Generator()
    gen.manual_seed(int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0]))
    return gen


# ---------------------------------------------------------------------------
# data


class _Images:
    """Uniform access to training data: uint8 batches (B, 3, H, W) and labels."""

    def __init__(self, data: Any, size: tuple[int, int], interpolation: str, what: str) -> None:
        if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
            x, y = data
            if x.ndim == 4 and x.shape[-1] == 3 and np.issubdtype(x.dtype, np.floating):
                # float images in [0, 1], as the toy worlds' render() gives them
                if not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0:
                    raise ValueError(f"{what}: float images must lie in [0, 1]")
                x = np.round(x * 255.0).astype(np.uint8)
            if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8:
                raise ValueError(
                    f"{what}: images must be uint8 (N, H, W, 3) or floats in [0, 1], "
                    f"got {x.dtype} {x.shape}"
                )
            self.array: np.ndarray | None = x
            self.paths: list[Path] = []
            labels = np.asarray(y)
        else:
            items = list(data)
            pairs = [(getattr(i, "path", None), getattr(i, "label", None)) for i in items]
            if items and pairs[0][0] is None:
                pairs = [tuple(i) for i in items]
            self.array = None
            self.paths = [Path(p) for p, _ in pairs]
            labels = np.array([lab for _, lab in pairs])
        if len(labels) == 0:
            raise ValueError(f"{what}: no images")
        if len(labels) != len(self):
            raise ValueError(f"{what}: {len(self)} images but {len(labels)} labels")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise ValueError(f"{what}: labels must be non-negative class indices")
        self.labels = labels.astype(np.int64)
        self.size, self.interpolation = size, interpolation
        #: the decoded images of ``paths`` (memory-mapped), once :meth:`decode` ran
        self.decoded: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.array) if self.array is not None else len(self.paths)

    def decode(self, cache_root: str | Path | None = None, progress: bool = True) -> None:
        """Decode image files once into the cache; later batches are read from it."""
        if self.array is None and self.decoded is None:
            from propgrad.imagecache import decoded_images

            self.decoded = decoded_images(
                self.paths, self.size, self.interpolation, cache_root=cache_root, progress=progress
            )

    def batch(self, index: Any) -> Any:
        import torch

        if self.array is not None:
            return torch.from_numpy(self.array[np.asarray(index)]).permute(0, 3, 1, 2)
        if self.decoded is not None:
            # stored channels first: the stacked images of _read, bit for bit and contiguous
            return torch.from_numpy(np.asarray(self.decoded[np.asarray(index)]))
        return torch.stack([self._read(int(i)) for i in index])

    def _read(self, i: int) -> Any:
        import torch

        from propgrad.imagecache import read_image

        image = read_image(self.paths[i], self.size, self.interpolation)
        return torch.from_numpy(image).permute(2, 0, 1)

    def digest(self) -> str:
        h = hashlib.sha256()
        if self.array is not None:
            h.update(str(self.array.shape).encode())
            h.update(np.ascontiguousarray(self.array).tobytes())
        else:
            for path in self.paths:
                stat = path.stat() if path.exists() else None
                h.update(f"{path.resolve()}|{stat.st_size if stat else -1}".encode())
        h.update(self.labels.tobytes())
        return h.hexdigest()[:16]


def _accuracy(classifier: Any, images: _Images, batch_size: int, device: Any) -> float:
    from propgrad.prediction import predict

    class _Frames:
        def __len__(self) -> int:
            return len(images)

        def __getitem__(self, i: int) -> Any:
            return images.batch([i])[0]

    pre = classifier.preprocess
    frames = images.array if images.array is not None else _Frames()
    process = pre if images.array is not None else (lambda x: pre.batch(x[None])[0])
    outputs = predict(
        classifier.model, frames, process, batch_size=batch_size, device=device, progress=False
    )
    return float(np.mean(outputs.argmax(axis=1) == images.labels))


def evaluate_accuracy(classifier: Any, data: Any, *, batch_size: int = 256) -> float:
    """Fraction of images whose arg-max class equals the label.

    Parameters
    ----------
    classifier : Classifier
        The model with its preprocessing.
    data : tuple or sequence
        ``(images, labels)`` arrays or an image dataset, as for :func:`fit`.
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    pre = classifier.preprocess
    images = _Images(data, pre.size, pre.interpolation, "evaluation data")
    return _accuracy(classifier, images, batch_size, None)


# ---------------------------------------------------------------------------
# the training loop


def _save(payload: dict[str, Any], path: Path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _checkpoint_name(epoch: int) -> str:
    return f"epoch_{epoch:04d}.pt"


def _kept(folder: Path) -> dict[int, Path]:
    return {int(p.stem.split("_")[1]): p for p in sorted(folder.glob("epoch_*.pt"))}


def fit(
    classifier: Any,
    train: Any,
    *,
    eval_sets: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    settings: TrainSettings | None = None,
    data_key: Any = None,
    eval_key: Any = None,
    keep_checkpoints: bool = False,
    train_only: str | None = None,
    cache: bool = True,
    cache_root: str | Path | None = None,
    progress: bool = True,
    num_threads: int | None = None,
    device: str | None = None,
    image_cache: bool | None = None,
    **setting_overrides: Any,
) -> Any:
    """Train a classifier (or load the result of an identical earlier run).

    Parameters
    ----------
    classifier : Classifier
        From :func:`propgrad.models.create_classifier`; trained in place.
    train : tuple, sequence or callable
        ``(images, labels)`` with uint8 images (N, H, W, 3), or a sequence of
        ``(path, label)`` pairs or records with ``path`` and ``label``; or a
        function returning either (called only if training is needed; then
        ``data_key`` is required).
    eval_sets : mapping or callable, optional
        Name -> data in the same forms (or a function returning the mapping):
        the accuracy on each is recorded. They are not part of the cache key:
        on a cache hit the stored accuracy of a set is reused when its data
        are identical (same digest) and computed otherwise.
    settings : TrainSettings, optional
        Optimisation settings (the paper's by default); ``**setting_overrides``
        replace single fields, e.g. ``epochs=10``.
    data_key : object, optional
        JSON-serialisable identity of the training data (e.g. a toy world's
        configuration) used in the cache key instead of hashing the data.
    eval_key : object, optional
        JSON-serialisable identity of ``eval_sets`` (not part of the cache
        key). On a cache hit whose stored accuracies were computed for the
        same ``eval_key``, they are reused without loading the evaluation data
        (so loading a trained model renders or reads nothing); otherwise the
        evaluation data are loaded and compared by digest.
    train_only : {None, "head"}, optional
        ``"head"`` trains only the classifier head (a linear probe: the
        backbone's weights and batch-norm statistics stay as they are);
        part of the cache key.
    keep_checkpoints : bool, optional
        Keep the weights before training and after every epoch.
    cache : bool, optional
        Read and write the cache (default); ``False`` trains in memory only.
    cache_root : str or Path, optional
        Cache root (default ``$PROPGRAD_CACHE`` or ``~/.cache/propgrad``).
    progress : bool, optional
        Progress bar over epochs (on a terminal).
    num_threads : int, optional
        Torch CPU threads while training (restored afterwards); not part of
        the cache key.
    device : str, optional
        Where to train (default: CUDA when available, else CPU).
    image_cache : bool, optional
        Image files only: decode and resize the training images once into a
        memory-mapped array under the cache folder ``images/``
        (:func:`propgrad.imagecache.decoded_images`) instead of decoding every
        batch of every epoch; the same pixels either way, so the same weights.
        Default: as ``cache``. Not part of the cache key.
    **setting_overrides
        Fields of :class:`TrainSettings`.

    Returns
    -------
    Classifier
        The same classifier, trained, in eval mode; ``classifier.training``
        holds the :class:`TrainingRecord` and its identity includes the run's
        key.

    Raises
    ------
    ValueError
        For malformed data, unknown settings, or a callable ``train`` without
        ``data_key``.
    """
    import torch

    settings = settings or TrainSettings()
    if setting_overrides:
        unknown = set(setting_overrides) - set(TrainSettings.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        settings = TrainSettings(**{**settings.to_dict(), **setting_overrides})
    if train_only not in (None, "head"):
        raise ValueError(f"train_only must be None or 'head', got {train_only!r}")
    if callable(train) and data_key is None:
        raise ValueError("a callable `train` needs a data_key (what identifies the data)")
    pre = classifier.preprocess

    def load(data: Any, what: str) -> _Images:
        return _Images(data() if callable(data) else data, pre.size, pre.interpolation, what)

    train_images = None if callable(train) else load(train, "training data")
    config = {
        "format": 2,
        "model": _identity_spec(classifier),
        "preprocess": pre.to_dict(),
        "train": settings.to_dict(),
        "data": data_key if data_key is not None else train_images.digest(),
        "keep_checkpoints": bool(keep_checkpoints),
        "train_only": train_only,
    }
    key = config_key(config)
    folder = cache_dir("models", key, root=cache_root)
    final_path = folder / "final.pt"
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = classifier.model.to(device)

    def finish(history: list, accuracies: dict, from_cache: bool) -> Any:
        model.eval()
        classifier.spec = {**classifier.spec, "trained": key}
        classifier.training = TrainingRecord(
            key,
            folder,
            config,
            list(history),
            dict(accuracies),
            _kept(folder) if cache else {},
            from_cache,
            _base=classifier,
        )
        return classifier

    def evaluate(known: dict[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
        """Accuracy on every evaluation set, reusing ``known`` results of identical data."""
        sets = eval_sets() if callable(eval_sets) else (eval_sets or {})
        accuracies, digests = {}, {}
        for name, data in sets.items():
            images = load(data, f"evaluation set {name!r}")
            digests[name] = images.digest()
            if known.get("digests", {}).get(name) == digests[name]:
                accuracies[name] = known["accuracies"][name]
            else:
                accuracies[name] = _accuracy(classifier, images, 256, device)
        return accuracies, digests

    eval_id = None if eval_key is None else config_key({"eval": eval_key})
    if cache and final_path.is_file():
        payload = torch.load(final_path, map_location="cpu", weights_only=True)
        model.load_state_dict(payload["state_dict"])
        model.eval()
        if eval_id is not None and payload.get("eval_key") == eval_id:
            return finish(payload["history"], dict(payload["accuracies"]), True)
        accuracies, digests = evaluate(payload)
        if digests != payload.get("digests", {}) or payload.get("eval_key") != eval_id:
            _save(
                {**payload, "accuracies": accuracies, "digests": digests, "eval_key": eval_id},
                final_path,
            )
        return finish(payload["history"], accuracies, True)

    if train_images is None:
        train_images = load(train, "training data")
    if cache if image_cache is None else image_cache:  # decode image files once, not per epoch
        train_images.decode(cache_root, progress=progress)
    if cache:
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "config.json", config)
    head = _head(model) if train_only == "head" else None
    optimizer = torch.optim.AdamW(
        (head or model).parameters(),
        lr=settings.lr,
        betas=settings.betas,
        weight_decay=settings.weight_decay,
    )
    start, history = 0, []
    resume_path = folder / "resume.pt"
    if cache and resume_path.is_file():
        state = torch.load(resume_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = int(state["epoch"]), list(state["history"])
    elif cache and keep_checkpoints:
        _save(model.state_dict(), folder / _checkpoint_name(0))

    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    # a linear probe needs no gradients of the backbone: freeze it while training
    # (same result, a fraction of the backward pass), restore it afterwards
    frozen = []
    if head is not None:
        trained = {id(p) for p in head.parameters()}
        frozen = [p for p in model.parameters() if id(p) not in trained and p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
    try:
        epochs: Any = range(start, settings.epochs)
        if progress:
            from tqdm.auto import tqdm

            epochs = tqdm(
                epochs, initial=start, total=settings.epochs, desc="train", unit="ep", disable=None
            )
        augment = make_augment(settings.augment)
        for epoch in epochs:
            record = _train_epoch(
                model, optimizer, train_images, pre, augment, settings, epoch, head
            )
            history.append(record)
            if progress:
                epochs.set_postfix(loss=f"{record['loss']:.3f}", acc=f"{record['train_acc']:.3f}")
            if cache:
                if keep_checkpoints:
                    _save(model.state_dict(), folder / _checkpoint_name(epoch + 1))
                _save(
                    {
                        "state_dict": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "epoch": epoch + 1,
                        "history": history,
                    },
                    resume_path,
                )
        model.eval()
        accuracies, digests = evaluate({})
    finally:
        torch.set_num_threads(previous_threads)
        for p in frozen:
            p.requires_grad_(True)
    if cache:
        _save(
            {
                "state_dict": model.state_dict(),
                "history": history,
                "accuracies": accuracies,
                "digests": digests,
                "eval_key": eval_id,
            },
            final_path,
        )
        resume_path.unlink(missing_ok=True)
    return finish(history, accuracies, False)


def _head(model: Any) -> Any:
    """The classifier head of a timm model (``get_classifier``), else the last ``Linear``."""
    import torch

    head = model.get_classifier() if hasattr(model, "get_classifier") else None
    if not isinstance(head, torch.nn.Module) or not list(head.parameters()):
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ValueError(f"cannot find the classifier head of {type(model).__name__}")
        head = linears[-1]
    return head


def _identity_spec(classifier: Any) -> Any:
    from propgrad.models.classifier import _without_paths, model_identity

    spec = dict(classifier.spec)
    return _without_paths(spec) if spec else model_identity(classifier.model)


def _train_epoch(
    model: Any,
    optimizer: Any,
    images: _Images,
    pre: Any,
    augment: Callable[[Any, Any], Any],
    settings: TrainSettings,
    epoch: int,
    head: Any = None,
) -> dict[str, float]:
    import torch

    device = next(model.parameters()).device
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    gen = _epoch_generator(settings.seed, epoch)
    n = len(images)
    order = torch.randperm(n, generator=gen)
    labels = torch.from_numpy(images.labels)
    if head is None:
        model.train()
    else:  # linear probe: the backbone stays in eval mode (frozen batch-norm statistics)
        model.eval()
        head.train()
    total_loss, correct, data_seconds = 0.0, 0, 0.0
    for i in range(0, n, settings.batch_size):
        idx = order[i : i + settings.batch_size]
        data_start = time.perf_counter()
        batch = augment(images.batch(idx.numpy()), gen)  # a new float tensor
        xb = pre.normalise(pre.resize(batch), inplace=True).to(device)
        data_seconds += time.perf_counter() - data_start
        yb = labels[idx].to(device)
        optimizer.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * len(idx)
        correct += int((logits.detach().argmax(1) == yb).sum())
    return {
        "epoch": epoch + 1,
        "loss": total_loss / n,
        "train_acc": correct / n,
        "seconds": time.perf_counter() - start,
        "data_seconds": data_seconds,
    }


__all__ = [
    "AUGMENTATIONS",
    "TrainSettings",
    "TrainingRecord",
    "evaluate_accuracy",
    "fit",
    "make_augment",
]
