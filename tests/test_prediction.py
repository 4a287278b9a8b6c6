"""Tests for propgrad.prediction: the one prediction path, and cached many-sweep predictions."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from PIL import Image  # noqa: E402

from propgrad.models.classifier import Classifier, create_classifier  # noqa: E402
from propgrad.models.preprocess import Preprocess  # noqa: E402
from propgrad.prediction import (  # noqa: E402
    cache_stats,
    predict,
    predict_sweeps,
    sweep_digests,
    sweeps_digest,
)
from propgrad.sweep import Sweep  # noqa: E402

SIZE = 8
WEIGHTS = [[2.0, -1.0, 0.5], [-1.5, 1.0, 1.0], [0.3, 0.3, -2.0]]
BIAS = [0.1, -0.2, 0.0]


class MeanColour(nn.Module):
    """Logits = a linear map of the mean colour of the image (exact, batch-independent)."""

    def __init__(self, n_classes: int = 3) -> None:
        super().__init__()
        self.linear = nn.Linear(3, n_classes)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor(WEIGHTS[:n_classes]))
            self.linear.bias.copy_(torch.tensor(BIAS[:n_classes]))

    def forward(self, x):
        return self.linear(x.mean(dim=(2, 3)))


class Counting(nn.Module):
    """Wraps a model and counts forward calls and images."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0
        self.images = 0

    def forward(self, x):
        self.calls += 1
        self.images += len(x)
        return self.inner(x)


class Scalar(nn.Module):
    def forward(self, x):
        return x.mean(dim=(1, 2, 3))


def _images(n=5, size=SIZE, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _expected_logits(images, pre):
    """Reference outputs computed by hand in float64."""
    x = (images.astype(np.float64) / 255.0 - np.array(pre.mean)) / np.array(pre.std)
    return x.mean(axis=(1, 2)) @ np.array(WEIGHTS).T + np.array(BIAS)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


PRE = Preprocess.named(SIZE, "imagenet")


# ---------------------------------------------------------------- predict


def test_outputs_shape_dtype_and_values():
    images = _images(5)
    out = predict(MeanColour(), images, PRE, progress=False)
    assert out.shape == (5, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out, _expected_logits(images, PRE), rtol=1e-5, atol=1e-5)


def test_one_value_per_image_gives_a_vector():
    images = _images(4)
    out = predict(Scalar(), images, PRE, progress=False)
    assert out.shape == (4,)
    np.testing.assert_allclose(out, PRE.batch(images).mean(dim=(1, 2, 3)).numpy(), rtol=1e-6)


def test_softmax_sums_to_one_and_matches_logits():
    images = _images(6)
    logits = predict(MeanColour(), images, PRE, progress=False)
    probabilities = predict(MeanColour(), images, PRE, softmax=True, progress=False)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probabilities, _softmax(logits), rtol=1e-5, atol=1e-7)
    assert np.all(probabilities.argmax(axis=1) == logits.argmax(axis=1))


