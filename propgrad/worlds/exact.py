"""Exact interventions ``do(X := x)`` shared by the procedural worlds.

A world that renders an image from a parameter record can intervene exactly:
re-render the same record with one property replaced, once per value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from propgrad.sweep import Sweep


def unit_grid(values: Sequence[float] | np.ndarray | int, name: str) -> np.ndarray:
    """Property values in [0, 1]: the given ones, or ``values`` evenly spaced from 0 to 1.

    Parameters
    ----------
    values : sequence of float or int
        The values, or how many evenly spaced ones (at least 2).
    name : str
        The property, for the error message.

    Returns
    -------
    ndarray
        1-D float array.

    Raises
    ------
    ValueError
        For fewer than 2 values, an empty or not 1-D sequence, or values
        outside [0, 1].
    """
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        if values < 2:
            raise ValueError(f"need at least 2 values, got {values}")
        return np.linspace(0.0, 1.0, int(values))
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError("values must be a non-empty 1-D sequence")
    if np.any(grid < 0.0) or np.any(grid > 1.0):
        raise ValueError(f"{name} values must lie in [0, 1]")
    return grid


def exact_sweep(
    params: Any,
    property: str,  # noqa: A002 - the natural name for the intervened property
    values: Sequence[float] | np.ndarray | int,
    render: Callable[[Any, int], np.ndarray],
    *,
    size: int,
    grid_names: Mapping[str, str],
    metadata: Mapping[str, Any],
) -> Sweep:
    """Re-render ``params`` once per value with only ``property`` replaced.

    Parameters
    ----------
    params : dataclass
        The sample; it must have ``label``, ``to_dict()`` and the property
        as a field.
    property : str
        A key of ``grid_names``.
    values : sequence of float or int
        See :func:`unit_grid`.
    render : callable
        ``render(params, size)`` -> uint8 image.
    size : int
        Image size in pixels.
    grid_names : mapping
        Property -> readable axis label (the sweep's ``grid_name``).
    metadata : mapping
        The world's own entries (e.g. ``world`` and the class name); the
        property, size, label, original value and parameters are added.

    Returns
    -------
    Sweep
        ``grid`` = the values.

    Raises
    ------
    ValueError
        For an unknown property or bad values (:func:`unit_grid`).
    """
    if property not in grid_names:
        raise ValueError(f"unknown property {property!r}; choose one of {sorted(grid_names)}")
    grid = unit_grid(values, property)
    images = [render(replace(params, **{property: float(value)}), size) for value in grid]
    meta = {
        "world": metadata.get("world"),
        "property": property,
        "size": int(size),
        "label": int(params.label),
        **{k: v for k, v in metadata.items() if k != "world"},
        "original_value": float(getattr(params, property)),
        "params": params.to_dict(),
    }
    return Sweep(images, grid, grid_names[property], meta)
