"""Tests for propgrad.measure: Fornberg weights, property gradients and scores."""

from __future__ import annotations

import subprocess
import sys

import findiff
import numpy as np
import pytest
import scipy.stats

from propgrad.measure import (
    _get_stencil,
    expected_property_gradient,
    fornberg_weights,
    pearson_rho,
    prediction_flips,
    property_gradients,
)

RNG_SEED = 20260101


def random_grid(n: int, seed: int, low: float = -1.0, high: float = 2.0) -> np.ndarray:
    """Sorted random grid whose steps vary by a factor of up to ~10."""
    rng = np.random.default_rng(seed)
    steps = rng.uniform(0.1, 1.0, size=n - 1)
    grid = np.concatenate([[0.0], np.cumsum(steps)])
    return low + (high - low) * grid / grid[-1]


# ----------------------------------------------------------------------------
# Fornberg weights
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("nodes", "order", "expected"),
    [
        ([-1, 0, 1], 1, [-1 / 2, 0, 1 / 2]),  # central, 2nd order
        ([-2, -1, 0, 1, 2], 1, [1 / 12, -2 / 3, 0, 2 / 3, -1 / 12]),  # central, 4th order
        ([0, 1], 1, [-1, 1]),  # forward, 1st order
        ([0, 1, 2], 1, [-3 / 2, 2, -1 / 2]),  # forward, 2nd order
        ([-2, -1, 0], 1, [1 / 2, -2, 3 / 2]),  # backward, 2nd order
        ([0, 1, 2, 3, 4], 1, [-25 / 12, 4, -3, 4 / 3, -1 / 4]),  # forward, 4th order
        ([-1, 0, 1], 2, [1, -2, 1]),  # second derivative
        ([-2, -1, 0, 1, 2], 2, [-1 / 12, 4 / 3, -5 / 2, 4 / 3, -1 / 12]),
        ([-1, 0, 1], 0, [0, 1, 0]),  # interpolation at a node
    ],
)
def test_fornberg_textbook_stencils(nodes, order, expected):
    w = fornberg_weights(0.0, np.array(nodes, dtype=float), order=order)
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("deriv", [1, 2])
@pytest.mark.parametrize("acc", [2, 4, 6])
def test_fornberg_equals_findiff_coefficients(deriv, acc):
    coefs = findiff.coefficients(deriv=deriv, acc=acc)
    for kind in ("center", "forward", "backward"):
        offsets = np.asarray(coefs[kind]["offsets"], dtype=float)
        expected = np.asarray(coefs[kind]["coefficients"], dtype=float)
        w = fornberg_weights(0.0, offsets, order=deriv)
        np.testing.assert_allclose(w, expected, rtol=1e-10, atol=1e-10, err_msg=kind)


def test_fornberg_equals_findiff_on_arbitrary_offsets():
    offsets = [-1.5, -0.25, 0.0, 0.75, 2.0]
    expected = findiff.coefficients(deriv=1, offsets=offsets)["coefficients"]
    np.testing.assert_allclose(fornberg_weights(0.0, offsets), expected, rtol=1e-10)


def test_fornberg_exact_for_polynomials_on_nonuniform_nodes():
    nodes = random_grid(6, seed=1)
    x0 = 0.37  # not a node
    for order in range(4):
        w = fornberg_weights(x0, nodes, order=order)
        for degree in range(6):  # 6 nodes: exact up to degree 5
            f = nodes**degree
            # order-th derivative of x**degree at x0
            coef = np.prod(np.arange(degree, degree - order, -1)) if order <= degree else 0.0
            exact = coef * x0 ** (degree - order) if order <= degree else 0.0
            assert w @ f == pytest.approx(exact, abs=1e-9)


def test_fornberg_interpolation_between_nodes():
    # order 0 gives Lagrange interpolation weights: exact for a quadratic
    nodes = np.array([0.0, 1.0, 3.0])
    w = fornberg_weights(2.0, nodes, order=0)
    assert w @ (nodes**2) == pytest.approx(4.0)
    assert w.sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------
# property gradients
# ----------------------------------------------------------------------------
def test_unit_grid_equals_numpy_gradient():
    x = np.random.default_rng(RNG_SEED).normal(size=(37, 3))
    got = property_gradients(x)
    np.testing.assert_allclose(got, np.gradient(x, axis=0, edge_order=2), rtol=0, atol=1e-14)
    # interior identical to numpy's default edge_order=1 as well
    np.testing.assert_allclose(got[1:-1], np.gradient(x, axis=0)[1:-1], rtol=0, atol=0)


