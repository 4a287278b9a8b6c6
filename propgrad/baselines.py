"""Local attribution baselines and the "will this intervention flip the prediction?" task.

The paper compares its interventional score E[|∇X|] with six local attribution
methods (Table 2, appendix B.4), all taken from captum with its defaults except
where the paper names a setting:

* Guided Grad-CAM with respect to the last convolutional layer;
* Integrated Gradients;
* Occlusion with an average-grey patch of 9x9 pixels and a stride of 4;
* LIME and Kernel SHAP on SLIC superpixels (100 segments, compactness 1);
* DeepLift.

Attributions are taken for one output logit (the cat logit, index 0, in the
Cats-vs-Dogs chapter). A saliency method does not produce a score for "how
much does this property matter", so it is adapted to the task by comparing the
maps of an image before and after the intervention: the score is the mean
squared difference of the two maps (:func:`attribution_change`). Every score,
ours included, is then turned into a yes/no prediction of "the model's decision
flips" with the threshold that maximises accuracy
(:func:`best_threshold_accuracy`), on class-balanced resamples of the test images
(:func:`flip_prediction_task`).

Everything here is model-agnostic: the model is any ``torch.nn.Module`` mapping
a preprocessed float batch (B, 3, H, W) to logits (B, C). torch and captum are
imported lazily, so the threshold task works on plain arrays without them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

__all__ = [
    "METHODS",
    "METHOD_LABELS",
    "PAPER_TABLE2",
    "FlipTaskResult",
    "attribute",
    "attribution_change",
    "best_threshold_accuracy",
    "flip_prediction_task",
    "format_flip_table",
    "last_conv_layer",
    "plot_attribution_pair",
    "slic_superpixels",
]

#: The six local baselines, in the column order of the paper's Table 2.
METHODS: tuple[str, ...] = (
    "guided_gradcam",
    "integrated_gradients",
    "occlusion",
    "lime",
    "kernel_shap",
    "deeplift",
)

#: Short display names for plots and tables; ``"ours"`` is E[|∇X|].
METHOD_LABELS: dict[str, str] = {
    "ours": "Ours",
    "guided_gradcam": "G-CAM",
    "integrated_gradients": "Int. Grad.",
    "occlusion": "Occlusion",
    "lime": "LIME",
    "kernel_shap": "K-SHAP",
    "deeplift": "DeepLift",
}

# Table 2 of the paper, "mean std" in percent per method, columns as in ("ours",) + METHODS.
_PAPER_TABLE2_TEXT = """
CvD / Unbiased|86.13 2.0|84.70 2.1|84.77 2.1|84.73 2.0|84.70 2.2|84.67 2.1|84.83 2.1
CvD / Dark Cats Bias|84.27 1.7|61.43 3.3|64.77 1.8|67.70 1.9|58.63 1.9|60.87 1.0|67.13 2.2
CvD / Dark Dogs Bias|82.20 0.8|64.20 2.7|64.10 2.2|67.10 1.2|56.50 2.1|58.50 2.2|64.77 2.1
ISIC / ResNet18|95.50 1.2|80.00 4.0|78.63 2.7|78.75 4.0|76.12 5.1|75.88 4.6|76.88 6.5
ISIC / EfficientNet-B0|94.25 2.4|79.00 4.9|73.75 5.6|75.37 6.3|73.88 5.1|72.75 5.5|76.38 6.5
ISIC / ConvNeXt-S|92.88 1.6|78.00 4.7|75.50 3.2|74.88 4.7|75.00 3.2|74.75 2.7|74.88 5.8
ISIC / ViT-B/16|95.12 1.6|80.25 3.4|75.87 2.5|77.25 3.5|76.00 3.4|75.88 2.9|77.50 3.9
"""


def _parse_paper_table(text: str) -> dict[str, dict[str, tuple[float, float]]]:
    table = {}
    for line in text.strip().splitlines():
        name, *cells = (c.strip() for c in line.split("|"))
        pairs = [tuple(float(v) for v in c.split()) for c in cells]
        table[name] = dict(zip(("ours",) + METHODS, pairs, strict=True))
    return table


#: The paper's Table 2: row ("CvD / Unbiased", ...) -> method -> (mean, std) in
#: percent. Shown beside our own numbers; the ISIC rows average the biased and
#: unbiased training of each architecture.
PAPER_TABLE2: dict[str, dict[str, tuple[float, float]]] = _parse_paper_table(_PAPER_TABLE2_TEXT)

# Pixel normalisation of the authors' Cats-vs-Dogs ConvMixers: x_norm = (x - 0.5) / 0.5.
_DEFAULT_MEAN = (0.5, 0.5, 0.5)
_DEFAULT_STD = (0.5, 0.5, 0.5)


# ---------------------------------------------------------------------------
# validation and small helpers
# ---------------------------------------------------------------------------


def _validate_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose one of {METHODS}")
    return method


def _validate_inputs(inputs: Any) -> Any:
    import torch

    if not isinstance(inputs, torch.Tensor):
        raise ValueError(
            f"inputs must be a torch.Tensor of shape (B, 3, H, W), got {type(inputs).__name__}"
        )
    if inputs.ndim != 4 or inputs.shape[1] != 3:
        raise ValueError(f"inputs must have shape (B, 3, H, W), got {tuple(inputs.shape)}")
    if not torch.is_floating_point(inputs):
        raise ValueError(f"inputs must be a float tensor, got dtype {inputs.dtype}")
    if not torch.isfinite(inputs).all():
        raise ValueError("inputs contain NaN or inf values")
    return inputs


def _channel_stats(values: float | Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.size != 3:
        raise ValueError(f"{name} must be one value or three (per channel), got {arr.size}")
    if name == "std" and np.any(arr <= 0):
        raise ValueError("std must be positive")
    return arr


def _unnormalise(inputs: Any, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(B, 3, H, W) normalised tensor -> (B, H, W, 3) float array clipped to [0, 1]."""
    x = inputs.detach().cpu().double().numpy()
    m = _channel_stats(mean, "mean")[None, :, None, None]
    s = _channel_stats(std, "std")[None, :, None, None]
    return np.clip(x * s + m, 0.0, 1.0).transpose(0, 2, 3, 1)


