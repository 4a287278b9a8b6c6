from dataclasses import replace

import numpy as np
import pytest

from propgrad.sweep import Sweep
from propgrad.worlds import cats_dogs as cd


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(123)
    return [cd.sample_params(rng, label) for label in (0, 1, 0, 1, 0, 1)]


def test_render_shape_dtype_range(samples):
    for size in (16, 33, 64):
        img = cd.render(samples[0], size)
        assert img.shape == (size, size, 3)
        assert img.dtype == np.uint8
    img = cd.render(samples[1], 64)
    assert img.min() < img.max()  # not a flat image


def test_render_is_deterministic(samples):
    for p in samples:
        a = cd.render(p, 48)
        b = cd.render(cd.CatDogParams.from_dict(p.to_dict()), 48)
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_images(samples):
    p = samples[0]
    assert not np.array_equal(cd.render(p, 32), cd.render(replace(p, seed=p.seed + 1), 32))


def test_sample_params_labels_and_properties():
    rng = np.random.default_rng(0)
    p = cd.sample_params(rng, "dog", fur_tone=0.2, background=0.9)
    assert p.label == 1 and p.species == "dog"
    assert p.fur_tone == 0.2 and p.background == 0.9
    with pytest.raises(ValueError, match="species"):
        cd.sample_params(rng, "bird")
    with pytest.raises(ValueError, match="fur_tone"):
        cd.sample_params(rng, 0, fur_tone=1.5)


def test_shape_traits_follow_overlap():
    rng = np.random.default_rng(1)
    cats = [cd.sample_params(rng, 0, shape_overlap=0.0) for _ in range(200)]
    dogs = [cd.sample_params(rng, 1, shape_overlap=0.0) for _ in range(200)]
    for trait in ("ear", "snout", "head"):
        assert max(getattr(p, trait) for p in cats) <= 0.5
        assert min(getattr(p, trait) for p in dogs) >= 0.5
    overlapping = [cd.sample_params(rng, 0, shape_overlap=0.4) for _ in range(200)]
    assert max(p.ear for p in overlapping) > 0.5


def test_fur_intervention_changes_only_animal_pixels(samples):
    for p in samples[:3]:
        sweep = cd.intervene(p, "fur_tone", [0.0, 0.5, 1.0], size=64)
        frames = sweep.to_array().astype(int)
        mask = cd.animal_mask(p, 64)
        background = mask == 0.0
        inside = mask == 1.0
        assert background.sum() > 1000 and inside.sum() > 300
        for frame in frames[1:]:
            np.testing.assert_array_equal(frame[background], frames[0][background])
        # the animal gets brighter with the fur tone
        assert frames[2][inside].mean() > frames[1][inside].mean() + 40
        assert frames[1][inside].mean() > frames[0][inside].mean() + 40


def test_background_intervention_changes_only_background_pixels(samples):
    for p in samples[:3]:
        sweep = cd.intervene(p, "background", [0.0, 1.0], size=64)
        frames = sweep.to_array().astype(int)
        mask = cd.animal_mask(p, 64)
        inside = mask == 1.0
        np.testing.assert_array_equal(frames[1][inside], frames[0][inside])
        outside = mask == 0.0
        assert frames[1][outside].mean() > frames[0][outside].mean() + 100


def test_fur_intervention_keeps_texture(samples):
    striped = replace(samples[0], stripes=0.3, fur_tone=0.8)
    plain = replace(samples[0], stripes=0.0, fur_tone=0.8)
    inside = cd.animal_mask(striped, 64) == 1.0
    a = cd.intervene(striped, "fur_tone", [0.5, 0.9]).to_array().astype(float)
    b = cd.intervene(plain, "fur_tone", [0.5, 0.9]).to_array().astype(float)
    # stripes remain visible at both tones: the striped fur differs from the plain one
    for i in range(2):
        assert np.abs(a[i][inside] - b[i][inside]).mean() > 3


