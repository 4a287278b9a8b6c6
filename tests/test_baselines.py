"""Tests for propgrad.baselines: attributions, Grad-CAM layers, superpixels (and their plot)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")
pytest.importorskip("skimage")
pytest.importorskip("sklearn")
timm = pytest.importorskip("timm")

from torch import nn  # noqa: E402

from propgrad.baselines import (  # noqa: E402
    METHOD_LABELS,
    METHODS,
    GradCamView,
    attribute,
    attribution_change,
    gradcam_layer,
    last_conv_layer,
    slic_superpixels,
)
from propgrad.baselines.fliptask import TABLE2_COLUMNS  # noqa: E402
from propgrad.models import Classifier, Preprocess, create_classifier  # noqa: E402

torch.set_num_threads(1)

UNIT = Preprocess(16)  # the authors' [-1, 1] scaling
IMAGENET = Preprocess.named(16, "imagenet")


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


def tiny_convmixer() -> nn.Module:
    from propgrad.models.convmixer import ConvMixer

    torch.manual_seed(0)
    model = ConvMixer(dim=8, depth=2, kernel_size=3, patch_size=4, n_classes=2)
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


class Recorder(nn.Module):
    """A linear model that keeps every batch it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.conv(x).mean(dim=(2, 3))


def tiny_vit(**kw) -> nn.Module:
    torch.manual_seed(0)
    options = dict(img_size=32, patch_size=8, depth=2, embed_dim=32, num_heads=2, num_classes=2)
    return timm.create_model("vit_tiny_patch16_224", **{**options, **kw}).eval()


def tiny_swin() -> nn.Module:
    torch.manual_seed(0)
    return timm.create_model(
        "swin_tiny_patch4_window7_224",
        img_size=32,
        window_size=2,
        embed_dim=16,
        depths=(1, 1),
        num_heads=(1, 1),
        num_classes=2,
    ).eval()


@pytest.fixture(scope="module")
def images16():
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 16, 16, generator=g) * 2 - 1


@pytest.fixture(scope="module")
def images32():
    g = torch.Generator().manual_seed(2)
    return torch.randn(2, 3, 32, 32, generator=g)


MODELS = {"cnn": tiny_cnn, "convmixer": tiny_convmixer}


# ---------------------------------------------------------------------------
# attribute
# ---------------------------------------------------------------------------


def test_method_names_and_labels_are_the_papers():
    assert METHODS == (
        "guided_gradcam",
        "integrated_gradients",
        "occlusion",
        "lime",
        "kernel_shap",
        "deeplift",
    )
    assert tuple(METHOD_LABELS[m] for m in ("ours", *METHODS)) == TABLE2_COLUMNS


@pytest.mark.parametrize(("model_name", "method"), list(itertools.product(MODELS, METHODS)))
def test_every_method_returns_finite_maps(model_name, method, images16):
    model = MODELS[model_name]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # captum's hook chatter is filtered inside
        out = attribute(model, images16, method, target=0, seed=0, preprocess=UNIT)
    assert out.shape == (2, 3, 16, 16)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_a_classifier_brings_its_preprocessing(images16):
    net = tiny_convmixer()
    clf = Classifier(net, IMAGENET, "tiny")
    for method in ("occlusion", "lime"):
        via_classifier = attribute(clf, images16, method, seed=0)
        via_module = attribute(net, images16, method, seed=0, preprocess=IMAGENET)
        np.testing.assert_array_equal(via_classifier, via_module)
    # the normalisation matters: the [-1, 1] grey patch is another patch
    assert not np.allclose(
        attribute(clf, images16, "occlusion"),
        attribute(net, images16, "occlusion", preprocess=UNIT),
    )


@pytest.mark.parametrize("method", ["occlusion", "lime", "kernel_shap"])
def test_methods_that_undo_the_normalisation_need_it(method, images16):
    with pytest.raises(ValueError, match="preprocess="):
        attribute(tiny_cnn(), images16, method)
    with pytest.raises(ValueError, match="Preprocess"):
        attribute(tiny_cnn(), images16, method, preprocess=lambda image: image)


