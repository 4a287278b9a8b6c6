"""Tests for propgrad.train: fit (cached, resumable, kept checkpoints), augmentations, and the
ConvMixer layout that the authors' checkpoints need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import requires_assets
from PIL import Image
from torch import nn

import propgrad.train as train_mod
from propgrad.models.classifier import Classifier, create_classifier
from propgrad.models.convmixer import ConvMixer, Residual
from propgrad.models.preprocess import Preprocess
from propgrad.train import (
    AUGMENTATIONS,
    TrainSettings,
    evaluate_accuracy,
    fit,
    make_augment,
)

SIZE = 16
FAST = {"lr": 1e-2, "batch_size": 32, "augment": "flip", "seed": 1}


@pytest.fixture(autouse=True)
def _one_thread():
    # on a shared CPU one torch thread is far faster than several waiting on each other
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    root = tmp_path / "cache"
    monkeypatch.setenv("PROPGRAD_CACHE", str(root))
    return root


def _easy_data(n=192, size=SIZE, seed=0):
    """Bright-top vs bright-bottom images: separable, and unchanged in kind by h-flips."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.integers(0, 60, size=(n, size, size, 3)).astype(np.uint8)
    half = size // 2
    x[y == 0, :half] += 150
    x[y == 1, half:] += 150
    return x, y


def _classifier(seed=0, **kwargs):
    return create_classifier(
        "convmixer",
        2,
        dim=8,
        depth=1,
        kernel_size=3,
        patch_size=4,
        image_size=SIZE,
        seed=seed,
        **kwargs,
    )


def _weights(classifier):
    return {k: v.detach().clone() for k, v in classifier.model.state_dict().items()}


def _assert_same(a, b, exact=True):
    assert list(a) == list(b)
    for key in a:
        if exact:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
        else:
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


def _differ(a, b):
    return any(not torch.equal(a[k], b[k]) for k in a if a[k].is_floating_point())


def _count_epochs(monkeypatch):
    calls = []
    original = train_mod._train_epoch

    def counting(*args, **kwargs):
        calls.append(args[6])  # the epoch index
        return original(*args, **kwargs)

    monkeypatch.setattr(train_mod, "_train_epoch", counting)
    return calls


# ---------------------------------------------------------------- settings


def test_train_settings_defaults_are_the_papers():
    settings = TrainSettings()
    assert settings.to_dict() == {
        "epochs": 50,
        "batch_size": 32,
        "lr": 1e-4,
        "weight_decay": 5e-4,
        "betas": [0.9, 0.999],
        "augment": "trivialaugment",
        "seed": 0,
    }
    assert TrainSettings(augment=None).augment == "none"
    assert TrainSettings(betas=[0.8, 0.9]).betas == (0.8, 0.9)
    assert AUGMENTATIONS == ("none", "flip", "flip-crop", "trivialaugment")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": -1}, r"need epochs >= 0 and batch_size >= 1, got -1 and 32"),
        ({"batch_size": 0}, r"need epochs >= 0 and batch_size >= 1, got 50 and 0"),
        ({"lr": 0.0}, r"need lr > 0 and weight_decay >= 0, got 0.0, 0.0005"),
        ({"weight_decay": -1e-3}, r"need lr > 0 and weight_decay >= 0, got 0.0001, -0.001"),
        ({"augment": "mixup"}, r"unknown augmentation 'mixup'; choose one of \('none', 'flip'"),
    ],
)
def test_train_settings_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainSettings(**kwargs)


def test_fit_rejects_unknown_settings_and_callable_without_key(cache):
    x, y = _easy_data(8)
    with pytest.raises(ValueError, match=r"unknown training settings: \['epoch', 'rate'\]"):
        fit(_classifier(), (x, y), epoch=3, rate=0.1, progress=False)
    with pytest.raises(ValueError, match="a callable `train` needs a data_key"):
        fit(_classifier(), lambda: (x, y), epochs=1, progress=False)
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'"):
        fit(_classifier(), (x, y), augment="mixup", progress=False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((np.full((4, SIZE, SIZE, 3), 2.0, np.float32), np.zeros(4, int)), "must lie in"),
        ((np.zeros((4, SIZE, SIZE, 3), np.int32), np.zeros(4, int)), "must be uint8"),
        ((np.zeros((4, SIZE, SIZE), np.uint8), np.zeros(4, int)), r"\[0, 1\], got uint8"),
        ((np.zeros((4, SIZE, SIZE, 3), np.uint8), np.zeros(3, int)), "4 images but 3 labels"),
        ((np.zeros((0, SIZE, SIZE, 3), np.uint8), np.zeros(0, int)), "training data: no images"),
        ((np.zeros((2, SIZE, SIZE, 3), np.uint8), np.array([0, -1])), "non-negative class"),
        ((np.zeros((2, SIZE, SIZE, 3), np.uint8), np.array([0.0, 1.0])), "class indices"),
    ],
)
def test_fit_rejects_malformed_data(cache, data, message):
    with pytest.raises(ValueError, match=message):
        fit(_classifier(), data, epochs=1, progress=False)


