"""The stand-in for ImageNet pre-training: cached per architecture, loadable as a backbone."""

from __future__ import annotations

import torch

from propgrad import pretrain
from propgrad.models.classifier import create_classifier
from propgrad.pretrain import pretrain_task, pretrained_backbones

#: A toy task as small as it gets: one image per class, one epoch.
TINY = {
    "world": {"n_per_class": 1, "seed": 0},
    "train": {"epochs": 1, "batch_size": 64, "lr": 1e-3, "augment": "flip", "seed": 0},
}
ARCHS = {"A": {"arch": "test_resnet", "model_kwargs": {}}}


def test_backbones_are_trained_once_and_load_as_pretrained_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path / "cache"))
    weights = pretrained_backbones(ARCHS, 32, preset=TINY, progress=False)
    assert list(weights) == ["A"]
    path = weights["A"]
    state = torch.load(path, weights_only=True)
    assert state["fc.weight"].shape[0] == 144  # the toy task's head

    # a second call (here the task itself) finds the cached file: the toy images are not
    # even rendered again
    def no_data(*args):
        raise AssertionError("trained again")

    monkeypatch.setattr(pretrain, "_shapes", no_data)
    job = {"arch": "test_resnet", "image_size": 32, "preset": TINY, "progress": False}
    again = pretrain_task(job)
    assert again == path
    for key, value in state.items():
        assert torch.equal(value, torch.load(again, weights_only=True)[key])
    # the backbone goes into a two-class model; its head is new
    model = create_classifier("test_resnet", 2, image_size=32, pretrained=path).model
    loaded = model.state_dict()
    backbone = [k for k in state if not k.startswith("fc.")]
    assert backbone and all(torch.equal(loaded[k], state[k]) for k in backbone)
    assert loaded["fc.weight"].shape[0] == 2