def test_explicit_uniform_grid_matches_unit_grid_scaled():
    x = np.random.default_rng(1).normal(size=25)
    grid = np.linspace(0.0, 4.8, 25)  # step 0.2
    np.testing.assert_allclose(
        property_gradients(x, grid=grid), property_gradients(x) / 0.2, rtol=1e-11, atol=1e-11
    )


@pytest.mark.parametrize("accuracy", [2, 4, 6])
@pytest.mark.parametrize("kind", ["unit", "uniform", "random"])
def test_polynomials_exact_up_to_stencil_order(accuracy, kind):
    n = 21
    if kind == "unit":
        grid, x = None, np.arange(n, dtype=float)
    elif kind == "uniform":
        grid = np.linspace(-1.0, 1.5, n)
        x = grid
    else:
        grid = random_grid(n, seed=accuracy)
        x = grid
    for degree in range(accuracy + 1):
        f = x**degree
        exact = degree * x ** (degree - 1) if degree else np.zeros(n)
        got = property_gradients(f, grid=grid, accuracy=accuracy)
        scale = max(1.0, np.abs(exact).max())
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-8 * scale, err_msg=f"x^{degree}")
    # one degree higher is *not* exact (the check above has teeth)
    f = x ** (accuracy + 1)
    exact = (accuracy + 1) * x**accuracy
    got = property_gradients(f, grid=grid, accuracy=accuracy)
    assert np.abs(got - exact).max() > 1e-6 * np.abs(exact).max()


@pytest.mark.parametrize("accuracy", [1, 2, 3])
def test_forward_scheme_polynomials_exact(accuracy):
    grid = random_grid(15, seed=11 + accuracy)
    for degree in range(accuracy + 1):
        f = grid**degree
        exact = degree * grid ** (degree - 1) if degree else np.zeros_like(grid)
        got = property_gradients(f, grid=grid, accuracy=accuracy, scheme="forward")
        np.testing.assert_allclose(got, exact, atol=1e-8)


def test_forward_accuracy_one_is_forward_difference_quotient():
    x = np.random.default_rng(3).normal(size=12)
    got = property_gradients(x, scheme="forward", accuracy=1)
    expected = np.append(np.diff(x), x[-1] - x[-2])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


def test_zigzag_central_vs_forward():
    zigzag = np.tile([0.0, 1.0], 10)
    central = property_gradients(zigzag)
    forward = property_gradients(zigzag, scheme="forward", accuracy=1)
    assert np.abs(central[1:-1]).max() == 0.0  # central differences are blind to it
    np.testing.assert_allclose(np.abs(forward), 1.0)


@pytest.mark.parametrize("accuracy", [2, 4])
def test_matches_findiff_operator_nonuniform(accuracy):
    grid = random_grid(14, seed=5)
    f = np.sin(3 * grid) + grid**2
    expected = findiff.Diff(0, grid, acc=accuracy)(f)
    np.testing.assert_allclose(
        property_gradients(f, grid=grid, accuracy=accuracy), expected, rtol=1e-9, atol=1e-9
    )


def test_matches_findiff_operator_unit_grid():
    f = np.cos(np.linspace(0, 3, 30))
    expected = findiff.Diff(0, 1.0, acc=2)(f)
    np.testing.assert_allclose(property_gradients(f), expected, rtol=0, atol=1e-14)


def test_accuracy4_unit_grid_boundary_uses_end_window():
    # documented choice: the second point uses the 5 nodes at the end
    n = 10
    d = _get_stencil(n, None, 4, "central").matrix()
    np.testing.assert_allclose(d[1, :5], fornberg_weights(1.0, np.arange(5.0)), atol=1e-13)
    np.testing.assert_allclose(d[0, :5], [-25 / 12, 4, -3, 4 / 3, -1 / 4], atol=1e-13)
    np.testing.assert_allclose(d[4, 2:7], [1 / 12, -2 / 3, 0, 2 / 3, -1 / 12], atol=1e-13)


def test_two_dimensional_columns_independent():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 4))
    grid = random_grid(30, seed=2)
    both = property_gradients(x, grid=grid, accuracy=4)
    for c in range(4):
        np.testing.assert_allclose(both[:, c], property_gradients(x[:, c], grid=grid, accuracy=4))


