"""The paper's test for local explanations: "will this intervention flip the prediction?".

The paper compares E[|∇X|] with saliency methods on one task (Sec. 4.1 and
4.2, Table 2): from a score computed for an image and its intervention,
predict whether the model's prediction flips along the intervention. This
module has both halves:

* :func:`flip_task_scores` computes, for every sweep, whether the prediction
  flips (the arg-max class changes: :func:`propgrad.scores.flip_counts`, the
  one definition), E[|∇X|] of the explained output along the sweep (from
  :func:`propgrad.prediction.predict_sweeps`, the one prediction path) and, per
  attribution method, the mean squared change of its map between the first
  and the last image of the sweep
  (:func:`propgrad.baselines.attributions.attribution_change`). The
  attribution scores are cached per method, keyed by the classifier's identity
  and the content of the sweeps' end frames, and resume after an interruption
  (chunk by chunk).
* :func:`flip_prediction_task` turns every score into a yes/no prediction of
  "the decision flips" with the threshold that maximises accuracy
  (:func:`best_threshold_accuracy`), on class-balanced resamples of the images
  (the paper: 150 images per class, ten resamples).

The statistics work on plain arrays; torch and captum are only imported by
:func:`flip_task_scores`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

__all__ = [
    "FlipTaskResult",
    "FlipTaskScores",
    "best_threshold_accuracy",
    "flip_prediction_task",
    "flip_task_scores",
    "TABLE2_COLUMNS",
]

#: The column labels of the paper's Table 2 (both halves), ours first; equal to
#: :data:`~propgrad.baselines.attributions.METHOD_LABELS` in the order
#: ``("ours", *METHODS)``.
TABLE2_COLUMNS = ("Ours", "G-CAM", "Int. Grad.", "Occlusion", "LIME", "K-SHAP", "DeepLift")


# ---------------------------------------------------------------------------
# the statistics: best threshold, class-balanced resamples


def _validate_scores_flipped(scores: Any, flipped: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    f = np.asarray(flipped)
    if s.ndim != 1 or f.ndim != 1:
        raise ValueError(f"scores and flipped must be 1-D, got shapes {s.shape} and {f.shape}")
    if s.size != f.size:
        raise ValueError(f"scores ({s.size}) and flipped ({f.size}) differ in length")
    if s.size == 0:
        raise ValueError("scores is empty")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or inf values")
    if f.dtype != bool:
        if not np.all(np.isin(f, (0, 1))):
            raise ValueError("flipped must be boolean or contain only 0 and 1")
        f = f.astype(bool)
    return s, f


def best_threshold_accuracy(scores: Any, flipped: Any) -> tuple[float, float]:
    """Best accuracy of the rule "the prediction flips when score > threshold".

    Parameters
    ----------
    scores : array_like, shape (n,)
        One score per image; larger means "more likely to flip".
    flipped : array_like of bool or {0, 1}, shape (n,)
        Whether the model's decision actually flipped under the intervention.

    Returns
    -------
    accuracy : float
        Fraction of images classified correctly at the best threshold, in [0, 1].
    threshold : float
        That threshold. Candidates are -inf (everything predicted to flip), the
        midpoints between consecutive distinct scores, and +inf (nothing
        flips), so predicting a single class is always an option. Ties go to
        the smallest threshold.

    Raises
    ------
    ValueError
        For empty, non-finite, mismatched or non-binary inputs.

    Notes
    -----
    O(n log n): one sort, then cumulative counts of non-flips and flips at or
    below each distinct score.
    """
    s, f = _validate_scores_flipped(scores, flipped)
    order = np.argsort(s, kind="stable")
    s_sorted, f_sorted = s[order], f[order]
    uniq, start = np.unique(s_sorted, return_index=True)
    end = np.append(start[1:], s.size)  # group of each distinct value: [start, end)
    neg_le = np.cumsum(~f_sorted)[end - 1]  # non-flips with score <= uniq[j]
    pos_le = np.cumsum(f_sorted)[end - 1]  # flips with score <= uniq[j]
    n_pos = int(f.sum())
    # candidate j = -1 is threshold -inf; candidate j means "threshold just above uniq[j]"
    correct = np.concatenate(([n_pos], neg_le + (n_pos - pos_le)))
    best = int(np.argmax(correct))
    if best == 0:
        threshold = -math.inf
    elif best == uniq.size:
        threshold = math.inf
    else:
        threshold = float((uniq[best - 1] + uniq[best]) / 2.0)
    return float(correct[best] / s.size), threshold


class FlipTaskResult(NamedTuple):
    """Accuracy of one score on the flip-prediction task over the resamples.

    Attributes
    ----------
    mean : float
        Mean best-threshold accuracy over the resamples (a fraction in [0, 1]).
    std : float
        Standard deviation over the resamples (``ddof`` as requested).
    accuracies : ndarray, shape (n_resamples,)
        Best-threshold accuracy of each resample.
    thresholds : ndarray, shape (n_resamples,)
        The threshold chosen in each resample.
    """

    mean: float
    std: float
    accuracies: np.ndarray
    thresholds: np.ndarray


def _resample_indices(
    labels: np.ndarray,
    n_per_class: int,
    n_resamples: int,
    rng: np.random.Generator,
    replace: bool,
    shortfall: str,
) -> list[np.ndarray]:
    classes = np.unique(labels)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    draw_replace = {}
    for c in classes:
        n_c = members[c].size
        if replace or n_c >= n_per_class:
            draw_replace[c] = replace
            continue
        if shortfall == "raise":
            raise ValueError(f"class {c!r} has {n_c} images, fewer than n_per_class={n_per_class}")
        if shortfall == "replace":
            warnings.warn(
                f"class {c!r} has {n_c} images < n_per_class={n_per_class}; drawing "
                f"{n_per_class} with replacement",
                UserWarning,
                stacklevel=3,
            )
            draw_replace[c] = True
        else:
            warnings.warn(
                f"class {c!r} has {n_c} images < n_per_class={n_per_class}; using all "
                f"{n_c} of them in every resample",
                UserWarning,
                stacklevel=3,
            )
            draw_replace[c] = False
    draws = []
    for _ in range(n_resamples):
        parts = []
        for c in classes:
            idx = members[c]
            k = n_per_class if draw_replace[c] else min(n_per_class, idx.size)
            parts.append(rng.choice(idx, size=k, replace=draw_replace[c]))
        draws.append(np.concatenate(parts))
    return draws


def flip_prediction_task(
    scores: Mapping[str, Any],
    flipped: Any,
    labels: Any = None,
    *,
    n_per_class: int = 150,
    n_resamples: int = 10,
    seed: int | None = 0,
    replace: bool = False,
    shortfall: Literal["cap", "replace", "raise"] = "cap",
    ddof: int = 0,
) -> dict[str, FlipTaskResult]:
    """Evaluate scores at predicting whether an intervention flips the decision.

    For each resample, ``n_per_class`` images are drawn per class label; each
    score then gets its best-threshold accuracy (:func:`best_threshold_accuracy`)
    for predicting ``flipped`` on that sample. The same drawn indices are used
    for every score, so the methods are compared on identical images.

    Parameters
    ----------
    scores : mapping of str to array_like, shape (n,)
        One score array per method, e.g. ``{"ours": e_grad, "lime": ...}`` with
        E[|∇X|] under ``"ours"`` and attribution changes under the names of
        :data:`propgrad.baselines.attributions.METHODS`, as in
        :attr:`FlipTaskScores.scores`.
    flipped : array_like of bool or {0, 1}, shape (n,)
        Whether each image's predicted class changed under the intervention.
    labels : array_like, shape (n,), optional
        Class label of each image (cat/dog) used for the class-balanced draw.
        ``None`` treats all images as one class (e.g. the ISIC melanoma set).
    n_per_class : int, optional
        Images drawn per class and resample (the paper: 150 for Cats vs. Dogs).
    n_resamples : int, optional
        Number of resamples (the paper: 10).
    seed : int or None, optional
        Seed of the ``numpy.random.default_rng`` that draws the samples.
    replace : bool, optional
        Draw with replacement (a bootstrap) for every class. Default ``False``:
        each resample is a subset of distinct images.
    shortfall : {"cap", "replace", "raise"}, optional
        What to do, without ``replace``, when a class has fewer than
        ``n_per_class`` images: ``"cap"`` (default) uses all of its images in
        every resample, ``"replace"`` draws ``n_per_class`` with replacement for
        that class, ``"raise"`` raises. The first two warn.
    ddof : int, optional
        Delta degrees of freedom of the standard deviation over resamples;
        default 0 (``numpy.std``'s default, the population formula).

    Returns
    -------
    dict of str to FlipTaskResult
        Per score name, in the input order: mean and std of the accuracy as
        fractions in [0, 1], plus the per-resample accuracies and thresholds.

    Raises
    ------
    ValueError
        For empty ``scores``, mismatched lengths, non-binary ``flipped``,
        non-finite scores, ``n_per_class`` or ``n_resamples`` below 1, or an
        unknown ``shortfall``.
    """
    if not scores:
        raise ValueError("scores is empty: give at least one method")
    if n_per_class < 1 or n_resamples < 1:
        raise ValueError("n_per_class and n_resamples must be at least 1")
    if shortfall not in ("cap", "replace", "raise"):
        raise ValueError(f"shortfall must be 'cap', 'replace' or 'raise', got {shortfall!r}")
    arrays = {}
    f = None
    for name, values in scores.items():
        s, f = _validate_scores_flipped(values, flipped)
        arrays[name] = s
    n = f.size
    lab = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {lab.shape}")
    rng = np.random.default_rng(seed)
    draws = _resample_indices(lab, int(n_per_class), int(n_resamples), rng, replace, shortfall)
    results = {}
    for name, s in arrays.items():
        acc = np.empty(n_resamples)
        thr = np.empty(n_resamples)
        for r, idx in enumerate(draws):
            acc[r], thr[r] = best_threshold_accuracy(s[idx], f[idx])
        results[name] = FlipTaskResult(
            float(acc.mean()),
            float(acc.std(ddof=ddof)) if n_resamples > ddof else math.nan,
            acc,
            thr,
        )
    return results


# ---------------------------------------------------------------------------
# the scores: E[|∇X|], attribution changes and flips along many sweeps


@dataclass(frozen=True)
class FlipTaskScores:
    """Scores and ground truth of the flip-prediction task for M sweeps.

    Attributes
    ----------
    scores : dict of str to ndarray
        ``"ours"`` (E[|∇X|] of the explained output) and one entry per
        attribution method (the mean squared change of its map), each (M,).
    flips : ndarray of int, shape (M,)
        Prediction flips (arg-max changes) along each sweep,
        :func:`propgrad.scores.flip_counts` of ``outputs``.
    outputs : ndarray, shape (M, N, C)
        Softmax outputs along every sweep.
    """

    scores: dict[str, np.ndarray]
    flips: np.ndarray
    outputs: np.ndarray

    @property
    def flipped(self) -> np.ndarray:
        """Whether the prediction flips anywhere along each sweep, (M,) bool."""
        return self.flips > 0


def _end_frames(sweeps: Any, start: int, stop: int) -> list[tuple[Any, Any]]:
    """(first, last) image of the sweeps ``start:stop``."""
    return [(sweeps[i][0], sweeps[i][-1]) for i in range(start, stop)]


def _model_inputs(images: Sequence[Any], preprocess: Any) -> Any:
    import torch

    if all(isinstance(im, np.ndarray) for im in images):
        return preprocess.batch(np.stack(images))
    return torch.stack([preprocess(im) for im in images]).float()


def _attribution_folder(
    model: Any, net: Any, preprocess: Any, given: Any, sweeps: Any, settings: dict[str, Any]
) -> Path | None:
    from propgrad.cache import cache_dir, config_key
    from propgrad.models.classifier import Classifier, model_identity
    from propgrad.prediction import sweeps_digest

    if isinstance(model, Classifier) and given is None:
        identity = model.identity
    elif hasattr(net, "state_dict"):
        identity = model_identity(net)
    else:
        return None
    m = len(sweeps)
    ends = sweeps[:, [0, -1]] if isinstance(sweeps, np.ndarray) else _end_frames(sweeps, 0, m)
    key = config_key(
        {
            "model": identity,
            "preprocess": preprocess.to_dict(),
            "end_frames": sweeps_digest(ends),
            **settings,
        }
    )
    return cache_dir("fliptask", key)


def _load(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    with np.load(path) as data:
        return data["score"]


def flip_task_scores(
    model: Any,
    sweeps: Any,
    preprocess: Any = None,
    *,
    target: int = 0,
    methods: Sequence[str] | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    chunk: int = 16,
    batch_size: int = 64,
    device: str | None = None,
    cache: bool = True,
    progress: bool = True,
) -> FlipTaskScores:
    """Compute flips, E[|∇X|] and attribution changes for many sweeps.

    Parameters
    ----------
    model : Classifier or torch.nn.Module
        A :class:`~propgrad.models.Classifier`, or a module returning logits
        (B, C) together with ``preprocess``. Explained at output ``target``.
    sweeps : ndarray or sequence
        M interventions of equal length N, one per image: a uint8 array
        (M, N, H, W, 3) or a sequence of :class:`~propgrad.sweep.Sweep` (or
        (N, H, W, 3) arrays). The attribution methods compare the first and
        the last image of each sweep.
    preprocess : Preprocess, optional
        The model's preprocessing (default: the classifier's own). Needed to
        know the normalisation that Occlusion's grey patch and the SLIC
        superpixels undo.
    target : int, optional
        Output index whose softmax probability is scored by E[|∇X|] and whose
        logit is attributed (0 = cat for the Cats-vs-Dogs models).
    methods : sequence of str, optional
        Attribution methods (default: all of
        :data:`propgrad.baselines.attributions.METHODS`).
    n_samples : int, optional
        Perturbation samples for LIME and Kernel SHAP (see
        :func:`propgrad.baselines.attributions.attribute`).
    seed : int, optional
        Seed of the sampling-based attributions; sweep ``i`` uses ``seed + i``
        for both of its maps, whatever the chunking.
    chunk : int, optional
        Sweeps per attribution batch (and per resumable piece of the cache).
    batch_size : int, optional
        Images per forward pass when predicting along the sweeps.
    device : str, optional
        Torch device for the predictions (attributions run where the model is).
    cache : bool, optional
        Reuse results: the outputs through
        :func:`~propgrad.prediction.predict_sweeps`, the attribution scores per
        method under the cache folder ``fliptask/``, keyed by the classifier's
        identity (:attr:`~propgrad.models.Classifier.identity`, or a hash of a
        module's weights), the preprocessing, the content of the end frames
        and the settings (``target``, ``n_samples``, ``seed``). Every chunk is
        written as it finishes, so an interrupted run resumes there.
    progress : bool, optional
        Show progress bars (on a terminal).

    Returns
    -------
    FlipTaskScores

    Raises
    ------
    ValueError
        If there are no sweeps, they differ in length, ``target`` is out of
        range, a method is unknown, or the preprocessing is not a
        :class:`~propgrad.models.Preprocess`.
    """
    from propgrad.baselines._checks import validate_preprocess
    from propgrad.baselines.attributions import (
        METHODS,
        _setup_once,
        _validate_method,
        attribution_change,
    )
    from propgrad.cache import write_npz_atomic
    from propgrad.measure import expected_property_gradient
    from propgrad.models.classifier import split_model
    from propgrad.prediction import predict_sweeps, sweep_length
    from propgrad.scores import flip_counts

    methods = [_validate_method(m) for m in (METHODS if methods is None else methods)]
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    sweep_length(sweeps)  # at least one sweep, all of one length
    m = len(sweeps)
    net, pre = split_model(model, preprocess)
    validate_preprocess(pre, "the flip task")
    outputs = predict_sweeps(
        model,
        sweeps,
        preprocess,
        softmax=True,
        batch_size=batch_size,
        device=device,
        cache=cache,
        progress=progress,
        desc="outputs along sweeps",
    )
    n_outputs = outputs.shape[2]
    if not -n_outputs <= int(target) < n_outputs:
        raise ValueError(f"target {target} is out of range for {n_outputs} outputs")
    target = int(target) % n_outputs
    scores = {"ours": np.atleast_1d(expected_property_gradient(outputs[:, :, target].T))}
    flips = flip_counts(outputs)

    settings = {"target": target, "n_samples": n_samples, "seed": int(seed)}
    folder = _attribution_folder(model, net, pre, preprocess, sweeps, settings) if cache else None
    net.eval()
    param = next(net.parameters(), None)
    where = param.device if param is not None else "cpu"
    # the model's copy without in-place activations and its Grad-CAM layer are made
    # once for all methods and chunks, not per chunk (the weights do not change here)
    with _setup_once():
        for method in methods:
            final = None if folder is None else folder / f"{method}.npz"
            done = None if final is None else _load(final)
            if done is not None:
                scores[method] = done
                continue
            starts = range(0, m, chunk)
            if progress:
                from tqdm.auto import tqdm

                starts = tqdm(starts, desc=method, disable=None)
            parts, part_files = [], []
            for start in starts:
                stop = min(start + chunk, m)
                part = None if folder is None else folder / f"{method}.{start}-{stop}.npz"
                score = None if part is None else _load(part)
                if score is None:
                    ends = _end_frames(sweeps, start, stop)
                    before = _model_inputs([b for b, _ in ends], pre).to(where)
                    after = _model_inputs([a for _, a in ends], pre).to(where)
                    score = attribution_change(
                        net,
                        before,
                        after,
                        method,
                        target,
                        preprocess=pre,
                        seed=int(seed) + start,
                        n_samples=n_samples,
                    )
                    if part is not None:
                        write_npz_atomic(part, score=score)
                parts.append(score)
                part_files.append(part)
            scores[method] = np.concatenate(parts)
            if final is not None:
                write_npz_atomic(final, score=scores[method])
                for path in part_files:
                    path.unlink(missing_ok=True)
    return FlipTaskScores(scores=scores, flips=flips, outputs=outputs)


@dataclass(frozen=True)
class FlipTask:
    """The flip-prediction task for one model: its scores and the accuracies per method.

    Attributes
    ----------
    scores : FlipTaskScores
        Flips, E[|∇X|] and attribution changes of every sweep.
    results : dict of str to FlipTaskResult
        Method -> best-threshold accuracy over the resamples (fractions).
    """

    scores: FlipTaskScores
    results: dict[str, FlipTaskResult]

    @property
    def flipped_fraction(self) -> float:
        """Share of the sweeps whose prediction flips."""
        return float(self.scores.flipped.mean())


def flip_task(
    model: Any,
    sweeps: Any,
    labels: Any = None,
    *,
    target: int = 0,
    methods: Sequence[str] | None = None,
    n_samples: int | None = None,
    n_per_class: int = 150,
    n_resamples: int = 10,
    replace: bool = False,
    seed: int = 0,
    progress: bool = False,
    **options: Any,
) -> FlipTask:
    """Score the sweeps and evaluate every score at predicting flips, in one call.

    :func:`flip_task_scores` followed by :func:`flip_prediction_task` with the
    same seed.

    Parameters
    ----------
    model, sweeps, target, methods, n_samples, seed, progress
        As for :func:`flip_task_scores`.
    labels, n_per_class, n_resamples, replace
        As for :func:`flip_prediction_task` (``labels``: class of each image
        for class-balanced resamples, ``None`` for one class).
    **options
        More arguments of :func:`flip_task_scores` (``preprocess``,
        ``batch_size``, ``cache``, ...).

    Returns
    -------
    FlipTask
    """
    scores = flip_task_scores(
        model,
        sweeps,
        target=target,
        methods=methods,
        n_samples=n_samples,
        seed=seed,
        progress=progress,
        **options,
    )
    results = flip_prediction_task(
        scores.scores,
        scores.flipped,
        labels,
        n_per_class=n_per_class,
        n_resamples=n_resamples,
        seed=seed,
        replace=replace,
    )
    return FlipTask(scores, results)


def flip_task_table(
    tasks: Mapping[str, FlipTask | Mapping[str, FlipTaskResult]],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Table 2's layout: accuracy (%) per row and method, as means and standard deviations.

    Parameters
    ----------
    tasks : mapping
        Row label (e.g. the paper's model name) -> :class:`FlipTask` or its
        ``results``.

    Returns
    -------
    means, stds : dict
        Row -> method label (the paper's column labels,
        :data:`~propgrad.baselines.attributions.METHOD_LABELS`) -> percent.
    """
    from propgrad.baselines.attributions import METHOD_LABELS

    means: dict[str, dict[str, float]] = {}
    stds: dict[str, dict[str, float]] = {}
    for row, task in tasks.items():
        results = task.results if isinstance(task, FlipTask) else task
        means[row] = {METHOD_LABELS.get(k, k): 100.0 * r.mean for k, r in results.items()}
        stds[row] = {METHOD_LABELS.get(k, k): 100.0 * r.std for k, r in results.items()}
    return means, stds
