"""Shuffle (permutation) test for systematic change along a sweep.

The null hypothesis is that the order of the sweep does not matter: the model
outputs would look the same whatever property value they were paired with.
Shuffling the outputs destroys any systematic relationship with the property,
so the statistic of many shuffled copies approximates its null distribution
(appendix A.5 of the paper, Algorithm 1).

The implementation is vectorised over permutations and over sequences: random
permutations are drawn in blocks, the outputs are gathered through them, and
the finite-difference stencil is applied with array slicing. A sweep that
closes on itself (a full turn) is tested with ``periodic=True``: the observed
and every shuffled sequence are then scored with the periodic statistic (the
stencils wrap around), through the same fused fast path. This module uses
NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from propgrad.measure import _constant_mask, _get_stencil, _validate_grid, _validate_outputs

__all__ = ["ShuffleTestResult", "shuffle_test", "holm_bonferroni"]

_STATISTICS = ("gradient", "pearson")

# permutations are drawn in blocks of about this many elements (an even number
# of rows, so the blocks read the random stream exactly as one draw of all K
# rows would: neither this size nor the number of sequences changes the
# permutations); small enough that a block's keys, indices and gathered values
# stay in a typical L2 cache
_DRAW_ELEMENTS = 1 << 16
# bytes of gathered outputs processed at once (fits in a typical L2 cache)
_EVAL_BYTES = 1 << 19
# ties in the observed statistic within this relative tolerance count as at
# least as extreme (conservative); it only absorbs floating-point rounding
_TIE_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class ShuffleTestResult:
    """Outcome of :func:`shuffle_test`.

    For a single sequence the fields are scalars (``null`` has shape ``(K,)``);
    for a batch of ``M`` sequences they are arrays with a leading axis of
    length ``M`` (``null`` has shape ``(M, K)``).

    Attributes
    ----------
    statistic : float or numpy.ndarray
        Observed statistic: ``E[|grad X|]`` for ``statistic_name == "gradient"``,
        Pearson's rho for ``"pearson"``.
    p_value : float or numpy.ndarray
        Two-sided permutation p-value with the +1 correction,
        ``(count + 1) / (K + 1)``.
    significant : bool or numpy.ndarray
        ``p_value < alpha``.
    null : numpy.ndarray
        The ``K`` statistics of the shuffled sequences.
    n_permutations : int
        ``K``.
    alpha : float
        Significance level.
    statistic_name : str
        ``"gradient"`` or ``"pearson"``.
    """

    statistic: float | np.ndarray
    p_value: float | np.ndarray
    significant: bool | np.ndarray
    null: np.ndarray = field(repr=False)
    n_permutations: int
    alpha: float
    statistic_name: str


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------
def _validate_sequences(outputs, grid) -> tuple[np.ndarray, bool]:
    """Return outputs as an ``(M, N)`` float array and whether it was 1-D."""
    try:
        x = _validate_outputs(outputs, ndims=(1, 2))
    except ValueError as exc:
        if "must be 1-D or 2-D" in str(exc):
            raise ValueError(
                f"{exc}. shuffle_test takes one sequence of shape (N,) or a batch of "
                "independent sequences of shape (M, N), one per row; for model outputs "
                "of shape (N, C) pick a column, e.g. outputs[:, c], or pass outputs.T "
                "to test every column"
            ) from None
        raise
    single = x.ndim == 1
    x2 = x[None, :] if single else x
    n = x2.shape[1]
    if grid is not None:
        g = np.asarray(grid)
        if g.ndim == 1 and not single and len(g) != n and len(g) == x2.shape[0]:
            raise ValueError(
                f"grid has {len(g)} values, which matches axis 0 of outputs {x.shape}, but "
                "shuffle_test reads a 2-D array as (M sequences, N points); pass "
                "outputs.T, or one column outputs[:, c]"
            )
    if n < 3:
        hint = ""
        if not single:
            hint = (
                f" shuffle_test reads a 2-D array as M sequences of length N, one per "
                f"row, so shape {x.shape} means sequences of {n} point(s); for (N, C) "
                "model outputs pick a column, e.g. outputs[:, c], or pass outputs.T."
            )
        raise ValueError(f"a shuffle test needs sequences of at least 3 points, got {n}.{hint}")
    return x2, single


def _validate_n_permutations(k) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {k!r}")
    return int(k)


def _validate_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _validate_statistic(name) -> str:
    if name not in _STATISTICS:
        raise ValueError(f"statistic must be one of {_STATISTICS}, got {name!r}")
    return name


# ----------------------------------------------------------------------------
# random permutations
# ----------------------------------------------------------------------------
# bit generators whose raw output is a full 64-bit word (MT19937's is 32 bits)
_RAW64 = tuple(
    getattr(np.random, name)
    for name in ("PCG64", "PCG64DXSM", "Philox", "SFC64")
    if hasattr(np.random, name)
)


class _Keys:
    """Random sort keys for permutations of ``range(n)``.

    The key of element ``j`` is a random word shifted left, with ``j`` in its
    low bits, so a plain (SIMD) sort of the keys of one row yields a uniform
    random permutation without an ``argsort``; rows whose random parts tie are
    drawn again (rejection), so every permutation is exactly uniform.

    The random stream is consumed as follows, whatever the block sizes: first
    the keys of all ``k`` rows, row after row (one call of :meth:`words` for
    ``k`` rows, or several calls for an even number of rows each, which read
    the same words), then, for the rows that tied, in increasing row order,
    their new keys (again, for rows that tie again).
    """

    def __init__(self, rng: np.random.Generator, n: int):
        idx_bits = max(1, (n - 1).bit_length())
        dtype = np.uint32 if 32 - idx_bits >= 24 else np.uint64
        width = np.dtype(dtype).itemsize * 8
        if width - idx_bits < 24:
            raise ValueError(f"sequences of {n} points are too long for the shuffle test")
        self.rng, self.n, self.dtype, self.width = rng, n, dtype, width
        self.shift = dtype(idx_bits)
        self.low = dtype((1 << idx_bits) - 1)
        self.ramp = np.arange(n, dtype=dtype)
        self.raw64 = isinstance(rng.bit_generator, _RAW64)

    def words(self, rows: int) -> np.ndarray:
        """Random 64-bit words for ``rows`` rows of keys, drawn from the stream."""
        count = -(-rows * self.n * self.width // 64)
        if self.raw64:
            return self.rng.bit_generator.random_raw(count)
        return self.rng.integers(0, 1 << 64, size=count, dtype=np.uint64, endpoint=False)

    def sorted_keys(self, words: np.ndarray, rows: int) -> np.ndarray:
        """Turn ``words`` (from :meth:`words`) into sorted keys, in place."""
        keys = words.view(self.dtype)[: rows * self.n].reshape(rows, self.n)
        keys <<= self.shift
        keys |= self.ramp
        keys.sort(axis=1)
        return keys

    def tied(self, keys: np.ndarray) -> np.ndarray:
        """Rows of sorted ``keys`` whose random parts tie."""
        if self.n < 2:
            return np.empty(0, dtype=np.intp)
        # quick contiguous screen over the flattened keys (a gap across a row end
        # is almost never small; a false alarm only costs the exact per-row check)
        flat = keys.reshape(-1)
        if np.subtract(flat[1:], flat[:-1]).min() > self.low:
            return np.empty(0, dtype=np.intp)
        gaps = np.subtract(keys[:, 1:], keys[:, :-1])
        return np.flatnonzero((gaps <= self.low).any(axis=1))

    def indices(self, keys: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The permutations (``intp``) held by sorted ``keys``."""
        if out is None:
            out = np.empty(keys.shape, dtype=np.intp)
        return np.bitwise_and(keys, self.low, out=out, casting="unsafe")

    def redraw(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Fresh sorted keys for ``rows`` rows and the rows among them that tie."""
        keys = self.sorted_keys(self.words(rows), rows)
        return keys, self.tied(keys)


def _random_permutations(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Draw ``k`` independent uniform random permutations of ``range(n)``.

    Uses the keys and the stream order of :class:`_Keys`, so it gives the
    permutations :func:`shuffle_test` uses for the same generator state.
    Returns an ``(k, n)`` array of ``intp`` indices.
    """
    keys_of = _Keys(rng, n)
    keys = keys_of.sorted_keys(keys_of.words(k), k)
    tied = keys_of.tied(keys)
    while tied.size:
        new, again = keys_of.redraw(tied.size)
        keys[tied] = new
        tied = tied[again]
    return keys_of.indices(keys)


# ----------------------------------------------------------------------------
# statistics of gathered (permuted) outputs
# ----------------------------------------------------------------------------
def _gradient_kernel(
    n: int, grid, accuracy: int, scheme: str, periodic: bool, period, edge_order: int | None
):
    stencil = _get_stencil(n, grid, accuracy, scheme, periodic, period, edge_order)

    def kernel(a: np.ndarray) -> np.ndarray:
        return stencil.abs_sum(a, axis=1) / n

    return kernel


def _pearson_kernel(n: int, grid, scale: np.ndarray):
    g = np.arange(n, dtype=np.float64) if grid is None else np.asarray(grid, dtype=np.float64)
    gc = g - g.mean()
    gc = gc / np.sqrt(gc @ gc)

    def kernel(a: np.ndarray) -> np.ndarray:
        if a.ndim == 2:
            return (a @ gc) * scale
        return np.einsum("knm,n->km", a, gc) * scale

    return kernel


# ----------------------------------------------------------------------------
# the test
# ----------------------------------------------------------------------------
def shuffle_test(
    outputs,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed=None,
    statistic: str = "gradient",
    grid=None,
    accuracy: int = 2,
    scheme: str = "central",
    periodic: bool = False,
    period: float | None = None,
    edge_order: int | None = None,
) -> ShuffleTestResult:
    """Permutation test for systematic change of model outputs along a sweep.

    Algorithm 1 of the paper's appendix A.5: compute the statistic of the
    observed sequence, compute it again for ``K`` random shufflings of the
    sequence, and call the change significant when the observed value is
    extreme among the shuffled ones.

    The test is two-sided around the mean of the null distribution (as in the
    authors' code): with ``mu = mean(null)``,
    ``count = #{k : |null_k - mu| >= |observed - mu|}`` and the p-value carries
    the +1 correction, ``p = (count + 1) / (K + 1)``, so it is never 0 (the
    authors report ``count / K``). Differences within floating-point rounding
    (relative ``1e-12``) count as ties, and ties count as at least as extreme.
    The result is significant when ``p < alpha``; note that this needs
    ``K >= 1 / alpha``.

    Parameters
    ----------
    outputs : array_like, shape (N,) or (M, N)
        One sequence of ``N >= 3`` model outputs in sweep order, or a batch of
        ``M`` independent sequences, one per row. For model outputs of shape
        ``(N, C)`` pick a column (``outputs[:, c]``) or pass ``outputs.T``.
    n_permutations : int, default 10_000
        Number of shuffles ``K`` (the paper uses 10,000).
    alpha : float, default 0.01
        Significance level, strictly between 0 and 1 (the paper uses 0.01).
    seed : None, int, array_like, numpy.random.SeedSequence or numpy.random.Generator
        Passed to :func:`numpy.random.default_rng` (a Generator is used, and
        advanced, as it is).
    statistic : {"gradient", "pearson"}, default "gradient"
        ``"gradient"``: the expected property gradient magnitude ``E[|grad X|]``
        (:func:`propgrad.measure.expected_property_gradient`). ``"pearson"``:
        Pearson's correlation with the grid (same two-sided rule).
    grid : array_like, shape (N,), optional
        Strictly increasing property values (unit steps by default). The
        outputs are shuffled; the grid stays in place.
    accuracy, scheme
        Finite-difference options of the gradient statistic, as in
        :func:`propgrad.measure.property_gradients` (ignored for Pearson).
    periodic : bool, default False
        The sweep closes on itself (a full turn): the gradient statistic of the
        observed and of every shuffled sequence wraps around, the last point
        being the neighbour of the first (see
        :func:`propgrad.measure.property_gradients`). Only for
        ``statistic="gradient"``.
    period : float, optional
        The period in grid units with ``periodic=True``; inferred by default
        (``N`` steps without a grid, ``N * step`` on a uniform grid).
    edge_order : int, optional
        Accuracy order of the end stencils of the gradient statistic (see
        :func:`propgrad.measure.property_gradients`); ``1`` is the authors'
        convention (``numpy.gradient``'s default ends). The observed and every
        shuffled sequence use the same stencils.

    Returns
    -------
    ShuffleTestResult
        Scalars for one sequence; arrays with a leading axis ``M`` for a batch.

    Raises
    ------
    ValueError
        If ``outputs`` is not 1-D or 2-D, holds NaN/inf or has fewer than 3
        points per sequence, ``n_permutations < 1``, ``alpha`` is not in
        ``(0, 1)``, ``statistic`` is unknown, or the grid, ``accuracy``,
        ``scheme``, ``periodic`` or ``period`` is invalid (including
        ``periodic=True`` with ``statistic="pearson"``: a correlation with the
        angle of a full turn depends on where the turn starts).

    Notes
    -----
    *Random stream.* The permutations sort random keys drawn from the
    generator: first the keys of all ``K`` permutations in order, then new
    keys for the (rare) permutations whose keys tied, in order, until none
    ties. Block sizes used internally do not change them.

    *Batches.* All sequences of a batch are shuffled with the same ``K``
    permutations, and the random stream is consumed in the same way whatever
    ``M`` is, so testing row ``m`` alone with the same seed reproduces its
    null distribution and p-value from the batch. Across rows of one batch the
    p-values are therefore not independent; use a different seed per call if
    that matters.

    *Constant sequences* (equal up to floating-point rounding) cannot change
    under shuffling: they get statistic 0 (``nan`` for Pearson, whose
    correlation is undefined), p-value 1 and are not significant.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.sin(np.linspace(0, 2 * np.pi, 101))
    >>> res = shuffle_test(x, n_permutations=2000, seed=0)
    >>> bool(res.significant), round(res.p_value, 5)
    (True, 0.0005)
    >>> res.p_value == 1 / (2000 + 1)
    True

    A full turn sampled once per degree, scored with wrap-around stencils:

    >>> angles = np.arange(360.0)
    >>> res = shuffle_test(np.cos(np.radians(angles)), 2000, seed=0, grid=angles, periodic=True)
    >>> bool(res.significant)
    True
    """
    x, single = _validate_sequences(outputs, grid)
    k = _validate_n_permutations(n_permutations)
    alpha = _validate_alpha(alpha)
    name = _validate_statistic(statistic)
    m, n = x.shape
    if grid is not None:
        grid = _validate_grid(grid, n)
    if name == "pearson" and (periodic is not False or period is not None):
        raise ValueError(
            "periodic=True / period apply to the gradient statistic only; a Pearson "
            "correlation with the angle of a full turn depends on where the turn starts. "
            "Use statistic='gradient' for periodic sweeps"
        )
    const = _constant_mask(x, axis=1)

    if name == "gradient":
        kernel = _gradient_kernel(n, grid, accuracy, scheme, periodic, period, edge_order)
        values = x
    else:
        values = x - x.mean(axis=1, keepdims=True)
        norms = np.sqrt((values * values).sum(axis=1))
        scale = 1.0 / np.where(const, 1.0, norms)
        kernel = _pearson_kernel(n, grid, scale[0] if m == 1 else scale)

    # gather layout: (k, N) for one sequence, (k, N, M) with M contiguous for many
    if m == 1:
        source = np.ascontiguousarray(values[0])

        def stats_of(perms: np.ndarray) -> np.ndarray:
            return kernel(np.take(source, perms))[:, None]
    else:
        source = np.ascontiguousarray(values.T)

        def stats_of(perms: np.ndarray) -> np.ndarray:
            return kernel(np.take(source, perms, axis=0))

    observed = stats_of(np.arange(n)[None, :])[0]
    null = np.empty((m, k))
    keys_of = _Keys(np.random.default_rng(seed), n)
    eval_rows = max(1, _EVAL_BYTES // (8 * n * m))

    # one sequence, gradient with a scalar stencil: gather and reduce each
    # block in two reused buffers that stay in cache
    stencil = (
        _get_stencil(n, grid, accuracy, scheme, periodic, period, edge_order)
        if name == "gradient"
        else None
    )
    fused = m == 1 and stencil is not None and stencil._flat_plan is not None
    if fused:
        index_buf = np.empty(eval_rows * n, dtype=np.intp)
        value_buf = np.empty(eval_rows * n)

    def fill(keys: np.ndarray, target: np.ndarray) -> None:
        """Write the statistics of the permutations in ``keys`` to ``target`` (M, rows)."""
        for sub in range(0, len(keys), eval_rows):
            block = keys[sub : sub + eval_rows]
            rows = len(block)
            if fused:
                perms = keys_of.indices(block, out=index_buf[: rows * n].reshape(rows, n))
                gathered = value_buf[: rows * n].reshape(rows, n)
                np.take(source, perms, out=gathered, mode="wrap")  # in range: no check needed
                total = stencil._abs_sum_rows_flat(gathered, out=index_buf.view(np.float64))
                np.divide(total, n, out=target[0, sub : sub + rows])
            else:
                target[:, sub : sub + rows] = stats_of(keys_of.indices(block)).T

    # the main draw in chunks of an even number of rows: they read the stream
    # exactly as one draw of all K rows does
    chunk = max(2, _DRAW_ELEMENTS // n + (_DRAW_ELEMENTS // n) % 2)
    tied = []
    for start in range(0, k, chunk):
        rows = min(chunk, k - start)
        keys = keys_of.sorted_keys(keys_of.words(rows), rows)
        fill(keys, null[:, start : start + rows])
        tied.append(keys_of.tied(keys) + start)
    # then the rows whose keys tied, in order, until none ties
    tied = np.concatenate(tied)
    while tied.size:
        keys, again = keys_of.redraw(tied.size)
        values = np.empty((m, tied.size))
        fill(keys, values)
        null[:, tied] = values
        tied = tied[again]

    centre = null.mean(axis=1)
    dev_obs = np.abs(observed - centre)
    dev_null = np.abs(null - centre[:, None])
    scale = np.maximum(np.abs(observed), np.abs(null).max(axis=1))
    extreme = dev_null >= (dev_obs - _TIE_RTOL * scale)[:, None]
    count = np.count_nonzero(extreme, axis=1)
    p_value = (count + 1.0) / (k + 1.0)

    if const.any():
        fill = 0.0 if name == "gradient" else np.nan
        observed = np.where(const, fill, observed)
        null[const] = fill
        p_value = np.where(const, 1.0, p_value)
    significant = p_value < alpha

    if single:
        return ShuffleTestResult(
            statistic=float(observed[0]),
            p_value=float(p_value[0]),
            significant=bool(significant[0]),
            null=null[0],
            n_permutations=k,
            alpha=alpha,
            statistic_name=name,
        )
    return ShuffleTestResult(
        statistic=observed,
        p_value=p_value,
        significant=significant,
        null=null,
        n_permutations=k,
        alpha=alpha,
        statistic_name=name,
    )


def holm_bonferroni(p_values, alpha: float = 0.01) -> np.ndarray:
    """Holm's step-down correction for testing many hypotheses at once.

    Sort the ``m`` p-values increasingly; reject the hypotheses of
    ``p_(1), p_(2), ...`` as long as ``p_(i) <= alpha / (m - i + 1)`` and stop at
    the first that fails. This controls the family-wise error rate at
    ``alpha`` under any dependence between the tests.

    Parameters
    ----------
    p_values : array_like
        P-values in ``[0, 1]``, any shape.
    alpha : float, default 0.01
        Family-wise significance level, strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``p_values``; ``True`` where the hypothesis is rejected.

    Raises
    ------
    ValueError
        If a p-value is NaN or outside ``[0, 1]``, or ``alpha`` is not in
        ``(0, 1)``.

    Examples
    --------
    >>> holm_bonferroni([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    array([ True, False, False,  True])
    """
    alpha = _validate_alpha(alpha)
    p = np.asarray(p_values, dtype=np.float64)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p_values must lie in [0, 1] and must not be NaN")
    flat = p.ravel()
    m = flat.size
    order = np.argsort(flat, kind="stable")
    thresholds = alpha / (m - np.arange(m))
    passed = flat[order] <= thresholds
    n_reject = m if passed.all() else int(np.argmin(passed))
    reject = np.zeros(m, dtype=bool)
    reject[order[:n_reject]] = True
    return reject.reshape(p.shape)
