"""Frames per second of the batched InstructPix2Pix sweep against one pipeline call per scale.

Both are timed in the same run (wall clock, and process CPU time, which is
robust when other jobs share the cores), on the same pipeline, image,
instruction, seed and scales, after a short warm-up; the script also prints the largest
difference between the two sets of frames (they should agree up to rounding).

CPU, tiny random-weight model (default; well under a minute)::

    python benchmarks/bench_ip2p.py                     # 64 px, 10 steps, 16 scales

GPU, the real SD-1.5 InstructPix2Pix architecture in float16 (results also
written as JSON, and the cached sweep timed as well)::

    python benchmarks/bench_ip2p.py --device cuda --real-architecture \
        --cached-sweep --out ip2p-bench.json

``--real-architecture`` (alias ``--real-arch``) loads ``--model-id`` (default
``timbrooks/instruct-pix2pix``, or a local folder) from local files only when
it is available; otherwise it
builds the same architecture from configs with random weights (UNet with 8
input channels, blocks 320/640/1280/1280 and cross-attention width 768; the
CLIP ViT-L/14 text encoder; the SD VAE; Euler ancestral scheduler), which has
the same cost. It then sweeps 100 scales at 512 px with 20 steps. Target: the
100 frames in at most 60 s on one H100. Timing 100 separate pipeline calls
takes a while, so ``--per-call-scales`` (default 10 with ``--real-architecture``)
times the per-call baseline on the first N scales and reports its fps.

``--cached-sweep`` also times :func:`instruct_pix2pix_sweep` (the batched
loop plus writing every frame to a fresh, temporary frame cache) and a rerun
that reads every frame from that cache. ``--device auto`` picks CUDA when
available.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import diffusers
import numpy as np
import torch
from PIL import Image

from propgrad.interventions.instruct_pix2pix import (
    instruct_pix2pix_frames,
    instruct_pix2pix_sweep,
    load_instruct_pix2pix,
)
from propgrad.interventions.instruct_pix2pix.tiny import (
    _char_clip_tokenizer,
    tiny_instruct_pix2pix,
)

INSTRUCTION = "change the fur color to black"


def build_pipeline(real_arch: bool, device: torch.device, dtype: torch.dtype, size: int = 64):
    """Random-weight InstructPix2Pix: tiny (library builder), or the SD-1.5 architecture."""
    if not real_arch:
        return tiny_instruct_pix2pix(size=size, device=device, dtype=dtype)

    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = _char_clip_tokenizer(77)
    unet_cfg = dict(
        sample_size=64,
        in_channels=8,
        out_channels=4,
        layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=768,
        attention_head_dim=8,
        norm_num_groups=32,
        flip_sin_to_cos=True,
        freq_shift=0,
    )
    vae_cfg = dict(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=512,
        scaling_factor=0.18215,
    )
    text_cfg = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        max_position_embeddings=77,
        hidden_act="quick_gelu",
        projection_dim=768,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    # build directly on the target device (random init of the large UNet on a CPU is slow)
    with torch.device(device):
        unet = UNet2DConditionModel(**unet_cfg)
        vae = AutoencoderKL(**vae_cfg)
        text_encoder = CLIPTextModel(text_cfg)
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device=device, dtype=dtype)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument(
        "--real-architecture",
        "--real-arch",
        dest="real_arch",
        action="store_true",
        help="SD-1.5 InstructPix2Pix architecture (pretrained if local, else random), 512 px",
    )
    parser.add_argument("--model-id", default="timbrooks/instruct-pix2pix")
    parser.add_argument("--size", type=int, default=None, help="image side (64; 512 real-arch)")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (10; 20)")
    parser.add_argument("--scales", type=int, default=None, help="number of text scales (16; 100)")
    parser.add_argument("--batch-size", type=int, default=None, help="scales per chunk (16; 25)")
    parser.add_argument("--image-scale", type=float, default=2.0)
    parser.add_argument(
        "--per-call-scales", type=int, default=None, help="time per-call on first N (all; 10)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--cached-sweep", action="store_true", help="also time the cached sweep and a rerun"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available (torch {torch.__version__})")
    if args.real_arch and not args.device.startswith("cuda"):
        print("note: --real-architecture on a CPU takes tens of minutes; use --device cuda")
    diffusers.utils.logging.set_verbosity_error()

    real = args.real_arch
    size = args.size or (512 if real else 64)
    steps = args.steps or (20 if real else 10)
    n_scales = args.scales or (100 if real else 16)
    batch_size = args.batch_size or (25 if real else 16)
    per_call_n = min(args.per_call_scales or (10 if real else n_scales), n_scales)
    device = torch.device(args.device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    source = "random weights"
    pipe = None
    if real:
        try:
            pipe = load_instruct_pix2pix(
                args.model_id, local_files_only=True, device=device, dtype=dtype
            )
            source = f"pretrained {args.model_id}"
        except FileNotFoundError:
            pipe = None
    if pipe is None:
        start = time.perf_counter()
        pipe = build_pipeline(real, device, dtype, size)
        print(f"built random-weight pipeline in {time.perf_counter() - start:.1f} s")

    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    scales = np.round(np.linspace(1.05, 14.7, n_scales), 6)

    # warm-up: kernels, allocator, cuDNN autotuning
    instruct_pix2pix_frames(
        pipe, image, INSTRUCTION, scales[: min(batch_size, n_scales)], args.image_scale,
        num_inference_steps=2, batch_size=batch_size, progress=False,
    )  # fmt: skip
    pipe(INSTRUCTION, image=image, num_inference_steps=2, guidance_scale=float(scales[0]),
         image_guidance_scale=args.image_scale, output_type="np")  # fmt: skip
    _sync(device)

    start, cpu_start = time.perf_counter(), time.process_time()
    batched = instruct_pix2pix_frames(
        pipe, image, INSTRUCTION, scales, args.image_scale, num_inference_steps=steps,
        batch_size=batch_size, progress=False,
    )  # fmt: skip
    _sync(device)
    t_batched = time.perf_counter() - start
    cpu_batched = time.process_time() - cpu_start

    start, cpu_start = time.perf_counter(), time.process_time()
    single = []
    for scale in scales[:per_call_n]:
        out = pipe(
            INSTRUCTION, image=image, num_inference_steps=steps, guidance_scale=float(scale),
            image_guidance_scale=args.image_scale, output_type="np",
            generator=torch.Generator("cpu").manual_seed(0),
        )  # fmt: skip
        single.append(out.images[0])
    _sync(device)
    t_single = time.perf_counter() - start
    cpu_single = time.process_time() - cpu_start

    fps_batched = n_scales / t_batched
    fps_single = per_call_n / t_single
    diff = float(np.abs(batched[:per_call_n] - np.stack(single)).max())
    result = {
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "model": source + (" (SD-1.5 InstructPix2Pix architecture)" if real else " (tiny)"),
        "dtype": str(dtype).replace("torch.", ""),
        "threads": torch.get_num_threads(),
        "size": size,
        "steps": steps,
        "scales": n_scales,
        "batch_size": batch_size,
        "batched_seconds": round(t_batched, 3),
        "batched_fps": round(fps_batched, 3),
        "batched_cpu_seconds": round(cpu_batched, 3),
        "per_call_scales": per_call_n,
        "per_call_seconds": round(t_single, 3),
        "per_call_fps": round(fps_single, 3),
        "per_call_cpu_seconds": round(cpu_single, 3),
        "speedup": round(fps_batched / fps_single, 2),
        "speedup_cpu_time": round((cpu_single / per_call_n) / (cpu_batched / n_scales), 2),
        "max_abs_diff": diff,
    }
    if args.cached_sweep:
        with tempfile.TemporaryDirectory(prefix="bench_ip2p_cache_") as root:
            kwargs = dict(
                pipeline=pipe, num_inference_steps=steps, batch_size=batch_size,
                cache_root=root, progress=False,
            )  # fmt: skip
            start = time.perf_counter()
            fresh = instruct_pix2pix_sweep(image, INSTRUCTION, scales, args.image_scale, **kwargs)
            _sync(device)
            t_fresh = time.perf_counter() - start
            start = time.perf_counter()
            cached = instruct_pix2pix_sweep(image, INSTRUCTION, scales, args.image_scale, **kwargs)
            t_cached = time.perf_counter() - start
        assert cached.metadata["frames_from_cache"] == n_scales
        rounded = np.round(batched * 255).astype(np.uint8)
        result.update(
            cached_sweep_seconds=round(t_fresh, 3),
            cached_sweep_fps=round(n_scales / t_fresh, 3),
            cache_rerun_seconds=round(t_cached, 3),
            cached_sweep_max_abs_diff_uint8=int(
                np.abs(fresh.to_array().astype(int) - rounded).max()
            ),
        )
    for key, value in result.items():
        print(f"{key:>31}: {value}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")
    if real and device.type == "cuda":
        verdict = "meets" if t_batched <= 60 else "misses"
        print(f"target 100 frames x 20 steps <= 60 s: {verdict} ({t_batched:.1f} s)")
    return result


if __name__ == "__main__":
    main()
