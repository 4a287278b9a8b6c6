"""Models: the authors' Cats-vs-Dogs ConvMixers and other classifiers.

Names are loaded lazily on first access (PEP 562), so importing this package
does not import torch until a model is actually built.
"""

from __future__ import annotations

from propgrad._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ConvMixer": "propgrad.models.convmixer",
    "CVD_CLASSES": "propgrad.models.authors",
    "CVD_MODEL_NAMES": "propgrad.models.authors",
    "CVD_IMAGE_NAMES": "propgrad.models.authors",
    "cvd_preprocess": "propgrad.models.authors",
    "load_cvd_convmixer": "propgrad.models.authors",
    "load_convmixer_checkpoint": "propgrad.models.authors",
    "load_cvd_image": "propgrad.models.authors",
    "CVD_AUTHORS_REPORTED": "propgrad.models.authors",
    "CVD_CHECKPOINT_ACCURACY": "propgrad.models.authors",
    "CVD_PAPER_TABLE1": "propgrad.models.authors",
    "CVD_PAPER_TABLE5": "propgrad.models.authors",
    "CVD_PAPER_TABLE6": "propgrad.models.authors",
    "CVD_PAPER_TABLE7": "propgrad.models.authors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("propgrad.models", globals(), _EXPORTS)
