"""Local attribution maps with captum, and how much an intervention changes them.

The paper compares its interventional score E[|∇X|] with six local attribution
methods (Table 2, appendix B.4), all taken from captum with its defaults except
where the paper names a setting:

* Guided Grad-CAM with respect to the last convolutional layer (per
  architecture family, see :func:`propgrad.baselines.layers.gradcam_layer`);
* Integrated Gradients;
* Occlusion with an average-grey patch of 9x9 pixels and a stride of 4;
* LIME and Kernel SHAP on SLIC superpixels (100 segments, compactness 1);
* DeepLift.

A saliency method does not say "how much does this property matter", so it is
adapted to the flip-prediction task by comparing the maps of an image before
and after the intervention: the score is the mean squared difference of the
two maps (:func:`attribution_change`).

The model is a :class:`~propgrad.models.Classifier` (its ``.model`` is
attributed and its ``.preprocess`` says how inputs were normalised) or a
``torch.nn.Module`` mapping model inputs (B, 3, H, W) to logits (B, C), with
``preprocess=`` its :class:`~propgrad.models.Preprocess`. The normalisation is
needed wherever a picture-space value meets model inputs: the grey occlusion
patch and the SLIC superpixels. Nothing assumes a particular normalisation.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from propgrad.baselines._checks import validate_inputs, validate_preprocess
from propgrad.baselines.superpixels import slic_superpixels
from propgrad.models.classifier import split_model

__all__ = ["METHODS", "METHOD_LABELS", "attribute", "attribution_change", "plot_attributions"]

#: The six local baselines, in the column order of the paper's Table 2.
METHODS: tuple[str, ...] = (
    "guided_gradcam",
    "integrated_gradients",
    "occlusion",
    "lime",
    "kernel_shap",
    "deeplift",
)

#: Display labels, equal to the paper's Table 2 column labels
#: (:data:`propgrad.baselines.fliptask.TABLE2_COLUMNS`); ``"ours"`` is E[|∇X|].
METHOD_LABELS: dict[str, str] = {
    "ours": "Ours",
    "guided_gradcam": "G-CAM",
    "integrated_gradients": "Int. Grad.",
    "occlusion": "Occlusion",
    "lime": "LIME",
    "kernel_shap": "K-SHAP",
    "deeplift": "DeepLift",
}

#: Integrated Gradients evaluates its path in chunks of this many images (captum's
#: ``internal_batch_size``): the same map up to float summation order, a bounded
#: memory (pass ``internal_batch_size`` to :func:`attribute` to change it).
IG_CHUNK = 16


def _validate_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose one of {METHODS}")
    return method


#: Set up once per block of :func:`_setup_once`: key -> (the objects the key's ids
#: refer to, kept alive, and the value). ``None`` outside such a block.
_SETUP: dict[tuple[Any, ...], tuple[Any, Any]] | None = None


@contextlib.contextmanager
def _setup_once() -> Iterator[None]:
    """Within the block, the per-model setup of an attribution is done once per model.

    The copy without in-place activations (:func:`_without_inplace`) and the
    Guided Grad-CAM layer (:func:`~propgrad.baselines.layers.gradcam_layer`)
    of a model are made the first time they are needed and reused by every
    later :func:`attribute` call in the block (e.g. every chunk of the flip
    task, both maps of :func:`attribution_change`). The weights of the models
    attributed in the block must not change inside it. Blocks nest; the
    outermost one ends the reuse.
    """
    global _SETUP
    outer = _SETUP is not None
    if not outer:
        _SETUP = {}
    try:
        yield
    finally:
        if not outer:
            _SETUP = None


def _once(key: tuple[Any, ...], keep: Any, make: Any) -> Any:
    """``make()``, or its result for the same key earlier in a :func:`_setup_once` block."""
    if _SETUP is None:
        return make()
    if key not in _SETUP:
        _SETUP[key] = (keep, make())
    return _SETUP[key][1]


def _without_inplace(model: Any, layer: Any = None) -> tuple[Any, Any]:
    """Copy ``model`` with every ``inplace=True`` activation switched off.

    Guided Backprop and DeepLift hook the activation modules; with older captum
    releases (and torch's full backward hooks) in-place activations make that
    fail. captum 0.9 copes, and gives the same maps either way, so this is a
    safety net whose only cost is a copy of the weights (made once per model
    within :func:`_setup_once`). The user's model is never modified; without
    in-place modules it is returned as is. ``layer`` (a module of ``model``)
    is mapped onto the copy.
    """
    if not any(getattr(m, "inplace", False) is True for m in model.modules()):
        return model, layer
    name = None
    if layer is not None:
        name = next((n for n, m in model.named_modules() if m is layer), None)
        if name is None:
            raise ValueError("layer is not a submodule of model")

    def copy_without_inplace() -> Any:
        clone = copy.deepcopy(model)
        for m in clone.modules():
            if getattr(m, "inplace", False) is True:
                m.inplace = False
        return clone

    clone = _once(("without_inplace", id(model)), model, copy_without_inplace)
    new_layer = clone.get_submodule(name) if name is not None else None
    return clone, new_layer


def _check_superpixels(superpixels: Any, shape: tuple[int, ...]) -> np.ndarray:
    b, hw = shape[0], tuple(shape[2:])
    masks = np.asarray(superpixels)
    if masks.ndim == 2:
        masks = np.broadcast_to(masks, (b,) + masks.shape)
    if masks.shape != (b,) + hw:
        raise ValueError(
            f"superpixels must have shape (H, W) or (B, H, W) = {(b,) + hw}, got {masks.shape}"
        )
    if not np.issubdtype(masks.dtype, np.integer):
        raise ValueError("superpixels must be an integer array of segment ids")
    return masks


def attribute(
    model: Any,
    inputs: Any,
    method: str,
    target: int | Sequence[int] = 0,
    *,
    preprocess: Any = None,
    layer: Any = None,
    baseline: Any = None,
    superpixels: np.ndarray | None = None,
    grey: float = 0.5,
    n_samples: int | None = None,
    seed: int | None = None,
    reduce: Literal["sum"] | None = None,
    **options: Any,
) -> np.ndarray:
    """Compute a captum attribution map for each image of a batch.

    Parameters
    ----------
    model : Classifier or torch.nn.Module
        A :class:`~propgrad.models.Classifier` (its ``.model`` is attributed,
        its ``.preprocess`` undone where needed), or a module mapping model
        inputs (B, 3, H, W) to logits (B, C). Put a module in eval mode first
        (a warning is raised otherwise). It is never modified: when it
        contains in-place activations (``ReLU(inplace=True)``), Guided Grad-CAM
        and DeepLift run on a copy with in-place switched off.
    inputs : torch.Tensor
        Model inputs (B, 3, H, W), i.e. preprocessed images, on the model's
        device.
    method : str
        One of :data:`METHODS`.
    target : int or sequence of int, optional
        Output index to explain; 0 is the cat logit of the Cats-vs-Dogs models.
    preprocess : Preprocess, optional
        The preprocessing that produced ``inputs`` (default: the classifier's
        own). Required with a plain module for Occlusion (unless ``baseline``
        is given) and for LIME / Kernel SHAP (unless ``superpixels`` are
        given), which must undo its normalisation.
    layer : torch.nn.Module, optional
        Guided Grad-CAM only: the layer for the Grad-CAM part, a submodule of
        the module. Default: chosen per architecture by
        :func:`~propgrad.baselines.layers.gradcam_layer` (the last conv on a
        spatial map for CNNs, the tokens entering the last block for ViTs, the
        last stage for Swin).
    baseline : float or torch.Tensor, optional
        Reference input in the *normalised* space for Integrated Gradients,
        DeepLift, LIME and Kernel SHAP (what features are replaced by). Default:
        captum's zero, which is the mean colour of the normalisation (the
        mid-grey image for the authors' [-1, 1] ConvMixers, the ImageNet mean
        colour for ImageNet-normalised models). For Occlusion it overrides
        ``grey``.
    superpixels : ndarray of int, optional
        LIME / Kernel SHAP only: feature mask (H, W) or (B, H, W) of segment ids.
        Default: :func:`~propgrad.baselines.superpixels.slic_superpixels` of
        the un-normalised inputs (100 segments, compactness 1).
    grey : float, optional
        Occlusion only: the patch's grey level in picture space [0, 1]
        (default 0.5, the average grey), mapped into the model's input space
        with ``preprocess.value_of(grey)``, so the occluded patch *is* grey
        once the normalisation is undone.
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
        (default 16 here, 1 in captum; results are identical, only the
        batching differs), or ``sliding_window_shapes`` / ``strides`` to
        change the occlusion window (default (3, 9, 9) / (3, 4, 4): a 9x9 patch
        over all channels at once, stride 4 in x and y).

    Returns
    -------
    ndarray of float32
        Attributions of shape (B, 3, H, W), or (B, H, W) with ``reduce="sum"``.
        Positive values speak for the ``target`` output (red in
        :func:`propgrad.plots.plot_attribution_pair`), negative values against it.

    Raises
    ------
    ValueError
        For an unknown method or ``reduce``, malformed inputs, a missing
        preprocessing where one is needed, a model without a Grad-CAM layer,
        or superpixels of the wrong shape.

    Notes
    -----
    * Guided Backprop (inside Guided Grad-CAM) only rewrites ``nn.ReLU``
      modules; GELU models such as the ConvMixer and ViTs get plain gradients
      there.
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
    validate_inputs(inputs)
    if reduce not in (None, "sum"):
        raise ValueError(f"reduce must be None or 'sum', got {reduce!r}")
    net, preprocess = split_model(model, preprocess)
    if getattr(net, "training", False):
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
            net,
            inputs.detach(),
            method,
            target,
            preprocess=preprocess,
            layer=layer,
            baseline=baseline,
            superpixels=superpixels,
            grey=grey,
            n_samples=n_samples,
            seed=seed,
            options=options,
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


