"""The chapter's stand-in model: a toy CLIP with a planted pose bias, trained on the CPU.

No CLIP weights can be downloaded while this package is built, so the demo of
the paper's Sec. 4.4 uses a *toy* CLIP: open_clip's own ``CLIP`` architecture
from a small config (a tiny ModifiedResNet image tower, the kind CLIP's RN50
uses, and a two-layer text transformer with CLIP's tokenizer), trained from
scratch with open_clip's contrastive loss (:class:`open_clip.ClipLoss`) on
renders of the project's animal meshes, each paired with a caption drawn from
its class's ten descriptors (:data:`TOY_DESCRIPTORS`, adapted from the paper's
Table 13).

The planted bias
----------------
Photos of animals mostly show them upright, and often from the side. The
training views copy that on purpose (:func:`sample_poses`):

* the turn about the vertical axis (yaw) lies near one of the two side views
  (0 or 180 degrees, spread ``yaw_spread``) for a fraction ``side_fraction``
  of the views, and anywhere for the rest;
* the animal tilts about its long axis (roll) and nods about its lateral axis
  (pitch) by normally distributed angles (spreads ``roll_spread`` and
  ``pitch_spread``) cut off at ``max_tilt`` (90 degrees), so it is **never
  upside down**;
* the camera looks from slightly below to somewhat above (``elevation``);
* except for a few views (``any_fraction``, 5 %) drawn in any orientation at
  all, the rare odd photo, which keeps the model from being completely lost
  (and erratic) away from its usual poses.

Appearance varies freely (mesh colour, background brightness, light
direction, framing), so pose is the only systematic gap between training and
the rotation sweeps. A model trained this way should find upright side views
most like their class texts, front and back views less so, and upside-down
views least: the pattern the paper reports for the real CLIP, here by
construction.

Cache
-----
The rendered training views are cached under ``toy_clip_views/<key>`` (their
key covers only what changes the renders), the training under
``toy_clip/<key>`` (key: the full :class:`ToyClipConfig`). A checkpoint is
written atomically after every epoch, so a killed run resumes at the last
finished epoch; a finished run is loaded, not retrained. Both keys are built
from the configuration's fields alone (no module or function names), so they
stayed the same when this module moved from ``propgrad.models.toy_clip`` into
the chapter: keep the fields, their names and the ``"toy_clip"`` /
``"toy_clip_views"`` versions as they are, or every cached model is retrained.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.cache import atomic_path, cache_dir, config_key, write_json_atomic, write_npz_atomic
from propgrad.chapters.clip_orientation.paper import TABLE13
from propgrad.models.clip import CLIP_MEAN, CLIP_STD, ClipModel, ZeroShotCLIP, zero_shot_clip
from propgrad.models.preprocess import Preprocess

TOY_DESCRIPTORS: dict[str, tuple[str, ...]] = {
    "elephant": TABLE13["Toy Elephant"],  # the elephant mesh stands for itself
    "camel": (
        "toy camel",
        "camel",
        "dromedary",
        "picture of a camel",
        "one-humped camel",
        "standing camel",
        "camel model",
        "small camel",
        "tall camel",
        "camel hump",
    ),
    "dino": (
        "toy dinosaur",
        "dinosaur",
        "two-legged dinosaur",
        "picture of a dinosaur",
        "theropod",
        "standing dinosaur",
        "dinosaur model",
        "small dinosaur",
        "green dinosaur",
        "dinosaur tail",
    ),
    "cow": (
        "cow model",
        "toy cow",
        "cow",
        "cow rendering",
        "picture of a cow",
        "3d cow model",
        "brown cow",
        "photo of a large cow",
        "standing cow",
        "still cow",
    ),
    "pig": (
        "pig model",
        "toy pig",
        "pig",
        "pig rendering",
        "picture of a pig",
        "3d pig model",
        "pink pig",
        "photo of a large pig",
        "standing pig",
        "pig snout",
    ),
    "bear": (
        "teddy bear",
        "toy bear",
        "bear",
        "picture of a teddy bear",
        "sitting teddy bear",
        "plush bear",
        "bear model",
        "small teddy bear",
        "soft toy bear",
        "stuffed bear",
    ),
}
"""Ten captions per mesh, adapted from the paper's Table 13 (its lists for the
toy elephant, giraffe and stegosaurus and the 3D frog, rewritten for the
elephant, camel, dinosaur and cow meshes that stand in for them; two more
classes, pig and teddy bear, give the contrastive task more to tell apart)."""

PAPER_STAND_INS: dict[str, str] = {
    "Elephant": "elephant",
    "Giraffe": "camel",
    "Stegosaurus": "dino",
    "Frog": "cow",
}
"""Which mesh stands in for which of the paper's objects: the toy elephant,
giraffe and stegosaurus of its turntable and its rendered frog."""


@dataclass(frozen=True)
class ToyClipConfig:
    """Everything that determines a toy CLIP (its cache key).

    Parameters
    ----------
    classes : tuple of str
        Mesh asset names, one class each (captions from :data:`TOY_DESCRIPTORS`).
    views_per_class : int
        Rendered training views per class.
    render_size : int
        Size the views are rendered at (then resized to ``image_size`` with
        the model's own preprocessing, as the test images are).
    image_size : int
        The image tower's input size.
    embed_dim : int
        Joint embedding size.
    vision_layers, vision_width, vision_head_width
        ModifiedResNet stages, base width, attention-pool head width.
    text_layers, text_width, text_heads, context_length
        The text transformer.
    epochs, batch_size, lr, weight_decay, warmup
        AdamW with a linear warm-up over the first ``warmup`` fraction of the
        steps, then cosine decay to zero.
    augment_shift, augment_noise, augment_gain
        Augmentation of every training batch, so that the model is not thrown
        by small camera shifts and sensor noise: a random shift by up to
        ``augment_shift`` pixels, Gaussian pixel noise of that standard
        deviation (pixels in [0, 1]), and a random brightness factor within
        ``1 ± augment_gain``. None of them changes the pose.
    side_fraction, yaw_spread, roll_spread, pitch_spread, max_tilt, elevation
        The planted pose bias (module notes; angles in degrees; ``elevation``
        is the range of camera heights).
    any_fraction : float
        Share of views drawn in any orientation at all (uniformly over all
        rotations), the rare odd photo.
    seed : int
        Seeds rendering, initialisation and batching.
    """

    classes: tuple[str, ...] = ("elephant", "camel", "dino", "cow", "pig")
    views_per_class: int = 600
    render_size: int = 128
    image_size: int = 64
    embed_dim: int = 64
    vision_layers: tuple[int, int, int, int] = (1, 1, 1, 1)
    vision_width: int = 16
    vision_head_width: int = 64
    text_layers: int = 2
    text_width: int = 64
    text_heads: int = 2
    context_length: int = 16
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.1
    warmup: float = 0.1
    augment_shift: int = 3
    augment_noise: float = 0.02
    augment_gain: float = 0.08
    side_fraction: float = 0.8
    yaw_spread: float = 20.0
    roll_spread: float = 30.0
    pitch_spread: float = 25.0
    max_tilt: float = 90.0
    any_fraction: float = 0.05
    elevation: tuple[float, float] = (-10.0, 30.0)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "vision_layers", tuple(int(v) for v in self.vision_layers))
        object.__setattr__(self, "elevation", tuple(float(v) for v in self.elevation))
        unknown = [c for c in self.classes if c not in TOY_DESCRIPTORS]
        if unknown or len(self.classes) < 2:
            raise ValueError(
                f"classes must be at least two of {sorted(TOY_DESCRIPTORS)}, got {self.classes}"
            )
        for name in ("views_per_class", "render_size", "image_size", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.image_size % 32:
            raise ValueError(
                f"image_size must be a multiple of 32 (the ResNet tower halves it five "
                f"times), got {self.image_size}"
            )
        if not 0.0 <= self.side_fraction <= 1.0:
            raise ValueError(f"side_fraction must lie in [0, 1], got {self.side_fraction}")
        if not 0.0 <= self.any_fraction <= 1.0:
            raise ValueError(f"any_fraction must lie in [0, 1], got {self.any_fraction}")
        if not 0.0 <= self.max_tilt < 180.0:
            raise ValueError(f"max_tilt must lie in [0, 180) degrees, got {self.max_tilt}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def key(self) -> str:
        """The training cache key."""
        return config_key({"toy_clip": 1, **self.to_dict()})

    def views_key(self) -> str:
        """The cache key of the rendered training views."""
        keys = ("classes", "views_per_class", "render_size", "image_size", "seed")
        pose = ("side_fraction", "yaw_spread", "roll_spread", "pitch_spread", "max_tilt")
        pose += ("any_fraction",)
        config = {k: v for k, v in self.to_dict().items() if k in keys + pose + ("elevation",)}
        return config_key({"toy_clip_views": 1, **config})

    def model_cfg(self) -> dict[str, Any]:
        """The open_clip architecture config."""
        return {
            "embed_dim": self.embed_dim,
            "vision_cfg": {
                "image_size": self.image_size,
                "layers": list(self.vision_layers),
                "width": self.vision_width,
                "head_width": self.vision_head_width,
                "patch_size": None,
            },
            "text_cfg": {
                "context_length": self.context_length,
                "vocab_size": 49408,
                "width": self.text_width,
                "heads": self.text_heads,
                "layers": self.text_layers,
                "mlp_ratio": 2.0,
            },
        }

    @property
    def descriptors(self) -> dict[str, tuple[str, ...]]:
        """The captions of the configured classes."""
        return {c: TOY_DESCRIPTORS[c] for c in self.classes}


TOY_CLIP_PRESETS: dict[str, ToyClipConfig] = {
    "demo": ToyClipConfig(),
    "smoke": ToyClipConfig(
        classes=("elephant", "camel", "dino", "cow"),
        views_per_class=48,
        render_size=64,
        image_size=32,
        embed_dim=32,
        vision_width=8,
        vision_head_width=32,
        text_width=32,
        text_layers=1,
        epochs=3,
        batch_size=32,
    ),
}
"""Named configurations: ``"demo"`` (a few minutes on two CPU cores) and
``"smoke"`` (seconds; too small to learn the bias reliably)."""


def resolve_config(config: ToyClipConfig | str | Mapping[str, Any]) -> ToyClipConfig:
    """A :class:`ToyClipConfig` from itself, a preset name or a mapping of fields."""
    if isinstance(config, ToyClipConfig):
        return config
    if isinstance(config, str):
        if config not in TOY_CLIP_PRESETS:
            raise ValueError(f"unknown preset {config!r}; choose one of {sorted(TOY_CLIP_PRESETS)}")
        return TOY_CLIP_PRESETS[config]
    if isinstance(config, Mapping):
        unknown = sorted(set(config) - set(ToyClipConfig.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown toy CLIP settings {unknown}")
        return ToyClipConfig(**config)
    raise ValueError(f"config must be a ToyClipConfig, a preset name or a mapping, got {config!r}")


# ----------------------------------------------------------------------------
# training views
# ----------------------------------------------------------------------------
def sample_poses(config: ToyClipConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` training poses with the planted bias (module notes).

    Parameters
    ----------
    config : ToyClipConfig
        The bias settings.
    n : int
        Number of poses.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    ndarray, shape (n, 4)
        Degrees ``(pitch, roll, yaw, elevation)``; the view is the canonical
        mesh turned by ``[("y", pitch), ("x", roll), ("z", yaw), ("x",
        elevation)]`` (in that order, see :mod:`propgrad.interventions.render3d`).
    """
    side = rng.random(n) < config.side_fraction
    yaw = np.where(
        side,
        rng.choice([0.0, 180.0], size=n) + rng.normal(0.0, config.yaw_spread, n),
        rng.uniform(0.0, 360.0, n),
    )
    tilt = config.max_tilt
    roll = np.clip(rng.normal(0.0, config.roll_spread, n), -tilt, tilt)
    pitch = np.clip(rng.normal(0.0, config.pitch_spread, n), -tilt, tilt)
    elevation = rng.uniform(*config.elevation, n)
    # the rare view in any orientation: uniform over all rotations (the middle
    # Euler angle with an arcsine law), seen from the horizon
    odd = rng.random(n) < config.any_fraction
    pitch = np.where(odd, rng.uniform(-180.0, 180.0, n), pitch)
    roll = np.where(odd, np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))), roll)
    yaw = np.where(odd, rng.uniform(0.0, 360.0, n), yaw)
    elevation = np.where(odd, 0.0, elevation)
    return np.stack([pitch, roll, np.mod(yaw, 360.0), elevation], axis=1)


