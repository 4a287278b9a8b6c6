"""The CLIP chapter (``notebooks/clip_orientation.md``; Sec. 4.4 and appendix E).

All that only this chapter needs:

``toy``
    :class:`ToyOrientation`, the demo profile's data source: the toy CLIP,
    rendered turntable videos of meshes standing in for the paper's toys, and
    a mesh rendered turning about each axis.
``real``
    :class:`RecordedOrientation`, the paper profile's data source with the
    same interface: CLIP ViT-B/32 from a local weights file, real turntable
    recordings and a mesh file, embedded as cached tasks.
``toy_clip``
    The chapter's stand-in model: a toy CLIP with a planted pose bias,
    trained on the CPU on renders of animal meshes.
``sweeps``
    Reading turntable recordings and rendering rotations as sweeps, and the
    image embeddings along them (used by both sources).
``inputs``
    :data:`PAPER_INPUTS`, what the paper profile needs (the CLIP weights, the
    turntable recordings, the frog mesh), checked before anything runs
    (:func:`propgrad.profiles.check_inputs`).
``paper``
    The paper's numbers and labels (Tables 13 to 15).
``report``
    The scores of the chapter and its tables under the paper's labels,
    recorded (``table14``, ``table15``, the orientation summaries).
``figures``
    The chapter's larger figures (Figs. 8 and 34 to 38 with our data).
``claims``
    The sentences the page states about its results, checked.

The open_clip wrapper a user points at their own CLIP
(:mod:`propgrad.models.clip`), the renderer and the turntable loader are
shared and live in the core.
"""

from __future__ import annotations

from propgrad.chapters.clip_orientation.inputs import PAPER_INPUTS
from propgrad.chapters.clip_orientation.real import RecordedOrientation
from propgrad.chapters.clip_orientation.toy import ToyOrientation

__all__ = ["PAPER_INPUTS", "RecordedOrientation", "ToyOrientation"]
