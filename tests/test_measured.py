from __future__ import annotations

import numpy as np
import pytest

from propgrad.measure import expected_property_gradient
from propgrad.measured import LUMA, gradient_per_unit, measure_property
from propgrad.worlds import WORLDS


def _fading_square(n=6, size=12):
    """A grey square brightening in the middle of a dark image, frame by frame."""
    frames = np.zeros((n, size, size, 3), np.uint8)
    for i in range(n):
        frames[i, 3:9, 3:9] = 40 + 30 * i
    return frames


def test_measured_axis_equal_to_the_true_one_gives_the_exact_score():
    x = np.sort(np.random.default_rng(0).uniform(0, 2, 15))
    f = np.tanh(3 * (x - 1))
    assert gradient_per_unit(f, x) == pytest.approx(expected_property_gradient(f, grid=x))


@pytest.mark.parametrize("n", [11, 21, 41, 101])
def test_a_linear_response_has_the_same_score_per_unit_at_every_length(n):
    x = np.linspace(0.2, 0.8, n)
    assert gradient_per_unit(0.5 * x + 0.1, x) == pytest.approx(0.5)
    # per step it shrinks with the number of steps
    assert expected_property_gradient(0.5 * x) == pytest.approx(0.5 * 0.6 / (n - 1))


def test_a_falling_axis_is_flipped_and_columns_stay_apart():
    x = np.linspace(1.0, 0.0, 9)
    f = np.stack([2 * x, -x], axis=1)
    assert np.allclose(gradient_per_unit(f, x), [2.0, 1.0])


def test_a_non_monotone_axis_is_sorted_with_a_warning():
    values = np.array([0.0, 0.2, 0.1, 0.3, 0.3, 0.5])
    outputs = 2 * values
    with pytest.warns(UserWarning, match="not monotone"):
        score = gradient_per_unit(outputs, values)
    assert score == pytest.approx(2.0)  # equal values merged, sorted axis is linear


@pytest.mark.parametrize(
    ("values", "message"),
    [(np.ones(6), "does not change"), (np.arange(5.0), "one measured value per frame"),
     (np.array([0, 1, np.nan, 3, 4, 5.0]), "finite")],
)  # fmt: skip
def test_per_unit_errors(values, message):
    with pytest.raises(ValueError, match=message):
        gradient_per_unit(np.arange(6.0), values)


def test_measure_finds_the_edited_region_and_its_luminance():
    frames = _fading_square()
    m = measure_property(frames)
    expected = (40 + 30 * np.arange(6)) / 255.0  # grey: luminance equals the level
    assert np.allclose(m.values, expected)
    assert m.mask[5, 5] == 1 and m.mask[0, 0] == 0 and m.monotone and m.direction == 1
    # a mask the user gives measures there (the dark corner never changes)
    corner = np.zeros((12, 12))
    corner[:2, :2] = 1
    assert np.allclose(measure_property(frames, corner).values, 0.0)


def test_measure_errors():
    frames = _fading_square()
    with pytest.raises(ValueError, match="identical"):
        measure_property(np.repeat(frames[:1], 4, axis=0))
    with pytest.raises(ValueError, match="mask has shape"):
        measure_property(frames, np.ones((3, 3)))
    with pytest.raises(ValueError, match="quantile"):
        measure_property(frames, quantile=1.5)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        measure_property(frames[..., 0])


def test_on_a_toy_fur_sweep_the_measured_axis_tracks_the_true_fur_tone():
    world = WORLDS["cats_dogs"]
    animal = world.sample(1, seed=3, label="dog")[0]
    tones = np.linspace(0.0, 1.0, 11)
    sweep = world.intervene(animal, "fur_tone", tones, size=48)
    measured = measure_property(sweep)
    assert np.corrcoef(measured.values, tones)[0, 1] > 0.99
    assert measured.monotone and measured.direction == 1
    assert LUMA.sum() == pytest.approx(1.0)
