"""The editor: which InstructPix2Pix pipeline a sweep uses, and how it names itself in keys.

An :class:`Editor` wraps one of

- a pipeline object (used as it is, where it is);
- a local folder written by ``pipeline.save_pretrained(folder)`` (read with
  ``local_files_only=True``: never the network);
- a hub id such as ``"timbrooks/instruct-pix2pix"`` (offline when
  ``HF_HUB_OFFLINE`` is set or ``local_files_only=True``).

A folder or hub id is loaded once, on first use: a sweep whose frames are all
cached never loads the model. :meth:`Editor.from_spec` turns a plain value (a
string in a papermill parameter cell, a folder, a pipeline, an editor) into an
editor, so chapters and tasks can name the editor by a literal. An editor
that has not loaded anything pickles as its spec, and one that has loaded a
model from a spec drops the model when pickled, so it can be sent to worker
processes cheaply (each loads it once).

:meth:`Editor.identity` is the editor's part of the cache key: the weights
themselves for a pipeline object (a digest of its configs and of some tensors),
the folder's contents for a folder (a digest of its file names, sizes, small
files and the first and last MiB of each large file), or the id and revision
for a hub id; plus the precision and the scheduler.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from propgrad.interventions.instruct_pix2pix.loading import (
    DEFAULT_MODEL_ID,
    load_instruct_pix2pix,
    pipeline_folder,
    resolve_device,
)

__all__ = ["Editor"]

_PIPELINE_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler", "image_processor")
_EDGE = 1 << 20  # bytes hashed at each end of a large file
_CONFIG_BOOKKEEPING = {"architectures", "dtype", "torch_dtype", "transformers_version"}


def _is_pipeline(value: Any) -> bool:
    return all(hasattr(value, part) for part in _PIPELINE_PARTS)


def pipeline_identity(pipeline: Any) -> dict[str, Any]:
    """Describe a pipeline object for a cache key: name, weights digest, dtype, scheduler.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionInstructPix2PixPipeline
        The pipeline.

    Returns
    -------
    dict
        ``model="pipeline object"`` (its ``name_or_path`` is no part of it),
        ``weights_sha256`` (the configs of the UNet, VAE and text encoder
        without the entries that saving and loading add, their parameter
        dtypes and their first and last three tensors), ``dtype``,
        ``scheduler`` and ``scheduler_config``. A pipeline saved and loaded
        again keeps its identity.
    """
    import torch

    digest = hashlib.sha256()
    for name in ("unet", "vae", "text_encoder"):
        module = getattr(pipeline, name)
        config = getattr(module, "config", None)
        digest.update(name.encode())
        if hasattr(config, "to_dict"):  # transformers configs
            config = config.to_dict()
        # bookkeeping entries that saving or loading adds are not part of the model
        items = {
            k: v
            for k, v in dict(config or {}).items()
            if k[:1] != "_" and k not in _CONFIG_BOOKKEEPING
        }
        digest.update(json.dumps(items, sort_keys=True, default=repr).encode())  # tuple = list
        params = list(module.parameters())
        digest.update(str(params[0].dtype if params else None).encode())
        for tensor in params[:3] + params[-3:]:
            data = tensor.detach().to("cpu", torch.float32).contiguous().numpy()
            digest.update(data.tobytes())
    scheduler = pipeline.scheduler
    return {
        "model": "pipeline object",
        "weights_sha256": digest.hexdigest()[:16],
        "dtype": str(pipeline.unet.dtype).replace("torch.", ""),
        "scheduler": type(scheduler).__name__,
        "scheduler_config": {
            k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")
        },
    }


def folder_fingerprint(folder: str | Path) -> str:
    """Digest a pipeline folder's contents cheaply (milliseconds for gigabytes of weights).

    Every file that is not hidden counts by its relative path and size, small
    files (configs, tokenizer) by their whole content and large ones (weights)
    by their first and last MiB, so a changed config, scheduler, tokenizer or
    re-saved weights give a new digest while moving or copying the folder does
    not.

    Parameters
    ----------
    folder : str or Path
        The pipeline folder.

    Returns
    -------
    str
        16 hexadecimal characters.
    """
    root = Path(folder)
    digest = hashlib.sha256()
    files = sorted(
        (path.relative_to(root).as_posix(), path) for path in root.rglob("*") if path.is_file()
    )
    for relative, path in files:
        if any(part.startswith(".") for part in relative.split("/")):
            continue  # .cache, .gitattributes, temporary files
        size = path.stat().st_size
        digest.update(f"{relative}\0{size}\0".encode())
        with open(path, "rb") as handle:
            if size <= 2 * _EDGE:
                digest.update(handle.read())
            else:
                digest.update(handle.read(_EDGE))
                handle.seek(size - _EDGE)
                digest.update(handle.read(_EDGE))
    return digest.hexdigest()[:16]


class Editor:
    """An InstructPix2Pix pipeline, given or loaded once on first use, that names itself.

    Parameters
    ----------
    source : pipeline, str or path-like, optional
        A ``StableDiffusionInstructPix2PixPipeline`` (or any object with its
        components), a local folder written by ``save_pretrained``, or a hub id
        (default ``"timbrooks/instruct-pix2pix"``).
    revision : str, optional
        Hub revision to load (hub ids only).
    local_files_only : bool, optional
        Never download a hub id (defaults to the ``HF_HUB_OFFLINE`` setting); a
        folder is always read locally.
    device : str or torch.device, optional
        Where to load the model (CUDA when available, else CPU).
    dtype : torch.dtype, optional
        Precision to load (float16 on CUDA, float32 on CPU by default).

    Raises
    ------
    ModelNotAvailableError
        If ``source`` names a folder that does not exist or is not a pipeline
        folder.
    ValueError
        If loading options are given together with a pipeline object (it runs
        where it is, in its own precision).
    TypeError
        If ``source`` is neither a pipeline nor a string or path.

    Examples
    --------
    >>> editor = Editor.from_spec("timbrooks/instruct-pix2pix")
    >>> editor.kind, editor.name, editor.loaded
    ('hub', 'timbrooks/instruct-pix2pix', False)
    """

    def __init__(
        self,
        source: Any = None,
        *,
        revision: str | None = None,
        local_files_only: bool | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if source is None:
            source = DEFAULT_MODEL_ID
        self._pipeline: Any = None
        self._folder: Path | None = None
        self._model_id: str | None = None
        if isinstance(source, (str, os.PathLike)):
            self._folder = pipeline_folder(source)
            self._model_id = str(self._folder) if self._folder else os.fspath(source)
            self._kind = "folder" if self._folder else "hub"
        elif _is_pipeline(source):
            options = {"revision": revision, "local_files_only": local_files_only}
            options.update(device=device, dtype=dtype)
            given = [name for name, value in options.items() if value is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} only apply when the editor loads a model; a given "
                    "pipeline runs where it is, in its own precision (move it with "
                    "pipeline.to(...) first)"
                )
            self._pipeline = source
            self._kind = "pipeline"
        else:
            raise TypeError(
                "an editor is a diffusers InstructPix2Pix pipeline, a local pipeline folder or "
                f"a hub id, got {type(source).__name__}"
            )
        self._revision = revision if self._kind == "hub" else None
        self._local_files_only = local_files_only
        self._device = device
        self._dtype = dtype

    @classmethod
    def from_spec(cls, spec: Any = None, **options: Any) -> Editor:
        """Return an editor for a plain value: an editor, a pipeline, a folder or a hub id.

        Parameters
        ----------
        spec : Editor, pipeline, str or path-like, optional
            An :class:`Editor` (returned as it is), a pipeline object, a local
            pipeline folder or a hub id; None means the default hub id
            ``"timbrooks/instruct-pix2pix"``.
        **options
            ``revision``, ``local_files_only``, ``device``, ``dtype``, as for
            :class:`Editor` (not with an existing editor).

        Returns
        -------
        Editor
            The editor; nothing is loaded yet.

        Raises
        ------
        ValueError
            If options are given with an existing editor or a pipeline object.
        """
        if isinstance(spec, Editor):
            given = [name for name, value in options.items() if value is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} cannot change an existing Editor; build a new one"
                )
            return spec
        return cls(spec, **options)

    @property
    def kind(self) -> str:
        """``"pipeline"``, ``"folder"`` or ``"hub"``: what the editor was given."""
        return self._kind

    @property
    def name(self) -> str:
        """The hub id, the folder (resolved) or the pipeline's ``name_or_path``."""
        if self._kind == "pipeline":
            return getattr(self._pipeline, "name_or_path", None) or "<pipeline object>"
        return str(self._model_id)

    @property
    def revision(self) -> str | None:
        """The hub revision (None for folders and pipeline objects)."""
        return self._revision

    @property
    def loaded(self) -> bool:
        """Whether the pipeline is in memory (always for a given pipeline)."""
        return self._pipeline is not None

    @property
    def pipeline(self) -> Any:
        """The pipeline, loaded with :func:`load_instruct_pix2pix` on first access.

        Raises
        ------
        ModelNotAvailableError
            If the model has to be loaded and is not available.
        """
        if self._pipeline is None:
            self._pipeline = load_instruct_pix2pix(
                self._folder if self._folder is not None else self._model_id,
                revision=self._revision,
                local_files_only=self._local_files_only,
                device=self._device,
                dtype=self._dtype,
            )
        return self._pipeline

    def spec(self) -> dict[str, Any]:
        """How to build an equal editor: the source and the loading options.

        Returns
        -------
        dict
            ``source`` (the hub id or resolved folder; ``None`` for a pipeline
            object), ``revision``, ``local_files_only``, ``device``, ``dtype``;
            ``Editor(spec.pop("source"), **spec)`` rebuilds it (not for a
            pipeline object).
        """
        return {
            "source": None if self._kind == "pipeline" else self._model_id,
            "revision": self._revision,
            "local_files_only": self._local_files_only,
            "device": self._device,
            "dtype": self._dtype,
        }

    def identity(self) -> dict[str, Any]:
        """The editor's part of a cache key (what determines its frames).

        Returns
        -------
        dict
            For a pipeline object: see :func:`pipeline_identity`. For a folder:
            ``model="local folder"``, ``folder_sha256`` (see
            :func:`folder_fingerprint`), ``dtype``, ``scheduler="model
            default"``. For a hub id: ``model`` (the id), ``revision``,
            ``dtype``, ``scheduler="model default"``. The folder's path is not
            part of it, so a moved or copied folder keeps its cached frames.
        """
        if self._kind == "pipeline":
            return pipeline_identity(self._pipeline)
        if self._dtype is not None:
            dtype = str(self._dtype).replace("torch.", "")
        else:
            dtype = "float16" if resolve_device(self._device).type == "cuda" else "float32"
        if self._kind == "folder":
            return {
                "model": "local folder",
                "folder_sha256": folder_fingerprint(self._folder),
                "dtype": dtype,
                "scheduler": "model default",
            }
        return {
            "model": self._model_id,
            "revision": self._revision,
            "dtype": dtype,
            "scheduler": "model default",
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._kind != "pipeline":
            state["_pipeline"] = None  # workers load the spec themselves
        return state

    def __repr__(self) -> str:
        if self._kind == "pipeline":
            return f"Editor(<pipeline {self.name!r}>)"
        revision = f", revision={self._revision!r}" if self._revision else ""
        return f"Editor({self.name!r}{revision}, loaded={self.loaded})"
