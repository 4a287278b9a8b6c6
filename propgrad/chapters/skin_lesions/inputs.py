"""What the chapter needs at the paper profile, checked before anything runs.

:data:`PAPER_INPUTS` lists the notebook parameters that name the paper
profile's data and weights; the notebook's first cell after its parameters
passes them to :func:`propgrad.profiles.check_inputs`. The folder's full
check (every listed image, every patch mask) stays with the reader,
:func:`propgrad.chapters.skin_lesions.isic.list_isic`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from propgrad.chapters.skin_lesions.isic import ISIC_COLUMNS
from propgrad.chapters.skin_lesions.models import ARCHITECTURES
from propgrad.profiles import FOLDER, PaperInput, csv_columns, imagenet_weights


def paper_architectures(namespace: Mapping[str, Any]) -> dict[str, str]:
    """The timm names that need ImageNet weights: paper label -> name.

    Parameters
    ----------
    namespace : mapping
        The notebook's parameters; ``architectures`` (label -> timm name or
        ``{"arch": ...}``) replaces the paper's when given.

    Returns
    -------
    dict
        Label -> timm name.
    """
    given = namespace.get("architectures") or ARCHITECTURES["paper"]
    return {label: spec if isinstance(spec, str) else spec["arch"] for label, spec in given.items()}


PAPER_INPUTS: tuple[PaperInput, ...] = (
    PaperInput(
        "data_dir",
        FOLDER,
        "an ISIC folder holding metadata.csv (columns image_id,diagnosis,colorful_patch; "
        "diagnosis nevus or melanoma), images/<image_id>.jpg and patch_masks/<image_id>.png "
        "for every patch image (propgrad.chapters.skin_lesions.isic)",
        "the ISIC Archive, isic-archive.com (nevi and melanomas; colourful patches from the "
        "study of nevi in children, Scope et al. 2016)",
        contains=("metadata.csv", "images/", "patch_masks/"),
        check=csv_columns(*ISIC_COLUMNS, file="metadata.csv"),
    ),
    PaperInput(
        "imagenet_weights",
        FOLDER,
        "a folder with one ImageNet weights file per architecture, <timm name>.safetensors "
        "(or .pth, .bin), e.g. resnet18.safetensors; or a mapping {paper label: file}",
        "ImageNet pre-trained weights (Russakovsky et al. 2015) of ResNet18, EfficientNet-B0, "
        "ConvNeXt-S and ViT-B/16",
        check=imagenet_weights(paper_architectures),
        mapping=True,
    ),
)
"""The paper profile's inputs, in the order the message lists them."""

__all__ = ["PAPER_INPUTS", "paper_architectures"]
