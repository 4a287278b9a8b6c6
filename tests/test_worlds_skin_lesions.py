from dataclasses import replace

import numpy as np
import pytest

from propgrad.sweep import Sweep
from propgrad.worlds import skin_lesions as sl


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(42)
    return [sl.sample_params(rng, label, hair_rate=0.5) for label in (0, 1, 0, 1, 0, 1)]


@pytest.fixture(scope="module")
def pool():
    return sl.patch_pool(12, seed=0, pool="intervention")


@pytest.fixture(scope="module")
def biased():
    return sl.make_split("biased", 30, 20, seed=5, size=32)


def test_render_shape_dtype_and_determinism(samples):
    for size in (16, 33, 64):
        img = sl.render(samples[0], size)
        assert img.shape == (size, size, 3) and img.dtype == np.uint8
    for p in samples:
        a = sl.render(p, 48)
        b = sl.render(sl.LesionParams.from_dict(p.to_dict()), 48)
        np.testing.assert_array_equal(a, b)
    assert sl.render(samples[1], 64).std() > 5  # not a flat image
    p = samples[0]
    assert not np.array_equal(sl.render(p, 32), sl.render(replace(p, seed=p.seed + 1), 32))
    batch = sl.render_batch(samples, 24)
    assert batch.shape == (6, 24, 24, 3) and batch.dtype == np.uint8
    np.testing.assert_array_equal(batch[3], sl.render(samples[3], 24))


def test_render_rejects_tiny_images(samples):
    with pytest.raises(ValueError, match="at least 16 pixels"):
        sl.render(samples[0], 8)


def test_sample_params_validation():
    rng = np.random.default_rng(0)
    p = sl.sample_params(rng, "melanoma")
    assert p.label == 1 and p.diagnosis == "melanoma" and p.patches == ()
    with pytest.raises(ValueError, match="diagnosis must be"):
        sl.sample_params(rng, "keratosis")
    with pytest.raises(ValueError, match="label must be"):
        sl.sample_params(rng, 2)
    with pytest.raises(ValueError, match="overlap must lie"):
        sl.sample_params(rng, 0, overlap=1.5)


def test_overlap_knob_controls_separability():
    rng = np.random.default_rng(1)

    def cues(label, overlap, n=300):
        return np.array([sl.sample_params(rng, label, overlap=overlap).abcd for _ in range(n)])

    nevi, mel = cues(0, 0.0), cues(1, 0.0)
    assert nevi.max() <= 0.5 and mel.min() >= 0.5  # every cue separates the classes
    # a nearest-mean rule on the cue sum: perfect at overlap 0, chance at overlap 1
    for overlap, lo, hi in ((0.0, 0.99, 1.0), (0.5, 0.8, 0.97), (1.0, 0.4, 0.6)):
        a, b = cues(0, overlap).sum(1), cues(1, overlap).sum(1)
        threshold = (a.mean() + b.mean()) / 2
        acc = ((a < threshold).mean() + (b >= threshold).mean()) / 2
        assert lo <= acc <= hi, (overlap, acc)


def test_diameter_is_visible_in_the_lesion_area(samples):
    p = replace(samples[1], asymmetry=0.0, border=0.0)
    areas = [sl.lesion_mask(replace(p, diameter=d), 64).sum() for d in (0.0, 0.5, 1.0)]
    assert areas[0] < areas[1] < areas[2]
    assert areas[2] > 3 * areas[0]


def test_abcd_intervention_is_exact(samples):
    p = samples[0]
    sweep = sl.intervene_property(p, "colour", [0.0, 0.5, 1.0], size=48)
    assert sweep.grid_name == sl.ABCD_PROPERTIES["colour"]
    frames = sweep.to_array().astype(int)
    outside = sl.lesion_mask(p, 48) == 0
    for frame in frames[1:]:
        np.testing.assert_array_equal(frame[outside], frames[0][outside])
    assert np.abs(frames[2] - frames[0]).max() > 20
    own = sl.intervene_property(p, "diameter", [p.diameter], size=48).to_array()[0]
    np.testing.assert_array_equal(own, sl.render(p, 48))
    with pytest.raises(ValueError, match="unknown property"):
        sl.intervene_property(p, "evolution", 3)
    with pytest.raises(ValueError, match="at least 2"):
        sl.intervene_property(p, "border", 1)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        sl.intervene_property(p, "border", [0.5, 1.5])