def test_intervene_returns_sweep(samples):
    sweep = cd.intervene(samples[1], "fur_tone", 21, size=32)
    assert isinstance(sweep, Sweep)
    assert len(sweep) == 21
    np.testing.assert_allclose(sweep.grid, np.linspace(0, 1, 21))
    assert sweep.grid_name == "fur tone (0 = dark, 1 = light)"
    assert sweep.metadata["property"] == "fur_tone"
    assert sweep.metadata["params"]["seed"] == samples[1].seed
    assert sweep.images[0].size == (32, 32)
    # a frame at the sample's own value equals the original render
    own = cd.intervene(samples[1], "background", [samples[1].background], size=32)
    np.testing.assert_array_equal(own.to_array()[0], cd.render(samples[1], 32))
    with pytest.raises(ValueError, match="unknown property"):
        cd.intervene(samples[1], "ear_length", 5)
    with pytest.raises(ValueError, match="strictly increasing"):
        cd.intervene(samples[1], "fur_tone", [0.5, 0.2])


@pytest.mark.parametrize("name", cd.SPLITS)
def test_split_sizes_and_fur_correlation(name):
    split = cd.make_split(name, 40, 10, seed=3, size=24)
    assert split.x_train.shape == (80, 24, 24, 3) and split.x_train.dtype == np.uint8
    assert split.x_test.shape == (20, 24, 24, 3)
    assert np.bincount(split.y_train).tolist() == [40, 40]
    assert np.bincount(split.y_test).tolist() == [10, 10]
    for part in ("train", "test"):
        tones = split.fur_tones(part)
        y = split.y_train if part == "train" else split.y_test
        cats, dogs = tones[y == 0], tones[y == 1]
        if name == "dark-cats":
            assert cats.max() <= 0.35 and dogs.min() >= 0.65
        elif name == "dark-dogs":
            assert dogs.max() <= 0.35 and cats.min() >= 0.65
        else:
            assert cats.min() < 0.35 and cats.max() > 0.65
            assert dogs.min() < 0.35 and dogs.max() > 0.65
        params = split.params_train if part == "train" else split.params_test
        assert [p.label for p in params] == y.tolist()
    # re-rendering the stored parameters reproduces the images
    np.testing.assert_array_equal(cd.render(split.params_test[3], 24), split.x_test[3])


def test_background_independent_of_label():
    split = cd.make_split("dark-cats", 150, 0, seed=0, size=8)
    bg = np.array([p.background for p in split.params_train])
    y = split.y_train
    assert abs(bg[y == 0].mean() - bg[y == 1].mean()) < 0.1
    assert bg.min() < 0.05 and bg.max() > 0.95


def test_split_is_reproducible_and_test_part_independent_of_train_size():
    a = cd.make_split("unbiased", 5, 4, seed=7, size=16)
    b = cd.make_split("unbiased", 0, 4, seed=7, size=16)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    c = cd.make_split("unbiased", 5, 4, seed=8, size=16)
    assert not np.array_equal(a.x_train, c.x_train)
    with pytest.raises(ValueError, match="unknown split"):
        cd.make_split("dark-birds", 1, 1)


def test_world_presets_are_copies_and_render_their_split():
    for name in ("smoke", "demo"):
        world = cd.world_preset(name)
        assert {"size", "n_train_per_class", "n_test_per_class", "seed"} <= set(world)
        world["size"] = 1
        assert cd.WORLD_PRESETS[name]["size"] != 1  # a copy
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        cd.world_preset("huge")
    tiny = {**cd.WORLD_PRESETS["smoke"], "size": 16, "n_train_per_class": 3, "n_test_per_class": 2}
    split = cd.make_split_from_preset(tiny, "dark-dogs")
    assert split.x_train.shape == (6, 16, 16, 3) and split.x_test.shape == (4, 16, 16, 3)
    test_only = cd.make_split_from_preset(tiny, "dark-dogs", test_only=True)
    assert len(test_only.x_train) == 0
    np.testing.assert_array_equal(test_only.x_test, split.x_test)
