"""Per step, per unit, in total: E[|∇X|] of one exact sweep sampled at several step counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from propgrad.measure import expected_property_gradient


def fur_sweep_outputs(
    source: Any, model: Any, group: str, n_images: int, n_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """p(cat) along exact fur sweeps of one group, and the fur values of the steps.

    Parameters
    ----------
    source : ToyCatsDogs
        The Cats-vs-Dogs chapter's toy source.
    model : Classifier
        The model scored.
    group : str
        One of the paper's four groups (e.g. ``"dark cats"``).
    n_images, n_steps : int
        Animals and steps per sweep.

    Returns
    -------
    outputs : ndarray
        (n_images, n_steps) p(cat).
    values : ndarray
        (n_steps,) the fur tone of every step, in the sweep's order.
    """
    from propgrad.chapters.cats_vs_dogs.paper import FUR_GROUPS
    from propgrad.prediction import predict_sweeps

    fur, _ = source.group_sweeps(n_images, n_steps)
    outputs = predict_sweeps(model, fur[group], progress=False)[:, :, 0]
    values = np.linspace(0.0, 1.0, n_steps)
    return outputs, values[::-1] if FUR_GROUPS[group][2] == "light" else values


def step_table(outputs: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> dict[int, dict]:
    """Mean E per step, in total and per unit of the property, by step count.

    Parameters
    ----------
    outputs : mapping
        Step count N -> ``(outputs (M, N), property values (N,))``.

    Returns
    -------
    dict
        N -> ``{"per_step", "total", "per_unit"}``: the mean over the M
        sweeps of E per step, of E times ``N - 1`` and of E on the property's
        values (the absolute slope per unit of fur tone).
    """
    table = {}
    for n, (curves, values) in outputs.items():
        per_step = expected_property_gradient(curves.T)
        grid = values if values[-1] > values[0] else -values
        per_unit = expected_property_gradient(curves.T, grid=grid)
        table[int(n)] = {
            "per_step": float(np.mean(per_step)),
            "total": float(np.mean(per_step) * (n - 1)),
            "per_unit": float(np.mean(per_unit)),
        }
    return table


def spread(table: Mapping[int, Mapping[str, float]], column: str) -> float:
    """Largest over smallest value of a column across step counts (1: no change)."""
    values = [row[column] for row in table.values()]
    return float(max(values) / min(values))


__all__ = ["fur_sweep_outputs", "spread", "step_table"]
