"""Tests for propgrad.models.preprocess: resize, scale and normalise for one model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from propgrad.models.preprocess import (  # noqa: E402
    NORMALISATIONS,
    Preprocess,
    resolve_normalisation,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _noise(shape=(24, 32), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def _smooth(height=48, width=64):
    """A smooth colour image: resampling filters of PIL and torch agree closely on it."""
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    channels = [
        128 + 100 * np.sin(xx / 7.0),
        128 + 100 * np.cos(yy / 5.0),
        255 * (xx + yy) / (height + width),
    ]
    return np.stack(channels, axis=-1).clip(0, 255).round().astype(np.uint8)


# ---------------------------------------------------------------- construction


def test_size_int_becomes_pair_and_stats_broadcast():
    pre = Preprocess(16, mean=0.5, std=0.25)
    assert pre.size == (16, 16)
    assert pre.mean == (0.5, 0.5, 0.5)
    assert pre.std == (0.25, 0.25, 0.25)
    assert Preprocess((8, 12)).size == (8, 12)
    assert Preprocess(np.int64(5)).size == (5, 5)


def test_default_is_unit_bilinear():
    pre = Preprocess(4)
    assert pre.mean == (0.5, 0.5, 0.5) and pre.std == (0.5, 0.5, 0.5)
    assert pre.interpolation == "bilinear"
    assert pre == Preprocess.named(4, "unit", "bilinear")


def test_to_dict_is_plain_json():
    record = Preprocess.named((8, 12), "imagenet", "bicubic").to_dict()
    assert record == {
        "size": [8, 12],
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "interpolation": "bicubic",
    }


def test_equal_settings_compare_equal_and_hash():
    a = Preprocess(8, IMAGENET_MEAN, IMAGENET_STD, "bicubic")
    b = Preprocess.named((8, 8), "imagenet", "bicubic")
    assert a == b and hash(a) == hash(b)
    assert a != Preprocess.named(8, "unit", "bicubic")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, r"size must be a positive int or \(height, width\), got 0"),
        ({"size": (4, 4, 4)}, "size must be a positive int"),
        ({"size": (4, -1)}, "size must be a positive int"),
        ({"size": 4, "std": (0.5, 0.0, 0.5)}, "std must be positive"),
        ({"size": 4, "std": -1.0}, "std must be positive"),
        ({"size": 4, "std": (0.5, 0.5)}, "std must be one finite value or three"),
        ({"size": 4, "mean": (0.1, np.nan, 0.2)}, "mean must be one finite value or three"),
        ({"size": 4, "interpolation": "area"}, r"unknown interpolation 'area'.*bicubic"),
    ],
)
def test_invalid_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Preprocess(**kwargs)


# ---------------------------------------------------------------- normalisations


def test_named_normalisations():
    assert set(NORMALISATIONS) == {"unit", "imagenet"}
    assert resolve_normalisation("unit") == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert resolve_normalisation("imagenet") == (IMAGENET_MEAN, IMAGENET_STD)


def test_explicit_normalisation_pair():
    mean, std = resolve_normalisation(([0.1, 0.2, 0.3], 0.5))
    assert mean == (0.1, 0.2, 0.3) and std == (0.5, 0.5, 0.5)


def test_unknown_or_malformed_normalisation():
    with pytest.raises(ValueError, match=r"unknown normalisation 'cifar'.*\['imagenet', 'unit'\]"):
        resolve_normalisation("cifar")
    with pytest.raises(ValueError, match=r"a name or a \(mean, std\) pair, got 3"):
        resolve_normalisation(3)
    with pytest.raises(ValueError, match="a name or a"):
        resolve_normalisation((0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="std must be positive"):
        resolve_normalisation((0.5, 0.0))
    with pytest.raises(ValueError, match="unknown normalisation"):
        Preprocess.named(8, "cifar")


def test_unit_statistics_map_to_minus_one_one():
    pre = Preprocess.named(2, "unit")
    x = pre(np.array([[[0, 255, 51]] * 2] * 2, dtype=np.uint8))
    assert x.shape == (3, 2, 2) and x.dtype == torch.float32
    torch.testing.assert_close(x[:, 0, 0], torch.tensor([-1.0, 1.0, 51 / 255 * 2 - 1]))


def test_imagenet_statistics_per_channel():
    pre = Preprocess.named(3, "imagenet")
    x = pre(np.full((3, 3, 3), 255, dtype=np.uint8))
    expected = (1.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(x[:, 1, 2].numpy(), expected, rtol=1e-6)
    # every pixel of a uniform image gets the same value per channel
    assert torch.all(x == x[:, :1, :1])


def test_value_of_grey():
    unit = Preprocess.named(4, "unit")
    np.testing.assert_allclose(unit.value_of(0.5), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(unit.value_of(0.0), [-1.0, -1.0, -1.0])
    imagenet = Preprocess.named(4, "imagenet")
    np.testing.assert_allclose(
        imagenet.value_of(0.25), (0.25 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    )
    # it is what the preprocessing does to a uniform grey image
    grey = np.full((4, 4, 3), 51, dtype=np.uint8)
    np.testing.assert_allclose(
        imagenet(grey)[:, 0, 0].numpy(), imagenet.value_of(51 / 255), rtol=1e-6
    )


def test_normalise_unnormalise_round_trip():
    pre = Preprocess.named(8, "imagenet")
    images = np.random.default_rng(1).random((2, 8, 8, 3))
    x = pre.normalise(torch.from_numpy(images).permute(0, 3, 1, 2))
    assert x.shape == (2, 3, 8, 8)
    back = pre.unnormalise(x)
    assert back.shape == (2, 8, 8, 3) and back.dtype == np.float64
    np.testing.assert_allclose(back, images, atol=1e-12)
    # one image (3, H, W) gives (H, W, 3); numpy input works too
    np.testing.assert_allclose(pre.unnormalise(x[1]), images[1], atol=1e-12)
    np.testing.assert_allclose(pre.unnormalise(x[1].numpy()), images[1], atol=1e-12)


def test_unnormalise_clips_to_unit_range():
    pre = Preprocess.named(2, "unit")
    out = pre.unnormalise(torch.tensor([[[[-3.0, 0.0], [1.0, 5.0]]] * 3]))
    assert out.shape == (1, 2, 2, 3)
    np.testing.assert_allclose(out[0, ..., 0], [[0.0, 0.5], [1.0, 1.0]])


def test_uint8_image_round_trips_through_unnormalise():
    pre = Preprocess.named((24, 32), "imagenet")
    image = _noise()
    restored = np.round(pre.unnormalise(pre(image)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(restored, image)


# ---------------------------------------------------------------- images and batches


def test_pil_and_array_agree_without_resize():
    image = _noise((24, 32))
    pre = Preprocess.named((24, 32), "imagenet")
    from_pil = pre(Image.fromarray(image))
    from_array = pre(image)
    assert from_pil.shape == (3, 24, 32) and from_pil.dtype == torch.float32
    torch.testing.assert_close(from_pil, from_array, rtol=0, atol=0)
    torch.testing.assert_close(pre.batch(image[None])[0], from_array, rtol=0, atol=0)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos"])
def test_pil_and_array_resize_agree_closely(interpolation):
    image = _smooth(48, 64)
    pre = Preprocess.named((20, 30), "unit", interpolation)
    from_pil = pre(Image.fromarray(image))
    from_array = pre(image)
    assert from_pil.shape == from_array.shape == (3, 20, 30)
    # in [-1, 1] units: a mean difference below 1/255 and no pixel off by more than 3/255
    diff = (from_pil - from_array).abs()
    assert float(diff.mean()) < 2 / 255
    assert float(diff.max()) < 6 / 255


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_pil_and_array_resize_agree_on_noise(interpolation):
    # antialiased torch interpolation reproduces PIL's filters up to rounding, even on noise
    image = _noise((40, 60), seed=3)
    pre = Preprocess.named((20, 30), "unit", interpolation)
    diff = (pre(Image.fromarray(image)) - pre(image)).abs()
    assert float(diff.max()) < 4 / 255


def test_nearest_resize_picks_the_same_pixels_for_pil_and_arrays():
    image = _noise((40, 60), seed=4)
    pre = Preprocess.named((20, 30), "unit", "nearest")
    from_array = pre(image)
    torch.testing.assert_close(pre(Image.fromarray(image)), from_array, rtol=0, atol=0)
    # every output value is one of the input pixels' values (no blending)
    values = set(np.round((from_array.numpy() + 1) / 2 * 255).astype(int).ravel().tolist())
    assert values <= set(image.ravel().tolist())


def test_pil_resize_uses_the_pil_filter():
    image = Image.fromarray(_noise((40, 60), seed=5))
    for name, pil_filter in [("bicubic", Image.BICUBIC), ("lanczos", Image.LANCZOS)]:
        pre = Preprocess.named((20, 30), "unit", name)
        expected = np.asarray(image.resize((30, 20), pil_filter), dtype=np.float32) / 255 * 2 - 1
        torch.testing.assert_close(pre(image), torch.from_numpy(expected).permute(2, 0, 1))


def test_resize_output_stays_in_unit_range():
    # bicubic overshoots at sharp edges; the resized pixels are clamped to [0, 1]
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[:, ::2] = 255
    pre = Preprocess.named(12, "unit", "bicubic")
    x = pre(image)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert x.shape == (3, 12, 12)


def test_pil_modes_are_converted_to_rgb():
    pre = Preprocess.named(5, "unit")
    grey = pre(Image.new("L", (7, 9), 255))
    assert grey.shape == (3, 5, 5)
    torch.testing.assert_close(grey, torch.ones(3, 5, 5))
    rgba = pre(Image.new("RGBA", (5, 5), (0, 255, 0, 10)))
    torch.testing.assert_close(rgba[:, 2, 2], torch.tensor([-1.0, 1.0, -1.0]))


def test_batch_accepts_numpy_torch_float_and_pil():
    images = np.stack([_noise((10, 12), seed=s) for s in range(3)])
    pre = Preprocess.named((10, 12), "imagenet")
    reference = pre.batch(images)
    assert reference.shape == (3, 3, 10, 12) and reference.dtype == torch.float32
    channels_first = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    torch.testing.assert_close(pre.batch(channels_first), reference, rtol=0, atol=0)
    as_float = channels_first.float() / 255
    torch.testing.assert_close(pre.batch(as_float), reference, rtol=0, atol=1e-6)
    float_numpy = images.astype(np.float32) / 255
    torch.testing.assert_close(pre.batch(float_numpy), reference, rtol=0, atol=1e-6)
    pils = [Image.fromarray(image) for image in images]
    torch.testing.assert_close(pre.batch(pils), reference, rtol=0, atol=0)
    torch.testing.assert_close(pre.batch(list(images)), reference, rtol=0, atol=0)
    for i in range(3):
        torch.testing.assert_close(pre(images[i]), reference[i], rtol=0, atol=0)


def test_batch_resizes_each_image_like_a_single_call():
    images = np.stack([_smooth(30, 40), _smooth(30, 40)[::-1]])
    pre = Preprocess.named(16, "unit")
    batch = pre.batch(images)
    assert batch.shape == (2, 3, 16, 16)
    torch.testing.assert_close(batch[1], pre(images[1]))


def test_batch_float_resize_keeps_float_precision():
    x = torch.full((1, 3, 6, 6), 0.3)
    out = Preprocess.named(3, "unit").batch(x)
    torch.testing.assert_close(out, torch.full((1, 3, 3, 3), -0.4))


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((4, 4, 3), np.uint8), r"a batch \(B, H, W, 3\), got shape \(4, 4, 3\)"),
        (np.zeros((2, 4, 4, 4), np.uint8), r"got shape \(2, 4, 4, 4\)"),
        (np.zeros((2, 3, 4, 4), np.uint8), r"got shape \(2, 3, 4, 4\)"),
        (torch.zeros(2, 4, 4, 3, dtype=torch.uint8), r"\(B, 3, H, W\), got \(2, 4, 4, 3\)"),
        (torch.zeros(3, 4, 4), r"\(B, 3, H, W\), got \(3, 4, 4\)"),
    ],
)
def test_batch_rejects_bad_shapes(images, message):
    with pytest.raises(ValueError, match=message):
        Preprocess(4).batch(images)


def test_single_image_must_be_rgb():
    with pytest.raises(ValueError, match=r"got shape \(1, 4, 4\)"):
        Preprocess(4)(np.zeros((4, 4), dtype=np.uint8))


def test_authors_preprocessing_equals_torchvision_pipeline():
    transforms = pytest.importorskip("torchvision.transforms")
    from propgrad.authors import CVD_PREPROCESS

    assert CVD_PREPROCESS == Preprocess((128, 128), 0.5, 0.5, "bilinear")
    rng = np.random.default_rng(0)
    reference_pipeline = transforms.Compose(
        [
            transforms.Resize((128, 128)),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )
    for shape in [(97, 131), (200, 150), (128, 128)]:
        image = Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))
        ours = CVD_PREPROCESS(image)
        assert ours.shape == (3, 128, 128) and ours.dtype == torch.float32
        torch.testing.assert_close(ours, reference_pipeline(image), atol=1e-6, rtol=0)


def test_a_read_only_batch_is_read_without_warning_and_left_unchanged(tmp_path):
    # sweeps come memory-mapped read-only from the cache: no torch warning, the same values
    rng = np.random.default_rng(3)
    array = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    np.save(tmp_path / "sweep.npy", array)
    mapped = np.load(tmp_path / "sweep.npy", mmap_mode="r")
    assert not mapped.flags.writeable
    pre = Preprocess.named((8, 8), "imagenet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = pre.batch(mapped)
    expected = pre.batch(array.copy())
    assert torch.equal(x, expected)
    np.testing.assert_array_equal(mapped, array)
