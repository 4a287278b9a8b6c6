"""The drawing primitives the procedural worlds share."""

from __future__ import annotations

import numpy as np
import pytest

from propgrad.worlds import drawing


def test_value_noise_is_smooth_bounded_and_seeded():
    a = drawing.value_noise(np.random.default_rng(3), 4, 32)
    b = drawing.value_noise(np.random.default_rng(3), 4, 32)
    assert a.shape == (32, 32) and np.issubdtype(a.dtype, np.floating)
    np.testing.assert_array_equal(a, b)
    assert -1.0 <= a.min() < a.max() <= 1.0
    # neighbours differ far less than the range: 4 cells over 32 pixels
    assert np.abs(np.diff(a, axis=0)).max() < 0.5 * (a.max() - a.min())
    assert not np.array_equal(a, drawing.value_noise(np.random.default_rng(4), 4, 32))


def test_signed_distance_and_coverage_of_an_ellipse():
    u = np.array([0.0, 2.0, 4.0, 0.0], dtype=np.float32)
    v = np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32)
    d = drawing.sd_ellipse(u, v, 2.0, 1.0)
    np.testing.assert_allclose(d, [-1.0, 0.0, 1.0, 0.0])  # inside, outline, outside, outline
    c = drawing.coverage(d, 10.0)
    np.testing.assert_allclose(c, [1.0, 0.5, 0.0, 0.5])


def test_to_uint8_rounds_and_validate_unit_names_the_value():
    np.testing.assert_array_equal(
        drawing.to_uint8(np.array([0.0, 0.5, 1.0])), np.array([0, 128, 255], dtype=np.uint8)
    )
    assert drawing.validate_unit("rate", 1) == 1.0
    with pytest.raises(ValueError, match=r"rate must lie in \[0, 1\], got 1.5"):
        drawing.validate_unit("rate", 1.5)
