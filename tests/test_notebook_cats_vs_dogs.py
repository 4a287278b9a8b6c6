"""Run the Cats-vs-Dogs chapter at the smoke profile and check what it records."""

from __future__ import annotations

import pytest
from conftest import requires_assets, run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks"), requires_assets]

MODELS = ("unbiased", "dark-cats-bias", "dark-dogs-bias")
COLUMNS = (
    "ours",
    "guided_gradcam",
    "integrated_gradients",
    "occlusion",
    "lime",
    "kernel_shap",
    "deeplift",
)


@pytest.fixture(scope="module")
def cvd(tmp_path_factory):
    return run_notebook("cats_vs_dogs", tmp_path_factory.mktemp("cvd"))


def test_profile_recorded(cvd):
    assert cvd["profile"] == "smoke"


def test_real_fur_sweep_orders_the_models_like_the_authors(cvd):
    g = {m: cvd[f"real_fur_{m}_gradient"] for m in MODELS}
    assert g["dark-cats-bias"] > g["unbiased"] > g["dark-dogs-bias"] > 0
    assert [cvd[f"real_fur_{m}_flips"] for m in MODELS] == [0, 1, 0]
    assert all(cvd[f"real_fur_{m}_p"] < 0.01 for m in MODELS)


def test_real_background_sweep_recorded_for_every_model(cvd):
    background = cvd["real_background"]
    assert set(background) == {f"dog_002/{m}" for m in MODELS}
    assert all(v >= 0 for v in background.values())
    # the biased model reacts more to the fur edit than to the background
    assert cvd["real_table1_dark-cats-bias_ratio"] > 1


def test_toy_world_results_are_complete(cvd):
    for m in MODELS:
        for split in ("unbiased", "dark-cats", "dark-dogs"):
            assert 0.0 <= cvd[f"toy_accuracy_{m}_{split}"] <= 1.0
        assert cvd[f"toy_fur_{m}"] >= 0 and cvd[f"toy_background_{m}"] >= 0
        for prop in ("fur", "background"):
            for group in ("light_dogs", "dark_cats"):
                assert cvd[f"toy_ten_{prop}_{group}_{m}"] >= 0
    assert isinstance(cvd["toy_fur_ranking_matches_bias"], bool)


def test_flip_task_table_has_all_seven_columns(cvd):
    for m in MODELS:
        for column in COLUMNS:
            assert 0.0 <= cvd[f"flip_task_{m}_{column}"] <= 1.0
        assert 0.0 <= cvd[f"flip_task_{m}_flipped_fraction"] <= 1.0
