"""Tests of the global conditional-independence baseline (appendix B.5, Table 9)."""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from propgrad.baselines import (
    CI_TESTS,
    CITestResult,
    conditional_independence,
    majority_vote,
)

LIBRARIES = ("tigramite", "numba", "causallearn")
needs_libraries = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in LIBRARIES),
    reason="needs the CI-test libraries: pip install -e '.[citests]'",
)

ALPHA = 0.05
# Fewer permutations than the default 500 keep CMIknn at a fraction of a second
# per call. The Monte Carlo p-value (1 + b) / (B + 1) is valid for any B; with
# B = 49 it rejects at p < 0.05 when b <= 1, i.e. with probability 2/50 = 0.04.
FAST_CMI = {"sig_samples": 49}
# "Clearly significant": below half of alpha. (With 49 permutations CMIknn's
# smallest possible p-value is 1/50 = 0.02: no permutation reached the value.)
CLEAR = 0.025


def null_draw(rng: np.random.Generator, n: int = 200) -> tuple[np.ndarray, ...]:
    """x and y both depend on a 0/1 label z, and on nothing else: x ⟂ y | z."""
    z = rng.integers(0, 2, n).astype(float)
    x = 1.5 * z + rng.normal(size=n)
    y = 1.5 * z + rng.normal(size=n)
    return x, y, z


def rejections_bound(draws: int, level: float = 0.001) -> tuple[int, int]:
    """Range of the number of rejections among `draws` null tests at ALPHA that a
    calibrated test leaves with probability `level` on each side (binomial)."""
    binomial = stats.binom(draws, ALPHA)
    return int(binomial.ppf(level)), int(binomial.isf(level))


def rejections(test: str, draws: int, seed: int, **options) -> int:
    rng = np.random.default_rng(seed)
    count = 0
    for draw in range(draws):
        x, y, z = null_draw(rng)
        result = conditional_independence(x, y, z, test, seed=draw, **options)
        count += result.significant
    return count


# --------------------------------------------------------------------------
# (a) calibration under conditional independence


@needs_libraries
@pytest.mark.parametrize(
    ("test", "draws", "options"),
    [
        ("partial_correlation", 400, {}),
        ("chsic", 100, {}),
        ("cmiknn", 30, FAST_CMI),
    ],
)
def test_rejection_rate_under_the_null_is_near_alpha(test, draws, options):
    # A calibrated test rejects Binomial(draws, 0.05) times; the bounds leave a
    # calibrated test outside with probability 0.1 % on each side. With 400
    # draws that is 8..35 rejections (rate 0.02..0.09), 100: 0..13, 30: 0..6.
    low, high = rejections_bound(draws)
    count = rejections(test, draws, seed=11, **options)
    assert low <= count <= high, f"{test}: {count} of {draws} null draws rejected"


@needs_libraries
@pytest.mark.slow
@pytest.mark.parametrize(
    ("test", "draws", "options"),
    [
        ("partial_correlation", 2000, {}),
        ("chsic", 500, {}),
        ("cmiknn", 200, {"sig_samples": 99}),
    ],
)
def test_rejection_rate_under_the_null_is_near_alpha_many_draws(test, draws, options):
    low, high = rejections_bound(draws)  # 2000: 71..131, 500: 11..41, 200: 2..21
    count = rejections(test, draws, seed=12, **options)
    assert low <= count <= high, f"{test}: {count} of {draws} null draws rejected"


# --------------------------------------------------------------------------
# (b) power under dependence given z


@needs_libraries
@pytest.mark.parametrize("test", CI_TESTS)
def test_each_test_detects_a_dependence_given_the_label(test):
    rng = np.random.default_rng(1)
    n = 200
    z = rng.integers(0, 2, n).astype(float)
    x = 1.5 * z + rng.normal(size=n)
    y = 1.5 * z + 0.7 * (x - 1.5 * z) + rng.normal(size=n)  # y uses x beyond z
    options = FAST_CMI if test == "cmiknn" else {}
    result = conditional_independence(x, y, z, test, **options)
    assert result.significant
    assert result.p_value < CLEAR
    assert result.test == test and result.alpha == ALPHA


