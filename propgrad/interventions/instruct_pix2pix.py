"""Gradual interventions with InstructPix2Pix, batched across guidance scales.

An InstructPix2Pix edit is steered by two classifier-free-guidance (CFG)
scales. At every denoising step the UNet predicts the noise three times, with
three conditionings of the same latent: text and image, image only, and
neither. The three predictions are mixed as (appendix A.2, Eq. 3 of the paper,
in the form diffusers implements)::

    e = e_uncond + s_T * (e_text_image - e_image) + s_I * (e_image - e_uncond)

A sweep fixes the input image, the instruction, the image scale ``s_I`` and the
seed, and varies only the text scale ``s_T``. Calling the diffusers pipeline
once per scale repeats identical work (text and image encoding, three
conditionings) and runs the UNet on a batch of three. Here the pipeline's own
components run in our denoising loop that pushes a chunk of scales through
the UNet together (a batch of three latents per scale; before the first step
all latents are equal, so that step needs only three); every scale keeps its
own latent trajectory and its own random generator, seeded identically, so
frame ``k`` equals what ``pipeline(instruction, image, guidance_scale=s_k,
image_guidance_scale=s_I, generator=torch.Generator("cpu").manual_seed(seed))``
returns, up to floating-point rounding, whatever the chunk size. That also
holds for ancestral samplers (the model's default Euler ancestral scheduler
draws fresh noise in every step): each scale's generator produces exactly the
noise the single call would draw.

Scales at or below one
----------------------
The diffusers pipeline switches guidance off entirely when
``guidance_scale <= 1`` or ``image_guidance_scale < 1``: it then evaluates only
the text-and-image branch. Our loop applies the formula above at every scale,
which for ``s_T < 1`` extrapolates away from the instruction (``s_T = 0`` is
the image-guided reconstruction without the edit). Because those frames would
not match a pipeline call, such scales raise a ``ValueError`` unless
``allow_low_scales=True``; then they are computed with the formula and a
warning says that they differ from the pipeline's definition. (At exactly
``s_T = s_I = 1`` the two agree mathematically, but the same rule applies.)

Notation note: the paper writes the middle branch of Eq. 3 as ``e(z, c_T, ∅)``
after reordering the arguments to ``(c_T, c_I)``; InstructPix2Pix and diffusers
condition that branch on the image only (empty prompt, image latents), which is
what this module does.

Results are cached on disk (see :mod:`propgrad.cache`): each frame is written
as a lossless PNG as soon as its chunk is decoded, under a folder keyed by
everything except the text scales, and named by its exact scale. A rerun loads
the frames without running the UNet; an interrupted sweep resumes with only the
missing scales; and a sweep over new scales reuses the frames it shares with
earlier ones. Cached frames are 8-bit, exactly like the images a fresh sweep
returns.

The paper itself edits with MGIE, whose editing backbone is InstructPix2Pix
with the same two CFG scales; this module uses InstructPix2Pix directly.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from propgrad.cache import (
    cache_dir,
    config_key,
    image_sha256,
    read_json,
    save_image_atomic,
    write_json_atomic,
)
from propgrad.sweep import Sweep, _as_rgb_image

DEFAULT_MODEL_ID = "timbrooks/instruct-pix2pix"
"""Hub id of the original InstructPix2Pix weights."""

GRID_NAME = "CFG text scale"
"""The grid name of the sweeps this module returns."""

CACHE_SUBDIR = "instruct_pix2pix"
_MANIFEST = "manifest.json"
_CACHE_FORMAT = 1
_DECODE_BATCH = 8

__all__ = [
    "DEFAULT_MODEL_ID",
    "GRID_NAME",
    "ModelNotAvailableError",
    "instruct_pix2pix_frames",
    "instruct_pix2pix_grid",
    "instruct_pix2pix_sweep",
    "load_instruct_pix2pix",
    "paper_text_scales",
]


class ModelNotAvailableError(FileNotFoundError):
    """The requested editing model could not be found or downloaded."""


# ---------------------------------------------------------------------------
# scales


def paper_text_scales(start: float = 1.05, stop: float = 14.7, step: float = 0.15) -> np.ndarray:
    """Return the paper's CFG text scales: ``start, start + step, ..., stop``.

    The paper's fur-colour sweeps (appendix B.3) use text scales from 1.05 to
    14.7 in steps of 0.15 (92 values) with an image scale of 2.0; other
    experiments stop earlier (e.g. 9.75 with image scale 2.5).

    Parameters
    ----------
    start : float, optional
        First scale (default 1.05).
    stop : float, optional
        Last scale, included (default 14.7). ``stop - start`` must be a whole
        multiple of ``step`` (up to rounding).
    step : float, optional
        Spacing (default 0.15).

    Returns
    -------
    ndarray
        The scales, rounded to 10 decimals so that they print cleanly.

    Raises
    ------
    ValueError
        If ``step`` is not positive, ``stop < start``, or the range is not a
        whole number of steps.

    Examples
    --------
    >>> scales = paper_text_scales()
    >>> len(scales), scales[0], scales[-1]
    (92, 1.05, 14.7)
    """
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    if stop < start:
        raise ValueError(f"stop ({stop}) must not be below start ({start})")
    count = (stop - start) / step
    n = int(round(count))
    if abs(count - n) > 1e-6:
        raise ValueError(
            f"the range {start}..{stop} is not a whole number of steps of {step} "
            f"({count:.4f} steps)"
        )
    return np.round(start + step * np.arange(n + 1), 10)


def _validate_text_scales(
    text_scales: Sequence[float], *, min_count: int, allow_low_scales: bool
) -> np.ndarray:
    scales = np.asarray(text_scales, dtype=float)
    if scales.ndim != 1:
        raise ValueError(f"text_scales must be a 1-D sequence, got shape {scales.shape}")
    if scales.size < min_count:
        raise ValueError(
            f"a sweep needs at least {min_count} text scales, got {scales.size}"
            + (" (use paper_text_scales() for the paper's grid)" if min_count > 1 else "")
        )
    if not np.all(np.isfinite(scales)):
        raise ValueError("text_scales contain NaN or inf")
    if scales.size > 1 and not np.all(np.diff(scales) > 0):
        bad = int(np.argmin(np.diff(scales) > 0))
        raise ValueError(
            "text_scales must be strictly increasing; "
            f"value {bad + 1} ({scales[bad + 1]:g}) does not exceed value {bad} ({scales[bad]:g})"
        )
    low = scales[scales <= 1.0]
    if low.size:
        message = (
            f"text scales <= 1 ({', '.join(f'{v:g}' for v in low[:5])}"
            f"{', ...' if low.size > 5 else ''}): the diffusers InstructPix2Pix pipeline "
            "switches guidance off for guidance_scale <= 1 and uses the text-and-image "
            "prediction alone, whereas this sweep applies the three-branch CFG formula "
            "(Eq. 3) at every scale, so these frames differ from a pipeline call"
        )
        if not allow_low_scales:
            raise ValueError(
                message + ". Pass allow_low_scales=True to extrapolate the formula below 1 "
                "anyway (text scale 0 is the image-guided reconstruction without the edit)."
            )
        warnings.warn(message + " (allow_low_scales=True).", UserWarning, stacklevel=3)
    return scales


def _validate_image_scale(image_scale: float, *, allow_low_scales: bool) -> float:
    value = float(image_scale)
    if not np.isfinite(value):
        raise ValueError(f"image_scale must be finite, got {image_scale}")
    if value < 1.0:
        message = (
            f"image_scale {value:g} < 1: the diffusers InstructPix2Pix pipeline switches "
            "guidance off for image_guidance_scale < 1, whereas this sweep applies the "
            "three-branch CFG formula, so the frames differ from a pipeline call"
        )
        if not allow_low_scales:
            raise ValueError(message + ". Pass allow_low_scales=True to use the formula anyway.")
        warnings.warn(message + " (allow_low_scales=True).", UserWarning, stacklevel=3)
    return value


# ---------------------------------------------------------------------------
# loading


def _env_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _resolve_device(device: Any = None) -> Any:
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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
        written by ``save_pretrained`` (it holds ``model_index.json``).
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
        If the model is neither cached locally nor downloadable; the message
        names the id, says whether offline mode is set and how to point to a
        local copy.
    """
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline

    device = _resolve_device(device)
    if dtype is None:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    offline = _env_offline() if local_files_only is None else bool(local_files_only)

    local = Path(os.fspath(model_id)).expanduser()
    if local.is_dir():
        if not (local / "model_index.json").is_file():
            raise ModelNotAvailableError(
                f"{local} is a folder but not a diffusers pipeline folder (no model_index.json); "
                "write one with `pipeline.save_pretrained(folder)`"
            )
        source, kwargs = str(local), {"local_files_only": True}
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
        rev = f" at revision {revision!r}" if revision else ""
        how = (
            "To use a copy from elsewhere, save it on a machine with network access "
            "(`StableDiffusionInstructPix2PixPipeline.from_pretrained(id)"
            ".save_pretrained(folder)`, "
            "or download the repository files into a folder) and pass that folder as "
            "model_id=<folder>; or set HF_HOME to a hub cache that holds it."
        )
        if offline:
            why = (
                "HF_HUB_OFFLINE is set"
                if local_files_only is None
                else "local_files_only=True was passed"
            )
            raise ModelNotAvailableError(
                f"InstructPix2Pix model {source!r}{rev} is not available locally and {why}, "
                f"so nothing was downloaded. {how} ({type(error).__name__}: {error})"
            ) from error
        raise ModelNotAvailableError(
            f"could not load InstructPix2Pix model {source!r}{rev} (offline mode is not set; "
            f"the download failed or the id does not exist). {how} "
            f"({type(error).__name__}: {error})"
        ) from error
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


