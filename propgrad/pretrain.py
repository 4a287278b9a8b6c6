"""Stand-in "ImageNet" weights: each backbone pre-trained once on a generic toy task.

At the paper profile, pre-trained models start from real ImageNet weights in
local files (``create_classifier(arch, n, pretrained="resnet18.safetensors")``).
At the demo profile no such weights exist here, so :func:`pretrained_weights`
trains the architecture once on the generic shape/colour/texture task of
:mod:`propgrad.worlds.shapes` (144 classes, ImageNet normalisation), caches the
result under the key of the full configuration, and returns a weights file
that goes through exactly the same loading path: timm drops the 144-class head
when a chapter builds the model with its own number of classes. Chapters that
need pre-trained backbones (skin lesions, training dynamics) share the cache:
the same architecture, arguments, image size and preset give the same file.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from propgrad.cache import atomic_path


@lru_cache(maxsize=4)
def _shapes(n_per_class: int, size: int, seed: int) -> Any:
    """The toy task's images, rendered once per process for all architectures."""
    from propgrad.worlds.shapes import make_shapes

    return make_shapes(n_per_class, size, seed)


def pretrained_weights(
    arch: str,
    image_size: int,
    *,
    preset: str | Mapping[str, Any] = "demo",
    model_kwargs: Mapping[str, Any] | None = None,
    progress: bool = True,
    num_threads: int | None = None,
) -> Path:
    """Pre-train ``arch`` on the toy task (or find the cached result); return its weights file.

    Parameters
    ----------
    arch : str
        An architecture for :func:`propgrad.models.create_classifier` that
        accepts ``pretrained=`` (timm models).
    image_size : int
        Input size used for pre-training (use the chapter's image size).
    preset : str or mapping, optional
        A key of :data:`propgrad.worlds.shapes.SHAPES_PRESETS` or a dict of the
        same layout (``world``: ``n_per_class``, ``seed``; ``train``:
        :class:`propgrad.train.TrainSettings` fields).
    model_kwargs : mapping, optional
        Architecture arguments (e.g. a small ``embed_dim`` for a ViT); the
        chapter must build its model with the same ones.
    progress : bool, optional
        Progress bars on a terminal.
    num_threads : int, optional
        Torch CPU threads while training.

    Returns
    -------
    Path
        A ``.pth`` state dict with a 144-class head, for ``pretrained=``.
    """
    import torch

    from propgrad.models.classifier import create_classifier
    from propgrad.train import TrainSettings, fit
    from propgrad.worlds.shapes import CLASS_NAMES, SHAPES_PRESETS

    settings = SHAPES_PRESETS[preset] if isinstance(preset, str) else dict(preset)
    world = dict(settings["world"])
    classifier = create_classifier(
        arch,
        len(CLASS_NAMES),
        image_size=image_size,
        normalisation="imagenet",
        class_names=CLASS_NAMES,
        seed=int(settings["train"].get("seed", 0)),
        **dict(model_kwargs or {}),
    )
    data_key = {"world": "shapes", "size": int(image_size), **world}
    fit(
        classifier,
        lambda: _shapes(int(world["n_per_class"]), int(image_size), int(world["seed"])),
        settings=TrainSettings(**settings["train"]),
        data_key=data_key,
        progress=progress,
        num_threads=num_threads,
    )
    path = classifier.training.folder / "pretrained.pth"
    if not path.is_file():
        with atomic_path(path) as tmp:
            torch.save(classifier.model.state_dict(), tmp)
    return path


def pretrain_task(job: Mapping[str, Any]) -> str:
    """Task: pre-train one architecture on the toy task (cached); return the weights file.

    Parameters
    ----------
    job : mapping
        ``arch``, ``image_size``, ``preset`` (a shapes preset name or dict),
        ``model_kwargs``, ``num_threads``, ``progress``.

    Returns
    -------
    str
        The weights file of :func:`propgrad.pretrain.pretrained_weights`.
    """
    path = pretrained_weights(
        job["arch"],
        int(job["image_size"]),
        preset=job["preset"],
        model_kwargs=job.get("model_kwargs") or {},
        progress=bool(job.get("progress", True)),
        num_threads=job.get("num_threads"),
    )
    return str(path)


