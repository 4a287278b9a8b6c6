import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import propgrad.train as train_mod
from propgrad.models.convmixer import ConvMixer, Residual
from propgrad.train import (
    config_key,
    evaluate_accuracy,
    make_augment,
    predict_proba,
    to_model_input,
    train_classifier,
    train_or_load,
)


@pytest.fixture(autouse=True)
def _one_thread():
    # on a shared CPU one torch thread is far faster than several waiting on each other
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


PARAS = {"dim": 256, "depth": 8, "kernel_size": 7, "patch_size": 5, "n_classes": 2}


def _easy_data(n=96, size=16, seed=0):
    """Bright-left vs bright-right images: trivially separable."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.integers(0, 60, size=(n, size, size, 3)).astype(np.uint8)
    half = size // 2
    x[y == 0, :, :half] += 150
    x[y == 1, :, half:] += 150
    return x, y


def _tiny_model(cfg=None):
    return ConvMixer(dim=8, depth=1, kernel_size=3, patch_size=4, n_classes=2)


def _config(epochs=3):
    return {
        "name": "easy",
        "model": {"dim": 8},
        "train": {"epochs": epochs, "batch_size": 32, "lr": 1e-2, "weight_decay": 5e-4, "seed": 1},
    }


def test_to_model_input_range_and_layout():
    x = np.zeros((2, 5, 7, 3), np.uint8)
    x[0] = 255
    t = to_model_input(x)
    assert t.shape == (2, 3, 5, 7) and t.dtype == torch.float32
    assert t[0].min() == 1.0 and t[1].max() == -1.0
    assert to_model_input(x[0]).shape == (1, 3, 5, 7)
    with pytest.raises(ValueError, match="shape"):
        to_model_input(np.zeros((4, 4)))


def test_training_beats_chance_on_easy_problem():
    x, y = _easy_data(128)
    xt, yt = _easy_data(64, seed=1)
    torch.manual_seed(0)
    model = _tiny_model()
    history = train_classifier(model, x, y, epochs=4, batch_size=32, lr=1e-2, progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["loss"] < history[0]["loss"]
    assert evaluate_accuracy(model, xt, yt) >= 0.9
    proba = predict_proba(model, xt)
    assert proba.shape == (64, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert torch.get_num_threads() == 1  # restored by the trainer


def test_training_is_deterministic_and_threads_restored():
    x, y = _easy_data(64)
    weights = []
    for _ in range(2):
        torch.manual_seed(3)
        model = _tiny_model()
        train_classifier(
            model,
            x,
            y,
            epochs=2,
            batch_size=16,
            seed=5,
            augment="flip-crop",
            progress=False,
            num_threads=1,
        )
        weights.append(model.state_dict())
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key])


def test_augmentations_keep_shape():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    for name in ("none", "flip", "flip-crop", "trivialaugment"):
        out = make_augment(name)(x, gen)
        assert out.shape == x.shape
        assert out.min() >= -1.0 and out.max() <= 1.0
    with pytest.raises(ValueError, match="unknown augmentation"):
        make_augment("mixup")


def test_config_key_is_order_independent():
    a = {"b": 1, "a": {"y": 2, "x": [1, 2]}}
    b = {"a": {"x": [1, 2], "y": 2}, "b": 1}
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key({**a, "b": 2})


def test_cache_second_call_does_not_train(tmp_path, monkeypatch):
    x, y = _easy_data()
    calls = {"data": 0, "train": 0}

    def data_fn(cfg):
        calls["data"] += 1
        return {"train": (x, y), "eval": {"train": (x, y)}}

    original = train_mod.train_classifier

    def counting(*args, **kwargs):
        calls["train"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_classifier", counting)
    first = train_or_load(_config(), _tiny_model, data_fn, tmp_path, progress=False)
    assert calls == {"data": 1, "train": 1}
    rec = first.training_record
    assert not rec["from_cache"] and len(rec["history"]) == 3
    assert set(rec["accuracies"]) == {"train"}
    path = Path(rec["path"])
    assert path.name == f"{config_key(_config())}.pt" and path.exists()
    assert not list(tmp_path.glob("*.partial.pt")) and not list(tmp_path.glob("*.tmp"))
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"state_dict", "config", "history", "accuracies"}

    second = train_or_load(_config(), _tiny_model, data_fn, tmp_path, progress=False)
    assert calls == {"data": 1, "train": 1}  # neither data nor training touched
    assert second.training_record["from_cache"]
    assert second.training_record["accuracies"] == rec["accuracies"]
    for key, value in first.state_dict().items():
        torch.testing.assert_close(second.state_dict()[key], value)

    # a different configuration trains again
    train_or_load(_config(epochs=1), _tiny_model, data_fn, tmp_path, progress=False)
    assert calls == {"data": 2, "train": 2}


def test_interrupted_training_resumes_from_last_epoch(tmp_path, monkeypatch):
    x, y = _easy_data()

    def data_fn(cfg):
        return x, y

    reference = train_or_load(_config(4), _tiny_model, data_fn, tmp_path / "ref", progress=False)

    original_save = train_mod._save_checkpoint

    def save_then_crash(payload, path):
        original_save(payload, path)
        if payload.get("epoch") == 2:
            raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(train_mod, "_save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train_or_load(_config(4), _tiny_model, data_fn, tmp_path / "run", progress=False)
    partial = list((tmp_path / "run").glob("*.partial.pt"))
    assert len(partial) == 1
    assert torch.load(partial[0], weights_only=True)["epoch"] == 2
    monkeypatch.setattr(train_mod, "_save_checkpoint", original_save)

    starts = []
    original_train = train_mod.train_classifier

    def spy(*args, **kwargs):
        starts.append(kwargs["start_epoch"])
        return original_train(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_classifier", spy)
    resumed = train_or_load(_config(4), _tiny_model, data_fn, tmp_path / "run", progress=False)
    assert starts == [2]
    assert [h["epoch"] for h in resumed.training_record["history"]] == [1, 2, 3, 4]
    assert not list((tmp_path / "run").glob("*.partial.pt"))
    # per-epoch seeding makes the resumed run match the uninterrupted one
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_default_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    assert train_mod.default_cache_dir() == tmp_path / "models"


def _reference_state_dict_keys(dim, depth, kernel_size, patch_size, n_classes, in_channels=3):
    """Keys of a plain ConvMixer written as one nn.Sequential."""
    reference = nn.Sequential(
        nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size),
        nn.GELU(),
        nn.BatchNorm2d(dim),
        *[
            nn.Sequential(
                Residual(
                    nn.Sequential(
                        nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                        nn.GELU(),
                        nn.BatchNorm2d(dim),
                    )
                ),
                nn.Conv2d(dim, dim, kernel_size=1),
                nn.GELU(),
                nn.BatchNorm2d(dim),
            )
            for _ in range(depth)
        ],
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(dim, n_classes),
    )
    return {k: tuple(v.shape) for k, v in reference.state_dict().items()}


def test_convmixer_key_layout():
    model = ConvMixer(**PARAS)
    keys = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert keys == _reference_state_dict_keys(**PARAS)
    assert "3.0.fn.0.weight" in keys and keys["3.0.fn.0.weight"] == (256, 1, 7, 7)
    assert keys["13.weight"] == (2, 256)
    assert isinstance(model, nn.Sequential)
    out = ConvMixer(dim=8, depth=2, kernel_size=3, patch_size=5, n_classes=3)(
        torch.zeros(2, 3, 20, 20)
    )
    assert out.shape == (2, 3)
    with pytest.raises(ValueError, match="depth"):
        ConvMixer(dim=8, depth=0, kernel_size=3, patch_size=4, n_classes=2)


def _assets_dir():
    root = os.environ.get("PROPGRAD_ASSETS")
    candidates = [Path(root)] if root else []
    candidates.append(Path("/work/shared/assets"))
    for base in candidates:
        path = base / "authors-cvd" / "checkpoints" / "convmixer_unbiased.pth"
        if path.exists():
            return path
    return None


@pytest.mark.skipif(_assets_dir() is None, reason="authors' checkpoint not available")
def test_convmixer_loads_authors_checkpoint_strictly():
    ckpt = torch.load(_assets_dir(), map_location="cpu", weights_only=True)
    model = ConvMixer(**ckpt["paras"])
    model.load_state_dict(ckpt["state_dict"], strict=True)
    assert set(ckpt["state_dict"]) == set(model.state_dict())
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 128, 128))
    assert out.shape == (1, 2) and torch.isfinite(out).all()
