"""The chapter's toy data source: the toy CLIP, rendered turntable videos, rendered rotations.

:class:`ToyOrientation` has the interface the chapter uses for either source
(this one and :class:`~propgrad.chapters.clip_orientation.real.RecordedOrientation`):
the zero-shot model and the texts of each of the paper's objects, the
turntable sweeps, the rotation sweeps and their image embeddings. Here the
model is the toy CLIP with a planted pose bias
(:mod:`~propgrad.chapters.clip_orientation.toy_clip`), and meshes stand in
for the paper's objects (:data:`~propgrad.chapters.clip_orientation.toy_clip.PAPER_STAND_INS`).

The demo's turntable
--------------------
No footage of the paper's toys exists here. :func:`render_turntable_video`
stands in for it: a mesh rendered turning once about the vertical axis, with
a slightly wobbling camera, a flickering light, small frame shifts and sensor
noise, written to an H.264 video; the chapter reads the video back through the
same turntable loader as real footage (:func:`demo_turntables` caches the
videos by their settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.chapters.clip_orientation.paper import ROTATED_OBJECT, TURNTABLE_OBJECTS
from propgrad.chapters.clip_orientation.sweeps import (
    image_embeddings,
    rotation_sweeps,
    turntable_sweeps,
)
from propgrad.chapters.clip_orientation.toy_clip import (
    PAPER_STAND_INS,
    TOY_DESCRIPTORS,
    render_training_views,
    train_toy_clip,
)


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


class ToyOrientation:
    """The toy CLIP on rendered meshes as the chapter's data source (see the module notes).

    Parameters
    ----------
    preset : str, ToyClipConfig or mapping, default "demo"
        The toy CLIP (see
        :func:`~propgrad.chapters.clip_orientation.toy_clip.train_toy_clip`).
    n_frames : int, default 360
        Frames of each rendered turntable video.
    n_angles : int, default 360
        Rendered frames per full turn of the rotations.
    size : int, default 224
        Frame size in pixels.
    seed : int, default 0
        Seeds the turntable videos' perturbations.
    """

    kind = "toy"
    description = "toy CLIP, rendered meshes"

    def __init__(
        self,
        preset: Any = "demo",
        *,
        n_frames: int = 360,
        n_angles: int = 360,
        size: int = 224,
        seed: int = 0,
    ) -> None:
        self.preset = preset
        self.n_frames, self.n_angles, self.size, self.seed = n_frames, n_angles, size, seed
        self._toy: Any = None
        self._zero_shot: Any = None

    @property
    def classes(self) -> dict[str, str]:
        """The zero-shot class (mesh) standing in for each of the paper's objects."""
        return dict(PAPER_STAND_INS)

    @property
    def descriptors(self) -> dict[str, tuple[str, ...]]:
        """The texts of each object: its mesh's ten captions."""
        return {o: TOY_DESCRIPTORS[m] for o, m in self.classes.items()}

    @property
    def used_here(self) -> dict[str, str]:
        """What is used for each of the paper's objects (Table 13's column)."""
        return {o: f"{m} mesh" for o, m in self.classes.items()}

    def models(self) -> dict[str, str]:
        """The model and each object's stand-in, as recorded (``models``)."""
        return {"clip": self.description, **{o: f"mesh {m}" for o, m in self.classes.items()}}

    @property
    def texts(self) -> dict[str, str]:
        """Legend label of each object's texts, naming the mesh."""
        return {o: f"{o} texts ({m})" for o, m in self.classes.items()}

    @property
    def notes(self) -> dict[str, str | None]:
        """Notes beside the profile in the figures: what stands in for what."""
        return {
            "views": f"toy CLIP preset {self.preset!r}",
            "turntables": "rendered turntable videos of CGAL sample meshes",
            "rotations": "renders of CGAL sample meshes",
            "curves": "toy CLIP, rendered turntable videos",
            "frog": f"{self.classes[ROTATED_OBJECT]} mesh for the frog",
        }

    @property
    def frog_label(self) -> str:
        """The rotated object in titles."""
        return f"{ROTATED_OBJECT} stand-in"

    def toy_clip(self) -> Any:
        """The trained toy CLIP (trained once, then loaded from the cache)."""
        if self._toy is None:
            self._toy = train_toy_clip(self.preset)
        return self._toy

    def zero_shot(self) -> Any:
        """The toy CLIP as a zero-shot model over its classes' captions."""
        if self._zero_shot is None:
            self._zero_shot = self.toy_clip().zero_shot()
        return self._zero_shot

    def summary(self) -> str:
        """How the toy CLIP was obtained, its loss per epoch and its texts."""
        toy, shot = self.toy_clip(), self.zero_shot()
        return "\n".join(
            [
                "toy CLIP "
                + ("from the cache" if toy.from_cache else f"trained in {toy.seconds:.0f} s"),
                "loss per epoch: " + " ".join(f"{v:.2f}" for v in toy.history),
                f"{len(shot.texts)} descriptors of {', '.join(shot.classes)}",
            ]
        )

    def training_views(self) -> dict[str, np.ndarray]:
        """The toy CLIP's rendered training views (images, labels, poses), from the cache."""
        return render_training_views(self.toy_clip().config, progress=False)

    def sweeps(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
        """The rendered turntable videos read back, the rotations and their embeddings.

        Returns
        -------
        turntables, rotations, embeddings : dict
            Object -> turntable sweep, axis -> rendered sweep, and sweep name
            (object or axis) -> unit image embeddings (N, embed_dim).
        """
        meshes = {o: self.classes[o] for o in TURNTABLE_OBJECTS}
        videos = demo_turntables(meshes, n_frames=self.n_frames, size=self.size, seed=self.seed)
        turntables = turntable_sweeps(videos, size=self.size)
        rotations = rotation_sweeps(
            self.classes[ROTATED_OBJECT], angles=self.n_angles, size=self.size
        )
        shot = self.zero_shot()
        embeddings = {
            name: image_embeddings(shot, [sweep])[0]
            for name, sweep in {**turntables, **rotations}.items()
        }
        return turntables, rotations, embeddings


__all__ = ["ToyOrientation", "demo_turntables", "render_turntable_video"]
