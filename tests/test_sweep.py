from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from propgrad.sweep import METADATA_FILE, Sweep, grid_from_values, load_sweep


def _frames(n, size=(6, 5)):
    return [np.full((size[1], size[0], 3), 20 * i, dtype=np.uint8) for i in range(n)]


def test_default_grid_is_unit_steps():
    sweep = Sweep(_frames(4))
    np.testing.assert_array_equal(sweep.grid, [0.0, 1.0, 2.0, 3.0])
    assert sweep.grid_name == "step"
    assert all(isinstance(im, Image.Image) and im.mode == "RGB" for im in sweep)


def test_float_arrays_are_converted_and_checked():
    sweep = Sweep([np.ones((2, 2, 3)) * 0.5])
    assert np.asarray(sweep[0])[0, 0, 0] == 128
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Sweep([np.ones((2, 2, 3)) * 2.0])
    with pytest.raises(ValueError, match="NaN"):
        Sweep([np.full((2, 2, 3), np.nan)])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        Sweep([np.zeros((2, 2))])


def test_grid_validation_messages():
    with pytest.raises(ValueError, match="at least one image"):
        Sweep([])
    with pytest.raises(ValueError, match="2 values but the sweep has 3 images"):
        Sweep(_frames(3), grid=[0.0, 1.0])
    with pytest.raises(ValueError, match="strictly increasing; value 2"):
        Sweep(_frames(3), grid=[0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="NaN or inf"):
        Sweep(_frames(2), grid=[0.0, np.inf])


def test_save_load_round_trip(tmp_path):
    sweep = Sweep(
        _frames(3),
        grid=[1.05, 1.2, 1.35],
        grid_name="CFG text scale",
        metadata={"seed": np.int64(3), "instruction": "make it dark"},
    )
    sweep.save(tmp_path / "s")
    record = json.loads((tmp_path / "s" / METADATA_FILE).read_text())
    assert record["frames"] == ["frame_0000.png", "frame_0001.png", "frame_0002.png"]
    loaded = load_sweep(tmp_path / "s")
    np.testing.assert_allclose(loaded.grid, [1.05, 1.2, 1.35])
    assert loaded.grid_name == "CFG text scale"
    assert loaded.metadata == {"seed": 3, "instruction": "make it dark"}
    np.testing.assert_array_equal(loaded.to_array(), sweep.to_array())


def test_plain_folder_is_read_in_natural_order(tmp_path):
    for i in (10, 2, 1):
        Image.fromarray(np.full((4, 4, 3), i, dtype=np.uint8)).save(tmp_path / f"img_{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    sweep = Sweep.load(tmp_path)
    assert [int(np.asarray(im)[0, 0, 0]) for im in sweep] == [1, 2, 10]
    np.testing.assert_array_equal(sweep.grid, [0.0, 1.0, 2.0])


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="sweep folder not found"):
        Sweep.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        Sweep.load(tmp_path / "empty")
    Sweep(_frames(2)).save(tmp_path / "broken")
    (tmp_path / "broken" / "frame_0001.png").unlink()
    with pytest.raises(ValueError, match="missing"):
        Sweep.load(tmp_path / "broken")


def write_corrupt_folder(folder, kind):
    """Two good PNG frames, then frame_0002.png: garbage bytes or a truncated PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (24, 32, 3), dtype=np.uint8) for _ in range(3)]
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame_{i:04d}.png")
    bad = folder / "frame_0002.png"
    if kind == "garbage":
        bad.write_bytes(b"this is not a PNG file \x00\x01\x02" * 8)
    else:  # cut in the middle of the pixel data: the header still parses
        data = bad.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    return bad


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("garbage", "UnidentifiedImageError"), ("truncated", "OSError: image file is truncated")],
    ids=["garbage", "truncated"],
)
@pytest.mark.parametrize("with_metadata", [False, True], ids=["plain folder", "sweep.json"])
def test_corrupt_frame_is_a_value_error_naming_the_file(tmp_path, kind, reason, with_metadata):
    folder = tmp_path / "frames"
    if with_metadata:
        Sweep(_frames(3)).save(folder)
    bad = write_corrupt_folder(folder, kind)
    with pytest.raises(ValueError) as info:
        Sweep.load(folder)
    message = str(info.value)
    assert message.startswith(f"cannot read image {bad}: {reason}")
    assert "\n" not in message
    # the good frames alone still load
    bad.unlink()
    if with_metadata:
        (folder / METADATA_FILE).unlink()
    assert len(Sweep.load(folder)) == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [("{not json", "JSONDecodeError"), ('{"grid": [0]}', "KeyError"), ("[1, 2]", "TypeError")],
)
def test_unreadable_sweep_json_names_the_file(tmp_path, text, reason):
    Sweep(_frames(1)).save(tmp_path / "s")
    (tmp_path / "s" / METADATA_FILE).write_text(text)
    with pytest.raises(ValueError, match=f"cannot read .*{METADATA_FILE}: {reason}"):
        Sweep.load(tmp_path / "s")


def test_prepend_and_slice():
    sweep = Sweep(_frames(3), grid=[1.0, 1.5, 2.0])
    longer = sweep.prepend(np.zeros((5, 6, 3), dtype=np.uint8))
    np.testing.assert_allclose(longer.grid, [0.5, 1.0, 1.5, 2.0])
    assert len(longer) == 4 and len(sweep) == 3
    head = longer[:2]
    assert isinstance(head, Sweep) and len(head) == 2
    with pytest.raises(ValueError, match="differ in size"):
        Sweep([np.zeros((2, 2, 3), np.uint8), np.zeros((3, 3, 3), np.uint8)]).to_array()


def test_grid_from_values():
    np.testing.assert_array_equal(grid_from_values([1, 2]), [1.0, 2.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        grid_from_values([2, 1])
    with pytest.raises(ValueError, match="non-empty"):
        grid_from_values([])
