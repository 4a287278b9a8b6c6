"""Tiny random-weight models with the real classes and interfaces, for offline use.

Nothing here is downloaded: every model is built from a small config with
freshly initialised weights, so its outputs are meaningless (noise), but it
runs every code path of the real model in seconds on a CPU. Use it in tests,
benchmarks and dry runs without network access; never for results.

:func:`save_tiny_instruct_pix2pix` writes one to a folder, which is how a
test or a dry run names "the tiny image editor" by a plain string (a papermill
parameter) wherever a hub id or local pipeline folder is accepted.

Like the rest of :mod:`propgrad.interventions`, importing this module imports
nothing heavy; torch, diffusers and transformers are imported when a builder
is called.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

__all__ = ["save_tiny_instruct_pix2pix", "tiny_instruct_pix2pix"]

_TOKENIZER_MAX_LENGTH = 32
_SCHEDULERS = ("euler_ancestral", "ddim")


def _byte_level_chars() -> list[str]:
    """The 256 printable stand-ins a byte-level BPE uses for raw bytes."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def _char_clip_tokenizer(max_length: int) -> Any:
    """A CLIP tokenizer with a character-level vocabulary and no merges (no download)."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for char in _byte_level_chars():
            vocab.setdefault(char + suffix, len(vocab))
    # the (slow) CLIPTokenizer reads both files when it is built, so the folder can go
    with tempfile.TemporaryDirectory(prefix="propgrad_tiny_tokenizer_") as folder:
        (Path(folder) / "vocab.json").write_text(json.dumps(vocab))
        (Path(folder) / "merges.txt").write_text("#version: 0.2\n")
        return CLIPTokenizer.from_pretrained(folder, model_max_length=max_length)


def tiny_instruct_pix2pix(
    size: int = 32,
    scheduler: str = "euler_ancestral",
    seed: int = 0,
    device: Any = "cpu",
    dtype: Any = None,
) -> Any:
    """A tiny InstructPix2Pix pipeline with random weights.

    A random-weight pipeline for tests, benchmarks and offline dry runs; its
    images are noise. It is a real
    ``diffusers.StableDiffusionInstructPix2PixPipeline`` (UNet with 8 input
    channels, VAE, CLIP text encoder, scheduler), only with tiny components:
    a two-block UNet (widths 32 and 64, cross-attention width 32), a two-block
    VAE (widths 16 and 32, 4 latent channels, downsampling by 2), a two-layer
    CLIP text encoder of width 32, and a CLIP tokenizer with a character-level
    vocabulary and no merges (prompts of at most 32 tokens). It needs no
    download and has no safety checker.

    Parameters
    ----------
    size : int, default 32
        Image side the components are configured for: the VAE's
        ``sample_size`` (the UNet's is ``size // 2``). The pipeline edits an
        input image at that image's own size, so this only sets the
        configs. A positive even integer.
    scheduler : {"euler_ancestral", "ddim"}, default "euler_ancestral"
        ``EulerAncestralDiscreteScheduler`` (the InstructPix2Pix default) or
        ``DDIMScheduler`` (``clip_sample=False``, ``set_alpha_to_one=False``),
        both with the Stable Diffusion betas (scaled linear, 0.00085 to 0.012).
    seed : int, default 0
        Seed of the weight initialisation; equal seeds give equal weights.
        The weights are initialised on the CPU (so they do not depend on
        ``device``) inside a forked random state, so torch's global random
        state is left as it was.
    device : str or torch.device, default "cpu"
        Where the pipeline is moved after it is built.
    dtype : torch.dtype, optional
        Cast the pipeline to this dtype (e.g. ``torch.float16`` on a GPU);
        by default it stays float32.

    Returns
    -------
    diffusers.StableDiffusionInstructPix2PixPipeline
        With its progress bar disabled.

    Raises
    ------
    ValueError
        If ``size`` is not a positive even integer or ``scheduler`` is unknown.

    Examples
    --------
    >>> from PIL import Image
    >>> from propgrad.interventions.instruct_pix2pix import instruct_pix2pix_frames
    >>> from propgrad.interventions.instruct_pix2pix.tiny import tiny_instruct_pix2pix
    >>> pipe = tiny_instruct_pix2pix(scheduler="ddim")  # doctest: +SKIP
    >>> image = Image.new("RGB", (32, 32))
    >>> frames = instruct_pix2pix_frames(pipe, image, "make it blue", [1.5, 3.0])  # doctest: +SKIP
    """
    if isinstance(size, bool) or int(size) != size or size < 2 or size % 2:
        raise ValueError(f"size must be a positive even integer, got {size!r}")
    if scheduler not in _SCHEDULERS:
        raise ValueError(f"scheduler must be one of {_SCHEDULERS}, got {scheduler!r}")
    size = int(size)

    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _char_clip_tokenizer(_TOKENIZER_MAX_LENGTH)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=size // 2,
            in_channels=8,
            out_channels=4,
            layers_per_block=1,
            block_out_channels=(32, 64),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=8,
            norm_num_groups=16,
        )
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
            up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
            block_out_channels=(16, 32),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=16,
            sample_size=size,
        )
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=32,
                intermediate_size=37,
                num_attention_heads=4,
                num_hidden_layers=2,
                max_position_embeddings=_TOKENIZER_MAX_LENGTH,
                bos_token_id=0,
                eos_token_id=1,
                pad_token_id=1,
            )
        )
    betas = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    if scheduler == "ddim":
        noise_scheduler = DDIMScheduler(**betas, clip_sample=False, set_alpha_to_one=False)
    else:
        noise_scheduler = EulerAncestralDiscreteScheduler(**betas)
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=noise_scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device=device, dtype=dtype)


def save_tiny_instruct_pix2pix(folder: str | Path, **kwargs: Any) -> Path:
    """Build :func:`tiny_instruct_pix2pix` and save it as a pipeline folder.

    Parameters
    ----------
    folder : str or Path
        Where to write (``pipeline.save_pretrained(folder)``); created if needed.
    **kwargs
        Passed on to :func:`tiny_instruct_pix2pix` (``size``, ``scheduler``,
        ``seed``); the folder is always written from the CPU in float32.

    Returns
    -------
    Path
        The folder: pass it as ``model_id`` or ``editor`` to the sweeps.
    """
    kwargs = {**kwargs, "device": "cpu", "dtype": None}
    pipe = tiny_instruct_pix2pix(**kwargs)
    folder = Path(folder)
    with warnings.catch_warnings():
        # diffusers/transformers notes about the missing safety checker and file formats
        warnings.simplefilter("ignore")
        pipe.save_pretrained(folder)
    return folder
