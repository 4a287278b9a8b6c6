"""Slow check (``pytest -m slow``): the demo toy world reproduces Table 5's pattern.

Trains the three demo-preset ConvMixers on the CPU (a few minutes; cached
afterwards) and checks the calibration targets of the Cats-vs-Dogs chapter.
"""

from __future__ import annotations

import pytest

import propgrad

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data():
    from propgrad.chapters.cats_vs_dogs import ToyCatsDogs

    return ToyCatsDogs("demo", progress=False)


@pytest.fixture(scope="module")
def demo_models(data):
    return data.models()


def test_accuracy_pattern_of_table_5(data, demo_models):
    acc = data.accuracy(demo_models)
    assert min(acc["unbiased"].values()) >= 0.85
    assert acc["dark-cats"]["dark-cats"] >= 0.90 and acc["dark-cats"]["dark-dogs"] <= 0.60
    assert acc["dark-dogs"]["dark-dogs"] >= 0.90 and acc["dark-dogs"]["dark-cats"] <= 0.60


def test_fur_matters_ten_times_more_than_background_for_biased_models(data, demo_models):
    fur, background = data.group_sweeps(5, 21)
    options = {"target": "cat", "n_permutations": 200, "progress": False}
    e_fur = propgrad.score_models(demo_models, fur, **options).per_model()["mean_E"]
    e_bg = propgrad.score_models(demo_models, background, **options).per_model()["mean_E"]
    for split in ("dark-cats", "dark-dogs"):
        assert e_fur[split] >= 10 * e_bg[split], (split, e_fur[split], e_bg[split])
        assert e_fur[split] > e_fur["unbiased"]
