"""Batched InstructPix2Pix sweeps against the diffusers pipeline, on a tiny random model."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

from propgrad.interventions.instruct_pix2pix import (  # noqa: E402
    DEFAULT_MODEL_ID,
    GRID_NAME,
    Editor,
    EditSettings,
    ModelNotAvailableError,
    edit_sweeps,
    instruct_pix2pix_frames,
    instruct_pix2pix_grid,
    instruct_pix2pix_sweep,
    load_instruct_pix2pix,
    paper_text_scales,
)
from propgrad.interventions.instruct_pix2pix.tiny import (  # noqa: E402
    save_tiny_instruct_pix2pix,
    tiny_instruct_pix2pix,
)
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


# --------------------------------------------------------------------------- the editor


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """The ``pipe`` fixture's weights (same builder, same seed), saved as a pipeline folder."""
    return save_tiny_instruct_pix2pix(tmp_path_factory.mktemp("editor") / "tiny", size=32)


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a network connection; unset offline mode."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def count_loads(monkeypatch):
    """Count the editor's model loads."""
    from propgrad.interventions.instruct_pix2pix import editor as editor_module

    calls = []
    real = editor_module.load_instruct_pix2pix

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(editor_module, "load_instruct_pix2pix", counting)
    return calls


def test_sweep_from_saved_folder_equals_pipeline_object(pipe, image, tiny_folder, no_network):
    kwargs = dict(num_inference_steps=STEPS, batch_size=3, cache=False, progress=False)
    from_object = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, pipeline=pipe, **kwargs)
    from_folder = instruct_pix2pix_sweep(
        image, INSTRUCTION, SCALES, model_id=str(tiny_folder), device="cpu", **kwargs
    )
    # the same weights, reloaded: the same edits up to floating-point summation order (a
    # reloaded diffusers model may run other kernels; one intensity level at most)
    difference = np.abs(from_folder.to_array().astype(int) - from_object.to_array().astype(int))
    assert difference.max() <= 1 and np.mean(difference > 0) < 1e-3
    again = instruct_pix2pix_sweep(
        image, INSTRUCTION, SCALES, model_id=str(tiny_folder), device="cpu", **kwargs
    )
    np.testing.assert_array_equal(again.to_array(), from_folder.to_array())
    assert from_folder.metadata["editor"] == "folder"
    assert from_folder.metadata["model_id"] == str(tiny_folder.resolve())
    assert from_folder.metadata["scheduler"] == "EulerAncestralDiscreteScheduler"
    assert from_folder.metadata["dtype"] == "float32"
    # the same folder as a Path, through editor=
    again = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, editor=tiny_folder, **kwargs)
    np.testing.assert_array_equal(again.to_array(), from_folder.to_array())


def test_editor_from_spec(pipe, tiny_folder, tmp_path):
    hub = Editor.from_spec(None)
    assert (hub.kind, hub.name, hub.loaded) == ("hub", DEFAULT_MODEL_ID, False)
    assert Editor.from_spec(hub) is hub
    with pytest.raises(ValueError, match="existing Editor"):
        Editor.from_spec(hub, device="cpu")
    given = Editor.from_spec(pipe)
    assert given.kind == "pipeline" and given.loaded and given.pipeline is pipe
    with pytest.raises(ValueError, match="device only apply"):
        Editor.from_spec(pipe, device="cpu")
    folder = Editor.from_spec(str(tiny_folder))
    assert folder.kind == "folder" and folder.name == str(tiny_folder.resolve())
    assert not folder.loaded  # nothing is loaded until the pipeline is needed
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        Editor.from_spec(str(tmp_path / "missing"))
    with pytest.raises(ModelNotAvailableError, match="model_index.json"):
        Editor.from_spec(tmp_path)
    with pytest.raises(TypeError, match="an editor is"):
        Editor.from_spec(42)