def last_conv_layer(model: Any) -> Any:
    """Return the last ``torch.nn.Conv2d`` of ``model`` in registration order.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.

    Returns
    -------
    torch.nn.Conv2d
        The module that Guided Grad-CAM uses by default. "Last" is the order of
        ``model.modules()``, which is the forward order for ``nn.Sequential``
        models such as the ConvMixer and for the usual timm CNNs; pass ``layer``
        explicitly to :func:`attribute` when a model registers modules out of
        forward order.

    Raises
    ------
    ValueError
        If the model contains no ``Conv2d`` (e.g. a ViT without a conv stem).
    """
    import torch

    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise ValueError(
            "the model has no torch.nn.Conv2d layer; pass layer=... to use Guided Grad-CAM"
        )
    return convs[-1]


def _without_inplace(model: Any, layer: Any = None) -> tuple[Any, Any]:
    """Copy ``model`` with every ``inplace=True`` activation switched off.

    Guided Backprop and DeepLift hook the activation modules; with older captum
    releases (and torch's full backward hooks) in-place activations make that
    fail. captum 0.9 copes, and gives the same maps either way, so this is a
    safety net whose only cost is a copy of the weights. The user's model is
    never modified; without in-place modules it is returned as is. ``layer`` (a
    module of ``model``) is mapped onto the copy.
    """
    if not any(getattr(m, "inplace", False) is True for m in model.modules()):
        return model, layer
    name = None
    if layer is not None:
        name = next((n for n, m in model.named_modules() if m is layer), None)
        if name is None:
            raise ValueError("layer is not a submodule of model")
    clone = copy.deepcopy(model)
    for m in clone.modules():
        if getattr(m, "inplace", False) is True:
            m.inplace = False
    new_layer = clone.get_submodule(name) if name is not None else None
    return clone, new_layer


def slic_superpixels(
    inputs: Any,
    *,
    mean: float | Sequence[float] = _DEFAULT_MEAN,
    std: float | Sequence[float] = _DEFAULT_STD,
    n_segments: int = 100,
    compactness: float = 1.0,
    **slic_options: Any,
) -> np.ndarray:
    """SLIC superpixels of each image, as used for LIME and Kernel SHAP.

    Parameters
    ----------
    inputs : torch.Tensor
        Preprocessed batch (B, 3, H, W).
    mean, std : float or sequence of 3 floats, optional
        The normalisation the inputs went through (``x_norm = (x - mean) / std``);
        it is undone so that SLIC sees the image in [0, 1], channels last. The
        default (0.5, 0.5) is the [-1, 1] scaling of the authors' ConvMixers;
        ImageNet-normalised models need the ImageNet mean and std.
    n_segments, compactness : optional
        SLIC settings; the defaults are the paper's (100 segments, compactness 1).
    **slic_options
        Passed on to ``skimage.segmentation.slic``.

    Returns
    -------
    ndarray of int64, shape (B, H, W)
        Segment ids per pixel, relabelled to 0..K-1 for each image (captum needs
        consecutive feature ids).
    """
    from skimage.segmentation import slic

    _validate_inputs(inputs)
    images = _unnormalise(inputs, mean, std)
    masks = np.empty(images.shape[:3], dtype=np.int64)
    for i, image in enumerate(images):
        seg = slic(
            image,
            n_segments=n_segments,
            compactness=compactness,
            start_label=0,
            channel_axis=-1,
            **slic_options,
        )
        _, ids = np.unique(seg, return_inverse=True)
        masks[i] = ids.reshape(seg.shape)
    return masks


