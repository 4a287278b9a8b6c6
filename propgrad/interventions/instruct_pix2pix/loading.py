"""Loading an InstructPix2Pix pipeline by hub id or from a local folder, offline-aware.

A local folder written by ``pipeline.save_pretrained(folder)`` is always read
with ``local_files_only=True`` (no network, whatever the environment says). A
hub id is read from the local hub cache only when ``HF_HUB_OFFLINE`` is set or
``local_files_only=True`` is passed; otherwise it may be downloaded. Every
failure is a :class:`ModelNotAvailableError` whose message says what is
missing and how to point to a local copy. Nothing heavy is imported until a
function is called.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MODEL_ID", "ModelNotAvailableError", "load_instruct_pix2pix"]

DEFAULT_MODEL_ID = "timbrooks/instruct-pix2pix"
"""Hub id of the original InstructPix2Pix weights."""

_HOW_TO_COPY = (
    "To use a copy from elsewhere, save it on a machine with network access "
    "(`StableDiffusionInstructPix2PixPipeline.from_pretrained(id).save_pretrained(folder)`, "
    "or download the repository files into a folder) and pass that folder as "
    "model_id=<folder>; or set HF_HOME to a hub cache that holds it."
)


class ModelNotAvailableError(FileNotFoundError):
    """The requested editing model could not be found or downloaded."""


def env_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (1, true, yes, on).

    Returns
    -------
    bool
        True when the environment asks for offline hub access.
    """
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_device(device: Any = None) -> Any:
    """Return a ``torch.device``: the given one, else CUDA when available, else CPU.

    Parameters
    ----------
    device : str or torch.device, optional
        The requested device.

    Returns
    -------
    torch.device
        The device.
    """
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _looks_like_path(text: str) -> bool:
    """A string no hub id can be: absolute, starting with . or ~, with a backslash or two /."""
    return os.path.isabs(text) or text.startswith((".", "~")) or "\\" in text or text.count("/") > 1


def pipeline_folder(model_id: str | os.PathLike) -> Path | None:
    """Return the local pipeline folder ``model_id`` names, or None for a hub id.

    Parameters
    ----------
    model_id : str or path-like
        A hub id (``"name"`` or ``"namespace/name"``) or a folder.

    Returns
    -------
    Path or None
        The resolved folder when ``model_id`` is an existing folder.

    Raises
    ------
    ModelNotAvailableError
        If ``model_id`` is a folder without ``model_index.json``, or a path
        (absolute, starting with ``.`` or ``~``, or with more than one ``/``)
        that does not exist: it cannot be a hub id either.
    """
    text = os.fspath(model_id)
    if not text:
        raise ModelNotAvailableError("model_id is empty; give a hub id or a local folder")
    local = Path(text).expanduser()
    if local.is_dir():
        if not (local / "model_index.json").is_file():
            raise ModelNotAvailableError(
                f"{local} is a folder but not a diffusers pipeline folder (no model_index.json); "
                "write one with `pipeline.save_pretrained(folder)`"
            )
        return local.resolve()
    if isinstance(model_id, os.PathLike) or _looks_like_path(text):
        raise ModelNotAvailableError(
            f"the InstructPix2Pix folder {local} does not exist (and {text!r} is not a hub id "
            f"of the form 'namespace/name'). {_HOW_TO_COPY}"
        )
    return None


def load_instruct_pix2pix(
    model_id: str | os.PathLike = DEFAULT_MODEL_ID,
    revision: str | None = None,
    local_files_only: bool | None = None,
    device: Any = None,
    dtype: Any = None,
    **from_pretrained_kwargs: Any,
) -> Any:
    """Load an InstructPix2Pix pipeline by hub id or from a local folder.

    Parameters
    ----------
    model_id : str or path-like, optional
        A hub id (default ``"timbrooks/instruct-pix2pix"``) or a local folder
        written by ``save_pretrained`` (it holds ``model_index.json``); a
        folder is always read with ``local_files_only=True``.
    revision : str, optional
        Branch, tag or commit of the hub repository (ignored for a folder).
    local_files_only : bool, optional
        Never download; use the local hub cache only. Defaults to true when the
        environment variable ``HF_HUB_OFFLINE`` is set to 1/true.
    device : str or torch.device, optional
        Where to put the pipeline; CUDA when available, else CPU.
    dtype : torch.dtype, optional
        Weight precision; float16 on CUDA and float32 on CPU by default.
    **from_pretrained_kwargs
        Passed on to ``StableDiffusionInstructPix2PixPipeline.from_pretrained``,
        e.g. ``safety_checker=None`` or ``variant="fp16"``.

    Returns
    -------
    diffusers.StableDiffusionInstructPix2PixPipeline
        The pipeline on ``device``, with its progress bar switched off.

    Raises
    ------
    ModelNotAvailableError
        If the model is neither cached locally nor downloadable, or a folder
        is missing or not a pipeline folder; the message names the id, says
        whether offline mode is set and how to point to a local copy.
    """
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline

    device = resolve_device(device)
    if dtype is None:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    offline = env_offline() if local_files_only is None else bool(local_files_only)

    folder = pipeline_folder(model_id)
    if folder is not None:
        source, kwargs = str(folder), {"local_files_only": True}
    else:
        source = os.fspath(model_id)
        kwargs = {"local_files_only": offline, "revision": revision}
    kwargs.update(from_pretrained_kwargs)
    try:
        with warnings.catch_warnings():
            # newer diffusers prefer `dtype=`; `torch_dtype=` works across versions
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            pipeline = StableDiffusionInstructPix2PixPipeline.from_pretrained(
                source, torch_dtype=dtype, **kwargs
            )
    except (OSError, ValueError) as error:
        rev = f" at revision {revision!r}" if revision and folder is None else ""
        detail = f"({type(error).__name__}: {error})"
        if folder is not None:
            raise ModelNotAvailableError(
                f"could not load the InstructPix2Pix folder {source!r} (read with "
                f"local_files_only=True); is it complete? {detail}"
            ) from error
        if offline:
            why = (
                "HF_HUB_OFFLINE is set"
                if local_files_only is None
                else "local_files_only=True was passed"
            )
            raise ModelNotAvailableError(
                f"InstructPix2Pix model {source!r}{rev} is not available locally and {why}, "
                f"so nothing was downloaded. {_HOW_TO_COPY} {detail}"
            ) from error
        raise ModelNotAvailableError(
            f"could not load InstructPix2Pix model {source!r}{rev} (offline mode is not set; "
            f"the download failed or the id does not exist). {_HOW_TO_COPY} {detail}"
        ) from error
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
