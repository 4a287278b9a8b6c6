from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import requires_assets
from PIL import Image

from propgrad.cli import main, parse_scales


@pytest.fixture()
def photo(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("propgrad: error: ")
    assert "\n" not in err, err
    return err


def test_unreadable_image_exits_2(tmp_path, capsys):
    bad = tmp_path / "not-an-image.jpg"
    bad.write_text("hello")
    assert main(["sweep", "background", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read image" in _one_line_error(capsys)
    assert main(["sweep", "background", str(tmp_path / "nope.jpg"), "--out", "x"]) == 2
    assert "image not found" in _one_line_error(capsys)


def test_empty_folder_exits_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(
        [
            "explain",
            "--model",
            "authors:unbiased",
            "--sweep",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "no images found" in _one_line_error(capsys)


def test_unknown_model_exits_2(tmp_path, photo, capsys):
    assert (
        main(["sweep", "background", str(photo), "--out", str(tmp_path / "s"), "--steps", "5"]) == 0
    )
    capsys.readouterr()
    for spec, message in [
        ("authors:no-such", "no-such"),
        ("keras:x", "unknown model"),
        ("timm:not-a-net", "unknown timm model"),
    ]:
        code = main(
            [
                "explain",
                "--model",
                spec,
                "--sweep",
                str(tmp_path / "s"),
                "--out",
                str(tmp_path / "r"),
            ]
        )
        assert code == 2
        assert message in _one_line_error(capsys)


def test_scales_not_increasing_exit_2(tmp_path, photo, capsys):
    code = main(
        [
            "sweep",
            "edit",
            str(photo),
            "--instruction",
            "x",
            "--scales",
            "3,2,4",
            "--out",
            str(tmp_path / "e"),
        ]
    )
    assert code == 2
    assert "strictly increasing" in _one_line_error(capsys)


def test_parse_scales():
    np.testing.assert_allclose(parse_scales("1.05:1.5:0.15"), [1.05, 1.2, 1.35, 1.5])
    np.testing.assert_allclose(parse_scales("1.5, 2, 7"), [1.5, 2.0, 7.0])
    for bad in ("1", "a:b:c", "1:2:-1", "2:1:0.5"):
        with pytest.raises(Exception, match="scales"):
            parse_scales(bad)


@requires_assets
def test_background_sweep_and_explain_authors_model(tmp_path, photo, capsys):
    assert (
        main(["sweep", "background", str(photo), "--out", str(tmp_path / "s"), "--steps", "11"])
        == 0
    )
    record = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert len(record["frames"]) == 11
    assert record["metadata"]["source"] == str(photo)
    code = main(
        [
            "explain",
            "--model",
            "authors:dark-cats-bias",
            "--sweep",
            str(tmp_path / "s"),
            "--out",
            str(tmp_path / "r"),
            "--permutations",
            "200",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["class_names"] == ["cat", "dog"]
    assert len(report["outputs"]) == 11
    assert report["n_permutations"] == 200
    assert (tmp_path / "r" / "report.png").exists()
    assert "E[|grad X|]" in capsys.readouterr().out