# ---------------------------------------------------------------- training


def test_training_beats_chance_on_easy_problem(cache):
    train, test = _easy_data(192), _easy_data(96, seed=1)
    clf = _classifier()
    before = clf.identity
    out = fit(
        clf, train, eval_sets={"test": test, "train": train}, epochs=3, progress=False, **FAST
    )
    assert out is clf and not clf.model.training
    record = clf.training
    assert [h["epoch"] for h in record.history] == [1, 2, 3]
    assert set(record.history[0]) == {"epoch", "loss", "train_acc", "seconds", "data_seconds"}
    assert 0 < record.history[0]["data_seconds"] < record.history[0]["seconds"]
    assert record.history[-1]["loss"] < record.history[0]["loss"]
    assert record.history[-1]["train_acc"] > 0.8
    assert list(record.accuracies) == ["test", "train"]
    assert record.accuracies["test"] >= 0.9
    assert evaluate_accuracy(clf, test) == record.accuracies["test"]
    assert not record.from_cache and record.checkpoints == {}
    assert clf.spec["trained"] == record.key and clf.identity != before
    assert record.config["train"]["epochs"] == 3 and record.config["train"]["lr"] == 1e-2
    assert record.folder == cache / "models" / record.key
    assert sorted(p.name for p in record.folder.iterdir()) == ["config.json", "final.pt"]
    assert torch.get_num_threads() == 1  # restored


def test_num_threads_is_restored(cache):
    x, y = _easy_data(16)
    fit(_classifier(), (x, y), epochs=1, num_threads=2, cache=False, progress=False, **FAST)
    assert torch.get_num_threads() == 1


def test_training_is_deterministic(cache):
    x, y = _easy_data(96)
    runs = []
    for seed in (5, 5, 6):
        clf = _classifier()
        fit(
            clf,
            (x, y),
            epochs=2,
            batch_size=16,
            seed=seed,
            lr=1e-2,
            augment="trivialaugment",
            cache=False,
            progress=False,
        )
        runs.append((_weights(clf), clf.training.history))
    _assert_same(runs[0][0], runs[1][0])
    assert [h["loss"] for h in runs[0][1]] == [h["loss"] for h in runs[1][1]]
    assert _differ(runs[0][0], runs[2][0])  # another shuffling/augmentation seed
    assert not (cache / "models").exists()  # cache=False writes nothing


def test_initial_weights_decide_the_result(cache):
    x, y = _easy_data(64)
    a, b = _classifier(seed=0), _classifier(seed=1)
    fit(a, (x, y), epochs=1, cache=False, progress=False, **FAST)
    fit(b, (x, y), epochs=1, cache=False, progress=False, **FAST)
    assert a.training.key != b.training.key
    assert _differ(_weights(a), _weights(b))


def test_cache_hit_loads_final_weights(cache, monkeypatch):
    x, y = _easy_data(96)
    epochs = _count_epochs(monkeypatch)
    first = fit(_classifier(), (x, y), eval_sets={"train": (x, y)}, epochs=2, progress=False)
    assert epochs == [0, 1]
    assert not (first.training.folder / "resume.pt").exists()

    second = fit(_classifier(), (x, y), eval_sets={"train": (x, y)}, epochs=2, progress=False)
    assert epochs == [0, 1]  # nothing trained
    assert second.training.from_cache and not first.training.from_cache
    assert second.training.key == first.training.key
    assert second.training.history == first.training.history
    assert second.training.accuracies == first.training.accuracies
    assert second.identity == first.identity
    assert not second.model.training
    _assert_same(_weights(second), _weights(first))

    # another setting, other data or another model trains again
    fit(_classifier(), (x, y), epochs=1, progress=False)
    assert epochs == [0, 1, 0]
    x2 = x.copy()
    x2[0, 0, 0, 0] ^= 1
    fit(_classifier(), (x2, y), epochs=1, progress=False)
    assert epochs == [0, 1, 0, 0]
    fit(_classifier(seed=3), (x, y), epochs=1, progress=False)
    assert epochs == [0, 1, 0, 0, 0]
    assert len(list((cache / "models").iterdir())) == 4