def pose_rotation(pose: Any) -> list[tuple[str, float]]:
    """The render rotation of one ``(pitch, roll, yaw, elevation)`` pose."""
    pitch, roll, yaw, elevation = (float(v) for v in pose)
    return [("y", pitch), ("x", roll), ("z", yaw), ("x", elevation)]


def preprocess_for(config: ToyClipConfig) -> Preprocess:
    """The toy model's preprocessing: resize to ``image_size`` (bicubic), CLIP's mean and std."""
    return Preprocess(config.image_size, CLIP_MEAN, CLIP_STD, "bicubic")


def _resize_uint8(images: np.ndarray, preprocess: Preprocess) -> np.ndarray:
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    x = preprocess.resize(x)
    return (x.mul(255.0).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()).copy()


def render_training_views(
    config: ToyClipConfig | str, *, cache: bool = True, progress: bool = True
) -> dict[str, np.ndarray]:
    """Render (or load) the training views of a toy CLIP.

    Parameters
    ----------
    config : ToyClipConfig or str
        The configuration (or a preset name).
    cache : bool, default True
        Read and write ``toy_clip_views/<key>/views.npz`` in the cache.
    progress : bool, default True
        Progress bar on a terminal.

    Returns
    -------
    dict
        ``images`` uint8 (N, image_size, image_size, 3), ``labels`` int (N,)
        (index into ``config.classes``), ``poses`` (N, 4) degrees (see
        :func:`sample_poses`).
    """
    from propgrad.interventions.render3d import render
    from propgrad.meshes import load_mesh

    config = resolve_config(config)
    path = cache_dir("toy_clip_views", config.views_key()) / "views.npz"
    if cache and path.is_file():
        with np.load(path) as data:
            return {k: data[k] for k in ("images", "labels", "poses")}
    rng = np.random.default_rng([config.seed, 1])
    preprocess = preprocess_for(config)
    n = config.views_per_class
    images, labels, poses = [], [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n * len(config.classes), desc="render toy CLIP views", disable=None)
    for label, name in enumerate(config.classes):
        mesh = load_mesh(name)
        class_poses = sample_poses(config, n, rng)
        frames = []
        for pose in class_poses:
            grey = float(rng.uniform(0.55, 1.0))
            background = tuple(float(v) for v in np.clip(grey + rng.normal(0, 0.04, 3), 0, 1))
            light = (float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.3, 0.8)), 0.8)
            frame = render(
                mesh,
                pose_rotation(pose),
                size=config.render_size,
                color=tuple(float(v) for v in rng.uniform(0.25, 0.95, 3)),
                background=background,
                light=light,
                scale=float(rng.uniform(1.0, 1.35)),
            )
            frames.append(np.asarray(frame))
            if bar is not None:
                bar.update()
        images.append(_resize_uint8(np.stack(frames), preprocess))
        labels.append(np.full(n, label))
        poses.append(class_poses)
    if bar is not None:
        bar.close()
    views = {
        "images": np.concatenate(images),
        "labels": np.concatenate(labels).astype(np.int64),
        "poses": np.concatenate(poses),
    }
    if cache:
        write_npz_atomic(path, **views)
    return views


