"""Many edit sweeps at once: one task per image, here, in a process pool or on a Dask cluster.

:func:`edit_sweeps` applies one edit (instruction, scales, settings) to many
images. In this process (the default) it runs the sweeps one after the other
with one editor, so the model is loaded once. With ``max_workers > 1`` or a
``cluster`` every image becomes an independent task for
:func:`propgrad.tasks.run_tasks`; the editor travels as its spec (a hub id or
a folder; a pipeline object travels whole), and each worker process loads it
once and keeps it for its later tasks. Tasks are idempotent: their frames go
to the shared frame cache (safe for concurrent writers), so a rerun after a
crash computes only what is missing.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propgrad.interventions.instruct_pix2pix.editor import Editor
from propgrad.interventions.instruct_pix2pix.scales import (
    LOW_SCALE_WARNING,
    validate_image_scale,
    validate_text_scales,
)
from propgrad.interventions.instruct_pix2pix.sweep import EditSettings, _sweep
from propgrad.sweep import Sweep

__all__ = ["edit_sweeps"]

# a worker process keeps the editor it loaded last, for the tasks that follow
_WORKER_EDITOR: dict[str, Editor] = {}


@dataclass(frozen=True)
class _EditTask:
    editor: Editor
    image: Any
    text_scales: tuple[float, ...]
    settings: EditSettings
    batch_size: int
    cache: bool
    cache_root: str | None
    allow_low_scales: bool


def _editor_in_worker(editor: Editor) -> Editor:
    """The loaded editor with the same spec, if this process has one; else ``editor``."""
    if editor.kind == "pipeline":
        return editor
    key = repr(editor.spec())
    kept = _WORKER_EDITOR.get("editor")
    if kept is not None and repr(kept.spec()) == key:
        return kept
    _WORKER_EDITOR.clear()  # one model per worker: drop the previous one
    _WORKER_EDITOR["editor"] = editor
    return editor


def _run_edit_task(task: _EditTask) -> Sweep:
    """One sweep of :func:`edit_sweeps` (module level, so executors can pickle it)."""
    return _sweep(
        _editor_in_worker(task.editor),
        task.image,
        task.text_scales,
        task.settings,
        allow_low_scales=task.allow_low_scales,
        batch_size=task.batch_size,
        cache=task.cache,
        cache_root=task.cache_root,
        progress=False,
    )


def edit_sweeps(
    images: Sequence[Any],
    instruction: str,
    text_scales: Sequence[float],
    image_scale: float = 1.5,
    *,
    editor: Any = None,
    num_inference_steps: int = 20,
    seed: int = 0,
    batch_size: int = 8,
    cache: bool = True,
    cache_root: str | Path | None = None,
    cluster: Any = None,
    max_workers: int = 1,
    resources: Mapping[str, float] | None = None,
    progress: bool = True,
    allow_low_scales: bool = False,
) -> list[Sweep]:
    """Sweep one edit over the text scale for many images, as independent cached tasks.

    Parameters
    ----------
    images : sequence of PIL.Image.Image, ndarray or path
        The input images (paths are the cheapest to send to workers).
    instruction, text_scales, image_scale
        As for :func:`instruct_pix2pix_sweep`.
    editor : Editor, pipeline, str or path-like, optional
        As for :func:`instruct_pix2pix_sweep` (default
        ``"timbrooks/instruct-pix2pix"``).
    num_inference_steps, seed, batch_size, cache, cache_root, allow_low_scales
        As for :func:`instruct_pix2pix_sweep`; the same for every image.
    cluster : str or dask.distributed.Client, optional
        A Dask scheduler address or client (see :func:`propgrad.tasks.run_tasks`).
    max_workers : int, optional
        Local worker processes when there is no cluster (default 1: run here).
    resources : mapping, optional
        Dask resources per task, e.g. ``{"GPU": 1}``.
    progress : bool, optional
        A progress bar over the images.
    allow_low_scales : bool, optional
        As for :func:`instruct_pix2pix_sweep`.

    Returns
    -------
    list of Sweep
        One sweep per image, in order.

    Raises
    ------
    ValueError
        For invalid scales or settings (checked before any task starts).
    ModelNotAvailableError
        If the model has to be loaded and is not available.
    """
    chosen = Editor.from_spec(editor)
    settings = EditSettings(instruction, image_scale, num_inference_steps, seed)
    scales = validate_text_scales(text_scales, min_count=2, allow_low_scales=allow_low_scales)
    validate_image_scale(settings.image_scale, allow_low_scales=allow_low_scales)
    tasks = [
        _EditTask(
            chosen,
            str(image) if isinstance(image, Path) else image,
            tuple(float(s) for s in scales),
            settings,
            int(batch_size),
            bool(cache),
            None if cache_root is None else str(cache_root),
            bool(allow_low_scales),
        )
        for image in images
    ]
    if cluster is None and int(max_workers) <= 1:
        from tqdm.auto import tqdm

        # here: one editor for all, loaded once; low scales were warned about above
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=LOW_SCALE_WARNING)
            return [
                _sweep(
                    task.editor,
                    task.image,
                    task.text_scales,
                    task.settings,
                    allow_low_scales=task.allow_low_scales,
                    batch_size=task.batch_size,
                    cache=task.cache,
                    cache_root=task.cache_root,
                    progress=False,
                )
                for task in tqdm(tasks, desc="InstructPix2Pix sweeps", disable=not progress)
            ]
    from propgrad.tasks import run_tasks

    return run_tasks(
        _run_edit_task,
        tasks,
        cluster=cluster,
        max_workers=max_workers,
        resources=resources,
        progress=progress,
        desc="InstructPix2Pix sweeps",
    )