def test_results_do_not_depend_on_batch_size():
    images = _images(7)
    model = Counting(MeanColour())
    reference = predict(model, images, PRE, batch_size=32, progress=False)
    assert model.calls == 1
    for batch_size in (1, 2, 3, 7):
        model.calls = model.images = 0
        out = predict(model, images, PRE, batch_size=batch_size, progress=False)
        assert model.calls == -(-7 // batch_size)
        assert model.images == 7
        np.testing.assert_allclose(out, reference, rtol=1e-6, atol=1e-6)


def test_classifier_brings_its_own_preprocessing():
    clf = Classifier(MeanColour(), PRE, "mean colour")
    images = _images(4)
    np.testing.assert_allclose(
        predict(clf, images, progress=False), predict(clf.model, images, PRE, progress=False)
    )
    other = Preprocess.named(SIZE, "unit")
    np.testing.assert_allclose(
        predict(clf, images, other, progress=False),
        _expected_logits(images, other),
        rtol=1e-5,
        atol=1e-5,
    )


def test_created_classifier_predicts_with_its_preprocessing():
    clf = create_classifier(
        "convmixer", 2, dim=8, depth=1, kernel_size=3, patch_size=4, image_size=16
    )
    images = _images(3, size=24)
    out = predict(clf, images, progress=False)
    with torch.no_grad():
        expected = clf.model(clf.preprocess.batch(images)).numpy()
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_array_batch_path_equals_pil_path():
    images = _images(5)
    from_array = predict(MeanColour(), images, PRE, progress=False)
    pils = [Image.fromarray(image) for image in images]
    # the same inputs; only float32 rounding differs (the array batch is channels-last in memory)
    for same in (pils, list(images), Sweep(list(images))):
        out = predict(MeanColour(), same, PRE, progress=False)
        np.testing.assert_allclose(out, from_array, rtol=1e-6, atol=1e-6)


def test_array_and_pil_paths_agree_when_resizing():
    yy, xx = np.mgrid[0:32, 0:32]
    smooth = np.stack([xx * 8, yy * 8, (xx + yy) * 4], axis=-1).clip(0, 255).astype(np.uint8)
    images = np.stack([smooth, smooth[::-1], smooth[:, ::-1]])
    from_array = predict(MeanColour(), images, PRE, progress=False)
    from_pil = predict(MeanColour(), [Image.fromarray(i) for i in images], PRE, progress=False)
    np.testing.assert_allclose(from_pil, from_array, atol=0.02)


def test_preprocessed_tensor_without_preprocess():
    images = _images(5)
    inputs = PRE.batch(images)
    out = predict(MeanColour(), inputs, None, batch_size=2, progress=False)
    np.testing.assert_allclose(out, predict(MeanColour(), images, PRE, progress=False), rtol=1e-6)


def test_custom_preprocess_callable():
    images = _images(3)

    def to_input(image):  # returns numpy: converted to a tensor
        return (np.asarray(image, dtype=np.float32) / 255.0).transpose(2, 0, 1)

    out = predict(MeanColour(), list(images), to_input, progress=False)
    expected = _expected_logits(images, Preprocess(SIZE, mean=0.0, std=1.0))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_plain_function_as_model():
    images = _images(3)

    def red_mean(x):
        return x[:, 0].mean(dim=(1, 2))[:, None]

    out = predict(red_mean, images, PRE, progress=False)
    assert out.shape == (3, 1)
    np.testing.assert_allclose(out[:, 0], PRE.batch(images)[:, 0].mean(dim=(1, 2)), rtol=1e-6)


def test_module_is_put_in_eval_mode():
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(3 * SIZE * SIZE, 2))
    model.train()
    images = _images(4)
    first = predict(model, images, PRE, progress=False)
    assert not model.training
    np.testing.assert_array_equal(predict(model, images, PRE, progress=False), first)


def test_nan_output_names_the_first_image():
    class Picky(nn.Module):
        def forward(self, x):
            out = x.mean(dim=(2, 3))
            bad = x[:, 0, 0, 0] > 0  # red corner pixel brighter than the mean
            out[bad] = float("nan")
            return out

    images = np.zeros((6, SIZE, SIZE, 3), dtype=np.uint8)
    images[[2, 4], 0, 0, 0] = 255
    with pytest.raises(
        ValueError, match=r"NaN or inf for 2 of 6 images \(first at index 2\); check the"
    ):
        predict(Picky(), images, PRE, batch_size=4, progress=False)

    def infinite(x):
        return torch.full((len(x), 2), float("inf"))

    with pytest.raises(ValueError, match=r"for 3 of 3 images \(first at index 0\)"):
        predict(infinite, images[:3], PRE, progress=False)


def test_empty_input_and_bad_batch_size():
    with pytest.raises(ValueError, match="no images to predict on"):
        predict(MeanColour(), [], PRE, progress=False)
    with pytest.raises(ValueError, match="no images to predict on"):
        predict(MeanColour(), np.zeros((0, SIZE, SIZE, 3), np.uint8), PRE, progress=False)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        predict(MeanColour(), _images(2), PRE, batch_size=0, progress=False)


def test_progress_bar_does_not_change_results():
    images = _images(5)
    np.testing.assert_array_equal(
        predict(MeanColour(), images, PRE, batch_size=2, progress=True),
        predict(MeanColour(), images, PRE, batch_size=2, progress=False),
    )


