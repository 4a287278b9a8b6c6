"""The World protocol's contract, checked over every registered world."""

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pytest

from propgrad.sweep import Sweep
from propgrad.worlds import WORLDS, Property, Split, World, WorldRegistry
from propgrad.worlds import cats_dogs as cd
from propgrad.worlds import portraits as pt
from propgrad.worlds import skin_lesions as sl
from propgrad.worlds.base import unit_properties

NAMES = ("cats_dogs", "skin_lesions", "portraits")
SIZE = 32
UINT8_RENDER = {
    "cats_dogs": cd.render_batch,
    "skin_lesions": sl.render_batch,
    "portraits": pt.render_batch,
}


@pytest.fixture(scope="module", params=NAMES)
def world(request):
    return WORLDS[request.param]


@pytest.fixture(scope="module")
def records(world):
    return world.sample(2, seed=11)


def _frames(sweep):
    return sweep.to_array().astype(np.float32) / np.float32(255.0)


def _ends(prop):
    """Two values that must render differently (low and the middle for a circular range)."""
    return (prop.low, (prop.low + prop.high) / 2 if prop.circular else prop.high)


# -- registry and types ---------------------------------------------------------


def test_registry_holds_the_three_worlds():
    assert set(NAMES) <= set(WORLDS) and len(WORLDS) >= 3
    for name in NAMES:
        assert WORLDS[name] is WORLDS[name] and WORLDS[name].name == name
        assert isinstance(WORLDS[name], World)
    with pytest.raises(KeyError, match="unknown world"):
        WORLDS["atlantis"]


def test_classes_and_properties(world, records):
    assert isinstance(world.classes, tuple) and len(world.classes) >= 2
    assert all(isinstance(c, str) and c for c in world.classes)
    assert isinstance(world.properties, Mapping) and len(world.properties) >= 1
    for name, prop in world.properties.items():
        assert isinstance(prop, Property) and prop.name == name
        assert prop.low < prop.high and isinstance(prop.label, str) and prop.label
        for p in records:
            assert prop.low <= getattr(p, name) <= prop.high


# -- render ------------------------------------------------------------------------