# ---------------------------------------------------------------------------
# the batched denoising loop


def _execution_device(pipeline: Any) -> Any:
    device = getattr(pipeline, "_execution_device", None)
    return device if device is not None else pipeline.device


def _encode_instruction(pipeline: Any, instruction: str, device: Any) -> tuple[Any, Any]:
    """Text embeddings of the instruction and of the empty prompt, as the pipeline makes them."""
    tokenizer, text_encoder = pipeline.tokenizer, pipeline.text_encoder
    prompts = [instruction, ""]
    if hasattr(pipeline, "maybe_convert_prompt"):  # textual-inversion tokens, as the pipeline
        prompts = [pipeline.maybe_convert_prompt(p, tokenizer) for p in prompts]
    max_length = tokenizer.model_max_length
    untruncated = tokenizer(prompts[0], padding="longest", return_tensors="pt").input_ids
    if untruncated.shape[-1] > max_length:
        warnings.warn(
            f"the instruction is longer than the text encoder's {max_length} tokens "
            "and is truncated (as in the pipeline)",
            UserWarning,
            stacklevel=4,
        )
    use_mask = bool(getattr(text_encoder.config, "use_attention_mask", False))
    embeds = []
    for prompt in prompts:
        inputs = tokenizer(
            prompt,
            padding="max_length",
            max_length=max_length,
            truncation=True,
            return_tensors="pt",
        )
        mask = inputs.attention_mask.to(device) if use_mask else None
        hidden = text_encoder(inputs.input_ids.to(device), attention_mask=mask)[0]
        embeds.append(hidden.to(dtype=text_encoder.dtype, device=device))
    return embeds[0], embeds[1]


