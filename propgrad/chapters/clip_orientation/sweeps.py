"""The chapter's two interventions on orientation as sweeps, and their image embeddings.

Both data sources (:mod:`~propgrad.chapters.clip_orientation.toy` and
:mod:`~propgrad.chapters.clip_orientation.real`) read them the same way:

* **captured interventions**: one turntable recording per object, a folder
  of frames or a video each (:func:`find_recordings`,
  :func:`turntable_sweeps`, read with
  :func:`propgrad.interventions.turntable.load_turntable`); frames are
  cropped to a centred square, as CLIP's own preprocessing does, and resized;
* **virtual interventions**: a mesh (the paper's frog, an asset, or any
  ``.off``/``.obj`` file) rendered at one image per degree about each axis
  (:func:`rotation_sweeps`);
* :func:`image_embeddings`: the unit image embeddings of a zero-shot CLIP
  along sweeps, through the package's one prediction path (cached on disk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from propgrad.chapters.clip_orientation.paper import TURNTABLE_OBJECTS
from propgrad.interventions.turntable import VIDEO_SUFFIXES
from propgrad.meshes import AXES


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
# embeddings
# ----------------------------------------------------------------------------
def image_embeddings(
    zero_shot: Any,
    sweeps: Any,
    *,
    batch_size: int = 64,
    cache: bool = True,
    progress: bool = True,
    device: str | None = None,
) -> np.ndarray:
    """Unit image embeddings of every frame of M equally long sweeps.

    The ``"embedding"`` classifier of the zero-shot model run through
    :func:`propgrad.prediction.predict_sweeps` (``softmax=False``), so the
    embeddings are cached under ``outputs/`` like every model output.

    Parameters
    ----------
    zero_shot : propgrad.models.clip.ZeroShotCLIP
        The model.
    sweeps : sequence of Sweep, or ndarray (M, N, H, W, 3)
        The sweeps.
    batch_size, cache, progress, device
        As for :func:`propgrad.prediction.predict_sweeps`.

    Returns
    -------
    ndarray
        (M, N, embed_dim); compare them with the texts by
        :meth:`~propgrad.models.clip.ZeroShotCLIP.similarities`.
    """
    from propgrad.prediction import predict_sweeps

    return predict_sweeps(
        zero_shot.classifier("embedding"),
        sweeps,
        softmax=False,
        batch_size=batch_size,
        cache=cache,
        progress=progress,
        device=device,
        desc="CLIP image embeddings",
    )


__all__ = [
    "centre_square",
    "find_recordings",
    "image_embeddings",
    "load_object_mesh",
    "rotation_sweeps",
    "turntable_sweeps",
]
