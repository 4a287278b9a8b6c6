"""The chapter's flip-prediction task (Table 2, bottom): predicting flips by a blended patch.

Every melanoma of a design (:func:`flip_design`: the first test melanomas,
one random intervention patch each) is swept, and each biased and unbiased
model scores the sweeps with E[|∇X|] and the six saliency methods
(:func:`flip_scores`, one cached, resumable task per model, so the scoring
runs here, in a process pool or on Dask). :func:`patch_flip_task` then takes
each score's best-threshold accuracy per resample and averages the biased
and the unbiased model of every architecture, as the paper does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from propgrad.chapters.skin_lesions.interventions import design_sweeps
from propgrad.chapters.skin_lesions.models import TARGET, lesion_source
from propgrad.runs import TrainSpec
from propgrad.worlds.skin_lesions import CLASS_NAMES, SPLITS


def flip_design(data: Any, n_images: int, seed: int = 0) -> list[tuple[int, list[int]]]:
    """The first ``n_images`` test melanomas, each with one random intervention patch.

    Parameters
    ----------
    data : ToyLesions or IsicLesions
        The data source.
    n_images : int
        Melanomas (at most the source's test melanomas).
    seed : int, optional
        Seed of the patch choice.

    Returns
    -------
    list of (int, list of int)
        Melanoma index and its one patch index.
    """
    n = min(int(n_images), data.n_test_melanomas())
    rng = np.random.default_rng([int(seed), 9])
    return [(i, [int(rng.integers(data.n_patches()))]) for i in range(n)]


@dataclass(frozen=True)
class FlipScoresJob:
    """One model's share of the flip task (the argument of :func:`flip_scores`).

    Attributes
    ----------
    run : TrainSpec
        The model's training run (from
        :func:`~propgrad.chapters.skin_lesions.models.lesion_runs`); its data
        name the source the sweeps come from.
    design : tuple
        From :func:`flip_design`.
    n_steps : int
        Alpha steps of every sweep.
    n_samples : int or None
        LIME / Kernel SHAP samples (``None``: captum's default).
    seed : int
        Seed of the patch placement and the attributions.
    progress : bool
        Progress bars.
    """

    run: TrainSpec
    design: tuple[tuple[int, tuple[int, ...]], ...]
    n_steps: int
    n_samples: int | None = None
    seed: int = 0
    progress: bool = True


def flip_scores(job: FlipScoresJob) -> dict[str, Any]:
    """Task: the flip-task scores of one model (attributions cached and resumable).

    Parameters
    ----------
    job : FlipScoresJob
        The model and the sweeps.

    Returns
    -------
    dict
        ``scores`` (method -> (M,) array), ``flipped`` ((M,) bool).
    """
    from propgrad.baselines import flip_task_scores
    from propgrad.runs import fit_spec

    classifier = fit_spec(job.run)
    data = lesion_source(job.run.data["source"])
    sweeps = [row[0] for row in design_sweeps(data, job.design, job.n_steps, seed=job.seed)]
    result = flip_task_scores(
        classifier,
        sweeps,
        target=CLASS_NAMES.index(TARGET),
        n_samples=job.n_samples,
        seed=job.seed,
        progress=job.progress,
    )
    return {"scores": result.scores, "flipped": result.flipped}


@dataclass(frozen=True)
class PatchFlipTask:
    """The flip task of every architecture: accuracies and how often the models flip.

    Attributes
    ----------
    means, stds : dict
        Label -> method key (``"ours"`` and :data:`propgrad.baselines.METHODS`)
        -> accuracy in % (mean and standard deviation over the resamples of
        the two models' average).
    flipped : dict
        Label -> split -> fraction of sweeps whose prediction flips.
    n_sweeps : int
        Sweeps scored per model.
    """

    means: dict[str, dict[str, float]]
    stds: dict[str, dict[str, float]]
    flipped: dict[str, dict[str, float]]
    n_sweeps: int


def patch_flip_task(
    runs: Mapping[str, Mapping[str, TrainSpec]],
    design: Sequence[tuple[int, Sequence[int]]],
    n_steps: int,
    *,
    n_per_resample: int = 100,
    n_resamples: int = 10,
    n_samples: int | None = None,
    seed: int = 0,
    cluster: Any = None,
    max_workers: int = 1,
    progress: bool = True,
) -> PatchFlipTask:
    """Table 2 (bottom): accuracy at predicting a flip, averaged over biased and unbiased training.

    Every biased and unbiased model is scored on the same sweeps (one patch
    blended into each melanoma of ``design``). Per model and resample, each
    score's best-threshold accuracy is taken
    (:func:`propgrad.baselines.flip_prediction_task`, ``n_per_resample``
    melanomas drawn with replacement, the same draws for every method and
    model); the two models' accuracies are averaged per resample, and mean and
    standard deviation are taken over the resamples.

    Parameters
    ----------
    runs : mapping
        Label -> variant -> training run
        (:func:`~propgrad.chapters.skin_lesions.models.lesion_runs`).
    design : sequence
        From :func:`flip_design`.
    n_steps : int
        Alpha steps of every sweep.
    n_per_resample, n_resamples : int, optional
        Images per resample and number of resamples (the paper: 100 and 10).
    n_samples : int, optional
        LIME / Kernel SHAP samples (``None``: captum's default).
    seed : int, optional
        Seed of the attributions and the resamples.
    cluster, max_workers, progress
        Where to run the scoring tasks (:func:`propgrad.tasks.run_tasks`).

    Returns
    -------
    PatchFlipTask
    """
    from propgrad.baselines import flip_prediction_task
    from propgrad.tasks import run_tasks

    keys = [(label, split) for label in runs for split in SPLITS]
    frozen = tuple((int(i), tuple(int(k) for k in ks)) for i, ks in design)
    jobs = [
        FlipScoresJob(runs[label][split], frozen, int(n_steps), n_samples, int(seed), progress)
        for label, split in keys
    ]
    scored = run_tasks(
        flip_scores,
        jobs,
        cluster=cluster,
        max_workers=max_workers,
        progress=progress,
        desc="flip-task scores",
    )
    by_key = dict(zip(keys, scored, strict=True))
    means: dict[str, dict[str, float]] = {}
    stds: dict[str, dict[str, float]] = {}
    flipped: dict[str, dict[str, float]] = {}
    for label in runs:
        per_split = {
            split: flip_prediction_task(
                by_key[label, split]["scores"],
                by_key[label, split]["flipped"],
                None,
                n_per_class=int(n_per_resample),
                n_resamples=int(n_resamples),
                seed=int(seed),
                replace=True,
            )
            for split in SPLITS
        }
        methods = list(per_split[SPLITS[0]])
        averaged = {
            m: np.mean([per_split[s][m].accuracies for s in SPLITS], axis=0) for m in methods
        }
        means[label] = {m: 100.0 * float(a.mean()) for m, a in averaged.items()}
        stds[label] = {m: 100.0 * float(a.std()) for m, a in averaged.items()}
        flipped[label] = {s: float(np.mean(by_key[label, s]["flipped"])) for s in SPLITS}
    return PatchFlipTask(means, stds, flipped, len(frozen))


__all__ = ["FlipScoresJob", "PatchFlipTask", "flip_design", "flip_scores", "patch_flip_task"]