def pretrained_backbones(
    architectures: Mapping[str, Mapping[str, Any]],
    image_size: int,
    *,
    preset: str | Mapping[str, Any] = "demo",
    cluster: Any = None,
    num_threads: int | None = None,
    progress: bool = True,
) -> dict[str, str]:
    """The ImageNet stand-in: every architecture pre-trained once on the toy task.

    One idempotent task per architecture (:func:`pretrain_task`), so the
    backbones train side by side on a cluster and a killed run resumes.

    Parameters
    ----------
    architectures : mapping
        Label -> ``{"arch": timm name, "model_kwargs": {...}}``.
    image_size : int
        Input size (the chapter's).
    preset : str or mapping, optional
        A key of :data:`propgrad.worlds.shapes.SHAPES_PRESETS` or a dict of
        the same layout.
    cluster, num_threads, progress
        Where to run (:func:`propgrad.tasks.run_tasks`), torch threads per
        training, progress bars.

    Returns
    -------
    dict
        Label -> weights file (``create_classifier(..., pretrained=...)``).
    """
    from propgrad.tasks import run_tasks

    jobs = [
        {
            "arch": spec["arch"],
            "image_size": int(image_size),
            "preset": preset,
            "model_kwargs": spec["model_kwargs"],
            "num_threads": num_threads,
            "progress": progress,
        }
        for spec in architectures.values()
    ]
    paths = run_tasks(pretrain_task, jobs, cluster=cluster, progress=progress, desc="pre-train")
    return dict(zip(architectures, paths, strict=True))


#: Weights files looked for by :func:`find_imagenet_weights`, in order (a timm hub
#: download keeps ``<timm name>/model.safetensors``).
WEIGHT_NAMES = (
    "{arch}.safetensors",
    "{arch}.pth",
    "{arch}.bin",
    "{arch}/model.safetensors",
    "{arch}/pytorch_model.bin",
)


def find_imagenet_weights(
    architectures: Mapping[str, Mapping[str, Any]], weights: str | Path | Mapping[str, Any] | None
) -> dict[str, str]:
    """Locate the local ImageNet weights file of every architecture (paper profile).

    Parameters
    ----------
    architectures : mapping
        Label -> ``{"arch": timm name, ...}`` (e.g.
        :func:`propgrad.chapters.skin_lesions.models.architecture_table`).
    weights : str, Path or mapping
        A folder holding ``<timm name>.safetensors`` (or ``.pth``, ``.bin``,
        or ``<timm name>/model.safetensors`` as the hub stores them), or a
        mapping paper label (or timm name) -> file.

    Returns
    -------
    dict
        Label -> file.

    Raises
    ------
    FileNotFoundError
        Naming every missing file and where it was looked for.
    """
    if weights is None:
        raise FileNotFoundError(
            "the paper profile starts from ImageNet weights in local files: pass "
            "imagenet_weights=<folder with <timm name>.safetensors files> or a mapping "
            "{architecture label: weights file}; expected timm names: "
            + ", ".join(spec["arch"] for spec in architectures.values())
        )
    if not isinstance(weights, Mapping) and not Path(weights).expanduser().is_dir():
        raise FileNotFoundError(f"ImageNet weights folder not found: {weights}")
    found, missing = {}, []
    for label, spec in architectures.items():
        if isinstance(weights, Mapping):
            given = weights.get(label, weights.get(spec["arch"]))
            candidates = [Path(given)] if given is not None else []
        else:
            folder = Path(weights).expanduser()
            candidates = [folder / n.format(arch=spec["arch"]) for n in WEIGHT_NAMES]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            where = ", ".join(str(c) for c in candidates) or f"no entry for {label!r}"
            missing.append(f"{label} ({spec['arch']}): {where}")
        else:
            found[label] = str(hit)
    if missing:
        raise FileNotFoundError("ImageNet weights not found for " + "; ".join(missing))
    return found


__all__ = [
    "WEIGHT_NAMES",
    "find_imagenet_weights",
    "pretrain_task",
    "pretrained_backbones",
    "pretrained_weights",
]
