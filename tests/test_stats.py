"""Tests for propgrad.stats: the shuffle test and multiple-testing helper."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats

from propgrad.measure import expected_property_gradient, pearson_rho
from propgrad.stats import (
    ShuffleTestResult,
    _random_permutations,
    holm_bonferroni,
    shuffle_test,
)

K = 2000
N = 101
X = np.linspace(0.0, 1.0, N)


def sine():
    return 0.5 + 0.4 * np.sin(2 * np.pi * 1.25 * X)  # one and a quarter periods


def full_period_wave():
    # exactly one period, phase chosen symmetric around the middle of the sweep
    # (a cosine); note that sin over one period correlates with x (rho ~ -0.78)
    return np.cos(2 * np.pi * np.arange(N) / (N - 1))


def parabola():
    return (2 * X - 1) ** 2  # symmetric around the middle of the sweep


def step():
    return (X > 0.5).astype(float)


def noise(seed):
    return np.random.default_rng(seed).normal(size=N)


def reference_test(x, k, seed, statistic):
    """Slow, loop-based test written the way the authors' code works."""
    rng = np.random.default_rng(seed)
    obs = statistic(x)
    null = np.array([statistic(rng.permutation(x)) for _ in range(k)])
    mu = null.mean()
    count = np.count_nonzero(np.abs(null - mu) >= np.abs(obs - mu))
    return (count + 1) / (k + 1), null


# ----------------------------------------------------------------------------
# result structure and p-value definition
# ----------------------------------------------------------------------------
def test_single_result_fields():
    res = shuffle_test(sine(), n_permutations=K, seed=0)
    assert isinstance(res, ShuffleTestResult)
    assert isinstance(res.statistic, float)
    assert isinstance(res.p_value, float)
    assert isinstance(res.significant, bool)
    assert res.null.shape == (K,)
    assert res.n_permutations == K and res.alpha == 0.01
    assert res.statistic_name == "gradient"
    assert res.statistic == pytest.approx(expected_property_gradient(sine()), rel=1e-12)
    with pytest.raises(AttributeError):
        res.p_value = 0.5  # frozen


def test_p_value_is_two_sided_with_plus_one_correction():
    res = shuffle_test(noise(1), n_permutations=K, seed=4)
    mu = res.null.mean()
    count = np.count_nonzero(np.abs(res.null - mu) >= np.abs(res.statistic - mu))
    assert res.p_value == pytest.approx((count + 1) / (K + 1), abs=1e-15)
    assert res.significant == (res.p_value < res.alpha)


def test_null_values_are_statistics_of_permutations():
    # with N = 4 there are only 24 orders; every null value must be one of theirs
    x = np.array([0.1, 0.7, 0.2, 1.3])
    possible = np.array(
        [expected_property_gradient(np.array(p)) for p in itertools.permutations(x)]
    )
    res = shuffle_test(x, n_permutations=3000, seed=5)
    dist = np.abs(res.null[:, None] - possible[None, :]).min(axis=1)
    assert dist.max() < 1e-12
    # and all distinct values occur about as often as the orders producing them
    values, counts = np.unique(possible.round(12), return_counts=True)
    observed = np.array([np.sum(np.isclose(res.null, v, atol=1e-12)) for v in values])
    chi = scipy.stats.chisquare(observed, counts / counts.sum() * 3000)
    assert chi.pvalue > 1e-3


def test_matches_loop_reference_within_monte_carlo_error():
    k = 4000
    for seed in range(4):
        x = noise(100 + seed) + 2.0 * np.sin(np.linspace(0, 3, N))
        p_ref, null_ref = reference_test(x, k, seed, expected_property_gradient)
        res = shuffle_test(x, n_permutations=k, seed=seed + 50)
        # same null distribution ...
        assert scipy.stats.ks_2samp(null_ref, res.null).pvalue > 1e-3
        # ... and p-values equal up to Monte-Carlo error (binomial, both runs)
        p = max(p_ref, 5 / k)
        assert abs(p_ref - res.p_value) < 5 * np.sqrt(2 * p * (1 - p) / k) + 2 / k


