"""The training-dynamics chapter (``notebooks/training_dynamics.md``; Sec. 4.3 and appendix D).

All that only this chapter needs:

``toy``
    :class:`ToyFaces`, the demo profile's data source: the portrait world, the
    two local faces picked by a rule with their exact hair sweeps, the
    CPU-sized stand-ins of the paper's eight families (``STANDINS``) and
    their pre-training on the shapes world.
``real``
    :class:`CelebAFaces`, the paper profile's data source with the same
    interface: CelebA's balanced "young" split, the paper's eight timm
    models and training settings, ImageNet weights from local files,
    InstructPix2Pix grey-hair edits of two test faces.
``celeba``
    The reader of the CelebA folder in its official layout.
``dynamics``
    The runs of a study (every model from both starts, every epoch's
    checkpoint kept) and the scores of every checkpoint along the sweeps.
``inputs``
    :data:`PAPER_INPUTS`, what the paper profile needs (the CelebA folder, the
    ImageNet weights, the editor), checked before anything runs
    (:func:`propgrad.profiles.check_inputs`).
``paper``
    The paper's numbers and labels (Tables 11 and 12).
``report``
    The chapter's tables under the paper's labels and the checks its claims
    read, recorded.
``figures``
    The plots the chapter draws more than once.
``claims``
    The sentences the page states about its results, checked.
"""

from __future__ import annotations

from propgrad.chapters.training_dynamics.inputs import PAPER_INPUTS
from propgrad.chapters.training_dynamics.real import CelebAFaces
from propgrad.chapters.training_dynamics.toy import ToyFaces

__all__ = ["PAPER_INPUTS", "CelebAFaces", "ToyFaces"]