def test_callable_data_is_not_loaded_on_a_cache_hit(cache, monkeypatch):
    x, y = _easy_data(32)
    loads = []

    def data():
        loads.append("train")
        return x, y

    def eval_sets():
        loads.append("eval")
        return {"train": (x, y)}

    first = fit(
        _classifier(), data, data_key={"world": "easy", "n": 32}, eval_sets=eval_sets, epochs=1,
        progress=False,
    )  # fmt: skip
    assert loads == ["train", "eval"]
    second = fit(
        _classifier(), data, data_key={"n": 32, "world": "easy"}, eval_sets=eval_sets, epochs=1,
        progress=False,
    )  # fmt: skip
    # the training data are not loaded again; the evaluation sets are (to check their digest)
    assert loads == ["train", "eval", "eval"]
    assert second.training.from_cache
    assert second.training.accuracies == first.training.accuracies
    assert first.training.config["data"] == {"world": "easy", "n": 32}


def test_cache_hit_evaluates_new_or_changed_evaluation_sets(cache):
    x, y = _easy_data(32)
    key = {"world": "easy", "n": 32}
    first = fit(_classifier(), (x, y), data_key=key, eval_sets={"a": (x, y)}, epochs=1,
                progress=False)  # fmt: skip
    flipped = (x, 1 - y)  # same images, opposite labels: the accuracy must become 1 - acc
    second = fit(_classifier(), (x, y), data_key=key, eval_sets={"a": flipped, "b": (x, y)},
                 epochs=1, progress=False)  # fmt: skip
    assert second.training.from_cache
    assert second.training.accuracies["a"] == pytest.approx(1 - first.training.accuracies["a"])
    assert second.training.accuracies["b"] == pytest.approx(first.training.accuracies["a"])


def test_resume_after_a_kill(cache, tmp_path, monkeypatch):
    x, y = _easy_data(96)
    settings = {"epochs": 4, "progress": False, **FAST}
    reference = fit(_classifier(), (x, y), cache_root=tmp_path / "reference", **settings)

    original = train_mod._train_epoch
    calls = []

    def killed_at_epoch_2(*args, **kwargs):
        epoch = args[6]  # (model, optimizer, images, pre, augment, settings, epoch, head)
        calls.append(epoch)
        if epoch == 2 and calls.count(2) == 1:
            raise KeyboardInterrupt("simulated kill")
        return original(*args, **kwargs)

    monkeypatch.setattr(train_mod, "_train_epoch", killed_at_epoch_2)
    with pytest.raises(KeyboardInterrupt, match="simulated kill"):
        fit(_classifier(), (x, y), **settings)
    assert calls == [0, 1, 2]
    folder = cache / "models" / reference.training.key  # the same configuration, the same key
    assert not (folder / "final.pt").exists()
    state = torch.load(folder / "resume.pt", weights_only=True)
    assert state["epoch"] == 2 and [h["epoch"] for h in state["history"]] == [1, 2]

    resumed = fit(_classifier(), (x, y), **settings)
    assert calls == [0, 1, 2, 2, 3]  # picked up at epoch 2
    record = resumed.training
    assert [h["epoch"] for h in record.history] == [1, 2, 3, 4]
    assert record.history[:2] == state["history"]
    assert [h["loss"] for h in record.history] == pytest.approx(
        [h["loss"] for h in reference.training.history], rel=1e-6
    )
    assert not (folder / "resume.pt").exists() and (folder / "final.pt").exists()
    _assert_same(_weights(resumed), _weights(reference))


