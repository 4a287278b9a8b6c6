"""Tests for propgrad.models.classifier: architectures by name, weights files, identities."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from propgrad.models.classifier import (  # noqa: E402
    Classifier,
    as_classifier,
    create_classifier,
    load_checkpoint,
    model_identity,
    read_state_dict,
)
from propgrad.models.convmixer import ConvMixer  # noqa: E402
from propgrad.models.preprocess import Preprocess  # noqa: E402

TINY_MIXER = {"dim": 8, "depth": 1, "kernel_size": 3, "patch_size": 4}
TINY_VIT = {"img_size": 32, "patch_size": 8, "depth": 1, "embed_dim": 32, "num_heads": 2}


def _mixer(**overrides):
    return create_classifier("convmixer", 2, **{**TINY_MIXER, **overrides})


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], rtol=0, atol=0, msg=key)


def _differs(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return any(not torch.equal(sa[k], sb[k]) for k in sa if sa[k].is_floating_point())


@pytest.fixture(scope="module")
def imagenet_resnet18(tmp_path_factory):
    """A 1000-class timm resnet18 (random init, seeded) written as a local weights file."""
    path = tmp_path_factory.mktemp("weights") / "resnet18-imagenet.pth"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        model = timm.create_model("resnet18", num_classes=1000)
    torch.save(model.state_dict(), path)
    return path, model.state_dict()


# ---------------------------------------------------------------- preprocessing


def test_timm_preprocessing_comes_from_timm_data_config():
    clf = create_classifier("resnet18", 3)
    config = timm.data.resolve_model_data_config(clf.model)
    pre = clf.preprocess
    assert pre.size == tuple(config["input_size"][-2:]) == (224, 224)
    assert pre.mean == pytest.approx(config["mean"]) and pre.std == pytest.approx(config["std"])
    assert pre.interpolation == config["interpolation"] == "bicubic"
    assert pre == Preprocess.named(224, "imagenet", "bicubic")
    assert clf.name == "resnet18" and clf.class_names is None
    assert not clf.model.training
    assert clf.model.fc.out_features == 3


def test_tiny_vit_preprocessing_comes_from_timm_data_config():
    clf = create_classifier("vit_tiny_patch16_224", 2, **TINY_VIT)
    config = timm.data.resolve_model_data_config(clf.model)
    # timm's data config says 224, but the model was built with img_size=32: that wins
    assert config["input_size"][-2:] == (224, 224)
    assert clf.preprocess.size == (TINY_VIT["img_size"],) * 2
    assert clf.preprocess.mean == pytest.approx(config["mean"]) == (0.5, 0.5, 0.5)
    assert clf.preprocess.std == pytest.approx(config["std"])
    assert clf.preprocess.interpolation == config["interpolation"]
    assert clf.spec["model_kwargs"] == TINY_VIT


def test_tiny_vit_at_its_own_size_runs_on_its_preprocessing():
    clf = create_classifier("vit_tiny_patch16_224", 2, image_size=32, **TINY_VIT)
    assert clf.preprocess.size == (32, 32)
    images = np.random.default_rng(0).integers(0, 256, (2, 50, 40, 3), dtype=np.uint8)
    with torch.no_grad():
        out = clf(clf.preprocess.batch(images))
    assert out.shape == (2, 2) and torch.isfinite(out).all()


def test_preprocessing_overrides():
    clf = create_classifier(
        "resnet18", 2, image_size=(64, 48), normalisation="unit", interpolation="bilinear"
    )
    assert clf.preprocess == Preprocess((64, 48), 0.5, 0.5, "bilinear")
    assert clf.spec["image_size"] == [64, 48]
    assert clf.spec["normalisation"] == [[0.5] * 3, [0.5] * 3]
    assert clf.spec["interpolation"] == "bilinear"
    explicit = create_classifier("resnet18", 2, normalisation=((0.1, 0.2, 0.3), (0.4, 0.5, 0.6)))
    assert explicit.preprocess.mean == (0.1, 0.2, 0.3)
    assert explicit.preprocess.std == (0.4, 0.5, 0.6)
    assert explicit.preprocess.interpolation == "bicubic"  # timm's, not overridden
    with pytest.raises(ValueError, match="unknown normalisation 'cifar'"):
        create_classifier("resnet18", 2, normalisation="cifar")


def test_convmixer_defaults_to_unit_normalisation():
    clf = _mixer()
    assert isinstance(clf.model, ConvMixer)
    assert clf.preprocess == Preprocess.named(224, "unit", "bilinear")
    assert clf.spec["model_kwargs"] == TINY_MIXER
    assert clf.spec["arch"] == "convmixer" and clf.spec["num_classes"] == 2
    small = _mixer(image_size=16)
    assert small.preprocess.size == (16, 16)
    out = small(small.preprocess.batch(np.zeros((3, 16, 16, 3), dtype=np.uint8)))
    assert out.shape == (3, 2)
    # model_kwargs is the same as keyword arguments
    other = create_classifier("convmixer", 2, model_kwargs=TINY_MIXER)
    _assert_same_weights(other.model, clf.model)


def test_convmixer_bad_arguments():
    with pytest.raises(ValueError, match="convmixer: .*missing 4 required"):
        create_classifier("convmixer", 2)
    with pytest.raises(ValueError, match="convmixer: .*unexpected keyword argument 'width'"):
        _mixer(width=3)
    with pytest.raises(ValueError, match="the propgrad ConvMixer has no pretrained weights"):
        create_classifier("convmixer", 2, pretrained=__file__, **TINY_MIXER)


def test_timm_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match=r"cannot build resnet18: .*unexpected keyword.*'width'"):
        create_classifier("resnet18", 2, width=3)


def test_unknown_arch_suggests_close_names():
    with pytest.raises(ValueError, match=r"unknown architecture 'resnt18'; did you mean resnet18"):
        create_classifier("resnt18", 2)
    with pytest.raises(ValueError, match="did you mean convmixer"):
        create_classifier("convmixr", 2)
    with pytest.raises(ValueError, match=r"'zzqqxxkk' \(see timm.list_models\(\)\)"):
        create_classifier("zzqqxxkk", 2)


def test_class_names_and_num_classes():
    clf = _mixer(class_names=["cat", "dog"], name="pets")
    assert clf.class_names == ("cat", "dog") and clf.name == "pets"
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        _mixer(class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="num_classes must be at least 1, got 0"):
        create_classifier("convmixer", 0, **TINY_MIXER)


def test_call_eval_and_to():
    clf = _mixer(image_size=16)
    clf.model.train()
    assert clf.eval() is clf and not clf.model.training
    assert clf.to("cpu") is clf
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(clf(x), clf.model(x))


# ---------------------------------------------------------------- seeds


def test_seed_makes_initial_weights_reproducible():
    _assert_same_weights(_mixer(seed=5).model, _mixer(seed=5).model)
    assert _differs(_mixer(seed=5).model, _mixer(seed=6).model)
    a = create_classifier("resnet18", 2, seed=1)
    b = create_classifier("resnet18", 2, seed=1)
    _assert_same_weights(a.model, b.model)
    assert a.identity == b.identity
    assert a.identity != create_classifier("resnet18", 2, seed=2).identity


def test_seed_does_not_disturb_global_rng():
    torch.manual_seed(42)
    expected = torch.rand(5)
    torch.manual_seed(42)
    _mixer(seed=3)
    create_classifier("resnet18", 2, seed=3)
    torch.testing.assert_close(torch.rand(5), expected)


def test_seed_none_uses_the_global_generator():
    torch.manual_seed(9)
    a = _mixer(seed=None)
    torch.manual_seed(9)
    b = _mixer(seed=None)
    _assert_same_weights(a.model, b.model)
    torch.manual_seed(9)
    torch.rand(1)  # the generator has moved on
    assert _differs(_mixer(seed=None).model, a.model)


# ---------------------------------------------------------------- weights files


def test_pretrained_file_gives_backbone_and_new_head(imagenet_resnet18):
    path, state = imagenet_resnet18
    clf = create_classifier("resnet18", 3, pretrained=path)
    loaded = clf.model.state_dict()
    assert tuple(loaded["fc.weight"].shape) == (3, 512)
    assert tuple(loaded["fc.bias"].shape) == (3,)
    backbone = [k for k in state if not k.startswith("fc.")]
    assert len(backbone) == len(loaded) - 2
    for key in backbone:
        torch.testing.assert_close(loaded[key], state[key], rtol=0, atol=0, msg=key)
    # a random-init model of the same seed does not have these weights
    assert not torch.equal(
        create_classifier("resnet18", 3).model.conv1.weight, state["conv1.weight"]
    )
    record = clf.spec["pretrained"]
    assert record["file"] == str(path.resolve()) and len(record["sha256"]) == 64
    assert clf.spec["checkpoint"] is None


def test_pretrained_with_1000_classes_keeps_the_head(imagenet_resnet18):
    path, state = imagenet_resnet18
    clf = create_classifier("resnet18", 1000, pretrained=path)
    torch.testing.assert_close(clf.model.fc.weight, state["fc.weight"], rtol=0, atol=0)


def test_pretrained_missing_or_unreadable(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pretrained weights for resnet18 .*nope\.pth"):
        create_classifier("resnet18", 2, pretrained=tmp_path / "nope.pth")
    garbage = tmp_path / "passwd.pth"
    garbage.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ValueError, match=r"cannot build resnet18 from .*passwd\.pth") as info:
        create_classifier("resnet18", 2, pretrained=garbage)
    assert "\n" not in str(info.value)
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(ValueError, match=r"cannot build resnet18 from .*tensor\.pth"):
        create_classifier("resnet18", 2, pretrained=tensor)


def test_checkpoint_that_fits_loads_exactly(tmp_path):
    source = _mixer(seed=11)
    path = tmp_path / "weights.pt"
    torch.save(source.model.state_dict(), path)
    clf = _mixer(checkpoint=path)  # built with the default seed 0, then loaded
    _assert_same_weights(clf.model, source.model)
    assert clf.spec["checkpoint"]["file"] == str(path.resolve())
    from propgrad.assets import file_sha256

    assert clf.spec["checkpoint"]["sha256"] == file_sha256(path)
    assert clf.spec["pretrained"] is None


def test_checkpoint_after_pretrained(tmp_path, imagenet_resnet18):
    pretrained, _ = imagenet_resnet18
    fine_tuned = create_classifier("resnet18", 2, seed=4)
    path = tmp_path / "fine.pt"
    torch.save(fine_tuned.model.state_dict(), path)
    clf = create_classifier("resnet18", 2, pretrained=pretrained, checkpoint=path)
    _assert_same_weights(clf.model, fine_tuned.model)


def test_misfit_checkpoint_names_file_and_first_key(tmp_path):
    state = _mixer().model.state_dict()
    missing = {k: v for k, v in state.items() if k != "0.weight"}
    path = tmp_path / "missing.pt"
    torch.save(missing, path)
    with pytest.raises(
        ValueError,
        match=r"missing\.pt does not fit convmixer: first missing key '0\.weight' \(1 missing\)$",
    ):
        _mixer(checkpoint=path)

    extra = {**state, "extra.weight": torch.zeros(1), "extra.bias": torch.zeros(1)}
    path = tmp_path / "extra.pt"
    torch.save(extra, path)
    with pytest.raises(ValueError, match=r"extra\.pt .*first unexpected key 'extra\.weight' \(2 "):
        _mixer(checkpoint=path)

    wide = _mixer(dim=16).model.state_dict()
    path = tmp_path / "wide.pt"
    torch.save(wide, path)
    with pytest.raises(
        ValueError,
        match=r"wide\.pt does not fit convmixer: '0\.weight' has shape \(16, 3, 4, 4\) in the "
        r"file but \(8, 3, 4, 4\) in the model",
    ):
        _mixer(checkpoint=path)


def test_misfit_timm_checkpoint_reports_shape(tmp_path):
    path = tmp_path / "three.pt"
    torch.save(create_classifier("resnet18", 3).model.state_dict(), path)
    with pytest.raises(
        ValueError, match=r"'fc\.weight' has shape \(3, 512\) in the file but \(2, 512\)"
    ):
        create_classifier("resnet18", 2, checkpoint=path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"checkpoint file not found: .*absent\.pt"):
        _mixer(checkpoint=tmp_path / "absent.pt")
    with pytest.raises(FileNotFoundError, match=r"checkpoint not found: .*absent\.pt"):
        read_state_dict(tmp_path / "absent.pt")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: torch.zeros(3), r"does not hold a state dict .*; found Tensor$"),
        (lambda: {"name": "x", "epoch": "3"}, r"found a dict with keys \['epoch', 'name'\]$"),
        (lambda: {}, r"found a dict with keys \[\]$"),
        (lambda: {"w": torch.zeros(1), "note": "x"}, r"found a dict with keys \['note', 'w'\]"),
    ],
)
def test_file_without_state_dict(tmp_path, content, message):
    path = tmp_path / "odd.pt"
    torch.save(content(), path)
    with pytest.raises(ValueError, match=message) as info:
        read_state_dict(path)
    assert str(info.value).startswith(f"{path} ")
    with pytest.raises(ValueError, match=r"odd\.pt does not hold a state dict"):
        _mixer(checkpoint=path)


def test_garbage_file_is_one_line_error(tmp_path):
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/false\n")
    with pytest.raises(
        ValueError, match=r"cannot read the checkpoint .*passwd: it is not a"
    ) as info:
        read_state_dict(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"cannot read the checkpoint .*passwd"):
        _mixer(checkpoint=path)


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.pt"
    torch.save(_mixer().model.state_dict(), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cannot read the checkpoint .*cut\.pt.*truncated"):
        read_state_dict(path)


def test_wrapped_and_prefixed_state_dicts(tmp_path):
    model = _mixer(seed=2).model
    state = model.state_dict()
    for key in ("state_dict", "model", "model_state_dict"):
        path = tmp_path / f"{key}.pt"
        torch.save({key: state, "epoch": 7}, path)
        read = read_state_dict(path)
        assert list(read) == list(state)
    path = tmp_path / "parallel.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    read = read_state_dict(path)
    assert list(read) == list(state)
    _assert_same_weights(_mixer(checkpoint=path).model, model)
    # a prefix only some keys have is kept
    mixed = {"module.a": torch.zeros(1), "b": torch.zeros(1)}
    torch.save(mixed, path)
    assert sorted(read_state_dict(path)) == ["b", "module.a"]


def test_safetensors_files_load(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    model = _mixer(seed=8).model
    path = tmp_path / "weights.safetensors"
    safetensors.save_file(model.state_dict(), str(path))
    _assert_same_weights(_mixer(checkpoint=path).model, model)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError, match=r"cannot read the checkpoint .*bad\.safetensors"):
        read_state_dict(bad)


def test_load_checkpoint_into_a_module(tmp_path):
    source = ConvMixer(n_classes=2, **TINY_MIXER)
    path = tmp_path / "m.pt"
    torch.save(source.state_dict(), path)
    target = ConvMixer(n_classes=2, **TINY_MIXER)
    assert load_checkpoint(target, path) is target
    _assert_same_weights(target, source)
    with pytest.raises(
        ValueError,
        match=r"m\.pt does not fit ConvMixer: '6\.weight' has shape \(2, 8\) in the file "
        r"but \(3, 8\) in the model",
    ):
        load_checkpoint(ConvMixer(n_classes=3, **TINY_MIXER), path)
    with pytest.raises(ValueError, match=r"m\.pt does not fit mixer-3:"):
        load_checkpoint(ConvMixer(n_classes=3, **TINY_MIXER), path, arch="mixer-3")


# ---------------------------------------------------------------- identities


def test_identity_follows_checkpoint_content_not_location(tmp_path):
    path = tmp_path / "a" / "weights.pt"
    path.parent.mkdir()
    torch.save(_mixer(seed=1).model.state_dict(), path)
    first = _mixer(checkpoint=path)
    copy = tmp_path / "b" / "renamed.pt"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    moved = _mixer(checkpoint=copy)
    assert moved.spec["checkpoint"]["file"] != first.spec["checkpoint"]["file"]
    assert moved.identity == first.identity
    assert len(first.identity) == 16
    torch.save(_mixer(seed=2).model.state_dict(), copy)
    assert _mixer(checkpoint=copy).identity != first.identity
    # and it differs from the same architecture without the checkpoint
    assert _mixer().identity != first.identity


def test_identity_follows_preprocessing_and_spec():
    base = _mixer()
    assert base.identity == _mixer().identity
    assert _mixer(image_size=16).identity != base.identity
    assert _mixer(normalisation="imagenet").identity != base.identity
    assert create_classifier("convmixer", 3, **TINY_MIXER).identity != base.identity
    # display names and class names are not part of it
    assert _mixer(name="other", class_names=("a", "b")).identity == base.identity


def test_model_identity_hashes_weights():
    a = ConvMixer(n_classes=2, **TINY_MIXER)
    b = ConvMixer(n_classes=2, **TINY_MIXER)
    b.load_state_dict(a.state_dict())
    assert model_identity(a) == model_identity(b)
    assert len(model_identity(a)) == 16
    with torch.no_grad():
        b[0].weight[0, 0, 0, 0] += 1e-3
    assert model_identity(a) != model_identity(b)
    # buffers count too
    c = ConvMixer(n_classes=2, **TINY_MIXER)
    c.load_state_dict(a.state_dict())
    c[2].running_mean += 1
    assert model_identity(c) != model_identity(a)
    # a classifier without a spec falls back to it
    assert Classifier(a, Preprocess(16)).identity == model_identity(a)


def test_with_weights_gives_new_classifier(tmp_path):
    base = _mixer(class_names=("cat", "dog"), name="mixer", image_size=16)
    other = _mixer(seed=7)
    copy = base.with_weights(other.model.state_dict(), epoch=3)
    assert copy is not base and copy.model is not base.model
    _assert_same_weights(copy.model, other.model)
    assert _differs(copy.model, base.model)  # the original is left alone
    assert copy.preprocess == base.preprocess
    assert copy.class_names == ("cat", "dog") and copy.name == "mixer"
    assert copy.spec["epoch"] == 3
    assert copy.identity != base.identity
    assert not copy.model.training
    # without spec updates the identity still differs (it includes the weights)
    plain = base.with_weights(other.model.state_dict())
    assert plain.identity != base.identity
    assert plain.identity == base.with_weights(other.model.state_dict()).identity
    assert base.with_weights(base.model.state_dict(), epoch=3).identity != copy.identity


def test_with_weights_checks_fit_and_spec():
    base = _mixer()
    with pytest.raises(
        ValueError,
        match=r"the given weights does not fit convmixer: '6\.weight' has shape \(3, 8\)",
    ):
        base.with_weights(create_classifier("convmixer", 3, **TINY_MIXER).model.state_dict())
    bare = Classifier(ConvMixer(n_classes=2, **TINY_MIXER), Preprocess(16))
    with pytest.raises(ValueError, match="with_weights needs a classifier built by create_"):
        bare.with_weights(bare.model.state_dict())


def test_as_classifier():
    clf = _mixer()
    assert as_classifier(clf) is clf
    assert as_classifier(clf, clf.preprocess) is clf
    other_pre = Preprocess(16)
    swapped = as_classifier(clf, other_pre)
    assert isinstance(swapped, Classifier) and swapped is not clf
    assert swapped.preprocess == other_pre and swapped.model is clf.model
    assert clf.preprocess.size == (224, 224)  # the original keeps its own

    def custom(image):
        return torch.zeros(3, 4, 4)

    assert as_classifier(clf, custom) == (clf.model, custom)
    module = ConvMixer(n_classes=2, **TINY_MIXER)
    wrapped = as_classifier(module, other_pre)
    assert isinstance(wrapped, Classifier)
    assert wrapped.model is module and wrapped.name == "ConvMixer"
    assert as_classifier(module, custom) == (module, custom)

    def fn(x):
        return x

    assert as_classifier(fn, other_pre) == (fn, other_pre)
