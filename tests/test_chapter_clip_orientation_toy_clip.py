"""Tests for the CLIP chapter's stand-in model (propgrad.chapters.clip_orientation.toy_clip).

The planted pose bias, caching, resuming, learning.

The training runs use a configuration far smaller than the smoke preset (two
classes, a few dozen views, tiny towers), so each takes a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from propgrad.chapters.clip_orientation import toy_clip
from propgrad.chapters.clip_orientation.toy_clip import ToyClipConfig, sample_poses, train_toy_clip

TINY = toy_clip.with_overrides(
    "smoke",
    classes=("elephant", "cow"),
    views_per_class=24,
    render_size=32,
    image_size=32,
    embed_dim=16,
    vision_width=8,
    vision_head_width=32,
    text_width=16,
    text_heads=2,
    text_layers=1,
    context_length=8,
    epochs=3,
    batch_size=16,
    lr=3e-3,
)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def weights(result) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in result.clip.model.state_dict().items()}


def test_planted_bias_keeps_animals_upright_and_mostly_sideways():
    config = ToyClipConfig(any_fraction=0.0)
    poses = sample_poses(config, 20_000, np.random.default_rng(0))
    pitch, roll, yaw, elevation = poses.T
    # never upside down: neither tilt nor nod reaches 90 degrees or beyond
    assert np.abs(roll).max() <= config.max_tilt and np.abs(pitch).max() <= config.max_tilt
    assert elevation.min() >= config.elevation[0] and elevation.max() <= config.elevation[1]
    side = np.minimum(np.abs(yaw - 0), np.minimum(np.abs(yaw - 180), np.abs(yaw - 360)))
    near_side = (side < 2 * config.yaw_spread).mean()
    # 80 % drawn near a side view (95 % of those within two spreads), plus the uniform rest
    assert 0.78 < near_side < 0.86
    near_front = (np.abs(((yaw - 90) + 90) % 180 - 90) < 10).mean()
    assert near_front < 0.05  # front and back views are rare


def test_a_few_views_show_any_orientation():
    config = ToyClipConfig()
    poses = sample_poses(config, 20_000, np.random.default_rng(1))
    beyond = (np.abs(poses[:, 0]) > config.max_tilt).mean()  # nodded past vertical
    # half of the odd views (uniform over all rotations) are nodded past 90 degrees
    assert beyond == pytest.approx(config.any_fraction / 2, abs=0.01)


def test_training_views_are_rendered_once_and_cached(fresh_cache):
    views = toy_clip.render_training_views(TINY, progress=False)
    assert views["images"].shape == (48, 32, 32, 3) and views["images"].dtype == np.uint8
    assert np.bincount(views["labels"]).tolist() == [24, 24]
    assert views["poses"].shape == (48, 4)
    # not blank: the animal covers part of every view
    assert (views["images"].std(axis=(1, 2, 3)) > 5).all()
    again = toy_clip.render_training_views(TINY, progress=False)
    np.testing.assert_array_equal(views["images"], again["images"])
    assert list(fresh_cache.glob("toy_clip_views/*/views.npz"))


def test_training_lowers_the_loss_and_hits_the_cache(fresh_cache):
    first = train_toy_clip(TINY, progress=False)
    assert not first.from_cache and len(first.history) == TINY.epochs
    assert first.history[-1] < first.history[0]
    second = train_toy_clip(TINY, progress=False)
    assert second.from_cache and second.history == first.history
    for key, value in weights(first).items():
        torch.testing.assert_close(second.clip.model.state_dict()[key], value)
    assert second.clip.spec["training"] == TINY.key()
    zero_shot = second.zero_shot()
    assert zero_shot.classes == ("elephant", "cow") and len(zero_shot.texts) == 20


def test_a_killed_run_resumes_at_the_last_finished_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path / "whole"))
    whole = train_toy_clip(TINY, progress=False)

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path / "killed"))

    def kill_after_first(epoch, loss):
        if epoch == 0:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        train_toy_clip(TINY, progress=False, callback=kill_after_first)
    seen = []
    resumed = train_toy_clip(TINY, progress=False, callback=lambda e, loss: seen.append(e))
    assert seen == [1, 2]  # epoch 0 was not trained again
    assert not resumed.from_cache
    np.testing.assert_allclose(resumed.history, whole.history, rtol=1e-5)
    for key, value in weights(whole).items():
        torch.testing.assert_close(
            resumed.clip.model.state_dict()[key], value, rtol=1e-4, atol=1e-5
        )


def test_the_key_covers_the_configuration():
    assert TINY.key() != toy_clip.with_overrides(TINY, epochs=4).key()
    # training settings do not change the rendered views
    assert TINY.views_key() == toy_clip.with_overrides(TINY, epochs=4, lr=1e-4).views_key()
    assert TINY.views_key() != toy_clip.with_overrides(TINY, side_fraction=0.5).views_key()


def test_the_presets_keep_their_cache_keys():
    # the demo's toy CLIP and its rendered views are cached under these keys; a change
    # here retrains the model (minutes) and changes the chapter's numbers
    assert toy_clip.TOY_CLIP_PRESETS["demo"].key() == "29368df7f31c9cf7"
    assert toy_clip.TOY_CLIP_PRESETS["demo"].views_key() == "0c1a426c5b9c3a62"


def test_configuration_errors():
    with pytest.raises(ValueError, match="classes must be at least two"):
        ToyClipConfig(classes=("unicorn", "cow"))
    with pytest.raises(ValueError, match="multiple of 32"):
        ToyClipConfig(image_size=48)
    with pytest.raises(ValueError, match="unknown preset"):
        toy_clip.resolve_config("huge")
    with pytest.raises(ValueError, match="unknown toy CLIP settings"):
        toy_clip.resolve_config({"epochz": 3})
    assert toy_clip.resolve_config({"epochs": 2}).epochs == 2


def test_stand_ins_and_captions():
    assert set(toy_clip.PAPER_STAND_INS) == {"Elephant", "Giraffe", "Stegosaurus", "Frog"}
    for mesh in toy_clip.PAPER_STAND_INS.values():
        assert len(toy_clip.TOY_DESCRIPTORS[mesh]) == 10
        assert mesh in toy_clip.ToyClipConfig().classes
