from __future__ import annotations

import numpy as np
import pytest

from propgrad.summary import summarise_behaviour


def test_mean_curve_scores_and_flips():
    steps = np.linspace(0.0, 1.0, 31)
    early = np.clip(steps * 2, 0, 1)  # crosses 0.5 early
    late = np.clip(steps * 2 - 1, 0, 1)  # crosses 0.5 late
    summary = summarise_behaviour(np.stack([early, late]), n_permutations=999, seed=1)
    np.testing.assert_allclose(summary.mean_curve, (early + late) / 2)
    assert summary.flips == 1
    assert summary.significant
    # E of the mean curve is smaller than the mean of per-curve E when onsets differ
    assert summary.gradient == pytest.approx(np.mean(np.abs(np.gradient(summary.mean_curve))))
    assert summary.mean_per_sweep_gradient >= summary.gradient - 1e-12
    assert summary.per_sweep_flips.tolist() == [1, 1]
    assert summary.fraction_flipped == 1.0
    assert summary.fraction_significant == 1.0


def test_flat_curves_are_not_significant_and_do_not_flip():
    flat = np.full((3, 21), 0.8)
    summary = summarise_behaviour(flat, n_permutations=200)
    assert summary.gradient == pytest.approx(0.0, abs=1e-15)
    assert summary.p_value == 1.0
    assert not summary.significant
    assert summary.flips == 0
    np.testing.assert_allclose(summary.std_curve, 0.0, atol=1e-15)


def test_single_curve_and_threshold():
    curve = np.array([0.1, 0.3, 0.2, 0.3, 0.35])
    assert summarise_behaviour(curve, threshold=0.22, n_permutations=50).flips == 3
    assert summarise_behaviour(curve, n_permutations=50).per_sweep_gradient.shape == (1,)