def test_stencil_is_cached():
    a = _get_stencil(50, None, 2, "central")
    b = _get_stencil(50, None, 2, "central")
    assert a is b
    g = random_grid(50, seed=1)
    assert _get_stencil(50, g, 4, "central") is _get_stencil(50, g.copy(), 4, "central")


# ----------------------------------------------------------------------------
# two points (appendix A.4) and the expected property gradient
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("accuracy", [2, 4])
def test_two_points_give_absolute_difference(accuracy):
    assert expected_property_gradient([0.3, 0.8], accuracy=accuracy) == pytest.approx(0.5)
    assert expected_property_gradient([0.8, 0.3], accuracy=accuracy) == pytest.approx(0.5)
    np.testing.assert_allclose(property_gradients([0.3, 0.8], accuracy=accuracy), [0.5, 0.5])
    two = np.array([[0.1, 0.9], [0.7, 0.3]])
    np.testing.assert_allclose(expected_property_gradient(two), [0.6, 0.6])
    # with a grid: difference quotient
    assert expected_property_gradient([0.3, 0.8], grid=[0.0, 2.0]) == pytest.approx(0.25)


def test_expected_property_gradient_types_and_values():
    ramp = 0.01 * np.arange(101)  # +1 % per step
    score = expected_property_gradient(ramp)
    assert isinstance(score, float)
    assert score == pytest.approx(0.01, abs=1e-14)
    cols = np.stack([ramp, -2 * ramp, np.ones(101)], axis=1)
    scores = expected_property_gradient(cols)
    assert isinstance(scores, np.ndarray) and scores.shape == (3,)
    np.testing.assert_allclose(scores, [0.01, 0.02, 0.0], atol=1e-14)


def test_expected_property_gradient_equals_mean_abs_gradient():
    x = np.random.default_rng(9).normal(size=40)
    grid = random_grid(40, seed=4)
    got = expected_property_gradient(x, grid=grid, accuracy=4)
    assert got == pytest.approx(np.abs(property_gradients(x, grid=grid, accuracy=4)).mean())


def test_expected_property_gradient_of_sine_period():
    # mean |cos| over a period is 2 / pi; per step of 2 pi / 1000
    n = 1001
    grid = np.linspace(0, 2 * np.pi, n)
    score = expected_property_gradient(np.sin(grid), grid=grid, accuracy=4)
    assert score == pytest.approx(2 / np.pi, rel=2e-3)


# ----------------------------------------------------------------------------
# prediction flips and Pearson's rho
# ----------------------------------------------------------------------------
def test_prediction_flips_argmax():
    assert prediction_flips([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]) == 1
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.7, 0.2, 0.1]])
    assert prediction_flips(probs) == 3
    assert prediction_flips(np.repeat(probs[:1], 5, axis=0)) == 0
    assert isinstance(prediction_flips(probs), int)


def test_prediction_flips_binary_threshold():
    assert prediction_flips([0.2, 0.6, 0.4, 0.45]) == 2
    assert prediction_flips([0.2, 0.5, 0.4]) == 0  # touching 0.5 is not a flip
    assert prediction_flips([0.2, 0.5, 0.51]) == 1
    assert prediction_flips(np.array([[0.2], [0.8], [0.9]])) == 1  # (N, 1) like (N,)
    p = np.array([0.1, 0.6, 0.6, 0.3, 0.9])
    assert prediction_flips(p) == prediction_flips(np.stack([1 - p, p], axis=1)) == 3


def test_pearson_rho_matches_scipy():
    rng = np.random.default_rng(2)
    y = rng.normal(size=50) + 0.05 * np.arange(50)
    grid = random_grid(50, seed=3)
    assert pearson_rho(y) == pytest.approx(scipy.stats.pearsonr(np.arange(50), y)[0], abs=1e-12)
    assert pearson_rho(y, grid=grid) == pytest.approx(scipy.stats.pearsonr(grid, y)[0], abs=1e-12)
    cols = np.stack([y, -y, np.full(50, 2.0)], axis=1)
    rho = pearson_rho(cols)
    assert rho.shape == (3,)
    assert rho[0] == pytest.approx(-rho[1])
    assert np.isnan(rho[2])


