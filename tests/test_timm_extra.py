"""propgrad.models.timm_extra: a ConvMixer of any size, built and loaded like any timm model."""

from __future__ import annotations

import pytest
import torch

from propgrad.models import create_classifier, timm_extra

SMALL = {"dim": 16, "depth": 2, "kernel_size": 3, "patch_size": 4}


def test_registered_with_timm_once():
    import timm

    assert timm.list_models("propgrad_*") == list(timm_extra.REGISTERED)
    timm_extra.register()  # a second registration is a no-op
    assert timm.list_models("propgrad_*") == list(timm_extra.REGISTERED)


def test_builds_any_size_with_the_convmixer_data_config():
    classifier = create_classifier("propgrad_convmixer", 3, image_size=32, model_kwargs=SMALL)
    model = classifier.model
    assert type(model).__name__ == "ConvMixer"
    assert model.stem[0].weight.shape == (16, 3, 4, 4)
    assert len(model.blocks) == 2
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    assert model.pretrained_cfg["architecture"] == "propgrad_convmixer"
    assert model.pretrained_cfg["classifier"] == "head"
    # the preprocessing follows the ImageNet statistics of timm's ConvMixer config
    assert classifier.preprocess.mean == pytest.approx((0.485, 0.456, 0.406))
    unit = create_classifier("propgrad_convmixer", 2, image_size=32, normalisation="unit")
    assert unit.preprocess.mean == (0.5, 0.5, 0.5)


def test_pretrained_file_loads_with_a_new_head(tmp_path):
    import timm

    source = timm.create_model("propgrad_convmixer", num_classes=144, **SMALL)
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    classifier = create_classifier("propgrad_convmixer", 2, pretrained=path, image_size=32,
                                   model_kwargs=SMALL)  # fmt: skip
    model = classifier.model
    assert torch.equal(model.stem[0].weight, source.stem[0].weight)
    assert model.head.out_features == 2
    with pytest.raises(ValueError, match="propgrad_convmixer"):
        create_classifier("propgrad_convmixer", 2, pretrained=path, image_size=32,
                          model_kwargs={**SMALL, "dim": 8})  # fmt: skip
