"""Models: the authors' Cats-vs-Dogs ConvMixers and other classifiers.

Names are loaded lazily on first access (PEP 562), so importing this package
does not import torch until a model is actually built.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'propgrad.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