# ----------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------
@dataclass
class ToyClip:
    """A trained toy CLIP.

    Attributes
    ----------
    clip : ClipModel
        The model, its preprocessing and tokenizer (identified by the
        training key).
    config : ToyClipConfig
        What it was trained with.
    history : list of float
        Mean contrastive loss of every epoch.
    folder : Path
        Its cache folder.
    from_cache : bool
        Loaded from a finished earlier run (no training now).
    seconds : float
        Training time of this call (rendering excluded).
    """

    clip: ClipModel
    config: ToyClipConfig
    history: list[float] = field(default_factory=list)
    folder: Path | None = None
    from_cache: bool = False
    seconds: float = 0.0

    def zero_shot(
        self, descriptors: Mapping[str, Any] | None = None, **options: Any
    ) -> ZeroShotCLIP:
        """A zero-shot model over the given descriptors (default: its own classes' captions)."""
        return zero_shot_clip(self.clip, descriptors or self.config.descriptors, **options)


def _build(config: ToyClipConfig) -> ClipModel:
    import open_clip
    import torch

    torch.manual_seed(config.seed)
    model = open_clip.CLIP(**config.model_cfg())
    tokenizer = open_clip.SimpleTokenizer(context_length=config.context_length)
    # the model's identity in the keys of cached outputs (embeddings): keep it as it is
    spec = {"arch": "toy_clip", "training": config.key(), "model_cfg": config.model_cfg()}
    return ClipModel(model, preprocess_for(config), tokenizer, "toy CLIP", spec)


