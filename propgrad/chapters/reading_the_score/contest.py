"""A fair flip contest: E[|∇X|] against baselines built from the same forward passes.

In the paper's Table 2 the flip label and E[|∇X|] come from one output curve,
while the saliency methods see only the two end images. The baselines here
use the same curve: the two-point effect ``|F(I_N) - F(I_0)|`` (the causal
concept effect the score extends), the output range, and how close the start
is to the decision boundary. Every resample draws, without replacement, a
*fit* set to choose each score's threshold and a disjoint *test* set to
measure its accuracy; methods are compared with a paired Wilcoxon test over
the resamples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from propgrad.baselines.fliptask import best_threshold_accuracy
from propgrad.measure import expected_property_gradient
from propgrad.scores import flip_counts

#: The methods, in the order shown.
METHODS = ("Ours", "two-point", "range", "start margin")


def curve_scores(curves: np.ndarray) -> dict[str, np.ndarray]:
    """Every method's score of each curve (larger: more likely to flip).

    Parameters
    ----------
    curves : ndarray
        (M, N) the scored output along each sweep (a class probability).

    Returns
    -------
    dict
        Method -> (M,) scores.
    """
    curves = np.asarray(curves, dtype=float)
    return {
        "Ours": np.asarray(expected_property_gradient(curves.T)),
        "two-point": np.abs(curves[:, -1] - curves[:, 0]),
        "range": curves.max(axis=1) - curves.min(axis=1),
        "start margin": -np.abs(curves[:, 0] - 0.5),
    }


def _accuracy(scores: np.ndarray, flipped: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores > threshold) == flipped))


def contest(
    outputs: np.ndarray,
    labels: np.ndarray,
    target: int,
    *,
    n_fit: int,
    n_test: int,
    n_resamples: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Held-out flip-prediction accuracy of every method over resamples.

    Parameters
    ----------
    outputs : ndarray
        (M, N, C) model outputs along the pool's sweeps.
    labels : ndarray
        (M,) the class of every sweep's image; each resample draws the same
        number per class.
    target : int
        The scored output column.
    n_fit, n_test : int
        Images per class in the fit and in the test set of every resample
        (drawn without replacement; together at most the pool's per class).
    n_resamples : int
        Resamples.
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    dict
        ``accuracy``: method -> (n_resamples,) test accuracies (%);
        ``flipped``: the share of the pool's sweeps that flip.

    Raises
    ------
    ValueError
        If a class has fewer sweeps than ``n_fit + n_test``.
    """
    outputs = np.asarray(outputs, dtype=float)
    labels = np.asarray(labels)
    flipped = flip_counts(outputs) > 0
    scores = curve_scores(outputs[:, :, target])
    classes = np.unique(labels)
    for c in classes:
        if (labels == c).sum() < n_fit + n_test:
            raise ValueError(
                f"class {c} has {(labels == c).sum()} sweeps; a resample draws {n_fit} + {n_test}"
            )
    rng = np.random.default_rng(seed)
    accuracy = {m: np.empty(n_resamples) for m in METHODS}
    for r in range(n_resamples):
        fit, test = [], []
        for c in classes:
            draw = rng.permutation(np.flatnonzero(labels == c))
            fit.append(draw[:n_fit])
            test.append(draw[n_fit : n_fit + n_test])
        fit, test = np.concatenate(fit), np.concatenate(test)
        for m in METHODS:
            _, threshold = best_threshold_accuracy(scores[m][fit], flipped[fit])
            accuracy[m][r] = 100 * _accuracy(scores[m][test], flipped[test], threshold)
    return {"accuracy": accuracy, "flipped": float(flipped.mean())}


def summary(results: Mapping[str, Mapping[str, Any]]) -> tuple[dict, dict]:
    """Mean and std per task and method, and paired Wilcoxon p-values against Ours.

    Returns
    -------
    table : dict
        Task -> method -> ``{"mean", "std"}``.
    tests : dict
        Task -> method -> p-value of the paired Wilcoxon signed-rank test of
        its accuracies against Ours' over the resamples (1 when they never
        differ).
    """
    from scipy.stats import wilcoxon

    table, tests = {}, {}
    for task, result in results.items():
        acc = result["accuracy"]
        table[task] = {m: {"mean": float(np.mean(a)), "std": float(np.std(a))}
                       for m, a in acc.items()}  # fmt: skip
        tests[task] = {}
        for m in METHODS[1:]:
            diff = acc["Ours"] - acc[m]
            tests[task][m] = 1.0 if not np.any(diff) else float(wilcoxon(diff).pvalue)
    return table, tests


__all__ = ["METHODS", "contest", "curve_scores", "summary"]
