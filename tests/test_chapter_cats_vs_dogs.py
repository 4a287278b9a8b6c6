"""The Cats-vs-Dogs chapter's library: toy source, training runs, report tables."""

from __future__ import annotations

import numpy as np
import pytest

from propgrad.chapters.cats_vs_dogs import paper, report
from propgrad.chapters.cats_vs_dogs.toy import (
    TOY_PRESETS,
    ToyCatsDogs,
    fur_edit_values,
    toy_preset,
    toy_run,
    training_data,
)
from propgrad.worlds import cats_dogs as cd

TINY = {
    "world": {**cd.WORLD_PRESETS["smoke"], "size": 16, "n_train_per_class": 4,
              "n_test_per_class": 6},
    **TOY_PRESETS["smoke"],
}  # fmt: skip


def test_toy_preset_joins_world_and_training_and_is_a_copy():
    preset = toy_preset("smoke")
    assert set(preset) == {"world", "model", "train"}
    assert preset["world"] == cd.WORLD_PRESETS["smoke"]
    preset["train"]["epochs"] = 99
    assert TOY_PRESETS["smoke"]["train"]["epochs"] != 99
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        toy_preset("huge")


def test_toy_run_keys_the_data_by_world_and_split():
    spec = toy_run("dark-cats", "demo", num_threads=1)
    assert spec.name == "toy ConvMixer (dark-cats)" and spec.tags == {"split": "dark-cats"}
    assert spec.data_key == {
        "world_name": "cats_dogs",
        "world": cd.WORLD_PRESETS["demo"],
        "split": "dark-cats",
    }
    assert spec.arch == "convmixer" and spec.model_kwargs["patch_size"] == 8
    assert spec.normalisation == "unit" and spec.image_size == 64
    assert spec.settings == TOY_PRESETS["demo"]["train"] and spec.num_threads == 1
    with pytest.raises(ValueError, match="unknown split 'dark-birds'"):
        toy_run("dark-birds")


def test_training_data_is_the_split_and_all_test_parts():
    (x, y), tests = training_data(TINY["world"], "dark-dogs")
    assert x.shape == (8, 16, 16, 3) and set(np.unique(y)) == {0, 1}
    assert list(tests) == list(cd.SPLITS)
    assert all(t[0].shape == (12, 16, 16, 3) for t in tests.values())


def test_group_sweeps_are_exact_and_run_in_the_edit_direction():
    source = ToyCatsDogs(TINY)
    fur, background = source.group_sweeps(2, n_steps=5)
    assert list(fur) == list(paper.FUR_GROUPS)
    for group, (_, animal, tone) in paper.FUR_GROUPS.items():
        assert fur[group].shape == (2, 5, 16, 16, 3)
        params = source.group_params(2)[group][0]
        assert params.species == animal
        ascending = cd.intervene(params, "fur_tone", 5, size=16).to_array()
        expected = ascending[::-1] if tone == "light" else ascending
        np.testing.assert_array_equal(fur[group][0], expected)
        np.testing.assert_array_equal(
            background[group][0], cd.intervene(params, "background", 5, size=16).to_array()
        )


def test_flip_pool_balances_classes_and_edits_part_of_the_way():
    source = ToyCatsDogs(TINY)
    sweeps, labels = source.flip_pool(4, n_steps=5, seed=1)
    assert sweeps.shape == (8, 5, 16, 16, 3)
    assert np.bincount(labels).tolist() == [4, 4]
    values = fur_edit_values(0.2, 0.5, 5)
    np.testing.assert_allclose(values, [0.2, 0.3, 0.4, 0.5, 0.6])
    np.testing.assert_allclose(fur_edit_values(0.9, 1.0, 3), [0.9, 0.45, 0.0])
    with pytest.raises(ValueError, match="strength must lie in"):
        fur_edit_values(0.5, 0.0, 3)


def test_counts_and_table4_use_the_papers_rows():
    source = ToyCatsDogs(TINY)
    counts = source.counts()
    assert counts["dark-cats / cat"] == {"Training": 4, "Test": 6}
    table = report.table4(counts)
    assert list(table) == list(paper.TABLE4)
    images, names = source.examples(2)
    assert (
        images["unbiased"].shape == (4, 16, 16, 3)
        and names["unbiased"] == ["cat"] * 2 + ["dog"] * 2
    )


def test_table5_is_percent_under_the_papers_labels():
    accuracy = {m: {t: 0.5 + 0.1 * i for i, t in enumerate(cd.SPLITS)} for m in cd.SPLITS}
    table = report.table5(accuracy)
    assert list(table) == list(paper.TABLE5)
    assert table["Dark Cats split"]["dark cats split"] == pytest.approx(60.0)
