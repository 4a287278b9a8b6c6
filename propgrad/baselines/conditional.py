"""Global conditional-independence tests: the baseline of appendix B.5 (Table 9).

Reference [60] of the paper asks globally whether a
model uses a property: is the model's output independent of the property
given the true label (``prediction ⟂ property | label``)? Rejecting the null
hypothesis of conditional independence means the property is used. The
paper runs three tests at ``alpha = 0.05`` and takes the majority decision
(following [61]):

``"partial_correlation"``
    Linear: the Pearson correlation of the residuals of x and y after an
    ordinary least-squares regression on z, with the analytic Student-t
    p-value (``n - 2 - dim(z)`` degrees of freedom). tigramite's ``ParCorr``.
``"cmiknn"``
    Non-linear: the nearest-neighbour estimate of the conditional mutual
    information I(x; y | z) (Frenzel & Pompe 2007) with the local-permutation
    null distribution of Runge (2018), the paper's reference [66]; the
    p-value is the Monte Carlo one, ``(1 + #{null >= value}) / (1 +
    sig_samples)``. tigramite's ``CMIknn``, by the author of [66].
``"chsic"``
    Kernel: the paper cites the conditional HSIC of Fukumizu et al. [17]. No
    maintained package ships that statistic with a calibrated null, so this
    is the kernel conditional independence test (KCI) of Zhang et al. (2011),
    the HSIC-based conditional test that comes with one: the HSIC of the
    kernel matrices of (x, z) and y after kernel ridge regression on z, with
    the gamma approximation of its null distribution. causal-learn's
    ``KCI_CInd``, a port of the authors' MATLAB code.

Why these libraries
-------------------
tigramite (Runge's own package) is the reference implementation of CMIknn
and also has partial correlation, with two small dependencies (six, and
numba, which its CMIknn imports). It has no HSIC test: its kernel-flavoured
``GPDC`` is a distance-correlation test on Gaussian-process residuals.
causal-learn's KCI is the standard Python kernel CI test and needs 0.03 s
for 200 samples. hyppo also has a KCI but no CMIknn, so tigramite would be
needed anyway; hyppo's KCI would add autograd and numba for nothing. The
three tests then cost two packages (plus numba) and run in seconds on a few
hundred samples; only CMIknn's permutation test grows noticeably with n (see
:func:`conditional_independence`).

Discrete conditioning variables
-------------------------------
A 0/1 label (the paper's case) is passed as it is to every test:

* partial correlation: the regression on a 0/1 column removes the two class
  means exactly, so the residuals are the within-class deviations;
* CMIknn: tigramite breaks ties by adding uniform noise of 1e-6 times each
  variable's standard deviation (from the seeded generator) and then ranks
  every variable. The noise is independent of x and y, so x ⟂ y | z implies
  x ⟂ y | (z + noise) and the test stays valid. The ranks of a label form
  one contiguous block per class, so the local permutations (among each
  sample's 5 nearest neighbours in z) stay within a class except at the
  block boundary;
* KCI: z is standardised and a Gaussian kernel on two distinct values lets
  the kernel ridge regression fit both class means.

A label with more than two classes should be passed as indicator columns
(all classes but one, e.g. ``np.eye(k)[label][:, 1:]``): an integer code in
one column would make partial correlation remove a linear trend in the code
instead of the class means. Constant columns of z are dropped (they carry no
information; tigramite would turn one into a random ranking).

Calibration
-----------
Under conditional independence given a 0/1 label (x and y both shifted by
the label, 200 samples) the rejection rates at 0.05 were 84/2000 = 0.042
(partial correlation), 28/500 = 0.056 (KCI) and 13/200 = 0.065 (CMIknn, 99
permutations; the local permutation is an approximation of the conditional
null), all inside the 0.1 % binomial bands of a calibrated test; see
``tests/test_conditional.py``.

The CI libraries are imported only inside the functions that need them, so
importing this module (and :mod:`propgrad.baselines`) stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CI_TESTS", "CITestResult", "conditional_independence", "majority_vote"]

#: The test names :func:`conditional_independence` accepts, in Table 9's order.
CI_TESTS: tuple[str, ...] = ("partial_correlation", "cmiknn", "chsic")

#: Fewest samples a test is run on.
MIN_SAMPLES = 10


@dataclass(frozen=True)
class CITestResult:
    """Result of one conditional-independence test of ``x ⟂ y | z``.

    Attributes
    ----------
    test : str
        The test's name, one of :data:`CI_TESTS`.
    statistic : float
        The test statistic: the partial correlation in [-1, 1]
        (``"partial_correlation"``), the CMI estimate in nats (``"cmiknn"``,
        can be slightly negative) or the KCI V-statistic (``"chsic"``).
    p_value : float
        The p-value of the null hypothesis of conditional independence.
    alpha : float
        The significance level.
    significant : bool
        ``p_value < alpha``: dependence given z detected (the null rejected).
    """

    test: str
    statistic: float
    p_value: float
    alpha: float
    significant: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "significant", bool(self.p_value < self.alpha))


def _as_1d(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    return array


def _validate(
    x: Any, y: Any, z: Any, test: str, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the arguments; return x, y as (n, 1) and z as (n, d) float arrays."""
    if test not in CI_TESTS:
        raise ValueError(f"unknown test {test!r}; valid tests are {', '.join(map(repr, CI_TESTS))}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    xs, ys = _as_1d(x, "x"), _as_1d(y, "y")
    zs = np.asarray(z, dtype=np.float64)
    if zs.ndim == 1:
        zs = zs[:, None]
    if zs.ndim != 2:
        raise ValueError(f"z must be 1-D or 2-D (samples, variables), got shape {zs.shape}")
    if zs.shape[1] == 0:
        raise ValueError("z has no columns; pass at least one conditioning variable")
    lengths = {"x": xs.size, "y": ys.size, "z": zs.shape[0]}
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"x, y and z must have the same number of samples, got {found}")
    n = xs.size
    if n < MIN_SAMPLES:
        raise ValueError(f"need at least {MIN_SAMPLES} samples, got {n}")
    for name, array in (("x", xs), ("y", ys), ("z", zs)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or inf values")
    for name, array in (("x", xs), ("y", ys)):
        if np.ptp(array) == 0.0:
            raise ValueError(f"{name} is constant; a constant variable cannot depend on anything")
    varying = np.ptp(zs, axis=0) > 0.0
    if not varying.any():
        raise ValueError(
            "every column of z is constant; conditioning on a constant is no "
            "conditioning (test the unconditional dependence instead)"
        )
    zs = zs[:, varying]
    if n - 2 - zs.shape[1] < 1:
        raise ValueError(
            f"z has {zs.shape[1]} varying columns for {n} samples; "
            "need at least 3 more samples than conditioning columns"
        )
    return xs[:, None], ys[:, None], zs


def _make(factory: Any, test: str, options: dict[str, Any]) -> Any:
    try:
        return factory(**options)
    except TypeError as error:
        raise ValueError(f"invalid options for test {test!r}: {error}") from error


def _partial_correlation(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, seed: int | None, options: dict[str, Any]
) -> tuple[float, float]:
    from tigramite.independence_tests.parcorr import ParCorr

    options = {"significance": "analytic", **options}
    value, p_value = _make(ParCorr, "partial_correlation", {"seed": seed, **options}).run_test_raw(
        x, y, z
    )
    return float(value), float(p_value)


def _cmiknn(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, seed: int | None, options: dict[str, Any]
) -> tuple[float, float]:
    from tigramite.independence_tests.cmiknn import CMIknn

    # One KD-tree worker: tigramite's default (-1, all cores) starts a thread pool for
    # every query, which costs more than it saves below about a thousand samples.
    options = {"seed": seed, "workers": 1, **options}
    value, p_value = _make(CMIknn, "cmiknn", options).run_test_raw(x, y, z)
    return float(value), float(p_value)


def _chsic(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, seed: int | None, options: dict[str, Any]
) -> tuple[float, float]:
    from causallearn.utils.KCI.KCI import KCI_CInd

    kci = _make(KCI_CInd, "chsic", options)
    if kci.approx:  # gamma approximation: deterministic
        p_value, value = kci.compute_pvalue(x, y, z)
    else:
        # causal-learn simulates the null with NumPy's legacy global generator (there is
        # no generator argument): seed it for this call, then restore the caller's state.
        state = np.random.get_state()  # noqa: NPY002
        try:
            if seed is not None:
                np.random.seed(seed)  # noqa: NPY002
            p_value, value = kci.compute_pvalue(x, y, z)
        finally:
            np.random.set_state(state)  # noqa: NPY002
    return float(value), float(p_value)


_RUNNERS = {
    "partial_correlation": _partial_correlation,
    "cmiknn": _cmiknn,
    "chsic": _chsic,
}


def conditional_independence(
    x: Any,
    y: Any,
    z: Any,
    test: str = "partial_correlation",
    *,
    alpha: float = 0.05,
    seed: int | None = 0,
    **options: Any,
) -> CITestResult:
    """Test whether x and y are independent given z.

    The null hypothesis is ``x ⟂ y | z``; a small p-value means x and y are
    dependent even given z. In the paper's use (appendix B.5), x is the
    model's output, y a property of the images and z the true label.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        The two variables, e.g. the model's output and the property.
    z : array_like, shape (n,) or (n, d)
        The conditioning variable(s), e.g. the true label (0/1). A label with
        more than two classes should be indicator columns (see the module
        docstring); constant columns are dropped.
    test : {"partial_correlation", "cmiknn", "chsic"}
        Which test (see the module docstring and :data:`CI_TESTS`).
    alpha : float
        Significance level, in (0, 1).
    seed : int or None
        Seeds the randomness: CMIknn's tie-breaking noise and permutations,
        and KCI's simulated null when ``approx=False``. Partial correlation
        and KCI with the default gamma approximation are deterministic. None
        draws fresh entropy.
    **options
        Passed to the library's test: tigramite's ``ParCorr`` or ``CMIknn``
        (e.g. ``knn=0.2``, ``shuffle_neighbors=5``, ``sig_samples=500``:
        tigramite's defaults are used, except ``workers=1``) or causal-learn's
        ``KCI_CInd`` (e.g. ``kernelX="Gaussian"``, ``est_width="empirical"``,
        ``approx=True``).

    Returns
    -------
    CITestResult
        The statistic, the p-value and the decision ``p_value < alpha``.

    Raises
    ------
    ValueError
        For an unknown test, an alpha outside (0, 1), arrays of the wrong
        shape or of different lengths, NaN or inf values, fewer than 10
        samples, a constant x or y, a z whose columns are all constant, too
        many conditioning columns for the samples, or options the library's
        test does not take.

    Notes
    -----
    Cost of one call on one (busy) core: partial correlation takes
    milliseconds; KCI 0.1 s for 300 samples and 1-2 s for 1000 (it
    eigendecomposes n x n kernel matrices); CMIknn's 500 permutations take
    3-6 s for 300 samples and about 30 s for 1000, growing faster than
    linearly (pass ``sig_samples=200`` or a smaller ``knn`` to go faster).
    The first CMIknn call of a process also imports numba and compiles
    tigramite's permutation helper, a few seconds more.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> label = rng.integers(0, 2, 300)
    >>> prop = label + rng.normal(size=300)  # the property differs by class ...
    >>> out = label + rng.normal(size=300)  # ... but the model only uses the label
    >>> conditional_independence(out, prop, label).significant
    False
    """
    xs, ys, zs = _validate(x, y, z, test, alpha)
    value, p_value = _RUNNERS[test](xs, ys, zs, seed, options)
    if not np.isfinite(p_value):
        raise ValueError(f"test {test!r} returned no p-value ({p_value}) for these data")
    return CITestResult(test=test, statistic=value, p_value=p_value, alpha=float(alpha))


def majority_vote(results: Iterable[CITestResult]) -> bool:
    """Whether most tests reject conditional independence (the paper's decision).

    Parameters
    ----------
    results : iterable of CITestResult
        One result per test, typically one for each name in :data:`CI_TESTS`.

    Returns
    -------
    bool
        True when strictly more than half of the results are significant
        (a tie, possible with an even number of tests, counts as no
        dependence).

    Raises
    ------
    ValueError
        If ``results`` is empty or holds something else than CITestResult.
    """
    results = list(results)
    if not results:
        raise ValueError("majority_vote needs at least one result")
    for result in results:
        if not isinstance(result, CITestResult):
            raise ValueError(f"majority_vote takes CITestResult, got {type(result).__name__}")
    return 2 * sum(result.significant for result in results) > len(results)
