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
