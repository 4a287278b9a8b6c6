"""The chapter's real data source: CLIP ViT-B/32, turntable recordings, a mesh (Sec. 4.4, E).

:class:`RecordedOrientation` has the interface of the toy source
(:class:`~propgrad.chapters.clip_orientation.toy.ToyOrientation`), for the
paper profile:

* Model: CLIP ViT-B/32 with OpenAI's weights from a local file
  (:func:`paper_zero_shot`), scored against the ten descriptors per object
  of the paper's Table 13 (:data:`PAPER_DESCRIPTORS`).
* Captured interventions: one turntable recording per toy, a folder of
  frames or a video each (read with
  :func:`~propgrad.chapters.clip_orientation.sweeps.turntable_sweeps`).
* Virtual interventions: a mesh (the paper's frog, or any ``.off``/``.obj``
  file) rendered at one image per degree about x, y and z
  (:func:`~propgrad.chapters.clip_orientation.sweeps.rotation_sweeps`).
* Embedding every frame is the heavy step; :func:`embed_sweeps` submits one
  task per sweep through :func:`propgrad.tasks.run_tasks` (in this process,
  a local process pool, or a Dask cluster), each cached under its job.
  Run in this process (no cluster), the tasks embed the sweeps
  :func:`paper_run` has built already, with the CLIP the data source has
  loaded already: nothing is read, rendered or loaded twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.chapters.clip_orientation.paper import (
    ROTATED_OBJECT,
    TABLE13,
    TABLE13_ROWS,
    TURNTABLE_OBJECTS,
)
from propgrad.chapters.clip_orientation.sweeps import (
    find_recordings,
    image_embeddings,
    rotation_sweeps,
    turntable_sweeps,
)
from propgrad.meshes import AXES
from propgrad.tasks import cached_task

#: The paper's descriptors per object (its Table 13), keyed by the object labels
#: of Tables 14 and 15.
PAPER_DESCRIPTORS: dict[str, tuple[str, ...]] = {
    label: TABLE13[row] for label, row in TABLE13_ROWS.items()
}

#: The paper's model and how OpenAI's weights must be loaded.
PAPER_MODEL = {"model_name": "ViT-B-32", "quick_gelu": True}


# ----------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------
def _require_weights(weights: str | Path | None) -> None:
    if weights is None:
        raise ValueError(
            "the paper profile needs clip_weights: a local file with the CLIP weights (the "
            "paper: OpenAI's ViT-B-32.pt)"
        )


def paper_zero_shot(
    weights: str | Path,
    model: str | Path = PAPER_MODEL["model_name"],
    *,
    quick_gelu: bool = PAPER_MODEL["quick_gelu"],
    descriptors: Mapping[str, Sequence[str]] | None = None,
    device: str = "cpu",
) -> Any:
    """The paper's zero-shot CLIP: a local weights file and the Table 13 descriptors.

    Parameters
    ----------
    weights : str or Path
        The weights file (the paper: OpenAI's ViT-B/32).
    model : str or Path, default "ViT-B-32"
        The architecture (see :func:`propgrad.models.clip.clip_architecture`).
    quick_gelu : bool, default True
        QuickGELU activations (OpenAI's weights need them).
    descriptors : mapping, optional
        Class -> texts; default :data:`PAPER_DESCRIPTORS`.
    device : str, default "cpu"
        Where to embed the texts.

    Returns
    -------
    propgrad.models.clip.ZeroShotCLIP
    """
    from propgrad.models.clip import clip_architecture, load_clip, zero_shot_clip

    _require_weights(weights)
    clip = load_clip(
        pretrained=weights, quick_gelu=quick_gelu, device=device, **clip_architecture(model)
    )
    return zero_shot_clip(clip, descriptors or PAPER_DESCRIPTORS, device=device)


# ----------------------------------------------------------------------------
# embeddings as tasks
# ----------------------------------------------------------------------------
def _fingerprint(path: str | Path) -> str:
    """A content fingerprint of a file (sha256) or a folder (names, sizes, times)."""
    from propgrad.assets import file_sha256
    from propgrad.cache import config_key

    path = Path(path).expanduser()
    if path.is_file():
        return file_sha256(path)
    items = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(path.iterdir())]
    return config_key({"folder": items})


_CLIPS: dict[str, Any] = {}

#: Sweeps :func:`paper_run` built in this process, by the key of their job, for
#: the embedding tasks that run here (they would build them again otherwise).
_BUILT: dict[str, Any] = {}


def _worker_clip(spec: Mapping[str, Any]) -> Any:
    """The zero-shot CLIP of a job, loaded once per process (shared with the data source).

    Loaded on the CPU, as :meth:`RecordedOrientation.zero_shot` loads it (its
    texts embedded there); the image embeddings move it to the GPU when
    there is one (:func:`propgrad.prediction.predict`).
    """
    from propgrad.cache import config_key

    key = config_key(dict(spec))
    if key not in _CLIPS:
        _CLIPS.clear()
        _CLIPS[key] = paper_zero_shot(spec["weights"], spec["model"], quick_gelu=spec["quick_gelu"])
    return _CLIPS[key]


def _sweep_key(job: Mapping[str, Any]) -> str:
    from propgrad.cache import config_key

    return config_key({"sweep": dict(job)})


def _make_sweep(job: Mapping[str, Any]) -> Any:
    built = _BUILT.get(_sweep_key(job))
    if built is not None:
        return built
    if job["kind"] == "turntable":
        return turntable_sweeps({"_": job["source"]}, size=job["size"], stride=job["stride"])["_"]
    return rotation_sweeps(
        job["mesh"], [job["axis"]], job["angles"], size=job["size"], rotation=job["rotation"]
    )[job["axis"]]


@cached_task
def embed_task(job: Mapping[str, Any]) -> np.ndarray:
    """One task of :func:`embed_sweeps`: build a sweep and embed its frames.

    Parameters
    ----------
    job : mapping
        ``{"clip": ..., "sweep": ...}`` as :func:`embed_sweeps` makes them.

    Returns
    -------
    ndarray
        Unit image embeddings (N, embed_dim), stored under the key of the job.
    """
    clip = _worker_clip(job["clip"])
    return image_embeddings(clip, [_make_sweep(job["sweep"])], cache=False, progress=False)[0]


# The task's results are stored under tasks/<name>/; the name was the function's
# path before the chapter moved here (propgrad.experiments.clip). Keep it, so that
# embeddings already computed at the paper's scale are found again.
embed_task.name = "propgrad.experiments.clip.embed_task"


def turntable_job(source: str | Path, *, size: int = 224, stride: int = 1) -> dict[str, Any]:
    """A job for :func:`embed_sweeps`: one turntable recording (a folder or a video)."""
    return {
        "kind": "turntable",
        "source": str(Path(source).expanduser()),
        "fingerprint": _fingerprint(source),
        "size": size,
        "stride": int(stride),
    }


def rotation_job(
    mesh: str | Path, axis: str, angles: int = 360, *, size: int = 224, rotation: Any = None
) -> dict[str, Any]:
    """A job for :func:`embed_sweeps`: a mesh (asset name or file) turned about one axis."""
    path = Path(str(mesh)).expanduser()
    return {
        "kind": "rotation",
        "mesh": str(path) if path.is_file() else str(mesh),
        "fingerprint": _fingerprint(path) if path.is_file() else str(mesh),
        "axis": axis,
        "angles": angles if isinstance(angles, int) else [float(a) for a in angles],
        "size": size,
        "rotation": rotation,
    }


_SHA256: dict[tuple[str, int, int], str] = {}


def _clip_spec(weights: str | Path, model: str | Path, quick_gelu: bool) -> dict[str, Any]:
    """The CLIP part of an embedding job: where the weights are, and their sha256.

    The hash of a file is kept for this process while its size and
    modification time stay the same (the weights are hundreds of MB).
    """
    from propgrad.assets import file_sha256

    weights = Path(weights).expanduser()
    if not weights.is_file():
        raise FileNotFoundError(f"CLIP weights file not found: {weights}")
    stat = weights.stat()
    known = (str(weights.resolve()), int(stat.st_size), int(stat.st_mtime_ns))
    if known not in _SHA256:
        _SHA256[known] = file_sha256(weights)
    return {
        "weights": str(weights),
        "sha256": _SHA256[known],
        "model": str(model),
        "quick_gelu": bool(quick_gelu),
    }


def embed_sweeps(
    jobs: Mapping[str, Mapping[str, Any]],
    weights: str | Path,
    model: str | Path = PAPER_MODEL["model_name"],
    *,
    quick_gelu: bool = PAPER_MODEL["quick_gelu"],
    cluster: Any = None,
    max_workers: int = 1,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Image embeddings of many sweeps, one cached task each.

    Parameters
    ----------
    jobs : mapping
        Name -> a job from :func:`turntable_job` or :func:`rotation_job`.
    weights, model, quick_gelu
        The CLIP (see :func:`paper_zero_shot`); the weights file is part of
        every task's key by its sha256.
    cluster : str or dask.distributed.Client, optional
        Where the tasks run (a Dask scheduler address; ``None``: here).
    max_workers : int, default 1
        Local worker processes when ``cluster`` is ``None``.
    progress : bool, default True
        Progress bar on a terminal.

    Returns
    -------
    dict
        Name -> unit image embeddings (N, embed_dim).
    """
    from propgrad.tasks import run_tasks

    spec = _clip_spec(weights, model, quick_gelu)
    names = list(jobs)
    results = run_tasks(
        embed_task,
        [{"clip": spec, "sweep": dict(jobs[n])} for n in names],
        cluster=cluster,
        max_workers=max_workers,
        resources={"GPU": 1} if cluster is not None else None,
        progress=progress,
        desc="embed sweeps",
    )
    return dict(zip(names, results, strict=True))


# ----------------------------------------------------------------------------
# the paper's run
# ----------------------------------------------------------------------------
def paper_run(
    turntable_dir: str | Path,
    mesh: str | Path,
    weights: str | Path,
    model: str | Path = PAPER_MODEL["model_name"],
    *,
    quick_gelu: bool = PAPER_MODEL["quick_gelu"],
    objects: Sequence[str] = TURNTABLE_OBJECTS,
    n_angles: int = 360,
    size: int = 224,
    stride: int = 1,
    rotation: Any = None,
    cluster: Any = None,
    progress: bool = True,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """The paper's sweeps and their CLIP image embeddings (the heavy part as tasks).

    Parameters
    ----------
    turntable_dir : str or Path
        One recording per object (see :func:`find_recordings`).
    mesh : str or Path
        The rendered object (the paper: a frog; a ``.off``/``.obj`` file or an
        asset name).
    weights, model, quick_gelu
        The CLIP (see :func:`paper_zero_shot`).
    objects : sequence of str
        The turntable objects.
    n_angles : int, default 360
        Rendered frames per full turn (the paper: one per degree).
    size : int, default 224
        Frame size (turntable frames: centred square crop, resized).
    stride : int, default 1
        Keep every ``stride``-th turntable frame.
    rotation : optional
        Rotation of the mesh file into the canonical pose (z up, head +x).
    cluster : str or dask.distributed.Client, optional
        Where the embedding tasks run.
    progress : bool, default True
        Progress bars on a terminal.

    Returns
    -------
    turntables, rotations, embeddings : dict
        Object -> turntable sweep, axis -> rendered sweep, and sweep name
        (object or axis) -> unit image embeddings (N, embed_dim).
    """
    recordings = find_recordings(turntable_dir, objects)
    turntables = turntable_sweeps(recordings, size=size, stride=stride)
    rotations = rotation_sweeps(mesh, AXES, n_angles, size=size, rotation=rotation)
    jobs = {o: turntable_job(p, size=size, stride=stride) for o, p in recordings.items()}
    jobs |= {a: rotation_job(mesh, a, n_angles, size=size, rotation=rotation) for a in AXES}
    if cluster is None:  # the tasks run here: they embed the sweeps built above
        built = {**turntables, **rotations}
        _BUILT.update({_sweep_key(job): built[name] for name, job in jobs.items()})
    try:
        embeddings = embed_sweeps(
            jobs, weights, model, quick_gelu=quick_gelu, cluster=cluster, progress=progress
        )
    finally:
        _BUILT.clear()
    return turntables, rotations, embeddings


class RecordedOrientation:
    """CLIP on turntable recordings and a rendered mesh: the paper profile's data source.

    Parameters
    ----------
    weights : str or Path
        The CLIP weights file (the paper: OpenAI's ViT-B-32.pt).
    model : str or Path, default "ViT-B-32"
        The architecture (see :func:`propgrad.models.clip.clip_architecture`).
    quick_gelu : bool, default True
        QuickGELU activations (OpenAI's weights need them).
    turntable_dir : str or Path
        One recording per toy (see
        :func:`~propgrad.chapters.clip_orientation.sweeps.find_recordings`).
    mesh : str or Path
        The rendered object (the paper: a frog; an ``.off``/``.obj`` file).
    mesh_rotation : optional
        Rotation of the mesh file into the canonical pose (z up, head +x).
    stride : int, default 1
        Keep every ``stride``-th recorded frame.
    n_angles : int, default 360
        Rendered frames per full turn.
    size : int, default 224
        Frame size in pixels (turntable frames: centred square, resized).
    cluster : str or dask.distributed.Client, optional
        Where the embedding tasks run.
    """

    kind = "real"

    def __init__(
        self,
        weights: str | Path | None,
        model: str | Path = PAPER_MODEL["model_name"],
        *,
        quick_gelu: bool = PAPER_MODEL["quick_gelu"],
        turntable_dir: str | Path | None = None,
        mesh: str | Path | None = None,
        mesh_rotation: Any = None,
        stride: int = 1,
        n_angles: int = 360,
        size: int = 224,
        cluster: Any = None,
    ) -> None:
        self.weights, self.model, self.quick_gelu = weights, model, quick_gelu
        self.turntable_dir, self.mesh, self.mesh_rotation = turntable_dir, mesh, mesh_rotation
        self.stride, self.n_angles, self.size, self.cluster = stride, n_angles, size, cluster
        self._zero_shot: Any = None

    @property
    def description(self) -> str:
        """What the model and data are, for captions."""
        return "CLIP " + str(self.model)

    @property
    def classes(self) -> dict[str, str]:
        """The zero-shot class of each of the paper's objects: the object itself."""
        return {o: o for o in (*TURNTABLE_OBJECTS, ROTATED_OBJECT)}

    @property
    def descriptors(self) -> dict[str, tuple[str, ...]]:
        """The texts of each object: the paper's Table 13."""
        return {o: PAPER_DESCRIPTORS[o] for o in self.classes}

    @property
    def used_here(self) -> dict[str, str]:
        """What is used for each of the paper's objects (Table 13's column)."""
        return dict(self.classes)

    def models(self) -> dict[str, str]:
        """The model and each object's stand-in, as recorded (``models``)."""
        return {"clip": self.description, **self.classes}

    @property
    def texts(self) -> dict[str, str]:
        """Legend label of each object's texts."""
        return {o: f"{o} texts" for o in self.classes}

    @property
    def notes(self) -> dict[str, str | None]:
        """Notes beside the profile in the figures (none: the real data)."""
        return dict.fromkeys(("views", "turntables", "rotations", "curves", "frog"))

    @property
    def frog_label(self) -> str:
        """The rotated object in titles."""
        return ROTATED_OBJECT

    def zero_shot(self) -> Any:
        """The paper's zero-shot CLIP (:func:`paper_zero_shot`), loaded once.

        The embedding tasks that run in this process (no cluster) use the same
        loaded model.
        """
        if self._zero_shot is None:
            _require_weights(self.weights)
            spec = _clip_spec(self.weights, self.model, self.quick_gelu)
            self._zero_shot = _worker_clip(spec)
        return self._zero_shot

    def summary(self) -> str:
        """The model in a line: how many texts of which classes."""
        shot = self.zero_shot()
        return f"{len(shot.texts)} descriptors of {', '.join(shot.classes)}"

    def training_views(self) -> None:
        """CLIP's training data are not part of the chapter: ``None``."""
        return None

    def sweeps(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
        """The recordings, the rotations and their embeddings (see :func:`paper_run`)."""
        if self.turntable_dir is None or self.mesh is None:
            raise ValueError(
                "the paper profile needs turntable_dir (one recording per toy) and frog_mesh "
                "(the rendered object, an .off or .obj file)"
            )
        return paper_run(
            self.turntable_dir,
            self.mesh,
            self.weights,
            self.model,
            quick_gelu=self.quick_gelu,
            n_angles=self.n_angles,
            size=self.size,
            stride=self.stride,
            rotation=self.mesh_rotation,
            cluster=self.cluster,
        )


__all__ = [
    "PAPER_DESCRIPTORS",
    "PAPER_MODEL",
    "RecordedOrientation",
    "embed_sweeps",
    "embed_task",
    "paper_run",
    "paper_zero_shot",
    "rotation_job",
    "turntable_job",
]
