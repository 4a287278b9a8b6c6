from __future__ import annotations

import numpy as np
import pytest

from propgrad.controls import control_p_value, identity_sweep, noise_sweep
from propgrad.measure import expected_property_gradient


def test_identity_sweep_repeats_the_image_so_any_score_is_zero():
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    sweep = identity_sweep(image, 5)
    frames = sweep.to_array()
    assert frames.shape == (5, 8, 8, 3) and (frames == image).all()
    outputs = frames.reshape(5, -1).mean(axis=1)  # any function of the frames
    assert expected_property_gradient(outputs) == 0.0
    assert sweep.metadata["control"] == "identity"


def test_noise_sweep_changes_pixels_by_sigma_and_is_reproducible():
    image = np.full((32, 32, 3), 128, np.uint8)
    a, b = noise_sweep(image, 4, sigma=3.0, seed=1), noise_sweep(image, 4, sigma=3.0, seed=1)
    assert np.array_equal(a.to_array(), b.to_array())
    deviation = a.to_array().astype(float) - 128
    assert deviation.std() == pytest.approx(3.0, rel=0.1) and abs(deviation.mean()) < 0.2
    assert not np.array_equal(a.to_array()[0], a.to_array()[1])


def test_control_p_value_counts_controls_at_least_as_large():
    controls = np.linspace(0.0, 1.0, 99)
    assert control_p_value(2.0, controls) == pytest.approx(1 / 100)
    assert control_p_value(-1.0, controls) == pytest.approx(1.0)
    assert control_p_value(controls[49], controls) == pytest.approx(51 / 100)
    with pytest.raises(ValueError, match="at least one control"):
        control_p_value(0.1, [])
    with pytest.raises(ValueError, match="finite"):
        control_p_value(np.nan, [0.1])
    with pytest.raises(ValueError, match="at least 2 frames"):
        identity_sweep(np.zeros((4, 4, 3)), 1)