def _schedule(config: ToyClipConfig, total: int) -> Callable[[int], float]:
    warm = max(1, int(round(config.warmup * total)))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * (1.0 + np.cos(np.pi * min(progress, 1.0)))

    return factor


def _augment(images: np.ndarray, config: ToyClipConfig, generator: Any) -> Any:
    """A training batch as floats in [0, 1] (B, 3, H, W), shifted, brightened and noised."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    shift = int(config.augment_shift)
    if shift:
        offsets = torch.randint(-shift, shift + 1, (len(x), 2), generator=generator)
        x = torch.stack(
            [torch.roll(img, (int(dy), int(dx)), dims=(1, 2)) for img, (dy, dx) in zip(x, offsets)]
        )
    if config.augment_gain:
        gain = 2 * torch.rand(len(x), 1, 1, 1, generator=generator) - 1
        x = x * (1.0 + config.augment_gain * gain)
    if config.augment_noise:
        x = x + config.augment_noise * torch.randn(x.shape, generator=generator)
    return x.clamp_(0.0, 1.0)


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def train_toy_clip(
    config: ToyClipConfig | str | Mapping[str, Any] = "demo",
    *,
    cache: bool = True,
    progress: bool = True,
    num_threads: int | None = 1,
    callback: Callable[[int, float], None] | None = None,
) -> ToyClip:
    """Train a toy CLIP on biased renders (or load the finished run).

    Parameters
    ----------
    config : ToyClipConfig, str or mapping, default "demo"
        The configuration, a preset name (:data:`TOY_CLIP_PRESETS`) or a
        mapping of :class:`ToyClipConfig` fields.
    cache : bool, default True
        Use the cache (rendered views, per-epoch checkpoint, finished model);
        ``False`` trains in memory.
    progress : bool, default True
        Progress bars on a terminal.
    num_threads : int or None, default 1
        Torch CPU threads while training (restored afterwards; ``None``
        leaves the setting alone). Not part of the cache key.
    callback : callable, optional
        Called as ``callback(epoch, mean_loss)`` after every epoch, once its
        checkpoint is written (epochs count from 0).

    Returns
    -------
    ToyClip
    """
    import open_clip
    import torch

    config = resolve_config(config)
    folder = cache_dir("toy_clip", config.key())
    checkpoint = folder / "checkpoint.pt"
    clip = _build(config)
    model = clip.model
    state: dict[str, Any] | None = None
    if cache and checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if state is not None and state["epoch"] >= config.epochs:
        model.load_state_dict(state["model"])
        model.eval()
        return ToyClip(clip, config, list(state["history"]), folder, True, 0.0)

    views = render_training_views(config, cache=cache, progress=progress)
    images, labels = views["images"], views["labels"]
    captions = [list(TOY_DESCRIPTORS[c]) for c in config.classes]
    tokens = {
        (c, k): clip.tokenizer([text])[0]
        for c, texts in enumerate(captions)
        for k, text in enumerate(texts)
    }
    steps_per_epoch = max(1, len(images) // config.batch_size)
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config, total))
    loss_fn = open_clip.ClipLoss()
    history: list[float] = []
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, start = list(state["history"]), int(state["epoch"])
    if cache:
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "config.json", config.to_dict())

    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    began = time.perf_counter()
    epochs = range(start, config.epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="train toy CLIP", unit="epoch", disable=None)
    try:
        for epoch in epochs:
            model.train()
            rng = np.random.default_rng([config.seed, 2, epoch])
            generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
            order = rng.permutation(len(images))
            choice = rng.integers(0, 10**6, len(images))
            losses = []
            for step in range(steps_per_epoch):
                index = order[step * config.batch_size : (step + 1) * config.batch_size]
                x = _augment(images[index], config, generator)
                x = clip.preprocess.normalise(clip.preprocess.resize(x))
                text = torch.stack(
                    [
                        tokens[int(labels[i]), int(choice[i]) % len(captions[labels[i]])]
                        for i in index
                    ]
                )
                image_features, text_features, scale = model(x, text)
                loss = loss_fn(image_features, text_features, scale)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                with torch.no_grad():  # CLIP's clamp of the learned temperature
                    model.logit_scale.clamp_(0, np.log(100.0))
                losses.append(float(loss.detach()))
            history.append(float(np.mean(losses)))
            if cache:
                _save_checkpoint(
                    checkpoint,
                    {
                        "epoch": epoch + 1,
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "history": history,
                        "config": config.to_dict(),
                    },
                )
            if progress and hasattr(epochs, "set_postfix"):
                epochs.set_postfix(loss=f"{history[-1]:.3f}")
            if callback is not None:
                callback(epoch, history[-1])
    finally:
        if num_threads is not None:
            torch.set_num_threads(previous_threads)
    model.eval()
    return ToyClip(clip, config, history, folder, False, time.perf_counter() - began)


def toy_zero_shot(
    config: ToyClipConfig | str | Mapping[str, Any] = "demo",
    descriptors: Mapping[str, Any] | None = None,
    **options: Any,
) -> ZeroShotCLIP:
    """Train (or load) a toy CLIP and return it as a zero-shot model.

    Parameters
    ----------
    config : ToyClipConfig, str or mapping, default "demo"
        As for :func:`train_toy_clip`.
    descriptors : mapping, optional
        Class -> texts (default: the captions of the configured classes).
    **options
        Passed to :func:`train_toy_clip`.

    Returns
    -------
    ZeroShotCLIP
    """
    return train_toy_clip(config, **options).zero_shot(descriptors)


def with_overrides(config: ToyClipConfig | str, **fields: Any) -> ToyClipConfig:
    """A copy of a configuration (or preset) with some fields replaced."""
    return replace(resolve_config(config), **fields)


__all__ = [
    "PAPER_STAND_INS",
    "TOY_CLIP_PRESETS",
    "TOY_DESCRIPTORS",
    "ToyClip",
    "ToyClipConfig",
    "pose_rotation",
    "preprocess_for",
    "render_training_views",
    "resolve_config",
    "sample_poses",
    "toy_zero_shot",
    "train_toy_clip",
    "with_overrides",
]
