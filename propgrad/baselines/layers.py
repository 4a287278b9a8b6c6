"""The layer Guided Grad-CAM explains, chosen per architecture family.

Grad-CAM weights the channels of one spatial feature map (B, D, h, w) by the
mean gradient of the explained logit and keeps the positive part of their sum.
The paper uses "the last convolutional layer" of its models (appendix B.4).
That rule needs care outside plain CNNs, so :func:`gradcam_layer` picks the
map per family:

CNNs (ConvMixer, ResNet, EfficientNet, ConvNeXt, DenseNet, MobileNet, ...)
    The last ``nn.Conv2d`` that runs on a map larger than 1 x 1, found by
    one probe forward pass at the size of the explained images
    (:func:`last_conv_layer`): squeeze-and-excitation convs and convs after
    the global pooling (e.g. timm MobileNetV3's ``conv_head``) see 1 x 1 maps,
    whose Grad-CAM is a constant, and are skipped. At 224 px this is
    ``layer4[-1].conv2`` for a ResNet, ``conv_head`` for an EfficientNet or
    MobileNetV2, the last block's depthwise ``conv_dw`` for a timm ConvNeXt
    (``mlp.fc2``, a 1 x 1 conv, in the ``conv_mlp`` variants such as
    ``convnext_atto``; ``layer=model.stages[-1]`` takes the stage output
    instead), the last dense layer's 3 x 3 ``conv2`` (its growth-rate
    channels only) for a DenseNet, the last pointwise conv of the blocks
    (``blocks[-1][-1].conv``) for a MobileNetV3, and the pointwise conv of
    the last mixer block for the ConvMixer.
Vision transformers (timm ``VisionTransformer`` and kin: models with
``blocks``, ``patch_embed`` and ``num_prefix_tokens``)
    Not the patch-embedding conv (a linear map of pixels), but the patch
    tokens *entering the last block*, reshaped to a (B, D, h, w) map; the
    prefix (class, register) tokens are kept aside and put back (the usual
    ViT Grad-CAM; pytorch-grad-cam takes the same tokens after the last
    block's ``norm1``). Not the tokens leaving the last block: with
    class-token pooling (ViT-B/16) those patch tokens never reach the head,
    so their gradient, and every Grad-CAM map, would be exactly zero.
Swin transformers (timm ``SwinTransformer``, NHWC stage outputs)
    The output of the last stage, permuted from (B, h, w, D) to (B, D, h, w).

For the two transformer families the map is not the output of any module of
the model, so :func:`gradcam_layer` returns a :class:`GradCamView`: a wrapper
whose forward is exactly the model's (same output, bit for bit), with a
:class:`TokenMap` module whose output is the map, as captum's
``GuidedGradCam(view, view.token_map)`` needs. The wrapper shares the
model's parameters; nothing of the model is changed.

A plain ``nn.Module`` is inspected as it is; pass ``layer=...`` to
:func:`propgrad.baselines.attribute` for anything else.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import torch
from torch import nn

__all__ = ["GradCamLayer", "GradCamView", "TokenMap", "gradcam_layer", "last_conv_layer"]

#: Input size of the probe forward pass when neither the caller nor the model names one.
_DEFAULT_PROBE = (224, 224)

_probe_cache: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], str]] = (
    weakref.WeakKeyDictionary()
)


class GradCamLayer(NamedTuple):
    """Where Guided Grad-CAM looks in a model.

    Attributes
    ----------
    model : torch.nn.Module
        What to attribute: the model itself, or a :class:`GradCamView` of it
        (same output) for transformers.
    layer : torch.nn.Module
        A submodule of ``model`` whose output is a (B, D, h, w) map.
    family : str
        ``"cnn"``, ``"vit"`` or ``"swin"``.
    description : str
        Which map it is, in words (for a figure caption or a book page).
    """

    model: Any
    layer: Any
    family: str
    description: str


class TokenMap(nn.Module):
    """Reshape tokens to a feature map; the layer Grad-CAM hooks in a :class:`GradCamView`.

    Parameters
    ----------
    layout : {"tokens", "nhwc"}
        ``"tokens"``: input (B, h * w, D) in row-major patch order;
        ``"nhwc"``: input (B, h, w, D).
    """

    def __init__(self, layout: str = "tokens") -> None:
        super().__init__()
        if layout not in ("tokens", "nhwc"):
            raise ValueError(f"layout must be 'tokens' or 'nhwc', got {layout!r}")
        self.layout = layout

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """Return the (B, D, h, w) map of ``x`` (``grid`` = (h, w) for token input)."""
        if self.layout == "nhwc":
            return x.permute(0, 3, 1, 2)
        if grid is None:
            raise ValueError("token input needs grid=(h, w)")
        b, n, d = x.shape
        h, w = grid
        if h * w != n:
            raise ValueError(f"{n} patch tokens do not form a {h} x {w} grid")
        return x.transpose(1, 2).reshape(b, d, h, w)

    def extra_repr(self) -> str:
        """Show the layout."""
        return f"layout={self.layout!r}"


def _patch_grid(model: Any, n_patches: int, input_hw: tuple[int, int] | None) -> tuple[int, int]:
    embed = model.patch_embed
    grid = getattr(embed, "grid_size", None)
    if grid is not None and int(grid[0]) * int(grid[1]) == n_patches:
        return int(grid[0]), int(grid[1])
    if input_hw is not None and hasattr(embed, "dynamic_feat_size"):
        grid = embed.dynamic_feat_size(tuple(input_hw))
        if int(grid[0]) * int(grid[1]) == n_patches:
            return int(grid[0]), int(grid[1])
    raise ValueError(
        f"cannot lay {n_patches} patch tokens out as a grid for this ViT; pass layer=..."
    )


class GradCamView(nn.Module):
    """A transformer whose hidden tokens pass through a map-shaped :class:`TokenMap`.

    ``view(x)`` equals ``model(x)`` exactly: during the forward pass a hook
    sends the hidden tokens through ``token_map`` (a pure reshape to
    (B, D, h, w)) and back, so captum can take Grad-CAM of
    ``view.token_map``. The hooks live only for the duration of one forward
    pass; the model itself is not modified.

    Parameters
    ----------
    model : torch.nn.Module
        A timm ``VisionTransformer``-like model (``family="vit"``: ``blocks``,
        ``patch_embed``, ``num_prefix_tokens``) or ``SwinTransformer``
        (``family="swin"``: ``layers`` with NHWC outputs).
    family : {"vit", "swin"}
        Where the map is taken: ViT, the tokens entering the last block
        (prefix tokens kept aside and restored); Swin, the output of the last
        stage.
    """

    def __init__(self, model: Any, family: str) -> None:
        super().__init__()
        if family not in ("vit", "swin"):
            raise ValueError(f"family must be 'vit' or 'swin', got {family!r}")
        self.model = model
        self.family = family
        self.token_map = TokenMap("tokens" if family == "vit" else "nhwc")
        self._input_hw: tuple[int, int] | None = None

    @property
    def hooked(self) -> Any:
        """The model's module at whose input (ViT) or output (Swin) the map is taken."""
        return self.model.blocks[-1] if self.family == "vit" else self.model.layers[-1]

    def _tokens_through_map(self, tokens: torch.Tensor) -> torch.Tensor:
        n_prefix = int(getattr(self.model, "num_prefix_tokens", 0))
        prefix, patches = tokens[:, :n_prefix], tokens[:, n_prefix:]
        grid = _patch_grid(self.model, patches.shape[1], self._input_hw)
        fmap = self.token_map(patches, grid)
        return torch.cat([prefix, fmap.flatten(2).transpose(1, 2)], dim=1)

    def _vit_pre_hook(self, module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        return (self._tokens_through_map(args[0]), *args[1:]), kwargs

    def _swin_hook(self, module: Any, args: tuple, output: torch.Tensor) -> torch.Tensor:
        return self.token_map(output).permute(0, 2, 3, 1).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model, routing the hidden map through ``token_map``."""
        self._input_hw = (int(x.shape[-2]), int(x.shape[-1]))
        if self.family == "vit":
            handle = self.hooked.register_forward_pre_hook(self._vit_pre_hook, with_kwargs=True)
        else:
            handle = self.hooked.register_forward_hook(self._swin_hook)
        try:
            return self.model(x)
        finally:
            handle.remove()


def _family(model: Any) -> str:
    if (
        hasattr(model, "blocks")
        and hasattr(model, "patch_embed")
        and hasattr(model, "num_prefix_tokens")
        and len(model.blocks) > 0
    ):
        return "vit"
    if (
        hasattr(model, "layers")
        and hasattr(model, "patch_embed")
        and getattr(model, "output_fmt", None) == "NHWC"
        and len(model.layers) > 0
    ):
        return "swin"
    return "cnn"


def _probe_size(model: Any, input_size: Any) -> tuple[int, int]:
    if input_size is None:
        cfg = getattr(model, "pretrained_cfg", None)
        input_size = cfg.get("input_size") if isinstance(cfg, dict) else None
        if not input_size:
            return _DEFAULT_PROBE
        input_size = tuple(input_size)[-2:]
    if isinstance(input_size, int):
        input_size = (input_size, input_size)
    size = tuple(int(v) for v in input_size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"input_size must be an int or (height, width), got {input_size!r}")
    return size[0], size[1]


def _is_patch_embedding(name: str) -> bool:
    return "patch_embed" in name.split(".")


def last_conv_layer(model: Any, input_size: int | tuple[int, int] | None = None) -> Any:
    """Return the last ``nn.Conv2d`` of ``model`` that runs on a spatial map.

    Parameters
    ----------
    model : torch.nn.Module
        A CNN mapping (B, 3, H, W) to logits.
    input_size : int or (int, int), optional
        Image size of the probe forward pass: one zero image runs through the
        model (in eval mode, without gradients) to record the order in which
        the convs run and the size of their outputs. Default: the model's timm
        ``pretrained_cfg["input_size"]``, else 224.

    Returns
    -------
    torch.nn.Conv2d
        The last conv in forward order whose output is larger than 1 x 1.
        Convs on 1 x 1 maps (squeeze-and-excitation, heads after the global
        pooling) would give a constant Grad-CAM map. When the probe forward
        fails (e.g. a model that only accepts other sizes), the last conv in
        registration order is returned.

    Raises
    ------
    ValueError
        If the model has no ``Conv2d`` outside a patch embedding (e.g. a
        transformer that :func:`gradcam_layer` does not recognise).
    """
    named = [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d) and not _is_patch_embedding(name)
    ]
    if not named:
        raise ValueError(
            "the model has no torch.nn.Conv2d layer outside a patch embedding; "
            "pass layer=... to use Guided Grad-CAM"
        )
    size = _probe_size(model, input_size)
    try:
        cached = _probe_cache.setdefault(model, {})
    except TypeError:  # not weak-referenceable
        cached = {}
    if size not in cached:
        cached[size] = _probe(model, named, size)
    return model.get_submodule(cached[size])


def _probe(model: Any, named: list[tuple[str, Any]], size: tuple[int, int]) -> str:
    runs: list[tuple[str, int]] = []
    hooks = [
        m.register_forward_hook(
            lambda mod, args, out, name=name: runs.append((name, int(out.shape[-2:].numel())))
        )
        for name, m in named
    ]
    was_training = model.training
    try:
        param = next(model.parameters(), None)
        like = {"device": param.device, "dtype": param.dtype} if param is not None else {}
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, *size, **like))
    except Exception:  # the probe is a refinement; fall back to registration order
        runs = []
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    spatial = [name for name, area in runs if area > 1]
    return spatial[-1] if spatial else named[-1][0]


def _conv_description(model: Any, conv: Any) -> str:
    name = next(n for n, m in model.named_modules() if m is conv)
    return f"the last convolution on a spatial map, {name!r} ({conv.out_channels} channels)"


def gradcam_layer(model: Any, input_size: int | tuple[int, int] | None = None) -> GradCamLayer:
    """Choose the feature map that Guided Grad-CAM explains, for any architecture.

    Parameters
    ----------
    model : torch.nn.Module or Classifier
        The classifier (a :class:`~propgrad.models.Classifier`'s ``.model`` is
        used).
    input_size : int or (int, int), optional
        CNNs only: image size of the probe pass of :func:`last_conv_layer`.
        Default: a classifier's ``preprocess.size``, else the model's timm
        input size, else 224. :func:`~propgrad.baselines.attribute` passes the
        size of the images it explains.

    Returns
    -------
    GradCamLayer
        ``(model, layer, family, description)``; use as
        ``captum.attr.GuidedGradCam(g.model, g.layer)``. For CNNs ``g.model``
        is the model itself; for ViTs and Swin transformers it is a
        :class:`GradCamView` (same output as the model). The module docstring
        lists the layer of each family.

    Raises
    ------
    ValueError
        If no suitable map is found (pass ``layer=...`` to
        :func:`propgrad.baselines.attribute` then).

    Examples
    --------
    >>> import timm  # doctest: +SKIP
    >>> gradcam_layer(timm.create_model("resnet18")).description  # doctest: +SKIP
    "the last convolution on a spatial map, 'layer4.1.conv2' (512 channels)"
    """
    if not isinstance(model, nn.Module) and hasattr(model, "model"):  # a Classifier
        if input_size is None and getattr(model, "preprocess", None) is not None:
            input_size = tuple(model.preprocess.size)
        model = model.model
    family = _family(model)
    if family == "vit":
        view = GradCamView(model, "vit")
        n_prefix = int(model.num_prefix_tokens)
        prefix = f"; the {n_prefix} prefix token(s) are kept aside" if n_prefix else ""
        text = (
            f"the patch tokens entering the last block (blocks.{len(model.blocks) - 1}), "
            f"reshaped to a (D, h, w) map{prefix}"
        )
        return GradCamLayer(view, view.token_map, "vit", text)
    if family == "swin":
        view = GradCamView(model, "swin")
        text = (
            f"the output of the last stage (layers.{len(model.layers) - 1}), "
            "permuted from (h, w, D) to a (D, h, w) map"
        )
        return GradCamLayer(view, view.token_map, "swin", text)
    conv = last_conv_layer(model, input_size)
    return GradCamLayer(model, conv, "cnn", _conv_description(model, conv))
