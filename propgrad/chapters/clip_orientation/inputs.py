"""What the chapter needs at the paper profile, checked before anything runs.

:data:`PAPER_INPUTS` lists the notebook parameters that name the paper
profile's data and weights; the notebook's first cell after its parameters
passes them to :func:`propgrad.profiles.check_inputs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from propgrad.chapters.clip_orientation.paper import TURNTABLE_OBJECTS
from propgrad.interventions.turntable import VIDEO_SUFFIXES
from propgrad.profiles import FILE, FOLDER, NAME_OR_FILE, PaperInput

#: Mesh formats the renderer reads.
MESH_SUFFIXES = (".off", ".obj")


def _has_recordings(folder: Path, namespace: Any) -> list[str]:
    """One recording per toy: a subfolder or a video named after it (any case)."""
    names = {
        p.stem.lower() if p.is_file() else p.name.lower()
        for p in folder.iterdir()
        if p.is_dir() or p.suffix.lower() in VIDEO_SUFFIXES
    }
    missing = [o.lower() for o in TURNTABLE_OBJECTS if o.lower() not in names]
    if missing:
        return [f"{folder} has no recording of {', '.join(missing)}"]
    return []


def _is_mesh(path: Path, namespace: Any) -> list[str]:
    if path.suffix.lower() in MESH_SUFFIXES:
        return []
    return [f"{path.name} is not an .off or .obj file"]


PAPER_INPUTS: tuple[PaperInput, ...] = (
    PaperInput(
        "clip_weights",
        FILE,
        "a local CLIP weights file for clip_model (OpenAI's ViT-B-32.pt, loaded with QuickGELU)",
        "CLIP ViT-B/32 with OpenAI's weights (Radford et al. 2021)",
    ),
    PaperInput(
        "clip_model",
        NAME_OR_FILE,
        "an open_clip model name such as 'ViT-B-32', or a JSON architecture config file",
        "CLIP ViT-B/32 (Radford et al. 2021)",
        suffixes=(".json",),
    ),
    PaperInput(
        "turntable_dir",
        FOLDER,
        "a folder with one recording per toy, a folder of frames or a video named after it: "
        + ", ".join(f"{o.lower()}/ or {o.lower()}.mp4" for o in TURNTABLE_OBJECTS),
        "the authors filmed three toy figures (elephant, giraffe, stegosaurus) on a turntable "
        "(Sec. 4.4); their recordings are not among the files this package downloads",
        check=_has_recordings,
    ),
    PaperInput(
        "frog_mesh",
        FILE,
        "a mesh file, .off or .obj (rotate it into z up, head along +x with frog_rotation)",
        "a 3D frog model from Sketchfab, skfb.ly/6USP7 (appendix E)",
        check=_is_mesh,
    ),
)
"""The paper profile's inputs, in the order the message lists them."""

__all__ = ["PAPER_INPUTS"]