def test_editor_is_named_once(pipe, image, tiny_folder):
    with pytest.raises(ValueError, match="name the editor once"):
        instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, pipeline=pipe, model_id="a/b")
    with pytest.raises(ValueError, match="name the editor once"):
        instruct_pix2pix_grid(image, INSTRUCTION, SCALES, [1.5], editor=pipe, model_id="a/b")


def test_folder_editor_loads_once_and_not_at_all_when_cached(
    image, tiny_folder, tmp_path, no_network, count_loads
):
    kwargs = dict(num_inference_steps=2, batch_size=4, cache_root=tmp_path / "c", progress=False)
    editor = Editor.from_spec(tiny_folder, device="cpu")
    grid = instruct_pix2pix_grid(
        image, INSTRUCTION, SCALES[:2], [1.5, 2.0], editor=editor, **kwargs
    )
    more = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES[1:3], editor=editor, **kwargs)
    assert len(count_loads) == 1 and editor.loaded
    assert more.metadata["frames_from_cache"] == 1
    # a new editor for the same folder: every frame is cached, so nothing is loaded
    fresh = Editor.from_spec(str(tiny_folder))
    cached = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES[:2], editor=fresh, **kwargs)
    assert not fresh.loaded and len(count_loads) == 1
    assert cached.metadata["frames_from_cache"] == 2
    assert cached.metadata["cache_key"] == grid[0].metadata["cache_key"]
    np.testing.assert_array_equal(cached.to_array(), grid[0].to_array())


def test_folder_identity_follows_contents_not_path(tiny_folder, tmp_path):
    import json
    import pickle
    import shutil

    original = Editor.from_spec(tiny_folder, device="cpu")
    copy = Editor.from_spec(shutil.copytree(tiny_folder, tmp_path / "moved"), device="cpu")
    assert copy.identity() == original.identity()
    config_file = tmp_path / "moved" / "scheduler" / "scheduler_config.json"
    config = json.loads(config_file.read_text())
    config["beta_end"] = 0.02
    config_file.write_text(json.dumps(config))
    changed = Editor.from_spec(tmp_path / "moved", device="cpu")
    assert changed.identity()["folder_sha256"] != original.identity()["folder_sha256"]
    # a pipeline object keeps its identity through save_pretrained and loading
    loaded = Editor(load_instruct_pix2pix(tiny_folder, device="cpu"))
    assert loaded.identity() == Editor(tiny_instruct_pix2pix(size=32)).identity()
    # a loaded spec editor pickles as its spec (workers load it themselves)
    original.pipeline  # noqa: B018
    restored = pickle.loads(pickle.dumps(original))
    assert len(pickle.dumps(original)) < 4096
    assert not restored.loaded and restored.identity() == original.identity()


def test_edit_settings_validate():
    settings = EditSettings("make it red", image_scale=2, num_inference_steps=np.int64(5), seed=3)
    assert settings.key_config() == {
        "instruction": "make it red",
        "image_scale": 2.0,
        "num_inference_steps": 5,
        "seed": 3,
    }
    with pytest.raises(ValueError, match="at least 1"):
        EditSettings("x", num_inference_steps=0)
    with pytest.raises(ValueError, match="must be a string"):
        EditSettings(None)
    with pytest.raises(ValueError, match="seed must be an integer"):
        EditSettings("x", seed=1.5)
    with pytest.raises(ValueError, match="finite"):
        EditSettings("x", image_scale=float("nan"))


