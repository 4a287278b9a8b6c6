"""The authors' Cats-vs-Dogs ConvMixers: loading, preprocessing, and their real sweep."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from PIL import Image  # noqa: E402

from propgrad.models.authors import (  # noqa: E402
    CVD_AUTHORS_REPORTED,
    CVD_CLASSES,
    CVD_MODEL_NAMES,
    cvd_preprocess,
    load_convmixer_checkpoint,
    load_cvd_convmixer,
)

TINY = {"dim": 8, "depth": 1, "kernel_size": 3, "patch_size": 4, "n_classes": 2, "in_channels": 3}


def _assets_root() -> Path | None:
    root = os.environ.get("PROPGRAD_ASSETS")
    if root and (Path(root) / "authors-cvd" / "checkpoints").is_dir():
        return Path(root)
    return None


requires_assets = pytest.mark.skipif(
    _assets_root() is None,
    reason="the authors' Cats-vs-Dogs files are not available: set PROPGRAD_ASSETS to a folder "
    "laid out like shared/assets (authors-cvd/checkpoints, images, ip2p-dog_002)",
)


def _tiny_checkpoint(tmp_path, **overrides):
    from propgrad.models.convmixer import ConvMixer

    torch.manual_seed(0)
    model = ConvMixer(**TINY).eval()
    ckpt = {"paras": dict(TINY), "state_dict": model.state_dict(), "performance": {}}
    ckpt.update(overrides)
    path = tmp_path / "tiny.pth"
    torch.save(ckpt, path)
    return path, model


# ---------------------------------------------------------------- loading


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unbiased, dark-cats-bias, dark-dogs-bias"):
        load_cvd_convmixer("dark-cats")


def test_name_or_path_exactly_one(tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        load_cvd_convmixer()
    with pytest.raises(ValueError, match="exactly one"):
        load_cvd_convmixer("unbiased", path=tmp_path / "x.pth")


def test_tiny_checkpoint_round_trip(tmp_path):
    path, reference = _tiny_checkpoint(tmp_path)
    model = load_cvd_convmixer(path=path)
    assert not model.training
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))
    assert load_convmixer_checkpoint(path)(x).shape == (2, 2)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_cvd_convmixer(path=tmp_path / "nope.pth")


def test_foreign_dict_checkpoint(tmp_path):
    path = tmp_path / "foreign.pth"
    torch.save({"model": {"w": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match=r"foreign\.pth.*'paras' and 'state_dict'.*model"):
        load_cvd_convmixer(path=path)


def test_bare_tensor_checkpoint(tmp_path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match=r"tensor\.pth.*found Tensor"):
        load_cvd_convmixer(path=path)


def test_mismatched_weights(tmp_path):
    path, model = _tiny_checkpoint(tmp_path)
    state = dict(model.state_dict())
    state.pop("0.weight")
    state["extra.weight"] = torch.zeros(1)
    state["0.bias"] = torch.zeros(5)
    torch.save({"paras": dict(TINY), "state_dict": state}, path)
    with pytest.raises(ValueError) as info:
        load_cvd_convmixer(path=path)
    message = str(info.value)
    assert "tiny.pth" in message
    assert "missing keys" in message and "0.weight" in message
    assert "unexpected keys" in message and "extra.weight" in message
    assert "shape mismatches" in message and "0.bias" in message


def test_bad_paras(tmp_path):
    path, model = _tiny_checkpoint(tmp_path, paras={"width": 3})
    with pytest.raises(ValueError, match=r"tiny\.pth.*do not describe a ConvMixer"):
        load_cvd_convmixer(path=path)


def test_truncated_checkpoint(tmp_path):
    path, _ = _tiny_checkpoint(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"could not read the checkpoint .*tiny\.pth.*truncated"):
        load_cvd_convmixer(path=path)


# ---------------------------------------------------------------- preprocessing


def test_preprocess_matches_torchvision_pipeline():
    transforms = pytest.importorskip("torchvision.transforms")
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (97, 131, 3), dtype=np.uint8))
    reference = transforms.Compose(
        [
            transforms.Resize((128, 128)),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )(image)
    ours = cvd_preprocess(image)
    assert ours.shape == (3, 128, 128) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=0)
    assert float(ours.min()) >= -1.0 and float(ours.max()) <= 1.0


def test_preprocess_accepts_arrays_and_other_modes():
    array = np.full((40, 50, 3), 255, dtype=np.uint8)
    assert torch.allclose(cvd_preprocess(array), torch.ones(3, 128, 128))
    grey = Image.new("L", (30, 20), 0)
    assert torch.allclose(cvd_preprocess(grey), -torch.ones(3, 128, 128))
    with pytest.raises(ValueError, match="uint8"):
        cvd_preprocess(np.zeros((4, 4), dtype=np.uint8))


def test_constants():
    assert CVD_CLASSES == ("cat", "dog")
    assert set(CVD_AUTHORS_REPORTED) == set(CVD_MODEL_NAMES)


# ---------------------------------------------------------------- the real sweep


def _measure(probabilities: np.ndarray) -> tuple[float, float, int]:
    """E[|grad X|] (unit steps), shuffle-test p-value (1000 permutations), flip count."""
    from propgrad.measure import expected_property_gradient, prediction_flips
    from propgrad.stats import shuffle_test

    observed = float(expected_property_gradient(probabilities))
    flips = prediction_flips(probabilities)
    result = shuffle_test(probabilities, n_permutations=1000, seed=0)
    return observed, float(result.p_value), flips


@pytest.fixture(scope="module")
def real_sweep_results():
    from propgrad.interventions.video import load_authors_dog_sweep
    from propgrad.predict import predict

    sweep = load_authors_dog_sweep()
    results = {}
    for name in CVD_MODEL_NAMES:
        model = load_cvd_convmixer(name)
        probabilities = predict(model, sweep, cvd_preprocess, softmax=True, device="cpu")[:, 0]
        results[name] = (probabilities, *_measure(probabilities))
    return results


@requires_assets
def test_real_sweep_reproduces_authors_findings(real_sweep_results):
    values = {name: r[1] for name, r in real_sweep_results.items()}
    print({name: round(v, 6) for name, v in values.items()})
    # ordering: the model that learned "dark fur = cat" reacts most to whitening the fur
    assert values["dark-cats-bias"] > values["unbiased"] > values["dark-dogs-bias"]
    reported = CVD_AUTHORS_REPORTED["dark-cats-bias"]["expected_gradient"]
    assert values["dark-cats-bias"] == pytest.approx(reported, rel=0.15)
    for name, (probabilities, _, p_value, flips) in real_sweep_results.items():
        assert len(probabilities) == 101
        assert p_value < 0.01, name
        assert (flips > 0) == CVD_AUTHORS_REPORTED[name]["flips"], name


@requires_assets
def test_real_sweep_starting_predictions(real_sweep_results):
    # the dark dog is (wrongly) a cat for the dark-cats-bias model only, and every model
    # ends on "dog" once the fur is white
    start = {name: r[0][0] for name, r in real_sweep_results.items()}
    assert start["dark-cats-bias"] > 0.5
    assert start["unbiased"] < 0.5 and start["dark-dogs-bias"] < 0.5
    assert all(r[0][-1] < 0.5 for r in real_sweep_results.values())
