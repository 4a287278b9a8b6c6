"""The Cats-vs-Dogs chapter (``notebooks/cats_vs_dogs.md``; Sec. 4.1 and appendix B).

All that only this chapter needs:

``toy``
    :class:`ToyCatsDogs`, the demo profile's data source: the toy world's
    three splits, three ConvMixers trained on them, exact fur and background
    sweeps of the paper's four image groups, the flip task's pool.
``real``
    :class:`KaggleCatsDogs`, the paper profile's data source with the same
    interface: Kaggle images with fur labels, the authors' three models,
    InstructPix2Pix fur edits and the designed background sweep.
``kaggle``
    The reader of the Kaggle folder and its fur-label CSV.
``inputs``
    :data:`PAPER_INPUTS`, what the paper profile needs (the Kaggle folder, the
    fur labels, the editor, the concept section's images, words and CLIP),
    checked before anything runs (:func:`propgrad.profiles.check_inputs`).
``paper``
    The paper's numbers and labels (Tables 1, 2, 4 to 7; its four groups).
``report``
    The chapter's tables under the paper's labels, recorded as ``tableN``.
``claims``
    The sentences the page states about its results, checked.

The authors' released models, photos and sweep are shared with other pages
and live in :mod:`propgrad.authors`.
"""

from __future__ import annotations

from propgrad.chapters.cats_vs_dogs.inputs import PAPER_INPUTS
from propgrad.chapters.cats_vs_dogs.real import KaggleCatsDogs
from propgrad.chapters.cats_vs_dogs.toy import ToyCatsDogs

__all__ = ["PAPER_INPUTS", "KaggleCatsDogs", "ToyCatsDogs"]
