"""Finite differences along a sweep and the scores built on them.

A *sweep* is an ordered list of ``N`` model outputs, one per realisation of the
property that was intervened on. Axis 0 of every array in this module is the
sweep; an optional axis 1 holds output columns (classes, logits, ...), which are
treated independently.

Conventions
-----------
* Without an explicit ``grid`` the realisations are taken to be equidistant with
  unit step, so gradients are *per step of the sweep* (the paper's convention:
  ``E[|grad X|] = 0.01`` means the output moves by 0.01 per step on average).
* Derivative weights come from Fornberg's recursion (:func:`fornberg_weights`),
  so any strictly increasing grid works.
* The default ``scheme="central"`` with ``accuracy=p`` uses the ``p + 1`` point
  central stencil wherever it fits. Each of the ``p // 2`` points nearest an end
  uses the ``p + 1`` nodes at that end instead (so the end points themselves get
  purely forward / backward stencils), which keeps the accuracy order ``p``
  everywhere and needs only ``p + 1`` points. This is what findiff does on
  non-uniform grids; on a unit grid with ``accuracy=2`` it is exactly
  ``numpy.gradient(f, edge_order=2)`` and findiff's uniform operator. (For
  ``accuracy >= 4`` findiff's *uniform* operator differs at the second, third,
  ... point from each end, where it starts a forward stencil at the point
  itself; both choices have accuracy order ``p``.)
* ``edge_order`` sets the accuracy order of the one-sided stencils at the two
  ends of a (non-periodic) central scheme; by default it equals ``accuracy``.
  ``edge_order=1`` gives the end points plain first-order differences
  (``f[1] - f[0]`` and ``f[-1] - f[-2]`` on a unit grid), which is what
  ``numpy.gradient(f)`` does by default (``edge_order=1``) and so what the
  paper's authors' code computes. With ``accuracy=2`` the two agree everywhere:
  ``property_gradients(f, edge_order=1) == numpy.gradient(f)`` on a unit grid.
  On rough (e.g. shuffled) outputs the first-order ends are smaller on average,
  so E[|grad X|] with ``edge_order=1`` is a little smaller on short sweeps.
* ``scheme="forward"`` uses forward ``p + 1`` point stencils wherever they fit
  and the last ``p + 1`` nodes for the last ``p`` points (the final point gets a
  backward stencil). ``scheme="forward", accuracy=1`` is the plain forward
  difference quotient ``f[i + 1] - f[i]`` with a backward difference at the last
  point, which the paper uses for its zigzag example.
* With only two points there is a single possible stencil, the first-order
  difference, and it is used for both points whatever ``accuracy`` says. The
  expected property gradient magnitude then is ``|F(I1) - F(I0)|`` (per step),
  the binary case of the paper's appendix A.4.
* ``periodic=True`` is for sweeps that close on themselves, such as a full turn
  of a turntable: there are no ends, the last point is the neighbour of the
  first, and *every* point gets the same stencil shape (central ``-p/2..p/2``
  or forward ``0..p``) with node indices taken modulo ``N``. The node positions
  are unwrapped with the period ``P``: the neighbour ``j = i + o`` of point
  ``i`` sits at ``x[j mod N] + floor(j / N) * P``, and Fornberg's weights are
  computed on these positions, so non-uniform periodic grids work too. The
  period is, in this order: ``period`` if given; ``N`` (steps) without a grid;
  ``N * (x[-1] - x[0]) / (N - 1)`` for a uniform grid (every step within a
  relative ``1e-6`` of the mean step; e.g. ``0, 1, ..., 359`` degrees gives
  360); a non-uniform grid needs an explicit ``period``. The period must exceed
  ``x[-1] - x[0]`` (a grid holding both 0 and 360 degrees repeats a frame:
  drop the last one). Periodic stencils need at least ``max(3, p + 1)``
  points. Unlike the one-sided end stencils, the periodic operator commutes
  with rolling the sweep: on a uniform grid the gradients of
  ``numpy.roll(f, s)`` are the rolled gradients of ``f``.

This module uses NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from numbers import Integral, Real

import numpy as np

__all__ = [
    "fornberg_weights",
    "property_gradients",
    "expected_property_gradient",
    "prediction_flips",
    "pearson_rho",
]

_SCHEMES = ("central", "forward")
# a grid counts as uniform (for inferring the period of a periodic sweep) when
# every step is within this relative tolerance of the mean step
_UNIFORM_RTOL = 1e-6


# ----------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------
def _validate_outputs(outputs, name: str = "outputs", ndims: tuple[int, ...] = (1, 2)):
    """Return ``outputs`` as a float64 array after checking its rank and values."""
    try:
        arr = np.asarray(outputs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array; could not convert it ({exc})") from exc
    if arr.ndim not in ndims:
        allowed = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {allowed}, got an array with shape {arr.shape}")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        first = tuple(int(i) for i in bad[0])
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} contain {len(bad)} non-finite value(s) (NaN or inf); "
            f"the first is {arr[first]} at index {where}"
        )
    return arr


def _validate_grid(grid, n: int):
    """Return ``grid`` as a float64 array of length ``n``, strictly increasing."""
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"grid must be 1-D, got an array with shape {g.shape}")
    if len(g) != n:
        raise ValueError(
            f"grid has {len(g)} values but the sweep has {n} points; give one grid "
            "value per point along axis 0 of the outputs"
        )
    if not np.isfinite(g).all():
        i = int(np.argmin(np.isfinite(g)))
        raise ValueError(f"grid must be finite; grid[{i}] = {g[i]}")
    steps = np.diff(g)
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0))
        raise ValueError(
            "grid must be strictly increasing; "
            f"grid[{i + 1}] = {float(g[i + 1])!r} is not greater than grid[{i}] = {float(g[i])!r}"
        )
    return g


def _validate_scheme(scheme) -> str:
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {_SCHEMES}, got {scheme!r}")
    return scheme


def _validate_accuracy(accuracy, scheme: str) -> int:
    """Check the accuracy order: positive even for central, positive for forward."""
    if isinstance(accuracy, bool) or not isinstance(accuracy, Integral) or accuracy < 1:
        raise ValueError(f"accuracy must be a positive integer, got {accuracy!r}")
    accuracy = int(accuracy)
    if scheme == "central" and accuracy % 2:
        raise ValueError(
            f"accuracy must be a positive even integer (2, 4, 6, ...) for the central "
            f"scheme, got {accuracy}; odd orders exist only for scheme='forward'"
        )
    return accuracy


def _min_points(accuracy: int, scheme: str) -> int:
    """Fewest sweep points a stencil set needs (two points are handled apart)."""
    # both schemes use (accuracy + 1)-point stencils
    return accuracy + 1


def _validate_n_points(n: int, accuracy: int, scheme: str, periodic: bool = False) -> None:
    if periodic:
        need = max(3, _min_points(accuracy, scheme))
        if n < need:
            raise ValueError(
                f"a periodic {scheme} stencil with accuracy={accuracy} needs at least {need} "
                f"points around the period, but {n} were given; lower the accuracy or "
                "sample more points"
            )
        return
    if n == 2:
        return  # the two-point case always works (first-order difference)
    need = _min_points(accuracy, scheme)
    if n < need:
        raise ValueError(
            f"the {scheme} scheme with accuracy={accuracy} needs at least {need} points "
            f"along the sweep (or exactly 2), but {n} were given; lower the accuracy "
            "or sample more points"
        )


def _validate_periodic(periodic) -> bool:
    if not isinstance(periodic, (bool, np.bool_)):
        raise ValueError(f"periodic must be True or False, got {periodic!r}")
    return bool(periodic)


def _validate_period(period, grid: np.ndarray | None, n: int) -> float:
    """Return the period of a periodic sweep (explicit or inferred; see the module notes).

    ``grid`` must already be validated (or be ``None`` for unit steps).
    """
    span = float(n - 1) if grid is None else float(grid[-1] - grid[0])
    if period is None:
        if grid is None:
            return float(n)
        steps = np.diff(grid)
        step = span / (n - 1)
        worst = float(np.abs(steps - step).max())
        if worst > _UNIFORM_RTOL * step:
            raise ValueError(
                "cannot infer the period of a non-uniform grid (its steps range from "
                f"{float(steps.min())!r} to {float(steps.max())!r}); pass period=..., "
                "e.g. period=360 for angles in degrees over one full turn"
            )
        return n * step
    if isinstance(period, bool) or not isinstance(period, Real) or not math.isfinite(period):
        raise ValueError(f"period must be a finite positive number, got {period!r}")
    period = float(period)
    if period <= span:
        what = "n - 1 unit steps" if grid is None else "grid[-1] - grid[0]"
        raise ValueError(
            f"period ({period:g}) must be larger than the span of the sweep ({what} = "
            f"{span:g}): after one period the sweep returns to its first point, so the "
            "last point must come before it. A grid that holds both ends of a full turn "
            "(e.g. 0 and 360 degrees) repeats a frame; drop the last one"
        )
    return period


def _validate_edge_order(edge_order, accuracy: int, scheme: str, periodic: bool) -> int | None:
    """Check ``edge_order``; return ``None`` when it equals the default (``accuracy``)."""
    if edge_order is None:
        return None
    if isinstance(edge_order, bool) or not isinstance(edge_order, Integral) or edge_order < 1:
        raise ValueError(f"edge_order must be a positive integer (1 or 2), got {edge_order!r}")
    edge_order = int(edge_order)
    if edge_order == accuracy:
        return None
    if periodic:
        raise ValueError(
            f"edge_order={edge_order} was given for a periodic sweep, which has no ends; "
            "drop edge_order (or pass periodic=False)"
        )
    if scheme != "central":
        raise ValueError(
            f"edge_order applies to the one-sided end stencils of scheme='central'; "
            f"scheme={scheme!r} has its own end stencils (drop edge_order)"
        )
    if edge_order > accuracy:
        raise ValueError(
            f"edge_order={edge_order} is larger than accuracy={accuracy}; the end "
            "stencils can be at most as accurate as the interior ones"
        )
    return edge_order


def _validate_order(order) -> int:
    if isinstance(order, bool) or not isinstance(order, Integral) or order < 0:
        raise ValueError(f"order must be a non-negative integer, got {order!r}")
    return int(order)


# ----------------------------------------------------------------------------
# Fornberg's weights
# ----------------------------------------------------------------------------
def fornberg_weights(x0: float, grid, order: int = 1) -> np.ndarray:
    """Finite-difference weights on an arbitrary grid (Fornberg, 1988).

    Runs Fornberg's recursion, which builds the weights for every derivative
    order ``0..order`` at once while adding one node at a time, and returns the
    row for ``order``. With ``n`` nodes the result is exact for polynomials of
    degree below ``n``.

    Parameters
    ----------
    x0 : float
        Point at which the derivative is approximated. It need not be a node.
    grid : array_like, shape (n,)
        Distinct, finite node positions (any order; not necessarily uniform).
    order : int, default 1
        Derivative order, ``0 <= order < n``.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Weights ``w`` such that ``f^(order)(x0) ~ sum(w * f(grid))``.

    Raises
    ------
    ValueError
        If ``order`` is negative or not an integer, ``x0`` or ``grid`` is not
        finite, the nodes are not distinct, or there are fewer than
        ``order + 1`` nodes.

    Examples
    --------
    >>> fornberg_weights(0.0, [-1.0, 0.0, 1.0], order=1)
    array([-0.5,  0. ,  0.5])
    >>> fornberg_weights(0.0, [-1.0, 0.0, 1.0], order=2)
    array([ 1., -2.,  1.])
    """
    m = _validate_order(order)
    if not isinstance(x0, Real) or not math.isfinite(x0):
        raise ValueError(f"x0 must be a finite real number, got {x0!r}")
    x = np.asarray(grid, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"grid must be 1-D, got an array with shape {x.shape}")
    n = len(x)
    if n < m + 1:
        raise ValueError(f"a derivative of order {m} needs at least {m + 1} grid points, got {n}")
    if not np.isfinite(x).all():
        raise ValueError("grid must contain only finite values")
    if len(np.unique(x)) != n:
        raise ValueError("grid nodes must be distinct")

    x0 = float(x0)
    c = np.zeros((m + 1, n))
    c[0, 0] = 1.0
    c1 = 1.0
    c4 = x[0] - x0
    for i in range(1, n):
        mn = min(i, m)
        c2 = 1.0
        c5 = c4
        c4 = x[i] - x0
        for j in range(i):
            c3 = x[i] - x[j]
            c2 *= c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[k, i] = c1 * (k * c[k - 1, i - 1] - c5 * c[k, i - 1]) / c2
                c[0, i] = -c1 * c5 * c[0, i - 1] / c2
            for k in range(mn, 0, -1):
                c[k, j] = (c4 * c[k, j] - k * c[k - 1, j]) / c3
            c[0, j] = c4 * c[0, j] / c3
        c1 = c2
    return c[m].copy()


# ----------------------------------------------------------------------------
# the stencil operator
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Stencil:
    """A first-derivative operator along a sweep of ``n`` points.

    Row ``i`` approximates the derivative at point ``i`` as
    ``sum_k weights[i, k] * f[index[i, k]]``. Rows ``lo <= i < hi`` share the
    node offsets ``offsets`` (``index[i] = i + offsets``), so they can be applied
    with array slicing; ``scalar`` holds their common weights when all these rows
    have identical weights (uniform grids), else ``None``. The remaining rows
    (boundary rows) are applied one by one; there are at most ``accuracy``.
    For a periodic stencil the boundary rows are the rows whose nodes wrap
    around (their ``index`` is taken modulo ``n``, so it is not contiguous).
    """

    n: int
    index: np.ndarray  # (n, w) int
    weights: np.ndarray  # (n, w) float
    lo: int
    hi: int
    offsets: np.ndarray  # (w,) int
    scalar: np.ndarray | None  # (w,) float or None

    @property
    def boundary_rows(self) -> list[int]:
        return [i for i in range(self.n) if not self.lo <= i < self.hi]

    def matrix(self) -> np.ndarray:
        """Dense ``(n, n)`` operator (for inspection and tests)."""
        d = np.zeros((self.n, self.n))
        rows = np.repeat(np.arange(self.n), self.index.shape[1])
        np.add.at(d, (rows, self.index.ravel()), self.weights.ravel())
        return d

    def _interior_terms(self, a: np.ndarray, axis: int):
        """Yield ``(weight, slice_of_a)`` pairs whose sum is the interior derivative."""
        pre = (slice(None),) * axis
        count = self.hi - self.lo
        for k, off in enumerate(self.offsets):
            start = self.lo + int(off)
            part = a[pre + (slice(start, start + count),)]
            if self.scalar is not None:
                w = self.scalar[k]
                if w == 0.0:
                    continue
                yield w, part
            else:
                w = self.weights[self.lo : self.hi, k]
                yield w.reshape((count,) + (1,) * (a.ndim - axis - 1)), part

    def _interior(self, a: np.ndarray, axis: int) -> tuple[np.ndarray, float]:
        """Interior derivative, up to a common scalar factor returned with it.

        When the interior stencil has scalar weights ``(-w, +w)`` only (unit or
        uniform grid, accuracy-2 central or accuracy-1 forward), the plain
        difference is returned with the factor ``w``; otherwise the factor is 1.
        """
        terms = list(self._interior_terms(a, axis))
        if self.scalar is not None and len(terms) == 2 and terms[0][0] == -terms[1][0]:
            (_, p0), (w1, p1) = terms
            return np.subtract(p1, p0), float(w1)
        w, p = terms[0]
        out = np.multiply(p, w)
        tmp = np.empty_like(out)
        for w, p in terms[1:]:
            np.multiply(p, w, out=tmp)
            out += tmp
        return out, 1.0

    def _row(self, a: np.ndarray, axis: int, i: int) -> np.ndarray:
        pre = (slice(None),) * axis
        idx = self.index[i]
        if a.ndim == 2 and axis == 1:
            # one small matrix-vector product (a view for contiguous nodes)
            return a[:, _node_selector(idx)] @ self.weights[i]
        out = None
        for j, w in zip(self.index[i], self.weights[i], strict=True):
            term = w * a[pre + (int(j),)]
            out = term if out is None else out + term
        return out

    def apply(self, a: np.ndarray, axis: int = 0) -> np.ndarray:
        """Derivative of ``a`` along ``axis`` (same shape as ``a``)."""
        out = np.empty(a.shape, dtype=np.float64)
        pre = (slice(None),) * axis
        if self.hi > self.lo:
            inner, factor = self._interior(a, axis)
            if factor != 1.0:
                inner *= factor
            out[pre + (slice(self.lo, self.hi),)] = inner
        for i in self.boundary_rows:
            out[pre + (i,)] = self._row(a, axis, i)
        return out

    @cached_property
    def _flat_plan(self):
        """Precomputed pieces of :meth:`_abs_sum_rows_flat` (scalar stencils only).

        Returns the interior offsets (shifted to start at 0) and weights (zero
        weights dropped), their ``span``, whether the interior stencil is a
        plain difference ``w * (f[j] - f[i])``, the boundary rows as
        ``(column, (first_node, last_node + 1, weights))`` (their nodes must be
        contiguous; ``column`` is the column of the flat difference they are
        written to) and the weight vector of the final row sums (``|w|`` or 1
        on interior columns, 1 on boundary columns); or ``None`` when the fused
        form does not apply. The nodes of a boundary row are a slice when they
        are contiguous and an index array otherwise (periodic stencils).
        """
        if self.scalar is None or self.hi <= self.lo:
            return None
        keep = self.scalar != 0.0
        offs, ws = self.offsets[keep], self.scalar[keep]
        base, span = int(offs.min()), int(offs.max() - offs.min())
        n = self.n
        inner = np.arange(self.lo + base, self.hi + base)
        free = np.setdiff1d(np.arange(n), inner)  # columns that straddle rows
        rows = self.boundary_rows
        bounds = []
        for i in rows:
            bounds.append((_node_selector(self.index[i]), np.array(self.weights[i])))
        if len(bounds) != len(free):
            return None
        difference = len(ws) == 2 and ws[0] == -ws[1]
        mask = np.zeros(n)
        mask[inner] = abs(float(ws[1])) if difference else 1.0
        mask[free] = 1.0
        slots = list(zip((int(c) for c in free), bounds, strict=True))
        return [int(o) - base for o in offs], ws, span, difference, slots, mask

    def _abs_sum_rows_flat(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Row sums of the absolute derivative of a C-contiguous 2-D array.

        Works on the flattened array, so every pass is contiguous: the interior
        stencil is applied across row ends too. The columns of the flat
        difference that straddle two rows are overwritten with the boundary
        derivatives of the row (there are as many of each), so one absolute
        value and one matrix-vector product with a weight vector (the interior
        factor, 1 for the boundary columns) give the whole sum. ``out``
        optionally is scratch space of ``a.size`` float64 values.
        """
        k, n = a.shape
        offs, ws, span, difference, bounds, mask = self._flat_plan
        flat = a.reshape(-1)
        size = flat.size - span
        d = np.empty(flat.size) if out is None else out.reshape(-1)[: flat.size]
        head = d[:size]
        parts = [flat[o : o + size] for o in offs]
        if difference:
            np.subtract(parts[1], parts[0], out=head)
        else:
            np.multiply(parts[0], ws[0], out=head)
            for w, part in zip(ws[1:], parts[1:], strict=True):
                head += w * part
        d2 = d.reshape(k, n)
        for col, (nodes, w) in bounds:
            np.matmul(a[:, nodes], w, out=d2[:, col])
        np.abs(d, out=d)
        return d2 @ mask

    def abs_sum(self, a: np.ndarray, axis: int) -> np.ndarray:
        """Sum over ``axis`` of the absolute derivative (the axis is removed)."""
        total = None
        fast = a.ndim == 2 and axis == 1 and a.flags.c_contiguous
        if fast and self._flat_plan is not None:
            return self._abs_sum_rows_flat(a)
        if self.hi > self.lo:
            inner, factor = self._interior(a, axis)
            np.abs(inner, out=inner)
            if axis == a.ndim - 1 and inner.ndim == 2:
                total = inner @ np.ones(inner.shape[1])  # fast row sums
            else:
                total = inner.sum(axis=axis)
            total *= abs(factor)
        for i in self.boundary_rows:
            r = np.abs(self._row(a, axis, i))
            total = r if total is None else total + r
        return total


