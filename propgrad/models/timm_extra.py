"""Architectures propgrad registers with timm, so they are built by name like any other.

timm registers its ConvMixers only at fixed sizes (``convmixer_768_32``,
``convmixer_1024_20_ks9_p14``, ``convmixer_1536_20``) and their entry points do
not accept other widths or depths. The training-dynamics chapter needs a
CPU-sized member of that family, built, pre-trained and loaded exactly like
the others (``create_classifier(arch, pretrained=<file>)``,
:func:`propgrad.pretrain.pretrained_weights`). Importing this module registers

``propgrad_convmixer``
    timm's own :class:`timm.models.convmixer.ConvMixer` with free ``dim``,
    ``depth``, ``kernel_size`` and ``patch_size`` (defaults: 128, 6, 5, 2) and
    the data configuration of ``convmixer_1024_20_ks9_p14`` (ImageNet mean and
    std, head named ``head``), so a weights file loads through timm's
    ``pretrained_cfg_overlay=dict(file=...)`` with the head replaced.

Registration happens once per process, at import; modules that name these
architectures (e.g. :func:`propgrad.runs.build_classifier`) import this one, so worker processes
that unpickle their tasks register them too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: Names this module registers with timm.
REGISTERED = ("propgrad_convmixer",)

_CONVMIXER_DEFAULTS = {"dim": 128, "depth": 6, "kernel_size": 5, "patch_size": 2}


def _convmixer_cfg() -> Any:
    from timm.models import get_pretrained_cfg

    base = get_pretrained_cfg("convmixer_1024_20_ks9_p14")
    return dataclasses.replace(
        base, architecture="propgrad_convmixer", tag=None, hf_hub_id=None, url=""
    )


def propgrad_convmixer(pretrained: bool = False, **kwargs: Any) -> Any:
    """A ConvMixer of any size (timm's class), for ``timm.create_model("propgrad_convmixer")``.

    Parameters
    ----------
    pretrained : bool, optional
        Load weights; only from a local file given as
        ``pretrained_cfg_overlay=dict(file=...)`` (there is no hub copy).
    **kwargs
        ``dim``, ``depth``, ``kernel_size``, ``patch_size`` and any other
        argument of :class:`timm.models.convmixer.ConvMixer`
        (``num_classes``, ``act_layer``, ...).

    Returns
    -------
    timm.models.convmixer.ConvMixer
    """
    from timm.models._builder import build_model_with_cfg
    from timm.models.convmixer import ConvMixer

    kwargs = {**_CONVMIXER_DEFAULTS, **kwargs}
    if kwargs.get("pretrained_cfg") is None:  # timm.create_model passes None explicitly
        kwargs["pretrained_cfg"] = _convmixer_cfg()
    out_indices = kwargs.pop("out_indices", 3)
    return build_model_with_cfg(
        ConvMixer,
        "propgrad_convmixer",
        pretrained,
        feature_cfg=dict(out_indices=out_indices, feature_cls="getter"),
        **kwargs,
    )


def register() -> None:
    """Register :data:`REGISTERED` with timm (once; later calls do nothing)."""
    import timm
    from timm.models import register_model

    if "propgrad_convmixer" not in timm.list_models("propgrad_*"):
        register_model(propgrad_convmixer)


register()

__all__ = ["REGISTERED", "propgrad_convmixer", "register"]