def test_render_is_the_uint8_render_over_255(world, records):
    images = world.render(records, size=SIZE)
    assert images.shape == (2, SIZE, SIZE, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.std() > 0
    uint8 = UINT8_RENDER[world.name](records, SIZE)
    np.testing.assert_array_equal(images, uint8.astype(np.float32) / np.float32(255.0))
    np.testing.assert_array_equal(np.round(images * 255).astype(np.uint8), uint8)
    one = world.render(records[1], size=SIZE)  # a single record is a batch of one
    assert one.shape == (1, SIZE, SIZE, 3)
    np.testing.assert_array_equal(one[0], images[1])


# -- intervene ---------------------------------------------------------------------


def test_intervene_is_exact_deterministic_and_keeps_the_grid(world, records):
    for name, prop in world.properties.items():
        span = prop.high - prop.low
        v = prop.low + 0.35 * span
        first = [prop.low, v, prop.high]
        second = [v, prop.low + 0.6 * span]  # v again, elsewhere in another grid
        sweeps = world.intervene(records, name, first, size=SIZE)
        others = world.intervene(records, name, second, size=SIZE)
        again = world.intervene(records, name, first, size=SIZE)
        assert isinstance(sweeps, list) and len(sweeps) == len(records)
        for p, sweep, other, repeat in zip(records, sweeps, others, again):
            assert isinstance(sweep, Sweep) and len(sweep) == 3 and len(other) == 2
            assert sweep.grid.tolist() == first and other.grid.tolist() == second
            assert sweep.grid_name == prop.label
            frames = _frames(sweep)
            assert frames.shape == (3, SIZE, SIZE, 3)
            for value, frame in zip(first, frames):
                expected = world.render(replace(p, **{name: value}), size=SIZE)[0]
                np.testing.assert_array_equal(frame, expected, err_msg=f"{name}={value}")
            np.testing.assert_array_equal(_frames(other)[0], frames[1])
            np.testing.assert_array_equal(repeat.to_array(), sweep.to_array())


def test_every_property_changes_pixels(world, records):
    for name, prop in world.properties.items():
        changed = [
            not np.array_equal(*world.intervene(p, name, _ends(prop), size=SIZE).to_array())
            for p in records
        ]
        assert any(changed), f"{world.name}: {name} changes no pixel"


def test_intervene_on_one_record_gives_one_sweep(world, records):
    name, prop = next(iter(world.properties.items()))
    sweep = world.intervene(records[0], name, 4, size=SIZE)
    assert isinstance(sweep, Sweep) and len(sweep) == 4
    np.testing.assert_allclose(sweep.grid, np.linspace(prop.low, prop.high, 4))


def test_intervene_errors(world, records):
    name, prop = next(iter(world.properties.items()))
    with pytest.raises(ValueError, match="unknown property"):
        world.intervene(records, "no_such_property", [0.0, 1.0], size=SIZE)
    with pytest.raises(ValueError, match="must lie in"):
        world.intervene(records, name, [prop.low, prop.high + 1.0], size=SIZE)
    with pytest.raises(ValueError, match="strictly increasing"):
        world.intervene(records, name, [prop.high, prop.low], size=SIZE)
    with pytest.raises(ValueError, match="no records"):
        world.intervene([], name, [prop.low, prop.high], size=SIZE)
    other = next(w for w in NAMES if w != world.name)
    with pytest.raises(TypeError, match="records"):
        world.render(WORLDS[other].sample(1, seed=0), size=SIZE)


# -- sample ------------------------------------------------------------------------


def test_sample_gives_n_reproducible_records(world):
    a, b = world.sample(5, seed=3), world.sample(5, seed=3)
    assert len(a) == 5 and [p.to_dict() for p in a] == [p.to_dict() for p in b]
    assert [p.label for p in a] == [0, 1, 0, 1, 0]
    assert [p.to_dict() for p in world.sample(5, seed=4)] != [p.to_dict() for p in a]
    assert world.sample(0, seed=3) == []


def test_sample_conditions(world):
    for label, name in enumerate(world.classes):
        assert {p.label for p in world.sample(3, seed=1, label=name)} == {label}
        assert {p.label for p in world.sample(3, seed=1, label=label)} == {label}
    prop_name, prop = next(iter(world.properties.items()))
    mid = (prop.low + prop.high) / 2
    assert {getattr(p, prop_name) for p in world.sample(3, seed=1, **{prop_name: mid})} == {mid}
    ranged = [
        getattr(p, prop_name) for p in world.sample(6, seed=1, **{prop_name: (mid, prop.high)})
    ]
    assert all(mid <= v <= prop.high for v in ranged) and len(set(ranged)) > 1


def test_sample_errors(world):
    with pytest.raises(ValueError, match="unknown condition"):
        world.sample(2, seed=0, no_such_condition=1)
    with pytest.raises(ValueError, match="label"):
        world.sample(2, seed=0, label=len(world.classes))
    with pytest.raises(ValueError, match="unknown class"):
        world.sample(2, seed=0, label="unicorn")
    with pytest.raises(ValueError, match="non-negative"):
        world.sample(-1)
    prop_name, prop = next(iter(world.properties.items()))
    with pytest.raises(ValueError, match="must lie in"):
        world.sample(2, seed=0, **{prop_name: prop.high + 1.0})


# -- split -------------------------------------------------------------------------


def test_split_is_a_split_with_consistent_parts(world):
    split = world.split(world.splits[-1], preset="smoke")
    assert isinstance(split, Split) and split.name == world.splits[-1]
    assert split.classes == world.classes
    for part in ("train", "test"):
        x, y, params = (getattr(split, f"{k}_{part}") for k in ("x", "y", "params"))
        assert x.dtype == np.uint8 and x.ndim == 4 and x.shape[1:] == (SIZE, SIZE, 3)
        assert len(x) == len(y) == len(params) > 0 and y.dtype == np.int64
        assert set(np.unique(y)) <= set(range(len(world.classes)))
        np.testing.assert_array_equal(y, [p.label for p in params])
    np.testing.assert_array_equal(
        split.x_test[:3], UINT8_RENDER[world.name](split.params_test[:3], SIZE)
    )
    counts = split.counts()
    assert sum(counts.values()) == len(split.y_train) + len(split.y_test)
    assert len(counts) == 2 * len(world.classes)


def test_split_seed_and_errors(world):
    a = world.split(world.splits[0], preset="smoke", test_only=True)
    b = world.split(world.splits[0], preset="smoke", test_only=True, seed=5)
    assert len(a.x_train) == 0 and len(a.x_test) == len(b.x_test)
    assert not np.array_equal(a.x_test, b.x_test)
    with pytest.raises(ValueError, match="unknown split"):
        world.split("no-such-split", preset="smoke")
    with pytest.raises(ValueError, match="unknown preset"):
        world.split(world.splits[0], preset="no-such-preset")


def test_the_three_split_classes_are_splits():
    assert all(issubclass(c, Split) for c in (cd.CatDogSplit, sl.SkinLesionSplit, pt.PortraitSplit))
    cats = cd.make_split("dark-cats", 2, 1, size=16)
    assert cats.counts() == {"train cats": 2, "train dogs": 2, "test cats": 1, "test dogs": 1}
    assert cats.fur_tones("test").shape == (2,) and cats.classes == ("cat", "dog")
    lesions = sl.make_split("biased", 2, 1, size=16)
    assert lesions.counts()["train nevus"] == 2 and lesions.has_patch("train").any()
    assert lesions.abcd("test").shape == (2, 4)
    with pytest.raises(ValueError, match="part must be 'train' or 'test'"):
        lesions.has_patch("val")
    faces = pt.make_split(2, 1, seed=0, size=16)
    assert faces.name == "balanced" and faces.size == 16 and faces.counts()["test young"] == 1
    np.testing.assert_array_equal(faces.dial("greyness", "test"), faces.values("greyness", "test"))
    # the portrait split keeps its original constructor: data fields, size, world
    data = (faces.x_train, faces.y_train, faces.params_train, faces.x_test, faces.y_test)
    again = pt.PortraitSplit(*data, faces.params_test, 16, faces.world)
    assert again.name == "balanced" and again.classes == pt.CLASS_NAMES


# -- world-specific promises ---------------------------------------------------


def test_cats_dogs_sweep_equals_the_worlds_own_intervene():
    world = WORLDS["cats_dogs"]
    p = world.sample(1, seed=2)[0]
    new = world.intervene(p, "fur_tone", [0.1, 0.5, 0.9], size=SIZE)
    old = cd.intervene(p, "fur_tone", [0.1, 0.5, 0.9], size=SIZE)
    np.testing.assert_array_equal(new.to_array(), old.to_array())
    assert new.grid_name == old.grid_name and new.metadata == old.metadata
    dark = world.sample(6, seed=2, split="dark-cats")
    assert all(p.fur_tone <= 0.35 if p.label == 0 else p.fur_tone >= 0.65 for p in dark)
    with pytest.raises(ValueError, match="give one of them"):
        world.sample(2, split="dark-cats", fur_tone=0.5)


def test_lesion_patch_property_is_the_alpha_blend_sweep():
    from propgrad.interventions.designed import alpha_blend_sweep

    world = WORLDS["skin_lesions"]
    lesion = sl.sample_params(np.random.default_rng(4), "melanoma")
    patch = sl.patch_pool(3, seed=0, pool="intervention")[1]
    alphas = np.linspace(0.0, 1.0, 5)
    old = sl.intervene(lesion, patch, 5, size=SIZE, seed=3)
    new = world.intervene(lesion, "patch", alphas, size=SIZE, patch=patch, seed=3)
    np.testing.assert_array_equal(new.to_array(), old.to_array())
    assert new.grid.tolist() == old.grid.tolist() and new.grid_name == sl.PATCH_GRID_NAME
    assert new.metadata["property"] == "patch" and new.metadata["patch"] == old.metadata["patch"]
    placed = sl.Patch.from_dict(new.metadata["patch"])
    rgb, mask = sl.patch_layer(placed, SIZE)
    blend = alpha_blend_sweep(sl.render(lesion, SIZE), rgb, mask, alphas=alphas)
    np.testing.assert_array_equal(new.to_array(), blend.to_array())
    # the record carrying the patch renders the frames; at 0 and 1 the known images
    scene = world.with_patch(lesion, patch, seed=3)
    assert scene.overlay == placed and scene.patch == 1.0
    for a, frame in zip(alphas, new.to_array()):
        np.testing.assert_array_equal(sl.render(replace(scene, patch=a), SIZE), frame)
    np.testing.assert_array_equal(
        sl.render(replace(scene, patch=0.0), SIZE), sl.render(lesion, SIZE)
    )
    with_it = replace(lesion, patches=(placed,))
    np.testing.assert_array_equal(sl.render(scene, SIZE), sl.render(with_it, SIZE))
    assert sl.PatchedLesion.from_dict(scene.to_dict()) == scene
    assert scene.lesion == lesion


def test_sampled_lesions_carry_an_invisible_patch():
    world = WORLDS["skin_lesions"]
    scenes = world.sample(3, seed=5)
    for s in scenes:
        assert isinstance(s, sl.PatchedLesion) and s.patch == 0.0 and s.overlay.placed
        assert s.overlay.patch_id.startswith("intervention-")
        np.testing.assert_array_equal(sl.render(s, SIZE), sl.render(s.lesion, SIZE))
    assert {s.patch for s in world.sample(2, seed=5, patch=0.7)} == {0.7}


def test_lesion_patch_errors():
    world = WORLDS["skin_lesions"]
    lesion = sl.sample_params(np.random.default_rng(4), "nevus")
    with pytest.raises(ValueError, match="needs a patch"):
        world.intervene(lesion, "patch", [0.0, 1.0], size=SIZE)
    patch = sl.patch_pool(1)[0]
    with pytest.raises(ValueError, match="'patch' property only"):
        world.intervene(lesion, "border", [0.0, 1.0], size=SIZE, patch=patch)
    with pytest.raises(ValueError, match="has no position"):
        world.intervene(lesion, "patch", [0.0, 1.0], size=SIZE, patch=patch, place=False)
    with pytest.raises(ValueError, match="patch must lie in"):
        world.with_patch(lesion, patch, 1.5)


def test_portrait_dial_conditions_set_the_dial():
    world = WORLDS["portraits"]
    faces = world.sample(4, seed=0, label="young", greyness=1.0)
    assert all(f.young == 1 and f.greyness == 1.0 for f in faces)
    assert world.properties["background"].circular
    p = faces[0]
    assert np.array_equal(*world.intervene(p, "background", [0.0, 1.0], size=SIZE).to_array())


# -- adding a fourth world, and the import rule ------------------------------


@dataclass
class _Disc:
    label: int
    brightness: float
    seed: int = 0

    def to_dict(self):
        return {"label": self.label, "brightness": self.brightness, "seed": self.seed}


def _render_discs(records, size):
    out = np.empty((len(records), size, size, 3), np.uint8)
    coords = (np.arange(size) + 0.5) / size * 2 - 1
    for i, p in enumerate(records):
        noise = np.random.default_rng(p.seed).uniform(0, 0.1, (size, size, 1))
        r = 0.3 + 0.4 * p.label
        inside = (np.hypot(*np.meshgrid(coords, coords)) < r)[..., None]
        out[i] = np.round(np.clip(inside * p.brightness + noise, 0, 1) * 255)
    return out


class _DiscWorld(World):
    name = "discs"
    classes = ("small", "large")
    properties = unit_properties({"brightness": "disc brightness"})
    params_type = _Disc
    splits = ("plain",)
    presets = ()
    _render_batch = staticmethod(_render_discs)

    def _sample(self, labels, rng, conditions):
        records = [_Disc(k, float(rng.uniform()), int(rng.integers(1000))) for k in labels]
        return self._set_properties(records, rng, conditions)


def test_a_fourth_world_needs_only_the_documented_pieces():
    registry = WorldRegistry({})
    world = registry.register(_DiscWorld())
    assert registry["discs"] is world and isinstance(world, World)
    with pytest.raises(ValueError, match="registered already"):
        registry.register(_DiscWorld())
    p = world.sample(1, seed=0, label="large")[0]
    sweep = world.intervene(p, "brightness", [0.2, 0.9], size=16)
    np.testing.assert_array_equal(
        _frames(sweep)[1], world.render(replace(p, brightness=0.9), 16)[0]
    )
    assert sweep.metadata["class_name"] == "large"


def test_worlds_import_no_model_code():
    code = (
        "import sys; from propgrad.worlds import WORLDS; "
        "[WORLDS[n].sample(1) for n in WORLDS]; "
        "bad = {'torch', 'timm', 'propgrad.models', 'propgrad.train'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    cheap = "import sys, propgrad.worlds; assert 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", cheap], check=True)