# ----------------------------------------------------------------------------
# batches
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("statistic", ["gradient", "pearson"])
def test_batch_agrees_with_single_calls(statistic):
    rows = np.stack([noise(3), sine(), parabola(), step(), noise(4) + X, np.full(N, 0.25)])
    grid = np.sort(np.random.default_rng(0).uniform(0, 5, N))
    for g in (None, grid):
        batch = shuffle_test(rows, n_permutations=K, seed=11, statistic=statistic, grid=g)
        assert batch.p_value.shape == (6,) and batch.null.shape == (6, K)
        assert batch.significant.dtype == bool
        for m, row in enumerate(rows):
            single = shuffle_test(row, n_permutations=K, seed=11, statistic=statistic, grid=g)
            assert single.p_value == batch.p_value[m]
            assert single.significant == batch.significant[m]
            np.testing.assert_allclose(single.null, batch.null[m], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(single.statistic, batch.statistic[m], rtol=1e-12, atol=1e-14)


def test_seed_reproducible_and_seeds_differ():
    a = shuffle_test(noise(8), n_permutations=500, seed=1)
    b = shuffle_test(noise(8), n_permutations=500, seed=1)
    c = shuffle_test(noise(8), n_permutations=500, seed=2)
    np.testing.assert_array_equal(a.null, b.null)
    assert not np.array_equal(a.null, c.null)


def test_chunking_does_not_change_results(monkeypatch):
    from propgrad import stats

    x = noise(12)
    base = shuffle_test(x, n_permutations=1500, seed=3)
    monkeypatch.setattr(stats, "_EVAL_BYTES", 8 * N * 7)  # 7 permutations per block
    small = shuffle_test(x, n_permutations=1500, seed=3)
    np.testing.assert_allclose(small.null, base.null, rtol=1e-13)
    assert small.p_value == base.p_value


# ----------------------------------------------------------------------------
# behaviour on the paper's example functions (Fig. 9)
# ----------------------------------------------------------------------------
def test_false_positive_rate_on_noise():
    hits = [shuffle_test(noise(1000 + i), n_permutations=K, seed=i).significant for i in range(200)]
    assert np.mean(hits) <= 0.03


def test_false_positive_rate_on_noise_batch():
    rows = np.random.default_rng(77).normal(size=(200, N))
    res = shuffle_test(rows, n_permutations=K, seed=78)
    assert res.significant.mean() <= 0.03
    # p-values of true nulls are roughly uniform
    assert 0.4 < res.p_value.mean() < 0.6


@pytest.mark.parametrize("make", [sine, full_period_wave, parabola, step])
def test_systematic_changes_are_significant_with_gradient(make):
    res = shuffle_test(make(), n_permutations=K, seed=0)
    assert res.significant
    assert res.p_value == pytest.approx(1 / (K + 1))
    assert res.statistic < res.null.min()  # smooth: far smaller than any shuffle


@pytest.mark.parametrize("make", [full_period_wave, parabola])
def test_pearson_misses_nonmonotonic_changes(make):
    assert abs(pearson_rho(make())) < 0.1
    res = shuffle_test(make(), n_permutations=K, seed=0, statistic="pearson")
    assert not res.significant
    assert res.p_value > 0.2


def test_pearson_detects_a_trend():
    res = shuffle_test(X + 0.2 * noise(5), n_permutations=K, seed=0, statistic="pearson")
    assert res.significant and res.statistic > 0.5


@pytest.mark.parametrize("statistic", ["gradient", "pearson"])
def test_noise_is_not_significant(statistic):
    res = shuffle_test(noise(2024), n_permutations=K, seed=7, statistic=statistic)
    assert not res.significant
    assert res.p_value > 0.05


def test_zigzag_is_significant_on_both_sides():
    zigzag = np.tile([0.0, 1.0], 50)
    forward = shuffle_test(zigzag, n_permutations=K, seed=1, scheme="forward", accuracy=1)
    assert forward.significant and forward.statistic > forward.null.max()
    # central differences see (almost) no change: extreme on the low side
    central = shuffle_test(zigzag, n_permutations=K, seed=1)
    assert central.significant and central.statistic < central.null.min()


# ----------------------------------------------------------------------------
# constant sequences
# ----------------------------------------------------------------------------
def test_constant_sequence_is_not_significant():
    res = shuffle_test(np.full(N, 0.7), n_permutations=K, seed=0)
    assert res.statistic == 0.0 and res.p_value == 1.0 and not res.significant
    assert (res.null == 0.0).all()
    grid = np.sort(np.random.default_rng(1).uniform(0, 1, N))
    res = shuffle_test(np.full(N, 0.7), n_permutations=K, seed=0, grid=grid)
    assert res.statistic == 0.0 and res.p_value == 1.0


def test_floating_noise_on_a_constant_is_not_significant():
    # a saturated softmax: 1.0 up to the last bit, with a systematic pattern
    x = np.where(np.arange(N) < N // 2, 1.0, np.nextafter(1.0, 0.0))
    res = shuffle_test(x, n_permutations=K, seed=0)
    assert res.p_value == 1.0 and not res.significant


def test_constant_rows_in_a_batch_and_pearson():
    rows = np.stack([sine(), np.zeros(N), noise(1)])
    res = shuffle_test(rows, n_permutations=K, seed=0)
    np.testing.assert_array_equal(res.significant, [True, False, False])
    assert res.p_value[1] == 1.0 and res.statistic[1] == 0.0
    res = shuffle_test(rows, n_permutations=K, seed=0, statistic="pearson")
    assert np.isnan(res.statistic[1]) and res.p_value[1] == 1.0 and not res.significant[1]


# ----------------------------------------------------------------------------
# permutations
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [3, 101, 200, 300])
def test_random_permutations_are_uniform_permutations(n):
    # n = 200 leaves 24 random bits per key: ties occur and exercise the redraw
    k = 6000
    perms = _random_permutations(np.random.default_rng(n), n, k)
    assert perms.shape == (k, n) and perms.dtype == np.intp
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(n), (k, n)))
    # position of element 0 is uniform
    where0 = np.argmax(perms == 0, axis=1)
    counts = np.bincount(where0, minlength=n)
    assert scipy.stats.chisquare(counts).pvalue > 1e-4


