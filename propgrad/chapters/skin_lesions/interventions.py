"""The chapter's patch intervention: the paper's design, its sweeps and their scores.

For every architecture, ``n_images`` test melanomas that its biased and its
unbiased model both classify correctly are drawn (:func:`intervention_design`),
each gets ``n_patches`` distinct patches from the data source's intervention
pool, every patch is alpha-blended in from 0 to 1 (the source's
``patch_sweep``; :func:`design_sweeps`), and the three variants are run along
all sweeps (:func:`patch_interventions`, cached predictions through
:func:`propgrad.scores.score_models`). :func:`local_curves` gives the
per-image curves of the paper's Fig. 22.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from propgrad.chapters.skin_lesions.models import TARGET
from propgrad.worlds.skin_lesions import CLASS_NAMES, SPLITS


def melanoma_probabilities(classifier: Any, images: np.ndarray) -> np.ndarray:
    """The classifier's melanoma probability for each image (e.g. the test melanomas), (n,)."""
    from propgrad.prediction import predict

    probabilities = predict(classifier, images, softmax=True, progress=False)
    return probabilities[:, CLASS_NAMES.index(TARGET)]


def intervention_design(
    p_melanoma: np.ndarray, n_images: int, n_patches: int, n_pool: int, seed: int = 0
) -> list[tuple[int, list[int]]]:
    """Draw the paper's design: correctly classified melanomas, distinct patches each.

    Melanomas qualify when every model classifies them correctly
    (``p_melanoma > 0.5``); ``n_images`` of them are drawn at random. Should
    fewer qualify (tiny models at the smoke profile), the remaining places
    go to the melanomas with the highest probability, with a warning.

    Parameters
    ----------
    p_melanoma : ndarray, shape (n,)
        The lowest melanoma probability any of the chosen models gives each
        test melanoma (the paper: the biased and the unbiased model).
    n_images, n_patches : int
        Melanomas and patches per melanoma (the paper: 10 and 5).
    n_pool : int
        Size of the patch pool.
    seed : int, optional
        Seed of both draws.

    Returns
    -------
    list of (int, list of int)
        Melanoma index and its patch indices, in drawing order.

    Raises
    ------
    ValueError
        If there are fewer test melanomas than ``n_images`` or fewer patches
        than ``n_patches``.
    """
    import warnings

    p = np.asarray(p_melanoma, dtype=float)
    if p.size < n_images:
        raise ValueError(f"only {p.size} test melanomas, fewer than n_images={n_images}")
    if n_pool < n_patches:
        raise ValueError(f"the patch pool has {n_pool} patches, fewer than n_patches={n_patches}")
    rng = np.random.default_rng([int(seed), 5])
    correct = np.flatnonzero(p > 0.5)
    if correct.size >= n_images:
        images = rng.choice(correct, size=int(n_images), replace=False)
    else:
        warnings.warn(
            f"only {correct.size} test melanomas are classified correctly by every model; "
            f"taking the {n_images - correct.size} most melanoma-like others as well",
            UserWarning,
            stacklevel=2,
        )
        others = [int(i) for i in np.argsort(-p, kind="stable") if p[i] <= 0.5]
        images = np.array([*correct, *others[: int(n_images) - correct.size]])
    return [
        (int(i), [int(k) for k in rng.choice(n_pool, size=int(n_patches), replace=False)])
        for i in images
    ]


def design_sweeps(
    data: Any,
    design: Sequence[tuple[int, Sequence[int]]],
    n_steps: int,
    seed: int = 0,
) -> list[list[Any]]:
    """The sweeps of a design: ``result[i][j]`` = image ``i`` with its ``j``-th patch."""
    return [
        [
            data.patch_sweep(image, patch, n_steps, seed=int(seed) + 1000 * image + j)
            for j, patch in enumerate(patches)
        ]
        for image, patches in design
    ]


class PatchInterventions(NamedTuple):
    """The patch interventions of one architecture and their scores.

    Attributes
    ----------
    design : list of (int, list of int)
        Melanoma index and its patch indices (:func:`intervention_design`).
    sweeps : list of list of Sweep
        ``sweeps[i][j]``: melanoma ``i`` with its ``j``-th patch.
    scores : propgrad.scores.Scores
        The three variants along all sweeps (one group, ``"patches"``).
    """

    design: list[tuple[int, list[int]]]
    sweeps: list[list[Any]]
    scores: Any


def patch_interventions(
    models: Mapping[str, Mapping[str, Any]],
    data: Any,
    *,
    n_images: int = 10,
    n_patches: int = 5,
    n_steps: int = 11,
    seed: int = 0,
    **score_options: Any,
) -> dict[str, PatchInterventions]:
    """The paper's patch interventions for every architecture, scored for all its variants.

    Per architecture, ``n_images`` test melanomas that its biased and its
    unbiased model classify correctly are drawn, each gets ``n_patches``
    distinct patches from the intervention pool, and the three variants are
    run along all sweeps (:func:`propgrad.score_models`, melanoma
    probability scored).

    Parameters
    ----------
    models : mapping
        Label -> variant -> trained classifier.
    data : ToyLesions or IsicLesions
        The data source.
    n_images, n_patches, n_steps : int, optional
        Melanomas, patches per melanoma, alpha steps.
    seed : int, optional
        Seed of the design, the patch placement and the shuffle tests.
    **score_options
        Passed to :func:`propgrad.score_models` (``n_permutations``,
        ``alpha``, ``progress``, ...).

    Returns
    -------
    dict
        Label -> :class:`PatchInterventions`.
    """
    from propgrad.scores import score_models

    melanomas = data.melanoma_images()  # read once for every model
    out = {}
    for label, variants in models.items():
        p = np.minimum(*(melanoma_probabilities(variants[s], melanomas) for s in SPLITS))
        design = intervention_design(p, n_images, n_patches, data.n_patches(), seed=seed)
        sweeps = design_sweeps(data, design, n_steps, seed=seed)
        flat = [s for row in sweeps for s in row]
        scores = score_models(
            dict(variants), {"patches": flat}, target=TARGET, seed=seed, **score_options
        )
        out[label] = PatchInterventions(design, sweeps, scores)
    return out


def local_curves(outputs: np.ndarray, n_patches: int, target: int = 1) -> np.ndarray:
    """Per-image curves: the scored output averaged over each image's patches.

    Parameters
    ----------
    outputs : ndarray, shape (n_images * n_patches, N, C)
        Outputs along the sweeps of a design, image by image.
    n_patches : int
        Patches per image.
    target : int, optional
        Output column (1 = melanoma).

    Returns
    -------
    ndarray, shape (n_images, N)
    """
    m, n, _ = outputs.shape
    return outputs[:, :, target].reshape(m // int(n_patches), int(n_patches), n).mean(axis=1)


__all__ = [
    "PatchInterventions",
    "design_sweeps",
    "intervention_design",
    "local_curves",
    "melanoma_probabilities",
    "patch_interventions",
]