def _load_image(image: Any) -> Image.Image:
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as handle:
            return handle.convert("RGB")
    return _as_rgb_image(image)


def _step_kwargs(scheduler: Any, generators: list[Any]) -> dict[str, Any]:
    """The extra ``scheduler.step`` arguments the pipeline passes (eta=0, generator)."""
    params = set(inspect.signature(scheduler.step).parameters)
    kwargs: dict[str, Any] = {}
    if "eta" in params:
        kwargs["eta"] = 0.0
    if "generator" in params:
        kwargs["generator"] = generators
    return kwargs


def instruct_pix2pix_frames(
    pipeline: Any,
    image: Any,
    instruction: str,
    text_scales: Sequence[float],
    image_scale: float = 1.5,
    *,
    num_inference_steps: int = 20,
    seed: int = 0,
    batch_size: int = 8,
    output_type: str = "np",
    progress: bool = True,
    on_chunk: Callable[[list[int], Any], None] | None = None,
    allow_low_scales: bool = False,
) -> Any:
    """Edit one image at many CFG text scales in batches (no caching).

    This is the computational core of :func:`instruct_pix2pix_sweep`. It uses
    the pipeline's tokenizer, text encoder, VAE, UNet, scheduler and image
    processor, and reproduces one ``pipeline(...)`` call per scale (see the
    module docstring) while running the UNet on ``3 * batch_size`` latents at
    a time.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionInstructPix2PixPipeline
        The editing pipeline (its scheduler is copied, never modified).
    image : PIL.Image.Image, ndarray or path
        The input image; it is preprocessed exactly as the pipeline does
        (sides rounded down to a multiple of the VAE scale factor).
    instruction : str
        The edit instruction, e.g. ``"change the fur color to black"``.
    text_scales : sequence of float
        Strictly increasing CFG text scales, each above 1 (see
        ``allow_low_scales``).
    image_scale : float, optional
        The CFG image scale, at least 1 (default 1.5, the pipeline's default).
    num_inference_steps : int, optional
        Denoising steps (default 20).
    seed : int, optional
        Seed of the CPU ``torch.Generator`` each scale starts from.
    batch_size : int, optional
        Scales per chunk; the UNet sees ``3 * batch_size`` latents.
    output_type : {"np", "pil"}, optional
        ``"np"``: float32 array (S, H, W, 3) in [0, 1], as the pipeline's
        ``output_type="np"``; ``"pil"``: a list of PIL images.
    progress : bool, optional
        Show a tqdm bar over chunks x denoising steps.
    on_chunk : callable, optional
        Called as ``on_chunk(indices, frames)`` after each chunk is decoded,
        with the positions in ``text_scales`` and the chunk's frames (in
        ``output_type`` form); used to write frames to disk immediately.
    allow_low_scales : bool, optional
        Accept text scales <= 1 and image scales < 1, where the pipeline would
        switch guidance off; they follow the CFG formula and a warning is
        issued.

    Returns
    -------
    ndarray or list of PIL.Image.Image
        One frame per text scale, in order.

    Raises
    ------
    ValueError
        For invalid scales, steps or batch size, or if the UNet's input
        channels do not match the latent and image channels.
    """
    import torch
    from diffusers.utils.torch_utils import randn_tensor
    from tqdm.auto import tqdm

    scales = _validate_text_scales(text_scales, min_count=1, allow_low_scales=allow_low_scales)
    image_scale = _validate_image_scale(image_scale, allow_low_scales=allow_low_scales)
    if int(num_inference_steps) < 1:
        raise ValueError(f"num_inference_steps must be at least 1, got {num_inference_steps}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if output_type not in ("np", "pil"):
        raise ValueError(f"output_type must be 'np' or 'pil', got {output_type!r}")
    batch_size = int(batch_size)
    pil_image = _load_image(image)

    with torch.no_grad():
        device = _execution_device(pipeline)
        text_embeds, empty_embeds = _encode_instruction(pipeline, instruction, device)
        dtype = text_embeds.dtype

        # the pipeline: preprocess, set timesteps, encode the image (distribution mode,
        # no scaling factor), then draw the initial noise
        pixels = pipeline.image_processor.preprocess(pil_image)
        base_scheduler = copy.deepcopy(pipeline.scheduler)
        base_scheduler.set_timesteps(int(num_inference_steps), device=device)
        timesteps = base_scheduler.timesteps
        pixels = pixels.to(device=device, dtype=dtype)
        image_latents = pipeline.vae.encode(pixels).latent_dist.mode()
        latent_channels = pipeline.vae.config.latent_channels
        if latent_channels + image_latents.shape[1] != pipeline.unet.config.in_channels:
            raise ValueError(
                f"the UNet expects {pipeline.unet.config.in_channels} input channels but the "
                f"latents ({latent_channels}) and image latents ({image_latents.shape[1]}) "
                "add up to a different number; is this an InstructPix2Pix UNet?"
            )
        latent_shape = (latent_channels, *image_latents.shape[-2:])
        zeros_like_image = torch.zeros_like(image_latents)

        def conditioning(n: int) -> tuple[Any, Any]:
            # batch order as in the pipeline: [text+image] * n, [image only] * n, [none] * n
            hidden = torch.cat(
                [
                    text_embeds.repeat(n, 1, 1),
                    empty_embeds.repeat(n, 1, 1),
                    empty_embeds.repeat(n, 1, 1),
                ]
            )
            cond_image = torch.cat(
                [
                    image_latents.repeat(n, 1, 1, 1),
                    image_latents.repeat(n, 1, 1, 1),
                    zeros_like_image.repeat(n, 1, 1, 1),
                ]
            )
            return hidden, cond_image

        # the precision a Python scalar multiplies in (float64 only for float64 models)
        scale_dtype = torch.float64 if pipeline.unet.dtype == torch.float64 else torch.float32
        chunks = [
            list(range(i, min(i + batch_size, scales.size)))
            for i in range(0, scales.size, batch_size)
        ]
        outputs: list[Any] = [None] * scales.size
        bar = tqdm(
            total=len(chunks) * len(timesteps),
            disable=not progress,
            desc="InstructPix2Pix sweep",
            unit="step",
        )
        try:
            for chunk in chunks:
                n = len(chunk)
                chunk_scales = [float(scales[k]) for k in chunk]
                scheduler = copy.deepcopy(base_scheduler)
                # one generator per scale, seeded identically: scale k draws exactly the
                # noise a single pipeline call with this seed draws, whatever the chunking
                generators = [torch.Generator("cpu").manual_seed(int(seed)) for _ in range(n)]
                latents = randn_tensor(
                    (n, *latent_shape), generator=generators, device=device, dtype=dtype
                )
                latents = latents * scheduler.init_noise_sigma
                step_kwargs = _step_kwargs(scheduler, generators)
                cond_full = conditioning(n)
                cond_one = conditioning(1)
                text_column = torch.tensor(chunk_scales, dtype=scale_dtype, device=device)
                text_column = text_column.view(n, 1, 1, 1)
                for i, t in enumerate(timesteps):
                    # before the first step all latents in the chunk are equal, so one
                    # triple of UNet evaluations serves every scale
                    k = 1 if i == 0 else n
                    hidden, cond_image = cond_one if k == 1 else cond_full
                    model_input = torch.cat([latents[:k]] * 3)
                    model_input = scheduler.scale_model_input(model_input, t)
                    model_input = torch.cat([model_input, cond_image], dim=1)
                    noise = pipeline.unet(
                        model_input, t, encoder_hidden_states=hidden, return_dict=False
                    )[0]
                    e_text, e_image, e_none = noise.chunk(3)
                    # the pipeline's  e_none + s_T * (e_text - e_image) + s_I * (e_image - e_none)
                    # with one s_T per row (at k = 1 the single row broadcasts). A Python
                    # scalar multiplies in float32 "opmath" and rounds to the tensor dtype,
                    # so a float32 scale column followed by a cast gives the same numbers.
                    text_term = (text_column * (e_text - e_image)).to(e_text.dtype)
                    noise_pred = e_none + text_term + image_scale * (e_image - e_none)
                    latents = scheduler.step(
                        noise_pred, t, latents, **step_kwargs, return_dict=False
                    )[0]
                    bar.update(1)
                frames = _decode(pipeline, latents, device, dtype, output_type)
                for position, frame in zip(chunk, frames, strict=True):
                    outputs[position] = frame
                if on_chunk is not None:
                    on_chunk(chunk, frames)
        finally:
            bar.close()
    if output_type == "np":
        return np.stack(outputs)
    return outputs


def _decode(pipeline: Any, latents: Any, device: Any, dtype: Any, output_type: str) -> Any:
    """Decode latents and postprocess them as the pipeline does."""
    frames = []
    scaling = pipeline.vae.config.scaling_factor
    for start in range(0, latents.shape[0], _DECODE_BATCH):
        part = latents[start : start + _DECODE_BATCH]
        decoded = pipeline.vae.decode(part / scaling, return_dict=False)[0]
        nsfw = None
        if getattr(pipeline, "safety_checker", None) is not None:
            decoded, nsfw = pipeline.run_safety_checker(decoded, device, dtype)
            if any(nsfw):
                warnings.warn(
                    "the pipeline's safety checker blanked some frames; load the pipeline "
                    "with safety_checker=None to keep them",
                    UserWarning,
                    stacklevel=4,
                )
        denormalize = [True] * decoded.shape[0] if nsfw is None else [not f for f in nsfw]
        frames.append(
            pipeline.image_processor.postprocess(
                decoded, output_type="np", do_denormalize=denormalize
            )
        )
    array = np.concatenate(frames)
    if output_type == "pil":
        return pipeline.image_processor.numpy_to_pil(array)
    return array


# ---------------------------------------------------------------------------
# cached sweeps


def _pipeline_identity(pipeline: Any) -> dict[str, Any]:
    """A description of a given pipeline for the cache key: name, dtype, scheduler, weights."""
    import torch

    digest = hashlib.sha256()
    for name in ("unet", "vae", "text_encoder"):
        module = getattr(pipeline, name)
        config = getattr(module, "config", None)
        digest.update(name.encode())
        if hasattr(config, "to_dict"):  # transformers configs
            config = config.to_dict()
        digest.update(repr(sorted(dict(config or {}).items())).encode())
        params = list(module.parameters())
        for tensor in params[:3] + params[-3:]:
            data = tensor.detach().to("cpu", torch.float32).contiguous().numpy()
            digest.update(data.tobytes())
    scheduler = pipeline.scheduler
    return {
        "model": getattr(pipeline, "name_or_path", None) or "<pipeline object>",
        "weights_sha256": digest.hexdigest()[:16],
        "dtype": str(pipeline.unet.dtype).replace("torch.", ""),
        "scheduler": type(scheduler).__name__,
        "scheduler_config": {
            k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")
        },
    }


def _frame_name(scale: float) -> str:
    return f"ts_{float(scale)!r}.png"


def _sweep(
    image: Any,
    instruction: str,
    text_scales: Sequence[float],
    image_scale: float,
    *,
    get_pipeline: Callable[[], Any],
    given_pipeline: Any,
    model_id: str,
    revision: str | None,
    device: Any,
    num_inference_steps: int,
    seed: int,
    batch_size: int,
    cache: bool,
    cache_root: str | Path | None,
    progress: bool,
    allow_low_scales: bool,
) -> Sweep:
    scales = _validate_text_scales(text_scales, min_count=2, allow_low_scales=allow_low_scales)
    image_scale = _validate_image_scale(image_scale, allow_low_scales=allow_low_scales)
    pil_image = _load_image(image)

    if given_pipeline is not None:
        identity = _pipeline_identity(given_pipeline)
    else:
        local = Path(os.fspath(model_id)).expanduser()
        resolved = _resolve_device(device)
        identity = {
            "model": str(local.resolve()) if local.is_dir() else os.fspath(model_id),
            "revision": revision,
            "dtype": "float16" if resolved.type == "cuda" else "float32",
            "scheduler": "model default",
        }
    config = {
        "format": _CACHE_FORMAT,
        "kind": "instruct_pix2pix",
        **identity,
        "image_sha256": image_sha256(pil_image),
        "image_size": list(pil_image.size),
        "instruction": instruction,
        "image_scale": image_scale,
        "seed": int(seed),
        "num_inference_steps": int(num_inference_steps),
        "generator": "one CPU torch.Generator per scale",
    }
    key = config_key(config)
    folder = cache_dir(CACHE_SUBDIR, key, root=cache_root) if cache else None

    frames: dict[float, Image.Image] = {}
    if folder is not None:
        manifest = read_json(folder / _MANIFEST, default={}) or {}
        done = manifest.get("frames", {})
        for scale in scales:
            name = done.get(repr(float(scale)))
            if name and (folder / name).is_file():
                with Image.open(folder / name) as handle:
                    frames[float(scale)] = handle.convert("RGB")
    missing = [float(s) for s in scales if float(s) not in frames]

    extra: dict[str, Any] = {}
    if missing:
        pipeline = get_pipeline()
        extra["dtype"] = str(pipeline.unet.dtype).replace("torch.", "")
        extra["scheduler"] = type(pipeline.scheduler).__name__

        def store(indices: list[int], chunk_frames: list[Image.Image]) -> None:
            for index, frame in zip(indices, chunk_frames, strict=True):
                frames[missing[index]] = frame
            if folder is None:
                return
            for index, frame in zip(indices, chunk_frames, strict=True):
                save_image_atomic(folder / _frame_name(missing[index]), frame)
            # merge with what is on disk (another process may have added frames)
            record = read_json(folder / _MANIFEST, default={}) or {}
            done = dict(record.get("frames", {}))
            done.update({repr(missing[i]): _frame_name(missing[i]) for i in indices})
            write_json_atomic(folder / _MANIFEST, {"key": key, "config": config, "frames": done})

        with warnings.catch_warnings():
            # low scales were validated (and warned about) above
            warnings.filterwarnings("ignore", message=r"(text scales <= 1|image_scale \S+ < 1)")
            instruct_pix2pix_frames(
                pipeline,
                pil_image,
                instruction,
                missing,
                image_scale,
                num_inference_steps=num_inference_steps,
                seed=seed,
                batch_size=batch_size,
                output_type="pil",
                progress=progress,
                on_chunk=store,
                allow_low_scales=True,
            )
    width, height = next(iter(frames.values())).size
    metadata = {
        "intervention": "instruct_pix2pix",
        "model_id": identity["model"],
        "revision": identity.get("revision"),
        "instruction": instruction,
        "image_scale": image_scale,
        "seed": int(seed),
        "num_inference_steps": int(num_inference_steps),
        "scheduler": identity["scheduler"],
        "dtype": identity["dtype"],
        "height": height,
        "width": width,
        "image_sha256": config["image_sha256"],
        "guidance": "three-branch CFG (Eq. 3) at every text scale",
        "noise": "CPU torch.Generator seeded with `seed`, one per scale",
        "cache_key": key,
        "cache_dir": str(folder) if folder is not None else None,
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
    pipeline: Any = None,
    model_id: str = DEFAULT_MODEL_ID,
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
    ``text_scales[k]`` with the same seed (see the module docstring). Scales
    run through the UNet ``batch_size`` at a time.

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
    pipeline : diffusers.StableDiffusionInstructPix2PixPipeline, optional
        A pipeline to use; loaded with :func:`load_instruct_pix2pix` (only if
        frames are missing from the cache) when not given.
    model_id : str, optional
        Hub id or local folder to load when ``pipeline`` is None.
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
    device : str or torch.device, optional
        Where to load the model when ``pipeline`` is None (a given pipeline
        runs where it is).
    progress : bool, optional
        Show a progress bar while generating.
    allow_low_scales : bool, optional
        Accept text scales <= 1 and image scales < 1, where the diffusers
        pipeline switches guidance off; see the module docstring.

    Returns
    -------
    Sweep
        Frames in the order of ``text_scales``; grid = the text scales,
        ``grid_name="CFG text scale"``; metadata records every setting, the
        cache key and folder.

    Raises
    ------
    ValueError
        If fewer than two text scales are given, they are not strictly
        increasing, or a scale is out of range.
    ModelNotAvailableError
        If the model has to be loaded and is not available.
    """
    return _sweep(
        image,
        instruction,
        text_scales,
        image_scale,
        get_pipeline=_pipeline_getter(pipeline, model_id, revision, local_files_only, device),
        given_pipeline=pipeline,
        model_id=model_id,
        revision=revision,
        device=device,
        num_inference_steps=num_inference_steps,
        seed=seed,
        batch_size=batch_size,
        cache=cache,
        cache_root=cache_root,
        progress=progress,
        allow_low_scales=allow_low_scales,
    )


def _pipeline_getter(
    pipeline: Any, model_id: str, revision: str | None, local_files_only: bool | None, device: Any
) -> Callable[[], Any]:
    """Return a function that gives the pipeline, loading it once on first use."""
    holder: list[Any] = [pipeline]

    def get() -> Any:
        if holder[0] is None:
            holder[0] = load_instruct_pix2pix(
                model_id, revision=revision, local_files_only=local_files_only, device=device
            )
        return holder[0]

    return get


def instruct_pix2pix_grid(
    image: Any,
    instruction: str,
    text_scales: Sequence[float],
    image_scales: Sequence[float],
    *,
    pipeline: Any = None,
    model_id: str = DEFAULT_MODEL_ID,
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
    pipeline, model_id, revision, local_files_only, num_inference_steps, seed, batch_size
        As for :func:`instruct_pix2pix_sweep`.
    cache, cache_root, device, progress, allow_low_scales
        As for :func:`instruct_pix2pix_sweep`; the model is loaded at most once.

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
    values = np.asarray(image_scales, dtype=float)
    if values.ndim != 1 or values.size < 1:
        raise ValueError("image_scales must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(values)):
        raise ValueError("image_scales contain NaN or inf")
    if values.size > 1 and not np.all(np.diff(values) > 0):
        raise ValueError(f"image_scales must be strictly increasing, got {values.tolist()}")
    get = _pipeline_getter(pipeline, model_id, revision, local_files_only, device)
    return [
        _sweep(
            image,
            instruction,
            text_scales,
            float(value),
            get_pipeline=get,
            given_pipeline=pipeline,
            model_id=model_id,
            revision=revision,
            device=device,
            num_inference_steps=num_inference_steps,
            seed=seed,
            batch_size=batch_size,
            cache=cache,
            cache_root=cache_root,
            progress=progress,
            allow_low_scales=allow_low_scales,
        )
        for value in values
    ]
