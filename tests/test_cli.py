from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import requires_assets
from PIL import Image

from propgrad.cli import CliError, main, parse_scales


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


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_corrupt_frame_in_sweep_exits_2(tmp_path, capsys, kind):
    from test_sweep import write_corrupt_folder

    bad = write_corrupt_folder(tmp_path / "frames", kind)
    code = main(
        ["explain", "--model", "authors:unbiased", "--sweep", str(tmp_path / "frames"),
         "--out", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 2
    err = _one_line_error(capsys)
    assert f"cannot read image {bad}: " in err
    assert not (tmp_path / "r").exists()


def test_unknown_model_exits_2(tmp_path, photo, capsys):
    assert (
        main(["sweep", "background", str(photo), "--out", str(tmp_path / "s"), "--steps", "5"]) == 0
    )
    capsys.readouterr()
    for spec, message in [
        ("authors:no-such", "no-such"),
        ("keras:x", "unknown model"),
        ("timm:not-a-net", "unknown architecture 'not-a-net'"),
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
    for bad, message in (
        ("1", "need at least 2 values, got 1"),
        ("a:b:c", "cannot parse 'a:b:c'"),
        ("1:2:-1", "the step must be positive, got -1"),
        ("2:1:0.5", "need at least 2 values, got 0"),
    ):
        with pytest.raises(CliError, match=f"^scales: {message}"):  # CliError: exit status 2
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
            "authors:dark-cats",
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


def test_sweep_edit_with_a_local_model_folder(tmp_path, monkeypatch, capsys):
    """``sweep edit`` loads a pipeline folder written by ``save_pretrained``, offline."""
    pytest.importorskip("diffusers")
    import warnings

    from propgrad.interventions.tiny_models import tiny_instruct_pix2pix
    from propgrad.sweep import Sweep

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "ip2p"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny_instruct_pix2pix(size=32, scheduler="ddim").save_pretrained(folder)
    photo = tmp_path / "small.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(photo)
    out = tmp_path / "edit"
    code = main(
        ["sweep", "edit", str(photo), "--instruction", "make it red", "--scales", "1.5,3,6",
         "--image-scale", "1.5", "--steps", "2", "--model-id", str(folder),
         "--local-files-only", "--out", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "wrote 3 frames" in capsys.readouterr().out
    sweep = Sweep.load(out)
    assert len(sweep) == 3
    assert sweep.grid.tolist() == [1.5, 3.0, 6.0]
    assert sweep.grid_name == "CFG text scale"
    assert sweep.metadata["instruction"] == "make it red"
    assert sweep.metadata["source"] == str(photo)
    assert sweep.to_array().shape == (3, 32, 32, 3)
    assert sweep.metadata["cache_dir"].startswith(str(tmp_path / "cache"))


def test_explain_timm_model_from_checkpoint(tmp_path, photo, capsys):
    """``explain`` builds a timm model from a state dict; bad checkpoints exit 2."""
    timm = pytest.importorskip("timm")
    torch = pytest.importorskip("torch")

    torch.manual_seed(0)
    ckpt = tmp_path / "resnet18.pt"
    torch.save(timm.create_model("resnet18", num_classes=3).state_dict(), ckpt)
    sweep = tmp_path / "s"
    assert main(["sweep", "background", str(photo), "--out", str(sweep), "--steps", "5"]) == 0
    capsys.readouterr()

    def explain(spec, checkpoint):
        return main(
            ["explain", "--model", spec, "--checkpoint", str(checkpoint), "--sweep", str(sweep),
             "--out", str(tmp_path / "r"), "--class-names", "a,b,c", "--permutations", "50"]
        )  # fmt: skip

    assert explain("timm:resnet18", ckpt) == 0
    capsys.readouterr()
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["class_names"] == ["a", "b", "c"]
    assert np.asarray(report["outputs"]).shape == (5, 3)
    assert report["n_permutations"] == 50

    assert explain("timm:resnet34", ckpt) == 2
    err = _one_line_error(capsys)
    assert str(ckpt) in err and "resnet34" in err and "first missing key" in err

    assert explain("timm:resnet18", "/etc/passwd") == 2
    err = _one_line_error(capsys)
    assert "cannot read the checkpoint /etc/passwd" in err and "list index" not in err

    not_state = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), not_state)
    assert explain("timm:resnet18", not_state) == 2
    assert f"{not_state} does not hold a state dict" in _one_line_error(capsys)

    assert explain("timm:resnt18", ckpt) == 2
    assert "did you mean resnet18" in _one_line_error(capsys)

    missing = tmp_path / "missing.pt"
    assert explain("timm:resnet18", missing) == 2
    assert f"checkpoint not found: {missing}" in _one_line_error(capsys)
