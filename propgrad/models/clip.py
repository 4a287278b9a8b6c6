"""CLIP zero-shot similarities with descriptor ensembles, from local open_clip weights.

The paper's Sec. 4.4 scores a CLIP model (ViT-B/32 with OpenAI's weights) by
the cosine similarity between an image and each of ten text *descriptors* per
class (its Table 13), and reports per class the mean over the descriptors
(and in Figs. 37 and 39 also their standard deviation, minimum and maximum).
This module provides that model in the package's usual form:

* :func:`load_clip` builds an open_clip model by name (``"ViT-B-32"``) or from
  a small architecture config, with weights from a **local file** only
  (``pretrained=<path>``; nothing is downloaded), and returns it with its
  preprocessing (a :class:`~propgrad.models.preprocess.Preprocess` built from
  open_clip's own preprocessing config: size, interpolation, mean and std) and
  its tokenizer.
* :func:`zero_shot_clip` adds the texts: every descriptor is embedded with
  open_clip's own :func:`open_clip.build_zero_shot_classifier` (each
  descriptor as a "class name", expanded by optional templates and averaged),
  and each class also gets its *prompt ensemble*, the normalised mean of its
  descriptors' embeddings, built by the same function.
* :class:`ZeroShotCLIP` turns into :class:`~propgrad.models.Classifier`
  objects (:meth:`ZeroShotCLIP.classifier`) that map preprocessed images
  (B, 3, H, W) to cosine similarities with every descriptor (B, D), to the
  per-class mean similarity (B, n_classes), to the similarity with each
  class's prompt ensemble, or to the normalised image embeddings; they work
  with :func:`propgrad.prediction.predict_sweeps` and :func:`propgrad.score_models`
  (use ``softmax=False``: the outputs are similarities, not logits). Image
  embeddings along sweeps come from the ``"embedding"`` classifier through
  :func:`~propgrad.prediction.predict_sweeps` (cached like every output), and
  :meth:`ZeroShotCLIP.similarities` compares them with every text; this
  module itself never predicts (the prediction path imports the models, not
  the other way round).
* :func:`descriptor_stats` gives per class the mean, standard deviation,
  minimum and maximum over its descriptors.

Preprocessing
-------------
:class:`~propgrad.models.preprocess.Preprocess` resizes an image straight to
the model's input size. open_clip's own inference transform resizes the
shorter side and crops the centre; the two agree for square images (such as
renders). Crop non-square frames to a square first (the chapter's recipe
does) or use :meth:`ClipModel.open_clip_transform` to get open_clip's exact
pipeline.

OpenAI's weights
----------------
OpenAI's CLIP models were trained with the QuickGELU activation: load their
weights with ``quick_gelu=True`` (or the model name ``"ViT-B-32-quickgelu"``).
OpenAI's original release files are TorchScript archives, which cannot be
read with ``torch.load(weights_only=True)``; :func:`load_clip` recognises them
and reads only their tensors through TorchScript (trust the file you pass).

torch and open_clip are imported inside the functions, so importing this
module is cheap.
"""

from __future__ import annotations

import difflib
import json
import logging
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.models.classifier import Classifier, model_identity
from propgrad.models.preprocess import Preprocess

#: OpenAI's per-channel image mean and std, used by every CLIP model.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

#: What :meth:`ZeroShotCLIP.classifier` can output.
OUTPUTS = ("class_mean", "descriptors", "ensemble", "embedding")

PAPER_MODEL = "ViT-B-32"
"""The paper's model (Sec. 4.4): CLIP ViT-B/32 with OpenAI's weights."""


# ----------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------
@dataclass
class ClipModel:
    """An open_clip model with its preprocessing and tokenizer.

    Attributes
    ----------
    model : torch.nn.Module
        The open_clip ``CLIP`` (or ``CustomTextCLIP``) model, in eval mode.
    preprocess : Preprocess
        Image preprocessing built from open_clip's preprocessing config of
        the model (size, interpolation, mean, std).
    tokenizer : callable
        open_clip's tokenizer for the model (texts -> token ids).
    name : str
        Model name (or ``"custom"`` for a config).
    spec : dict
        How it was built (name or config, QuickGELU, the weights file and its
        sha256, or a hash of random weights); identifies it in cache keys.
    """

    model: Any
    preprocess: Preprocess
    tokenizer: Any
    name: str = "clip"
    spec: dict[str, Any] = field(default_factory=dict)

    def open_clip_transform(self) -> Any:
        """open_clip's own inference transform (PIL image -> tensor) for this model."""
        import open_clip
        from open_clip.transform import PreprocessCfg

        cfg = PreprocessCfg(**self.model.visual.preprocess_cfg)
        return open_clip.image_transform_v2(cfg, is_train=False)