def test_random_permutations_small_n_all_orders_equally_likely():
    perms = _random_permutations(np.random.default_rng(0), 3, 12000)
    codes = perms @ np.array([9, 3, 1])
    _, counts = np.unique(codes, return_counts=True)
    assert len(counts) == 6
    assert scipy.stats.chisquare(counts).pvalue > 1e-4


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("k", [0, -5, 1.5, True])
def test_bad_n_permutations(k):
    with pytest.raises(ValueError, match="n_permutations must be a positive integer"):
        shuffle_test(noise(0), n_permutations=k)


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, "0.01"])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha must be a number strictly between 0 and 1"):
        shuffle_test(noise(0), alpha=alpha)


def test_bad_statistic():
    with pytest.raises(ValueError, match="statistic must be one of"):
        shuffle_test(noise(0), statistic="spearman")


def test_model_outputs_with_columns_get_a_clear_error():
    probs = np.stack([X, 1 - X], axis=1)  # (N, 2)
    with pytest.raises(ValueError, match=r"sequences of 2 point\(s\).*outputs\[:, c\]"):
        shuffle_test(probs)
    with pytest.raises(ValueError, match=r"one sequence of shape \(N,\).*outputs\[:, c\]"):
        shuffle_test(np.zeros((2, 3, N)))
    with pytest.raises(ValueError, match="pass outputs.T"):
        shuffle_test(np.zeros((N, 5)), grid=X)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="at least 3 points, got 2"):
        shuffle_test([0.0, 1.0])
    bad = noise(0)
    bad[10] = np.nan
    with pytest.raises(ValueError, match=r"1 non-finite value\(s\).*index 10"):
        shuffle_test(bad)
    with pytest.raises(ValueError, match="grid has 5 values but the sweep has 101"):
        shuffle_test(noise(0), grid=np.arange(5.0))
    with pytest.raises(ValueError, match="strictly increasing"):
        shuffle_test(noise(0), grid=X[::-1])
    with pytest.raises(ValueError, match="even integer"):
        shuffle_test(noise(0), accuracy=3)
    with pytest.raises(ValueError, match="scheme must be one of"):
        shuffle_test(noise(0), scheme="upwind")


# ----------------------------------------------------------------------------
# Holm-Bonferroni
# ----------------------------------------------------------------------------
def test_holm_bonferroni_textbook_example():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_array_equal(holm_bonferroni(p, alpha=0.05), [True, False, False, True])
    # plain Bonferroni (0.05 / 3) would reject only 0.001; Holm rejects all three
    p = np.array([0.02, 0.03, 0.001])
    np.testing.assert_array_equal(holm_bonferroni(p, alpha=0.05), [True, True, True])


def test_holm_bonferroni_stops_at_first_failure_and_keeps_shape():
    p = np.array([[0.001, 0.2], [0.003, 0.011]])
    # sorted: 0.001 <= 0.01/4, 0.003 <= 0.01/3, 0.011 > 0.01/2 -> stop
    np.testing.assert_array_equal(holm_bonferroni(p), [[True, False], [True, False]])
    assert not holm_bonferroni([0.5, 0.9]).any()
    assert holm_bonferroni([0.0, 0.0]).all()


def test_holm_bonferroni_validation():
    with pytest.raises(ValueError, match=r"p_values must lie in \[0, 1\]"):
        holm_bonferroni([0.1, 1.2])
    with pytest.raises(ValueError, match="must not be NaN"):
        holm_bonferroni([0.1, np.nan])
    with pytest.raises(ValueError, match="alpha must be"):
        holm_bonferroni([0.1], alpha=0.0)


def test_generator_with_32_bit_raw_output_does_not_hang():
    # MT19937 yields 32-bit raw words; the key drawing must not assume 64 bits
    rng = np.random.Generator(np.random.MT19937(0))
    x = np.sin(np.linspace(0, 2 * np.pi, 41))
    res = shuffle_test(x, n_permutations=200, seed=rng)
    assert res.null.shape == (200,)
    assert res.significant


# ----------------------------------------------------------------------------
# periodic sweeps (a full turn)
# ----------------------------------------------------------------------------
def turn(n=72):
    return np.arange(n) * 360.0 / n


