"""Summaries of model behaviour over many sweeps (mean curves, tables).

The paper reports two kinds of numbers for a set of images intervened on in
the same way: the behaviour of the *mean* output curve (its E[|∇X|],
significance and whether it crosses the decision threshold; e.g. Tables 6 and 7
and the legends of Figs. 3 and 12), and per-image scores. This module computes
both from an array of output curves, so every chapter summarises the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from propgrad.measure import expected_property_gradient
from propgrad.stats import shuffle_test


@dataclass(frozen=True)
class BehaviourSummary:
    """Behaviour of one model over M sweeps of N steps.

    Attributes
    ----------
    mean_curve, std_curve : ndarray
        Mean and standard deviation of the output over the sweeps, shape (N,).
    gradient : float
        E[|∇X|] of the mean curve.
    p_value : float
        Shuffle-test p-value of the mean curve (+1 correction).
    significant : bool
        ``p_value < alpha``.
    flips : int
        Threshold crossings of the mean curve (0: the mean prediction never
        flips).
    per_sweep_gradient : ndarray
        E[|∇X|] of every single sweep, shape (M,).
    per_sweep_p_value : ndarray
        Shuffle-test p-value of every single sweep, shape (M,).
    per_sweep_flips : ndarray
        Threshold crossings of every single sweep, shape (M,).
    alpha : float
        Significance level used.
    """

    mean_curve: np.ndarray
    std_curve: np.ndarray
    gradient: float
    p_value: float
    significant: bool
    flips: int
    per_sweep_gradient: np.ndarray
    per_sweep_p_value: np.ndarray
    per_sweep_flips: np.ndarray
    alpha: float

    @property
    def mean_per_sweep_gradient(self) -> float:
        """Mean of the per-sweep E[|∇X|] (differs from ``gradient`` when onsets vary)."""
        return float(np.mean(self.per_sweep_gradient))

    @property
    def fraction_significant(self) -> float:
        """Fraction of single sweeps whose change is significant."""
        return float(np.mean(self.per_sweep_p_value < self.alpha))

    @property
    def fraction_flipped(self) -> float:
        """Fraction of single sweeps whose prediction flips at least once."""
        return float(np.mean(self.per_sweep_flips > 0))


def _threshold_flips(curve: np.ndarray, threshold: float) -> int:
    """Count sign changes of ``curve - threshold`` (ties count as the upper side)."""
    side = np.asarray(curve) >= threshold
    return int(np.count_nonzero(side[1:] != side[:-1]))


def summarise_behaviour(
    curves: np.ndarray,
    *,
    threshold: float = 0.5,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
) -> BehaviourSummary:
    """Summarise output curves of one model over several sweeps.

    Parameters
    ----------
    curves : array_like
        Outputs of shape (M, N): M sweeps (images) of N steps each, e.g. the
        probability of one class. A single curve (N,) is treated as M = 1.
    threshold : float, optional
        Decision threshold for counting prediction flips (0.5 for the
        probability of one of two classes).
    n_permutations : int, optional
        Shuffles per test.
    alpha : float, optional
        Significance level.
    seed : int or None, optional
        Seed of the permutations.

    Returns
    -------
    BehaviourSummary

    Examples
    --------
    >>> import numpy as np
    >>> rising = np.linspace(0.2, 0.8, 21)
    >>> s = summarise_behaviour(np.stack([rising, rising]), n_permutations=999)
    >>> round(s.gradient, 3), s.flips, bool(s.significant)
    (0.03, 1, True)
    """
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    if curves.ndim != 2:
        raise ValueError(f"curves must have shape (M, N), got {curves.shape}")
    mean = curves.mean(axis=0)
    test_mean = shuffle_test(mean, n_permutations=n_permutations, alpha=alpha, seed=seed)
    test_each = shuffle_test(curves, n_permutations=n_permutations, alpha=alpha, seed=seed)
    return BehaviourSummary(
        mean_curve=mean,
        std_curve=curves.std(axis=0),
        gradient=float(expected_property_gradient(mean)),
        p_value=float(test_mean.p_value),
        significant=bool(test_mean.significant),
        flips=_threshold_flips(mean, threshold),
        per_sweep_gradient=np.asarray(expected_property_gradient(curves.T), dtype=float),
        per_sweep_p_value=np.atleast_1d(test_each.p_value).astype(float),
        per_sweep_flips=np.array([_threshold_flips(c, threshold) for c in curves]),
        alpha=alpha,
    )


__all__ = ["BehaviourSummary", "summarise_behaviour"]