def test_keep_checkpoints(cache, monkeypatch):
    x, y = _easy_data(64)
    initial = _weights(_classifier())
    clf = fit(_classifier(), (x, y), epochs=3, keep_checkpoints=True, progress=False, **FAST)
    record = clf.training
    assert sorted(record.checkpoints) == [0, 1, 2, 3]
    assert [p.name for p in record.checkpoints.values()] == [
        "epoch_0000.pt",
        "epoch_0001.pt",
        "epoch_0002.pt",
        "epoch_0003.pt",
    ]
    assert all(p.parent == record.folder for p in record.checkpoints.values())
    at = {epoch: record.classifier_at(epoch) for epoch in range(4)}
    _assert_same(_weights(at[0]), initial)
    _assert_same(_weights(at[3]), _weights(clf))
    assert _differ(_weights(at[1]), _weights(at[2]))
    identities = {c.identity for c in at.values()} | {clf.identity}
    assert len(identities) == 5
    assert at[2].spec["epoch"] == 2 and at[2].spec["trained"] == record.key
    assert at[2].preprocess == clf.preprocess and not at[2].model.training
    assert at[1].model is not clf.model
    with pytest.raises(ValueError, match=r"no checkpoint kept for epoch 4 \(kept: 0\.\.3\)"):
        record.classifier_at(4)

    # a cache hit finds the kept checkpoints too
    epochs = _count_epochs(monkeypatch)
    again = fit(_classifier(), (x, y), epochs=3, keep_checkpoints=True, progress=False, **FAST)
    assert epochs == [] and again.training.from_cache
    assert sorted(again.training.checkpoints) == [0, 1, 2, 3]
    _assert_same(_weights(again.training.classifier_at(0)), initial)
    assert again.training.classifier_at(2).identity == at[2].identity


def test_without_kept_checkpoints(cache):
    x, y = _easy_data(32)
    clf = fit(_classifier(), (x, y), epochs=1, progress=False, **FAST)
    assert clf.training.checkpoints == {}
    with pytest.raises(ValueError, match="no checkpoint kept for epoch 0; train with keep_"):
        clf.training.classifier_at(0)
    assert not list(clf.training.folder.glob("epoch_*.pt"))


def test_zero_epochs_evaluates_the_initial_model(cache):
    x, y = _easy_data(32)
    initial = _weights(_classifier())
    clf = fit(_classifier(), (x, y), eval_sets={"train": (x, y)}, epochs=0, progress=False)
    assert clf.training.history == []
    _assert_same(_weights(clf), initial)
    assert clf.training.accuracies["train"] == evaluate_accuracy(_classifier(), (x, y))


# ---------------------------------------------------------------- image datasets


@dataclass
class _Record:
    path: Path
    label: int