def test_load_missing_folder_path_says_so(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        load_instruct_pix2pix(str(tmp_path / "no" / "such" / "folder"), device="cpu")


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, propgrad.interventions.instruct_pix2pix, propgrad.interventions.tiny_models;"
        "print(sorted({'torch', 'diffusers', 'transformers'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # the old import path of the tiny builder still works
    from propgrad.interventions import tiny_models

    assert tiny_models.tiny_instruct_pix2pix is tiny_instruct_pix2pix


# --------------------------------------------------------------------------- several writers


def test_two_writers_fill_one_sweep(pipe, image, tiny_folder, tmp_path):
    root = tmp_path / "cache"
    kwargs = dict(num_inference_steps=STEPS, batch_size=2, cache_root=root, progress=False)
    reference = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, editor=tiny_folder,
                                       cache=False, num_inference_steps=STEPS,
                                       progress=False)  # fmt: skip
    # two independent writers (own editors, as two tasks would have) with overlapping scales
    first = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES[:3], editor=tiny_folder, **kwargs)
    second = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES[1:], editor=tiny_folder, **kwargs)
    assert first.metadata["cache_key"] == second.metadata["cache_key"]
    assert second.metadata["frames_from_cache"] == 2
    # a stale manifest (e.g. an older writer's last word) does not hide any frame
    folder = Path(first.metadata["cache_dir"])
    (folder / "manifest.json").write_text('{"frames": {}}')
    reader = Editor.from_spec(tiny_folder)
    merged = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, editor=reader, **kwargs)
    assert merged.metadata["frames_from_cache"] == len(SCALES) and not reader.loaded
    np.testing.assert_array_equal(merged.to_array(), reference.to_array())


def test_writer_finishing_during_another_keeps_both(pipe, image, tmp_path):
    """Writer B runs to completion while writer A is between two of its chunks."""
    kwargs = dict(num_inference_steps=STEPS, batch_size=2, cache_root=tmp_path, progress=False)
    other = tiny_instruct_pix2pix(size=32)  # same weights, a separate object (a second task)
    state = {"done": False}

    def interleave(module, args):
        if not state["done"] and counter.calls == STEPS + 1:  # A's second chunk starts
            state["done"] = True
            instruct_pix2pix_sweep(image, INSTRUCTION, [2.0, SCALES[3]], pipeline=other, **kwargs)

    counter = CallCounter(pipe.unet)
    hook = pipe.unet.register_forward_pre_hook(interleave)
    try:
        a = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, pipeline=pipe, **kwargs)
    finally:
        hook.remove()
        counter.remove()
    assert state["done"] and a.metadata["frames_from_cache"] == 0
    every = sorted({*SCALES, 2.0})
    counter = CallCounter(pipe.unet)
    try:
        merged = instruct_pix2pix_sweep(image, INSTRUCTION, every, pipeline=pipe, **kwargs)
    finally:
        counter.remove()
    assert counter.calls == 0 and merged.metadata["frames_from_cache"] == len(every)
    folder = Path(a.metadata["cache_dir"])
    assert not list(folder.glob(".*"))  # no temporary files left behind


def test_damaged_frame_is_computed_again(pipe, image, tmp_path):
    kwargs = dict(pipeline=pipe, num_inference_steps=STEPS, cache_root=tmp_path, progress=False)
    fresh = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, **kwargs)
    (Path(fresh.metadata["cache_dir"]) / "ts_3.0.png").write_bytes(b"not a png")
    again = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, **kwargs)
    assert again.metadata["frames_from_cache"] == len(SCALES) - 1
    np.testing.assert_array_equal(again.to_array(), fresh.to_array())


_WRITER = """
import sys
import numpy as np
import torch
from propgrad.interventions.instruct_pix2pix import instruct_pix2pix_sweep

torch.set_num_threads(1)
image = np.load(sys.argv[1])
scales = [float(s) for s in sys.argv[3].split(",")]
sweep = instruct_pix2pix_sweep(image, {instruction!r}, scales, model_id=sys.argv[2],
    num_inference_steps={steps}, batch_size=1, cache_root=sys.argv[4], progress=False)
print(sweep.metadata["cache_key"])
"""


