"""Exact interventions ``do(X := x)``: re-render one sample with one property changed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from propgrad.sweep import Sweep
from propgrad.worlds.cats_dogs.params import PROPERTY_NAMES, CatDogParams
from propgrad.worlds.cats_dogs.render import render
from propgrad.worlds.exact import exact_sweep


def intervene(
    params: CatDogParams,
    property: str,  # noqa: A002 - the natural name for the intervened property
    values: Sequence[float] | np.ndarray | int = 21,
    *,
    size: int = 64,
) -> Sweep:
    """Exact intervention ``do(X := x)`` on one sample, as a sweep.

    The sample is re-rendered once per value with only ``property`` replaced;
    shape, pose, texture and noise stay the same.

    Parameters
    ----------
    params : CatDogParams
        The sample to intervene on.
    property : {"fur_tone", "background"}
        The property to set.
    values : sequence of float or int, optional
        Strictly increasing property values in [0, 1], or a number of evenly
        spaced values from 0 to 1 (default 21).
    size : int, optional
        Image size in pixels.

    Returns
    -------
    Sweep
        The re-rendered images, ``grid`` = the property values and
        ``grid_name`` a readable axis label. ``metadata`` holds the world name,
        the property, the image size and the original parameters.

    Raises
    ------
    ValueError
        If the property is unknown or a value lies outside [0, 1].
    """
    return exact_sweep(
        params,
        property,
        values,
        render,
        size=size,
        grid_names=PROPERTY_NAMES,
        metadata={"world": "cats_dogs", "species": params.species},
    )


def exact_sweeps(
    params: Sequence[CatDogParams],
    property: str,  # noqa: A002 - the natural name for the intervened property
    n_steps: int = 21,
    *,
    size: int = 64,
    reverse: bool = False,
) -> np.ndarray:
    """Exact sweeps of one property over its whole range, one per sample.

    Parameters
    ----------
    params : sequence of CatDogParams
        The samples.
    property : {"fur_tone", "background"}
        The property swept from 0 to 1 in ``n_steps`` equal steps.
    n_steps : int, optional
        Steps per sweep.
    size : int, optional
        Image size in pixels.
    reverse : bool, optional
        Run every sweep from 1 down to 0 (e.g. light animals made dark).

    Returns
    -------
    ndarray
        uint8 images (M, N, size, size, 3).
    """
    if not params:
        raise ValueError("no samples to intervene on")
    sweeps = np.stack([intervene(p, property, n_steps, size=size).to_array() for p in params])
    return sweeps[:, ::-1] if reverse else sweeps


def partial_fur_sweep(
    params: CatDogParams, strength: float, n_steps: int = 21, *, size: int = 64
) -> np.ndarray:
    """An edit of varying strength: move the fur towards the far end of its range.

    The fur tone goes from the sample's own value a fraction ``strength`` of
    the way to the opposite end (1 for dark animals, 0 for light ones) in
    ``n_steps`` equal steps. Like a real image editor at fixed settings, it
    changes some animals a lot and others little, so a flip-prediction task
    has both outcomes.

    Parameters
    ----------
    params : CatDogParams
        The sample.
    strength : float
        Fraction of the way to the far end, in (0, 1].
    n_steps : int, optional
        Steps of the sweep.
    size : int, optional
        Image size in pixels.

    Returns
    -------
    ndarray
        uint8 images (N, size, size, 3), in the order of the edit.
    """
    if not 0.0 < float(strength) <= 1.0:
        raise ValueError(f"strength must lie in (0, 1], got {strength}")
    far = 1.0 if params.fur_tone < 0.5 else 0.0
    values = np.linspace(
        params.fur_tone, params.fur_tone + strength * (far - params.fur_tone), n_steps
    )
    images = intervene(params, "fur_tone", np.sort(values), size=size).to_array()
    return images if values[0] < values[-1] else images[::-1]