def test_patch_pools_are_disjoint():
    pools = {name: sl.patch_pool(20, seed=0, pool=name) for name in sl.POOLS}
    ids = {name: {p.patch_id for p in patches} for name, patches in pools.items()}
    assert all(len(v) == 20 for v in ids.values())
    assert not ids["train"] & ids["test"]
    assert not ids["intervention"] & (ids["train"] | ids["test"])
    # not just the names: the patches themselves differ
    looks = {name: {(p.colour, p.rx, p.seed) for p in patches} for name, patches in pools.items()}
    assert not looks["intervention"] & (looks["train"] | looks["test"])
    # the same pool with another seed is another pool; the same seed is the same pool
    assert not ids["intervention"] & {p.patch_id for p in sl.patch_pool(20, 1, "intervention")}
    assert sl.patch_pool(20, 0, "intervention") == pools["intervention"]
    for patch in pools["intervention"]:
        assert not patch.placed and patch.colour_name in sl.PATCH_COLOURS
        assert 0.0 <= min(patch.colour) and max(patch.colour) <= 1.0
    with pytest.raises(ValueError, match="unknown patch pool"):
        sl.patch_pool(3, pool="validation")


def test_patch_layer_is_independent_of_images(pool):
    patch = pool[0].at(0.5, -0.4)
    rgb, mask = sl.patch_layer(patch, 64)
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert mask.shape == (64, 64) and mask.dtype == np.float64
    assert mask.min() == 0.0 and mask.max() == 1.0
    assert ((mask > 0) & (mask < 1)).any()  # anti-aliased edge
    # the mask sits where the patch is
    ys, xs = np.nonzero(mask > 0.5)
    assert abs((xs.mean() + 0.5) / 32 - 1 - 0.5) < 0.05
    assert abs((ys.mean() + 0.5) / 32 - 1 + 0.4) < 0.05
    # a saturated dot: its colour is far from skin
    inside = rgb[mask == 1].astype(float)
    assert np.abs(inside.mean(0) / 255 - np.array(patch.colour)).max() < 0.15
    with pytest.raises(ValueError, match="no position"):
        sl.patch_layer(pool[0], 64)


def test_patches_never_touch_the_lesion(samples, pool):
    for i, p in enumerate(samples):
        for j, patch in enumerate(pool[:6]):
            placed = sl.place_patch(patch, p, seed=10 * i + j)
            lesion = sl.lesion_mask(p, 32)
            _, mask = sl.patch_layer(placed, 32)
            assert (lesion * mask).max() == 0.0
            assert mask.sum() > 3
    # the largest lesion the world makes still has room for the largest patch
    worst = sl.LesionParams(1, 1.0, 1.0, 1.0, 1.0, cx=0.08, cy=-0.08, elongation=1.25, fov=1.05)
    big = replace(pool[0], rx=0.15, ry=0.15)
    for seed in range(20):
        placed = sl.place_patch(big, worst, seed)
        assert (sl.lesion_mask(worst, 64) * sl.patch_layer(placed, 64)[1]).max() == 0.0


def test_no_room_raises(samples, pool):
    huge = replace(pool[0], rx=0.9, ry=0.9)
    with pytest.raises(ValueError, match="no free place"):
        sl.place_patch(huge, samples[0])


def test_intervention_sweep(samples, pool):
    p = samples[1]
    sweep = sl.intervene(p, pool[3], 6, size=48, seed=2)
    assert isinstance(sweep, Sweep) and len(sweep) == 6
    np.testing.assert_allclose(sweep.grid, np.linspace(0, 1, 6))
    assert sweep.grid_name == sl.PATCH_GRID_NAME
    meta = sweep.metadata
    assert meta["world"] == "skin_lesions" and meta["patch_id"] == pool[3].patch_id
    assert meta["params"] == p.to_dict() and meta["size"] == 48
    placed = sl.Patch.from_dict(meta["patch"])
    assert placed.placed and placed.patch_id == pool[3].patch_id
    frames = sweep.to_array()
    original = sl.render(p, 48)
    # alpha = 0 is the image, alpha = 1 the image with the patch, bit for bit
    np.testing.assert_array_equal(frames[0], original)
    with_patch = sl.render(replace(p, patches=(placed,)), 48)
    np.testing.assert_array_equal(frames[-1], with_patch)
    rgb, mask = sl.patch_layer(placed, 48)
    expected = np.clip(np.rint(original + mask[..., None] * (rgb - original.astype(float))), 0, 255)
    np.testing.assert_array_equal(frames[-1], expected.astype(np.uint8))
    # outside the mask nothing changes along the sweep; inside it changes gradually
    outside = mask == 0
    for frame in frames:
        np.testing.assert_array_equal(frame[outside], original[outside])
    inside = mask == 1
    dist = [np.abs(f[inside].astype(int) - rgb[inside]).mean() for f in frames]
    assert all(a > b for a, b in zip(dist, dist[1:])) and dist[-1] == 0
    # the same call gives the same sweep; a placed patch stays where it is
    again = sl.intervene(p, pool[3], 6, size=48, seed=2).to_array()
    np.testing.assert_array_equal(again, frames)
    kept = sl.intervene(p, placed, 3, size=48)
    assert sl.Patch.from_dict(kept.metadata["patch"]) == placed


