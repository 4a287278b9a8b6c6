"""What the chapter needs at the paper profile, checked before anything runs.

:data:`PAPER_INPUTS` lists the notebook parameters that name the paper
profile's data and weights; the notebook's first cell after its parameters
passes them to :func:`propgrad.profiles.check_inputs`. The lists' contents
are checked by the reader, :mod:`propgrad.chapters.training_dynamics.celeba`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from propgrad.chapters.training_dynamics.celeba import ATTRIBUTE_FILE, IMAGE_FOLDER, PARTITION_FILE
from propgrad.chapters.training_dynamics.paper import MODELS
from propgrad.chapters.training_dynamics.real import PAPER_MODELS
from propgrad.profiles import FOLDER, HUB_ID_OR_FOLDER, PaperInput, imagenet_weights


def paper_architectures(namespace: Mapping[str, Any]) -> dict[str, str]:
    """The timm names that need ImageNet weights: paper label -> name.

    Parameters
    ----------
    namespace : mapping
        The notebook's parameters; ``models`` (label -> ``{"arch": ...}``)
        and ``families`` (the labels trained) replace the paper's when given.

    Returns
    -------
    dict
        Label -> timm name, for every family trained.
    """
    models = namespace.get("models") or PAPER_MODELS
    families = namespace.get("families") or list(MODELS)
    return {f: models[f]["arch"] for f in families}


PAPER_INPUTS: tuple[PaperInput, ...] = (
    PaperInput(
        "data_dir",
        FOLDER,
        f"the CelebA folder in its official layout: {IMAGE_FOLDER}/000001.jpg, ..., "
        f"{ATTRIBUTE_FILE} and {PARTITION_FILE} (torchvision.datasets.CelebA's <root>/celeba "
        "also works)",
        "CelebA (Liu et al., ICCV 2015): the 'Align & Cropped Images' and the Anno/ and Eval/ "
        "lists from the CUHK Multimedia Laboratory's project page",
        contains=(f"{IMAGE_FOLDER}/", ATTRIBUTE_FILE, PARTITION_FILE),
    ),
    PaperInput(
        "imagenet_weights",
        FOLDER,
        "a folder with one ImageNet weights file per architecture, <timm name>.safetensors "
        "(or .pth, .bin), e.g. resnet18.safetensors; or a mapping {paper label: file}",
        "ImageNet pre-trained weights (Russakovsky et al. 2015); appendix D: timm's for the "
        "ConvMixer (convmixer_1024_20_ks9_p14), the standard PyTorch models' for the other seven",
        check=imagenet_weights(paper_architectures),
        mapping=True,
    ),
    PaperInput(
        "editor",
        HUB_ID_OR_FOLDER,
        "a hub id such as 'timbrooks/instruct-pix2pix' (not checked offline: downloaded on "
        "first use) or a local folder written by save_pretrained, holding model_index.json",
        "MGIE (Fu et al., ICLR 2024), whose weights are not packaged for diffusers; "
        "InstructPix2Pix, its backbone, stands in",
        contains=("model_index.json",),
    ),
)
"""The paper profile's inputs, in the order the message lists them."""

__all__ = ["PAPER_INPUTS", "paper_architectures"]
