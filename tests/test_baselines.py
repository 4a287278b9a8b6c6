"""Tests for propgrad.baselines: captum attributions and the flip-prediction task."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")
pytest.importorskip("skimage")
pytest.importorskip("sklearn")

from torch import nn  # noqa: E402

from propgrad.baselines import (  # noqa: E402
    METHOD_LABELS,
    METHODS,
    PAPER_TABLE2,
    FlipTaskResult,
    attribute,
    attribution_change,
    best_threshold_accuracy,
    flip_prediction_task,
    format_flip_table,
    last_conv_layer,
    plot_attribution_pair,
    slic_superpixels,
)

torch.set_num_threads(1)


# ---------------------------------------------------------------------------
# tiny models
# ---------------------------------------------------------------------------


def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 2),
    ).eval()


class Residual(nn.Module):
    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def tiny_convmixer(dim: int = 8, depth: int = 2, kernel: int = 3, patch: int = 4) -> nn.Module:
    torch.manual_seed(0)
    blocks = [
        nn.Sequential(
            Residual(
                nn.Sequential(
                    nn.Conv2d(dim, dim, kernel, groups=dim, padding="same"),
                    nn.GELU(),
                    nn.BatchNorm2d(dim),
                )
            ),
            nn.Conv2d(dim, dim, 1),
            nn.GELU(),
            nn.BatchNorm2d(dim),
        )
        for _ in range(depth)
    ]
    model = nn.Sequential(
        nn.Conv2d(3, dim, patch, stride=patch),
        nn.GELU(),
        nn.BatchNorm2d(dim),
        *blocks,
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(dim, 2),
    )
    # non-trivial running statistics so BatchNorm does something in eval mode
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


class RegionModel(nn.Module):
    """Cat logit = sum of the pixels in rows/cols [r0, r1); dog logit = 0."""

    def __init__(self, r0: int, r1: int) -> None:
        super().__init__()
        self.r0, self.r1 = r0, r1
        self.conv = nn.Conv2d(3, 3, 1)  # unused; lets the model have parameters

    def forward(self, x):
        cat = x[:, :, self.r0 : self.r1, self.r0 : self.r1].sum(dim=(1, 2, 3))
        return torch.stack([cat, torch.zeros_like(cat)], dim=1)


@pytest.fixture(scope="module")
def images16():
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 16, 16, generator=g) * 2 - 1


MODELS = {"cnn": tiny_cnn, "convmixer": tiny_convmixer}


# ---------------------------------------------------------------------------
# attribute
# ---------------------------------------------------------------------------


def test_method_names_and_labels():
    assert METHODS == (
        "guided_gradcam",
        "integrated_gradients",
        "occlusion",
        "lime",
        "kernel_shap",
        "deeplift",
    )
    labels = [METHOD_LABELS[m] for m in ("ours", *METHODS)]
    assert labels == ["Ours", "G-CAM", "Int. Grad.", "Occlusion", "LIME", "K-SHAP", "DeepLift"]


@pytest.mark.parametrize(("model_name", "method"), list(itertools.product(MODELS, METHODS)))
def test_every_method_returns_finite_maps(model_name, method, images16):
    model = MODELS[model_name]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # captum's hook chatter is filtered inside
        out = attribute(model, images16, method, target=0, seed=0)
    assert out.shape == (2, 3, 16, 16)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_reduce_sum_gives_channel_summed_maps(images16):
    model = tiny_cnn()
    full = attribute(model, images16, "integrated_gradients", n_steps=8)
    summed = attribute(model, images16, "integrated_gradients", n_steps=8, reduce="sum")
    assert summed.shape == (2, 16, 16)
    np.testing.assert_allclose(summed, full.sum(axis=1), rtol=1e-5, atol=1e-8)


def test_guided_gradcam_uses_last_conv_by_default(images16):
    model = tiny_cnn()
    assert last_conv_layer(model) is model[2]
    default = attribute(model, images16, "guided_gradcam")
    explicit = attribute(model, images16, "guided_gradcam", layer=model[2])
    first = attribute(model, images16, "guided_gradcam", layer=model[0])
    np.testing.assert_array_equal(default, explicit)
    assert not np.allclose(default, first)
    cm = tiny_convmixer()
    convs = [m for m in cm.modules() if isinstance(m, nn.Conv2d)]
    assert last_conv_layer(cm) is convs[-1]


def test_last_conv_layer_requires_a_conv():
    with pytest.raises(ValueError, match="no torch.nn.Conv2d"):
        last_conv_layer(nn.Sequential(nn.Flatten(), nn.Linear(3, 2)))


@pytest.mark.parametrize("method", ["guided_gradcam", "deeplift"])
def test_inplace_relu_model_is_not_modified(method, images16):
    model = tiny_cnn()
    plain = tiny_cnn()
    for m in plain.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    a = attribute(model, images16, method)
    b = attribute(plain, images16, method, layer=plain[2] if method == "guided_gradcam" else None)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-10)
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))


@pytest.mark.parametrize("model_name", list(MODELS))
def test_integrated_gradients_completeness(model_name, images16):
    model = MODELS[model_name]()
    x = images16[:1]
    attr = attribute(model, x, "integrated_gradients", target=0, n_steps=128)
    with torch.no_grad():
        gap = (model(x)[0, 0] - model(torch.zeros_like(x))[0, 0]).item()
    assert attr.sum() == pytest.approx(gap, rel=2e-2, abs=1e-4)


@pytest.mark.parametrize(
    ("mean", "std", "grey", "patch_value"),
    [
        (0.5, 0.5, 0.5, 0.0),  # [-1, 1] inputs: average grey is 0.0 after normalisation
        (0.0, 1.0, 0.5, 0.5),  # [0, 1] inputs: the grey value is used as is
        (0.5, 0.5, 0.25, -0.5),
    ],
)
def test_occlusion_is_local_and_uses_grey(mean, std, grey, patch_value):
    model = RegionModel(12, 16).eval()
    x = torch.ones(1, 3, 32, 32)
    out = attribute(model, x, "occlusion", mean=mean, std=std, grey=grey)
    # 9x9 windows at stride 4 start at 0, 4, ..., 24; those touching rows 12..15
    # start at 4, 8 and 12, so only rows/cols 4..20 can be affected.
    inside = np.zeros((32, 32), dtype=bool)
    inside[4:21, 4:21] = True
    assert np.all(out[:, :, ~inside] == 0)
    # a pixel of the region is only covered by windows that cover the whole
    # region: occluding it lowers the cat logit by 16 px * 3 ch * (1 - patch)
    expected = 16 * 3 * (1.0 - patch_value)
    np.testing.assert_allclose(out[0, :, 13, 13], expected, rtol=1e-6)
    assert np.all(out[0, :, 12:16, 12:16] > 0)


def test_slic_superpixels_are_consecutive_ids(images16):
    masks = slic_superpixels(images16)
    assert masks.shape == (2, 16, 16)
    assert masks.dtype == np.int64
    for m in masks:
        ids = np.unique(m)
        np.testing.assert_array_equal(ids, np.arange(ids.size))
        assert 2 <= ids.size <= 256


QUADRANTS = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 16, axis=0), 16, axis=1)


def test_kernel_shap_with_given_superpixels_is_exact_for_an_additive_model():
    model = RegionModel(4, 8).eval()  # lies in quadrant 0
    x = torch.ones(1, 3, 32, 32)
    out = attribute(model, x, "kernel_shap", superpixels=QUADRANTS, n_samples=60, seed=0)
    # removing quadrant 0 (baseline 0) lowers the logit by 4 * 4 * 3 = 48; the
    # other quadrants do not matter
    np.testing.assert_allclose(out[0, :, :16, :16], 48.0, rtol=1e-3)
    np.testing.assert_allclose(out[0, :, 16:, :], 0.0, atol=1e-3)
    np.testing.assert_allclose(out[0, :, :, 16:], 0.0, atol=1e-3)


def test_lime_with_given_superpixels_finds_the_region():
    model = RegionModel(20, 24).eval()  # lies in quadrant 3
    x = torch.ones(1, 3, 32, 32)
    out = attribute(model, x, "lime", superpixels=QUADRANTS, n_samples=60, seed=0, reduce="sum")
    per_quadrant = [out[0][QUADRANTS == q].mean() for q in range(4)]
    assert int(np.argmax(per_quadrant)) == 3
    assert per_quadrant[3] > 10 * max(abs(v) for v in per_quadrant[:3])


def test_attribute_validates_arguments(images16):
    model = tiny_cnn()
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribute(model, images16, "saliency")
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        attribute(model, images16[0], "occlusion")
    with pytest.raises(ValueError, match="reduce"):
        attribute(model, images16, "occlusion", reduce="mean")
    with pytest.raises(ValueError, match="superpixels"):
        attribute(model, images16, "lime", superpixels=np.zeros((8, 8), dtype=int))
    with pytest.raises(ValueError, match="target"):
        attribute(model, images16, "lime", target=[0, 1, 0])


def test_training_mode_warns(images16):
    model = tiny_cnn().train()
    with pytest.warns(UserWarning, match="training mode"):
        attribute(model, images16, "integrated_gradients", n_steps=4)


# ---------------------------------------------------------------------------
# attribution_change
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_attribution_change_zero_for_identical_and_positive_otherwise(method, images16):
    model = tiny_convmixer()
    with torch.no_grad():  # logits of a realistic size (several units), else LIME's
        model[-1].weight.mul_(100)  # Lasso (alpha 0.01) zeroes every coefficient
    after = images16.clone()
    after[:, :, :8, :] = -after[:, :, :8, :]  # "intervene" on the top half
    kw = {"n_steps": 16} if method == "integrated_gradients" else {}
    same = attribution_change(model, images16, images16.clone(), method, **kw)
    diff = attribution_change(model, images16, after, method, **kw)
    assert same.shape == diff.shape == (2,)
    np.testing.assert_allclose(same, 0.0, atol=1e-12)
    assert np.all(diff > 0)
    assert np.all(np.isfinite(diff))


def test_attribution_change_is_mean_squared_difference(images16):
    model = tiny_cnn()
    after = images16.flip(-1)
    a0 = attribute(model, images16, "deeplift").astype(np.float64)
    a1 = attribute(model, after, "deeplift").astype(np.float64)
    expected = ((a1 - a0) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(attribution_change(model, images16, after, "deeplift"), expected)


def test_attribution_change_shape_mismatch(images16):
    with pytest.raises(ValueError, match="same shape"):
        attribution_change(tiny_cnn(), images16, images16[:1], "deeplift")


# ---------------------------------------------------------------------------
# best_threshold_accuracy
# ---------------------------------------------------------------------------


def _brute_force(scores, flipped):
    s = np.asarray(scores, float)
    f = np.asarray(flipped, bool)
    u = np.unique(s)
    cands = np.concatenate(([-np.inf], (u[:-1] + u[1:]) / 2, [np.inf]))
    return max(np.mean((s > t) == f) for t in cands)


def test_best_threshold_separable():
    acc, thr = best_threshold_accuracy([0.1, 0.2, 0.3, 0.7, 0.9], [0, 0, 0, 1, 1])
    assert acc == 1.0
    assert 0.3 < thr < 0.7
    assert thr == pytest.approx(0.5)


@pytest.mark.parametrize("label", [0, 1])
def test_best_threshold_single_class(label):
    acc, thr = best_threshold_accuracy([0.3, 0.1, 0.5], [label] * 3)
    assert acc == 1.0
    assert thr == (np.inf if label == 0 else -np.inf)


def test_best_threshold_hand_example():
    # sorted: 0.1 (no flip), 0.35 (flip), 0.4 (no flip), 0.8 (flip)
    # thresholds -inf, .225, .375, .6, +inf -> 2/4, 3/4, 2/4, 3/4, 2/4
    acc, thr = best_threshold_accuracy([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    assert acc == 0.75
    assert thr == pytest.approx(0.225)  # ties go to the smallest threshold


def test_best_threshold_ties_in_scores():
    # equal scores cannot be split: best is predicting "flip" for all three 0.5s
    acc, _ = best_threshold_accuracy([0.5, 0.5, 0.5, 0.1], [1, 1, 0, 0])
    assert acc == 0.75
    acc, thr = best_threshold_accuracy([0.5, 0.5, 0.5], [1, 0, 0])
    assert acc == pytest.approx(2 / 3)
    assert thr == np.inf


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        scores = rng.integers(0, 8, n) / 7.0  # many ties
        flipped = rng.random(n) < 0.4
        acc, thr = best_threshold_accuracy(scores, flipped)
        assert acc == pytest.approx(_brute_force(scores, flipped))
        assert np.mean((scores > thr) == flipped) == pytest.approx(acc)


def test_best_threshold_validates():
    with pytest.raises(ValueError, match="empty"):
        best_threshold_accuracy([], [])
    with pytest.raises(ValueError, match="differ in length"):
        best_threshold_accuracy([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="NaN"):
        best_threshold_accuracy([0.1, np.nan], [1, 0])
    with pytest.raises(ValueError, match="only 0 and 1"):
        best_threshold_accuracy([0.1, 0.2], [1, 2])


def test_best_threshold_large_input_is_fast():
    rng = np.random.default_rng(1)
    scores = rng.random(200_000)
    acc, _ = best_threshold_accuracy(scores, scores > 0.3)
    assert acc == 1.0


# ---------------------------------------------------------------------------
# flip_prediction_task
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def task_data():
    rng = np.random.default_rng(3)
    n = 400
    labels = np.repeat([0, 1], n // 2)  # cat / dog
    flipped = rng.random(n) < 0.5
    perfect = flipped.astype(float) + 0.1 * rng.random(n)
    noise = rng.random(n)
    return labels, flipped, perfect, noise


def test_flip_task_perfect_and_random(task_data):
    labels, flipped, perfect, noise = task_data
    res = flip_prediction_task({"ours": perfect, "lime": noise}, flipped, labels)
    assert list(res) == ["ours", "lime"]
    assert isinstance(res["ours"], FlipTaskResult)
    assert res["ours"].mean == 1.0
    assert res["ours"].std == 0.0
    assert 0.5 <= res["lime"].mean <= 0.7
    assert res["lime"].std > 0
    assert res["lime"].accuracies.shape == res["lime"].thresholds.shape == (10,)
    np.testing.assert_allclose(res["lime"].std, np.std(res["lime"].accuracies))


def test_flip_task_is_seeded_and_fair(task_data):
    labels, flipped, _, noise = task_data
    a = flip_prediction_task({"x": noise, "y": noise.copy()}, flipped, labels, seed=5)
    b = flip_prediction_task({"x": noise}, flipped, labels, seed=5)
    c = flip_prediction_task({"x": noise}, flipped, labels, seed=6)
    np.testing.assert_array_equal(a["x"].accuracies, a["y"].accuracies)  # same indices
    np.testing.assert_array_equal(a["x"].accuracies, b["x"].accuracies)  # same seed
    assert not np.array_equal(a["x"].accuracies, c["x"].accuracies)


def test_flip_task_balanced_draw_without_replacement():
    # scores identify each image; with 3 per class drawn out of 3, every resample
    # uses all images, so every accuracy is the full-data accuracy
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    flipped = np.array([0, 1, 0, 1, 0, 1, 1, 0])
    scores = np.arange(8.0)
    res = flip_prediction_task({"s": scores}, flipped, labels, n_per_class=3, n_resamples=4, seed=0)
    assert res["s"].accuracies.shape == (4,)
    # each resample has 6 images: accuracies are multiples of 1/6
    np.testing.assert_allclose(res["s"].accuracies * 6, np.round(res["s"].accuracies * 6))


def test_flip_task_shortfall_options():
    labels = np.array([0] * 10 + [1] * 3)
    flipped = np.array([0, 1] * 5 + [1, 0, 1])
    scores = np.linspace(0, 1, 13)
    with pytest.warns(UserWarning, match="using all 3"):
        capped = flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5)
    with pytest.warns(UserWarning, match="with replacement"):
        flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5, shortfall="replace")
    with pytest.raises(ValueError, match="fewer than n_per_class"):
        flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5, shortfall="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boot = flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5, replace=True)
    assert np.all((capped["s"].accuracies * 8) % 1 == 0)  # 5 + 3 images
    assert np.all((boot["s"].accuracies * 10) % 1 == 0)  # 5 + 5 draws


def test_flip_task_single_class_and_ddof(task_data):
    _, flipped, _, noise = task_data
    r0 = flip_prediction_task({"s": noise}, flipped, None, n_per_class=100, seed=1)
    r1 = flip_prediction_task({"s": noise}, flipped, None, n_per_class=100, seed=1, ddof=1)
    np.testing.assert_allclose(r1["s"].std, np.std(r0["s"].accuracies, ddof=1))


def test_flip_task_validates(task_data):
    labels, flipped, _, noise = task_data
    with pytest.raises(ValueError, match="scores is empty"):
        flip_prediction_task({}, flipped, labels)
    with pytest.raises(ValueError, match="labels"):
        flip_prediction_task({"s": noise}, flipped, labels[:-1])
    with pytest.raises(ValueError, match="shortfall"):
        flip_prediction_task({"s": noise}, flipped, labels, shortfall="drop")


# ---------------------------------------------------------------------------
# table and plot
# ---------------------------------------------------------------------------


def test_format_flip_table_order_and_percent():
    rows = {
        "Unbiased": {"lime": (0.5, 0.01), "ours": (0.8613, 0.02), "custom": (0.1, 0.0)},
        "Dark Cats Bias": {"ours": FlipTaskResult(0.8427, 0.017, np.zeros(1), np.zeros(1))},
    }
    text = format_flip_table(rows)
    lines = text.splitlines()
    assert lines[0] == "| Model | Ours | LIME | custom |"
    assert lines[2] == "| Unbiased | 86.13 ± 2.0 | 50.00 ± 1.0 | 10.00 ± 0.0 |"
    assert lines[3] == "| Dark Cats Bias | 84.27 ± 1.7 | – | – |"


def test_paper_table_is_complete():
    assert len(PAPER_TABLE2) == 7
    assert PAPER_TABLE2["CvD / Dark Cats Bias"]["ours"] == (84.27, 1.7)
    assert PAPER_TABLE2["ISIC / ViT-B/16"]["deeplift"] == (77.50, 3.9)
    text = format_flip_table(PAPER_TABLE2, in_percent=True)
    assert "| CvD / Unbiased | 86.13 ± 2.0 | 84.70 ± 2.1 |" in text


def test_plot_attribution_pair_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    img = rng.random((3, 16, 16))
    maps_b = [rng.normal(size=(3, 16, 16)), rng.normal(size=(16, 16))]
    maps_a = [rng.normal(size=(3, 16, 16)), rng.normal(size=(16, 16))]
    fig, axes = plot_attribution_pair(img, img.transpose(1, 2, 0), maps_b, maps_a, ["A", "B"])
    assert axes.shape == (2, 3)
    assert axes[0, 1].get_title() == "A"
    im = axes[1, 2].images[0]
    assert im.norm.vmin == -im.norm.vmax  # centred at zero
    plt.close(fig)

    fig2, given = plt.subplots(2, 3)
    fig_out, axes_out = plot_attribution_pair(img, img, maps_b, maps_a, ["A", "B"], axes=given)
    assert fig_out is fig2
    assert axes_out.shape == (2, 3)
    with pytest.raises(ValueError, match="axes must have shape"):
        plot_attribution_pair(img, img, maps_b, maps_a, ["A", "B"], axes=given[:, :2])
    plt.close(fig2)


def test_kernel_shap_single_superpixel_is_the_whole_effect():
    model = RegionModel(4, 8).eval()
    x = torch.ones(1, 3, 16, 16)
    one = np.zeros((16, 16), dtype=int)
    with pytest.warns(UserWarning, match="single superpixel"):
        out = attribute(model, x, "kernel_shap", superpixels=one, baseline=0.5)
    np.testing.assert_allclose(out, 4 * 4 * 3 * 0.5)