def _is_torchscript(path: Path) -> bool:
    """True for a TorchScript archive (OpenAI's original CLIP release format)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


def _validate_name(model_name: str) -> str:
    import open_clip

    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"model_name must be an open_clip model name, got {model_name!r}")
    cleaned = model_name.replace("/", "-")
    known = open_clip.list_models()
    if cleaned not in known:
        close = difflib.get_close_matches(cleaned, known, n=4, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"unknown open_clip model {model_name!r}{hint} (open_clip.list_models() lists all "
            f"{len(known)}; the paper uses {PAPER_MODEL!r}); or pass model_cfg=... for an "
            "architecture of your own"
        )
    return cleaned


def _validate_weights(pretrained: Any, model_name: str) -> Path | None:
    if pretrained is None:
        return None
    path = Path(pretrained).expanduser()
    if path.is_file():
        return path
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(model_name) if model_name else []
    if str(pretrained) in tags:
        raise ValueError(
            f"pretrained={pretrained!r} is an open_clip weight tag, which would need a "
            "download; this package only reads local files. Get the weights file once on a "
            "machine with access (e.g. OpenAI's ViT-B-32.pt for the paper's model) and pass "
            "its path"
        )
    raise FileNotFoundError(
        f"CLIP weights file not found: {path}. Pass the path of a local open_clip or OpenAI "
        f"checkpoint for {model_name or 'the model'} (the paper uses {PAPER_MODEL} with "
        "OpenAI's weights, the file ViT-B-32.pt of OpenAI's release, loaded with "
        "quick_gelu=True); nothing is downloaded"
    )


def _first_lines(error: BaseException, n: int = 3) -> str:
    return " ".join(line.strip() for line in str(error).strip().splitlines()[:n])


@contextmanager
def _quiet_logging() -> Iterator[None]:
    """Silence open_clip's log messages (it logs "no pretrained weights" on the root logger)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _load_weights(model: Any, path: Path, what: str) -> None:
    import open_clip

    weights_only = not _is_torchscript(path)
    try:
        open_clip.load_checkpoint(model, str(path), strict=True, weights_only=weights_only)
    except RuntimeError as error:
        raise ValueError(
            f"the weights in {path} do not fit {what}: {_first_lines(error)}"
        ) from error


def clip_architecture(model: str | Path) -> dict[str, Any]:
    """How to build a CLIP: an open_clip name, or a JSON architecture config file.

    Parameters
    ----------
    model : str or Path
        An open_clip model name (``"ViT-B-32"``) or the path of a ``.json``
        file holding an open_clip config (``embed_dim``, ``vision_cfg``,
        ``text_cfg``; also the ``model_cfg`` entry of an
        ``open_clip_config.json``).

    Returns
    -------
    dict
        Keyword arguments for :func:`propgrad.models.clip.load_clip`.
    """
    text = str(model)
    if text.lower().endswith(".json"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"CLIP architecture config not found: {path}")
        cfg = json.loads(path.read_text())
        return {"model_cfg": cfg.get("model_cfg", cfg)}
    return {"model_name": text}