# ---------------------------------------------------------------------------
# attributions
# ---------------------------------------------------------------------------


def attribute(
    model: Any,
    inputs: Any,
    method: str,
    target: int | Sequence[int] = 0,
    *,
    layer: Any = None,
    baseline: Any = None,
    superpixels: np.ndarray | None = None,
    mean: float | Sequence[float] = _DEFAULT_MEAN,
    std: float | Sequence[float] = _DEFAULT_STD,
    grey: float = 0.5,
    n_samples: int | None = None,
    seed: int | None = None,
    reduce: Literal["sum"] | None = None,
    **options: Any,
) -> np.ndarray:
    """Compute a captum attribution map for each image of a batch.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a float batch (B, 3, H, W) to logits (B, C). Put it in eval mode
        first (a warning is raised otherwise). It is never modified: when it
        contains in-place activations (``ReLU(inplace=True)``), Guided Grad-CAM
        and DeepLift run on a copy with in-place switched off, because hooks on
        in-place activations break in older captum releases (0.9 gives the same
        maps either way).
    inputs : torch.Tensor
        Preprocessed images (B, 3, H, W), on the model's device.
    method : str
        One of :data:`METHODS`.
    target : int or sequence of int, optional
        Output index to explain; 0 is the cat logit of the Cats-vs-Dogs models.
    layer : torch.nn.Module, optional
        Guided Grad-CAM only: the layer for the Grad-CAM part. Default: the last
        ``nn.Conv2d`` of the model (:func:`last_conv_layer`), as in the paper.
    baseline : float or torch.Tensor, optional
        Reference input in the *normalised* space for Integrated Gradients,
        DeepLift, LIME and Kernel SHAP (what features are replaced by). Default:
        captum's zero. For the [-1, 1] scaling of the authors' models zero is
        the mid-grey image (0.5 in [0, 1]); for ImageNet normalisation zero is
        the per-channel dataset mean colour. For Occlusion it overrides ``grey``.
    superpixels : ndarray of int, optional
        LIME / Kernel SHAP only: feature mask (H, W) or (B, H, W) of segment ids.
        Default: :func:`slic_superpixels` of the inputs (100 segments,
        compactness 1, computed on the un-normalised image).
    mean, std : float or sequence of 3 floats, optional
        The normalisation applied to the inputs, ``x_norm = (x - mean) / std``;
        used to run SLIC on the [0, 1] image and to map ``grey`` into the
        normalised space. Default 0.5 / 0.5, i.e. inputs in [-1, 1].
    grey : float, optional
        Occlusion only: the patch value in [0, 1] image space (default 0.5, the
        average grey). With the default normalisation it becomes 0.0.
    n_samples : int, optional
        LIME / Kernel SHAP only: number of perturbed samples per image. Default
        ``None`` uses captum's own default (25 for both in captum 0.9), which
        is what "captum defaults" in the paper means. That is few for tens of
        superpixels; pass e.g. 200 for less noisy maps at 8x the cost.
    seed : int, optional
        LIME / Kernel SHAP only: seed torch's generator with ``seed + i`` before
        sampling the perturbations of image ``i`` (the global generator state is
        restored afterwards). Default ``None``: use the global generator as is.
    reduce : {None, "sum"}, optional
        ``None`` (default) returns per-channel maps (B, 3, H, W); ``"sum"`` sums
        over the colour channels and returns (B, H, W), the usual map to show.
    **options
        Passed to the captum ``attribute`` call, e.g. ``n_steps`` for Integrated
        Gradients, ``perturbations_per_eval`` for Occlusion / LIME / Kernel SHAP
        (default 16 for Occlusion here, 1 in captum; results are identical, only
        the batching differs), or ``sliding_window_shapes`` / ``strides`` to
        change the occlusion window (default (3, 9, 9) / (3, 4, 4): a 9x9 patch
        over all channels at once, stride 4 in x and y).

    Returns
    -------
    ndarray of float32
        Attributions of shape (B, 3, H, W), or (B, H, W) with ``reduce="sum"``.
        Positive values speak for the ``target`` output (red in
        :func:`plot_attribution_pair`), negative values against it.

    Raises
    ------
    ValueError
        For an unknown method or ``reduce``, malformed inputs, a model without
        ``Conv2d`` for Guided Grad-CAM, or superpixels of the wrong shape.

    Notes
    -----
    * Guided Backprop (inside Guided Grad-CAM) only rewrites ``nn.ReLU``
      modules; GELU models such as the ConvMixer get plain gradients there.
    * captum's DeepLift has rescale rules for ReLU, ELU, LeakyReLU, Sigmoid,
      Tanh, Softplus, pooling and Softmax modules, but not for GELU, whose
      local gradient is used instead (plain captum behaviour, no patching here).
    * With stride 4 and a 9x9 window captum pads the last window, so every
      pixel is covered; a 128x128 image needs 31 x 31 = 961 forward passes.
    * LIME and Kernel SHAP are run image by image (each fits its own surrogate
      model), so the cost grows linearly with B. SLIC asks for 100 segments but,
      after its connectivity clean-up, often returns far fewer at 128x128 (20
      and 48 on two of the authors' photos). An image with a single segment
      gets the exact one-feature Shapley value F(x) - F(baseline) from Kernel
      SHAP, with a warning.
    * captum's LIME surrogate is a Lasso with alpha 0.01 on the raw output, so
      a model whose target logit barely moves gets an all-zero map.
    """
    _validate_method(method)
    _validate_inputs(inputs)
    if reduce not in (None, "sum"):
        raise ValueError(f"reduce must be None or 'sum', got {reduce!r}")
    if getattr(model, "training", False):
        warnings.warn(
            "model is in training mode; attributions are normally taken in eval mode "
            "(call model.eval())",
            UserWarning,
            stacklevel=2,
        )
    with warnings.catch_warnings():
        # captum announces every hook it sets and that it enabled input gradients
        for pattern in _CAPTUM_CHATTER:
            warnings.filterwarnings("ignore", message=pattern, category=UserWarning)
        attr = _captum_attribute(
            model,
            inputs.detach(),
            method,
            target,
            layer,
            baseline,
            superpixels,
            mean,
            std,
            grey,
            n_samples,
            seed,
            options,
        )
    out = attr.detach().float().cpu().numpy()
    if out.shape != tuple(inputs.shape):
        out = np.broadcast_to(out, tuple(inputs.shape)).copy()
    if reduce == "sum":
        out = out.sum(axis=1)
    return out


