"""Tests for propgrad.models.clip: zero-shot similarities of open_clip models from local files.

Every model here is a tiny open_clip CLIP built from a config with random
weights (seeded), so the tests need no downloads and run in seconds.
"""

from __future__ import annotations

import json

import numpy as np
import open_clip
import pytest
import torch

from propgrad.models import clip as zs
from propgrad.models.clip import (
    ClipModel,
    descriptor_stats,
    ensemble_embeddings,
    load_clip,
    text_embeddings,
    zero_shot_clip,
)
from propgrad.prediction import predict_sweeps
from propgrad.sweep import Sweep

TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 12, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}
DESCRIPTORS = {
    "elephant": ("toy elephant", "gray elephant", "elephant tusk"),
    "giraffe": ("toy giraffe", "tall giraffe"),
    "frog": ("green {frog}",),  # braces must survive the ensemble's format strings
}


@pytest.fixture(scope="module")
def tiny() -> ClipModel:
    torch.manual_seed(0)
    return load_clip(model_cfg=TINY)


@pytest.fixture(scope="module")
def zero_shot(tiny):
    return zero_shot_clip(tiny, DESCRIPTORS)


def images(n: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_preprocessing_comes_from_the_model(tiny):
    assert tiny.preprocess.size == (32, 32)
    assert tiny.preprocess.mean == pytest.approx(zs.CLIP_MEAN)
    assert tiny.preprocess.std == pytest.approx(zs.CLIP_STD)
    assert tiny.preprocess.interpolation == "bicubic"
    assert tiny.tokenizer(["a b"]).shape == (1, 12)
    assert tiny.spec["weights"].keys() == {"random"}


def test_similarities_are_cosines(zero_shot):
    sims = zero_shot.classifier("descriptors")(images()).detach().numpy()
    assert sims.shape == (5, 6)
    assert np.all(sims >= -1 - 1e-6) and np.all(sims <= 1 + 1e-6)
    # the same numbers from the raw open_clip model
    model, tok = zero_shot.clip.model, zero_shot.clip.tokenizer
    with torch.no_grad():
        image = model.encode_image(images(), normalize=True)
        text = model.encode_text(tok(list(zero_shot.texts)), normalize=True)
    np.testing.assert_allclose(sims, (image @ text.T).numpy(), atol=1e-5)


def test_class_means_and_stats_over_descriptors(zero_shot):
    sims = zero_shot.classifier("descriptors")(images()).detach().numpy()
    means = zero_shot.classifier("class_mean")(images()).detach().numpy()
    assert means.shape == (5, 3)
    np.testing.assert_allclose(means[:, 0], sims[:, :3].mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(means[:, 1], sims[:, 3:5].mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(means[:, 2], sims[:, 5], atol=1e-6)
    stats = zero_shot.stats(sims)
    np.testing.assert_allclose(stats.mean, means, atol=1e-6)
    np.testing.assert_allclose(stats.std[:, 0], sims[:, :3].std(axis=1), atol=1e-12)
    np.testing.assert_allclose(stats.min[:, 1], sims[:, 3:5].min(axis=1))
    np.testing.assert_allclose(stats.max[:, 1], sims[:, 3:5].max(axis=1))
    assert np.all(stats.std[:, 2] == 0)  # a single descriptor
    assert set(stats.of("giraffe")) == {"mean", "std", "min", "max"}


def test_descriptor_stats_by_hand():
    s = descriptor_stats([[0.1, 0.3, 0.5], [0.0, 0.2, -0.4]], [0, 0, 1], ["a", "b"])
    np.testing.assert_allclose(s.mean, [[0.2, 0.5], [0.1, -0.4]])
    np.testing.assert_allclose(s.std, [[0.1, 0.0], [0.1, 0.0]])
    np.testing.assert_allclose(s.min, [[0.1, 0.5], [0.0, -0.4]])
    assert s.classes == ("a", "b")
    with pytest.raises(ValueError, match="descriptors on their last axis"):
        descriptor_stats([[0.1, 0.2]], [0, 0, 1])
    with pytest.raises(ValueError, match="has no descriptor"):
        descriptor_stats([[0.1, 0.2]], [0, 0], ["a", "b"])
    with pytest.raises(ValueError, match="unknown class"):
        s.of("c")


def test_descriptor_embeddings_are_open_clips_zero_shot_classifier(tiny, zero_shot):
    texts = list(zero_shot.texts)
    expected = open_clip.build_zero_shot_classifier(tiny.model, tiny.tokenizer, texts, ["{}"])
    np.testing.assert_allclose(zero_shot.text_features.numpy(), expected.T.numpy(), atol=1e-6)
    norms = torch.linalg.norm(zero_shot.text_features, dim=1)
    np.testing.assert_allclose(norms.numpy(), 1.0, atol=1e-5)


def test_prompt_ensemble_equals_open_clips_classifier(tiny, zero_shot):
    for i, (name, texts) in enumerate(DESCRIPTORS.items()):
        literal = [t.replace("{", "{{").replace("}", "}}") for t in texts]
        expected = open_clip.build_zero_shot_classifier(tiny.model, tiny.tokenizer, [name], literal)
        np.testing.assert_allclose(
            zero_shot.ensemble_features[i].numpy(), expected[:, 0].numpy(), atol=1e-6
        )
    # and by hand: the normalised mean of the normalised descriptor embeddings
    with torch.no_grad():
        e = tiny.model.encode_text(tiny.tokenizer(list(DESCRIPTORS["elephant"])), normalize=True)
    mean = e.mean(0) / e.mean(0).norm()
    np.testing.assert_allclose(zero_shot.ensemble_features[0].numpy(), mean.numpy(), atol=1e-5)
    # the "ensemble" output scores images against it
    x = images()
    out = zero_shot.classifier("ensemble")(x).detach()
    with torch.no_grad():
        image = tiny.model.encode_image(x, normalize=True)
    np.testing.assert_allclose(
        out.numpy(), (image @ zero_shot.ensemble_features.T).numpy(), atol=1e-5
    )


def test_templates_average_each_descriptor(tiny):
    templates = ("a photo of a {}.", "a rendering of a {}.")
    text = text_embeddings(tiny.model, tiny.tokenizer, ["frog", "toad"], templates)
    with torch.no_grad():
        e = tiny.model.encode_text(
            tiny.tokenizer([t.format("frog") for t in templates]), normalize=True
        )
    expected = e.mean(0) / e.mean(0).norm()
    np.testing.assert_allclose(text[0].numpy(), expected.numpy(), atol=1e-5)
    ensemble = ensemble_embeddings(tiny.model, tiny.tokenizer, {"frog": ["frog"]}, templates)
    np.testing.assert_allclose(ensemble[0].numpy(), expected.numpy(), atol=1e-5)


def test_classifiers_work_with_predict_sweeps_and_score_models(zero_shot):
    import propgrad

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (12, 40, 40, 3), dtype=np.uint8)
    sweep = Sweep(list(frames), np.arange(12) * 30.0, "angle (degrees)")
    classifier = zero_shot.classifier()
    assert classifier.class_names == ("elephant", "giraffe", "frog")
    outputs = predict_sweeps(classifier, [sweep], softmax=False, progress=False)
    assert outputs.shape == (1, 12, 3)
    again = predict_sweeps(classifier, [sweep], softmax=False, progress=False)
    np.testing.assert_array_equal(outputs, again)
    embeddings = predict_sweeps(
        zero_shot.classifier("embedding"), [sweep], softmax=False, progress=False
    )
    assert embeddings.shape == (1, 12, 16)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=-1), 1.0, atol=1e-5)
    stats = zero_shot.stats(zero_shot.similarities(embeddings))
    np.testing.assert_allclose(stats.mean, outputs, atol=1e-5)
    scores = propgrad.score_models(
        {"clip": classifier},
        {"turn": [sweep]},
        target="giraffe",
        softmax=False,
        n_permutations=99,
        progress=False,
        periodic=True,
    )
    behaviour = scores["clip", "turn"]
    assert behaviour.expected_property_gradient >= 0 and 0 < behaviour.p_value <= 1
    np.testing.assert_allclose(behaviour.mean_curve, outputs[0, :, 1])


