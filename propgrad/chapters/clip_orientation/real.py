"""The paper's CLIP orientation recipe (Sec. 4.4, appendix E) and the demo's stand-in footage.

The paper profile
-----------------
* Model: CLIP ViT-B/32 with OpenAI's weights from a local file
  (:func:`paper_zero_shot`), scored against the ten descriptors per object
  of the paper's Table 13 (:data:`PAPER_DESCRIPTORS`).
* Captured interventions: one turntable recording per toy, a folder of
  frames or a video each (:func:`turntable_sweeps`, read with
  :func:`propgrad.interventions.turntable.load_turntable`; frames are cropped
  to a centred square, as CLIP's own preprocessing does, and resized).
* Virtual interventions: a mesh (the paper's frog, or any ``.off``/``.obj``
  file) rendered at one image per degree about x, y and z
  (:func:`rotation_sweeps`).
* Embedding every frame is the heavy step; :func:`embed_sweeps` submits one
  task per sweep through :func:`propgrad.tasks.run_tasks` (in this process,
  a local process pool, or a Dask cluster), each cached under its job.

The demo's turntable
--------------------
No footage of the paper's toys exists here. :func:`render_turntable_video`
stands in for it: a mesh rendered turning once about the vertical axis, with
a slightly wobbling camera, a flickering light, small frame shifts and sensor
noise, written to an H.264 video; the chapter reads the video back through the
same turntable loader as real footage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from propgrad.interventions.turntable import VIDEO_SUFFIXES
from propgrad.paper.clip import TABLE13, TABLE13_ROWS, TURNTABLE_OBJECTS
from propgrad.tasks import cached_task

#: The paper's descriptors per object (its Table 13), keyed by the object labels
#: of Tables 14 and 15.
PAPER_DESCRIPTORS: dict[str, tuple[str, ...]] = {
    label: TABLE13[row] for label, row in TABLE13_ROWS.items()
}

#: The paper's model and how OpenAI's weights must be loaded.
PAPER_MODEL = {"model_name": "ViT-B-32", "quick_gelu": True}

AXES = ("x", "y", "z")


# ----------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------
def clip_source(model: str | Path) -> dict[str, Any]:
    """How to build a CLIP: an open_clip name, or a JSON architecture config file.

    Parameters
    ----------
    model : str or Path
        An open_clip model name (``"ViT-B-32"``) or the path of a ``.json``
        file holding an open_clip config (``embed_dim``, ``vision_cfg``,
        ``text_cfg``; also the ``model_cfg`` entry of an
        ``open_clip_config.json``).

    Returns
    -------
    dict
        Keyword arguments for :func:`propgrad.models.clip.load_clip`.
    """
    text = str(model)
    if text.lower().endswith(".json"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"CLIP architecture config not found: {path}")
        cfg = json.loads(path.read_text())
        return {"model_cfg": cfg.get("model_cfg", cfg)}
    return {"model_name": text}


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
        The architecture (see :func:`clip_source`).
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
    from propgrad.models.clip import load_clip, zero_shot_clip

    if weights is None:
        raise ValueError(
            "the paper profile needs clip_weights: a local file with the CLIP weights (the "
            "paper: OpenAI's ViT-B-32.pt)"
        )
    clip = load_clip(pretrained=weights, quick_gelu=quick_gelu, device=device, **clip_source(model))
    return zero_shot_clip(clip, descriptors or PAPER_DESCRIPTORS, device=device)


# ----------------------------------------------------------------------------
# captured interventions
# ----------------------------------------------------------------------------
def centre_square(image: Image.Image, size: int | None = None) -> Image.Image:
    """Crop the largest centred square of an image, optionally resized (bicubic)."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    out = image.crop((left, top, left + side, top + side))
    if size is not None and out.size != (size, size):
        out = out.resize((size, size), Image.BICUBIC)
    return out