def test_intervention_errors(samples, pool):
    p = samples[1]
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match="n_steps must be an integer of at least 2"):
            sl.intervene(p, pool[0], bad)
    with pytest.raises(ValueError, match="must be a Patch"):
        sl.intervene(p, "blue dot", 5)
    with pytest.raises(ValueError, match="has no position; pass place=True"):
        sl.intervene(p, pool[0], 5, place=False)
    with pytest.raises(ValueError, match="at least 16 pixels"):
        sl.intervene(p, pool[0], 5, size=10)


def test_biased_split_patch_rate_and_balance(biased):
    assert biased.x_train.shape == (60, 32, 32, 3) and biased.x_train.dtype == np.uint8
    assert biased.x_test.shape == (40, 32, 32, 3)
    assert biased.y_train.dtype == np.int64
    for part, n in (("train", 30), ("test", 20)):
        y = biased.y_train if part == "train" else biased.y_test
        assert np.bincount(y).tolist() == [n, n]
        patched = biased.has_patch(part)
        assert patched[y == 1].sum() == 0  # melanomas never carry patches
        assert patched[y == 0].sum() == n // 2  # exactly half of the nevi
        params = biased.params_train if part == "train" else biased.params_test
        assert [p.label for p in params] == y.tolist()
        counts = [len(p.patches) for p in params if p.patches]
        assert min(counts) >= 1 and max(counts) <= sl.WORLD_DEFAULTS["max_patches"]
        prefix = f"{part}-"
        assert all(q.patch_id.startswith(prefix) for p in params for q in p.patches)
        assert biased.abcd(part).shape == (2 * n, 4)
    train_ids = {q.patch_id for p in biased.params_train for q in p.patches}
    test_ids = {q.patch_id for p in biased.params_test for q in p.patches}
    assert train_ids and test_ids and not train_ids & test_ids
    # stored parameters re-render the stored images, patches included
    i = int(np.flatnonzero(biased.has_patch("test"))[0])
    np.testing.assert_array_equal(sl.render(biased.params_test[i], 32), biased.x_test[i])
    for p in biased.params_test:
        lesion = sl.lesion_mask(p, 32)
        assert (lesion * sl.patch_mask(p, 32)).max() == 0.0


def test_unbiased_split_and_pairing(biased):
    unbiased = sl.make_split("unbiased", 30, 20, seed=5, size=32)
    assert not unbiased.has_patch("train").any() and not unbiased.has_patch("test").any()
    assert np.bincount(unbiased.y_test).tolist() == [20, 20]
    # the two splits show the same lesions; only the patched nevi differ
    same = ~biased.has_patch("test")
    np.testing.assert_array_equal(unbiased.x_test[same], biased.x_test[same])
    for a, b in zip(unbiased.params_test, biased.params_test):
        assert replace(b, patches=()) == a
    assert not np.array_equal(unbiased.x_test[~same], biased.x_test[~same])


def test_split_reproducible_and_parts_independent():
    a = sl.make_split("biased", 6, 4, seed=7, size=16)
    b = sl.make_split("biased", 0, 4, seed=7, size=16)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert b.x_train.shape == (0, 16, 16, 3) and b.abcd("train").shape == (0, 4)
    c = sl.make_split("biased", 6, 4, seed=8, size=16)
    assert not np.array_equal(a.x_train, c.x_train)
    rate = sl.make_split("biased", 20, 0, seed=1, size=16, world={"patch_rate": 1.0})
    assert rate.has_patch("train")[rate.y_train == 0].all()


