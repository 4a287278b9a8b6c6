"""The paper's image groups, built from toy-world test splits.

The paper intervenes on four groups of test images (dark cats, light dogs,
light cats, dark dogs; :data:`propgrad.datasets.cats_dogs.FUR_GROUPS`) and
compares flip predictions on a pool of clearly dark and clearly light animals.
These functions pick those images from the toy world's biased test splits and
render their exact interventions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from propgrad.datasets.cats_dogs import FUR_GROUPS
from propgrad.worlds.cats_dogs.interventions import exact_sweeps, partial_fur_sweep
from propgrad.worlds.cats_dogs.params import CatDogParams
from propgrad.worlds.cats_dogs.splits import CatDogSplit


def group_params(
    splits: Mapping[str, CatDogSplit], n_images: int | None = None, *, last: bool = False
) -> dict[str, list[CatDogParams]]:
    """Test samples of each fur group, taken from the split that holds the group.

    Parameters
    ----------
    splits : mapping
        Split name -> split (the biased "dark-cats" and "dark-dogs" are used).
    n_images : int, optional
        Samples per group (all by default).
    last : bool, optional
        Take the last ``n_images`` instead of the first (a disjoint pool).

    Returns
    -------
    dict
        Group -> samples, in the order of :data:`FUR_GROUPS`.
    """
    out = {}
    for group, (split, animal, _) in FUR_GROUPS.items():
        members = [p for p in splits[split].params_test if p.species == animal]
        if n_images is not None:
            members = members[-n_images:] if last else members[:n_images]
        out[group] = members
    return out


def group_sweeps(
    splits: Mapping[str, CatDogSplit], n_images: int, n_steps: int = 21, *, size: int = 64
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Exact fur and background sweeps of the first ``n_images`` of every group.

    Dark animals are swept towards light fur and light animals towards dark
    fur; the background always goes from dark to bright.

    Returns
    -------
    fur, background : dict
        Group -> uint8 sweeps (M, N, size, size, 3).
    """
    params = group_params(splits, n_images)
    fur = {
        g: exact_sweeps(ps, "fur_tone", n_steps, size=size, reverse=FUR_GROUPS[g][2] == "light")
        for g, ps in params.items()
    }
    background = {g: exact_sweeps(ps, "background", n_steps, size=size) for g, ps in params.items()}
    return fur, background


def flip_task_pool(
    splits: Mapping[str, CatDogSplit],
    n_per_class: int,
    n_steps: int = 21,
    *,
    size: int = 64,
    seed: int = 0,
    strength: tuple[float, float] = (0.2, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Fur edits of random strength for the flip-prediction task.

    Half of each class is dark and half light (the last samples of each group,
    disjoint from :func:`group_sweeps` for small ``n_images``); every sample's
    fur moves a random fraction (uniform in ``strength``) of the way to the far
    end of its range (:func:`~propgrad.worlds.cats_dogs.interventions.partial_fur_sweep`).

    Returns
    -------
    sweeps : ndarray
        uint8 (M, N, size, size, 3), M = 2 * n_per_class.
    labels : ndarray
        Class index of every sweep.
    """
    params = [p for ps in group_params(splits, n_per_class // 2, last=True).values() for p in ps]
    strengths = np.random.default_rng(seed).uniform(*strength, len(params))
    sweeps = np.stack(
        [partial_fur_sweep(p, k, n_steps, size=size) for p, k in zip(params, strengths)]
    )
    return sweeps, np.array([p.label for p in params])
