"""One way to get a classifier: an architecture name, its weights, its preprocessing.

:func:`create_classifier` builds any timm architecture by name (or
``"convmixer"``, the ConvMixer whose weight names match the authors'
checkpoints) and returns a :class:`Classifier`: the ``torch.nn.Module``
together with the :class:`~propgrad.models.preprocess.Preprocess` that belongs
to it. For timm models the size, interpolation, mean and std come from timm's
own data configuration of that model, not from a hard-coded convention; they
can be overridden (``image_size``, ``normalisation``) where an experiment says
so, e.g. the paper normalises its randomly initialised models to [-1, 1].

Weights come from two kinds of local file, never from a download:

``pretrained``
    a timm weights file for the architecture (e.g. ImageNet weights), loaded
    through timm's own ``pretrained_cfg_overlay=dict(file=...)`` so timm
    adapts the classifier head to ``num_classes`` and resamples position
    embeddings for other image sizes;
``checkpoint``
    a state dict (``torch.save`` or safetensors; also a dict holding one under
    ``state_dict``/``model``) that must fit the built model exactly. A file that
    is not a state dict, or does not fit, raises an error naming the file and
    the first missing or unexpected key.

A :class:`Classifier` records the specification that built it, so it can be
rebuilt (e.g. at another training epoch) and identified in cache keys.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from propgrad.cache import config_key
from propgrad.models.preprocess import Preprocess, resolve_normalisation

#: Architecture names handled by propgrad itself rather than timm.
LOCAL_ARCHITECTURES = ("convmixer",)

_STATE_KEYS = ("state_dict", "model", "model_state_dict")


@dataclass
class Classifier:
    """A model together with the preprocessing that belongs to it.

    Calling a classifier calls its model on a preprocessed batch.

    Attributes
    ----------
    model : torch.nn.Module
        Maps (B, 3, H, W) inputs to logits (B, C).
    preprocess : Preprocess
        Turns images into those inputs (and back, for showing them).
    name : str
        Display name (the architecture unless given).
    class_names : tuple of str or None
        Names of the output columns.
    spec : dict
        JSON description of how the classifier was built (architecture,
        classes, model arguments, weight files with their sha256, training
        key); :attr:`identity` hashes it.
    training : TrainingRecord or None
        Set by :func:`propgrad.train.fit`: history, accuracies, checkpoints.
    """

    model: Any
    preprocess: Preprocess
    name: str = "model"
    class_names: tuple[str, ...] | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    training: Any = field(default=None, repr=False)

    def __call__(self, x: Any) -> Any:
        """Run the model on a preprocessed batch (B, 3, H, W)."""
        return self.model(x)

    @property
    def identity(self) -> str:
        """A short hash of the specification and the preprocessing (for cache keys)."""
        if not self.spec:
            return model_identity(self.model)
        return config_key(
            {"spec": _without_paths(self.spec), "preprocess": self.preprocess.to_dict()}
        )

    def eval(self) -> Classifier:
        """Put the model in eval mode; returns ``self``."""
        self.model.eval()
        return self

    def to(self, device: Any) -> Classifier:
        """Move the model to ``device``; returns ``self``."""
        self.model.to(device)
        return self

    def with_weights(self, state_dict: Mapping[str, Any], **spec_updates: Any) -> Classifier:
        """A new classifier of the same architecture holding ``state_dict``.

        Parameters
        ----------
        state_dict : mapping
            Weights that fit this architecture exactly.
        **spec_updates
            Entries added to the copy's ``spec`` (e.g. ``epoch=3``), so its
            identity differs from this one's.

        Returns
        -------
        Classifier
        """
        if not self.spec.get("arch"):
            raise ValueError("with_weights needs a classifier built by create_classifier")
        build = {k: v for k, v in self.spec.items() if k in _BUILD_KEYS}
        fresh = create_classifier(**{**build, "pretrained": None, "checkpoint": None})
        _load_fitting(fresh.model, dict(state_dict), "the given weights", self.spec["arch"])
        fresh.name, fresh.class_names = self.name, self.class_names
        # the weights' hash keeps the identity apart from this one's even without updates
        fresh.spec = {**self.spec, "weights": model_identity(fresh.model), **spec_updates}
        return fresh.eval()


def _without_paths(value: Any) -> Any:
    """Drop file locations (``"file"`` keys) so that identities depend on contents only."""
    if isinstance(value, Mapping):
        return {k: _without_paths(v) for k, v in value.items() if k != "file"}
    return value


_BUILD_KEYS = (
    "arch",
    "num_classes",
    "image_size",
    "normalisation",
    "interpolation",
    "model_kwargs",
    "seed",
)


def model_identity(model: Any) -> str:
    """Hash every parameter and buffer of a module (for models without a spec).

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    str
        16 hex characters.
    """
    digest = hashlib.sha256(type(model).__name__.encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        data = tensor.detach().to("cpu").contiguous()
        digest.update(str(tuple(data.shape)).encode() + str(data.dtype).encode())
        digest.update(data.numpy().tobytes())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------
# checkpoints


def read_state_dict(path: str | Path) -> dict[str, Any]:
    """Read a state dict from a ``torch.save`` or safetensors file.

    A dict holding the weights under ``state_dict``, ``model`` or
    ``model_state_dict`` (as training scripts and the authors' checkpoints do)
    is unwrapped, and a ``module.`` prefix (from ``DataParallel``) is dropped.
    The file is read with ``weights_only=True``: no code in it runs.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    dict
        Parameter name -> tensor.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a readable checkpoint or holds no state dict; the message
        names the file.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(path))
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise ValueError(
            f"cannot read the checkpoint {path}: it is not a PyTorch (torch.save) or "
            f"safetensors file, or it is truncated ({type(error).__name__})"
        ) from None
    if isinstance(obj, Mapping):
        for key in _STATE_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        found = (
            f"a dict with keys {sorted(map(str, obj))[:6]}"
            if isinstance(obj, Mapping)
            else type(obj).__name__
        )
        raise ValueError(
            f"{path} does not hold a state dict (parameter names -> tensors); found {found}"
        )
    if all(str(k).startswith("module.") for k in obj):
        obj = {str(k)[len("module.") :]: v for k, v in obj.items()}
    return dict(obj)


