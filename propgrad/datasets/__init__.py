"""Readers for the real datasets of the paper profile, one module per dataset.

Each reader checks the folder layout the dataset ships with and raises a
:class:`FileNotFoundError` or :class:`ValueError` that says what is missing and
where to put it. Names are loaded lazily (PEP 562).

Modules
-------
cats_dogs
    Kaggle "Dogs vs. Cats" images plus a fur-label CSV (the paper's three splits).
"""

from __future__ import annotations

from propgrad._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "cats_dogs_split": "propgrad.datasets.cats_dogs",
    "LabelledImage": "propgrad.datasets.cats_dogs",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports("propgrad.datasets", globals(), _EXPORTS)