@needs_libraries
@pytest.mark.parametrize("test", ["cmiknn", "chsic"])
def test_the_nonlinear_tests_detect_what_partial_correlation_cannot(test):
    # y depends on x given z through x², which is uncorrelated with x.
    rng = np.random.default_rng(2)
    n = 300
    z = rng.integers(0, 2, n).astype(float)
    noise = rng.normal(size=n)
    x = z + noise
    y = z + noise**2 + 0.5 * rng.normal(size=n)
    linear = conditional_independence(x, y, z, "partial_correlation")
    assert abs(linear.statistic) < 0.15
    options = FAST_CMI if test == "cmiknn" else {}
    result = conditional_independence(x, y, z, test, **options)
    assert result.significant and result.p_value < CLEAR


@needs_libraries
def test_continuous_conditioning_variable():
    rng = np.random.default_rng(3)
    n = 200
    z = rng.normal(size=n)
    x = z + rng.normal(size=n)
    y_null = z + rng.normal(size=n)
    y_dep = y_null + 0.8 * (x - z)
    for test in CI_TESTS:
        options = FAST_CMI if test == "cmiknn" else {}
        assert conditional_independence(x, y_dep, z, test, **options).p_value < CLEAR, test
        assert not conditional_independence(x, y_null, z, test, **options).significant, test


# --------------------------------------------------------------------------
# (c) dependent only through z: the conditioning is what the tests are for


@needs_libraries
@pytest.mark.parametrize("test", CI_TESTS)
def test_dependence_only_through_the_label_is_not_rejected(test):
    # A chain y -> z -> x: the label is a noisy threshold of y, x depends on the
    # label alone. Marginally x and y are strongly correlated; given z they are
    # independent.
    rng = np.random.default_rng(4)
    n = 300
    y = rng.normal(size=n)
    z = (y + 0.5 * rng.normal(size=n) > 0).astype(float)
    x = 2.0 * z + rng.normal(size=n)
    unconditional = stats.pearsonr(x, y)
    assert unconditional.statistic > 0.5 and unconditional.pvalue < 1e-10
    options = FAST_CMI if test == "cmiknn" else {}
    result = conditional_independence(x, y, z, test, **options)
    assert not result.significant, result


@needs_libraries
def test_majority_vote_on_the_paper_setting():
    rng = np.random.default_rng(5)
    x, y, z = null_draw(rng, 300)
    options = {"cmiknn": FAST_CMI}
    null = [conditional_independence(x, y, z, t, **options.get(t, {})) for t in CI_TESTS]
    assert not majority_vote(null)
    y_dep = y + 0.8 * (x - 1.5 * z)
    dependent = [conditional_independence(x, y_dep, z, t, **options.get(t, {})) for t in CI_TESTS]
    assert majority_vote(dependent)


# --------------------------------------------------------------------------
# (d) errors


def test_majority_vote_counts_a_strict_majority():
    def result(p):
        return CITestResult(test="chsic", statistic=0.0, p_value=p, alpha=ALPHA)

    assert majority_vote([result(0.01), result(0.01), result(0.5)])
    assert not majority_vote([result(0.01), result(0.5), result(0.5)])
    assert not majority_vote([result(0.01), result(0.5)])  # a tie is no majority
    assert majority_vote(iter([result(0.01)]))
    with pytest.raises(ValueError, match="at least one result"):
        majority_vote([])
    with pytest.raises(ValueError, match="takes CITestResult, got bool"):
        majority_vote([True, False])


def test_result_is_frozen_and_significance_follows_the_p_value():
    result = CITestResult(test="cmiknn", statistic=0.1, p_value=0.05, alpha=0.05)
    assert result.significant is False  # p < alpha, strictly
    assert CITestResult(test="cmiknn", statistic=0.1, p_value=0.049, alpha=0.05).significant
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.0


