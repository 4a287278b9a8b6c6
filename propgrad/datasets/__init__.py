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
    "CelebA": "propgrad.datasets.celeba",
    "CelebAAttributes": "propgrad.datasets.celeba",
    "CelebAImage": "propgrad.datasets.celeba",
    "celeba_young_split": "propgrad.datasets.celeba",
    "read_celeba_attributes": "propgrad.datasets.celeba",
    "read_celeba_partition": "propgrad.datasets.celeba",
    "IsicImage": "propgrad.datasets.isic",
    "IsicSplit": "propgrad.datasets.isic",
    "list_isic": "propgrad.datasets.isic",
    "isic_split": "propgrad.datasets.isic",
    "isic_reserved_patches": "propgrad.datasets.isic",
    "load_isic_images": "propgrad.datasets.isic",
    "load_isic_patch": "propgrad.datasets.isic",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports("propgrad.datasets", globals(), _EXPORTS)