def test_split_errors():
    with pytest.raises(ValueError, match="unknown split"):
        sl.make_split("dark-cats", 1, 1)
    with pytest.raises(ValueError, match="unknown world settings"):
        sl.make_split("biased", 1, 1, world={"shape_overlap": 0.2})
    with pytest.raises(ValueError, match="patch_rate must lie"):
        sl.make_split("biased", 1, 1, world={"patch_rate": 2.0})
    with pytest.raises(ValueError, match="n_per_class must be"):
        sl.sample_split_params("biased", -1)
    with pytest.raises(ValueError, match="part must be"):
        sl.sample_split_params("biased", 1, part="validation")
    split = sl.make_split("unbiased", 1, 1, size=16)
    with pytest.raises(ValueError, match="part must be"):
        split.has_patch("val")


def test_presets():
    assert set(sl.WORLD_PRESETS) == {"smoke", "demo"}
    for world in sl.WORLD_PRESETS.values():
        assert {"size", "n_train_per_class", "n_test_per_class", "seed", "overlap"} <= set(world)
        assert set(world) - {"size", "n_train_per_class", "n_test_per_class", "seed"} <= set(
            sl.WORLD_DEFAULTS
        )
    assert sl.WORLD_PRESETS["smoke"]["size"] == 32 and sl.WORLD_PRESETS["demo"]["size"] == 40
    cfg = sl.world_preset("smoke")
    cfg["size"] = 1
    assert sl.WORLD_PRESETS["smoke"]["size"] == 32  # a deep copy
    with pytest.raises(ValueError, match="unknown preset"):
        sl.world_preset("huge")
    tiny = sl.world_preset("smoke")
    tiny.update(n_train_per_class=3, n_test_per_class=2, size=16)
    split = sl.make_split_from_preset(tiny, "biased", test_only=True)
    assert split.x_train.shape[0] == 0 and split.x_test.shape == (4, 16, 16, 3)
    assert sl.WORLD.presets == ("smoke", "demo")


def test_patch_scale_makes_the_same_dots_larger():
    small = sl.patch_pool(6, seed=3, pool="train")
    large = sl.patch_pool(6, seed=3, pool="train", scale=1.6)
    for a, b in zip(small, large):
        assert b.patch_id == a.patch_id and b.colour == a.colour
        np.testing.assert_allclose((b.rx, b.ry), (1.6 * a.rx, 1.6 * a.ry))
    with pytest.raises(ValueError, match="scale must be positive"):
        sl.patch_pool(2, scale=0.0)
    with pytest.raises(ValueError, match="patch_scale must be positive"):
        sl.make_split("biased", 1, 1, size=16, world={"patch_scale": -1.0})
    # a split with large dots renders, and every patched nevus keeps its dots off the lesion
    split = sl.make_split("biased", 20, 0, seed=2, size=32, world={"patch_scale": 1.8})
    for p in split.params_train:
        if p.patches:
            for patch in p.patches:
                overlap = sl.lesion_mask(p, 32) * sl.patch_layer(patch, 32)[1]
                assert overlap.max() == 0.0
    assert all(p["patch_scale"] == 2.0 for p in sl.WORLD_PRESETS.values())


def test_place_or_shrink_shrinks_only_when_needed(samples, pool):
    placed = sl.place_or_shrink(pool[0], samples[0], seed=1)
    assert placed == sl.place_patch(pool[0], samples[0], seed=1)  # room: unchanged size
    worst = sl.LesionParams(1, 1.0, 1.0, 1.0, 1.0, cx=0.08, cy=-0.08, elongation=1.25, fov=1.05)
    big = replace(pool[0], rx=0.3, ry=0.3)
    with pytest.raises(ValueError, match="no free place"):
        sl.place_patch(big, worst, seed=0)
    fitted = sl.place_or_shrink(big, worst, seed=0)
    assert fitted.placed and fitted.rx < 0.3
    assert (sl.lesion_mask(worst, 64) * sl.patch_layer(fitted, 64)[1]).max() == 0.0
    with pytest.raises(ValueError, match="no free place"):
        sl.place_or_shrink(replace(pool[0], rx=3.0, ry=3.0), worst, seed=0)