def test_identities_tell_outputs_and_texts_apart(tiny, zero_shot):
    ids = {zero_shot.classifier(o).identity for o in zs.OUTPUTS}
    assert len(ids) == len(zs.OUTPUTS)
    other = zero_shot_clip(tiny, {**DESCRIPTORS, "frog": ("frog",)})
    assert other.classifier().identity != zero_shot.classifier().identity
    assert (
        zero_shot_clip(tiny, DESCRIPTORS).classifier().identity == zero_shot.classifier().identity
    )


def test_loads_weights_from_a_local_file(tmp_path, tiny):
    path = tmp_path / "tiny.pt"
    torch.save(tiny.model.state_dict(), path)
    loaded = load_clip(model_cfg=TINY, pretrained=path)
    assert loaded.spec["weights"]["file"] == str(path)
    assert len(loaded.spec["weights"]["sha256"]) == 64
    x = images()
    with torch.no_grad():
        np.testing.assert_allclose(
            loaded.model.encode_image(x).numpy(), tiny.model.encode_image(x).numpy(), atol=1e-6
        )
    # the file's identity does not depend on where it lies
    moved = tmp_path / "sub" / "same.pt"
    moved.parent.mkdir()
    moved.write_bytes(path.read_bytes())
    a = zero_shot_clip(loaded, DESCRIPTORS).classifier().identity
    b = zero_shot_clip(load_clip(model_cfg=TINY, pretrained=moved), DESCRIPTORS)
    assert a == b.classifier().identity


