"""What the chapter needs at the paper profile, checked before anything runs.

:data:`PAPER_INPUTS` lists the notebook parameters that name the paper
profile's data and weights; the notebook's first cell after its parameters
passes them to :func:`propgrad.profiles.check_inputs`. The authors' three
checkpoints, their photos and their sweep are not listed: they are the
demo's files, downloaded and checked by :mod:`propgrad.assets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from propgrad.profiles import FILE, FOLDER, HUB_ID_OR_FOLDER, NAME_OR_FILE, PaperInput, csv_columns

#: Image files concept discovery reads from ``probing_dir``.
PROBING_SUFFIXES = (".jpg", ".jpeg", ".png")

EDITOR_LAYOUT = (
    "a hub id such as 'timbrooks/instruct-pix2pix' (not checked offline: downloaded on first "
    "use) or a local folder written by save_pretrained, holding model_index.json"
)
EDITOR_SOURCE = (
    "MGIE (Fu et al., ICLR 2024), whose weights are not packaged for diffusers; "
    "InstructPix2Pix, its backbone, stands in"
)


def _has_images(folder: Path, namespace: Any) -> list[str]:
    """At least one image file directly in the folder."""
    if any(p.suffix.lower() in PROBING_SUFFIXES for p in folder.iterdir()):
        return []
    return [f"{folder} holds no image files ({', '.join(PROBING_SUFFIXES)})"]


def _has_words(path: Path, namespace: Any) -> list[str]:
    """A text file with at least one non-empty line."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        if any(line.strip() for line in handle):
            return []
    return [f"{path} is empty"]


PAPER_INPUTS: tuple[PaperInput, ...] = (
    PaperInput(
        "data_dir",
        FOLDER,
        "the Kaggle Dogs-vs-Cats folder holding train/cat.<n>.jpg and train/dog.<n>.jpg "
        "(train.zip unzipped)",
        "Kaggle's 'Dogs vs. Cats' competition, kaggle.com/competitions/dogs-vs-cats",
        contains=("train/", "train/cat.*", "train/dog.*"),
    ),
    PaperInput(
        "fur_labels",
        FILE,
        "a CSV with the header file,split,fur and one row per image, e.g. "
        "'cat.0.jpg,train,dark' (split: train or test; fur: dark or light)",
        "the authors asked LLaVA 1.6 'Does the cat/dog have dark fur?' for every image "
        "(appendix B.1); their labels are not among the files this package downloads",
        check=csv_columns("file", "split", "fur"),
    ),
    PaperInput(
        "editor", HUB_ID_OR_FOLDER, EDITOR_LAYOUT, EDITOR_SOURCE, contains=("model_index.json",)
    ),
    PaperInput(
        "probing_dir",
        FOLDER,
        "a folder of probing images (.jpg, .jpeg or .png)",
        "the ImageNet validation set (appendix B.5)",
        check=_has_images,
        needed_for="concept discovery (Table 8)",
    ),
    PaperInput(
        "concept_words",
        FILE,
        "a text file with one word per line",
        "the 20K most common Google words, github.com/first20hours/google-10000-english "
        "(appendix B.5)",
        check=_has_words,
        needed_for="naming the concepts (Table 8)",
    ),
    PaperInput(
        "clip_weights",
        FILE,
        "a local open_clip weights file for clip_model (e.g. OpenAI's ViT-B-32.pt)",
        "CLIP (Radford et al. 2021), comparing each concept with the word list (appendix B.5)",
        needed_for="naming the concepts (Table 8)",
    ),
    PaperInput(
        "clip_model",
        NAME_OR_FILE,
        "an open_clip model name such as 'ViT-B-32', or a JSON architecture config file",
        "CLIP (Radford et al. 2021)",
        suffixes=(".json",),
        needed_for="naming the concepts (Table 8)",
    ),
)
"""The paper profile's inputs, in the order the message lists them."""

__all__ = ["PAPER_INPUTS"]