def test_pearson_rho_constant_is_nan_and_linear_is_one():
    assert np.isnan(pearson_rho([3.0, 3.0, 3.0]))
    assert np.isnan(pearson_rho(np.full(10, 1.0) + 1e-17 * np.arange(10)))
    assert pearson_rho(2.0 * np.arange(10) + 1.0) == pytest.approx(1.0)


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------
def test_nan_and_inf_are_reported_with_count_and_position():
    x = np.linspace(0, 1, 10)
    x[4] = np.nan
    x[7] = np.inf
    with pytest.raises(ValueError, match=r"2 non-finite value\(s\).*first is nan at index 4"):
        property_gradients(x)
    y = np.zeros((5, 3))
    y[2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"1 non-finite.*index \(2, 1\)"):
        expected_property_gradient(y)
    with pytest.raises(ValueError, match="non-finite"):
        prediction_flips([0.1, np.nan])
    with pytest.raises(ValueError, match="non-finite"):
        pearson_rho([0.1, np.nan, 0.3])


def test_too_few_points():
    with pytest.raises(ValueError, match="needs at least 5 points.*but 4 were given"):
        property_gradients(np.arange(4.0), accuracy=4)
    with pytest.raises(ValueError, match="needs at least 4 points.*but 3 were given"):
        property_gradients(np.arange(3.0), accuracy=3, scheme="forward")
    with pytest.raises(ValueError, match="at least 2 points, got 1"):
        expected_property_gradient([1.0])
    with pytest.raises(ValueError, match="at least 2 points, got 1"):
        pearson_rho([1.0])
    with pytest.raises(ValueError, match="at least one point"):
        prediction_flips(np.zeros((0, 3)))


