from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from propgrad import cache
from propgrad.cache import (
    atomic_path,
    cache_dir,
    config_key,
    image_sha256,
    read_json,
    save_image_atomic,
    write_json_atomic,
    write_npz_atomic,
)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    assert cache_dir("a", "b") == tmp_path / "a" / "b"
    monkeypatch.delenv("PROPGRAD_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "propgrad"
    assert cache_dir("x", root=tmp_path / "r") == tmp_path / "r" / "x"


HEX = set("0123456789abcdef")
CONFIG = {"seed": 0, "scales": [1.5, 2.0], "name": "m", "opt": {"lr": 0.1, "steps": 5}}


def test_config_key_is_a_lowercase_hex_prefix():
    key = config_key(CONFIG)
    assert len(key) == 16 and set(key) <= HEX
    full = config_key(CONFIG, length=64)
    assert len(full) == 64 and set(full) <= HEX
    assert full.startswith(key) and full.startswith(config_key(CONFIG, length=8))
    assert config_key(CONFIG) == key  # the same in a second call
    for bad in (0, 65):
        with pytest.raises(ValueError, match="length"):
            config_key(CONFIG, length=bad)


def test_config_key_ignores_key_order_and_value_types_that_print_the_same():
    key = config_key(CONFIG)
    reordered = {"opt": {"steps": 5, "lr": 0.1}, "name": "m", "scales": [1.5, 2.0], "seed": 0}
    assert config_key(reordered) == key
    numpy_values = {
        "seed": np.int64(0),
        "scales": np.array([1.5, 2.0]),
        "name": np.str_("m"),
        "opt": {"lr": np.float64(0.1), "steps": np.int32(5)},
    }
    assert config_key(numpy_values) == key
    assert config_key({**CONFIG, "scales": (1.5, 2.0)}) == key
    assert config_key({"x": np.float32(0.5)}) == config_key({"x": 0.5})
    assert config_key({"x": np.bool_(True)}) == config_key({"x": True})
    assert config_key({"p": Path("a") / "b"}) == config_key({"p": "a/b"})


@pytest.mark.parametrize(
    "changed",
    [
        {**CONFIG, "seed": 1},
        {**CONFIG, "scales": [1.5, 2.5]},
        {**CONFIG, "scales": [2.0, 1.5]},  # list order matters
        {**CONFIG, "name": "M"},
        {**CONFIG, "opt": {"lr": 0.1, "steps": 6}},  # a nested value
        {**CONFIG, "extra": None},  # an added key
        {k: v for k, v in CONFIG.items() if k != "name"},  # a removed key
        {**CONFIG, "seed": "0"},  # a number is not its string
        {**CONFIG, "seed": True},
    ],
)
def test_config_key_changes_with_the_configuration(changed):
    assert config_key(changed) != config_key(CONFIG)


def test_image_sha256_depends_on_pixels_and_size():
    pixels = np.arange(2 * 6 * 3, dtype=np.uint8).reshape(2, 6, 3)
    reshaped = pixels.reshape(6, 2, 3)  # same bytes, other size
    assert image_sha256(pixels) == image_sha256(Image.fromarray(pixels))
    assert image_sha256(pixels) != image_sha256(reshaped)
    assert image_sha256(Image.fromarray(pixels).convert("RGBA")) == image_sha256(pixels)


def test_atomic_writes_round_trip(tmp_path):
    write_json_atomic(tmp_path / "d" / "x.json", {"a": np.float64(0.5), "b": [1, 2]})
    assert read_json(tmp_path / "d" / "x.json") == {"a": 0.5, "b": [1, 2]}
    assert read_json(tmp_path / "missing.json", default={}) == {}
    write_npz_atomic(tmp_path / "y.npz", v=np.arange(3))
    with np.load(tmp_path / "y.npz") as data:
        np.testing.assert_array_equal(data["v"], np.arange(3))
    image = Image.fromarray(np.full((4, 4, 3), 7, dtype=np.uint8))
    save_image_atomic(tmp_path / "z.png", image)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "z.png")), np.asarray(image))


def test_atomic_files_get_a_new_files_mode_not_mkstemps(tmp_path):
    # mkstemp creates 0600 files; a saved sweep or viewer page must be readable like any file
    mask = os.umask(0o022)
    try:
        cache._UMASK, saved = 0o022, cache._UMASK
        with atomic_path(tmp_path / "page.html") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(mask)
        cache._UMASK = saved
    assert stat.S_IMODE((tmp_path / "page.html").stat().st_mode) == 0o644


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