def test_methods_that_need_no_normalisation_run_without_it(images16):
    model = tiny_cnn()
    for method in ("guided_gradcam", "integrated_gradients", "deeplift"):
        assert attribute(model, images16, method).shape == (2, 3, 16, 16)
    # explicit baseline / superpixels stand in for the preprocessing
    assert attribute(model, images16, "occlusion", baseline=0.0).shape == (2, 3, 16, 16)
    quads = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 8, 0), 8, 1)
    assert attribute(model, images16, "lime", superpixels=quads, seed=0).shape == (2, 3, 16, 16)


def test_reduce_sum_gives_channel_summed_maps(images16):
    model = tiny_cnn()
    full = attribute(model, images16, "integrated_gradients", n_steps=8)
    summed = attribute(model, images16, "integrated_gradients", n_steps=8, reduce="sum")
    assert summed.shape == (2, 16, 16)
    np.testing.assert_allclose(summed, full.sum(axis=1), rtol=1e-5, atol=1e-8)


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


def test_integrated_gradients_runs_its_path_in_bounded_chunks(images16):
    # 2 images x 50 steps: never more than IG_CHUNK images in one forward pass,
    # and the same map as one pass over the whole path
    from propgrad.baselines.attributions import IG_CHUNK

    model = tiny_cnn()
    sizes = []
    handle = model.register_forward_pre_hook(lambda _, args: sizes.append(args[0].shape[0]))
    chunked = attribute(model, images16, "integrated_gradients", target=0)
    handle.remove()
    assert max(sizes) == IG_CHUNK < 2 * 50
    assert sum(sizes) == 2 * 50
    whole = attribute(model, images16, "integrated_gradients", target=0, internal_batch_size=100)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("target", [0, 1])
def test_deeplift_sums_to_the_change_from_the_zero_baseline(target, images16):
    # DeepLift's summation-to-delta holds exactly for a ReLU network (not for GELU)
    model = tiny_cnn()
    x = images16[:3]
    attr = attribute(model, x, "deeplift", target=target)
    with torch.no_grad():
        gap = model(x)[:, target] - model(torch.zeros_like(x))[:, target]
    np.testing.assert_allclose(attr.sum(axis=(1, 2, 3)), gap.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("normalisation", "grey", "patch_value"),
    [
        ("unit", 0.5, 0.0),  # [-1, 1] inputs: average grey is 0.0 after normalisation
        (((0.0,) * 3, (1.0,) * 3), 0.5, 0.5),  # [0, 1] inputs: the grey value is used as is
        ("unit", 0.25, -0.5),
    ],
)
def test_occlusion_is_local_and_uses_grey(normalisation, grey, patch_value):
    model = RegionModel(12, 16).eval()
    x = torch.ones(1, 3, 32, 32)
    pre = Preprocess.named(32, normalisation)
    out = attribute(model, x, "occlusion", preprocess=pre, grey=grey)
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


def test_imagenet_occlusion_patch_is_grey_in_picture_space():
    recorder = Recorder().eval()
    pre = Preprocess.named(24, "imagenet")
    g = torch.Generator().manual_seed(0)
    x = pre.normalise(torch.rand(1, 3, 24, 24, generator=g) * 0.4)  # a dark picture
    attribute(Classifier(recorder, pre), x, "occlusion", perturbations_per_eval=1)
    occluded = [batch for batch in recorder.seen[1:]]  # the first pass is the unoccluded image
    assert len(occluded) == 25  # windows start at 0, 4, ..., 16 in y and x (the last padded)
    for batch in occluded:
        changed = (batch != x).any(dim=1)[0]  # (H, W)
        assert changed.sum() > 0
        picture = pre.unnormalise(batch)[0]  # (H, W, 3)
        np.testing.assert_allclose(picture[changed.numpy()], 0.5, atol=1e-6)
        np.testing.assert_array_equal(batch[0][:, ~changed], x[0][:, ~changed])
    # the normalised patch value is the ImageNet grey, not 0 (the [-1, 1] grey)
    value = occluded[0][0, :, 0, 0].numpy()
    np.testing.assert_allclose(value, (0.5 - np.array(pre.mean)) / np.array(pre.std), rtol=1e-6)