def load_clip(
    model_name: str = PAPER_MODEL,
    pretrained: str | Path | None = None,
    *,
    model_cfg: Mapping[str, Any] | None = None,
    quick_gelu: bool = False,
    device: str = "cpu",
) -> ClipModel:
    """Build an open_clip model with weights from a local file.

    Parameters
    ----------
    model_name : str, default "ViT-B-32"
        An open_clip architecture name (``open_clip.list_models()``); ignored
        when ``model_cfg`` is given.
    pretrained : str or Path, optional
        A local weights file: an open_clip checkpoint (``torch.save`` state
        dict or safetensors) or OpenAI's original TorchScript release. ``None``
        keeps the random initialisation (for tests and for training from
        scratch).
    model_cfg : mapping, optional
        An architecture config in open_clip's format (``embed_dim``,
        ``vision_cfg``, ``text_cfg``, optionally ``quick_gelu`` and
        ``custom_text``), e.g. a tiny model for tests.
    quick_gelu : bool, default False
        Use QuickGELU activations, as OpenAI's weights need.
    device : str, default "cpu"
        Where to put the model.

    Returns
    -------
    ClipModel

    Raises
    ------
    ValueError
        For an unknown model name (with close matches), a weight *tag* instead
        of a file, or weights that do not fit the architecture.
    FileNotFoundError
        If ``pretrained`` names no file.

    Examples
    --------
    >>> clip = load_clip("ViT-B-32", "/models/ViT-B-32.pt", quick_gelu=True)  # doctest: +SKIP
    >>> clip.preprocess.size  # doctest: +SKIP
    (224, 224)
    """
    import open_clip
    import torch

    if model_cfg is not None:
        cfg = dict(model_cfg)
        missing = sorted({"embed_dim", "vision_cfg", "text_cfg"} - set(cfg))
        if missing:
            raise ValueError(f"model_cfg lacks {missing} (open_clip's config format)")
        name = "custom"
        path = _validate_weights(pretrained, "")
        if quick_gelu:
            cfg["quick_gelu"] = True
        custom_text = cfg.pop("custom_text", False)
        model_class = open_clip.CustomTextCLIP if custom_text else open_clip.CLIP
        model = model_class(**cfg)
        if path is not None:
            _load_weights(model, path, "the given model_cfg")
        size = model.visual.image_size
        size = tuple(size) if isinstance(size, (tuple, list)) else (int(size), int(size))
        preprocess = Preprocess(size, CLIP_MEAN, CLIP_STD, "bicubic")
        context = int(cfg["text_cfg"].get("context_length", 77))
        tokenizer = open_clip.SimpleTokenizer(context_length=context)
        arch: dict[str, Any] = {"model_cfg": {**dict(model_cfg), "quick_gelu": bool(quick_gelu)}}
    else:
        name = _validate_name(model_name)
        path = _validate_weights(pretrained, name)
        try:
            with _quiet_logging():
                model = open_clip.create_model(
                    name,
                    pretrained=None if path is None else str(path),
                    force_quick_gelu=quick_gelu,
                    weights_only=path is None or not _is_torchscript(path),
                )
        except RuntimeError as error:
            if path is None:
                raise
            raise ValueError(
                f"the weights in {path} do not fit open_clip's {name}: {_first_lines(error)}"
            ) from error
        pp = model.visual.preprocess_cfg
        size = pp["size"]
        size = tuple(size) if isinstance(size, (tuple, list)) else (int(size), int(size))
        interpolation = pp.get("interpolation", "bicubic")
        if interpolation not in ("bilinear", "bicubic", "nearest", "lanczos"):
            interpolation = "bicubic"
        preprocess = Preprocess(size, tuple(pp["mean"]), tuple(pp["std"]), interpolation)
        tokenizer = open_clip.get_tokenizer(name)
        arch = {"model_name": name, "quick_gelu": bool(quick_gelu)}
    model = model.to(torch.device(device)).eval()
    if path is not None:
        from propgrad.assets import file_sha256

        weights: dict[str, Any] = {"file": str(path), "sha256": file_sha256(path)}
    else:
        weights = {"random": model_identity(model)}
    spec = {"arch": "open_clip", **arch, "weights": weights}
    return ClipModel(model, preprocess, tokenizer, name, spec)


