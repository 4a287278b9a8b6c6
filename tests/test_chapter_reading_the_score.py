"""The "Reading the score" chapter's modules on inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from propgrad.chapters.reading_the_score import contest, nulls, steps


def test_step_table_of_a_straight_line_is_per_step_one_over_n_minus_one():
    table = steps.step_table({n: (np.tile(np.linspace(0, 1, n), (3, 1)), np.linspace(0, 1, n))
                              for n in (5, 11)})  # fmt: skip
    assert table[5]["per_step"] == pytest.approx(0.25)
    assert table[11]["per_step"] == pytest.approx(0.1)
    for row in table.values():
        assert row["total"] == pytest.approx(1.0) and row["per_unit"] == pytest.approx(1.0)
    assert steps.spread(table, "per_step") == pytest.approx(2.5)
    assert steps.spread(table, "total") == pytest.approx(1.0)


def test_step_table_per_unit_ignores_a_falling_property_axis():
    n = 9
    curves = np.linspace(0, 2, n)[None, :]
    table = steps.step_table({n: (curves, np.linspace(1, 0, n))})  # the property falls
    assert table[n]["per_unit"] == pytest.approx(2.0)


def test_curve_scores_of_known_curves():
    curves = np.array([[0.9, 0.8, 0.2], [0.6, 0.55, 0.6]])
    scores = contest.curve_scores(curves)
    assert list(scores) == list(contest.METHODS)
    # second-order edges (as the paper): (0.15 + 0.35 + 0.85) / 3 and (0.1 + 0 + 0.1) / 3
    np.testing.assert_allclose(scores["Ours"], [0.45, 0.2 / 3])
    np.testing.assert_allclose(scores["two-point"], [0.7, 0.0])
    np.testing.assert_allclose(scores["range"], [0.7, 0.05])
    np.testing.assert_allclose(scores["start margin"], [-0.4, -0.1])


def _pool(m: int, seed: int = 0):
    """Half the sweeps drop from 0.9 to 0.1 (flip), half stay near 0.9."""
    rng = np.random.default_rng(seed)
    steps_ = np.linspace(0, 1, 11)
    drop = 0.9 - 0.8 * steps_[None, :] + rng.normal(0, 0.01, (m, 11))
    stay = 0.9 - 0.05 * steps_[None, :] + rng.normal(0, 0.01, (m, 11))
    p = np.clip(np.concatenate([drop, stay]), 0, 1)
    outputs = np.stack([p, 1 - p], axis=-1)
    return outputs, np.repeat([0, 1], m)


def test_contest_separable_pool_every_curve_method_is_perfect():
    outputs, labels = _pool(20)
    result = contest.contest(outputs, labels, 0, n_fit=5, n_test=5, n_resamples=4)
    assert result["flipped"] == pytest.approx(0.5)
    for method in ("Ours", "two-point", "range"):
        np.testing.assert_array_equal(result["accuracy"][method], 100.0)
    table, tests = contest.summary({"toy": result})
    assert table["toy"]["two-point"] == {"mean": 100.0, "std": 0.0}
    assert tests["toy"]["two-point"] == 1.0  # never differs from Ours


def test_contest_refuses_a_pool_smaller_than_the_draws():
    outputs, labels = _pool(4)
    with pytest.raises(ValueError, match="class 0 has 4 sweeps; a resample draws 3 \\+ 3"):
        contest.contest(outputs, labels, 0, n_fit=3, n_test=3, n_resamples=2)


def test_null_sequences_have_their_defining_statistics():
    rng = np.random.default_rng(0)
    ar = nulls.null_sequences("AR(1) 0.9", 4000, 30, rng)
    assert ar.shape == (4000, 30)
    # stationary from the first point: variance 1 / (1 - 0.81) at the start and the end
    assert np.var(ar[:, 0]) == pytest.approx(1 / 0.19, rel=0.1)
    assert np.var(ar[:, -1]) == pytest.approx(1 / 0.19, rel=0.1)
    lag1 = np.mean([np.corrcoef(x[:-1], x[1:])[0, 1] for x in ar[:200]])
    assert 0.6 < lag1 < 0.95  # (biased low in short series)
    walk = nulls.null_sequences("random walk", 4000, 30, rng)
    assert np.var(walk[:, -1]) == pytest.approx(30, rel=0.1)
    drift = nulls.null_sequences("drift + noise", 4000, 30, rng)
    assert drift.mean(axis=0)[-1] - drift.mean(axis=0)[0] == pytest.approx(0.29, abs=0.1)
    with pytest.raises(ValueError, match="unknown null 'white'"):
        nulls.null_sequences("white", 1, 5, rng)


def test_rejection_rates_are_calibrated_for_noise_and_high_for_a_walk():
    rates = nulls.rejection_rates([21], 200, n_permutations=200, alpha=0.05, seed=1)
    assert list(rates) == list(nulls.NULLS)
    assert rates["iid noise"][21] <= 0.1
    assert rates["random walk"][21] > 0.5


def test_holm_count_on_known_p_values():
    counts = nulls.holm_count([0.001, 0.004, 0.03, 0.2], 0.05)
    # alone: three below 0.05; Holm: 0.001 < 0.0125, 0.004 < 0.0167, 0.03 > 0.025 stops
    assert counts == {"tests": 4, "alone": 3, "holm": 2}