_CAPTUM_CHATTER = (
    r"Input Tensor \d+ did not already require gradients",
    r"Setting backward hooks on ReLU activations",
    r"Setting forward, backward hooks and attributes on non-linear",
)


def _captum_attribute(
    model: Any,
    inputs: Any,
    method: str,
    target: Any,
    layer: Any,
    baseline: Any,
    superpixels: Any,
    mean: Any,
    std: Any,
    grey: float,
    n_samples: int | None,
    seed: int | None,
    options: dict[str, Any],
) -> Any:
    import torch
    from captum import attr as cattr

    b = inputs.shape[0]
    if method == "guided_gradcam":
        if layer is None:
            layer = last_conv_layer(model)
        net, net_layer = _without_inplace(model, layer)
        attr = cattr.GuidedGradCam(net, net_layer).attribute(inputs, target=target, **options)
    elif method == "integrated_gradients":
        attr = cattr.IntegratedGradients(model).attribute(
            inputs, baselines=baseline, target=target, **options
        )
    elif method == "deeplift":
        net, _ = _without_inplace(model)
        attr = cattr.DeepLift(net).attribute(inputs, baselines=baseline, target=target, **options)
    elif method == "occlusion":
        if baseline is None:
            m = _channel_stats(mean, "mean")
            s = _channel_stats(std, "std")
            grey_norm = (float(grey) - m) / s
            baseline = torch.as_tensor(grey_norm, dtype=inputs.dtype, device=inputs.device).view(
                1, 3, 1, 1
            )
            baseline = baseline.expand_as(inputs[:1]).contiguous()
        options.setdefault("sliding_window_shapes", (3, 9, 9))
        options.setdefault("strides", (3, 4, 4))
        options.setdefault("perturbations_per_eval", 16)
        attr = cattr.Occlusion(model).attribute(
            inputs, baselines=baseline, target=target, **options
        )
    else:  # lime / kernel_shap: one image at a time, each with its own feature mask
        if superpixels is None:
            masks = slic_superpixels(inputs, mean=mean, std=std)
        else:
            masks = np.asarray(superpixels)
            if masks.ndim == 2:
                masks = np.broadcast_to(masks, (b,) + masks.shape)
            if masks.shape != (b,) + tuple(inputs.shape[2:]):
                raise ValueError(
                    f"superpixels must have shape (H, W) or (B, H, W) = "
                    f"{(b,) + tuple(inputs.shape[2:])}, got {masks.shape}"
                )
            if not np.issubdtype(masks.dtype, np.integer):
                raise ValueError("superpixels must be an integer array of segment ids")
        explainer = cattr.Lime(model) if method == "lime" else cattr.KernelShap(model)
        if n_samples is not None:
            options["n_samples"] = int(n_samples)
        targets = _per_sample_targets(target, b)
        maps = []
        for i in range(b):
            _, ids = np.unique(masks[i], return_inverse=True)
            fmask = torch.as_tensor(ids.reshape(masks.shape[1:]), device=inputs.device)
            base_i = baseline
            if isinstance(baseline, torch.Tensor) and baseline.ndim == 4 and baseline.shape[0] > 1:
                base_i = baseline[i : i + 1]
            if method == "kernel_shap" and ids.max() == 0:
                # captum's Kernel SHAP cannot sample coalitions of one feature; the
                # Shapley value of a lone feature is exactly F(x) - F(baseline)
                warnings.warn(
                    f"image {i} has a single superpixel; its Kernel SHAP map is the "
                    "constant F(x) - F(baseline)",
                    UserWarning,
                    stacklevel=4,
                )
                maps.append(_whole_image_effect(model, inputs[i : i + 1], base_i, targets[i]))
                continue
            with _seeded(seed, i, inputs.device):
                maps.append(
                    explainer.attribute(
                        inputs[i : i + 1],
                        baselines=base_i,
                        target=targets[i],
                        feature_mask=fmask[None, None],
                        **options,
                    )
                )
        attr = torch.cat(maps, dim=0)
    return attr


