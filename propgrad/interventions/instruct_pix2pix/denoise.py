"""The batched classifier-free-guidance denoising loop (no caching).

:func:`instruct_pix2pix_frames` runs the pipeline's own components (tokenizer,
text encoder, VAE, UNet, scheduler, image processor) in a loop that pushes a
chunk of text scales through the UNet together: a batch of three latents per
scale (text and image, image only, neither), mixed as::

    e = e_uncond + s_T * (e_text_image - e_image) + s_I * (e_image - e_uncond)

Every scale keeps its own latent trajectory and its own CPU random generator,
seeded identically, so frame ``k`` equals one ``pipeline(...)`` call at
``text_scales[k]`` with that seed, up to floating-point rounding, whatever the
chunk size (also for ancestral samplers). Before the first step all latents
of a chunk are equal, so that step runs the UNet on three latents only.
"""

from __future__ import annotations

import copy
import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from propgrad.interventions.instruct_pix2pix.scales import (
    validate_image_scale,
    validate_text_scales,
)
from propgrad.sweep import _as_rgb_image

__all__ = ["instruct_pix2pix_frames"]

_DECODE_BATCH = 8


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


def load_image(image: Any) -> Image.Image:
    """Return the input image as RGB: a path is opened, an array or PIL image converted.

    Parameters
    ----------
    image : PIL.Image.Image, ndarray or path
        The input image.

    Returns
    -------
    PIL.Image.Image
        The image in RGB mode.
    """
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

    scales = validate_text_scales(text_scales, min_count=1, allow_low_scales=allow_low_scales)
    image_scale = validate_image_scale(image_scale, allow_low_scales=allow_low_scales)
    if int(num_inference_steps) < 1:
        raise ValueError(f"num_inference_steps must be at least 1, got {num_inference_steps}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if output_type not in ("np", "pil"):
        raise ValueError(f"output_type must be 'np' or 'pil', got {output_type!r}")
    batch_size = int(batch_size)
    pil_image = load_image(image)

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
