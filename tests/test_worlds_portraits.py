from dataclasses import replace

import numpy as np
import pytest

from propgrad.sweep import Sweep
from propgrad.worlds import portraits as pw


@pytest.fixture(scope="module")
def faces():
    return pw.sample_population(12, np.random.default_rng(5))


@pytest.fixture(scope="module")
def split():
    return pw.make_split(40, 60, seed=2, size=32)


def test_render_shape_dtype_and_determinism(faces):
    for size in (16, 33, 64):
        img = pw.render(faces[0], size)
        assert img.shape == (size, size, 3) and img.dtype == np.uint8
    a = pw.render(faces[1], 48)
    b = pw.render(pw.PortraitParams.from_dict(faces[1].to_dict()), 48)
    np.testing.assert_array_equal(a, b)
    assert a.std() > 10  # not a flat image
    assert not np.array_equal(a, pw.render(replace(faces[1], seed=faces[1].seed + 1), 48))


def test_batch_rendering_equals_single_renders(faces):
    batch = pw.render_batch(faces, 40, chunk=5)
    assert batch.shape == (len(faces), 40, 40, 3) and batch.dtype == np.uint8
    for i, p in enumerate(faces):
        np.testing.assert_array_equal(batch[i], pw.render(p, 40))
    assert pw.render_batch([], 32).shape == (0, 32, 32, 3)


def test_population_sampling_is_seeded():
    a = pw.sample_population(30, np.random.default_rng(9))
    b = pw.sample_population(30, np.random.default_rng(9))
    assert [p.to_dict() for p in a] == [p.to_dict() for p in b]
    c = pw.sample_params(np.random.default_rng(10))
    assert isinstance(c, pw.PortraitParams)
    for p in a:
        for dial in pw.DIALS:
            assert 0.0 <= getattr(p, dial) <= 1.0
        assert p.young in (0, 1) and p.glasses in (0.0, 1.0)


def test_hair_sweep_first_frame_is_the_original(faces):
    p = next(f for f in faces if f.greyness < 0.5)
    sweep = pw.intervene(p, n_steps=6, size=32)
    assert isinstance(sweep, Sweep) and len(sweep) == 6
    frames = sweep.to_array()
    np.testing.assert_array_equal(frames[0], pw.render(p, 32))
    np.testing.assert_allclose(sweep.grid, np.linspace(p.greyness, 1.0, 6))
    assert sweep.grid[0] == p.greyness and sweep.grid[-1] == 1.0
    assert sweep.grid_name == pw.PROPERTY_NAMES["greyness"]
    meta = sweep.metadata
    assert meta["world"] == "portraits" and meta["property"] == "greyness"
    assert meta["original_value"] == p.greyness and meta["young"] == p.young
    assert pw.PortraitParams.from_dict(meta["params"]) == p


def test_hair_sweep_changes_only_hair_pixels(faces):
    checked = 0
    for p in faces:
        if p.greyness > 0.6:
            continue
        frames = pw.intervene(p, n_steps=4, size=48).to_array().astype(int)
        hair = pw.hair_mask(p, 48)
        assert hair.shape == (48, 48) and hair.dtype == np.float32
        assert 0.0 <= hair.min() and hair.max() <= 1.0
        outside = hair == 0.0
        assert outside.sum() > 1000 and (hair == 1.0).sum() > 30
        for frame in frames[1:]:
            np.testing.assert_array_equal(frame[outside], frames[0][outside])
        # the hair itself does change, and becomes lighter and less saturated
        full = hair == 1.0
        assert np.abs(frames[-1][full] - frames[0][full]).mean() > 10
        first, last = frames[0][full], frames[-1][full]
        assert np.ptp(last, axis=-1).mean() < np.ptp(first, axis=-1).mean() + 1
        checked += 1
    assert checked >= 4


def test_hair_mask_does_not_depend_on_greyness(faces):
    p = faces[0]
    np.testing.assert_array_equal(
        pw.hair_mask(replace(p, greyness=0.0), 32), pw.hair_mask(replace(p, greyness=1.0), 32)
    )


def test_other_dials_leave_outside_pixels_alone(faces):
    p = replace(faces[2], makeup=0.0, glasses=0.0)
    hair = pw.hair_mask(p, 48)
    made_up = pw.render(replace(p, makeup=1.0), 48).astype(int)
    plain = pw.render(p, 48).astype(int)
    changed = np.any(made_up != plain, axis=-1)
    assert changed.sum() > 40
    assert not np.any(changed & (hair == 1.0))  # makeup never touches the hair
    sweep = pw.intervene(p, "makeup", 3, size=48)
    assert sweep.grid.tolist() == [0.0, 0.5, 1.0]
    np.testing.assert_array_equal(sweep.to_array()[-1], made_up)