def test_named_model_from_a_local_config_and_file(tmp_path, tiny):
    config = tmp_path / "configs" / "propgrad-tiny-test.json"
    config.parent.mkdir()
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(config)
    path = tmp_path / "tiny.pt"
    torch.save({"state_dict": tiny.model.state_dict()}, path)  # a wrapped checkpoint
    loaded = load_clip("propgrad-tiny-test", path)
    assert loaded.name == "propgrad-tiny-test"
    assert loaded.spec["model_name"] == "propgrad-tiny-test"
    assert loaded.preprocess.size == (32, 32)
    with torch.no_grad():
        x = images()
        np.testing.assert_allclose(
            loaded.model.encode_image(x).numpy(), tiny.model.encode_image(x).numpy(), atol=1e-6
        )


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_torchscript_archives_are_recognised(tmp_path):
    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    path = tmp_path / "scripted.pt"
    scripted.save(str(path))
    assert zs._is_torchscript(path)
    plain = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(1)}, plain)
    assert not zs._is_torchscript(plain)


def test_errors_say_what_is_wrong(tmp_path, tiny):
    with pytest.raises(ValueError, match="unknown open_clip model 'ViT-B-33'.*ViT-B-32"):
        load_clip("ViT-B-33")
    with pytest.raises(
        FileNotFoundError, match="CLIP weights file not found.*nothing is downloaded"
    ):
        load_clip("ViT-B-32", tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="weight tag.*local files"):
        load_clip("ViT-B-32", "openai")
    with pytest.raises(ValueError, match="model_cfg lacks"):
        load_clip(model_cfg={"embed_dim": 8})
    wrong = tmp_path / "wrong.pt"
    torch.save({"visual.nonsense": torch.zeros(3)}, wrong)
    with pytest.raises(ValueError, match="do not fit"):
        load_clip(model_cfg=TINY, pretrained=wrong)
    with pytest.raises(ValueError, match="non-empty mapping"):
        zero_shot_clip(tiny, {})
    with pytest.raises(ValueError, match="at least one non-empty text"):
        zero_shot_clip(tiny, {"a": []})
    with pytest.raises(ValueError, match="templates"):
        zero_shot_clip(tiny, DESCRIPTORS, templates=("no placeholder",))
    with pytest.raises(ValueError, match="unknown output"):
        zero_shot_clip(tiny, DESCRIPTORS).classifier("logits")


def test_the_models_never_predict():
    # the prediction path imports the models, never the other way round
    import re
    from pathlib import Path

    upward = re.compile(r"^\s*(from|import)\s+propgrad\.(prediction|scores|chapters)", re.M)
    package = Path(zs.__file__).parent
    assert not [p.name for p in package.glob("*.py") if upward.search(p.read_text())]
