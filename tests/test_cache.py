from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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


def test_config_key_is_stable_and_order_free():
    a = config_key({"seed": 0, "scales": [1.5, 2.0], "name": "m"})
    b = config_key({"name": "m", "scales": np.array([1.5, 2.0]), "seed": np.int64(0)})
    assert a == b and len(a) == 16 and int(a, 16) >= 0
    assert config_key({"seed": 1, "scales": [1.5, 2.0], "name": "m"}) != a
    assert len(config_key({"x": 1}, length=8)) == 8
    with pytest.raises(ValueError):
        config_key({"x": 1}, length=0)


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


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
