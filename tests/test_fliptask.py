from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from propgrad.fliptask import flip_task_scores
from propgrad.sweep import Sweep


class Brightness(nn.Module):
    """A tiny CNN whose 'cat' logit rises with brightness."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()
            self.conv.weight[0, :, 1, 1] = 4.0
            self.conv.weight[1, :, 1, 1] = -4.0

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


def preprocess(image):
    return torch.from_numpy(np.asarray(image, np.float32) / 127.5 - 1).permute(2, 0, 1)


def _sweep(start, stop, n=7):
    return Sweep([np.full((12, 12, 3), v, np.uint8) for v in np.linspace(start, stop, n)])


@pytest.fixture()
def sweeps():
    # brightening across mid-grey flips the prediction; staying dark does not
    return [_sweep(40, 220), _sweep(10, 60), _sweep(200, 250), _sweep(60, 200)]


def test_scores_flips_and_outputs(sweeps):
    torch.manual_seed(0)
    result = flip_task_scores(
        Brightness(), sweeps, preprocess, methods=["deeplift", "occlusion"], progress=False
    )
    assert result.flipped.tolist() == [True, False, False, True]
    assert result.outputs.shape == (4, 7, 2)
    assert set(result.scores) == {"ours", "deeplift", "occlusion"}
    assert all(v.shape == (4,) for v in result.scores.values())
    # E[|grad X|] is largest for the sweeps that cross the threshold
    ours = result.scores["ours"]
    assert min(ours[0], ours[3]) > max(ours[1], ours[2])


def test_cache_reuses_results_per_method(sweeps, monkeypatch, tmp_path):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    config = {"test": 1}
    first = flip_task_scores(
        Brightness(), sweeps, preprocess, methods=["deeplift"], cache_config=config, progress=False
    )
    calls = []
    import propgrad.baselines as baselines

    original = baselines.attribution_change
    monkeypatch.setattr(
        baselines, "attribution_change", lambda *a, **k: calls.append(a[3]) or original(*a, **k)
    )
    again = flip_task_scores(
        Brightness(),
        sweeps,
        preprocess,
        methods=["deeplift", "guided_gradcam"],
        cache_config=config,
        progress=False,
    )
    assert calls == ["guided_gradcam"]  # deeplift came from the cache
    np.testing.assert_array_equal(first.scores["deeplift"], again.scores["deeplift"])


def test_bad_input(sweeps):
    with pytest.raises(ValueError, match="no sweeps"):
        flip_task_scores(Brightness(), [], preprocess)
    with pytest.raises(ValueError, match="same length"):
        flip_task_scores(Brightness(), [sweeps[0], _sweep(0, 1, n=3)], preprocess)
