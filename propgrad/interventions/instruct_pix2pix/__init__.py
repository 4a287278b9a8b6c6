"""Gradual interventions with InstructPix2Pix, batched across guidance scales.

An InstructPix2Pix edit is steered by two classifier-free-guidance (CFG)
scales. At every denoising step the UNet predicts the noise three times, with
three conditionings of the same latent: text and image, image only, and
neither. The three predictions are mixed as (appendix A.2, Eq. 3 of the paper,
in the form diffusers implements)::

    e = e_uncond + s_T * (e_text_image - e_image) + s_I * (e_image - e_uncond)

A sweep fixes the input image, the instruction, the image scale ``s_I`` and the
seed, and varies only the text scale ``s_T``. Calling the diffusers pipeline
once per scale repeats identical work (text and image encoding, three
conditionings) and runs the UNet on a batch of three. Here the pipeline's own
components run in our denoising loop that pushes a chunk of scales through
the UNet together (a batch of three latents per scale; before the first step
all latents are equal, so that step needs only three); every scale keeps its
own latent trajectory and its own random generator, seeded identically, so
frame ``k`` equals what ``pipeline(instruction, image, guidance_scale=s_k,
image_guidance_scale=s_I, generator=torch.Generator("cpu").manual_seed(seed))``
returns, up to floating-point rounding, whatever the chunk size. That also
holds for ancestral samplers (the model's default Euler ancestral scheduler
draws fresh noise in every step): each scale's generator produces exactly the
noise the single call would draw.

Scales at or below one
----------------------
The diffusers pipeline switches guidance off entirely when
``guidance_scale <= 1`` or ``image_guidance_scale < 1``: it then evaluates only
the text-and-image branch. Our loop applies the formula above at every scale,
which for ``s_T < 1`` extrapolates away from the instruction (``s_T = 0`` is
the image-guided reconstruction without the edit). Because those frames would
not match a pipeline call, such scales raise a ``ValueError`` unless
``allow_low_scales=True``; then they are computed with the formula and a
warning says that they differ from the pipeline's definition. (At exactly
``s_T = s_I = 1`` the two agree mathematically, but the same rule applies.)

Notation note: the paper writes the middle branch of Eq. 3 as ``e(z, c_T, ∅)``
after reordering the arguments to ``(c_T, c_I)``; InstructPix2Pix and diffusers
condition that branch on the image only (empty prompt, image latents), which is
what this package does.

The editor
----------
The editing model is an :class:`Editor`: a pipeline object, a local folder
written by ``pipeline.save_pretrained(folder)`` (read offline) or a hub id,
loaded once on first use. Every function that takes ``editor=`` also takes a
plain value (:meth:`Editor.from_spec`), so a papermill parameter such as
``editor = "/data/models/instruct-pix2pix"`` selects it.

The cache
---------
Results are cached on disk (:mod:`.cache`): each frame is written as a
lossless PNG as soon as its chunk is decoded, under a folder keyed by
everything except the text scales, and named by its exact scale. A rerun loads
the frames without running the UNet; an interrupted sweep resumes with only the
missing scales; a sweep over new scales reuses the frames it shares with
earlier ones; and several processes may fill one sweep at once. Cached frames
are 8-bit, exactly like the images a fresh sweep returns.

The paper itself edits with MGIE, whose editing backbone is InstructPix2Pix
with the same two CFG scales; this package uses InstructPix2Pix directly.

Modules
-------
``scales``
    :func:`paper_text_scales` and the checks of text and image scales.
``loading``
    :func:`load_instruct_pix2pix`, offline and local-folder handling,
    :class:`ModelNotAvailableError`.
``editor``
    :class:`Editor`: which pipeline, loaded once, and its cache identity.
``denoise``
    :func:`instruct_pix2pix_frames`, the batched CFG denoising loop.
``cache``
    :class:`~.cache.FrameCache`: one folder per configuration, one PNG per scale.
``sweep``
    :class:`EditSettings`, :func:`instruct_pix2pix_sweep`,
    :func:`instruct_pix2pix_grid`.
``batch``
    :func:`edit_sweeps`: one edit over many images, as independent tasks
    (here, in a process pool or on a Dask cluster).
``tiny``
    :func:`~.tiny.tiny_instruct_pix2pix`, a tiny random-weight pipeline for
    tests and dry runs.

Importing this package imports neither torch nor diffusers; they are imported
when a model is loaded or run.
"""

from propgrad.interventions.instruct_pix2pix.batch import edit_sweeps
from propgrad.interventions.instruct_pix2pix.denoise import instruct_pix2pix_frames
from propgrad.interventions.instruct_pix2pix.editor import Editor
from propgrad.interventions.instruct_pix2pix.loading import (
    DEFAULT_MODEL_ID,
    ModelNotAvailableError,
    load_instruct_pix2pix,
)
from propgrad.interventions.instruct_pix2pix.scales import paper_text_scales
from propgrad.interventions.instruct_pix2pix.sweep import (
    GRID_NAME,
    EditSettings,
    instruct_pix2pix_grid,
    instruct_pix2pix_sweep,
)

__all__ = [
    "DEFAULT_MODEL_ID",
    "GRID_NAME",
    "EditSettings",
    "Editor",
    "ModelNotAvailableError",
    "edit_sweeps",
    "instruct_pix2pix_frames",
    "instruct_pix2pix_grid",
    "instruct_pix2pix_sweep",
    "load_instruct_pix2pix",
    "paper_text_scales",
]
