"""Concept discovery, importance, naming and TCAV: the concept baselines of appendix B.5.

The paper compares its local, interventional score with global concept-based
explanations of the Cats-vs-Dogs models (Table 8, Figs. 19-21):

* **ACE-style discovery** (Ghorbani et al. 2019, as used by ConceptSHAP [82]):
  every probing image is cut into SLIC superpixels at several resolutions
  (:func:`concept_patches`); each superpixel becomes a *patch* (its pixels on
  a grey canvas, its bounding box resized to the model's input size); the
  patches' activations at one layer (:func:`layer_activations`) are clustered
  with k-means; every cluster large and common enough becomes a concept, with a
  concept activation vector (CAV) separating its patches from random patches.
* **Importance** by ConceptSHAP (Yeh et al. 2020, the paper's [82]): Shapley
  values of the concepts' *completeness* (how much of the model's behaviour on
  the probing images survives when the activations are reduced to the span of
  a set of CAVs; see :func:`concept_completeness`), after CAVs with a cosine
  similarity above 0.95 are merged (:func:`merge_duplicate_cavs`).
  :func:`discover_concepts` runs all of this and returns a
  :class:`ConceptDiscovery` whose top CAVs, each with its closest patches, are
  the paper's Figs. 19-21 (:func:`plot_concepts`).
* **Naming**: :func:`name_by_properties` names a concept by the known property
  (of a toy world) that its scores track best; :func:`name_by_clip` names it
  by CLIP text probing over a word list (Schmalwasser et al. 2024, the paper's
  [69], Table 8).
* **TCAV** (Kim et al. 2018): :func:`tcav_scores` gives the fraction of inputs
  whose target logit increases along a concept's CAV, for user-given concept
  images (e.g. dark fur, bright background) against random images.

What captum does
----------------
CAVs are trained through :mod:`captum.concept`: every concept is a
:class:`captum.concept.Concept` with a data loader of its (preprocessed)
images, :meth:`captum.concept.TCAV.compute_cavs` records their activations
(stored under a temporary ``save_path`` that is removed afterwards) and trains
one linear classifier per (concept, random) pair, and the CAV is read from the
returned :class:`captum.concept.CAV` objects. TCAV scores are captum's
``sign_count`` scores from :meth:`captum.concept.TCAV.interpret`. captum
flattens a layer's activations to (B, D * h * w); ACE, and everything here,
works with spatially *mean-pooled* activations (B, D) instead, so captum gets
a small classifier of its :class:`captum.concept._utils.classifier.Classifier`
interface (:class:`PooledCAVClassifier`): it pools the flattened activations,
fits a logistic regression (scikit-learn; standardised features, balanced
classes, seeded train/test split) and hands captum the CAV repeated at every
spatial position. captum's directional
derivative (gradient of the logit w.r.t. the layer, dotted with that vector)
is then the derivative of the logit when the activation at *every* position
moves along the CAV.

Which layer
-----------
Discovery and completeness default to the features the classifier's linear
head reads (the input of the head found as in :func:`propgrad.train.fit`):
for CNNs that is the last convolutional feature map, globally pooled (the
ConvMixer's last block after its GELU and batch norm; a ResNet's ``layer4``).
Only the head follows, so the completeness of a set of CAVs is computed
*exactly* with the model's own head. Any other layer (a name, a module or a
:func:`~propgrad.baselines.layers.gradcam_layer` result) can be chosen; then
completeness uses the model's head when the layer's pooled output is exactly
what the head reads (checked numerically), and otherwise a linear probe of the
logits fitted on the layer's pooled activations (with a warning).
:func:`tcav_scores` defaults to :func:`~propgrad.baselines.layers.gradcam_layer`
(the last convolution on a spatial map): at the head's input the gradient of a
logit is the same for every image, so TCAV would be either 0 or 1.

torch, captum, scikit-learn and scikit-image are imported inside the
functions; importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "ACE_COMPACTNESS",
    "ACE_SEGMENTS",
    "DUPLICATE_COSINE",
    "ClipName",
    "ConceptDiscovery",
    "ConceptShap",
    "Patches",
    "PooledCAVClassifier",
    "PropertyName",
    "concept_completeness",
    "concept_patches",
    "concept_shap",
    "discover_concepts",
    "layer_activations",
    "merge_duplicate_cavs",
    "name_by_clip",
    "name_by_properties",
    "plot_concepts",
    "shapley_values",
    "tcav_scores",
]

#: SLIC resolutions of ACE (Ghorbani et al. 2019): three segmentations per image.
ACE_SEGMENTS: tuple[int, ...] = (15, 50, 80)
#: SLIC compactness of ACE (its images are floats in [0, 1], converted to Lab by SLIC).
ACE_COMPACTNESS = 20.0
#: CAVs more similar than this (cosine) are duplicates (the paper's "over 95%").
DUPLICATE_COSINE = 0.95
#: Up to this many concepts, Shapley values are exact (all 2**n subsets).
EXACT_SHAPLEY_LIMIT = 12


# ---------------------------------------------------------------------------
# images and patches
# ---------------------------------------------------------------------------


def _as_images(images: Any, what: str = "images") -> np.ndarray:
    """A uint8 batch (N, H, W, 3) from arrays, float arrays in [0, 1] or PIL images."""
    if hasattr(images, "detach"):
        raise ValueError(
            f"{what} must be pictures (uint8 arrays (N, H, W, 3) or PIL images), not a torch "
            "tensor of model inputs"
        )
    if isinstance(images, np.ndarray):
        array = images
    else:
        items = list(images)
        if not items:
            raise ValueError(f"{what} is empty")
        if hasattr(items[0], "convert"):  # PIL
            items = [np.asarray(item.convert("RGB")) for item in items]
        shapes = {np.shape(item) for item in items}
        if len(shapes) != 1:
            raise ValueError(f"all {what} must have the same size, got shapes {sorted(shapes)}")
        array = np.stack([np.asarray(item) for item in items])
    if array.ndim != 4 or array.shape[-1] != 3 or array.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty batch (N, H, W, 3), got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if array.size and (np.nanmin(array) < 0.0 or np.nanmax(array) > 1.0):
            raise ValueError(f"float {what} must lie in [0, 1]")
        return np.round(array * 255.0).astype(np.uint8)
    raise ValueError(f"{what} must be uint8 or float in [0, 1], got dtype {array.dtype}")


@dataclass(frozen=True, eq=False)
class Patches:
    """ACE patches: superpixels of probing images, each on a grey canvas.

    Patch ``i`` is superpixel ``segments[i]`` of the segmentation at
    resolution ``resolutions[i]`` of image ``owners[i]``. Its picture
    (:meth:`take`) is that image's pixels inside the superpixel and ``grey``
    outside, cropped to the superpixel's bounding box ``boxes[i]`` and resized
    to ``size`` (bicubic), as in ACE. Pictures are cut on demand, so a large
    probing set needs no memory for them.

    Attributes
    ----------
    source : ndarray of uint8, shape (N, H, W, 3)
        The probing images.
    segmentations : ndarray of int, shape (R, N, H, W)
        SLIC segment ids of every image at each of the R resolutions.
    owners, resolutions, segments : ndarray of int, shape (P,)
        Image, resolution and segment id of every patch.
    boxes : ndarray of int, shape (P, 4)
        Bounding boxes ``(top, left, bottom, right)`` (bottom/right exclusive).
    size : (int, int)
        Height and width of the patch pictures.
    grey : float
        Grey level in [0, 1] outside the superpixel.
    """

    source: np.ndarray
    segmentations: np.ndarray
    owners: np.ndarray
    resolutions: np.ndarray
    segments: np.ndarray
    boxes: np.ndarray
    size: tuple[int, int]
    grey: float = 0.5

    def __len__(self) -> int:
        """The number of patches."""
        return int(self.owners.shape[0])

    def __repr__(self) -> str:
        """Counts and sizes only (the arrays are large)."""
        return (
            f"Patches({len(self)} patches of {self.n_images} images, "
            f"{self.segmentations.shape[0]} resolution(s), size={self.size})"
        )

    @property
    def n_images(self) -> int:
        """The number of probing images."""
        return int(self.source.shape[0])

    def mask(self, i: int) -> np.ndarray:
        """The boolean (H, W) mask of patch ``i`` in its image."""
        i = int(i)
        return self.segmentations[self.resolutions[i], self.owners[i]] == self.segments[i]

    def take(self, indices: Any = None) -> np.ndarray:
        """Pictures of the patches ``indices`` (default: all), uint8 (len, h, w, 3)."""
        from PIL import Image

        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=int)
        idx = idx.reshape(-1)
        out = np.empty((idx.size, *self.size, 3), dtype=np.uint8)
        fill = np.uint8(round(255 * float(self.grey)))
        height, width = self.size
        for k, i in enumerate(idx):
            top, left, bottom, right = (int(v) for v in self.boxes[i])
            mask = self.mask(i)[top:bottom, left:right, None]
            crop = np.where(mask, self.source[self.owners[i], top:bottom, left:right], fill)
            picture = Image.fromarray(np.ascontiguousarray(crop))
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.BICUBIC)
            out[k] = np.asarray(picture)
        return out

    @property
    def images(self) -> np.ndarray:
        """All patch pictures, uint8 (P, h, w, 3) (cut now; see :meth:`take`)."""
        return self.take()

    def mean_of(self, maps: Any) -> np.ndarray:
        """The mean of per-pixel maps of the probing images over every patch.

        Parameters
        ----------
        maps : array_like, shape (N, H, W) or (N, H, W, C)
            A value per pixel of every probing image (e.g. brightness, or a
            toy world's mask of the animal).

        Returns
        -------
        ndarray, shape (P,) or (P, C)
            The mean of each patch's pixels (e.g. per-patch property values
            for :func:`name_by_properties`).
        """
        values = np.asarray(maps, dtype=np.float64)
        n, h, w = self.segmentations.shape[1:]
        if values.shape[:3] != (n, h, w) or values.ndim not in (3, 4):
            raise ValueError(
                f"maps must have shape (N, H, W) or (N, H, W, C) = ({n}, {h}, {w}, ...), "
                f"got {values.shape}"
            )
        extra = values.shape[3:]
        flat = values.reshape(n, h * w, -1)
        out = np.zeros((len(self), flat.shape[-1]))
        for r in range(self.segmentations.shape[0]):
            for image in range(n):
                pick = np.flatnonzero((self.owners == image) & (self.resolutions == r))
                if pick.size == 0:
                    continue
                labels = self.segmentations[r, image].ravel()
                counts = np.bincount(labels)
                for c in range(flat.shape[-1]):
                    sums = np.bincount(labels, weights=flat[image, :, c], minlength=counts.size)
                    out[pick, c] = sums[self.segments[pick]] / counts[self.segments[pick]]
        return out.reshape((len(self), *extra))


def _segment_all(images: np.ndarray, n_segments: Sequence[int], compactness: float) -> np.ndarray:
    """SLIC segmentations (R, N, H, W) through :func:`slic_superpixels` (chunked)."""
    from propgrad.baselines.superpixels import slic_superpixels
    from propgrad.models.preprocess import Preprocess

    n, h, w = images.shape[:3]
    pre = Preprocess((h, w))  # same size: no resampling, only [-1, 1] scaling (undone by SLIC)
    dtype = np.int16 if max(n_segments) < 2**14 else np.int32
    out = np.empty((len(n_segments), n, h, w), dtype=dtype)
    for start in range(0, n, 32):
        chunk = pre.batch(images[start : start + 32])
        for r, k in enumerate(n_segments):
            out[r, start : start + 32] = slic_superpixels(
                chunk, pre, n_segments=int(k), compactness=float(compactness)
            )
    return out


def concept_patches(
    images: Any,
    *,
    n_segments: int | Sequence[int] = ACE_SEGMENTS,
    compactness: float = ACE_COMPACTNESS,
    size: int | tuple[int, int] | None = None,
    min_area: float = 0.01,
    max_overlap: float = 0.5,
    grey: float = 0.5,
) -> Patches:
    """Cut probing images into ACE patches: superpixels at several SLIC resolutions.

    Parameters
    ----------
    images : array_like or sequence of PIL images
        The probing images, uint8 (N, H, W, 3) (or floats in [0, 1]), all of
        one size.
    n_segments : int or sequence of int, optional
        SLIC segment counts, one segmentation per entry (ACE's 15, 50 and 80).
    compactness : float, optional
        SLIC compactness (ACE's 20). SLIC runs through
        :func:`~propgrad.baselines.superpixels.slic_superpixels` and sees the
        pictures in [0, 1] (it converts them to Lab). SLIC is deterministic:
        no seed is needed.
    size : int or (int, int), optional
        Size of the patch pictures (default: the images' own size;
        :func:`discover_concepts` uses the model's input size).
    min_area : float, optional
        Superpixels covering less than this fraction of the image are dropped
        (ACE drops those under 0.1% of its 299 px images, about 90 pixels; 1%
        is about 40 pixels at 64 px).
    max_overlap : float, optional
        A superpixel of a finer resolution whose Jaccard overlap with a kept
        superpixel of a coarser one exceeds this is a duplicate and dropped
        (ACE's 0.5).
    grey : float, optional
        Grey level in [0, 1] around the superpixel in a patch picture (ACE
        uses its dataset's mean value, 117/255).

    Returns
    -------
    Patches

    Raises
    ------
    ValueError
        For malformed images or settings, or when no superpixel is large
        enough.
    """
    from scipy import ndimage

    source = _as_images(images)
    segs = (int(n_segments),) if np.isscalar(n_segments) else tuple(int(k) for k in n_segments)
    if not segs or min(segs) < 1:
        raise ValueError(f"n_segments must be positive, got {n_segments!r}")
    if not 0.0 <= float(min_area) < 1.0:
        raise ValueError(f"min_area is a fraction of the image in [0, 1), got {min_area}")
    if not 0.0 <= float(grey) <= 1.0:
        raise ValueError(f"grey must lie in [0, 1], got {grey}")
    n, h, w = source.shape[:3]
    if size is None:
        size = (h, w)
    size = (int(size), int(size)) if np.isscalar(size) else tuple(int(v) for v in size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    segmentations = _segment_all(source, segs, compactness)
    min_pixels = max(1, math.ceil(float(min_area) * h * w))
    owners, resolutions, segments, boxes = [], [], [], []
    for image in range(n):
        kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (labels, counts, kept ids)
        for r in range(len(segs)):
            labels = segmentations[r, image].astype(np.int64)
            counts = np.bincount(labels.ravel())
            ok = counts >= min_pixels
            for prev_labels, prev_counts, prev_ids in kept:
                if prev_ids.size == 0 or not ok.any():
                    continue
                pairs = prev_labels.ravel() * counts.size + labels.ravel()
                inter = np.bincount(pairs, minlength=prev_counts.size * counts.size)
                inter = inter.reshape(prev_counts.size, counts.size)[prev_ids]
                union = prev_counts[prev_ids, None] + counts[None, :] - inter
                ok &= ~(inter / union > max_overlap).any(axis=0)
            ids = np.flatnonzero(ok)
            kept.append((labels, counts, ids))
            slices = ndimage.find_objects(labels + 1)
            for s in ids:
                rows, cols = slices[s]
                owners.append(image)
                resolutions.append(r)
                segments.append(s)
                boxes.append((rows.start, cols.start, rows.stop, cols.stop))
    if not owners:
        raise ValueError(
            f"no superpixel covers at least {min_area:.1%} of an image; lower min_area or "
            "n_segments"
        )
    return Patches(
        source=source,
        segmentations=segmentations,
        owners=np.asarray(owners, dtype=np.int64),
        resolutions=np.asarray(resolutions, dtype=np.int64),
        segments=np.asarray(segments, dtype=np.int64),
        boxes=np.asarray(boxes, dtype=np.int64),
        size=size,
        grey=float(grey),
    )


# ---------------------------------------------------------------------------
# layers and activations
# ---------------------------------------------------------------------------


class _Layer(NamedTuple):
    net: Any  # the module that is run (the model, or a GradCamView of it)
    module: Any  # the hooked submodule of net
    name: str  # its name in net (captum finds layers by name)
    use_input: bool  # True: the module's input (the head's features), else its output
    description: str


def _find_head(model: Any) -> Any:
    """The classifier head: timm's ``get_classifier()``, else the last ``Linear``."""
    import torch

    head = model.get_classifier() if hasattr(model, "get_classifier") else None
    if not isinstance(head, torch.nn.Module) or not list(head.parameters()):
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ValueError(
                f"cannot find the classifier head of {type(model).__name__} (no torch.nn.Linear); "
                "pass layer=..."
            )
        head = linears[-1]
    return head


def _module_name(net: Any, module: Any) -> str | None:
    return next((name for name, m in net.named_modules() if m is module), None)


def _resolve_layer(classifier: Any, layer: Any) -> _Layer:
    from torch import nn

    net = classifier.model
    if layer is None:
        head = _find_head(net)
        name = _module_name(net, head)
        return _Layer(
            net,
            head,
            name,
            True,
            f"the features the classifier head {name!r} reads (the last feature map, "
            "globally pooled)",
        )
    if hasattr(layer, "family") and hasattr(layer, "layer") and hasattr(layer, "model"):
        net, module = layer.model, layer.layer  # a GradCamLayer
    elif isinstance(layer, str):
        names = [n for n, _ in net.named_modules() if n]
        if layer not in names:
            close = difflib.get_close_matches(layer, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"unknown layer {layer!r} in {type(net).__name__}{hint}")
        module = net.get_submodule(layer)
    elif isinstance(layer, nn.Module):
        module = layer
    else:
        raise ValueError(
            "layer must be None, a submodule name, a torch.nn.Module of the model or a "
            f"gradcam_layer(...) result, got {type(layer).__name__}"
        )
    name = _module_name(net, module)
    if not name:
        raise ValueError(
            f"layer {type(module).__name__} is not a submodule of the classifier's model"
        )
    return _Layer(
        net, module, name, False, f"the output of {name!r} ({type(module).__name__}), pooled"
    )


def _pool(output: Any, name: str) -> Any:
    if isinstance(output, (tuple, list)):
        output = output[0]
    if output.ndim == 4:
        return output.mean(dim=(2, 3))
    if output.ndim == 2:
        return output
    raise ValueError(
        f"layer {name!r} gives outputs of shape {tuple(output.shape)}; concepts need a map "
        "(B, D, h, w) or a vector (B, D) (for a transformer use gradcam_layer(model))"
    )


def _device(net: Any) -> Any:
    import torch

    param = next(net.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _n_items(images: Any) -> int:
    return len(images) if isinstance(images, Patches) else int(images.shape[0])


def _take(images: Any, idx: np.ndarray) -> np.ndarray:
    return images.take(idx) if isinstance(images, Patches) else images[idx]


def _warn_if_training(net: Any) -> None:
    if getattr(net, "training", False):
        warnings.warn(
            "model is in training mode; concepts are normally computed in eval mode "
            "(call classifier.eval())",
            UserWarning,
            stacklevel=3,
        )


def _collect(
    classifier: Any,
    images: Any,
    spec: _Layer,
    *,
    batch_size: int = 64,
    logits: bool = False,
    head_input: bool = False,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Pooled activations (and optionally logits and the head's input) of pictures or patches."""
    import torch

    if not isinstance(images, Patches):
        images = _as_images(images)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    pre = classifier.preprocess
    device = _device(spec.net)
    store: dict[str, list[Any]] = {"acts": [], "logits": [], "head": []}
    captured: dict[str, Any] = {}

    def grab(module: Any, args: tuple, output: Any = None) -> None:
        value = args[0] if spec.use_input else output
        captured["acts"] = _pool(value, spec.name)

    def grab_head(module: Any, args: tuple) -> None:
        captured["head"] = _pool(args[0], "head")

    if spec.use_input:
        handles = [spec.module.register_forward_pre_hook(grab)]
    else:
        handles = [spec.module.register_forward_hook(grab)]
    if head_input:
        handles.append(_find_head(classifier.model).register_forward_pre_hook(grab_head))
    n = _n_items(images)
    starts: Any = range(0, n, int(batch_size))
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="activations", unit="batch", disable=None)
    try:
        with torch.no_grad():
            for start in starts:
                idx = np.arange(start, min(n, start + int(batch_size)))
                x = pre.batch(_take(images, idx)).to(device)
                out = spec.net(x)
                store["acts"].append(captured.pop("acts").float().cpu().numpy())
                if logits:
                    store["logits"].append(out.float().cpu().numpy())
                if head_input:
                    store["head"].append(captured.pop("head").float().cpu().numpy())
    finally:
        for handle in handles:
            handle.remove()
    return {k: np.concatenate(v) for k, v in store.items() if v}


def layer_activations(
    classifier: Any,
    images: Any,
    layer: Any = None,
    *,
    batch_size: int = 64,
    progress: bool = False,
) -> np.ndarray:
    """Spatially mean-pooled activations of one layer for a batch of pictures.

    Parameters
    ----------
    classifier : Classifier
        The model and its preprocessing (the pictures go through
        ``classifier.preprocess`` first).
    images : array_like, sequence of PIL images, or Patches
        Pictures, uint8 (N, H, W, 3) (or floats in [0, 1]), or ACE patches
        from :func:`concept_patches`.
    layer : None, str, torch.nn.Module or GradCamLayer, optional
        ``None`` (default): the features the classifier head reads (its
        input; the last feature map, globally pooled). A name or a module of
        ``classifier.model``: its output, averaged over the spatial positions
        when it is a map (B, D, h, w). A
        :func:`~propgrad.baselines.layers.gradcam_layer` result: its map
        (e.g. ``gradcam_layer(classifier)``, the last convolution).
    batch_size : int, optional
        Pictures per forward pass.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    ndarray of float32, shape (N, D)

    Raises
    ------
    ValueError
        For an unknown layer, a layer whose output is neither (B, D, h, w) nor
        (B, D), or malformed pictures.
    """
    spec = _resolve_layer(classifier, layer)
    _warn_if_training(spec.net)
    return _collect(classifier, images, spec, batch_size=batch_size, progress=progress)["acts"]


# ---------------------------------------------------------------------------
# CAVs through captum
# ---------------------------------------------------------------------------


class PooledCAVClassifier:
    """The CAV classifier handed to captum: logistic regression on pooled activations.

    It implements the interface of captum's concept ``Classifier``
    (``train_and_eval``, ``weights``, ``classes``), which is all that captum's
    :class:`~captum.concept.TCAV` calls. captum records a layer's activations
    flattened to (B, D * h * w); this classifier averages them over the h * w
    positions, standardises them, and fits a logistic regression
    (scikit-learn, L2 with strength ``1 / C``, classes weighted to balance:
    a concept has far fewer examples than the random set) on a seeded,
    stratified training split. The CAV is the unit normal of the decision
    boundary mapped back to the raw pooled activations; captum gets it
    repeated at every position (one row towards each concept), so its
    directional derivatives move the activation at every position along the
    CAV. ``"accs"`` in the returned statistics is the *balanced* held-out
    accuracy (mean recall of the two concepts; 0.5 is chance).

    Parameters
    ----------
    n_channels : int
        D, the channels of the layer.
    seed : int, optional
        Seed of the train/test split.
    test_split : float, optional
        Fraction held out for the accuracy (captum's default 0.33).
    C : float, optional
        Inverse L2 regularisation strength of the logistic regression.
    """

    def __init__(
        self, n_channels: int, seed: int = 0, test_split: float = 0.33, C: float = 1.0
    ) -> None:
        self.n_channels = int(n_channels)
        self.seed = int(seed)
        self.test_split = float(test_split)
        self.C = float(C)
        self._weights: np.ndarray | None = None
        self._classes: list[int] = []

    def pool(self, x: np.ndarray) -> np.ndarray:
        """Average flattened (B, D * h * w) activations over the positions: (B, D)."""
        n, f = x.shape
        if f % self.n_channels:
            raise ValueError(f"{f} activation features are not a multiple of {self.n_channels}")
        return x.reshape(n, self.n_channels, f // self.n_channels).mean(axis=2)

    def train_and_eval(self, dataloader: Any, **kwargs: Any) -> dict[str, Any]:
        """Fit the logistic regression on the pooled activations; return its held-out accuracy."""
        import torch
        from sklearn.linear_model import LogisticRegression

        xs, ys = [], []
        for x, y in dataloader:
            xs.append(x.detach().double().cpu().numpy())
            ys.append(y.detach().cpu().numpy())
        x = np.concatenate(xs)
        y = np.concatenate(ys).astype(int)
        hw = x.shape[1] // self.n_channels
        pooled = self.pool(x)
        classes = np.unique(y)
        if classes.size != 2:
            raise ValueError(f"a CAV separates two concepts, got {classes.size} classes")
        rng = np.random.default_rng(self.seed)
        test = np.zeros(y.size, dtype=bool)
        for c in classes:  # stratified: the same share of each class is held out
            members = np.flatnonzero(y == c)
            n_test = min(int(self.test_split * members.size), members.size - 1)
            test[rng.choice(members, n_test, replace=False)] = True
        train = pooled[~test]
        centre, scale = train.mean(axis=0), train.std(axis=0)
        scale[scale < 1e-12] = 1.0  # a constant feature gets no weight anyway
        model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000)
        model.fit((train - centre) / scale, y[~test])
        if test.any():
            predicted = model.predict((pooled[test] - centre) / scale)
            recalls = [
                np.mean(predicted[y[test] == c] == c) for c in classes if np.any(y[test] == c)
            ]
            acc = float(np.mean(recalls))
        else:
            acc = float("nan")
        w = model.coef_[0] / scale  # the boundary's normal in the raw (pooled) activations
        w = w / (np.linalg.norm(w) or 1.0)
        tiled = np.repeat(w, hw)  # flattened (D, h, w) order: channel-major
        self._weights = np.stack([-tiled, tiled])  # towards classes[0], towards classes[1]
        self._classes = [int(c) for c in model.classes_]
        return {"accs": torch.tensor(acc)}

    def weights(self) -> Any:
        """The CAVs towards each class, (2, D * h * w), as captum expects."""
        import torch

        if self._weights is None:
            raise ValueError("train_and_eval must run first")
        return torch.from_numpy(self._weights.astype(np.float32))

    def classes(self) -> list[int]:
        """The concept ids, in the order of the rows of :meth:`weights`."""
        return list(self._classes)


class _Batches:
    """A map-style dataset whose items are whole preprocessed batches (for captum's loaders)."""

    def __init__(self, images: Any, indices: np.ndarray, pre: Any, device: Any) -> None:
        self.images, self.indices, self.pre, self.device = images, indices, pre, device

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, batch: Any) -> Any:
        return self.pre.batch(_take(self.images, self.indices[np.asarray(batch)])).to(self.device)


def _loader(images: Any, indices: Any, pre: Any, device: Any, batch_size: int) -> Any:
    from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

    data = _Batches(images, np.asarray(indices, dtype=int), pre, device)
    sampler = BatchSampler(SequentialSampler(range(len(data))), int(batch_size), drop_last=False)
    return DataLoader(data, sampler=sampler, batch_size=None)


_CAPTUM_NOISE = (
    r".*np\.core.*",
    r".*numpy\.core.*",
    r"Input Tensor \d+ did not already require gradients",
)


@contextlib.contextmanager
def _quiet_captum() -> Iterator[None]:
    """Hide captum's notes (input gradients) and numpy's np.core deprecation from CAV loading."""
    with warnings.catch_warnings():
        for pattern in _CAPTUM_NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        yield


class _CaptumSession:
    """One captum TCAV object over a temporary ``save_path`` (removed on exit)."""

    def __init__(self, spec: _Layer, n_channels: int, seed: int) -> None:
        self.spec, self.n_channels, self.seed = spec, n_channels, seed

    def __enter__(self) -> _CaptumSession:
        from captum.concept import TCAV

        self._tmp = tempfile.TemporaryDirectory(prefix="propgrad-cav-")
        self.tcav = TCAV(
            self.spec.net,
            layers=[self.spec.name],
            model_id="propgrad",
            classifier=PooledCAVClassifier(self.n_channels, seed=self.seed),
            attribute_to_layer_input=self.spec.use_input,
            save_path=self._tmp.name,
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tmp.cleanup()

    def cavs(self, experimental_sets: list[list[Any]]) -> list[tuple[np.ndarray, float]]:
        """(pooled unit CAV towards the first concept, held-out accuracy) per set."""
        from captum.concept._utils.common import concepts_to_str

        # force_train: captum's load_cavs checks for stored activations with the layer
        # and concept arguments of AV.exists swapped (captum 0.9), never finds them
        # and recomputes shared concepts (the random one) for every set; with
        # force_train every concept's activations are computed exactly once (the
        # save_path is fresh, so there is nothing stored to reuse anyway).
        with _quiet_captum():
            stored = self.tcav.compute_cavs(experimental_sets, force_train=True)
        out = []
        for concepts in experimental_sets:
            stats = stored[concepts_to_str(concepts)][self.spec.name].stats
            classes = [int(c) for c in stats["classes"]]
            row = np.asarray(stats["weights"], dtype=np.float64)[classes.index(concepts[0].id)]
            pooled = row.reshape(self.n_channels, -1).mean(axis=1)
            pooled /= np.linalg.norm(pooled) or 1.0
            out.append((pooled, float(stats.get("accs", float("nan")))))
        return out


# ---------------------------------------------------------------------------
# completeness and Shapley values
# ---------------------------------------------------------------------------


def _as_head(head: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(head, "weight") and hasattr(head, "bias"):  # torch.nn.Linear
        w = head.weight.detach().double().cpu().numpy()
        b = head.bias.detach().double().cpu().numpy() if head.bias is not None else None
    elif isinstance(head, tuple) and len(head) == 2:
        w, b = np.asarray(head[0], dtype=np.float64), head[1]
        b = None if b is None else np.asarray(b, dtype=np.float64)
    else:
        w, b = np.asarray(head, dtype=np.float64), None
    if w.ndim != 2:
        raise ValueError(f"head weights must be a (C, D) matrix, got shape {w.shape}")
    b = np.zeros(w.shape[0]) if b is None else b.reshape(-1)
    if b.shape != (w.shape[0],):
        raise ValueError(f"head bias must have {w.shape[0]} entries, got {b.shape}")
    return w, b


class _Completeness:
    """Completeness of subsets of CAVs, with the data prepared once."""

    def __init__(
        self,
        activations: Any,
        cavs: Any,
        head: Any,
        *,
        labels: Any = None,
        target: int | None = None,
        mean: Any = None,
    ) -> None:
        a = np.asarray(activations, dtype=np.float64)
        v = np.asarray(cavs, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] < 2:
            raise ValueError(f"activations must be (N >= 2, D), got shape {a.shape}")
        if v.ndim != 2 or v.shape[1] != a.shape[1]:
            raise ValueError(f"cavs must be (K, {a.shape[1]}), got shape {v.shape}")
        self.w, self.b = _as_head(head)
        if self.w.shape[1] != a.shape[1]:
            raise ValueError(
                f"head reads {self.w.shape[1]} features, activations have {a.shape[1]}"
            )
        self.mu = a.mean(axis=0) if mean is None else np.asarray(mean, dtype=np.float64)
        self.x = a - self.mu
        self.v = v
        full = a @ self.w.T + self.b
        self.target = None if target is None else int(target)
        if self.target is not None:
            if not 0 <= self.target < self.w.shape[0]:
                raise ValueError(f"target {target} is not one of the {self.w.shape[0]} outputs")
            self.z_full = full[:, self.target]
            self.denominator = float(np.sum((self.z_full - self.z_full.mean()) ** 2))
            if self.denominator <= 0:
                raise ValueError("the target logit is constant on these activations")
        else:
            y = full.argmax(axis=1) if labels is None else np.asarray(labels).reshape(-1)
            if y.shape[0] != a.shape[0]:
                raise ValueError(f"{y.shape[0]} labels for {a.shape[0]} activations")
            self.labels = y.astype(int)
            self.chance = float(np.bincount(self.labels).max() / self.labels.size)
            self.acc_full = float(np.mean(full.argmax(axis=1) == self.labels))
            if self.acc_full - self.chance <= 1e-12:
                raise ValueError(
                    f"the head's accuracy on these activations ({self.acc_full:.3f}) is no better "
                    f"than guessing the most frequent label ({self.chance:.3f}): completeness is "
                    "undefined; pass other labels or target=<class> for the logit completeness"
                )

    def logits(self, subset: Sequence[int]) -> np.ndarray:
        subset = list(subset)
        if subset:
            _, s, vt = np.linalg.svd(self.v[subset], full_matrices=False)
            basis = vt[s > s[0] * 1e-10] if s[0] > 0 else vt[:0]
            projected = self.mu + (self.x @ basis.T) @ basis
        else:
            projected = np.broadcast_to(self.mu, self.x.shape)
        return projected @ self.w.T + self.b

    def __call__(self, subset: Sequence[int]) -> float:
        if len(subset) == 0:
            return 0.0
        z = self.logits(subset)
        if self.target is not None:
            residual = float(np.sum((z[:, self.target] - self.z_full) ** 2))
            return 1.0 - residual / self.denominator
        acc = float(np.mean(z.argmax(axis=1) == self.labels))
        return (acc - self.chance) / (self.acc_full - self.chance)


def concept_completeness(
    activations: Any,
    cavs: Any,
    head: Any,
    subset: Sequence[int] | None = None,
    *,
    labels: Any = None,
    target: int | None = None,
    mean: Any = None,
) -> float:
    """The completeness of a set of CAVs (ConceptSHAP's eta, Yeh et al. 2020).

    The probing images' activations ``a`` (the features a linear ``head``
    reads) are reduced to the concepts: centred at their mean ``mu``,
    projected orthogonally onto the span of the CAVs in ``subset``, and
    shifted back, ``a_S = mu + P_S (a - mu)``; the head maps them to logits.
    Centring keeps the average image out of the concepts' credit: CAVs are
    directions (concept versus random patches), and with no concept at all
    every image becomes the average one.

    * ``target=None`` (all classes, Yeh et al.): with ``acc(S)`` the accuracy
      of ``argmax head(a_S)`` on ``labels``,
      ``eta(S) = (acc(S) - a_r) / (acc(all features) - a_r)``, where ``a_r``
      is the accuracy of always guessing the most frequent label (0.5 for a
      balanced binary task).
    * ``target=c`` (one class, e.g. the cat logit): the share of the
      variance of the class-``c`` logit over the probing images that the
      concepts reproduce, ``eta_c(S) = 1 - sum (z_c(a_S) - z_c(a))**2 /
      sum (z_c(a) - mean z_c)**2`` (an R^2; negative when the projection is
      worse than the constant mean logit).

    Both are 1 when the CAVs span everything the head reads and
    ``eta(empty set) = 0`` by definition (for ``target=c`` this is also what
    the formula gives: the projection of nothing is the mean image).

    Parameters
    ----------
    activations : array_like, shape (N, D)
        Features of the probing images (what ``head`` reads).
    cavs : array_like, shape (K, D)
        Concept activation vectors.
    head : torch.nn.Linear, (W, b) or W
        The linear map from features to logits, ``W`` (C, D), ``b`` (C,).
    subset : sequence of int, optional
        Indices of the CAVs in the set (default: all).
    labels : array_like of int, shape (N,), optional
        Labels for the accuracy (default: the head's own predictions on the
        full features, i.e. completeness as fidelity to the model).
    target : int, optional
        Class whose logit is explained (per-class completeness).
    mean : array_like, shape (D,), optional
        The centre ``mu`` (default: the mean of ``activations``).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For mismatched shapes, a constant target logit, or (``target=None``)
        a head no better than the most-frequent-label guess.
    """
    scorer = _Completeness(activations, cavs, head, labels=labels, target=target, mean=mean)
    chosen = range(scorer.v.shape[0]) if subset is None else [int(i) for i in subset]
    return float(scorer(tuple(chosen)))


def shapley_values(
    value: Callable[[tuple[int, ...]], float],
    n: int,
    *,
    exact_limit: int = EXACT_SHAPLEY_LIMIT,
    n_permutations: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """Shapley values of the ``n`` players of a cooperative game.

    Parameters
    ----------
    value : callable
        ``value(subset)`` for a sorted tuple of player indices (``()`` is the
        empty coalition). Each subset is evaluated once.
    n : int
        Number of players.
    exact_limit : int, optional
        Up to this many players the values are exact (all 2**n subsets);
        above, they are estimated from ``n_permutations`` random orderings.
    n_permutations : int, optional
        Orderings for the estimate (each costs up to n evaluations).
    seed : int, optional
        Seed of the orderings.

    Returns
    -------
    ndarray, shape (n,)
        Exact values, or the mean marginal contributions over the orderings;
        both sum to ``value(all) - value(())`` (efficiency holds for every
        ordering).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"need at least one player, got {n}")
    cache: dict[tuple[int, ...], float] = {}

    def v(subset: tuple[int, ...]) -> float:
        if subset not in cache:
            cache[subset] = float(value(subset))
        return cache[subset]

    phi = np.zeros(n)
    if n <= int(exact_limit):
        weights = [
            math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)
        ]
        for mask in range(1 << n):
            subset = tuple(i for i in range(n) if mask >> i & 1)
            base = v(subset)
            for i in range(n):
                if not mask >> i & 1:
                    with_i = tuple(sorted((*subset, i)))
                    phi[i] += weights[len(subset)] * (v(with_i) - base)
        return phi
    if int(n_permutations) < 1:
        raise ValueError(f"n_permutations must be positive, got {n_permutations}")
    rng = np.random.default_rng(seed)
    for _ in range(int(n_permutations)):
        order = rng.permutation(n)
        members: list[int] = []
        previous = v(())
        for i in order:
            members.append(int(i))
            current = v(tuple(sorted(members)))
            phi[i] += current - previous
            previous = current
    return phi / int(n_permutations)


class ConceptShap(NamedTuple):
    """Shapley values of concepts for completeness, and the completeness of all of them."""

    values: np.ndarray
    completeness: float


def concept_shap(
    activations: Any,
    cavs: Any,
    head: Any,
    *,
    labels: Any = None,
    target: int | None = None,
    mean: Any = None,
    exact_limit: int = EXACT_SHAPLEY_LIMIT,
    n_permutations: int = 200,
    seed: int = 0,
) -> ConceptShap:
    """ConceptSHAP: the Shapley value of every CAV for :func:`concept_completeness`.

    Parameters
    ----------
    activations, cavs, head, labels, target, mean
        As for :func:`concept_completeness`.
    exact_limit, n_permutations, seed
        As for :func:`shapley_values` (exact up to 12 concepts).

    Returns
    -------
    ConceptShap
        ``values`` (K,), summing to ``completeness``, the completeness of
        all K CAVs.
    """
    scorer = _Completeness(activations, cavs, head, labels=labels, target=target, mean=mean)
    k = scorer.v.shape[0]
    values = shapley_values(
        scorer, k, exact_limit=exact_limit, n_permutations=n_permutations, seed=seed
    )
    return ConceptShap(values, float(scorer(tuple(range(k)))))


def merge_duplicate_cavs(
    cavs: Any, priority: Any = None, *, threshold: float = DUPLICATE_COSINE
) -> tuple[np.ndarray, dict[int, int]]:
    """Find CAVs that duplicate another one (cosine similarity above ``threshold``).

    CAVs are visited by decreasing ``priority`` (ties: lower index first);
    one is kept unless its cosine similarity with an already kept CAV
    exceeds ``threshold``, in which case it is merged into the most similar
    kept one.

    Parameters
    ----------
    cavs : array_like, shape (K, D)
        The CAVs.
    priority : array_like, shape (K,), optional
        Which duplicate survives (default: the lower index;
        :func:`discover_concepts` uses the cluster sizes).
    threshold : float, optional
        Cosine similarity above which two CAVs are duplicates (0.95).

    Returns
    -------
    kept : ndarray of int
        Indices of the surviving CAVs, in increasing order.
    merged : dict
        Index of each dropped CAV -> index of the kept CAV it joins.
    """
    v = np.asarray(cavs, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"cavs must be (K, D), got shape {v.shape}")
    unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
    k = v.shape[0]
    prio = np.zeros(k) if priority is None else np.asarray(priority, dtype=np.float64)
    if prio.shape != (k,):
        raise ValueError(f"priority must have {k} entries, got shape {prio.shape}")
    order = sorted(range(k), key=lambda i: (-prio[i], i))
    kept: list[int] = []
    merged: dict[int, int] = {}
    for i in order:
        if kept:
            sims = unit[kept] @ unit[i]
            best = int(np.argmax(sims))
            if sims[best] > threshold:
                merged[i] = kept[best]
                continue
        kept.append(i)
    return np.asarray(sorted(kept), dtype=int), merged


# ---------------------------------------------------------------------------
# discovery
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class ConceptDiscovery:
    """Concepts discovered in one model, with their ConceptSHAP importance.

    Concepts are indexed 0..K-1 in the order of their k-means clusters;
    :attr:`order` ranks them by decreasing Shapley value.

    Attributes
    ----------
    patches : Patches
        The ACE patches of the probing images.
    activations : ndarray, shape (P, D)
        Pooled activations of the patches at :attr:`layer`.
    image_activations : ndarray, shape (N, D)
        Those of the probing images (the data of the completeness).
    labels : ndarray of int, shape (N,)
        Labels the accuracy completeness used (the model's predictions unless
        given).
    cavs : ndarray, shape (K, D)
        Unit CAVs, trained with captum (concept patches versus random ones).
    cav_accuracy : ndarray, shape (K,)
        Balanced held-out accuracy of each CAV's linear classifier (0.5 is
        chance).
    members : list of ndarray
        Patch indices of each concept (its cluster, plus merged duplicates).
    shap : ndarray, shape (K,)
        Shapley values of the concepts for the completeness (:attr:`target`).
    completeness : float
        Completeness of all K concepts (the sum of :attr:`shap`).
    closest : ndarray of int, shape (K, n_closest)
        For each concept the patches with the highest cosine similarity
        between their centred activation and its CAV, best first.
    head : (ndarray, ndarray)
        ``(W, b)``: the linear map from the layer's features to logits used
        for the completeness.
    exact_head : bool
        True when ``head`` is the model's own head (exact completeness);
        False for a fitted linear probe of the logits.
    layer : str
        Which activations, in words.
    target : int or None
        Class of the per-class completeness, ``None`` for the accuracy over
        all classes.
    clusters : ndarray of int, shape (P,)
        k-means cluster of every patch.
    concept_clusters : ndarray of int, shape (K,)
        The cluster each concept came from.
    merged : dict
        Cluster of each dropped duplicate -> cluster it was merged into.
    class_names : tuple of str or None
        The classifier's output names.
    """

    patches: Patches
    activations: np.ndarray
    image_activations: np.ndarray
    labels: np.ndarray
    cavs: np.ndarray
    cav_accuracy: np.ndarray
    members: list[np.ndarray]
    shap: np.ndarray
    completeness: float
    closest: np.ndarray
    head: tuple[np.ndarray, np.ndarray]
    exact_head: bool
    layer: str
    target: int | None
    clusters: np.ndarray
    concept_clusters: np.ndarray
    merged: dict[int, int] = field(default_factory=dict)
    class_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        """The number of concepts."""
        return int(self.cavs.shape[0])

    def __repr__(self) -> str:
        """Counts and the ranking only (the arrays are large)."""
        ranked = ", ".join(f"{k}: {self.shap[k]:.3f}" for k in self.top(5))
        more = ", ..." if len(self) > 5 else ""
        return (
            f"ConceptDiscovery({len(self)} concepts from {len(self.patches)} patches, "
            f"completeness={self.completeness:.3f}, target={self.target}, "
            f"exact_head={self.exact_head}, shap={{{ranked}{more}}})"
        )

    @property
    def order(self) -> np.ndarray:
        """Concept indices by decreasing Shapley value (ties: lower index first)."""
        return np.asarray(sorted(range(len(self)), key=lambda k: (-self.shap[k], k)), dtype=int)

    def top(self, n: int = 3) -> np.ndarray:
        """The ``n`` most important concepts (the paper shows three)."""
        return self.order[: int(n)]

    def scores(self, activations: Any = None) -> np.ndarray:
        """Concept scores: centred activations times the unit CAVs, shape (P, K).

        Parameters
        ----------
        activations : array_like, shape (M, D), optional
            Other pooled activations at the same layer (default: the
            patches').
        """
        a = self.activations if activations is None else np.asarray(activations, dtype=float)
        return (a - self.activations.mean(axis=0)) @ self.cavs.T

    def closest_patches(self, concept: int, n: int = 6) -> np.ndarray:
        """Pictures of a concept's ``n`` closest patches, uint8 (n, h, w, 3)."""
        if not 0 <= int(concept) < len(self):
            raise ValueError(f"concept must be in 0..{len(self) - 1}, got {concept}")
        return self.patches.take(self.closest[int(concept), : int(n)])

    def importance(
        self, target: int | str | None = None, labels: Any = None, **shapley: Any
    ) -> ConceptShap:
        """ConceptSHAP of these concepts for another target (or labels).

        Parameters
        ----------
        target : int, str or None
            Class index or name (per-class completeness), or ``None`` for
            the accuracy completeness.
        labels : array_like, optional
            Labels of the probing images (default: :attr:`labels`).
        **shapley
            ``exact_limit``, ``n_permutations``, ``seed``.
        """
        return concept_shap(
            self.image_activations,
            self.cavs,
            self.head,
            labels=self.labels if labels is None else labels,
            target=_target_index(self.class_names, target, self.head[0].shape[0]),
            **shapley,
        )

    def table(self) -> Any:
        """One row per concept, ranked: SHAP value, patches, images, CAV accuracy."""
        import pandas as pd

        rows = []
        for rank, k in enumerate(self.order, start=1):
            members = self.members[k]
            rows.append(
                {
                    "rank": rank,
                    "concept": int(k),
                    "shap": float(self.shap[k]),
                    "patches": int(members.size),
                    "images": int(np.unique(self.patches.owners[members]).size),
                    "cav_accuracy": float(self.cav_accuracy[k]),
                }
            )
        return pd.DataFrame(rows).set_index("rank")


def _target_index(class_names: Any, target: Any, n_outputs: int) -> int | None:
    if target is None:
        return None
    if isinstance(target, str):
        names = list(class_names or ())
        if target not in names:
            raise ValueError(f"unknown class {target!r}; the classes are {names}")
        return names.index(target)
    index = int(target)
    if not 0 <= index < n_outputs:
        raise ValueError(f"target {target} is not one of the {n_outputs} outputs")
    return index


def _completeness_head(
    spec: _Layer,
    classifier: Any,
    image_acts: np.ndarray,
    head_input: np.ndarray,
    fit_x: np.ndarray,
    fit_z: np.ndarray,
) -> tuple[tuple[np.ndarray, np.ndarray], bool]:
    """The model's head when the features are exactly its input, else a linear probe."""
    from torch import nn

    head = _find_head(classifier.model)
    if isinstance(head, nn.Linear) and spec.net is classifier.model:
        same = spec.use_input and spec.module is head
        if not same and image_acts.shape == head_input.shape:
            scale = max(1.0, float(np.abs(head_input).max()))
            same = bool(np.allclose(image_acts, head_input, rtol=1e-4, atol=1e-5 * scale))
        if same:
            return _as_head(head), True
    warnings.warn(
        f"completeness at {spec.description}: that is not exactly what the model's linear head "
        "reads, so a linear probe of the logits fitted on the pooled activations (ridge, patches "
        "and probing images) stands in for the head",
        UserWarning,
        stacklevel=3,
    )
    x = fit_x.astype(np.float64)
    z = fit_z.astype(np.float64)
    mx, mz = x.mean(axis=0), z.mean(axis=0)
    xc = x - mx
    gram = xc.T @ xc
    ridge = 1e-3 * float(np.trace(gram)) / gram.shape[0] + 1e-12
    w = np.linalg.solve(gram + ridge * np.eye(gram.shape[0]), xc.T @ (z - mz)).T
    return (w, mz - w @ mx), False


def discover_concepts(
    classifier: Any,
    images: Any,
    labels: Any = None,
    *,
    layer: Any = None,
    target: int | str | None = None,
    n_segments: int | Sequence[int] = ACE_SEGMENTS,
    compactness: float = ACE_COMPACTNESS,
    min_area: float = 0.01,
    n_clusters: int = 25,
    min_cluster: int = 10,
    min_images: int = 2,
    max_examples: int | None = 50,
    n_random: int = 200,
    duplicate_cosine: float = DUPLICATE_COSINE,
    n_closest: int = 20,
    n_permutations: int = 200,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = False,
) -> ConceptDiscovery:
    """ACE-style concept discovery with ConceptSHAP importance (appendix B.5, Figs. 19-21).

    1. The probing images are cut into ACE patches (:func:`concept_patches`,
       at the model's input size).
    2. Every patch's pooled activation at ``layer`` (:func:`layer_activations`)
       is computed, and the patches are clustered with k-means (scikit-learn,
       ``n_clusters``, seeded).
    3. A cluster becomes a concept when it has at least ``min_cluster``
       patches from at least ``min_images`` images; its examples are its
       ``max_examples`` patches closest to the cluster centre (ACE).
    4. Each concept's CAV is trained with captum
       (:meth:`captum.concept.TCAV.compute_cavs`, :class:`PooledCAVClassifier`):
       the concept's examples against ``n_random`` patches drawn at random
       from all patches (one random set shared by all concepts).
    5. CAVs with a cosine similarity above ``duplicate_cosine`` are merged
       (:func:`merge_duplicate_cavs`): the CAV of the larger cluster is kept
       and the other cluster's patches join it. Merging comes before the
       Shapley values, since near-parallel CAVs would split their credit.
    6. Completeness (:func:`concept_completeness`) on the probing images and
       its Shapley values (:func:`concept_shap`; exact up to 12 concepts,
       else ``n_permutations`` seeded orderings).
    7. For every concept its ``n_closest`` patches: the highest cosine
       similarity between centred patch activation and CAV.

    Parameters
    ----------
    classifier : Classifier
        The model and its preprocessing, in eval mode.
    images : array_like, sequence of PIL images, or Patches
        Probing images, uint8 (N, H, W, 3), or the :class:`Patches` of
        :func:`concept_patches` (to cut them once for several models; then
        the SLIC settings here are ignored).
    labels : array_like of int, shape (N,), optional
        Labels of the probing images for the accuracy completeness; default:
        the model's own predictions (completeness as fidelity to the model,
        needed for a probing set from other classes, as the paper's ImageNet
        images are for a cats-versus-dogs model).
    layer : None, str, torch.nn.Module or GradCamLayer, optional
        Where concepts live (see :func:`layer_activations`). Default: the
        features the linear head reads, where the completeness is exact.
    target : int, str or None, optional
        ``None``: completeness of the accuracy over all classes (Yeh et al.).
        A class index or name (e.g. ``"cat"`` or 0): the per-class
        completeness of that logit, as the paper's Figs. 19-21 ("the cat
        class logit").
    n_segments, compactness, min_area
        Patch settings, see :func:`concept_patches`.
    n_clusters : int, optional
        k-means clusters (ACE's 25).
    min_cluster, min_images : int, optional
        The smallest concept: patches, and distinct images they come from.
    max_examples : int or None, optional
        Concept examples for its CAV (ACE's 40-50); ``None``: all members.
    n_random : int, optional
        Random patches the CAVs are trained against.
    duplicate_cosine : float, optional
        Cosine similarity above which CAVs are duplicates (0.95).
    n_closest : int, optional
        Closest patches stored per concept.
    n_permutations : int, optional
        Orderings for the Shapley estimate beyond 12 concepts.
    batch_size : int, optional
        Pictures per forward pass.
    seed : int, optional
        Seed of k-means, the random patches, the CAV train/test splits and
        the Shapley orderings.
    progress : bool, optional
        Show progress bars for the activations.

    Returns
    -------
    ConceptDiscovery

    Raises
    ------
    ValueError
        For labels of the wrong length, an unknown layer, fewer patches than
        clusters, no cluster passing ``min_cluster``/``min_images``, or (with
        ``target=None``) a model no better than the most-frequent-label guess
        on the probing images.
    """
    from sklearn.cluster import KMeans

    pre = classifier.preprocess
    if isinstance(images, Patches):
        patches = images
    else:
        patches = concept_patches(
            images,
            n_segments=n_segments,
            compactness=compactness,
            size=pre.size,
            min_area=min_area,
        )
    source = patches.source
    n = source.shape[0]
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.shape[0] != n:
            raise ValueError(f"{labels.shape[0]} labels for {n} probing images")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise ValueError("labels must be non-negative class indices")
    if int(n_clusters) < 1:
        raise ValueError(f"n_clusters must be positive, got {n_clusters}")
    if len(patches) < int(n_clusters):
        raise ValueError(
            f"{len(patches)} patches are too few for {n_clusters} clusters; use more probing "
            "images, more segments or fewer clusters"
        )
    spec = _resolve_layer(classifier, layer)
    _warn_if_training(spec.net)
    on_images = _collect(
        classifier, source, spec, batch_size=batch_size, logits=True, head_input=True
    )
    target_index = _target_index(classifier.class_names, target, on_images["logits"].shape[1])
    on_patches = _collect(
        classifier, patches, spec, batch_size=batch_size, logits=True, progress=progress
    )
    acts, image_acts = on_patches["acts"], on_images["acts"]
    head, exact = _completeness_head(
        spec,
        classifier,
        image_acts,
        on_images["head"],
        np.concatenate([acts, image_acts]),
        np.concatenate([on_patches["logits"], on_images["logits"]]),
    )
    if labels is None:
        labels = on_images["logits"].argmax(axis=1)

    kmeans = KMeans(n_clusters=int(n_clusters), n_init=10, random_state=int(seed)).fit(acts)
    clusters = kmeans.labels_.astype(int)
    candidates, examples = [], []
    for c in range(int(n_clusters)):
        members = np.flatnonzero(clusters == c)
        if members.size < int(min_cluster):
            continue
        if np.unique(patches.owners[members]).size < int(min_images):
            continue
        dist = np.linalg.norm(acts[members] - kmeans.cluster_centers_[c], axis=1)
        chosen = members[np.argsort(dist, kind="stable")]
        candidates.append(c)
        examples.append(chosen if max_examples is None else chosen[: int(max_examples)])
    if not candidates:
        raise ValueError(
            f"no cluster has {min_cluster} patches from {min_images} images; use more probing "
            "images or lower n_clusters, min_cluster or min_images"
        )
    rng = np.random.default_rng(int(seed))
    random_idx = np.sort(rng.choice(len(patches), min(int(n_random), len(patches)), replace=False))

    from captum.concept import Concept

    device = _device(spec.net)
    concept_objs = [
        Concept(i, f"cluster{c}", _loader(patches, ex, pre, device, batch_size))
        for i, (c, ex) in enumerate(zip(candidates, examples))
    ]
    random_concept = Concept(
        len(candidates), "random", _loader(patches, random_idx, pre, device, batch_size)
    )
    with _CaptumSession(spec, acts.shape[1], int(seed)) as session:
        trained = session.cavs([[c, random_concept] for c in concept_objs])
    all_cavs = np.stack([cav for cav, _ in trained])
    all_acc = np.asarray([acc for _, acc in trained])

    sizes = [int(np.sum(clusters == c)) for c in candidates]
    kept, merged_into = merge_duplicate_cavs(all_cavs, sizes, threshold=duplicate_cosine)
    members = []
    for i in kept:
        joined = [j for j, k in merged_into.items() if k == i]
        ids = [candidates[i], *(candidates[j] for j in joined)]
        members.append(np.flatnonzero(np.isin(clusters, ids)))
    cavs = all_cavs[kept]
    shap = concept_shap(
        image_acts,
        cavs,
        head,
        labels=labels,
        target=target_index,
        n_permutations=n_permutations,
        seed=int(seed),
    )
    centred = acts - acts.mean(axis=0)
    norms = np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    cosine = (centred / norms) @ cavs.T
    count = min(int(n_closest), len(patches))
    closest = np.argsort(-cosine, axis=0, kind="stable")[:count].T
    return ConceptDiscovery(
        patches=patches,
        activations=acts,
        image_activations=image_acts,
        labels=np.asarray(labels, dtype=int),
        cavs=cavs,
        cav_accuracy=all_acc[kept],
        members=members,
        shap=shap.values,
        completeness=shap.completeness,
        closest=closest,
        head=head,
        exact_head=exact,
        layer=spec.description,
        target=target_index,
        clusters=clusters,
        concept_clusters=np.asarray([candidates[i] for i in kept], dtype=int),
        merged={candidates[j]: candidates[k] for j, k in merged_into.items()},
        class_names=classifier.class_names,
    )


# ---------------------------------------------------------------------------
# naming
# ---------------------------------------------------------------------------


class PropertyName(NamedTuple):
    """The known property a concept tracks best, with the Pearson correlation."""

    name: str
    correlation: float


def name_by_properties(
    discovery: ConceptDiscovery, properties: Mapping[str, Any]
) -> list[PropertyName]:
    """Name each concept by the known property its scores track best.

    A concept's score of a patch is its centred activation times the unit CAV
    (:meth:`ConceptDiscovery.scores`); the name is the property whose
    per-patch values correlate with those scores most strongly (largest
    |Pearson r|). Meant for the toy world, where every property is known.

    Parameters
    ----------
    discovery : ConceptDiscovery
        From :func:`discover_concepts`.
    properties : mapping
        Property name -> one value per patch, shape (P,) (per-image values
        ``v`` become per-patch ones as ``v[discovery.patches.owners]``;
        per-pixel maps as ``discovery.patches.mean_of(maps)``).

    Returns
    -------
    list of PropertyName
        One per concept (index order): ``(name, correlation)``, the signed r
        (positive: the concept rises with the property). A constant property
        has r = 0.

    Raises
    ------
    ValueError
        For no properties or values of the wrong length.
    """
    if not properties:
        raise ValueError("properties is empty")
    scores = discovery.scores()
    p = scores.shape[0]
    names = list(properties)
    values = []
    for name in names:
        v = np.asarray(properties[name], dtype=np.float64).reshape(-1)
        if v.shape[0] != p:
            raise ValueError(f"property {name!r} has {v.shape[0]} values for {p} patches")
        values.append(v)
    r = np.zeros((len(names), scores.shape[1]))
    for i, v in enumerate(values):
        r[i] = _pearson(v, scores)
    out = []
    for k in range(scores.shape[1]):
        best = int(np.argmax(np.abs(r[:, k])))
        out.append(PropertyName(names[best], float(r[best, k])))
    return out


def _pearson(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pearson r of x with every column of ys (0 where either is constant)."""
    xc = x - x.mean()
    yc = ys - ys.mean(axis=0)
    denominator = np.sqrt(np.sum(xc**2) * np.sum(yc**2, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc @ yc) / denominator
    return np.where(denominator > 0, r, 0.0)


class ClipName(NamedTuple):
    """A concept's words in CLIP space ([69], Table 8)."""

    central: str
    closest: tuple[str, ...]
    similarities: tuple[float, ...]


def name_by_clip(
    discovery: ConceptDiscovery,
    clip: Any,
    words: Sequence[str],
    *,
    top_k: int = 5,
    n_patches: int = 10,
    templates: Sequence[str] = ("{}",),
    text_features: Any = None,
    batch_size: int = 64,
) -> list[ClipName]:
    """Name each concept by CLIP text probing (Schmalwasser et al. 2024, the paper's [69]).

    The concept's ``n_patches`` closest patches are embedded with the CLIP
    image encoder; their normalised mean is compared with the text
    embeddings of ``words`` by cosine similarity. The *closest words* are the
    ``top_k`` most similar; the *central word* is the medoid of those
    (the one with the highest mean cosine similarity to the other closest
    words' text embeddings). That is our reading of [69]'s "central word of
    the cluster": it is always one of the closest words but not necessarily
    the first, as in the paper's Table 8.

    Parameters
    ----------
    discovery : ConceptDiscovery
        From :func:`discover_concepts`.
    clip : ZeroShotCLIP or ClipModel
        An open_clip model from :func:`propgrad.models.clip.load_clip` (local
        weights) or :func:`~propgrad.models.clip.zero_shot_clip`.
    words : sequence of str
        The vocabulary (the paper: the 20K most common Google words).
    top_k : int, optional
        Closest words per concept (the paper lists five).
    n_patches : int, optional
        Closest patches embedded per concept.
    templates : sequence of str, optional
        Prompt templates for the words (default: each word as it is).
    text_features : array_like, shape (len(words), E), optional
        Precomputed unit text embeddings of ``words`` (e.g. from
        :func:`propgrad.models.clip.text_embeddings`), to embed a large word
        list once for several models.
    batch_size : int, optional
        Patches per forward pass of the image encoder.

    Returns
    -------
    list of ClipName
        One per concept (index order): ``central``, ``closest`` (best first)
        and their cosine ``similarities``.

    Raises
    ------
    ValueError
        For an empty word list, ``top_k`` out of range or text features of
        the wrong shape.
    """
    import torch

    from propgrad.models.clip import text_embeddings

    model = getattr(clip, "clip", clip)  # a ZeroShotCLIP holds its ClipModel
    words = [str(w) for w in words]
    if not words:
        raise ValueError("words is empty")
    top_k = int(top_k)
    if not 1 <= top_k <= len(words):
        raise ValueError(f"top_k must be in 1..{len(words)}, got {top_k}")
    if text_features is None:
        text = text_embeddings(model.model, model.tokenizer, words, templates)
        text = text.detach().double().cpu().numpy()
    else:
        text = np.asarray(
            text_features.detach().cpu() if hasattr(text_features, "detach") else text_features,
            dtype=np.float64,
        )
        if text.ndim != 2 or text.shape[0] != len(words):
            raise ValueError(f"text_features must be ({len(words)}, E), got shape {text.shape}")
        text = text / np.linalg.norm(text, axis=1, keepdims=True)
    device = _device(model.model)
    out = []
    for k in range(len(discovery)):
        pictures = discovery.closest_patches(k, n_patches)
        embeddings = []
        with torch.no_grad():
            for start in range(0, len(pictures), int(batch_size)):
                x = model.preprocess.batch(pictures[start : start + int(batch_size)]).to(device)
                e = model.model.encode_image(x).double()
                embeddings.append(torch.nn.functional.normalize(e, dim=-1).cpu().numpy())
        mean = np.concatenate(embeddings).mean(axis=0)
        mean /= np.linalg.norm(mean) or 1.0
        sims = text @ mean
        best = np.argsort(-sims, kind="stable")[:top_k]
        pair = text[best] @ text[best].T
        centrality = (pair.sum(axis=1) - np.diag(pair)) / max(1, top_k - 1)
        central = int(best[int(np.argmax(centrality))]) if top_k > 1 else int(best[0])
        out.append(
            ClipName(
                words[central],
                tuple(words[i] for i in best),
                tuple(float(sims[i]) for i in best),
            )
        )
    return out


# ---------------------------------------------------------------------------
# TCAV
# ---------------------------------------------------------------------------


def tcav_scores(
    classifier: Any,
    inputs: Any,
    concepts: Mapping[str, Any],
    random_images: Any,
    *,
    target: int | str = 0,
    layer: Any = None,
    n_runs: int = 5,
    n_random: int | None = None,
    batch_size: int = 64,
    seed: int = 0,
    return_runs: bool = False,
) -> dict[str, Any]:
    """TCAV scores of user-given concepts (Kim et al. 2018) with captum.

    For each concept and run, a CAV separates the concept's images from a
    random subset of ``random_images`` (captum's
    :meth:`~captum.concept.TCAV.compute_cavs` with :class:`PooledCAVClassifier`),
    and captum's :meth:`~captum.concept.TCAV.interpret` gives the
    ``sign_count`` score: the fraction of ``inputs`` whose ``target`` logit
    has a positive directional derivative along the CAV (moving the layer's
    activation at every position along it). Scores near 1 mean the concept
    raises the logit for almost every input, near 0 that it lowers it, and
    about 0.5 is what a meaningless direction gives. The score reported is the
    mean over ``n_runs`` runs, each against a different random subset (TCAV
    repeats the comparison with many random sets so that a single lucky
    random set cannot make a concept look significant).

    Parameters
    ----------
    classifier : Classifier
        The model and its preprocessing, in eval mode.
    inputs : array_like or sequence of PIL images
        The pictures whose logit is explained, uint8 (M, H, W, 3) (e.g. test
        images of the target class).
    concepts : mapping
        Concept name -> its example pictures (e.g. ``{"dark fur": ...,
        "bright background": ...}``).
    random_images : array_like or sequence of PIL images
        Counterexamples (random pictures).
    target : int or str, optional
        Output index or class name (0: the cat logit).
    layer : None, str, torch.nn.Module or GradCamLayer, optional
        Default: :func:`~propgrad.baselines.layers.gradcam_layer`, the last
        convolution on a spatial map (a layer whose gradient depends on the
        input, unlike the head's input).
    n_runs : int, optional
        Random subsets (runs) per concept.
    n_random : int, optional
        Random pictures per run (default: as many as the largest concept
        has, at most all random pictures).
    batch_size : int, optional
        Pictures per forward / backward pass.
    seed : int, optional
        Seed of the random subsets and the CAV train/test splits.
    return_runs : bool, optional
        Return each concept's per-run scores (ndarray (n_runs,)) instead of
        their mean.

    Returns
    -------
    dict
        Concept name -> mean sign-count score in [0, 1] (or the per-run
        scores).

    Raises
    ------
    ValueError
        For no concepts, an unknown layer or target, or malformed pictures.
    """
    from captum.concept import Concept
    from captum.concept._utils.common import concepts_to_str

    from propgrad.baselines.layers import gradcam_layer

    if not concepts:
        raise ValueError("concepts is empty")
    if int(n_runs) < 1:
        raise ValueError(f"n_runs must be positive, got {n_runs}")
    pre = classifier.preprocess
    inputs = _as_images(inputs, "inputs")
    randoms = _as_images(random_images, "random_images")
    examples = {str(name): _as_images(imgs, f"concept {name!r}") for name, imgs in concepts.items()}
    spec = _resolve_layer(classifier, gradcam_layer(classifier) if layer is None else layer)
    _warn_if_training(spec.net)
    first = _collect(classifier, inputs[:1], spec, logits=True)
    target_index = _target_index(classifier.class_names, target, first["logits"].shape[1])
    n_channels = first["acts"].shape[1]
    size = max(len(v) for v in examples.values()) if n_random is None else int(n_random)
    size = max(1, min(size, len(randoms)))
    rng = np.random.default_rng(int(seed))
    device = _device(spec.net)
    names = list(examples)
    concept_objs = [
        Concept(
            i,
            f"concept{i}",
            _loader(examples[name], np.arange(len(examples[name])), pre, device, batch_size),
        )
        for i, name in enumerate(names)
    ]
    random_objs = [
        Concept(
            len(names) + r,
            f"random{r}",
            _loader(
                randoms,
                np.sort(rng.choice(len(randoms), size, replace=False)),
                pre,
                device,
                batch_size,
            ),
        )
        for r in range(int(n_runs))
    ]
    sets = [[c, rand] for c in concept_objs for rand in random_objs]
    totals = np.zeros(len(sets))
    with _CaptumSession(spec, n_channels, int(seed)) as session:
        session.cavs(sets)
        for start in range(0, len(inputs), int(batch_size)):
            x = pre.batch(inputs[start : start + int(batch_size)]).to(device)
            with _quiet_captum():
                result = session.tcav.interpret(x, sets, target=target_index)
            for j, concept_set in enumerate(sets):
                score = result[concepts_to_str(concept_set)][spec.name]["sign_count"][0]
                totals[j] += float(score) * x.shape[0]
    per_run = (totals / len(inputs)).reshape(len(names), int(n_runs))
    if return_runs:
        return {name: per_run[i] for i, name in enumerate(names)}
    return {name: float(per_run[i].mean()) for i, name in enumerate(names)}


# ---------------------------------------------------------------------------
# figure
# ---------------------------------------------------------------------------


def _name_of(entry: Any) -> str:
    if isinstance(entry, ClipName):
        return entry.central
    if isinstance(entry, PropertyName):
        return f"{entry.name} (r = {entry.correlation:+.2f})"
    return str(entry)


def plot_concepts(
    discovery: ConceptDiscovery,
    top: int = 3,
    n_patches: int = 6,
    *,
    names: Any = None,
    axes: Any = None,
    size: float = 1.1,
    title: str | None = None,
) -> tuple[Any, Any]:
    """The top CAVs with their closest patches, one row each (the paper's Figs. 19-21).

    Parameters
    ----------
    discovery : ConceptDiscovery
        From :func:`discover_concepts`.
    top : int, optional
        Concepts shown, by decreasing SHAP value (the paper: three).
    n_patches : int, optional
        Closest patches per concept (the paper: six).
    names : sequence or mapping, optional
        A name per concept: a list in concept index order (strings, or the
        results of :func:`name_by_clip` / :func:`name_by_properties`) or a
        mapping concept index -> name.
    axes : ndarray of matplotlib Axes, optional
        A (top, n_patches) grid to draw into.
    size : float, optional
        Inches per patch.
    title : str, optional
        Figure title.

    Returns
    -------
    fig, axes
        ``axes`` has shape (rows, n_patches); each row is labelled on the
        left with its rank, SHAP value and name.
    """
    import matplotlib.pyplot as plt

    ranked = discovery.top(top)
    rows, cols = len(ranked), int(n_patches)
    if rows == 0 or cols < 1:
        raise ValueError("nothing to show: top and n_patches must be positive")
    if axes is None:
        fig, axes = plt.subplots(
            rows, cols, figsize=(size * cols + 1.4, size * rows + 0.3), squeeze=False
        )
    else:
        axes = np.asarray(axes).reshape(rows, -1) if np.size(axes) == rows * cols else None
        if axes is None:
            raise ValueError(f"axes must hold {rows} x {cols} plots")
        fig = axes.flat[0].figure
    for ax in axes.flat:
        ax.set_axis_off()
    for r, k in enumerate(ranked):
        for c, picture in enumerate(discovery.closest_patches(int(k), cols)):
            axes[r, c].imshow(picture)
        label = f"#{r + 1}  SHAP {discovery.shap[k]:.3f}"
        if names is not None:
            entry = names.get(int(k)) if isinstance(names, Mapping) else names[int(k)]
            if entry is not None:
                label += f"\n{_name_of(entry)}"
        axes[r, 0].text(
            -0.08, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=8
        )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, axes