@pytest.mark.slow  # two fresh interpreters importing torch and diffusers: ~30 s on 2 cores
def test_two_processes_write_one_sweep_at_once(pipe, image, tiny_folder, tmp_path):
    import subprocess
    import sys

    np.save(tmp_path / "image.npy", image)
    script = _WRITER.format(instruction=INSTRUCTION, steps=STEPS)
    root = tmp_path / "cache"
    halves = ["1.5,3.0,5.0", "3.0,5.0,7.5"]  # overlapping: both write 3.0 and 5.0
    arguments = [str(tmp_path / "image.npy"), str(tiny_folder)]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, *arguments, half, str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half in halves
    ]
    outputs = [w.communicate(timeout=300) for w in writers]
    assert all(w.returncode == 0 for w in writers), [err for _, err in outputs]
    keys = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(keys) == 1
    reader = Editor.from_spec(tiny_folder)
    kwargs = dict(num_inference_steps=STEPS, cache_root=root, progress=False)
    merged = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, editor=reader, **kwargs)
    assert merged.metadata["cache_key"] in keys and not reader.loaded
    reference = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES, pipeline=pipe, cache=False,
                                       num_inference_steps=STEPS, progress=False)  # fmt: skip
    np.testing.assert_array_equal(merged.to_array(), reference.to_array())


# --------------------------------------------------------------------------- many sweeps


def test_edit_sweeps_here_load_the_editor_once(image, tiny_folder, tmp_path, count_loads):
    from PIL import Image

    path = tmp_path / "flipped.png"
    Image.fromarray(image[::-1].copy()).save(path)
    kwargs = dict(num_inference_steps=2, cache_root=tmp_path / "c", progress=False)
    sweeps = edit_sweeps([image, path], INSTRUCTION, SCALES[:2], editor=str(tiny_folder), **kwargs)
    assert len(count_loads) == 1 and [len(s) for s in sweeps] == [2, 2]
    assert sweeps[0].metadata["cache_key"] != sweeps[1].metadata["cache_key"]
    one = instruct_pix2pix_sweep(path, INSTRUCTION, SCALES[:2], editor=tiny_folder, **kwargs)
    assert one.metadata["frames_from_cache"] == 2
    np.testing.assert_array_equal(one.to_array(), sweeps[1].to_array())
    with pytest.raises(ValueError, match="strictly increasing"):
        edit_sweeps([image], INSTRUCTION, [3.0, 2.0], editor=str(tiny_folder))


def test_edit_tasks_survive_pickling_and_share_a_worker_editor(
    pipe, image, tiny_folder, tmp_path, count_loads
):
    """What a worker process sees: pickled tasks; it loads the editor once for all of them."""
    import pickle

    from propgrad.interventions.instruct_pix2pix.batch import _EditTask, _run_edit_task

    editor = Editor.from_spec(tiny_folder, device="cpu")
    settings = EditSettings(INSTRUCTION, IMAGE_SCALE, num_inference_steps=2)
    tasks = [
        _EditTask(editor, picture, tuple(SCALES[:2]), settings, 2, True, str(tmp_path), False)
        for picture in (image, image[:, ::-1].copy())
    ]
    results = [_run_edit_task(pickle.loads(pickle.dumps(task))) for task in tasks]
    assert len(count_loads) == 1 and not editor.loaded  # the worker's copy loaded, not ours
    kwargs = dict(num_inference_steps=2, cache=False, progress=False)
    reference = instruct_pix2pix_sweep(image, INSTRUCTION, SCALES[:2], pipeline=pipe, **kwargs)
    np.testing.assert_array_equal(results[0].to_array(), reference.to_array())


@pytest.mark.slow  # spawns two worker processes (each imports torch and diffusers)
def test_edit_sweeps_in_a_process_pool(image, tiny_folder, tmp_path):
    kwargs = dict(num_inference_steps=2, cache_root=tmp_path, progress=False)
    pictures = [image, image[::-1].copy(), image[:, ::-1].copy()]
    pooled = edit_sweeps(pictures, INSTRUCTION, SCALES[:2], editor=tiny_folder, max_workers=2,
                         **kwargs)  # fmt: skip
    here = edit_sweeps(pictures, INSTRUCTION, SCALES[:2], editor=tiny_folder, **kwargs)
    assert [s.metadata["frames_from_cache"] for s in here] == [2, 2, 2]
    for a, b in zip(pooled, here):
        np.testing.assert_array_equal(a.to_array(), b.to_array())