def _node_selector(idx: np.ndarray) -> slice | np.ndarray:
    """A slice for contiguous increasing node indices, else the index array itself."""
    if (np.diff(idx) == 1).all():
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return np.asarray(idx, dtype=np.intp)


def _fornberg_rows(nodes: np.ndarray, index: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.array(
        [
            fornberg_weights(nodes[r], nodes[idx], order=1)
            for r, idx in zip(rows, index, strict=True)
        ]
    )


def _lower_edge_order(
    weights: np.ndarray, nodes: np.ndarray, index: np.ndarray, lo: int, hi: int, edge_order: int
) -> None:
    """Recompute the end rows in place with ``edge_order + 1`` nodes at each end."""
    keep = edge_order + 1
    for i in range(weights.shape[0]):
        if lo <= i < hi:
            continue
        idx = index[i]
        used = slice(0, keep) if i < lo else slice(len(idx) - keep, len(idx))
        row = np.zeros(len(idx))
        row[used] = fornberg_weights(nodes[i], nodes[idx[used]], order=1)
        weights[i] = row


def _periodic_parts(n: int, nodes: np.ndarray, accuracy: int, scheme: str, period: float):
    """Offsets, wrapped node indices, interior rows and weights of a periodic stencil."""
    rows = np.arange(n)
    if scheme == "central":
        h = accuracy // 2
        offsets = np.arange(-h, h + 1)
        lo, hi = h, n - h
    else:  # forward
        offsets = np.arange(accuracy + 1)
        lo, hi = 0, n - accuracy
    unwrapped = rows[:, None] + offsets[None, :]
    index = unwrapped % n
    # position of node i + o, unwrapped: x[(i + o) mod n] + floor((i + o) / n) * period
    positions = nodes[index] + (unwrapped // n) * period
    weights = np.array(
        [fornberg_weights(nodes[i], positions[i], order=1) for i in rows], dtype=np.float64
    )
    return offsets, index, lo, hi, weights


@lru_cache(maxsize=64)
def _build_stencil(
    n: int,
    grid: tuple[float, ...] | None,
    accuracy: int,
    scheme: str,
    period: float | None = None,
    edge_order: int | None = None,
) -> _Stencil:
    """Construct (and cache) the stencil for one (grid, accuracy, scheme, period).

    ``period=None`` builds the ordinary stencil with one-sided ends; a number
    builds the periodic stencil with that period. ``edge_order`` (central
    scheme only) lowers the order of the end stencils: they then use only the
    ``edge_order + 1`` nodes nearest the end (the other nodes of the row get
    weight 0).
    """
    nodes = np.arange(n, dtype=np.float64) if grid is None else np.array(grid)
    rows = np.arange(n)
    if period is not None:
        offsets, index, lo, hi, weights = _periodic_parts(n, nodes, accuracy, scheme, period)
    elif n == 2:
        index = np.array([[0, 1], [0, 1]])
        lo, hi, offsets = 0, 1, np.array([0, 1])
    elif scheme == "central":
        h = accuracy // 2
        offsets = np.arange(-h, h + 1)
        index = rows[:, None] + offsets[None, :]
        # the h points nearest each end use the accuracy + 1 nodes at that end
        window = np.arange(accuracy + 1)
        index[:h] = window
        index[n - h :] = n - 1 - window[::-1]
        lo, hi = h, n - h
    else:  # forward
        offsets = np.arange(accuracy + 1)
        index = rows[:, None] + offsets[None, :]
        index[n - accuracy :] = n - 1 - offsets[::-1]
        lo, hi = 0, n - accuracy
    if period is None:
        weights = _fornberg_rows(nodes, index, rows)
        if edge_order is not None and n > 2:
            _lower_edge_order(weights, nodes, index, lo, hi, edge_order)

    scalar = None
    if grid is None:
        # unit grid: every interior row has the same weights; compute them once
        # on the integer offsets and drop rounding residue of weights that are
        # exactly zero in exact arithmetic (the centre of a central stencil)
        base = fornberg_weights(0.0, offsets.astype(np.float64), order=1)
        base[np.abs(base) < 1e-12 * np.abs(base).max()] = 0.0
        weights[lo:hi] = base
        scalar = base
        if period == n:  # the periodic unit grid: the wrapped rows are interior rows too
            weights[:] = base
        for i in range(n):  # boundary rows: same cleanup, same weights as findiff
            w = weights[i]
            w[np.abs(w) < 1e-12 * np.abs(w).max()] = 0.0
    elif hi > lo and (weights[lo:hi] == weights[lo]).all():
        scalar = weights[lo].copy()
    weights.setflags(write=False)
    index.setflags(write=False)
    return _Stencil(n, index, weights, lo, hi, offsets, scalar)


def _get_stencil(
    n: int,
    grid,
    accuracy: int,
    scheme: str,
    periodic: bool = False,
    period=None,
    edge_order: int | None = None,
) -> _Stencil:
    """Validate the arguments and return the cached stencil for them."""
    scheme = _validate_scheme(scheme)
    accuracy = _validate_accuracy(accuracy, scheme)
    periodic = _validate_periodic(periodic)
    edge_order = _validate_edge_order(edge_order, accuracy, scheme, periodic)
    if not periodic and period is not None:
        raise ValueError(
            f"period={period!r} was given but periodic=False; pass periodic=True for a "
            "sweep that closes on itself (e.g. a full turn), or drop period"
        )
    if n < 2:
        raise ValueError(f"a gradient along the sweep needs at least 2 points, got {n}")
    _validate_n_points(n, accuracy, scheme, periodic)
    g = None if grid is None else _validate_grid(grid, n)
    key = None if g is None else tuple(g.tolist())
    p = _validate_period(period, g, n) if periodic else None
    return _build_stencil(n, key, accuracy, scheme, p, edge_order)


# ----------------------------------------------------------------------------
# public measures
# ----------------------------------------------------------------------------
def property_gradients(
    outputs,
    grid=None,
    accuracy: int = 2,
    scheme: str = "central",
    periodic: bool = False,
    period: float | None = None,
    edge_order: int | None = None,
) -> np.ndarray:
    """Derivative of model outputs along the sweep (axis 0).

    Parameters
    ----------
    outputs : array_like, shape (N,) or (N, C)
        Model outputs in sweep order; columns are differentiated independently.
    grid : array_like, shape (N,), optional
        Strictly increasing property values of the sweep points. ``None`` (the
        default) means unit steps, i.e. gradients per step of the sweep.
    accuracy : int, default 2
        Accuracy order of the stencils. Even for ``scheme="central"``; any
        positive integer for ``scheme="forward"``.
    scheme : {"central", "forward"}, default "central"
        ``"central"``: central stencils inside, one-sided stencils of the same
        order at the ends. ``"forward"``: forward stencils everywhere, backward
        at the last point (see the module notes for the exact node choice).
    periodic : bool, default False
        Treat the sweep as closed (a full turn): the stencils wrap around and
        the last point is the neighbour of the first, so every point gets the
        same (central or forward) stencil shape and there are no one-sided ends.
    period : float, optional
        Length of one period in grid units (only with ``periodic=True``). By
        default ``N`` steps without a grid, or ``N * step`` for a uniform grid
        (``0, 1, ..., 359`` degrees: 360); a non-uniform grid needs it. It must
        exceed ``grid[-1] - grid[0]``.
    edge_order : int, optional
        Accuracy order of the one-sided stencils at the two ends (central
        scheme, non-periodic sweeps); at most ``accuracy``. ``None`` (default)
        uses ``accuracy``. ``edge_order=1`` reproduces ``numpy.gradient``'s
        default ends, which the paper's authors' code uses.

    Returns
    -------
    numpy.ndarray
        Same shape as ``outputs``.

    Raises
    ------
    ValueError
        If ``outputs`` is not 1-D or 2-D or holds NaN/inf, the grid does not
        match or is not strictly increasing, ``accuracy`` or ``scheme`` is
        invalid, or there are fewer points than the stencils need
        (``accuracy + 1``; two points always work, see Notes; periodic stencils
        need ``max(3, accuracy + 1)``), or ``period`` is given without
        ``periodic=True``, is not larger than the span of the grid, or cannot be
        inferred (non-uniform grid), or ``edge_order`` is not a positive
        integer at most ``accuracy``, or is given for a periodic sweep or the
        forward scheme.

    Notes
    -----
    With exactly two points the only possible stencil, the first-order
    difference ``(f1 - f0) / (x1 - x0)``, is used at both points.

    Examples
    --------
    >>> property_gradients([0.0, 1.0, 4.0, 9.0, 16.0])
    array([0., 2., 4., 6., 8.])
    >>> property_gradients([0.0, 1.0, 4.0, 9.0, 16.0], edge_order=1)
    array([1., 2., 4., 6., 7.])
    >>> property_gradients([0.0, 1.0, 0.0, 1.0], scheme="forward", accuracy=1)
    array([ 1., -1.,  1.,  1.])
    >>> property_gradients([0.0, 1.0, 2.0, 1.0], periodic=True)
    array([ 0.,  1.,  0., -1.])
    """
    f = _validate_outputs(outputs)
    st = _get_stencil(f.shape[0], grid, accuracy, scheme, periodic, period, edge_order)
    return st.apply(f, axis=0)


def expected_property_gradient(
    outputs,
    grid=None,
    accuracy: int = 2,
    scheme: str = "central",
    periodic: bool = False,
    period: float | None = None,
    edge_order: int | None = None,
) -> float | np.ndarray:
    """Expected property gradient magnitude ``E[|grad_X F|]`` of a sweep.

    The mean, over the ``N`` sweep points, of the absolute value of
    :func:`property_gradients`. With the default unit grid it is the average
    change of the output per step of the sweep.

    Parameters
    ----------
    outputs : array_like, shape (N,) or (N, C)
        Model outputs in sweep order.
    grid, accuracy, scheme, periodic, period, edge_order
        As in :func:`property_gradients`; ``periodic=True`` for a full turn,
        ``edge_order=1`` for the first-order ends of the authors' code
        (``numpy.gradient``'s default).

    Returns
    -------
    float or numpy.ndarray
        A Python float for 1-D ``outputs``; an array of shape ``(C,)`` (one score
        per column) for 2-D ``outputs``.

    Raises
    ------
    ValueError
        As in :func:`property_gradients`.

    Notes
    -----
    With two points the score is ``|F(I1) - F(I0)|`` per step (divided by
    ``x1 - x0`` for an explicit grid): both points get the first-order
    difference, the only stencil two points allow.

    Examples
    --------
    >>> expected_property_gradient([0.2, 0.9])
    0.7
    >>> expected_property_gradient([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    array([0.5, 0.5])
    >>> expected_property_gradient([0.0, 1.0, 2.0, 1.0], periodic=True)
    0.5

    The authors' convention, ``mean(abs(numpy.gradient(f)))``:

    >>> expected_property_gradient([0.0, 1.0, 4.0, 9.0, 16.0], edge_order=1)
    4.0
    """
    grads = property_gradients(
        outputs,
        grid=grid,
        accuracy=accuracy,
        scheme=scheme,
        periodic=periodic,
        period=period,
        edge_order=edge_order,
    )
    score = np.abs(grads).mean(axis=0)
    return float(score) if score.ndim == 0 else score


def prediction_flips(outputs) -> int:
    """Number of times the predicted class changes along the sweep.

    Parameters
    ----------
    outputs : array_like, shape (N,) or (N, C)
        For ``(N, C)``: scores per class (logits or probabilities); the
        prediction is the arg-max of each row (ties go to the lowest class
        index, as with :func:`numpy.argmax`). For ``(N,)`` (or ``(N, 1)``): the
        probability of the positive class of a binary classifier; the
        prediction is positive when the value is strictly above 0.5, so the
        count is the number of times the sweep crosses the 0.5 threshold
        (touching 0.5 without changing side is not a flip). This agrees with
        the arg-max of the two-column output ``[1 - p, p]``.

    Returns
    -------
    int
        The number of changes; 0 means no prediction flip.

    Raises
    ------
    ValueError
        If ``outputs`` is not 1-D or 2-D, holds NaN/inf or has no points.

    Examples
    --------
    >>> prediction_flips([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    1
    >>> prediction_flips([0.2, 0.6, 0.4, 0.45])
    2
    """
    f = _validate_outputs(outputs)
    if f.shape[0] == 0:
        raise ValueError("outputs must contain at least one point")
    if f.ndim == 2 and f.shape[1] == 1:
        f = f[:, 0]
    labels = f > 0.5 if f.ndim == 1 else np.argmax(f, axis=1)
    return int(np.count_nonzero(labels[1:] != labels[:-1]))


def _constant_mask(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """True where values along ``axis`` are equal up to floating-point rounding.

    A sequence counts as constant when its peak-to-peak range is at most eight
    machine epsilons of its largest magnitude (exactly equal values included).
    """
    scale = np.abs(x).max(axis=axis)
    return np.ptp(x, axis=axis) <= 8 * np.finfo(np.float64).eps * scale


def pearson_rho(outputs, grid=None) -> float | np.ndarray:
    """Pearson correlation between the property values and the outputs.

    Parameters
    ----------
    outputs : array_like, shape (N,) or (N, C)
        Model outputs in sweep order, ``N >= 2``.
    grid : array_like, shape (N,), optional
        Strictly increasing property values; ``numpy.arange(N)`` by default.

    Returns
    -------
    float or numpy.ndarray
        A float for 1-D ``outputs``, an array ``(C,)`` for 2-D ``outputs``.
        Outputs that are constant (up to floating-point rounding) have no
        defined correlation and give ``nan`` (no warning is raised).

    Raises
    ------
    ValueError
        If ``outputs`` is not 1-D or 2-D, holds NaN/inf, has fewer than two
        points, or the grid does not match or is not strictly increasing.

    Examples
    --------
    >>> round(pearson_rho([1.0, 2.0, 3.0, 5.0]), 6)
    0.982708
    >>> pearson_rho([3.0, 3.0, 3.0])
    nan
    """
    f = _validate_outputs(outputs)
    n = f.shape[0]
    if n < 2:
        raise ValueError(f"a correlation needs at least 2 points, got {n}")
    g = np.arange(n, dtype=np.float64) if grid is None else _validate_grid(grid, n)
    gc = g - g.mean()
    fc = f - f.mean(axis=0)
    num = np.tensordot(gc, fc, axes=(0, 0))
    den = np.sqrt((gc @ gc) * (fc * fc).sum(axis=0))
    const = _constant_mask(f, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(const, np.nan, num / np.where(const, 1.0, den))
    rho = np.clip(rho, -1.0, 1.0)
    return float(rho) if rho.ndim == 0 else rho
