"""Designed interventions: Gaussian-kernel background scaling and alpha blending."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from propgrad.interventions.designed import (
    alpha_blend_sweep,
    background_sweep,
    gaussian_center_kernel,
    scale_background,
)


@pytest.fixture
def grey():
    return np.full((41, 61, 3), 100, dtype=np.uint8)


def test_kernel_peak_and_decay():
    for h, w in [(41, 61), (40, 60)]:
        kernel = gaussian_center_kernel(h, w, sigma=0.3)
        assert kernel.shape == (h, w)
        assert kernel.max() == pytest.approx(1.0)
        assert kernel[h // 2, w // 2] == pytest.approx(1.0)
        assert np.all(kernel > 0)
        row = kernel[h // 2, w // 2 :]
        assert np.all(np.diff(row) < 0)  # falls towards the edge
    kernel = gaussian_center_kernel(41, 61, sigma=0.3)
    # middle of an edge: exp(-0.5 * (0.5 / 0.3)^2) up to the half-pixel offset
    assert kernel[20, 0] == pytest.approx(np.exp(-0.5 * (30 / (0.3 * 61)) ** 2))
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1])  # symmetric


def test_kernel_rejects_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        gaussian_center_kernel(8, 8, sigma=0)


def test_zero_strength_is_identity(grey):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (33, 47, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(scale_background(photo, 0.0)), photo)


def test_centre_fixed_edges_monotone(grey):
    strengths = np.linspace(-0.8, 0.8, 9)
    images = [np.asarray(scale_background(grey, s)) for s in strengths]
    centre = [im[20, 30, 0] for im in images]
    assert set(centre) == {100}
    corner = np.array([im[0, 0, 0] for im in images], dtype=int)
    edge = np.array([im[20, 0, 0] for im in images], dtype=int)
    assert np.all(np.diff(corner) > 0) and np.all(np.diff(edge) > 0)
    assert corner[0] < edge[0] < 100 < edge[-1] < corner[-1]
    # s = -1 leaves I * K
    darkest = np.asarray(scale_background(grey, -1.0)).astype(float)
    np.testing.assert_allclose(darkest[..., 0], 100 * gaussian_center_kernel(41, 61), atol=0.5)


def test_clipping():
    bright = np.full((20, 20, 3), 250, dtype=np.uint8)
    out = np.asarray(scale_background(bright, 0.9))
    assert out.dtype == np.uint8 and out.max() == 255 and out[0, 0, 0] == 255
    with pytest.raises(ValueError, match="at least -1"):
        scale_background(bright, -1.5)


def test_background_sweep_shape_grid_metadata():
    photo = Image.new("RGB", (50, 40), (120, 80, 60))
    sweep = background_sweep(photo, n_steps=7, strength=(-0.5, 0.5), sigma=0.25)
    assert len(sweep) == 7
    assert {im.size for im in sweep} == {(50, 40)}
    np.testing.assert_allclose(sweep.grid, np.linspace(-0.5, 0.5, 7))
    assert np.all(np.diff(sweep.grid) > 0)
    assert sweep.grid_name == "background scaling"
    assert sweep.metadata["sigma"] == 0.25 and sweep.metadata["n_steps"] == 7
    assert np.array_equal(np.asarray(sweep[3]), np.asarray(photo))  # s = 0 in the middle
    resized = background_sweep(photo, n_steps=3, size=(16, 16))
    assert resized[0].size == (16, 16) and len(resized) == 3


def test_background_sweep_default_is_100_steps():
    sweep = background_sweep(np.zeros((8, 8, 3), dtype=np.uint8))
    assert len(sweep) == 100
    assert sweep.grid[0] == pytest.approx(-0.8) and sweep.grid[-1] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_steps": 1}, "n_steps"),
        ({"strength": (0.5, -0.5)}, "strength"),
        ({"strength": (-2.0, 0.5)}, "strength"),
        ({"sigma": -1.0}, "sigma"),
    ],
)
def test_background_sweep_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        background_sweep(np.zeros((8, 8, 3), dtype=np.uint8), **kwargs)


def test_alpha_blend_endpoints_and_mask():
    image = np.full((10, 12, 3), 20, dtype=np.uint8)
    overlay = np.zeros_like(image)
    overlay[:] = (200, 40, 90)
    mask = np.zeros((10, 12), dtype=bool)
    mask[2:5, 3:8] = True
    sweep = alpha_blend_sweep(image, overlay, mask, alphas=[0.0, 0.5, 1.0])
    assert sweep.grid_name == "alpha" and sweep.grid.tolist() == [0.0, 0.5, 1.0]
    first, half, last = (np.asarray(im) for im in sweep)
    assert np.array_equal(first, image)
    assert np.array_equal(last[mask], overlay[mask])
    assert np.array_equal(last[~mask], image[~mask])
    np.testing.assert_allclose(half[mask], (image[mask].astype(float) + overlay[mask]) / 2, atol=1)
    assert sweep.metadata["mask_fraction"] == pytest.approx(mask.mean())


def test_alpha_blend_soft_and_pil_mask():
    image = Image.new("RGB", (4, 4), (0, 0, 0))
    overlay = Image.new("RGB", (4, 4), (200, 200, 200))
    mask = Image.new("L", (4, 4), 128)
    last = np.asarray(alpha_blend_sweep(image, overlay, mask, alphas=[0.0, 1.0])[1])
    assert np.all(np.abs(last.astype(int) - 100) <= 1)


def test_alpha_blend_validation():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="overlay"):
        alpha_blend_sweep(image, np.zeros((5, 4, 3), dtype=np.uint8), np.ones((4, 4)))
    with pytest.raises(ValueError, match="mask"):
        alpha_blend_sweep(image, image, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        alpha_blend_sweep(image, image, np.ones((4, 4)), alphas=[0.0, 1.5])
    with pytest.raises(ValueError, match="strictly increasing"):
        alpha_blend_sweep(image, image, np.ones((4, 4)), alphas=[0.5, 0.2])