def test_intervene_rejects_bad_input(faces):
    p = replace(faces[0], greyness=0.2)
    with pytest.raises(ValueError, match="unknown property"):
        pw.intervene(p, "age")
    with pytest.raises(ValueError, match="n_steps"):
        pw.intervene(p, n_steps=1)
    with pytest.raises(ValueError, match="must go up"):
        pw.intervene(replace(p, greyness=1.0))
    with pytest.raises(ValueError, match="to must lie in"):
        pw.intervene(p, to=1.5)
    with pytest.raises(ValueError, match="greyness must lie in"):
        pw.render(replace(p, greyness=1.2))
    with pytest.raises(ValueError, match="at least 16"):
        pw.render(p, 8)
    with pytest.raises(ValueError, match="young must be 0 or 1"):
        pw.render(replace(p, young=2))


def test_label_correlations_have_the_documented_signs():
    pop = pw.sample_population(4000, np.random.default_rng(0))
    r = pw.label_correlations(pop, [*pw.DIALS, "age"])
    assert r["greyness"] < -0.3
    assert r["wrinkles"] < -0.3
    assert r["age"] < -0.5
    assert r["makeup"] > 0.3
    assert r["hair_length"] > 0.15
    assert r["glasses"] < -0.05
    for independent in ("skin_tone", "hair_colour", "background"):
        assert abs(r[independent]) < 0.06
    # correlation strengths are settings: no makeup effect, weaker makeup correlation
    weak = pw.sample_population(4000, np.random.default_rng(0), {"makeup_effect": 0.0})
    assert pw.label_correlations(weak, ["makeup"])["makeup"] < r["makeup"] - 0.1
    # the label is a correlation, not a rule: both labels occur among grey faces
    grey = [p.young for p in pop if p.greyness > 0.7]
    assert 0 < sum(grey) < len(grey)


def test_label_correlations_errors():
    pop = pw.sample_population(50, np.random.default_rng(1))
    with pytest.raises(ValueError, match="at least two"):
        pw.label_correlations(pop[:1])
    with pytest.raises(ValueError, match="same label"):
        pw.label_correlations([p for p in pop if p.young])
    with pytest.raises(ValueError, match="unknown dial"):
        pw.label_correlations(pop, ["nose"])


def test_split_is_balanced_with_shapes_and_params(split):
    assert split.x_train.shape == (80, 32, 32, 3) and split.x_train.dtype == np.uint8
    assert split.x_test.shape == (120, 32, 32, 3) and split.x_test.dtype == np.uint8
    assert split.y_train.dtype == np.int64
    assert np.bincount(split.y_train).tolist() == [40, 40]
    assert np.bincount(split.y_test).tolist() == [60, 60]
    assert split.y_test[:4].tolist() == [0, 1, 0, 1]
    assert [p.young for p in split.params_test] == split.y_test.tolist()
    np.testing.assert_array_equal(pw.render(split.params_test[7], 32), split.x_test[7])
    assert split.dial("greyness", "test").shape == (120,)
    assert split.world == pw.WORLD_DEFAULTS
    with pytest.raises(ValueError, match="unknown dial"):
        split.dial("nose")
    with pytest.raises(ValueError, match="part"):
        split.dial("makeup", "val")


def test_split_reproducible_and_test_part_independent_of_train_size():
    a = pw.make_split(5, 4, seed=7, size=16)
    b = pw.make_split(0, 4, seed=7, size=16)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert b.x_train.shape == (0, 16, 16, 3)
    c = pw.make_split(5, 4, seed=8, size=16)
    assert not np.array_equal(a.x_train, c.x_train)
    with pytest.raises(ValueError, match="unknown world settings"):
        pw.make_split(1, 1, world={"beard": 1.0})
    with pytest.raises(ValueError, match="n_per_class"):
        pw.make_split(-1, 1)
    with pytest.raises(ValueError, match="too rare"):
        pw.sample_balanced(5, np.random.default_rng(0), {"young_age": -5.0, "makeup_rate": 0.0})


def test_presets():
    assert set(pw.PORTRAITS_PRESETS) == {"smoke", "demo"}
    for preset in pw.PORTRAITS_PRESETS.values():
        assert {"size", "n_train_per_class", "n_test_per_class", "seed"} <= set(preset)
        assert set(preset) - {"size", "n_train_per_class", "n_test_per_class", "seed"} <= set(
            pw.WORLD_DEFAULTS
        )
    smoke = pw.make_split_from_preset("smoke", test_only=True)
    n_test = pw.PORTRAITS_PRESETS["smoke"]["n_test_per_class"]
    assert smoke.x_test.shape == (2 * n_test, 32, 32, 3) and len(smoke.x_train) == 0
    with pytest.raises(ValueError, match="unknown preset"):
        pw.make_split_from_preset("huge")
    with pytest.raises(ValueError, match="lacks"):
        pw.make_split_from_preset({"size": 16})