def _occlusion_baseline(inputs: Any, preprocess: Any, grey: float) -> Any:
    """The normalised value of a uniform ``grey`` picture, shaped like one input."""
    import torch

    pre = validate_preprocess(preprocess, "Occlusion's grey patch")
    value = torch.as_tensor(pre.value_of(grey), dtype=inputs.dtype, device=inputs.device)
    return value.view(1, 3, 1, 1).expand_as(inputs[:1]).contiguous()


def _captum_attribute(
    net: Any,
    inputs: Any,
    method: str,
    target: Any,
    *,
    preprocess: Any,
    layer: Any,
    baseline: Any,
    superpixels: Any,
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
            from propgrad.baselines.layers import gradcam_layer

            size = tuple(inputs.shape[-2:])
            chosen = _once(
                ("gradcam_layer", id(net), size),
                net,
                lambda: gradcam_layer(net, input_size=size),
            )
            net, layer = chosen.model, chosen.layer
        net, net_layer = _without_inplace(net, layer)
        return cattr.GuidedGradCam(net, net_layer).attribute(inputs, target=target, **options)
    if method == "integrated_gradients":
        # the path's points in chunks: all n_steps (captum: 50) in one batch of a
        # full-resolution model keep gigabytes of activations for the backward pass
        options.setdefault("internal_batch_size", IG_CHUNK)
        return cattr.IntegratedGradients(net).attribute(
            inputs, baselines=baseline, target=target, **options
        )
    if method == "deeplift":
        net, _ = _without_inplace(net)
        return cattr.DeepLift(net).attribute(inputs, baselines=baseline, target=target, **options)
    if method == "occlusion":
        if baseline is None:
            baseline = _occlusion_baseline(inputs, preprocess, grey)
        options.setdefault("sliding_window_shapes", (3, 9, 9))
        options.setdefault("strides", (3, 4, 4))
        options.setdefault("perturbations_per_eval", 16)
        return cattr.Occlusion(net).attribute(inputs, baselines=baseline, target=target, **options)
    # lime / kernel_shap: one image at a time, each with its own feature mask
    if superpixels is None:
        masks = slic_superpixels(inputs, validate_preprocess(preprocess, "SLIC superpixels"))
    else:
        masks = _check_superpixels(superpixels, tuple(inputs.shape))
    explainer = cattr.Lime(net) if method == "lime" else cattr.KernelShap(net)
    if n_samples is not None:
        options["n_samples"] = int(n_samples)
    # evaluate the perturbed samples in batches (captum draws them in the same order,
    # so the maps are the same; one forward pass per sample is ~10x slower on a CPU)
    options.setdefault("perturbations_per_eval", 16)
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
            maps.append(_whole_image_effect(net, inputs[i : i + 1], base_i, targets[i]))
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
    return torch.cat(maps, dim=0)


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
    preprocess: Any = None,
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
    model : Classifier or torch.nn.Module
        The classifier (see :func:`attribute`).
    before, after : torch.Tensor
        Model inputs (B, 3, H, W) before and after the intervention, paired by
        index.
    method : str
        One of :data:`METHODS`.
    target : int or sequence of int, optional
        Output index to explain (0, the cat logit, by default).
    preprocess : Preprocess, optional
        The preprocessing of the inputs (default: the classifier's own); see
        :func:`attribute`.
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
    validate_inputs(before)
    validate_inputs(after)
    if tuple(before.shape) != tuple(after.shape):
        raise ValueError(
            f"before and after must have the same shape, got {tuple(before.shape)} "
            f"and {tuple(after.shape)}"
        )
    net, preprocess = split_model(model, preprocess)
    if method in ("lime", "kernel_shap"):
        if kw.get("superpixels") is None:
            kw["superpixels"] = slic_superpixels(
                before, validate_preprocess(preprocess, "SLIC superpixels")
            )
        kw["seed"] = seed
    with _setup_once():  # one copy of the model, one Grad-CAM layer for both maps
        a0 = attribute(net, before, method, target, preprocess=preprocess, **kw)
        a1 = attribute(net, after, method, target, preprocess=preprocess, **kw)
    a0, a1 = a0.astype(np.float64), a1.astype(np.float64)
    diff = (a1 - a0).reshape(a0.shape[0], -1)
    return np.mean(diff**2, axis=1)


def plot_attributions(
    model: Any,
    before: Any,
    after: Any,
    methods: Sequence[str] = METHODS,
    *,
    target: int = 0,
    preprocess: Any = None,
    n_samples: int | None = None,
    seed: int | None = 0,
    axes: Any = None,
    **options: Any,
) -> tuple[Any, Any]:
    """Attribute a picture and its intervened version, and show the maps in two rows.

    One call for the paper's Fig. 4 / Fig. 18 layout: both pictures are
    preprocessed for the model, every method explains ``target`` in both
    (LIME and Kernel SHAP on the *before* picture's superpixels, with common
    random numbers, as in :func:`attribution_change`), and
    :func:`propgrad.plots.plot_attribution_pair` draws the un-normalised
    pictures beside the channel-summed maps.

    Parameters
    ----------
    model : Classifier or torch.nn.Module
        As for :func:`attribute`.
    before, after : PIL.Image.Image or ndarray
        The two pictures (uint8 (H, W, 3) arrays or PIL images), e.g. the first
        and the last frame of a sweep.
    methods : sequence of str, optional
        Methods to show, in column order (default: all of :data:`METHODS`).
    target : int, optional
        Output index to explain.
    preprocess : Preprocess, optional
        The model's preprocessing (default: the classifier's own; required for
        a plain module).
    n_samples, seed : optional
        LIME / Kernel SHAP settings, see :func:`attribute`.
    axes : ndarray of matplotlib Axes, optional
        A (2, 1 + len(methods)) grid to draw into.
    **options
        Passed to :func:`attribute` for every method.

    Returns
    -------
    fig, axes
        As :func:`propgrad.plots.plot_attribution_pair`.
    """
    import torch

    from propgrad.plots import plot_attribution_pair

    net, pre = split_model(model, preprocess)
    pre = validate_preprocess(pre, "plot_attributions")
    methods = [_validate_method(m) for m in methods]
    param = next(net.parameters(), None)
    pair = torch.stack([pre(before), pre(after)]).float()
    if param is not None:
        pair = pair.to(param.device)
    maps = {}
    for method in methods:
        kw = dict(options)
        if method in ("lime", "kernel_shap"):
            kw["superpixels"] = slic_superpixels(pair[:1], pre)[0]
            kw["seed"] = seed
        maps[method] = attribute(
            net, pair, method, target, preprocess=pre, n_samples=n_samples, reduce="sum", **kw
        )
    pictures = pre.unnormalise(pair)
    return plot_attribution_pair(
        pictures[0],
        pictures[1],
        [maps[m][0] for m in methods],
        [maps[m][1] for m in methods],
        [METHOD_LABELS[m] for m in methods],
        axes,
    )
