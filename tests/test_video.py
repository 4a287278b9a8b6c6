"""Decoding sweeps from video files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_assets

av = pytest.importorskip("av")

from propgrad.authors import AUTHORS_DOG_SCALES, load_authors_dog_sweep  # noqa: E402
from propgrad.interventions.video import frames_from_video  # noqa: E402

COLOURS = [(255, 0, 0), (0, 200, 0), (0, 0, 255), (240, 240, 240), (30, 30, 30)]


@pytest.fixture
def tiny_video(tmp_path):
    """A 5-frame 64x48 H.264 video: one flat colour per frame."""
    path = tmp_path / "tiny.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"crf": "10"}
        for colour in COLOURS:
            array = np.zeros((48, 64, 3), dtype=np.uint8)
            array[:] = colour
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_round_trip_frame_count_and_colours(tiny_video):
    frames = frames_from_video(tiny_video)
    assert len(frames) == len(COLOURS)
    for frame, colour in zip(frames, COLOURS, strict=True):
        assert frame.size == (64, 48) and frame.mode == "RGB"
        mean = np.asarray(frame, dtype=float).reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(mean, colour, atol=12)


def test_crop_is_inclusive_and_size_resizes(tiny_video):
    frames = frames_from_video(tiny_video, crop=(10, 19, 5, 34))
    assert frames[0].size == (30, 10)
    frames = frames_from_video(tiny_video, crop=(0, 47, 0, 63), size=(16, 8), max_frames=2)
    assert len(frames) == 2 and frames[1].size == (16, 8)


def test_crop_outside_frame(tiny_video):
    with pytest.raises(ValueError, match="do not fit"):
        frames_from_video(tiny_video, crop=(0, 48, 0, 10))


def test_missing_file_names_path(tmp_path):
    path = tmp_path / "no" / "such.mp4"
    with pytest.raises(FileNotFoundError, match=str(path)):
        frames_from_video(path)


def test_not_a_video(tmp_path):
    path = tmp_path / "text.mp4"
    path.write_text("hello")
    with pytest.raises(ValueError, match="text.mp4"):
        frames_from_video(path)


@requires_assets
def test_authors_sweep_frames():
    sweep = load_authors_dog_sweep(include_original=False)
    assert len(sweep) == 100
    assert {image.size for image in sweep} == {(306, 308)}
    np.testing.assert_allclose(sweep.grid, AUTHORS_DOG_SCALES)
    # the crop removes the white figure margin (only its outermost columns are blended
    # with it by the chroma subsampling)
    array = sweep.to_array().astype(float)
    assert array[:, 0].mean() < 250 and array[:, -1].mean() < 250
    assert array[:, :, 1].mean() < 250 and array[:, :, -2].mean() < 250
    tight = load_authors_dog_sweep(include_original=False, crop=(48, 355, 53, 356))
    assert tight[0].size == (304, 308) and tight.metadata["crop_rows_cols_inclusive"][2] == 53


@requires_assets
def test_authors_sweep_with_original():
    sweep = load_authors_dog_sweep()
    assert len(sweep) == 101
    assert sweep.grid[0] == 1.0 and sweep.grid[1] == pytest.approx(1.01)
    assert np.all(np.diff(sweep.grid) > 0)
    assert sweep[0].size == (489, 499)  # the original photo keeps its size
    assert sweep.grid_name == "text guidance scale"
    meta = sweep.metadata
    assert meta["seed"] == 1337 and meta["image_guidance_scale"] == 2.5
    assert "fur color to white" in meta["instruction"]
    assert "unit steps" in meta["spacing"]
