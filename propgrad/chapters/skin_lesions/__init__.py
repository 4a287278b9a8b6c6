"""The skin-lesion chapter (``notebooks/skin_lesions.md``; Sec. 4.2 and appendix C).

All that only this chapter needs:

``toy``
    :class:`ToyLesions`, the demo profile's data source: the dermoscopy world's
    two splits, its intervention patches blended into test melanomas, and
    backbones pre-trained on a generic toy task as the ImageNet stand-in.
``real``
    :class:`IsicLesions`, the paper profile's data source with the same
    interface: ISIC images, their segmented patches, local ImageNet weights.
``isic``
    The reader of the ISIC folder (layout, splits, images and patch masks).
``models``
    The four architectures (and their stand-ins by profile) in three variants,
    as :class:`propgrad.runs.TrainSpec` training runs.
``interventions``
    The paper's patch-intervention design, its sweeps and their scores.
``fliptask``
    The flip-prediction task of Table 2 (bottom), per architecture.
``inputs``
    :data:`PAPER_INPUTS`, what the paper profile needs (the ISIC folder, the
    ImageNet weights), checked before anything runs
    (:func:`propgrad.profiles.check_inputs`).
``paper``
    The paper's numbers and labels (Tables 2 (bottom), 3 and 10).
``report``
    The chapter's tables under the paper's labels, recorded for the claims.
``claims``
    The sentences the page states about its results, checked.

The package exports the two data sources and the calls the notebook makes.
"""

from __future__ import annotations

from propgrad.chapters.skin_lesions.fliptask import flip_design, patch_flip_task
from propgrad.chapters.skin_lesions.inputs import PAPER_INPUTS
from propgrad.chapters.skin_lesions.interventions import local_curves, patch_interventions
from propgrad.chapters.skin_lesions.models import (
    ARCHITECTURES,
    TOY_TRAINING,
    architecture_table,
    lesion_runs,
    toy_models,
    train_models,
    training_settings,
)
from propgrad.chapters.skin_lesions.real import IsicLesions
from propgrad.chapters.skin_lesions.toy import ToyLesions

__all__ = [
    "PAPER_INPUTS",
    "ARCHITECTURES",
    "TOY_TRAINING",
    "IsicLesions",
    "ToyLesions",
    "architecture_table",
    "flip_design",
    "lesion_runs",
    "local_curves",
    "patch_flip_task",
    "patch_interventions",
    "toy_models",
    "train_models",
    "training_settings",
]