# ---------------------------------------------------------------------------
# superpixels
# ---------------------------------------------------------------------------


def test_slic_superpixels_are_consecutive_ids(images16):
    masks = slic_superpixels(images16, UNIT)
    assert masks.shape == (2, 16, 16)
    assert masks.dtype == np.int64
    for m in masks:
        ids = np.unique(m)
        np.testing.assert_array_equal(ids, np.arange(ids.size))
        assert 2 <= ids.size <= 256


def _picture(seed: int = 0, size: int = 32) -> np.ndarray:
    """Colour blocks plus noise, uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (4, 4, 3))
    image = np.repeat(np.repeat(blocks, size // 4, 0), size // 4, 1).astype(float)
    return np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)


def test_slic_on_imagenet_inputs_equals_slic_on_the_raw_picture():
    from skimage.segmentation import slic

    raw = np.stack([_picture(0), _picture(1)])
    pre = Preprocess.named(32, "imagenet")
    inputs = pre.batch(raw)
    masks = slic_superpixels(inputs, pre)
    for image, mask in zip(raw, masks):
        seg = slic(image / 255.0, n_segments=100, compactness=1.0, start_label=0, channel_axis=-1)
        _, ids = np.unique(seg, return_inverse=True)
        np.testing.assert_array_equal(mask, ids.reshape(seg.shape))
    # a Classifier stands for its preprocessing
    np.testing.assert_array_equal(slic_superpixels(inputs, Classifier(tiny_cnn(), pre)), masks)
    # reading the same inputs with the wrong normalisation segments another picture
    assert not np.array_equal(slic_superpixels(inputs, Preprocess(32)), masks)


def test_slic_needs_a_preprocess(images16):
    with pytest.raises(ValueError, match="normalisation"):
        slic_superpixels(images16, None)


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


def test_kernel_shap_single_superpixel_is_the_whole_effect():
    model = RegionModel(4, 8).eval()
    x = torch.ones(1, 3, 16, 16)
    one = np.zeros((16, 16), dtype=int)
    with pytest.warns(UserWarning, match="single superpixel"):
        out = attribute(model, x, "kernel_shap", superpixels=one, baseline=0.5)
    np.testing.assert_allclose(out, 4 * 4 * 3 * 0.5)


def test_attribute_validates_arguments(images16):
    model = tiny_cnn()
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribute(model, images16, "saliency")
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        attribute(model, images16[0], "occlusion", preprocess=UNIT)
    with pytest.raises(ValueError, match="reduce"):
        attribute(model, images16, "occlusion", preprocess=UNIT, reduce="mean")
    with pytest.raises(ValueError, match="superpixels"):
        attribute(model, images16, "lime", superpixels=np.zeros((8, 8), dtype=int))
    with pytest.raises(ValueError, match="target"):
        attribute(model, images16, "lime", preprocess=UNIT, target=[0, 1, 0])


def test_training_mode_warns(images16):
    model = tiny_cnn().train()
    with pytest.warns(UserWarning, match="training mode"):
        attribute(model, images16, "integrated_gradients", n_steps=4)


# ---------------------------------------------------------------------------
# Grad-CAM layers per architecture family
# ---------------------------------------------------------------------------


def _name(model, layer):
    return next(n for n, m in model.named_modules() if m is layer)


@pytest.mark.parametrize(
    ("arch", "input_size", "expected"),
    [
        ("resnet18", None, "layer4.1.conv2"),  # probe at timm's 224
        ("seresnet18", 64, "layer4.1.conv2"),  # not the squeeze-excite conv se.fc2 (1 x 1)
        ("efficientnet_b0", 64, "conv_head"),
        ("mobilenetv3_small_050", 64, "blocks.5.0.conv"),  # conv_head runs after the pooling
        ("convnext_atto", 64, "stages.3.blocks.1.mlp.fc2"),
        ("densenet121", 64, "features.denseblock4.denselayer16.conv2"),
    ],
)
def test_gradcam_layer_of_timm_cnns(arch, input_size, expected):
    torch.manual_seed(0)
    model = timm.create_model(arch, num_classes=2).eval()
    chosen = gradcam_layer(model, input_size=input_size)
    assert chosen.family == "cnn"
    assert chosen.model is model
    assert _name(model, chosen.layer) == expected
    assert expected in chosen.description
    assert last_conv_layer(model, input_size) is chosen.layer


def test_gradcam_layer_skips_convs_on_one_pixel_maps():
    # at 32 px an EfficientNet's conv_head sees a 1 x 1 map: Grad-CAM of it is constant
    torch.manual_seed(0)
    model = timm.create_model("efficientnet_b0", num_classes=2).eval()
    name = _name(model, gradcam_layer(model, input_size=32).layer)
    assert name != "conv_head"
    assert name.startswith("blocks.")


def test_gradcam_layer_of_the_convmixer_and_a_classifier():
    mixer = tiny_convmixer()
    convs = [m for m in mixer.modules() if isinstance(m, nn.Conv2d)]
    assert gradcam_layer(mixer, 32).layer is convs[-1]  # the last pointwise conv
    clf = create_classifier("convmixer", 2, dim=8, depth=2, kernel_size=3, patch_size=4)
    chosen = gradcam_layer(clf)  # probed at the classifier's own size (224)
    assert chosen.model is clf.model
    assert _name(clf.model, chosen.layer) == "4.1"  # the pointwise conv of the last block
    model = tiny_cnn()
    assert last_conv_layer(model) is model[2]


def test_guided_gradcam_uses_the_chosen_layer_by_default(images16):
    model = tiny_cnn()
    default = attribute(model, images16, "guided_gradcam")
    explicit = attribute(model, images16, "guided_gradcam", layer=model[2])
    first = attribute(model, images16, "guided_gradcam", layer=model[0])
    np.testing.assert_array_equal(default, explicit)
    assert not np.allclose(default, first)


def test_gradcam_layer_needs_a_conv_outside_a_patch_embedding():
    with pytest.raises(ValueError, match="no torch.nn.Conv2d"):
        gradcam_layer(nn.Sequential(nn.Flatten(), nn.Linear(3, 2)))

    class Unknown(nn.Module):  # a transformer-like model that gradcam_layer does not know
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Module()
            self.patch_embed.proj = nn.Conv2d(3, 8, 8, stride=8)
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.patch_embed.proj(x).mean(dim=(2, 3)))

    with pytest.raises(ValueError, match="patch embedding"):
        gradcam_layer(Unknown())


@pytest.mark.parametrize("pool", ["token", "avg"])
def test_vit_view_is_the_model_and_exposes_a_token_map(pool, images32):
    vit = tiny_vit(global_pool=pool)
    chosen = gradcam_layer(vit)
    assert chosen.family == "vit"
    assert isinstance(chosen.model, GradCamView)
    assert chosen.layer is chosen.model.token_map
    assert "blocks.1" in chosen.description  # the tokens entering the last block
    with torch.no_grad():
        expected = vit(images32)
        got = chosen.model(images32)
    assert torch.equal(got, expected)  # bit for bit
    maps = []
    handle = chosen.layer.register_forward_hook(lambda m, a, out: maps.append(out.shape))
    with torch.no_grad():
        chosen.model(images32)
    handle.remove()
    assert maps == [torch.Size([2, 32, 4, 4])]  # (B, D, h, w): 32 px / patch 8
    # the hooks are gone after the forward pass: the model itself is untouched
    assert not vit.blocks[-1]._forward_pre_hooks


def test_vit_patch_tokens_leaving_the_last_block_carry_no_gradient(images32):
    # why the map is taken *before* the last block: with class-token pooling the
    # patch tokens after it never reach the head, so Grad-CAM there is exactly 0
    vit = tiny_vit()
    kept = []
    handle = vit.blocks[-1].register_forward_hook(lambda m, a, out: kept.append(out) or None)
    x = images32[:1]
    logit = vit(x)[0, 0]
    handle.remove()
    (grad,) = torch.autograd.grad(logit, kept[0])
    assert torch.count_nonzero(grad[:, vit.num_prefix_tokens :]) == 0
    assert torch.count_nonzero(grad[:, : vit.num_prefix_tokens]) > 0


@pytest.mark.parametrize("make", [tiny_vit, tiny_swin], ids=["vit", "swin"])
def test_transformer_guided_gradcam_runs_and_is_not_zero(make, images32):
    model = make()
    out = attribute(model, images32, "guided_gradcam", target=0)
    assert out.shape == (2, 3, 32, 32)
    assert np.all(np.isfinite(out))
    assert np.count_nonzero(out) > 0
    assert all(np.count_nonzero(out[i]) > 0 for i in range(2))


def test_swin_view_is_the_model(images32):
    swin = tiny_swin()
    chosen = gradcam_layer(swin)
    assert chosen.family == "swin"
    with torch.no_grad():
        assert torch.equal(chosen.model(images32), swin(images32))


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
    clf = Classifier(model, UNIT)
    same = attribution_change(clf, images16, images16.clone(), method, **kw)
    diff = attribution_change(clf, images16, after, method, **kw)
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


def test_attribution_change_validates(images16):
    with pytest.raises(ValueError, match="same shape"):
        attribution_change(tiny_cnn(), images16, images16[:1], "deeplift")
    with pytest.raises(ValueError, match="preprocess="):
        attribution_change(tiny_cnn(), images16, images16, "lime")


# ---------------------------------------------------------------------------
# the figure (propgrad.plots.plot_attribution_pair)
# ---------------------------------------------------------------------------


def test_plot_attribution_pair_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from propgrad.plots import plot_attribution_pair

    rng = np.random.default_rng(0)
    x = IMAGENET.normalise(torch.rand(1, 3, 16, 16))
    img = IMAGENET.unnormalise(x)[0]  # callers un-normalise first: (H, W, 3)
    maps_b = [rng.normal(size=(3, 16, 16)), rng.normal(size=(16, 16))]
    maps_a = [rng.normal(size=(3, 16, 16)), rng.normal(size=(16, 16))]
    fig, axes = plot_attribution_pair(img, img.transpose(2, 0, 1), maps_b, maps_a, ["A", "B"])
    assert axes.shape == (2, 3)
    assert axes[0, 1].get_title() == "A"
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(), img)
    im = axes[1, 2].images[0]
    assert im.norm.vmin == -im.norm.vmax  # centred at zero
    plt.close(fig)

    fig2, given = plt.subplots(2, 3)
    fig_out, axes_out = plot_attribution_pair(img, img, maps_b, maps_a, ["A", "B"], axes=given)
    assert fig_out is fig2
    assert axes_out.shape == (2, 3)
    with pytest.raises(ValueError, match="axes must have shape"):
        plot_attribution_pair(img, img, maps_b, maps_a, ["A", "B"], axes=given[:, :2])
    with pytest.raises(ValueError, match="one map per label"):
        plot_attribution_pair(img, img, maps_b[:1], maps_a, ["A", "B"], axes=given)
    plt.close(fig2)


def test_plot_attributions_in_one_call():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from propgrad.baselines import plot_attributions

    pre = Preprocess.named(32, "imagenet")
    clf = Classifier(tiny_convmixer(), pre)
    before, after = _picture(0), _picture(1)
    fig, axes = plot_attributions(clf, before, after, ["occlusion", "lime"], n_samples=20)
    assert axes.shape == (2, 3)
    assert [ax.get_title() for ax in axes[0, 1:]] == ["Occlusion", "LIME"]
    # the pictures are shown un-normalised, as they were given
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(), before / 255.0, atol=1e-6)
    np.testing.assert_allclose(axes[1, 0].images[0].get_array(), after / 255.0, atol=1e-6)
    # the maps are the channel-summed attributions of the preprocessed pictures
    expected = attribute(clf, pre.batch(np.stack([before, after])), "occlusion", reduce="sum")
    np.testing.assert_allclose(axes[1, 1].images[0].get_array(), expected[1], rtol=1e-4, atol=1e-7)
    plt.close(fig)
    with pytest.raises(ValueError, match="preprocess="):
        plot_attributions(clf.model, before, after, ["occlusion"])