# ---------------------------------------------------------------- predict_sweeps


def _sweeps(m=3, n=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (m, n, SIZE, SIZE, 3), dtype=np.uint8)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    return tmp_path / "outputs"


def test_predict_sweeps_equals_each_sweep_alone(cache):
    sweeps = _sweeps(3, 4)
    out = predict_sweeps(MeanColour(), sweeps, PRE, batch_size=5, progress=False)
    assert out.shape == (3, 4, 3) and out.dtype == np.float64
    for m in range(3):
        alone = predict(MeanColour(), sweeps[m], PRE, softmax=True, progress=False)
        np.testing.assert_allclose(out[m], alone, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out.sum(axis=2), 1.0, rtol=1e-6)
    logits = predict_sweeps(MeanColour(), sweeps, PRE, softmax=False, progress=False)
    np.testing.assert_allclose(logits[1], predict(MeanColour(), sweeps[1], PRE, progress=False))


def test_predict_sweeps_accepts_lists_of_sweeps_and_arrays(cache):
    sweeps = _sweeps(2, 5)
    reference = predict_sweeps(MeanColour(), sweeps, PRE, cache=False, progress=False)
    as_sweeps = [Sweep(list(s)) for s in sweeps]
    for same in (as_sweeps, list(sweeps)):
        out = predict_sweeps(MeanColour(), same, PRE, cache=False, progress=False)
        assert out.shape == (2, 5, 3)
        np.testing.assert_allclose(out, reference, rtol=1e-6, atol=1e-7)
    clf = Classifier(MeanColour(), PRE)
    out = predict_sweeps(clf, as_sweeps, progress=False)
    np.testing.assert_allclose(out, reference, rtol=1e-6, atol=1e-7)