def _load_fitting(model: Any, state: dict[str, Any], source: str, arch: str) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        (k, tuple(state[k].shape), tuple(v.shape))
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"first missing key {missing[0]!r} ({len(missing)} missing)")
        if unexpected:
            parts.append(f"first unexpected key {unexpected[0]!r} ({len(unexpected)} unexpected)")
        if mismatched:
            k, got, want = mismatched[0]
            parts.append(f"{k!r} has shape {got} in the file but {want} in the model")
        raise ValueError(f"{source} does not fit {arch}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


def load_checkpoint(model: Any, path: str | Path, *, arch: str | None = None) -> Any:
    """Load a checkpoint that must fit ``model`` exactly.

    Parameters
    ----------
    model : torch.nn.Module
        The model to fill (in place).
    path : str or Path
        A file accepted by :func:`read_state_dict`.
    arch : str, optional
        Architecture name for the error message.

    Returns
    -------
    torch.nn.Module
        ``model``.

    Raises
    ------
    FileNotFoundError, ValueError
        See :func:`read_state_dict`; a :class:`ValueError` names the file and
        the first missing or unexpected key when the weights do not fit.
    """
    _load_fitting(model, read_state_dict(path), str(path), arch or type(model).__name__)
    return model


# ---------------------------------------------------------------------------
# the factory


def _file_record(path: str | Path | None, what: str) -> dict[str, str] | None:
    if path is None:
        return None
    from propgrad.assets import file_sha256

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    return {"file": str(path.resolve()), "sha256": file_sha256(path)}


def unknown_arch(arch: str) -> ValueError:
    """The error for an unknown architecture name, suggesting close timm names."""
    import timm

    names = list(timm.list_models()) + list(LOCAL_ARCHITECTURES)
    close = difflib.get_close_matches(arch, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else " (see timm.list_models())"
    return ValueError(f"unknown architecture {arch!r}{hint}")


def _build(
    arch: str, num_classes: int, pretrained: dict[str, str] | None, kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """Build the module and return it with its default data configuration."""
    if arch == "convmixer":
        from propgrad.models.convmixer import ConvMixer

        if pretrained is not None:
            raise ValueError(
                "the propgrad ConvMixer has no pretrained weights; use checkpoint=... "
                "(or a timm ConvMixer such as 'convmixer_1024_20_ks9_p14')"
            )
        try:
            model = ConvMixer(n_classes=num_classes, **kwargs)
        except TypeError as error:
            raise ValueError(f"convmixer: {error}") from None
        return model, {"input_size": (3, 224, 224), "interpolation": "bilinear", "norm": "unit"}
    import timm

    if arch not in timm.list_models():
        raise unknown_arch(arch)
    options: dict[str, Any] = {"num_classes": int(num_classes), **kwargs}
    if pretrained is not None:
        options["pretrained"] = True
        options["pretrained_cfg_overlay"] = {"file": pretrained["file"]}
    try:
        model = timm.create_model(arch, **options)
    except Exception as error:  # bad arguments (TypeError, ...), any error from a weights file
        what = f" from {pretrained['file']}" if pretrained else ""
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"cannot build {arch}{what}: {first}") from None
    if pretrained is not None:
        _check_backbone(model, pretrained["file"], arch)
    config = timm.data.resolve_model_data_config(model)
    return model, dict(config)


def _check_backbone(model: Any, path: str, arch: str) -> None:
    """Refuse a pretrained file whose weights (apart from the head) do not fit ``arch``.

    timm loads pretrained weights leniently when it replaces the head, so a file
    of another architecture would otherwise load partly and silently.
    """
    heads = model.pretrained_cfg.get("classifier") or ()
    heads = (heads,) if isinstance(heads, str) else tuple(heads)

    def is_head(key: str) -> bool:
        return any(key == h or key.startswith(h + ".") for h in heads)

    state = read_state_dict(path)
    expected = {k: v for k, v in model.state_dict().items() if not is_head(k)}
    given = {k: v for k, v in state.items() if not is_head(k)}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    misfit = [
        k for k in expected if k in given and tuple(given[k].shape) != tuple(expected[k].shape)
    ]
    # position embeddings are resampled by timm for other image sizes
    misfit = [k for k in misfit if "pos_embed" not in k and "relative_position" not in k]
    if missing or unexpected or misfit:
        first = (
            f"first missing key {missing[0]!r}"
            if missing
            else f"first unexpected key {unexpected[0]!r}"
            if unexpected
            else f"{misfit[0]!r} has another shape"
        )
        raise ValueError(f"pretrained weights {path} do not fit {arch}: {first}")


def create_classifier(
    arch: str,
    num_classes: int = 2,
    *,
    pretrained: str | Path | None = None,
    checkpoint: str | Path | None = None,
    image_size: int | Sequence[int] | None = None,
    normalisation: str | tuple[Sequence[float], Sequence[float]] | None = None,
    interpolation: str | None = None,
    class_names: Sequence[str] | None = None,
    name: str | None = None,
    seed: int | None = 0,
    device: str = "cpu",
    model_kwargs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Classifier:
    """Build a classifier by architecture name, with its own preprocessing.

    Parameters
    ----------
    arch : str
        A timm model name (``"resnet18"``, ``"vit_base_patch16_224"``, ...) or
        ``"convmixer"`` (:class:`propgrad.models.convmixer.ConvMixer`, laid out
        like the authors' checkpoints; its arguments ``dim``, ``depth``,
        ``kernel_size``, ``patch_size`` go in ``**kwargs``).
    num_classes : int, optional
        Outputs of the classifier head.
    pretrained : str or Path, optional
        A local timm weights file for ``arch`` (e.g. ImageNet weights); timm
        replaces the head when ``num_classes`` differs. No downloads.
    checkpoint : str or Path, optional
        A state dict that must fit the built model exactly (e.g. fine-tuned
        weights); loaded after ``pretrained``.
    image_size : int or (int, int), optional
        Input size of the preprocessing. Default: timm's data configuration of
        the model (224 for most ImageNet models). For a ViT at another size
        also pass ``img_size`` in ``**kwargs``.
    normalisation : {"unit", "imagenet"} or (mean, std), optional
        Overrides the model's own mean/std (timm's configuration; ``"unit"``
        for the ConvMixer).
    interpolation : str, optional
        Overrides the model's resampling filter.
    class_names : sequence of str, optional
        Names of the outputs.
    name : str, optional
        Display name (default: ``arch``).
    seed : int or None, optional
        Seed for the random initialisation (torch's global generator state is
        restored afterwards); ``None`` uses the global generator as it is.
    device : str, optional
        Where to put the model.
    model_kwargs : mapping, optional
        Architecture arguments, as an alternative to ``**kwargs``.
    **kwargs
        More architecture arguments passed to the model's constructor.

    Returns
    -------
    Classifier
        In eval mode.

    Raises
    ------
    ValueError
        For an unknown architecture (with close matches), bad arguments, or a
        weights file that does not fit.
    FileNotFoundError
        If a weights file does not exist.

    Examples
    --------
    >>> clf = create_classifier("resnet18", 2)  # doctest: +SKIP
    >>> clf.preprocess.mean  # doctest: +SKIP
    (0.485, 0.456, 0.406)
    """
    import torch

    arch_kwargs = {**dict(model_kwargs or {}), **kwargs}
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if class_names is not None and len(class_names) != int(num_classes):
        raise ValueError(f"{len(class_names)} class names for {num_classes} classes")
    pretrained_record = _file_record(pretrained, f"pretrained weights for {arch}")
    checkpoint_record = _file_record(checkpoint, "checkpoint")
    if seed is None:
        model, config = _build(arch, int(num_classes), pretrained_record, arch_kwargs)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model, config = _build(arch, int(num_classes), pretrained_record, arch_kwargs)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, arch=arch)
    if image_size is None and "img_size" in arch_kwargs:
        image_size = arch_kwargs["img_size"]  # e.g. a ViT built for another input size
    size = image_size if image_size is not None else tuple(config["input_size"][-2:])
    norm = normalisation
    if norm is None:
        norm = config.get("norm") or (tuple(config["mean"]), tuple(config["std"]))
    mean, std = resolve_normalisation(norm)
    filter_name = interpolation or config.get("interpolation", "bilinear")
    preprocess = Preprocess(size, mean, std, filter_name)
    spec = {
        "arch": arch,
        "num_classes": int(num_classes),
        "image_size": list(preprocess.size),
        "normalisation": [list(mean), list(std)],
        "interpolation": preprocess.interpolation,
        "model_kwargs": arch_kwargs,
        "seed": seed,
        "pretrained": pretrained_record,
        "checkpoint": checkpoint_record,
    }
    return Classifier(
        model.to(device).eval(),
        preprocess,
        name or arch,
        tuple(class_names) if class_names is not None else None,
        spec,
    )


def split_model(model: Any, preprocess: Any = None) -> tuple[Any, Any]:
    """Return ``(module, preprocess)`` for a Classifier or a module plus preprocessing.

    Parameters
    ----------
    model : Classifier or torch.nn.Module
        A :class:`Classifier` (its ``.model`` is returned) or a module.
    preprocess : Preprocess, optional
        Overrides the classifier's own preprocessing; required context for a
        plain module wherever a normalisation has to be undone.

    Returns
    -------
    module, preprocess
        ``preprocess`` may be ``None`` for a plain module.
    """
    if isinstance(model, Classifier):
        return model.model, preprocess if preprocess is not None else model.preprocess
    return model, preprocess


def as_classifier(model: Any, preprocess: Any = None) -> Classifier | tuple[Any, Any]:
    """Return ``model`` as a :class:`Classifier` when possible.

    Parameters
    ----------
    model : Classifier, torch.nn.Module or callable
        The model.
    preprocess : Preprocess or callable, optional
        Its preprocessing (required for a plain module).

    Returns
    -------
    Classifier or (model, preprocess)
        A classifier as it is (with ``preprocess`` replacing its own when
        given), a module with a :class:`Preprocess` wrapped into one, or the
        pair unchanged for anything else.
    """
    if isinstance(model, Classifier):
        if preprocess is None or preprocess is model.preprocess:
            return model
        if isinstance(preprocess, Preprocess):
            return replace(model, preprocess=preprocess)
        return model.model, preprocess
    if isinstance(preprocess, Preprocess) and hasattr(model, "state_dict"):
        return Classifier(model, preprocess, type(model).__name__)
    return model, preprocess


__all__ = [
    "Classifier",
    "LOCAL_ARCHITECTURES",
    "as_classifier",
    "create_classifier",
    "load_checkpoint",
    "model_identity",
    "read_state_dict",
]