def _write_pngs(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"img_{i:03d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def test_image_files_train_like_arrays(cache, tmp_path):
    x, y = _easy_data(64)
    xt, yt = _easy_data(32, seed=2)
    pairs = list(zip(_write_pngs(tmp_path / "train", x), y.tolist()))
    test_pairs = list(zip(_write_pngs(tmp_path / "test", xt), yt.tolist()))
    settings = {"epochs": 2, "progress": False, **FAST}
    from_arrays = fit(_classifier(), (x, y), eval_sets={"test": (xt, yt)}, **settings)
    from_files = fit(_classifier(), pairs, eval_sets={"test": test_pairs}, **settings)
    assert from_files.training.key != from_arrays.training.key  # data identified differently
    # equal up to float32 rounding (array batches are channels-last in memory)
    _assert_same(_weights(from_files), _weights(from_arrays), exact=False)
    assert from_files.training.accuracies == from_arrays.training.accuracies
    assert evaluate_accuracy(from_files, test_pairs) == evaluate_accuracy(from_files, (xt, yt))
    # records with path and label attributes (as the dataset readers return) work too
    records = [_Record(p, label) for p, label in test_pairs]
    assert evaluate_accuracy(from_files, records) == from_files.training.accuracies["test"]
    # and are cached by path
    again = fit(_classifier(), pairs, eval_sets={"test": test_pairs}, **settings)
    assert again.training.from_cache


def test_image_files_are_resized_to_the_model_input(tmp_path):
    x, y = _easy_data(8, size=32)
    pairs = list(zip(_write_pngs(tmp_path / "big", x), y.tolist()))
    clf = _classifier()
    small = np.stack(
        [np.asarray(Image.fromarray(i).resize((SIZE, SIZE), Image.BILINEAR)) for i in x]
    )
    assert evaluate_accuracy(clf, pairs) == evaluate_accuracy(clf, (small, y))


def test_unreadable_training_image(cache, tmp_path):
    x, y = _easy_data(4)
    paths = _write_pngs(tmp_path / "imgs", x)
    paths[2].write_text("not a png")
    with pytest.raises(ValueError, match=r"cannot read training image .*img_002\.png"):
        fit(_classifier(), list(zip(paths, y.tolist())), epochs=1, progress=False, **FAST)
    with pytest.raises(ValueError, match=r"cannot read training image .*missing\.png"):
        evaluate_accuracy(_classifier(), [(tmp_path / "missing.png", 0)])


def _write_jpegs(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"img_{i:03d}.jpg"
        Image.fromarray(image).save(path, quality=90)
        paths.append(path)
    return paths


def test_decoded_images_are_the_per_batch_images(cache, tmp_path):
    from propgrad.imagecache import decoded_images

    x, y = _easy_data(12, size=24)
    paths = _write_jpegs(tmp_path / "jpg", x[:6]) + _write_pngs(tmp_path / "png", x[6:])
    for interpolation in ("bilinear", "bicubic"):
        plain = train_mod._Images(list(zip(paths, y.tolist())), (SIZE, SIZE), interpolation, "t")
        cached = train_mod._Images(list(zip(paths, y.tolist())), (SIZE, SIZE), interpolation, "t")
        cached.decode(progress=False)
        assert isinstance(cached.decoded, np.memmap)
        index = np.array([3, 0, 11, 7, 7])
        a, b = plain.batch(index), cached.batch(index)
        assert a.dtype == b.dtype == torch.uint8 and b.is_contiguous()
        assert torch.equal(a, b)
        assert cached.digest() == plain.digest()  # the training key is unchanged
    files = sorted((cache / "images").glob("*.npy"))
    assert len(files) == 2  # one per interpolation
    # a second call reads the stored array (no decoding)
    again = decoded_images(paths, (SIZE, SIZE), "bicubic", progress=False)
    assert sorted((cache / "images").glob("*.npy")) == files
    assert np.array_equal(again, cached.decoded)


def test_decoded_cache_trains_the_same_weights(cache, tmp_path, monkeypatch):
    x, y = _easy_data(20)
    pairs = list(zip(_write_jpegs(tmp_path / "train", x), y.tolist()))
    settings = {"epochs": 1, "progress": False, **{**FAST, "batch_size": 8}}
    plain = fit(_classifier(), pairs, image_cache=False, cache=False, **settings)
    assert not (cache / "images").exists()
    decoded = fit(_classifier(), pairs, **settings)
    assert len(list((cache / "images").glob("*.npy"))) == 1
    _assert_same(_weights(decoded), _weights(plain))
    # the training key is that of the per-batch reading (its data part: the paths' digest)
    images = train_mod._Images(pairs, (SIZE, SIZE), "bilinear", "t")
    assert decoded.training.config["data"] == images.digest()

    # a new run on the same files reads no image file again
    def no_reading(self, i):
        raise AssertionError("an image file was decoded again")

    monkeypatch.setattr(train_mod._Images, "_read", no_reading)
    again = fit(_classifier(), pairs, keep_checkpoints=True, **settings)
    _assert_same(_weights(again), _weights(plain))


def test_changed_image_file_invalidates_the_decoded_cache(cache, tmp_path):
    import os

    from propgrad.imagecache import decoded_images, decoded_key

    x, _ = _easy_data(4)
    paths = _write_pngs(tmp_path / "imgs", x)
    first = np.array(decoded_images(paths, (SIZE, SIZE), "bilinear", progress=False))
    key = decoded_key(paths, (SIZE, SIZE), "bilinear")
    assert decoded_key(paths, (SIZE, SIZE), "bicubic") != key
    assert decoded_key(paths, (SIZE + 1, SIZE), "bilinear") != key
    # new pixels and a new modification time
    Image.fromarray(255 - x[1]).save(paths[1])
    stat = paths[1].stat()
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert decoded_key(paths, (SIZE, SIZE), "bilinear") != key
    second = np.asarray(decoded_images(paths, (SIZE, SIZE), "bilinear", progress=False))
    assert second.shape == (4, 3, SIZE, SIZE)  # channels first, as model batches are
    assert np.array_equal(second[1], (255 - x[1]).transpose(2, 0, 1))
    assert np.array_equal(second[0], first[0])
    # a file of another size with the same modification time too
    before, mtime = decoded_key(paths, (SIZE, SIZE), "bilinear"), paths[2].stat().st_mtime_ns
    with open(paths[2], "ab") as handle:
        handle.write(b"\0")
    os.utime(paths[2], ns=(mtime, mtime))
    assert decoded_key(paths, (SIZE, SIZE), "bilinear") != before
    paths[3].unlink()
    with pytest.raises(ValueError, match=r"cannot read training image .*img_003\.png"):
        decoded_images(paths, (SIZE, SIZE), "bilinear", progress=False)


# ---------------------------------------------------------------- evaluate_accuracy


class _RedVsBlue(nn.Module):
    """Predicts class 1 when the image is more blue than red."""

    def forward(self, x):
        red, blue = x[:, 0].mean(dim=(1, 2)), x[:, 2].mean(dim=(1, 2))
        return torch.stack([red, blue], dim=1)


def test_evaluate_accuracy_counts_argmax_matches():
    images = np.zeros((8, 4, 4, 3), dtype=np.uint8)
    images[:5, ..., 0] = 200  # red: class 0
    images[5:, ..., 2] = 200  # blue: class 1
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 0])  # 3 and 4 wrong (red, labelled 1); 7 wrong
    clf = Classifier(_RedVsBlue(), Preprocess.named(4, "unit"))
    assert evaluate_accuracy(clf, (images, labels)) == pytest.approx(5 / 8)
    assert evaluate_accuracy(clf, (images, labels), batch_size=3) == pytest.approx(5 / 8)
    assert evaluate_accuracy(clf, (images, 1 - labels)) == pytest.approx(3 / 8)
    with pytest.raises(ValueError, match="evaluation data: 8 images but 7 labels"):
        evaluate_accuracy(clf, (images, labels[:7]))