def find_recordings(
    root: str | Path, objects: Sequence[str] = TURNTABLE_OBJECTS
) -> dict[str, Path]:
    """The recording of every object in a turntable folder.

    Parameters
    ----------
    root : str or Path
        A folder with, per object, a subfolder of frames or a video named
        after it (case-insensitive), e.g. ``elephant/`` or ``Giraffe.mp4``.
    objects : sequence of str
        The objects to find.

    Returns
    -------
    dict
        Object -> folder or video.

    Raises
    ------
    FileNotFoundError
        If the folder or an object's recording is missing (the message lists
        what was found).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"turntable folder not found: {root}; it should hold one recording per object "
            f"({', '.join(objects)}): a folder of frames or a video each, named after it"
        )
    entries = {
        p.stem.lower() if p.is_file() else p.name.lower(): p
        for p in sorted(root.iterdir())
        if p.is_dir() or p.suffix.lower() in VIDEO_SUFFIXES
    }
    found = {}
    for name in objects:
        key = name.lower()
        if key not in entries:
            raise FileNotFoundError(
                f"no turntable recording for {name!r} in {root}: expected a folder "
                f"{key}/ of frames or a video {key}.mp4 (found: {sorted(entries) or 'nothing'})"
            )
        found[name] = entries[key]
    return found


def turntable_sweeps(
    recordings: str | Path | Mapping[str, str | Path],
    objects: Sequence[str] = TURNTABLE_OBJECTS,
    *,
    size: int | None = 224,
    stride: int = 1,
    **turntable_options: Any,
) -> dict[str, Any]:
    """Read one turntable recording per object as periodic sweeps.

    Parameters
    ----------
    recordings : str, Path or mapping
        A folder holding, per object, a subfolder of frames or a video named
        after it (case-insensitive: ``elephant/`` or ``Elephant.mp4``), or a
        mapping object -> folder or video.
    objects : sequence of str, default the paper's three toys
        Which objects to read (ignored for a mapping).
    size : int or None, default 224
        Every frame is cropped to its centred square and resized to
        ``size`` x ``size`` (``None``: cropped only).
    stride : int, default 1
        Keep every ``stride``-th frame (still one full turn).
    **turntable_options
        Passed to :func:`propgrad.interventions.turntable.load_turntable`
        (``start_angle``, ``direction``, ``includes_end``).

    Returns
    -------
    dict
        Object -> :class:`~propgrad.sweep.Sweep` over one full turn
        (``metadata["periodic"]`` is true).
    """
    from propgrad.interventions.turntable import load_turntable
    from propgrad.sweep import Sweep

    if isinstance(recordings, Mapping):
        sources = {str(k): Path(v).expanduser() for k, v in recordings.items()}
    else:
        sources = find_recordings(recordings, objects)
    if int(stride) < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    out = {}
    for name, source in sources.items():
        sweep = load_turntable(source, **turntable_options)
        images = [centre_square(image, size) for image in sweep.images[:: int(stride)]]
        metadata = {**sweep.metadata, "object": name, "stride": int(stride)}
        out[name] = Sweep(images, sweep.grid[:: int(stride)], sweep.grid_name, metadata)
    return out


# ----------------------------------------------------------------------------
# virtual interventions
# ----------------------------------------------------------------------------
def load_object_mesh(source: str | Path, rotation: Any = None) -> Any:
    """A mesh by asset name or from an ``.off`` or ``.obj`` file, in its canonical pose.

    Parameters
    ----------
    source : str or Path
        An animal of the assets (``"cow"``), or a mesh file.
    rotation : optional
        Rotation into the canonical pose (upright, z up, head towards +x;
        see :mod:`propgrad.meshes`), e.g. ``[("x", 90)]`` for a file stored
        with y up. Ignored for asset names, which have their own.

    Returns
    -------
    propgrad.meshes.Mesh
        Centred and scaled to the unit sphere.
    """
    from propgrad.meshes import load_mesh

    path = Path(str(source)).expanduser()
    if path.suffix.lower() in (".off", ".obj") or path.is_file():
        return load_mesh(path, rotation=rotation)
    return load_mesh(str(source))


def rotation_sweeps(
    mesh: Any,
    axes: Sequence[str] = AXES,
    angles: int | Sequence[float] = 360,
    *,
    size: int = 224,
    rotation: Any = None,
    **render_options: Any,
) -> dict[str, Any]:
    """Render a mesh turned once about each axis (the paper: one image per degree).

    Parameters
    ----------
    mesh : Mesh, str or Path
        The object (see :func:`load_object_mesh`).
    axes : sequence of {"x", "y", "z"}
        The axes (conventions of :mod:`propgrad.interventions.render3d`:
        x horizontal in the image, y the viewing axis, z vertical).
    angles : int or sequence of float, default 360
        Frames per full turn, or explicit angles in degrees.
    size : int, default 224
        Image size.
    rotation : optional
        Rotation into the canonical pose for a mesh file.
    **render_options
        Passed to :func:`propgrad.interventions.render3d.render_rotation`.

    Returns
    -------
    dict
        Axis -> :class:`~propgrad.sweep.Sweep` (angles in degrees).
    """
    from propgrad.interventions.render3d import render_rotation
    from propgrad.meshes import Mesh

    if not isinstance(mesh, Mesh):
        mesh = load_object_mesh(mesh, rotation)
    return {a: render_rotation(mesh, a, angles, size=size, **render_options) for a in axes}


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


def _worker_clip(spec: Mapping[str, Any]) -> Any:
    """The zero-shot CLIP of a job, loaded once per process."""
    from propgrad.cache import config_key

    key = config_key(dict(spec))
    if key not in _CLIPS:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        _CLIPS.clear()
        _CLIPS[key] = paper_zero_shot(
            spec["weights"],
            spec["model"],
            quick_gelu=spec["quick_gelu"],
            device=device,
        )
    return _CLIPS[key]


def _make_sweep(job: Mapping[str, Any]) -> Any:
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
    return clip.encode_sweeps([_make_sweep(job["sweep"])], cache=False, progress=False)[0]


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


def _clip_spec(weights: str | Path, model: str | Path, quick_gelu: bool) -> dict[str, Any]:
    """The CLIP part of an embedding job: where the weights are, and their sha256."""
    from propgrad.assets import file_sha256

    weights = Path(weights).expanduser()
    if not weights.is_file():
        raise FileNotFoundError(f"CLIP weights file not found: {weights}")
    return {
        "weights": str(weights),
        "sha256": file_sha256(weights),
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
# the demo's stand-in footage
# ----------------------------------------------------------------------------
def render_turntable_video(
    mesh: Any,
    path: str | Path,
    *,
    n_frames: int = 360,
    size: int = 224,
    elevation: float = 10.0,
    wobble: float = 0.4,
    shift: int = 2,
    light_jitter: float = 0.08,
    flicker: float = 0.03,
    noise: float = 2.0,
    background: Any = (0.86, 0.85, 0.82),
    fps: int = 30,
    crf: int = 18,
    seed: int = 0,
) -> Path:
    """Film a rendered mesh on a virtual turntable and write the footage as a video.

    Frame ``k`` shows the mesh turned by ``360 * k / n_frames`` degrees about
    the vertical axis (counter-clockwise seen from above, the turntable
    loader's default). Each frame is perturbed as a handheld recording would
    be: the camera wobbles (normal angles of spread ``wobble`` degrees about
    the vertical and horizontal axes) and shifts by up to ``shift`` pixels,
    the light direction jitters (``light_jitter``) and its brightness
    flickers (relative spread ``flicker``), and sensor noise (``noise``
    grey levels) is added; the video is H.264-compressed (``crf``).

    Parameters
    ----------
    mesh : Mesh or str
        The object (an asset name is loaded in its canonical pose).
    path : str or Path
        The video file to write (``.mp4``); its folder is created.
    n_frames, size, elevation
        Frames over the full turn, frame size in pixels, camera height in
        degrees.
    wobble, shift, light_jitter, flicker, noise
        The perturbations (0 turns one off).
    background : colour, default light beige-grey
        The backdrop.
    fps, crf : int
        Frame rate and H.264 quality (lower: better).
    seed : int
        Seeds the perturbations.

    Returns
    -------
    Path
        The video.
    """
    import av

    from propgrad.cache import atomic_path
    from propgrad.interventions.render3d import DEFAULT_OPTIONS, render
    from propgrad.meshes import Mesh, load_mesh

    if not isinstance(mesh, Mesh):
        mesh = load_mesh(mesh)
    rng = np.random.default_rng(seed)
    base_light = np.asarray(DEFAULT_OPTIONS["light"], dtype=float)
    path = Path(path)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width = stream.height = size
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf)}
            for k in range(n_frames):
                angle = 360.0 * k / n_frames
                light = base_light + rng.normal(0.0, light_jitter, 3)
                gain = 1.0 + rng.normal(0.0, flicker)
                frame = render(
                    mesh,
                    [
                        ("z", angle + rng.normal(0.0, wobble)),
                        ("x", elevation + rng.normal(0.0, wobble)),
                    ],
                    size=size,
                    background=background,
                    light=tuple(float(v) for v in light),
                    ambient=0.3 * gain,
                    diffuse=0.7 * gain,
                )
                pixels = np.asarray(frame, dtype=np.float64)
                dy, dx = rng.integers(-shift, shift + 1, 2) if shift else (0, 0)
                pixels = np.roll(pixels, (int(dy), int(dx)), axis=(0, 1))
                pixels = pixels + rng.normal(0.0, noise, pixels.shape)
                image = np.clip(pixels, 0, 255).round().astype(np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return path


def demo_turntables(
    meshes: Mapping[str, Any],
    *,
    n_frames: int = 360,
    size: int = 224,
    seed: int = 0,
    folder: str | Path | None = None,
) -> dict[str, Path]:
    """Render the demo's turntable videos (cached by their settings).

    Parameters
    ----------
    meshes : mapping
        Object label -> mesh asset name (e.g. ``{"Elephant": "elephant"}``).
    n_frames, size, seed
        See :func:`render_turntable_video` (each object gets its own seed).
    folder : str or Path, optional
        Where to write them (default: the cache, ``clip_turntables/<key>``).

    Returns
    -------
    dict
        Object label -> video path (named after the label, so the folder
        has the layout :func:`turntable_sweeps` reads).
    """
    from propgrad.cache import cache_dir, config_key

    settings = {"meshes": dict(meshes), "n_frames": n_frames, "size": size, "seed": seed, "v": 1}
    folder = Path(folder) if folder else cache_dir("clip_turntables", config_key(settings))
    out = {}
    for i, (label, mesh) in enumerate(meshes.items()):
        path = folder / f"{label.lower()}.mp4"
        if not path.is_file():
            render_turntable_video(mesh, path, n_frames=n_frames, size=size, seed=seed + i)
        out[label] = path
    return out


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
    embeddings = embed_sweeps(
        jobs, weights, model, quick_gelu=quick_gelu, cluster=cluster, progress=progress
    )
    return turntables, rotations, embeddings


__all__ = [
    "AXES",
    "PAPER_DESCRIPTORS",
    "PAPER_MODEL",
    "centre_square",
    "clip_source",
    "demo_turntables",
    "embed_sweeps",
    "embed_task",
    "find_recordings",
    "load_object_mesh",
    "paper_run",
    "paper_zero_shot",
    "render_turntable_video",
    "rotation_job",
    "rotation_sweeps",
    "turntable_job",
    "turntable_sweeps",
]