def _whole_image_effect(model: Any, x: Any, baseline: Any, target: int) -> Any:
    """F(x) - F(baseline) for the target output, spread over every input element."""
    import torch

    base = torch.zeros_like(x) if baseline is None else torch.as_tensor(baseline).to(x)
    base = torch.broadcast_to(base, x.shape)
    with torch.no_grad():
        effect = model(x)[0, target] - model(base)[0, target]
    return torch.full_like(x, float(effect))


@contextlib.contextmanager
def _seeded(seed: int | None, offset: int, device: Any) -> Iterator[None]:
    """Run the block with torch's generators seeded by ``seed + offset``, then restore them."""
    if seed is None:
        yield
        return
    import torch

    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(int(seed) + offset)
        yield


def _per_sample_targets(target: Any, b: int) -> list[Any]:
    if isinstance(target, int | np.integer):
        return [int(target)] * b
    seq = list(np.asarray(target).reshape(-1))
    if len(seq) != b:
        raise ValueError(f"target must be an int or have one entry per image ({b}), got {len(seq)}")
    return [int(t) for t in seq]


def attribution_change(
    model: Any,
    before: Any,
    after: Any,
    method: str,
    target: int | Sequence[int] = 0,
    *,
    seed: int | None = 0,
    **kw: Any,
) -> np.ndarray:
    """Score how much an intervention changes a saliency map.

    The paper adapts saliency methods to the flip-prediction task by comparing
    the explanation of an image with that of its intervened version (e.g. the
    first and the last image of a sweep): the score is the mean squared
    difference of the two maps.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (see :func:`attribute`).
    before, after : torch.Tensor
        Preprocessed images (B, 3, H, W) before and after the intervention,
        paired by index.
    method : str
        One of :data:`METHODS`.
    target : int or sequence of int, optional
        Output index to explain (0, the cat logit, by default).
    seed : int or None, optional
        LIME / Kernel SHAP only: both maps of an image are computed from the
        same random perturbation pattern (common random numbers, see ``seed``
        of :func:`attribute`), so sampling noise does not masquerade as a change
        and identical images score exactly 0. ``None`` draws them independently.
    **kw
        Passed to :func:`attribute` for both images. For LIME and Kernel SHAP
        the superpixels default to SLIC segments of the *before* images, used
        for both maps so that the two surrogate models share their features.

    Returns
    -------
    ndarray of float64, shape (B,)
        Mean over channels and pixels of (map_after - map_before) ** 2, computed
        on the per-channel maps (``reduce="sum"`` in ``kw`` compares the
        channel-summed maps instead).

    Raises
    ------
    ValueError
        If ``before`` and ``after`` differ in shape, or as :func:`attribute`.
    """
    _validate_method(method)
    _validate_inputs(before)
    _validate_inputs(after)
    if tuple(before.shape) != tuple(after.shape):
        raise ValueError(
            f"before and after must have the same shape, got {tuple(before.shape)} "
            f"and {tuple(after.shape)}"
        )
    if method in ("lime", "kernel_shap") and kw.get("superpixels") is None:
        kw["superpixels"] = slic_superpixels(
            before,
            mean=kw.get("mean", _DEFAULT_MEAN),
            std=kw.get("std", _DEFAULT_STD),
        )
    if method in ("lime", "kernel_shap"):
        kw["seed"] = seed
    a0 = attribute(model, before, method, target, **kw).astype(np.float64)
    a1 = attribute(model, after, method, target, **kw).astype(np.float64)
    diff = (a1 - a0).reshape(a0.shape[0], -1)
    return np.mean(diff**2, axis=1)


