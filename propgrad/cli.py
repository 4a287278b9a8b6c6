r"""Command line: make a sweep from an image, explain a model on a sweep folder.

Examples
--------
Make a designed background sweep and explain one of the authors' models on it::

    propgrad sweep background photo.jpg --out sweeps/photo-bg --steps 100
    propgrad explain --model authors:dark-cats --sweep sweeps/photo-bg --out report/

Edit with InstructPix2Pix over 92 text scales (a GPU is recommended)::

    propgrad sweep edit photo.jpg --instruction "change the fur color to black" \\
        --scales 1.05:14.7:0.15 --image-scale 2.0 --out sweeps/photo-fur

Bad input (unreadable image, empty folder, unknown model, scales not
increasing) prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _open_image(path: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError as exc:
        raise CliError(f"image not found: {path}") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise CliError(f"cannot read image {path}: {exc.__class__.__name__}") from exc


def parse_scales(text: str) -> np.ndarray:
    """Parse ``start:stop:step`` (inclusive stop) or a comma-separated list.

    Parameters
    ----------
    text : str
        ``"1.05:14.7:0.15"`` or ``"1.05,2,3.5"``.

    Returns
    -------
    ndarray
        The strictly increasing scales.

    Raises
    ------
    CliError
        If the text cannot be parsed, or the scales are fewer than two or not
        strictly increasing.
    """
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if step <= 0:
                raise CliError(f"scales: the step must be positive, got {step:g}")
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            scales = start + step * np.arange(count)
        else:
            scales = np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError as exc:
        raise CliError(f"scales: cannot parse {text!r} (use start:stop:step or a,b,c)") from exc
    if scales.size < 2:
        raise CliError(f"scales: need at least 2 values, got {scales.size}")
    if not np.all(np.diff(scales) > 0):
        raise CliError(f"scales must be strictly increasing, got {text!r}")
    return np.round(scales, 6)


def load_model(spec: str, checkpoint: str | None = None, num_classes: int | None = None):
    """Build a classifier (with its preprocessing) from a command-line spec.

    Parameters
    ----------
    spec : str
        ``authors:<split>`` for the authors' Cats-vs-Dogs ConvMixers (named by
        their training split: ``unbiased``, ``dark-cats``, ``dark-dogs``), or
        ``timm:<architecture>`` for a timm model with weights from
        ``checkpoint``; both go through :func:`propgrad.models.create_classifier`.
    checkpoint : str, optional
        Weights file for a timm model (a state dict saved with torch.save or
        safetensors).
    num_classes : int, optional
        Outputs of the timm model's head (default: read from the checkpoint).

    Returns
    -------
    propgrad.models.Classifier

    Raises
    ------
    CliError
        For an unknown spec or architecture, or a checkpoint that is missing,
        not a state dict, or does not fit (one line, naming the file).
    """
    kind, _, name = spec.partition(":")
    if kind == "authors":
        from propgrad.authors import load_cvd_convmixer

        try:
            return load_cvd_convmixer(name)
        except (ValueError, FileNotFoundError) as exc:
            raise CliError(str(exc).splitlines()[0]) from exc
    if kind == "timm":
        import timm

        from propgrad.models.classifier import create_classifier, read_state_dict, unknown_arch

        if name not in timm.list_models():
            raise CliError(str(unknown_arch(name)))
        if checkpoint is None:
            raise CliError("a timm model needs --checkpoint FILE (no downloads here)")
        try:
            if num_classes is None:
                num_classes = _classes_in(read_state_dict(checkpoint), name)
            return create_classifier(name, num_classes, checkpoint=checkpoint)
        except (ValueError, FileNotFoundError) as exc:
            raise CliError(str(exc).splitlines()[0]) from exc
    raise CliError(
        f"unknown model {spec!r}: use authors:<unbiased|dark-cats|dark-dogs> "
        "or timm:<architecture> with --checkpoint"
    )


def _classes_in(state: dict, arch: str) -> int:
    """Number of classes of a timm checkpoint, from its classifier weight."""
    from propgrad.models.classifier import create_classifier

    head = create_classifier(arch, 1, seed=None).model.pretrained_cfg.get("classifier")
    weight = state.get(f"{head}.weight") if isinstance(head, str) else None
    if weight is None:
        raise ValueError(f"cannot tell the number of classes of {arch}: pass --num-classes")
    return int(weight.shape[0])


def _cmd_sweep_background(args: argparse.Namespace) -> int:
    from propgrad.interventions.designed import background_sweep

    image = _open_image(args.image)
    sweep = background_sweep(
        image, n_steps=args.steps, strength=(args.min_strength, args.max_strength)
    )
    sweep.metadata["source"] = str(args.image)
    sweep.save(args.out)
    print(f"wrote {len(sweep)} frames to {args.out}")
    return 0


def _cmd_sweep_edit(args: argparse.Namespace) -> int:
    from propgrad.interventions.instruct_pix2pix import instruct_pix2pix_sweep

    image = _open_image(args.image)
    scales = parse_scales(args.scales)
    sweep = instruct_pix2pix_sweep(
        image,
        args.instruction,
        scales,
        image_scale=args.image_scale,
        model_id=args.model_id,
        num_inference_steps=args.steps,
        seed=args.seed,
        batch_size=args.batch_size,
        local_files_only=args.local_files_only or None,
    )
    sweep.metadata["source"] = str(args.image)
    sweep.save(args.out)
    print(f"wrote {len(sweep)} frames to {args.out}")
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from propgrad.explanation import explain
    from propgrad.sweep import Sweep

    try:
        sweep = Sweep.load(args.sweep)
    except (FileNotFoundError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    model = load_model(args.model, args.checkpoint, args.num_classes)
    class_names = model.class_names
    if args.class_names:
        class_names = [name.strip() for name in args.class_names.split(",")]
    try:
        report = explain(
            model,
            sweep,
            class_names=class_names,
            n_permutations=args.permutations,
            alpha=args.alpha,
            seed=args.seed,
            softmax=not args.no_softmax,
            progress=True,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    report.save(args.out)
    print(report.summary())
    print(f"report written to {Path(args.out) / 'report.json'} and report.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``propgrad`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="propgrad",
        description="Gradual interventions, property gradients and shuffle tests.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sweep = sub.add_parser("sweep", help="make a sweep folder from one image")
    kinds = sweep.add_subparsers(dest="kind", required=True)
    bg = kinds.add_parser("background", help="designed background darkening/brightening")
    bg.add_argument("image")
    bg.add_argument("--out", required=True, help="output folder")
    bg.add_argument("--steps", type=int, default=100)
    bg.add_argument("--min-strength", type=float, default=-0.8)
    bg.add_argument("--max-strength", type=float, default=0.8)
    bg.set_defaults(func=_cmd_sweep_background)

    edit = kinds.add_parser("edit", help="InstructPix2Pix guidance-scale sweep")
    edit.add_argument("image")
    edit.add_argument("--instruction", required=True)
    edit.add_argument("--out", required=True, help="output folder")
    edit.add_argument("--scales", default="1.05:14.7:0.15", help="start:stop:step or a,b,c")
    edit.add_argument("--image-scale", type=float, default=2.0)
    edit.add_argument("--steps", type=int, default=20, help="denoising steps")
    edit.add_argument("--seed", type=int, default=0)
    edit.add_argument("--batch-size", type=int, default=8, help="scales per UNet batch")
    edit.add_argument("--model-id", default="timbrooks/instruct-pix2pix")
    edit.add_argument("--local-files-only", action="store_true")
    edit.set_defaults(func=_cmd_sweep_edit)

    ex = sub.add_parser("explain", help="explain a model on a sweep folder")
    ex.add_argument("--model", required=True, help="authors:<split> or timm:<architecture>")
    ex.add_argument("--checkpoint", help="weights file for a timm model")
    ex.add_argument("--num-classes", type=int)
    ex.add_argument("--sweep", required=True, help="sweep folder (or a plain folder of images)")
    ex.add_argument("--out", required=True, help="report folder")
    ex.add_argument("--class-names", help="comma-separated names of the outputs")
    ex.add_argument("--permutations", type=int, default=10_000)
    ex.add_argument("--alpha", type=float, default=0.01)
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--no-softmax", action="store_true", help="outputs are already scores")
    ex.set_defaults(func=_cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``propgrad`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "steps", 3) is not None and args.command == "sweep" and args.steps < 2:
            raise CliError(f"--steps must be at least 2, got {args.steps}")
        return args.func(args)
    except CliError as exc:
        print(f"propgrad: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as exc:
        print(f"propgrad: error: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
