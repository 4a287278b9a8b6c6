"""Batched InstructPix2Pix sweeps against the diffusers pipeline, on a tiny random model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

from propgrad.interventions.instruct_pix2pix import (  # noqa: E402
    GRID_NAME,
    ModelNotAvailableError,
    instruct_pix2pix_frames,
    instruct_pix2pix_grid,
    instruct_pix2pix_sweep,
    load_instruct_pix2pix,
    paper_text_scales,
)
from propgrad.interventions.tiny_models import tiny_instruct_pix2pix  # noqa: E402
from propgrad.sweep import Sweep  # noqa: E402

# numpy-2 deprecation notices raised inside diffusers schedulers, not by this package
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")

INSTRUCTION = "make the fur black"
SCALES = [1.5, 3.0, 5.0, 7.5]
IMAGE_SCALE = 1.5
STEPS = 3
TOL = 1e-4  # max abs difference on [0, 1] float images


@pytest.fixture(scope="module")
def pipe():
    torch.set_num_threads(1)
    return tiny_instruct_pix2pix(size=32, scheduler="euler_ancestral")


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32] / 31.0
    base = np.stack([x, y, 0.5 * (x + y)], axis=-1)
    noisy = np.clip(base + 0.1 * rng.standard_normal(base.shape), 0, 1)
    return (noisy * 255).round().astype(np.uint8)


def _pipeline_frame(pipe, image, scale, image_scale=IMAGE_SCALE, steps=STEPS, seed=0):
    from PIL import Image

    out = pipe(
        INSTRUCTION,
        image=Image.fromarray(image),
        num_inference_steps=steps,
        guidance_scale=scale,
        image_guidance_scale=image_scale,
        generator=torch.Generator("cpu").manual_seed(seed),
        output_type="np",
    )
    return out.images[0]


class CallCounter:
    """Count UNet forward calls; optionally raise on call number ``fail_at``."""

    def __init__(self, module, fail_at=None):
        self.calls = 0
        self.fail_at = fail_at
        self.handle = module.register_forward_pre_hook(self)

    def __call__(self, module, args):
        self.calls += 1
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise KeyboardInterrupt("simulated interruption")

    def remove(self):
        self.handle.remove()


# --------------------------------------------------------------------------- equivalence


@pytest.mark.parametrize("scheduler_name", ["euler_ancestral", "ddim"])
def test_batched_frames_equal_pipeline_calls(pipe, image, scheduler_name):
    pipeline = pipe if scheduler_name == "euler_ancestral" else tiny_instruct_pix2pix(32, "ddim")
    frames = instruct_pix2pix_frames(
        pipeline, image, INSTRUCTION, SCALES, IMAGE_SCALE, num_inference_steps=STEPS,
        batch_size=3, progress=False,
    )  # fmt: skip
    assert frames.shape == (len(SCALES), 32, 32, 3)
    reference = np.stack([_pipeline_frame(pipeline, image, s) for s in SCALES])
    assert np.abs(frames - reference).max() < TOL
    # the comparison is not vacuous: frames really change with the scale
    assert np.abs(np.diff(reference, axis=0)).max(axis=(1, 2, 3)).min() > 1e-2
    assert 0.02 < reference.mean() < 0.98


def test_chunking_does_not_change_frames(pipe, image):
    kwargs = dict(num_inference_steps=STEPS, progress=False)
    one = instruct_pix2pix_frames(pipe, image, INSTRUCTION, SCALES, batch_size=1, **kwargs)
    four = instruct_pix2pix_frames(pipe, image, INSTRUCTION, SCALES, batch_size=4, **kwargs)
    assert np.abs(one - four).max() < 1e-5


def test_scale_one_matches_pipeline_without_guidance(pipe, image):
    # at s_T = s_I = 1 the three-branch formula reduces to the text+image branch,
    # which is what the pipeline evaluates when it switches guidance off
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = instruct_pix2pix_frames(
            pipe, image, INSTRUCTION, [1.0, 2.0], 1.0, num_inference_steps=STEPS,
            progress=False, allow_low_scales=True,
        )  # fmt: skip
    assert any("text scales <= 1" in str(w.message) for w in caught)
    reference = _pipeline_frame(pipe, image, 1.0, image_scale=1.0)
    assert np.abs(frames[0] - reference).max() < TOL


def test_scales_at_or_below_one_are_rejected_by_default(pipe, image):
    with pytest.raises(ValueError, match="switches guidance off"):
        instruct_pix2pix_frames(pipe, image, INSTRUCTION, [0.5, 2.0], progress=False)
    with pytest.raises(ValueError, match="image_scale 0.5 < 1"):
        instruct_pix2pix_frames(pipe, image, INSTRUCTION, [1.5, 2.0], 0.5, progress=False)


@pytest.mark.parametrize(
    ("scales", "match"),
    [([2.0], "at least 2"), ([2.0, 2.0], "strictly increasing"), ([3.0, 2.0], "strictly")],
)
def test_sweep_validates_text_scales(pipe, image, tmp_path, scales, match):
    with pytest.raises(ValueError, match=match):
        instruct_pix2pix_sweep(image, INSTRUCTION, scales, pipeline=pipe, cache_root=tmp_path)


# --------------------------------------------------------------------------- sweeps and cache


def test_sweep_returns_sweep_and_cache_hit_skips_unet(pipe, image, tmp_path):
    kwargs = dict(
        pipeline=pipe, num_inference_steps=STEPS, batch_size=2, cache_root=tmp_path, progress=False
    )
    counter = CallCounter(pipe.unet)
    try:
        fresh = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, IMAGE_SCALE, **kwargs)
        assert counter.calls == 2 * STEPS  # two chunks, one UNet batch per step
        counter.calls = 0
        cached = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, IMAGE_SCALE, **kwargs)
        assert counter.calls == 0
    finally:
        counter.remove()
    assert isinstance(fresh, Sweep)
    assert fresh.grid.tolist() == SCALES and fresh.grid_name == GRID_NAME
    assert fresh.metadata["image_scale"] == IMAGE_SCALE
    assert fresh.metadata["frames_from_cache"] == 0
    assert cached.metadata["frames_from_cache"] == len(SCALES)
    assert cached.metadata["cache_key"] == fresh.metadata["cache_key"]
    np.testing.assert_array_equal(cached.to_array(), fresh.to_array())
    # the uint8 frames are the rounded pipeline outputs
    reference = _pipeline_frame(pipe, image, SCALES[2])
    assert np.abs(fresh.to_array()[2] / 255.0 - reference).max() <= 0.5 / 255 + TOL
    # a different seed is a different cache entry
    other = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, IMAGE_SCALE, seed=1, **kwargs)
    assert other.metadata["cache_key"] != fresh.metadata["cache_key"]


def test_interrupted_sweep_resumes_with_missing_frames_only(pipe, image, tmp_path):
    kwargs = dict(pipeline=pipe, num_inference_steps=STEPS, batch_size=2, progress=False)
    full = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, cache=False, **kwargs)

    root = tmp_path / "cache"
    counter = CallCounter(pipe.unet, fail_at=STEPS + 2)  # dies inside the second chunk
    try:
        with pytest.raises(KeyboardInterrupt):
            instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, cache_root=root, **kwargs)
    finally:
        counter.remove()
    (folder,) = (root / "instruct_pix2pix").iterdir()
    assert sorted(p.name for p in folder.glob("*.png")) == ["ts_1.5.png", "ts_3.0.png"]
    assert not list(folder.glob(".*"))  # no temporary files left behind

    counter = CallCounter(pipe.unet)
    try:
        resumed = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, cache_root=root, **kwargs)
    finally:
        counter.remove()
    assert counter.calls == STEPS  # only the missing chunk ran
    assert resumed.metadata["frames_from_cache"] == 2
    np.testing.assert_array_equal(resumed.to_array(), full.to_array())


def test_new_scales_reuse_cached_frames(pipe, image, tmp_path):
    kwargs = dict(
        pipeline=pipe, num_inference_steps=STEPS, batch_size=4, cache_root=tmp_path, progress=False
    )
    first = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES[:2], **kwargs)
    counter = CallCounter(pipe.unet)
    try:
        extended = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, **kwargs)
    finally:
        counter.remove()
    assert counter.calls == STEPS and extended.metadata["frames_from_cache"] == 2
    np.testing.assert_array_equal(extended.to_array()[:2], first.to_array())


def test_grid_over_both_scales(pipe, image, tmp_path):
    grid = instruct_pix2pix_grid(
        image, INSTRUCTION, SCALES[:3], [1.0, 2.0], pipeline=pipe, num_inference_steps=2,
        cache_root=tmp_path, progress=False,
    )  # fmt: skip
    assert [s.metadata["image_scale"] for s in grid] == [1.0, 2.0]
    assert all(len(s) == 3 and s.grid.tolist() == SCALES[:3] for s in grid)
    assert np.abs(grid[0].to_array().astype(int) - grid[1].to_array()).max() > 0
    with pytest.raises(ValueError, match="strictly increasing"):
        instruct_pix2pix_grid(image, INSTRUCTION, SCALES, [2.0, 1.0], pipeline=pipe)


def test_paper_text_scales():
    scales = paper_text_scales()
    assert len(scales) == 92 and scales[0] == 1.05 and scales[-1] == 14.7
    np.testing.assert_allclose(np.diff(scales), 0.15, atol=1e-9)
    assert paper_text_scales(1.05, 9.75).size == 59
    with pytest.raises(ValueError, match="whole number"):
        paper_text_scales(1.0, 2.0, 0.3)


# --------------------------------------------------------------------------- loading


def test_load_offline_missing_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailableError) as info:
        load_instruct_pix2pix("timbrooks/instruct-pix2pix", device="cpu", cache_dir=tmp_path)
    message = str(info.value)
    assert "timbrooks/instruct-pix2pix" in message and "HF_HUB_OFFLINE" in message
    assert "model_id=<folder>" in message
    with pytest.raises(ModelNotAvailableError, match="local_files_only=True"):
        load_instruct_pix2pix("someone/missing", local_files_only=True, cache_dir=tmp_path)


def test_load_from_local_folder(pipe, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.save_pretrained(tmp_path / "tiny")
        loaded = load_instruct_pix2pix(tmp_path / "tiny", device="cpu")
    assert loaded.unet.dtype == torch.float32
    assert type(loaded.scheduler) is type(pipe.scheduler)
    with pytest.raises(ModelNotAvailableError, match="model_index.json"):
        load_instruct_pix2pix(tmp_path, device="cpu")