def _valid(n=50):
    rng = np.random.default_rng(0)
    return rng.normal(size=n), rng.normal(size=n), rng.integers(0, 2, n).astype(float)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"test": "hsic"}, r"unknown test 'hsic'; valid tests are 'partial_correlation', "),
        ({"alpha": 0.0}, r"alpha must be in \(0, 1\), got 0.0"),
        ({"alpha": 1.5}, r"alpha must be in \(0, 1\), got 1.5"),
        ({"x": np.ones((50, 2))}, r"x must be 1-D, got shape \(50, 2\)"),
        ({"y": np.float64(1.0)}, r"y must be 1-D, got shape \(\)"),
        ({"z": np.ones((50, 2, 1))}, r"z must be 1-D or 2-D"),
        ({"z": np.ones((50, 0))}, r"z has no columns"),
        ({"y": np.arange(49.0)}, r"same number of samples, got x: 50, y: 49, z: 50"),
        ({"z": np.arange(51.0) % 2}, r"same number of samples, got x: 50, y: 50, z: 51"),
        ({"x": np.arange(9.0), "y": np.arange(9.0) ** 2, "z": np.arange(9.0) % 2}, r"at least 10"),
        ({"x": np.r_[np.nan, np.arange(49.0)]}, r"x contains NaN or inf"),
        ({"y": np.r_[np.inf, np.arange(49.0)]}, r"y contains NaN or inf"),
        ({"z": np.r_[-np.inf, np.arange(49.0) % 2]}, r"z contains NaN or inf"),
        ({"x": np.full(50, 3.0)}, r"x is constant"),
        ({"y": np.zeros(50)}, r"y is constant"),
        ({"z": np.ones((50, 3))}, r"every column of z is constant"),
        ({"z": np.random.default_rng(1).normal(size=(50, 48))}, r"48 varying columns for 50"),
        ({"x": ["a"] * 50}, r"could not convert string to float"),
    ],
)
def test_bad_input_is_a_clear_value_error(change, message):
    x, y, z = _valid()
    arguments = {"x": x, "y": y, "z": z, "test": "partial_correlation", "alpha": ALPHA}
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        conditional_independence(**arguments)


@needs_libraries
@pytest.mark.parametrize("test", CI_TESTS)
def test_unknown_options_are_a_value_error(test):
    x, y, z = _valid()
    with pytest.raises(ValueError, match=f"invalid options for test '{test}'.*no_such_option"):
        conditional_independence(x, y, z, test, no_such_option=1)


@needs_libraries
def test_constant_columns_of_z_are_dropped():
    x, y, z = _valid(100)
    with_constant = np.column_stack([z, np.ones_like(z)])
    for test in CI_TESTS:
        options = FAST_CMI if test == "cmiknn" else {}
        assert conditional_independence(x, y, with_constant, test, **options) == (
            conditional_independence(x, y, z, test, **options)
        ), test


# --------------------------------------------------------------------------
# (e) reproducibility


@needs_libraries
def test_a_seed_reproduces_the_permutation_test():
    x, y, z = null_draw(np.random.default_rng(6))
    first = conditional_independence(x, y, z, "cmiknn", seed=3, **FAST_CMI)
    assert conditional_independence(x, y, z, "cmiknn", seed=3, **FAST_CMI) == first
    others = {conditional_independence(x, y, z, "cmiknn", seed=s, **FAST_CMI) for s in (4, 5)}
    assert any(other.p_value != first.p_value for other in others)


@needs_libraries
def test_kci_with_a_simulated_null_is_seeded_and_leaves_numpy_alone():
    x, y, z = null_draw(np.random.default_rng(7))
    np.random.seed(123)  # noqa: NPY002 (the legacy global state the library uses)
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    first = conditional_independence(x, y, z, "chsic", seed=3, approx=False, nullss=500)
    again = conditional_independence(x, y, z, "chsic", seed=3, approx=False, nullss=500)
    other = conditional_independence(x, y, z, "chsic", seed=4, approx=False, nullss=500)
    assert first == again
    assert other.p_value != first.p_value and other.statistic == first.statistic
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    # The default gamma approximation is deterministic and close to the simulation.
    approx = conditional_independence(x, y, z, "chsic")
    assert approx.statistic == first.statistic
    assert abs(approx.p_value - first.p_value) < 0.1


def test_importing_the_package_does_not_import_the_ci_libraries():
    code = (
        "import sys, propgrad.baselines as b, propgrad.baselines.conditional;"
        "assert callable(b.conditional_independence);"
        "loaded = [m for m in ('tigramite', 'causallearn', 'numba') if m in sys.modules];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