def test_bad_grid():
    with pytest.raises(ValueError, match=r"strictly increasing; grid\[2\] = 1.0 is not greater"):
        property_gradients(np.arange(4.0), grid=[0.0, 1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        pearson_rho(np.arange(3.0), grid=[2.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="grid has 3 values but the sweep has 4 points"):
        property_gradients(np.arange(4.0), grid=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="grid must be 1-D"):
        property_gradients(np.arange(4.0), grid=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="grid must be finite"):
        property_gradients(np.arange(3.0), grid=[0.0, np.nan, 2.0])


def test_wrong_ndim():
    with pytest.raises(
        ValueError, match=r"must be 1-D or 2-D, got an array with shape \(2, 3, 4\)"
    ):
        property_gradients(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="must be 1-D or 2-D"):
        expected_property_gradient(3.0)
    with pytest.raises(ValueError, match="numeric array"):
        property_gradients(["a", "b", "c"])


@pytest.mark.parametrize("accuracy", [0, -2, 3, 2.0, True, "2"])
def test_bad_accuracy_central(accuracy):
    with pytest.raises(ValueError, match="accuracy must be a positive"):
        property_gradients(np.arange(10.0), accuracy=accuracy)


def test_odd_accuracy_message_and_forward_allows_it():
    with pytest.raises(ValueError, match="even integer.*got 3"):
        property_gradients(np.arange(10.0), accuracy=3)
    assert property_gradients(np.arange(10.0), accuracy=3, scheme="forward") == pytest.approx(1.0)


def test_bad_scheme():
    with pytest.raises(ValueError, match="scheme must be one of"):
        property_gradients(np.arange(10.0), scheme="backward")


def test_fornberg_validation():
    with pytest.raises(ValueError, match="order must be a non-negative integer"):
        fornberg_weights(0.0, [0.0, 1.0], order=-1)
    with pytest.raises(ValueError, match="order 2 needs at least 3 grid points, got 2"):
        fornberg_weights(0.0, [0.0, 1.0], order=2)
    with pytest.raises(ValueError, match="distinct"):
        fornberg_weights(0.0, [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="x0 must be a finite real"):
        fornberg_weights(np.nan, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="grid must contain only finite"):
        fornberg_weights(0.0, [0.0, np.inf, 2.0])


def test_numerical_core_does_not_import_torch():
    code = (
        "import sys; import propgrad.measure, propgrad.stats; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------
# periodic sweeps (a full turn)
# ----------------------------------------------------------------------------
def full_turn(n: int) -> np.ndarray:
    """One full turn in degrees, ``0, 360 / n, ..., 360 - 360 / n``."""
    return np.arange(n) * 360.0 / n


@pytest.mark.parametrize(("accuracy", "order"), [(2, 2), (4, 4), (6, 6)])
def test_periodic_sine_gives_cosine_at_every_point_with_stencil_order(accuracy, order):
    errors = []
    for n in (36, 72, 144):
        deg = full_turn(n)
        rad = np.radians(deg)
        grads = property_gradients(np.sin(rad), grid=deg, accuracy=accuracy, periodic=True)
        exact = np.cos(rad) * np.pi / 180.0  # per degree
        err = np.abs(grads - exact)
        # the first and last points are as accurate as the middle (no ends)
        assert err[0] <= 1.5 * np.median(err) + 1e-15 and err[-1] <= 1.5 * np.median(err) + 1e-15
        errors.append(err.max())
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert rates == pytest.approx([order, order], abs=0.1)


def test_periodic_unit_grid_central_difference_wraps():
    f = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])
    expected = (np.roll(f, -1) - np.roll(f, 1)) / 2.0
    np.testing.assert_allclose(property_gradients(f, periodic=True), expected, rtol=0, atol=1e-15)
    forward = property_gradients(f, periodic=True, scheme="forward", accuracy=1)
    np.testing.assert_allclose(forward, np.roll(f, -1) - f, rtol=0, atol=1e-15)
    # the interior agrees with the non-periodic stencil; only the ends differ
    plain = property_gradients(f)
    np.testing.assert_allclose(property_gradients(f, periodic=True)[1:-1], plain[1:-1])
    assert not np.allclose(property_gradients(f, periodic=True)[[0, -1]], plain[[0, -1]])


def test_periodic_constant_is_zero():
    for accuracy in (2, 4):
        g = property_gradients(
            np.full(360, 0.7), grid=full_turn(360), periodic=True, accuracy=accuracy
        )
        assert np.abs(g).max() < 1e-14
        e = expected_property_gradient(np.full(10, 2.5), periodic=True, accuracy=accuracy)
        assert e == pytest.approx(0.0, abs=1e-14)


def test_periodic_is_translation_invariant_and_plain_is_not():
    rng = np.random.default_rng(RNG_SEED)
    f = rng.normal(size=(40, 3))
    for accuracy in (2, 4):
        for shift in (1, 7, 39):
            rolled = property_gradients(np.roll(f, shift, axis=0), periodic=True, accuracy=accuracy)
            expected = np.roll(property_gradients(f, periodic=True, accuracy=accuracy), shift, 0)
            np.testing.assert_allclose(rolled, expected, rtol=0, atol=1e-13)
            e_rolled = expected_property_gradient(np.roll(f, shift, axis=0), periodic=True)
            np.testing.assert_allclose(e_rolled, expected_property_gradient(f, periodic=True))
    # the one-sided ends make the ordinary score depend on where the turn starts
    plain = property_gradients(np.roll(f, 7, axis=0))
    assert not np.allclose(plain, np.roll(property_gradients(f), 7, axis=0))


def test_periodic_explicit_and_inferred_period_agree():
    deg = full_turn(360)
    f = np.cos(np.radians(deg)) + 0.3 * np.sin(np.radians(3 * deg))
    inferred = property_gradients(f, grid=deg, periodic=True)
    explicit = property_gradients(f, grid=deg, periodic=True, period=360.0)
    np.testing.assert_allclose(inferred, explicit, rtol=0, atol=1e-15)
    # unit grid: the period is N steps
    np.testing.assert_allclose(
        property_gradients(f, periodic=True), property_gradients(f, periodic=True, period=360)
    )
    # a uniform grid in radians from linspace (rounding in the steps) infers 2 pi
    rad = np.linspace(0.0, 2 * np.pi, 90, endpoint=False)
    np.testing.assert_allclose(
        property_gradients(np.sin(rad), grid=rad, periodic=True),
        property_gradients(np.sin(rad), grid=rad, periodic=True, period=2 * np.pi),
        rtol=0,
        atol=1e-12,
    )
    # grid units scale the gradient: per degree = per step here
    np.testing.assert_allclose(inferred, property_gradients(f, periodic=True), atol=1e-14)


def test_periodic_non_uniform_grid_and_matrix():
    rng = np.random.default_rng(RNG_SEED + 1)
    rad = np.sort(rng.uniform(0.0, 2 * np.pi, 200))
    g = property_gradients(np.sin(rad), grid=rad, periodic=True, period=2 * np.pi, accuracy=4)
    assert np.abs(g - np.cos(rad)).max() < 1e-4
    # every row (wrapped ones included) differentiates constants to 0, and the
    # wrapped rows are exactly the ones whose nodes cross the seam
    st = _get_stencil(200, rad, 4, "central", True, 2 * np.pi)
    np.testing.assert_allclose(st.matrix().sum(axis=1), 0.0, atol=1e-9)
    assert st.boundary_rows == [0, 1, 198, 199]
    assert st.index[0].tolist() == [198, 199, 0, 1, 2]


def test_periodic_errors():
    deg = full_turn(36)
    f = np.sin(np.radians(deg))
    with pytest.raises(ValueError, match=r"period \(300\) must be larger than the span"):
        property_gradients(f, grid=deg, periodic=True, period=300)
    with pytest.raises(ValueError, match="drop the last one"):
        property_gradients(f, grid=deg, periodic=True, period=350)  # span 350: 0 == 360
    with pytest.raises(ValueError, match="must be larger than the span"):
        property_gradients(f, periodic=True, period=35)  # unit grid span is 35 steps
    with pytest.raises(ValueError, match="strictly increasing"):
        property_gradients(f, grid=deg[::-1], periodic=True)
    uneven = np.sort(np.random.default_rng(0).uniform(0, 360, 36))
    with pytest.raises(ValueError, match="cannot infer the period of a non-uniform grid"):
        property_gradients(f, grid=uneven, periodic=True)
    with pytest.raises(ValueError, match="at least 5 points around the period, but 4"):
        property_gradients(f[:4], periodic=True, accuracy=4)
    with pytest.raises(ValueError, match="at least 3 points"):
        property_gradients([0.0, 1.0], periodic=True)
    with pytest.raises(ValueError, match="periodic=False"):
        property_gradients(f, period=360)
    with pytest.raises(ValueError, match="period must be a finite positive number"):
        property_gradients(f, periodic=True, period=np.inf)
    with pytest.raises(ValueError, match="periodic must be True or False"):
        property_gradients(f, periodic="yes")


# ----------------------------------------------------------------------------
# edge_order: the authors' first-order ends (numpy.gradient's default)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [3, 4, 21, 101])
def test_edge_order_one_equals_numpy_gradient_default(n):
    f = np.random.default_rng(n).normal(size=n)
    assert np.allclose(property_gradients(f, edge_order=1), np.gradient(f))
    assert expected_property_gradient(f, edge_order=1) == pytest.approx(
        np.mean(np.abs(np.gradient(f))), rel=1e-12
    )


def test_edge_order_one_on_a_nonuniform_grid_equals_numpy_gradient():
    rng = np.random.default_rng(3)
    grid = np.sort(rng.uniform(0, 5, 17))
    f = np.sin(grid)
    assert np.allclose(property_gradients(f, grid=grid, edge_order=1), np.gradient(f, grid))
    assert np.allclose(
        property_gradients(f, grid=grid, edge_order=2), np.gradient(f, grid, edge_order=2)
    )


def test_edge_order_changes_only_the_end_points():
    f = np.random.default_rng(0).normal(size=(21, 3))
    first, second = property_gradients(f, edge_order=1), property_gradients(f)
    assert np.array_equal(first[1:-1], second[1:-1])
    assert np.allclose(first[0], f[1] - f[0]) and np.allclose(first[-1], f[-1] - f[-2])
    assert np.array_equal(property_gradients(f, edge_order=2), second)


def test_edge_order_one_is_smaller_on_rough_outputs_and_less_so_on_long_sweeps():
    rng = np.random.default_rng(1)
    ratio = {}
    for n in (21, 101):
        x = rng.normal(size=(n, 4000))
        ratio[n] = np.mean(expected_property_gradient(x, edge_order=1)) / np.mean(
            expected_property_gradient(x)
        )
    assert 0.84 < ratio[21] < 0.91  # about 12 % smaller at 21 steps
    assert 0.95 < ratio[101] < 0.99  # about 3 % at 101
    assert ratio[21] < ratio[101]


def test_edge_order_with_higher_accuracy_keeps_interior():
    f = np.cos(np.linspace(0, 3, 15))
    g4 = property_gradients(f, accuracy=4)
    g4_1 = property_gradients(f, accuracy=4, edge_order=1)
    assert np.array_equal(g4[2:-2], g4_1[2:-2])
    assert g4_1[0] == pytest.approx(f[1] - f[0])
    assert g4_1[1] == pytest.approx(f[1] - f[0])  # two nodes nearest the end


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"edge_order": 0}, "edge_order must be a positive integer"),
        ({"edge_order": 1.5}, "edge_order must be a positive integer"),
        ({"edge_order": True}, "edge_order must be a positive integer"),
        ({"edge_order": 3}, "larger than accuracy=2"),
        ({"edge_order": 1, "periodic": True}, "periodic sweep, which has no ends"),
        ({"edge_order": 1, "scheme": "forward", "accuracy": 2}, "scheme='forward'"),
    ],
)
def test_edge_order_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        property_gradients(np.arange(10.0), **kwargs)
