"""Slow check (``pytest -m slow``): the demo toy world reproduces Table 5's pattern.

Trains the three demo-preset ConvMixers on the CPU (a few minutes) and checks
the calibration targets of the Cats-vs-Dogs chapter.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_models():
    from propgrad.worlds import cats_dogs as world

    return {s: world.train_cats_dogs(s, "demo", progress=False) for s in world.SPLITS}


def test_accuracy_pattern_of_table_5(demo_models):
    acc = {s: m.training_record["accuracies"] for s, m in demo_models.items()}
    assert min(acc["unbiased"].values()) >= 0.85
    assert acc["dark-cats"]["dark-cats"] >= 0.90 and acc["dark-cats"]["dark-dogs"] <= 0.60
    assert acc["dark-dogs"]["dark-dogs"] >= 0.90 and acc["dark-dogs"]["dark-cats"] <= 0.60


def test_fur_matters_ten_times_more_than_background_for_biased_models(demo_models):
    from propgrad.measure import expected_property_gradient
    from propgrad.train import predict_proba
    from propgrad.worlds import cats_dogs as world

    config = world.cats_dogs_config("dark-cats", "demo")
    probes = []
    for split in ("dark-cats", "dark-dogs"):
        data = world.make_split_from_config(config, split, test_only=True)
        probes += data.params_test[:10] + data.params_test[-10:]  # both classes
    size = config["world"]["size"]

    def mean_gradient(model, prop):
        curves = [
            predict_proba(model, world.intervene(p, prop, 21, size=size).to_array())[:, 0]
            for p in probes
        ]
        return float(np.mean(expected_property_gradient(np.array(curves).T)))

    for split in ("dark-cats", "dark-dogs"):
        fur = mean_gradient(demo_models[split], "fur_tone")
        background = mean_gradient(demo_models[split], "background")
        assert fur >= 10 * background, (split, fur, background)
