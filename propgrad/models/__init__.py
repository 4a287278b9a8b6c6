"""Models: one factory for every classifier, with the preprocessing that belongs to it.

:func:`create_classifier` builds a timm architecture (or the ConvMixer laid out
like the authors' checkpoints) by name, from local weight files, and returns a
:class:`Classifier` holding the model and its :class:`Preprocess`. The authors'
Cats-vs-Dogs ConvMixers (:func:`propgrad.authors.load_cvd_convmixer`) go
through the same path.

Names are loaded lazily on first access (PEP 562), so importing this package
does not import torch until a model is actually built.
"""

from __future__ import annotations

from propgrad._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Classifier": "propgrad.models.classifier",
    "create_classifier": "propgrad.models.classifier",
    "load_checkpoint": "propgrad.models.classifier",
    "read_state_dict": "propgrad.models.classifier",
    "model_identity": "propgrad.models.classifier",
    "Preprocess": "propgrad.models.preprocess",
    "NORMALISATIONS": "propgrad.models.preprocess",
    "ConvMixer": "propgrad.models.convmixer",
    "ClipModel": "propgrad.models.clip",
    "ZeroShotCLIP": "propgrad.models.clip",
    "DescriptorStats": "propgrad.models.clip",
    "load_clip": "propgrad.models.clip",
    "zero_shot_clip": "propgrad.models.clip",
    "descriptor_stats": "propgrad.models.clip",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("propgrad.models", globals(), _EXPORTS)