def test_predict_sweeps_caches_outputs(cache):
    sweeps = _sweeps(2, 4)
    model = Counting(MeanColour())
    first = predict_sweeps(model, sweeps, PRE, batch_size=3, progress=False)
    assert model.calls == 3 and model.images == 8
    files = sorted(cache.glob("*/*.npy"))  # one file per sweep, in one folder per model
    assert len(files) == 2 and files[0].parent == files[1].parent
    stored = {f.stem for f in files}
    assert stored == {d[:32] for d in sweep_digests(sweeps)}
    for i, digest in enumerate(sweep_digests(sweeps)):
        np.testing.assert_array_equal(np.load(files[0].parent / f"{digest[:32]}.npy"), first[i])
    second = predict_sweeps(model, sweeps, PRE, batch_size=3, progress=False)
    assert model.calls == 3  # loaded, not run
    np.testing.assert_array_equal(second, first)
    # batch size and progress are not part of the key
    predict_sweeps(model, sweeps, PRE, batch_size=8, progress=True)
    assert model.calls == 3
    # a list of Sweep objects holding the same pixels is cached too
    as_sweeps = [Sweep(list(s)) for s in sweeps]
    from_sweeps = predict_sweeps(model, as_sweeps, PRE, progress=False)
    calls = model.calls
    assert calls == 4
    np.testing.assert_allclose(from_sweeps, first, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(
        predict_sweeps(model, as_sweeps, PRE, progress=False), from_sweeps
    )
    assert model.calls == calls


def test_predict_sweeps_recomputes_for_new_pixels_model_or_settings(cache):
    sweeps = _sweeps(2, 4)
    model = Counting(MeanColour())
    first = predict_sweeps(model, sweeps, PRE, progress=False)
    assert model.calls == 1

    changed = sweeps.copy()
    changed[1, 2, 3, 3, 0] ^= 1
    out = predict_sweeps(model, changed, PRE, progress=False)
    assert model.calls == 2 and model.images == 8 + 4  # only the changed sweep
    np.testing.assert_array_equal(out[0], first[0])

    with torch.no_grad():
        model.inner.linear.bias[0] += 1.0
    out = predict_sweeps(model, sweeps, PRE, progress=False)
    assert model.calls == 3
    assert not np.allclose(out, first)

    predict_sweeps(model, sweeps, PRE, softmax=False, progress=False)
    assert model.calls == 4
    predict_sweeps(model, sweeps, Preprocess.named(SIZE, "unit"), progress=False)
    assert model.calls == 5
    # outputs are cached per sweep: another order is served from the cache
    np.testing.assert_array_equal(
        predict_sweeps(model, sweeps[::-1], PRE, progress=False),
        predict_sweeps(model, sweeps, PRE, progress=False)[::-1],
    )
    assert model.calls == 5
    assert len(list(cache.glob("*/*.npy"))) == 2 + 1 + 2 + 2 + 2
    assert len(list(cache.iterdir())) == 4  # one folder per model and setting


def test_predict_sweeps_serves_any_subset_from_the_cache(cache):
    sweeps = _sweeps(6, 4, seed=3)
    model = Counting(MeanColour())
    cache_stats(reset=True)
    everything = predict_sweeps(model, sweeps, PRE, batch_size=5, progress=False)
    assert model.images == 24 and cache_stats() == {"hits": 0, "misses": 6}
    # subsets, as arrays, lists and memory-mapped views: no model call
    np.save(cache.parent / "group.npy", sweeps)
    mapped = np.load(cache.parent / "group.npy", mmap_mode="r")
    for subset in (sweeps[:2], sweeps[[4, 1]], list(sweeps[3:]), mapped[5:6]):
        index = [next(j for j in range(6) if np.array_equal(sweeps[j], s)) for s in subset]
        np.testing.assert_array_equal(
            predict_sweeps(model, subset, PRE, progress=False), everything[index]
        )
    assert model.calls == 5 and model.images == 24
    assert cache_stats(reset=True) == {"hits": 2 + 2 + 3 + 1, "misses": 6}
    assert cache_stats() == {"hits": 0, "misses": 0}
    # a superset predicts only the new sweeps, batched across them
    more = np.concatenate([sweeps[:3], _sweeps(2, 4, seed=4), sweeps[3:]])
    out = predict_sweeps(model, more, PRE, batch_size=5, progress=False)
    assert model.images == 24 + 8 and model.calls == 5 + 2
    np.testing.assert_array_equal(out[:3], everything[:3])
    np.testing.assert_array_equal(out[5:], everything[3:])
    alone = predict_sweeps(model, more[3:5], PRE, cache=False, progress=False)
    np.testing.assert_allclose(out[3:5], alone, rtol=1e-6, atol=1e-7)
    assert cache_stats() == {"hits": 6, "misses": 2}
    # known digests are used as given (the pixels are not hashed again)
    digests = sweep_digests(sweeps)
    np.testing.assert_array_equal(
        predict_sweeps(model, sweeps, PRE, digests=digests, progress=False), everything
    )
    np.testing.assert_array_equal(
        predict_sweeps(model, sweeps[:2], PRE, digests=digests[2:4], progress=False),
        everything[2:4],
    )
    with pytest.raises(ValueError, match="5 digests for 6 sweeps"):
        predict_sweeps(model, sweeps, PRE, digests=digests[:5], progress=False)


def test_predict_sweeps_models_do_not_share_entries(cache):
    sweeps = _sweeps(3, 4, seed=5)
    a, b = Counting(MeanColour()), Counting(MeanColour(2))
    out_a = predict_sweeps(a, sweeps, PRE, progress=False)
    out_b = predict_sweeps(b, sweeps, PRE, progress=False)
    assert a.calls == 1 and b.calls == 1 and out_b.shape == (3, 4, 2)
    np.testing.assert_array_equal(predict_sweeps(a, sweeps[1:], PRE, progress=False), out_a[1:])
    np.testing.assert_array_equal(predict_sweeps(b, sweeps[:1], PRE, progress=False), out_b[:1])
    assert a.calls == 1 and b.calls == 1
    assert len(list(cache.iterdir())) == 2


def test_predict_sweeps_reads_outputs_cached_per_group(cache):
    """Outputs stored for a whole group (one .npz per call, before) are found and split."""
    from propgrad.cache import config_key, write_npz_atomic
    from propgrad.models.classifier import model_identity

    sweeps = _sweeps(3, 4, seed=6)
    model = Counting(MeanColour())
    expected = predict_sweeps(model, sweeps, PRE, cache=False, progress=False)
    key = config_key(
        {
            "model": model_identity(model),
            "preprocess": PRE.to_dict(),
            "softmax": True,
            "sweeps": sweeps_digest(sweeps),
            "shape": [3, 4],
        }
    )
    write_npz_atomic(cache / f"{key}.npz", outputs=expected + 1.0)  # marked: read, not run
    calls = model.calls
    np.testing.assert_array_equal(predict_sweeps(model, sweeps, PRE, progress=False), expected + 1)
    np.testing.assert_array_equal(
        predict_sweeps(model, sweeps[1:], PRE, progress=False), expected[1:] + 1
    )
    assert model.calls == calls
    assert len(list(cache.glob("*/*.npy"))) == 3


def test_predict_sweeps_cache_false_always_runs(cache):
    model = Counting(MeanColour())
    sweeps = _sweeps(1, 3)
    predict_sweeps(model, sweeps, PRE, cache=False, progress=False)
    predict_sweeps(model, sweeps, PRE, cache=False, progress=False)
    assert model.calls == 2
    assert not cache.exists() or not list(cache.iterdir())


def test_predict_sweeps_without_an_identity_does_not_cache(cache):
    sweeps = _sweeps(1, 3)
    calls = []

    def function(x):
        calls.append(len(x))
        return x.mean(dim=(2, 3))

    predict_sweeps(function, sweeps, PRE, progress=False)
    predict_sweeps(function, sweeps, PRE, progress=False)
    assert calls == [3, 3]
    model = Counting(MeanColour())

    def custom(image):
        return PRE(image)

    predict_sweeps(model, sweeps, custom, progress=False)
    predict_sweeps(model, sweeps, custom, progress=False)
    assert model.calls == 2
    assert not cache.exists() or not list(cache.iterdir())


def test_predict_sweeps_classifier_identity_is_the_key(cache):
    sweeps = _sweeps(2, 3, seed=1)
    kwargs = {"dim": 8, "depth": 1, "kernel_size": 3, "patch_size": 4, "image_size": 8}
    calls = []
    a = create_classifier("convmixer", 2, **kwargs)
    a.model.register_forward_pre_hook(lambda module, args: calls.append("a"))
    first = predict_sweeps(a, sweeps, progress=False)
    assert calls == ["a"]
    b = create_classifier("convmixer", 2, **kwargs)  # the same specification
    b.model.register_forward_pre_hook(lambda module, args: calls.append("b"))
    np.testing.assert_array_equal(predict_sweeps(b, sweeps, progress=False), first)
    assert calls == ["a"]
    c = create_classifier("convmixer", 2, seed=1, **kwargs)
    c.model.register_forward_pre_hook(lambda module, args: calls.append("c"))
    predict_sweeps(c, sweeps, progress=False)
    assert calls == ["a", "c"]


def test_predict_sweeps_errors(cache):
    sweeps = [_sweeps(1, 3)[0], _sweeps(1, 4)[0]]
    with pytest.raises(ValueError, match=r"same length, got lengths \[3, 4\]"):
        predict_sweeps(MeanColour(), sweeps, PRE, progress=False)
    with pytest.raises(ValueError, match="no sweeps given"):
        predict_sweeps(MeanColour(), [], PRE, progress=False)


def test_sweeps_digest():
    sweeps = _sweeps(2, 3)
    digest = sweeps_digest(sweeps)
    assert all(c in "0123456789abcdef" for c in digest) and len(digest) == 16
    assert sweeps_digest(sweeps.copy()) == digest
    assert sweeps_digest(list(sweeps)) == digest
    assert sweeps_digest(sweeps[::-1]) != digest
    changed = sweeps.copy()
    changed[0, 0, 0, 0, 0] ^= 1
    assert sweeps_digest(changed) != digest
    as_sweeps = [Sweep(list(s)) for s in sweeps]
    assert sweeps_digest(as_sweeps) == sweeps_digest([Sweep(list(s)) for s in sweeps])
    assert sweeps_digest(as_sweeps[:1]) != sweeps_digest(as_sweeps)