# ---------------------------------------------------------------------------
# the flip-prediction task
# ---------------------------------------------------------------------------


def _validate_scores_flipped(scores: Any, flipped: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    f = np.asarray(flipped)
    if s.ndim != 1 or f.ndim != 1:
        raise ValueError(f"scores and flipped must be 1-D, got shapes {s.shape} and {f.shape}")
    if s.size != f.size:
        raise ValueError(f"scores ({s.size}) and flipped ({f.size}) differ in length")
    if s.size == 0:
        raise ValueError("scores is empty")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or inf values")
    if f.dtype != bool:
        if not np.all(np.isin(f, (0, 1))):
            raise ValueError("flipped must be boolean or contain only 0 and 1")
        f = f.astype(bool)
    return s, f


def best_threshold_accuracy(scores: Any, flipped: Any) -> tuple[float, float]:
    """Best accuracy of the rule "the prediction flips when score > threshold".

    Parameters
    ----------
    scores : array_like, shape (n,)
        One score per image; larger means "more likely to flip".
    flipped : array_like of bool or {0, 1}, shape (n,)
        Whether the model's decision actually flipped under the intervention.

    Returns
    -------
    accuracy : float
        Fraction of images classified correctly at the best threshold, in [0, 1].
    threshold : float
        That threshold. Candidates are -inf (everything predicted to flip), the
        midpoints between consecutive distinct scores, and +inf (nothing
        flips), so predicting a single class is always an option. Ties go to
        the smallest threshold.

    Raises
    ------
    ValueError
        For empty, non-finite, mismatched or non-binary inputs.

    Notes
    -----
    O(n log n): one sort, then cumulative counts of non-flips and flips at or
    below each distinct score.
    """
    s, f = _validate_scores_flipped(scores, flipped)
    order = np.argsort(s, kind="stable")
    s_sorted, f_sorted = s[order], f[order]
    uniq, start = np.unique(s_sorted, return_index=True)
    end = np.append(start[1:], s.size)  # group of each distinct value: [start, end)
    neg_le = np.cumsum(~f_sorted)[end - 1]  # non-flips with score <= uniq[j]
    pos_le = np.cumsum(f_sorted)[end - 1]  # flips with score <= uniq[j]
    n_pos = int(f.sum())
    # candidate j = -1 is threshold -inf; candidate j means "threshold just above uniq[j]"
    correct = np.concatenate(([n_pos], neg_le + (n_pos - pos_le)))
    best = int(np.argmax(correct))
    if best == 0:
        threshold = -math.inf
    elif best == uniq.size:
        threshold = math.inf
    else:
        threshold = float((uniq[best - 1] + uniq[best]) / 2.0)
    return float(correct[best] / s.size), threshold


class FlipTaskResult(NamedTuple):
    """Accuracy of one score on the flip-prediction task over the resamples.

    Attributes
    ----------
    mean : float
        Mean best-threshold accuracy over the resamples (a fraction in [0, 1]).
    std : float
        Standard deviation over the resamples (``ddof`` as requested).
    accuracies : ndarray, shape (n_resamples,)
        Best-threshold accuracy of each resample.
    thresholds : ndarray, shape (n_resamples,)
        The threshold chosen in each resample.
    """

    mean: float
    std: float
    accuracies: np.ndarray
    thresholds: np.ndarray


def _resample_indices(
    labels: np.ndarray,
    n_per_class: int,
    n_resamples: int,
    rng: np.random.Generator,
    replace: bool,
    shortfall: str,
) -> list[np.ndarray]:
    classes = np.unique(labels)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    draw_replace = {}
    for c in classes:
        n_c = members[c].size
        if replace or n_c >= n_per_class:
            draw_replace[c] = replace
            continue
        if shortfall == "raise":
            raise ValueError(f"class {c!r} has {n_c} images, fewer than n_per_class={n_per_class}")
        if shortfall == "replace":
            warnings.warn(
                f"class {c!r} has {n_c} images < n_per_class={n_per_class}; drawing "
                f"{n_per_class} with replacement",
                UserWarning,
                stacklevel=3,
            )
            draw_replace[c] = True
        else:
            warnings.warn(
                f"class {c!r} has {n_c} images < n_per_class={n_per_class}; using all "
                f"{n_c} of them in every resample",
                UserWarning,
                stacklevel=3,
            )
            draw_replace[c] = False
    draws = []
    for _ in range(n_resamples):
        parts = []
        for c in classes:
            idx = members[c]
            k = n_per_class if draw_replace[c] else min(n_per_class, idx.size)
            parts.append(rng.choice(idx, size=k, replace=draw_replace[c]))
        draws.append(np.concatenate(parts))
    return draws


def flip_prediction_task(
    scores: Mapping[str, Any],
    flipped: Any,
    labels: Any = None,
    *,
    n_per_class: int = 150,
    n_resamples: int = 10,
    seed: int | None = 0,
    replace: bool = False,
    shortfall: Literal["cap", "replace", "raise"] = "cap",
    ddof: int = 0,
) -> dict[str, FlipTaskResult]:
    """Evaluate scores at predicting whether an intervention flips the decision.

    For each resample, ``n_per_class`` images are drawn per class label; each
    score then gets its best-threshold accuracy (:func:`best_threshold_accuracy`)
    for predicting ``flipped`` on that sample. The same drawn indices are used
    for every score, so the methods are compared on identical images.

    Parameters
    ----------
    scores : mapping of str to array_like, shape (n,)
        One score array per method, e.g. ``{"ours": e_grad, "lime": ...}`` with
        E[|∇X|] under ``"ours"`` and :func:`attribution_change` values under the
        names of :data:`METHODS`.
    flipped : array_like of bool or {0, 1}, shape (n,)
        Whether each image's predicted class changed under the intervention.
    labels : array_like, shape (n,), optional
        Class label of each image (cat/dog) used for the class-balanced draw.
        ``None`` treats all images as one class (e.g. the ISIC melanoma set).
    n_per_class : int, optional
        Images drawn per class and resample (the paper: 150 for Cats vs. Dogs).
    n_resamples : int, optional
        Number of resamples (the paper: 10).
    seed : int or None, optional
        Seed of the ``numpy.random.default_rng`` that draws the samples.
    replace : bool, optional
        Draw with replacement (a bootstrap) for every class. Default ``False``:
        each resample is a subset of distinct images.
    shortfall : {"cap", "replace", "raise"}, optional
        What to do, without ``replace``, when a class has fewer than
        ``n_per_class`` images: ``"cap"`` (default) uses all of its images in
        every resample, ``"replace"`` draws ``n_per_class`` with replacement for
        that class, ``"raise"`` raises. The first two warn.
    ddof : int, optional
        Delta degrees of freedom of the standard deviation over resamples;
        default 0 (``numpy.std``'s default, the population formula).

    Returns
    -------
    dict of str to FlipTaskResult
        Per score name, in the input order: mean and std of the accuracy as
        fractions in [0, 1], plus the per-resample accuracies and thresholds.

    Raises
    ------
    ValueError
        For empty ``scores``, mismatched lengths, non-binary ``flipped``,
        non-finite scores, ``n_per_class`` or ``n_resamples`` below 1, or an
        unknown ``shortfall``.
    """
    if not scores:
        raise ValueError("scores is empty: give at least one method")
    if n_per_class < 1 or n_resamples < 1:
        raise ValueError("n_per_class and n_resamples must be at least 1")
    if shortfall not in ("cap", "replace", "raise"):
        raise ValueError(f"shortfall must be 'cap', 'replace' or 'raise', got {shortfall!r}")
    arrays = {}
    f = None
    for name, values in scores.items():
        s, f = _validate_scores_flipped(values, flipped)
        arrays[name] = s
    n = f.size
    lab = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {lab.shape}")
    rng = np.random.default_rng(seed)
    draws = _resample_indices(lab, int(n_per_class), int(n_resamples), rng, replace, shortfall)
    results = {}
    for name, s in arrays.items():
        acc = np.empty(n_resamples)
        thr = np.empty(n_resamples)
        for r, idx in enumerate(draws):
            acc[r], thr[r] = best_threshold_accuracy(s[idx], f[idx])
        results[name] = FlipTaskResult(
            float(acc.mean()),
            float(acc.std(ddof=ddof)) if n_resamples > ddof else math.nan,
            acc,
            thr,
        )
    return results


def format_flip_table(
    rows: Mapping[str, Mapping[str, Any]],
    *,
    row_header: str = "Model",
    decimals: tuple[int, int] = (2, 1),
    in_percent: bool = False,
) -> str:
    """Format flip-task results as a Markdown table in the layout of Table 2.

    Parameters
    ----------
    rows : mapping of str to mapping
        Row name (e.g. a model) -> result of :func:`flip_prediction_task`, whose
        values are :class:`FlipTaskResult` or ``(mean, std)`` pairs, as fractions
        unless ``in_percent``.
    row_header : str, optional
        Header of the first column.
    decimals : (int, int), optional
        Decimals of the mean and of the std; the paper prints (2, 1).
    in_percent : bool, optional
        The values are already percentages (as in :data:`PAPER_TABLE2`).

    Returns
    -------
    str
        Markdown with "mean ± std" in percent. Columns: Ours, then the baselines
        in the paper's order, keeping only methods present in some row; other
        score names follow at the end. Missing entries show as "–".
    """
    order = ["ours", *METHODS]
    present = {k for r in rows.values() for k in r}
    cols = [k for k in order if k in present]
    cols += sorted(present - set(order))
    header = [row_header] + [METHOD_LABELS.get(c, c) for c in cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    dm, ds = decimals
    for row_name, res in rows.items():
        cells = [str(row_name)]
        for c in cols:
            if c in res:
                mean, std = res[c][0], res[c][1]
                k = 1.0 if in_percent else 100.0
                cells.append(f"{k * mean:.{dm}f} ± {k * std:.{ds}f}")
            else:
                cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# plotting
# ---------------------------------------------------------------------------


def _to_display(image: Any) -> np.ndarray:
    arr = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[-1] != 3:
        arr = arr.transpose(1, 2, 0)
    return np.clip(arr, 0.0, 1.0)


def _to_map(a: Any) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr.sum(axis=0)
    if arr.ndim != 2:
        raise ValueError(f"each attribution map must be (H, W) or (3, H, W), got {arr.shape}")
    return arr


def plot_attribution_pair(
    before_img: Any,
    after_img: Any,
    maps_before: Sequence[Any],
    maps_after: Sequence[Any],
    labels: Sequence[str],
    axes: Any = None,
    *,
    cmap: str = "RdBu_r",
) -> tuple[Any, Any]:
    """Show attribution maps of an image and its intervened version, two rows.

    Parameters
    ----------
    before_img, after_img : array_like or torch.Tensor
        The two images in [0, 1], (H, W, 3) or (3, H, W).
    maps_before, maps_after : sequence of array_like
        One map per method, (H, W) or (3, H, W) (channels are summed), e.g.
        the per-image slices of :func:`attribute` outputs.
    labels : sequence of str
        Column titles, e.g. ``[METHOD_LABELS[m] for m in METHODS]``.
    axes : ndarray of matplotlib Axes, optional
        A (2, 1 + n_methods) grid to draw into; created when omitted.
    cmap : str, optional
        Diverging colour map, centred at 0 with a symmetric range per method
        shared by both rows. With the default, red speaks for the explained
        logit (cat) and blue against it (dog).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes, shape (2, 1 + n_methods)

    Raises
    ------
    ValueError
        If the numbers of maps and labels differ or ``axes`` has the wrong shape.
    """
    import matplotlib.pyplot as plt

    k = len(labels)
    if len(maps_before) != k or len(maps_after) != k:
        raise ValueError(
            f"need one map per label: {len(maps_before)} / {len(maps_after)} maps, {k} labels"
        )
    if axes is None:
        fig, axes = plt.subplots(2, k + 1, figsize=(1.8 * (k + 1), 3.8), squeeze=False)
    else:
        axes = np.asarray(axes)
        if axes.shape != (2, k + 1):
            raise ValueError(f"axes must have shape (2, {k + 1}), got {axes.shape}")
        fig = axes.flat[0].figure
    for row, img in enumerate((before_img, after_img)):
        axes[row, 0].imshow(_to_display(img))
        axes[row, 0].set_title("original" if row == 0 else "intervened", fontsize=9)
    for j, label in enumerate(labels):
        pair = (_to_map(maps_before[j]), _to_map(maps_after[j]))
        vmax = max(float(np.abs(p).max()) for p in pair) or 1.0
        for row, m in enumerate(pair):
            axes[row, j + 1].imshow(m, cmap=cmap, vmin=-vmax, vmax=vmax)
        axes[0, j + 1].set_title(label, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes
