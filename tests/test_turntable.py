"""Tests for propgrad.interventions.turntable: recordings of one full turn."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from propgrad.interventions.turntable import load_turntable, turntable_angles
from propgrad.measure import expected_property_gradient


def frame(value: int, size=(12, 8)) -> Image.Image:
    return Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8))


def recording(folder, n=12, name="img_{}.png"):
    """Frames numbered 1..n whose grey value encodes their number (10 * k)."""
    folder.mkdir(exist_ok=True)
    for k in np.random.default_rng(0).permutation(n) + 1:  # written in random order
        frame(int(10 * k)).save(folder / name.format(k))
    return folder


def values(sweep) -> list[int]:
    return [int(np.asarray(im)[0, 0, 0]) for im in sweep]


def test_folder_in_natural_order_with_angles_over_one_turn(tmp_path):
    sweep = load_turntable(recording(tmp_path / "rec"))
    assert values(sweep) == [10 * k for k in range(1, 13)]  # img_2 before img_10
    np.testing.assert_allclose(sweep.grid, np.arange(12) * 30.0)
    assert sweep.grid_name == "angle (degrees)"
    meta = sweep.metadata
    assert meta["periodic"] is True and meta["period"] == 360.0
    assert meta["direction"] == "ccw" and meta["source_kind"] == "folder"
    assert meta["frames"][:3] == ["img_1.png", "img_2.png", "img_3.png"]


def test_start_angle_and_clockwise_direction(tmp_path):
    folder = recording(tmp_path / "rec", n=4)
    ccw = load_turntable(folder, start_angle=90.0)
    np.testing.assert_allclose(ccw.grid, [90, 180, 270, 360])
    cw = load_turntable(folder, direction="clockwise", start_angle=90.0)
    # frame k was at 90 - 90 k degrees: sorted by angle, frame 0 comes first,
    # then the last frame (at 90 - 270 = -180 = 180 degrees), ...
    np.testing.assert_allclose(cw.grid, [90, 180, 270, 360])
    assert values(cw) == [10, 40, 30, 20]
    assert cw.metadata["frames"] == ["img_1.png", "img_4.png", "img_3.png", "img_2.png"]
    assert cw.metadata["direction"] == "cw"


def test_includes_end_drops_the_repeated_frame(tmp_path):
    sweep = load_turntable(recording(tmp_path / "rec", n=9), includes_end=True)
    assert len(sweep) == 8 and values(sweep)[-1] == 80
    np.testing.assert_allclose(sweep.grid, np.arange(8) * 45.0)


def test_crop_and_resize(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    for k in range(3):
        a = np.zeros((10, 20, 3), np.uint8)
        a[2:5, 3:9] = 200 + k
        Image.fromarray(a).save(folder / f"{k}.png")
    sweep = load_turntable(folder, crop=(2, 4, 3, 8))
    assert sweep[0].size == (6, 3) and (np.asarray(sweep[2]) == 202).all()
    assert load_turntable(folder, size=(5, 4))[0].size == (5, 4)
    with pytest.raises(ValueError, match="do not fit"):
        load_turntable(folder, crop=(0, 40, 0, 5))


def test_periodic_score_of_a_recording_does_not_depend_on_the_start(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    angles = np.arange(24) * 15.0
    for k, a in enumerate(angles):
        frame(int(128 + 100 * np.cos(np.radians(a)))).save(folder / f"f{k}.png")
    sweep = load_turntable(folder)
    x = np.array(values(sweep), float)
    score = expected_property_gradient(x, grid=sweep.grid, periodic=True)
    rolled = expected_property_gradient(np.roll(x, 5), grid=sweep.grid, periodic=True)
    assert score == pytest.approx(rolled, rel=1e-12)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="turntable recording not found"):
        load_turntable(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no frames here")
    with pytest.raises(ValueError, match="no frames found in"):
        load_turntable(empty)
    two = recording(tmp_path / "two", n=2)
    with pytest.raises(ValueError, match="at least 3 frames .* has 2"):
        load_turntable(two)
    three = recording(tmp_path / "three", n=3)
    with pytest.raises(ValueError, match="has 2 \\(after dropping the repeated last frame\\)"):
        load_turntable(three, includes_end=True)
    broken = recording(tmp_path / "broken", n=4)
    (broken / "img_3.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read the frame .*img_3.png"):
        load_turntable(broken)
    with pytest.raises(ValueError, match="direction must be"):
        load_turntable(three, direction="up")
    other = tmp_path / "table.csv"
    other.write_text("1,2,3")
    with pytest.raises(ValueError, match="neither a folder of frames nor a video"):
        load_turntable(other)
    with pytest.raises(ValueError, match="at least 3 frames"):
        turntable_angles(2)


def test_video_recording(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "turn.mp4"
    greys = [20, 60, 100, 140, 180, 220]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=6)
        stream.width, stream.height, stream.pix_fmt = 32, 16, "yuv420p"
        stream.options = {"crf": "10"}
        for g in greys:
            image = av.VideoFrame.from_ndarray(np.full((16, 32, 3), g, np.uint8), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    sweep = load_turntable(path, start_angle=-30.0, size=(16, 8))
    assert len(sweep) == 6 and sweep[0].size == (16, 8)
    np.testing.assert_allclose(sweep.grid, -30.0 + np.arange(6) * 60.0)
    assert np.abs(np.array(values(sweep)) - greys).max() <= 4
    assert sweep.metadata["source_kind"] == "video" and sweep.metadata["periodic"] is True
