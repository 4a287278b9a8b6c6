"""Cached InstructPix2Pix sweeps over the text scale, and grids over both CFG scales.

:func:`instruct_pix2pix_sweep` is the entry point: it names the frames' cache
folder from the editor's identity and the :class:`EditSettings`, reads the
frames that are there, runs :func:`instruct_pix2pix_frames` on the missing
scales only (loading the editor's model only then), writes each frame as soon
as its chunk is decoded, and returns a :class:`propgrad.sweep.Sweep`.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from propgrad.cache import image_sha256
from propgrad.interventions.instruct_pix2pix.cache import CACHE_FORMAT, FrameCache
from propgrad.interventions.instruct_pix2pix.denoise import instruct_pix2pix_frames, load_image
from propgrad.interventions.instruct_pix2pix.editor import Editor
from propgrad.interventions.instruct_pix2pix.scales import (
    LOW_SCALE_WARNING,
    validate_image_scale,
    validate_image_scales,
    validate_text_scales,
)
from propgrad.sweep import Sweep

__all__ = ["GRID_NAME", "EditSettings", "instruct_pix2pix_grid", "instruct_pix2pix_sweep"]

GRID_NAME = "CFG text scale"
"""The grid name of the sweeps this module returns."""

_GENERATOR = "one CPU torch.Generator per scale"


@dataclass(frozen=True)
class EditSettings:
    """What determines an edit besides the editor, the input image and the text scale.

    Parameters
    ----------
    instruction : str
        The edit instruction, e.g. ``"change the fur color to black"``.
    image_scale : float, optional
        The CFG image scale (default 1.5; the paper uses 2.0 to 2.8).
    num_inference_steps : int, optional
        Denoising steps (default 20).
    seed : int, optional
        Seed of the noise (default 0).

    Raises
    ------
    ValueError
        If the instruction is not a string, the image scale is not finite, or
        the steps are below 1. (Whether an image scale below 1 is allowed is
        decided by the sweep.)
    """

    instruction: str
    image_scale: float = 1.5
    num_inference_steps: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.instruction, str):
            raise ValueError(f"instruction must be a string, got {type(self.instruction).__name__}")
        for name in ("num_inference_steps", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.num_inference_steps < 1:
            raise ValueError(
                f"num_inference_steps must be at least 1, got {self.num_inference_steps}"
            )
        image_scale = float(self.image_scale)
        if not np.isfinite(image_scale):
            raise ValueError(f"image_scale must be finite, got {self.image_scale}")
        object.__setattr__(self, "image_scale", image_scale)

    def key_config(self) -> dict[str, Any]:
        """The settings as plain values, for a cache key and the sweep's metadata.

        Returns
        -------
        dict
            ``instruction``, ``image_scale``, ``num_inference_steps``, ``seed``.
        """
        return asdict(self)


def _editor_for(
    editor: Any,
    pipeline: Any,
    model_id: str | os.PathLike | None,
    revision: str | None,
    local_files_only: bool | None,
    device: Any,
) -> Editor:
    """The one editor that ``editor=``, ``pipeline=`` or ``model_id=`` names."""
    named = (("editor", editor), ("pipeline", pipeline), ("model_id", model_id))
    given = [name for name, value in named if value is not None]
    if len(given) > 1:
        raise ValueError(f"name the editor once, with one of {' / '.join(given)}")
    if pipeline is not None:
        return Editor(pipeline)  # a given pipeline runs where it is; loading options unused
    options = dict(revision=revision, local_files_only=local_files_only, device=device)
    return Editor.from_spec(editor if editor is not None else model_id, **options)


def _sweep(
    editor: Editor,
    image: Any,
    text_scales: Sequence[float],
    settings: EditSettings,
    *,
    allow_low_scales: bool,
    batch_size: int,
    cache: bool,
    cache_root: str | Path | None,
    progress: bool,
) -> Sweep:
    """One cached sweep; the public functions only gather their arguments into these."""
    scales = validate_text_scales(
        text_scales, min_count=2, allow_low_scales=allow_low_scales, stacklevel=4
    )
    validate_image_scale(settings.image_scale, allow_low_scales=allow_low_scales, stacklevel=4)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    pil_image = load_image(image)

    identity = editor.identity()
    config = {
        "format": CACHE_FORMAT,
        "kind": "instruct_pix2pix",
        **identity,
        "image_sha256": image_sha256(pil_image),
        "image_size": list(pil_image.size),
        **settings.key_config(),
        "generator": _GENERATOR,
    }
    store = FrameCache(config, root=cache_root)
    frames: dict[float, Image.Image] = store.load(scales) if cache else {}
    missing = [float(s) for s in scales if float(s) not in frames]

    extra: dict[str, Any] = {}
    if missing:
        pipeline = editor.pipeline
        extra["dtype"] = str(pipeline.unet.dtype).replace("torch.", "")
        extra["scheduler"] = type(pipeline.scheduler).__name__

        def keep(indices: list[int], chunk_frames: list[Image.Image]) -> None:
            for index, frame in zip(indices, chunk_frames, strict=True):
                frames[missing[index]] = frame
                if cache:
                    store.save(missing[index], frame)

        with warnings.catch_warnings():
            # low scales were validated (and warned about) above
            warnings.filterwarnings("ignore", message=LOW_SCALE_WARNING)
            instruct_pix2pix_frames(
                pipeline,
                pil_image,
                settings.instruction,
                missing,
                settings.image_scale,
                num_inference_steps=settings.num_inference_steps,
                seed=settings.seed,
                batch_size=batch_size,
                output_type="pil",
                progress=progress,
                on_chunk=keep,
                allow_low_scales=True,
            )
    width, height = next(iter(frames.values())).size
    metadata = {
        "intervention": "instruct_pix2pix",
        "model_id": editor.name,
        "editor": editor.kind,
        "revision": editor.revision,
        **settings.key_config(),
        "scheduler": identity["scheduler"],
        "dtype": identity["dtype"],
        "height": height,
        "width": width,
        "image_sha256": config["image_sha256"],
        "guidance": "three-branch CFG (Eq. 3) at every text scale",
        "noise": "CPU torch.Generator seeded with `seed`, one per scale",
        "cache_key": store.key,
        "cache_dir": str(store.folder) if cache else None,
        "frames_from_cache": len(scales) - len(missing),
        **extra,
    }
    return Sweep([frames[float(s)] for s in scales], scales, GRID_NAME, metadata)


def instruct_pix2pix_sweep(
    image: Any,
    instruction: str,
    text_scales: Sequence[float],
    image_scale: float = 1.5,
    *,
    editor: Any = None,
    pipeline: Any = None,
    model_id: str | os.PathLike | None = None,
    revision: str | None = None,
    local_files_only: bool | None = None,
    num_inference_steps: int = 20,
    seed: int = 0,
    batch_size: int = 8,
    cache: bool = True,
    cache_root: str | Path | None = None,
    device: Any = None,
    progress: bool = True,
    allow_low_scales: bool = False,
) -> Sweep:
    """Sweep an InstructPix2Pix edit over the CFG text scale, with a disk cache.

    Every frame starts from the same seeded noise and differs from the others
    only by its text scale; frame ``k`` equals a single pipeline call at
    ``text_scales[k]`` with the same seed (see
    :mod:`propgrad.interventions.instruct_pix2pix`). Scales run through the
    UNet ``batch_size`` at a time. Frames already in the cache are read, not
    computed, and the model is loaded only if some are missing.

    Parameters
    ----------
    image : PIL.Image.Image, ndarray or path
        The input image.
    instruction : str
        The edit instruction, e.g. ``"change the fur color to black"``.
    text_scales : sequence of float
        At least two strictly increasing text scales above 1, e.g.
        :func:`paper_text_scales`.
    image_scale : float, optional
        The CFG image scale (default 1.5; the paper uses 2.0 to 2.8).
    editor : Editor, pipeline, str or path-like, optional
        The editor, as for :meth:`Editor.from_spec`: an :class:`Editor` (reuse
        one across sweeps to load its model once), a pipeline, a local folder
        written by ``save_pretrained`` or a hub id. Name the editor with one
        of ``editor``, ``pipeline`` or ``model_id``; none of them means
        ``"timbrooks/instruct-pix2pix"``.
    pipeline : diffusers.StableDiffusionInstructPix2PixPipeline, optional
        A pipeline to use, where it is (``revision``, ``local_files_only`` and
        ``device`` are then unused).
    model_id : str or path-like, optional
        Hub id or local pipeline folder to load (a folder never touches the
        network). Loaded once, and only if frames are missing from the cache.
    revision : str, optional
        Hub revision to load.
    local_files_only : bool, optional
        Do not download (defaults to the ``HF_HUB_OFFLINE`` setting).
    num_inference_steps : int, optional
        Denoising steps (default 20).
    seed : int, optional
        Seed of the noise (default 0).
    batch_size : int, optional
        Scales per UNet batch (default 8); the UNet sees ``3 * batch_size``
        latents. Lower it if memory runs out.
    cache : bool, optional
        Read and write frames under the cache (default true).
    cache_root : str or Path, optional
        Cache root; defaults to ``$PROPGRAD_CACHE`` or ``~/.cache/propgrad``.
        Several processes may fill the same sweep's cache at once.
    device : str or torch.device, optional
        Where to load the model (a given pipeline runs where it is).
    progress : bool, optional
        Show a progress bar while generating.
    allow_low_scales : bool, optional
        Accept text scales <= 1 and image scales < 1, where the diffusers
        pipeline switches guidance off; see
        :mod:`propgrad.interventions.instruct_pix2pix`.

    Returns
    -------
    Sweep
        Frames in the order of ``text_scales``; grid = the text scales,
        ``grid_name="CFG text scale"``; metadata records every setting, the
        editor, the cache key and folder, and how many frames came from the
        cache.

    Raises
    ------
    ValueError
        If fewer than two text scales are given, they are not strictly
        increasing, a scale is out of range, or the editor is named twice.
    ModelNotAvailableError
        If the model has to be loaded and is not available, or a folder given
        as the editor does not exist.
    """
    return _sweep(
        _editor_for(editor, pipeline, model_id, revision, local_files_only, device),
        image,
        text_scales,
        EditSettings(instruction, image_scale, num_inference_steps, seed),
        allow_low_scales=allow_low_scales,
        batch_size=batch_size,
        cache=cache,
        cache_root=cache_root,
        progress=progress,
    )


def instruct_pix2pix_grid(
    image: Any,
    instruction: str,
    text_scales: Sequence[float],
    image_scales: Sequence[float],
    *,
    editor: Any = None,
    pipeline: Any = None,
    model_id: str | os.PathLike | None = None,
    revision: str | None = None,
    local_files_only: bool | None = None,
    num_inference_steps: int = 20,
    seed: int = 0,
    batch_size: int = 8,
    cache: bool = True,
    cache_root: str | Path | None = None,
    device: Any = None,
    progress: bool = True,
    allow_low_scales: bool = False,
) -> list[Sweep]:
    """Sweep both CFG scales: one text-scale sweep per image scale (paper Fig. 11).

    Parameters
    ----------
    image, instruction, text_scales
        As for :func:`instruct_pix2pix_sweep`.
    image_scales : sequence of float
        Strictly increasing image scales, each at least 1 (the paper's
        ablation spans 1.0 to 3.0).
    editor, pipeline, model_id, revision, local_files_only
        As for :func:`instruct_pix2pix_sweep`; the model is loaded at most once.
    num_inference_steps, seed, batch_size, cache, cache_root, device, progress
        As for :func:`instruct_pix2pix_sweep`.
    allow_low_scales
        As for :func:`instruct_pix2pix_sweep`.

    Returns
    -------
    list of Sweep
        ``grid[i]`` is the text-scale sweep at ``image_scales[i]`` (its
        ``metadata["image_scale"]``); ``grid[i][j]`` is the frame at
        ``(image_scales[i], text_scales[j])``. All frames share the seed.

    Raises
    ------
    ValueError
        If the image scales are empty or not strictly increasing, or for the
        reasons listed in :func:`instruct_pix2pix_sweep`.
    """
    values = validate_image_scales(image_scales)
    chosen = _editor_for(editor, pipeline, model_id, revision, local_files_only, device)
    return [
        _sweep(
            chosen,
            image,
            text_scales,
            EditSettings(instruction, float(value), num_inference_steps, seed),
            allow_low_scales=allow_low_scales,
            batch_size=batch_size,
            cache=cache,
            cache_root=cache_root,
            progress=progress,
        )
        for value in values
    ]