# ----------------------------------------------------------------------------
# texts
# ----------------------------------------------------------------------------
def _validate_descriptors(descriptors: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(descriptors, Mapping) or not descriptors:
        raise ValueError(
            "descriptors must be a non-empty mapping class name -> list of texts, e.g. "
            "{'elephant': ['toy elephant', 'gray elephant']}"
        )
    out = {}
    for name, texts in descriptors.items():
        if isinstance(texts, str):
            texts = (texts,)
        texts = tuple(texts)
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ValueError(f"class {name!r} needs at least one non-empty text, got {texts!r}")
        out[str(name)] = texts
    return out


def _validate_templates(templates: Any) -> tuple[str, ...]:
    templates = (templates,) if isinstance(templates, str) else tuple(templates)
    if not templates or not all(isinstance(t, str) and "{}" in t for t in templates):
        raise ValueError(
            f"templates must be strings holding '{{}}' (where the text goes), got {templates!r}"
        )
    return templates


def text_embeddings(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    templates: Sequence[str] = ("{}",),
    *,
    device: str = "cpu",
) -> Any:
    """Normalised text embeddings, one per text, each averaged over the templates.

    This is :func:`open_clip.build_zero_shot_classifier` with the texts as
    its "class names": each text is put into every template, embedded,
    normalised, averaged over the templates and normalised again.

    Parameters
    ----------
    model : torch.nn.Module
        An open_clip model.
    tokenizer : callable
        Its tokenizer.
    texts : sequence of str
        The texts (e.g. all descriptors of all classes).
    templates : sequence of str, default ("{}",)
        Format strings with one ``{}`` (the default uses each text as it is).
    device : str, default "cpu"
        Where to run the text tower.

    Returns
    -------
    torch.Tensor
        (len(texts), embed_dim), unit rows.
    """
    import open_clip

    model.eval()
    weights = open_clip.build_zero_shot_classifier(
        model,
        tokenizer,
        list(texts),
        list(_validate_templates(templates)),
        num_classes_per_batch=max(1, 256 // len(tuple(templates))),
        device=device,
    )
    return weights.T.contiguous()


def _literal(text: str) -> str:
    """A text as a format string that formats to itself."""
    return text.replace("{", "{{").replace("}", "}}")


def ensemble_embeddings(
    model: Any,
    tokenizer: Any,
    descriptors: Mapping[str, Sequence[str]],
    templates: Sequence[str] = ("{}",),
    *,
    device: str = "cpu",
) -> Any:
    """Each class's prompt ensemble: the normalised mean of its descriptors' embeddings.

    Built with :func:`open_clip.build_zero_shot_classifier` for one class at a
    time, its descriptors (each put into every template) serving as that
    class's templates.

    Parameters
    ----------
    model, tokenizer
        An open_clip model and its tokenizer.
    descriptors : mapping
        Class name -> its texts.
    templates : sequence of str, default ("{}",)
        Format strings with one ``{}`` applied to every descriptor.
    device : str, default "cpu"
        Where to run the text tower.

    Returns
    -------
    torch.Tensor
        (n_classes, embed_dim), unit rows, in the order of ``descriptors``.
    """
    import open_clip
    import torch

    descriptors = _validate_descriptors(descriptors)
    templates = _validate_templates(templates)
    model.eval()
    rows = []
    for name, texts in descriptors.items():
        prompts = [_literal(t.format(d)) for d in texts for t in templates]
        weights = open_clip.build_zero_shot_classifier(
            model, tokenizer, [name], prompts, num_classes_per_batch=None, device=device
        )
        rows.append(weights[:, 0])
    return torch.stack(rows).contiguous()


# ----------------------------------------------------------------------------
# statistics over descriptors
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DescriptorStats:
    """Per-class statistics of similarities over each class's descriptors.

    Attributes
    ----------
    mean, std, min, max : ndarray
        Shape ``(..., n_classes)``: mean, standard deviation (``ddof=0``),
        minimum and maximum over the descriptors of each class.
    classes : tuple of str
        The class names, in the order of the last axis.
    """

    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    classes: tuple[str, ...]

    def of(self, name: str) -> dict[str, np.ndarray]:
        """``{"mean", "std", "min", "max"}`` of one class (the last axis dropped)."""
        if name not in self.classes:
            raise ValueError(f"unknown class {name!r}; classes are {list(self.classes)}")
        i = self.classes.index(name)
        return {k: getattr(self, k)[..., i] for k in ("mean", "std", "min", "max")}


def descriptor_stats(
    similarities: Any, text_classes: Sequence[int], classes: Sequence[str] | None = None
) -> DescriptorStats:
    """Mean, std, min and max of similarities over the descriptors of each class.

    Parameters
    ----------
    similarities : array_like, shape (..., D)
        Similarities with D descriptors (e.g. outputs along sweeps (M, N, D)).
    text_classes : sequence of int, length D
        The class index of every descriptor.
    classes : sequence of str, optional
        Class names (default ``"0"``, ``"1"``, ...).

    Returns
    -------
    DescriptorStats

    Raises
    ------
    ValueError
        If the shapes do not match or a class has no descriptor.

    Examples
    --------
    >>> s = descriptor_stats([[0.1, 0.3, 0.5]], [0, 0, 1], ["a", "b"])
    >>> s.mean.round(2).tolist(), s.max.tolist()
    ([[0.2, 0.5]], [[0.3, 0.5]])
    """
    sims = np.asarray(similarities, dtype=np.float64)
    groups = np.asarray(text_classes, dtype=int).reshape(-1)
    if sims.ndim < 1 or sims.shape[-1] != groups.size:
        raise ValueError(
            f"similarities have {sims.shape[-1] if sims.ndim else 0} descriptors on their last "
            f"axis but text_classes names {groups.size}"
        )
    n_classes = int(groups.max()) + 1 if classes is None else len(classes)
    names = tuple(str(i) for i in range(n_classes)) if classes is None else tuple(classes)
    stats = {k: [] for k in ("mean", "std", "min", "max")}
    for c in range(n_classes):
        part = sims[..., groups == c]
        if part.shape[-1] == 0:
            raise ValueError(f"class {names[c]!r} has no descriptor")
        stats["mean"].append(part.mean(axis=-1))
        stats["std"].append(part.std(axis=-1))
        stats["min"].append(part.min(axis=-1))
        stats["max"].append(part.max(axis=-1))
    return DescriptorStats(**{k: np.stack(v, axis=-1) for k, v in stats.items()}, classes=names)


# ----------------------------------------------------------------------------
# the zero-shot model
# ----------------------------------------------------------------------------
def _zero_shot_head(
    visual: Any, text: Any, text_classes: np.ndarray, ensemble: Any, output: str
) -> Any:
    import torch
    import torch.nn.functional as F

    class ZeroShotHead(torch.nn.Module):
        """Preprocessed images (B, 3, H, W) -> similarities (or embeddings)."""

        def __init__(self) -> None:
            super().__init__()
            self.visual = visual
            self.output = output
            n_classes = int(text_classes.max()) + 1
            average = np.zeros((len(text_classes), n_classes), dtype=np.float32)
            average[np.arange(len(text_classes)), text_classes] = 1.0
            average /= average.sum(axis=0, keepdims=True)
            self.register_buffer("text", text.detach().float().clone())
            self.register_buffer("average", torch.from_numpy(average))
            self.register_buffer("ensemble", ensemble.detach().float().clone())

        def forward(self, x: Any) -> Any:
            image = F.normalize(self.visual(x).float(), dim=-1)
            if self.output == "embedding":
                return image
            if self.output == "ensemble":
                return image @ self.ensemble.T
            similarities = image @ self.text.T
            if self.output == "descriptors":
                return similarities
            return similarities @ self.average

    return ZeroShotHead()


@dataclass
class ZeroShotCLIP:
    """A CLIP model with descriptor texts for zero-shot similarities.

    Build it with :func:`zero_shot_clip`.

    Attributes
    ----------
    clip : ClipModel
        The model, its preprocessing and tokenizer.
    descriptors : dict
        Class name -> its descriptor texts (in order).
    templates : tuple of str
        Templates each descriptor was put into (``("{}",)``: as it is).
    text_features : torch.Tensor
        (D, embed_dim) unit embeddings of all descriptors, class by class.
    ensemble_features : torch.Tensor
        (n_classes, embed_dim) prompt ensembles of the classes.
    """

    clip: ClipModel
    descriptors: dict[str, tuple[str, ...]]
    templates: tuple[str, ...]
    text_features: Any
    ensemble_features: Any

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names."""
        return tuple(self.descriptors)

    @property
    def texts(self) -> tuple[str, ...]:
        """All descriptors, class by class (the columns of ``"descriptors"`` outputs)."""
        return tuple(t for texts in self.descriptors.values() for t in texts)

    @property
    def text_classes(self) -> np.ndarray:
        """The class index of every descriptor, shape (D,)."""
        return np.concatenate(
            [np.full(len(t), i) for i, t in enumerate(self.descriptors.values())]
        ).astype(int)

    @property
    def preprocess(self) -> Preprocess:
        """The model's image preprocessing."""
        return self.clip.preprocess

    @property
    def spec(self) -> dict[str, Any]:
        """How the model and its texts were built (for cache keys)."""
        return {
            **self.clip.spec,
            "descriptors": {k: list(v) for k, v in self.descriptors.items()},
            "templates": list(self.templates),
        }

    def classifier(self, output: str = "class_mean") -> Classifier:
        """A :class:`~propgrad.models.Classifier` for :func:`propgrad.prediction.predict_sweeps`.

        Parameters
        ----------
        output : {"class_mean", "descriptors", "ensemble", "embedding"}
            What it returns for a batch of B preprocessed images: the mean
            cosine similarity over each class's descriptors (B, n_classes;
            the paper's scored output), the similarity with every descriptor
            (B, D), the similarity with each class's prompt ensemble
            (B, n_classes), or the unit image embeddings (B, embed_dim).

        Returns
        -------
        Classifier
            ``class_names`` are the classes (the descriptors for
            ``"descriptors"``); its identity covers the weights, the texts and
            ``output``. Score it with ``softmax=False``.
        """
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose one of {list(OUTPUTS)}")
        head = _zero_shot_head(
            self.clip.model.visual,
            self.text_features,
            self.text_classes,
            self.ensemble_features,
            output,
        )
        names = (
            self.texts
            if output == "descriptors"
            else None
            if output == "embedding"
            else self.classes
        )
        return Classifier(
            model=head.eval(),
            preprocess=self.clip.preprocess,
            name=f"{self.clip.name} ({output})",
            class_names=names,
            spec={**self.spec, "output": output},
        )

    def similarities(self, embeddings: Any) -> np.ndarray:
        """Cosine similarities of unit image embeddings with every descriptor.

        Parameters
        ----------
        embeddings : array_like, shape (..., embed_dim)
            Unit image embeddings: the outputs of the ``"embedding"``
            classifier, e.g. ``predict_sweeps(zero_shot.classifier("embedding"),
            sweeps, softmax=False)`` (:func:`propgrad.prediction.predict_sweeps`).

        Returns
        -------
        ndarray
            (..., D), in the order of :attr:`texts`.
        """
        text = self.text_features.detach().cpu().double().numpy()
        return np.asarray(embeddings, dtype=np.float64) @ text.T

    def stats(self, similarities: Any) -> DescriptorStats:
        """Per-class mean, std, min and max over the descriptors (:func:`descriptor_stats`)."""
        return descriptor_stats(similarities, self.text_classes, self.classes)

    def class_embedding(self, name: str) -> np.ndarray:
        """The prompt-ensemble text embedding of one class, shape (embed_dim,)."""
        if name not in self.descriptors:
            raise ValueError(f"unknown class {name!r}; classes are {list(self.classes)}")
        return self.ensemble_features[self.classes.index(name)].detach().cpu().double().numpy()


def zero_shot_clip(
    clip: ClipModel | str,
    descriptors: Mapping[str, Sequence[str]],
    *,
    templates: Sequence[str] = ("{}",),
    pretrained: str | Path | None = None,
    device: str = "cpu",
    **load_options: Any,
) -> ZeroShotCLIP:
    """A zero-shot CLIP scoring images against descriptor texts.

    Parameters
    ----------
    clip : ClipModel or str
        A model from :func:`load_clip`, or a model name to load with
        ``pretrained`` and ``load_options``.
    descriptors : mapping
        Class name -> its texts (the paper: ten per class, its Table 13).
    templates : sequence of str, default ("{}",)
        Format strings each descriptor is put into before embedding (e.g.
        ``("a photo of a {}.",)``); several are averaged (a template
        ensemble per descriptor).
    pretrained : str or Path, optional
        Weights file when ``clip`` is a name.
    device : str, default "cpu"
        Where to embed the texts.
    **load_options
        Passed to :func:`load_clip` when ``clip`` is a name (``quick_gelu``,
        ``model_cfg``).

    Returns
    -------
    ZeroShotCLIP

    Raises
    ------
    ValueError
        For empty descriptors or malformed templates (and see
        :func:`load_clip`).
    """
    if not isinstance(clip, ClipModel):
        clip = load_clip(clip, pretrained, device=device, **load_options)
    descriptors = _validate_descriptors(descriptors)
    templates = _validate_templates(templates)
    texts = [t for ts in descriptors.values() for t in ts]
    text = text_embeddings(clip.model, clip.tokenizer, texts, templates, device=device)
    ensemble = ensemble_embeddings(
        clip.model, clip.tokenizer, descriptors, templates, device=device
    )
    return ZeroShotCLIP(clip, descriptors, templates, text.cpu(), ensemble.cpu())


__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "OUTPUTS",
    "PAPER_MODEL",
    "ClipModel",
    "DescriptorStats",
    "ZeroShotCLIP",
    "descriptor_stats",
    "ensemble_embeddings",
    "load_clip",
    "text_embeddings",
    "zero_shot_clip",
]