@pytest.mark.parametrize(
    ("grid", "period"),
    [
        (None, None),  # unit grid, period N steps (fused fast path)
        (turn(), None),  # uniform degrees, period inferred (fused fast path)
        (np.sort(np.random.default_rng(3).uniform(0, 360, 72)), 360.0),  # general path
    ],
)
def test_periodic_null_is_the_periodic_statistic_of_the_permutations(grid, period):
    x = noise(11)[:72] + np.cos(np.radians(turn()))
    kw = dict(grid=grid, periodic=True, period=period)
    res = shuffle_test(x, n_permutations=300, seed=8, **kw)
    assert res.statistic == pytest.approx(expected_property_gradient(x, **kw), rel=1e-12)
    perms = _random_permutations(np.random.default_rng(8), 72, 300)
    expected = [expected_property_gradient(x[p], **kw) for p in perms]
    np.testing.assert_allclose(res.null, expected, rtol=1e-12, atol=1e-15)
    # and it differs from the ordinary statistic (the ends are different)
    plain = shuffle_test(x, n_permutations=300, seed=8, grid=grid)
    assert not np.allclose(plain.null, res.null)


def test_periodic_small_n_null_values_are_periodic_statistics():
    x = np.array([0.1, 0.7, 0.2, 1.3, -0.4])
    possible = np.array(
        [expected_property_gradient(np.array(p), periodic=True) for p in itertools.permutations(x)]
    )
    res = shuffle_test(x, n_permutations=2000, seed=5, periodic=True)
    dist = np.abs(res.null[:, None] - possible[None, :]).min(axis=1)
    assert dist.max() < 1e-12


def test_periodic_batch_agrees_with_single_calls():
    xs = np.stack(
        [noise(s)[:60] + a * np.sin(np.radians(turn(60))) for s, a in enumerate([0, 1, 3])]
    )
    batch = shuffle_test(xs, n_permutations=500, seed=2, grid=turn(60), periodic=True)
    for row, x in enumerate(xs):
        one = shuffle_test(x, n_permutations=500, seed=2, grid=turn(60), periodic=True)
        assert batch.statistic[row] == pytest.approx(one.statistic, rel=1e-12)
        np.testing.assert_allclose(batch.null[row], one.null, rtol=1e-12)
        assert batch.p_value[row] == one.p_value


def test_periodic_full_turn_signal_is_significant_noise_and_constant_are_not():
    deg = np.arange(360.0)
    signal = shuffle_test(np.cos(np.radians(deg)), K, seed=0, grid=deg, periodic=True)
    assert signal.significant and signal.p_value == 1 / (K + 1)
    rates = [shuffle_test(noise(s), 500, seed=s, periodic=True).p_value < 0.05 for s in range(60)]
    assert np.mean(rates) < 0.15
    const = shuffle_test(np.full(36, 0.3), 500, seed=0, periodic=True)
    assert const.statistic == 0.0 and const.p_value == 1.0 and not const.significant


def test_periodic_statistic_does_not_depend_on_where_the_turn_starts():
    x = noise(21)[:90] + np.sin(np.radians(turn(90)))
    base = shuffle_test(x, 200, seed=1, periodic=True).statistic
    for shift in (1, 45, 89):
        rolled = shuffle_test(np.roll(x, shift), 200, seed=1, periodic=True).statistic
        assert rolled == pytest.approx(base, rel=1e-12)


def test_periodic_option_errors():
    with pytest.raises(ValueError, match="gradient statistic only"):
        shuffle_test(noise(0), 100, statistic="pearson", periodic=True)
    with pytest.raises(ValueError, match="periodic=False"):
        shuffle_test(noise(0), 100, period=101)
    with pytest.raises(ValueError, match="must be larger than the span"):
        shuffle_test(noise(0), 100, grid=np.arange(101.0), periodic=True, period=50)


def test_edge_order_reaches_the_statistic_and_the_null():
    rng = np.random.default_rng(5)
    y = np.cumsum(rng.normal(size=21))
    first = shuffle_test(y, n_permutations=300, seed=2, edge_order=1)
    second = shuffle_test(y, n_permutations=300, seed=2)
    assert first.statistic == pytest.approx(np.mean(np.abs(np.gradient(y))))
    assert first.statistic != pytest.approx(second.statistic)
    # the null uses the same (first-order) ends as the observed value
    assert first.null.shape == (300,)
    assert np.isclose(first.null.mean(), second.null.mean(), rtol=0.2)
    assert first.null.mean() < second.null.mean()
    batch = shuffle_test(np.stack([y, -y]), n_permutations=300, seed=2, edge_order=1)
    assert batch.statistic[0] == pytest.approx(first.statistic)
    assert batch.p_value[0] == pytest.approx(first.p_value)