# ---------------------------------------------------------------- augmentations


def _uint8_batch(b=6, seed=0):
    return torch.from_numpy(
        np.random.default_rng(seed).integers(0, 256, (b, 3, SIZE, SIZE), dtype=np.uint8)
    )


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_augment_shapes_and_dtypes(name):
    x = _uint8_batch()
    out = make_augment(name)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    # floats in [0, 1] are accepted as well
    out = make_augment(name)(x.float() / 255, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.float32


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_augment_is_deterministic_given_the_generator(name):
    x = _uint8_batch(8, seed=1)
    a = make_augment(name)(x, torch.Generator().manual_seed(3))
    b = make_augment(name)(x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    if name != "none":
        c = make_augment(name)(x, torch.Generator().manual_seed(4))
        assert not torch.equal(a, c)


def test_augment_none_only_scales():
    x = _uint8_batch()
    torch.testing.assert_close(make_augment(None)(x, None), x.float() / 255, rtol=0, atol=0)
    torch.testing.assert_close(make_augment("none")(x, None), x.float() / 255, rtol=0, atol=0)


def test_flip_flips_whole_images_horizontally():
    x = _uint8_batch(32, seed=2)
    out = make_augment("flip")(x, torch.Generator().manual_seed(0))
    scaled = x.float() / 255
    flipped = [bool(torch.equal(out[i], scaled[i].flip(-1))) for i in range(32)]
    kept = [bool(torch.equal(out[i], scaled[i])) for i in range(32)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True))
    assert 4 < sum(flipped) < 28
    mask = torch.rand(32, generator=torch.Generator().manual_seed(0)) < 0.5
    assert flipped == mask.tolist()


def test_flip_crop_shifts_by_at_most_one_sixteenth():
    x = torch.zeros(16, 3, SIZE, SIZE, dtype=torch.uint8)
    x[:, :, SIZE // 2, SIZE // 2] = 255  # one bright pixel in the middle
    out = make_augment("flip-crop")(x, torch.Generator().manual_seed(0))
    shifts = set()
    for i in range(16):
        rows, cols = torch.nonzero(out[i, 0] == 1.0, as_tuple=True)
        assert len(rows) == 1
        shifts.add((int(rows[0]) - SIZE // 2, int(cols[0]) - SIZE // 2))
    pad = SIZE // 16
    assert all(abs(dy) <= pad and abs(dx) <= pad + 1 for dy, dx in shifts)  # +1: the flip
    assert len(shifts) > 1


def test_trivialaugment_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    out = make_augment("trivialaugment")(_uint8_batch(4), torch.Generator().manual_seed(1))
    torch.testing.assert_close(torch.rand(3), expected)
    assert out.shape == (4, 3, SIZE, SIZE)
    assert not torch.equal(out, _uint8_batch(4).float() / 255)


def test_unknown_augmentation():
    with pytest.raises(ValueError, match=r"unknown augmentation 'mixup'; choose one of"):
        make_augment("mixup")


# ---------------------------------------------------------------- ConvMixer layout


PARAS = {"dim": 256, "depth": 8, "kernel_size": 7, "patch_size": 5, "n_classes": 2}


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


def test_convmixer_through_the_factory_has_the_same_layout():
    clf = create_classifier(
        "convmixer", 2, dim=16, depth=2, kernel_size=7, patch_size=5, image_size=128
    )
    keys = {k: tuple(v.shape) for k, v in clf.model.state_dict().items()}
    assert keys == _reference_state_dict_keys(16, 2, 7, 5, 2)


@requires_assets
def test_convmixer_loads_authors_checkpoint_strictly():
    from propgrad.authors import cvd_checkpoint_path, load_cvd_convmixer

    path = cvd_checkpoint_path("unbiased", download=False)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = ConvMixer(**ckpt["paras"])
    model.load_state_dict(ckpt["state_dict"], strict=True)
    assert set(ckpt["state_dict"]) == set(model.state_dict())
    clf = load_cvd_convmixer("unbiased")
    assert isinstance(clf, Classifier) and isinstance(clf.model, ConvMixer)
    for key, value in ckpt["state_dict"].items():
        torch.testing.assert_close(clf.model.state_dict()[key], value, rtol=0, atol=0, msg=key)
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 128, 128))
        torch.testing.assert_close(clf(torch.zeros(1, 3, 128, 128)), out)
    assert out.shape == (1, 2) and torch.isfinite(out).all()


def test_train_only_head_leaves_the_backbone_alone(cache):
    x, y = _easy_data(64)
    clf = _classifier()
    before = {k: v.clone() for k, v in clf.model.state_dict().items()}
    fit(clf, (x, y), train_only="head", epochs=2, progress=False, **FAST)
    head = train_mod._head(clf.model)
    head_keys = {f"{n}" for n, _ in head.named_parameters()}
    changed = [k for k, v in clf.model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed and all(any(k.endswith(h) for h in head_keys) for k in changed)
    assert clf.training.config["train_only"] == "head"
    with pytest.raises(ValueError, match="train_only"):
        fit(_classifier(), (x, y), train_only="all", epochs=1, progress=False)


def test_float_images_in_unit_range_train_as_their_uint8(cache):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(6, SIZE, SIZE, 3), dtype=np.uint8)
    y = np.array([0, 1] * 3)
    as_uint8 = fit(_classifier(), (x, y), epochs=1, progress=False)
    as_float = fit(_classifier(), (x / 255.0, y), epochs=1, progress=False)
    # the same data: the same run (the second call finds the first in the cache)
    assert as_float.training.key == as_uint8.training.key
    assert as_float.training.from_cache


def test_eval_key_reuses_stored_accuracies_without_loading_the_data(cache):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(6, SIZE, SIZE, 3), dtype=np.uint8)
    y = np.array([0, 1] * 3)
    loaded = []

    def evals():
        loaded.append(1)
        return {"test": (x, y)}

    key = {"set": "tiny"}
    first = fit(_classifier(), (x, y), eval_sets=evals, eval_key=key, epochs=1, progress=False)
    assert loaded == [1]
    again = fit(_classifier(), (x, y), eval_sets=evals, eval_key=key, epochs=1, progress=False)
    assert loaded == [1] and again.training.from_cache  # not loaded again
    assert again.training.accuracies == first.training.accuracies
    other = fit(_classifier(), (x, y), eval_sets=evals, eval_key={"set": "other"}, epochs=1,
                progress=False)  # fmt: skip
    assert loaded == [1, 1] and other.training.accuracies == first.training.accuracies
