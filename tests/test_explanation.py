from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from propgrad.explanation import explain
from propgrad.sweep import Sweep


def brightness_model(batch: torch.Tensor) -> torch.Tensor:
    """Logits (cat, dog): brighter images look more like 'dog'."""
    b = batch.mean(dim=(1, 2, 3))
    return torch.stack([-(b - 0.5) * 12, (b - 0.5) * 12], dim=1)


def to_tensor(image):
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)


@pytest.fixture()
def brightening_sweep():
    levels = np.linspace(0.1, 0.9, 25)
    frames = [np.full((8, 8, 3), v) for v in levels]
    return Sweep(frames, grid=levels, grid_name="brightness", metadata={"source": "test"})


def test_report_scores_a_systematic_flip(brightening_sweep):
    report = explain(
        brightness_model,
        brightening_sweep,
        preprocess=to_tensor,
        class_names=["cat", "dog"],
        n_permutations=500,
        seed=0,
    )
    assert report.outputs.shape == (25, 2)
    np.testing.assert_allclose(report.outputs.sum(axis=1), 1.0, atol=1e-6)
    assert report.outputs[0, 0] > 0.9 and report.outputs[-1, 0] < 0.1
    assert report.flips == 1
    assert report.predicted[0] == "cat" and report.predicted[-1] == "dog"
    assert report.threshold == 0.5
    assert report.expected_property_gradient[0] == pytest.approx(
        report.expected_property_gradient[1]
    )
    assert report.expected_property_gradient[0] == pytest.approx(
        np.mean(np.abs(np.gradient(report.outputs[:, 0], edge_order=2)))
    )
    assert report.significant.all() and (report.p_values < 0.01).all()
    assert "prediction flips: 1 (cat -> dog)" in report.summary()


def test_constant_model_is_not_significant(brightening_sweep):
    def constant(batch):
        return torch.tensor([[2.0, -1.0]]).repeat(len(batch), 1)

    report = explain(constant, brightening_sweep, preprocess=to_tensor, n_permutations=200)
    assert report.flips == 0
    assert report.p_values.tolist() == [1.0, 1.0]
    assert not report.significant.any()
    assert report.class_names == ["output 0", "output 1"]
    assert "always output 0" in report.summary()


def test_save_writes_json_and_png(tmp_path, brightening_sweep):
    report = explain(
        brightness_model,
        brightening_sweep,
        preprocess=to_tensor,
        class_names=["cat", "dog"],
        n_permutations=100,
    )
    report.save(tmp_path / "r")
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["prediction_flips"] == 1
    assert set(data["expected_property_gradient"]) == {"cat", "dog"}
    assert data["metadata"]["source"] == "test"
    assert (tmp_path / "r" / "report.png").stat().st_size > 10_000


def test_bad_input(brightening_sweep):
    with pytest.raises(ValueError, match="at least 3 are needed"):
        explain(brightness_model, brightening_sweep[:2], preprocess=to_tensor)
    with pytest.raises(ValueError, match="3 class names given but the model returns 2"):
        explain(
            brightness_model,
            brightening_sweep,
            preprocess=to_tensor,
            class_names=["a", "b", "c"],
            n_permutations=10,
        )

    def broken(batch):
        return torch.full((len(batch), 2), float("nan"))

    with pytest.raises(ValueError, match="NaN or inf for 25 of 25 images"):
        explain(broken, brightening_sweep, preprocess=to_tensor, n_permutations=10)
