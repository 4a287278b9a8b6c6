"""Inputs of the "will this intervention flip the prediction?" task.

The paper compares E[|∇X|] with saliency methods on one task: from a score
computed for an image and its intervention, predict whether the model's
prediction flips along the intervention (Sec. 4.1, Table 2). For every sweep,
this module computes

* ``flipped``: whether the arg-max class changes anywhere along the sweep;
* ``ours``: E[|∇X|] of the explained output along the sweep;
* one score per attribution method: the mean squared difference between the
  attribution map of the first and of the last image of the sweep.

:func:`propgrad.baselines.flip_prediction_task` then turns these into
accuracies at the best threshold. Results are cached on disk per method, so an
interrupted run resumes with the methods it has not finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from propgrad.cache import cache_dir, config_key, write_npz_atomic
from propgrad.measure import expected_property_gradient, prediction_flips
from propgrad.predict import predict


@dataclass(frozen=True)
class FlipTaskScores:
    """Scores and ground truth for the flip-prediction task.

    Attributes
    ----------
    scores : dict of str to ndarray
        ``"ours"`` (E[|∇X|]) and one entry per attribution method, each (M,).
    flipped : ndarray of bool
        Whether the prediction flips along each of the M sweeps.
    outputs : ndarray
        Model outputs along every sweep, shape (M, N, C).
    """

    scores: dict[str, np.ndarray]
    flipped: np.ndarray
    outputs: np.ndarray


def flip_task_scores(
    model: Any,
    sweeps: Sequence[Any],
    preprocess: Callable[[Any], Any],
    *,
    target: int = 0,
    methods: Sequence[str] | None = None,
    n_samples: int | None = None,
    mean: float | Sequence[float] = 0.5,
    std: float | Sequence[float] = 0.5,
    seed: int = 0,
    chunk: int = 16,
    cache_config: dict[str, Any] | None = None,
    progress: bool = True,
) -> FlipTaskScores:
    """Compute E[|∇X|], attribution changes and flips for many sweeps.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier returning logits (B, C); explained at output ``target``.
    sweeps : sequence of Sweep
        One intervention per image, all of the same length N.
    preprocess : callable
        One image -> (3, H, W) tensor.
    target : int, optional
        Output index whose probability (softmax) is scored and whose logit is
        attributed (0 = cat for the Cats-vs-Dogs models).
    methods : sequence of str, optional
        Attribution methods (default: all of :data:`propgrad.baselines.METHODS`).
    n_samples : int, optional
        Perturbation samples for LIME and Kernel SHAP (see
        :func:`propgrad.baselines.attribute`).
    mean, std : float or sequence of float, optional
        The normalisation inside ``preprocess`` (needed to compute superpixels
        and the grey occlusion value on the original image).
    seed : int, optional
        Seed of the sampling-based attributions.
    chunk : int, optional
        Images per attribution batch.
    cache_config : dict, optional
        Settings that identify this computation (model, data, intervention).
        When given, results are stored under the cache folder ``fliptask/`` and
        reused, per method.
    progress : bool, optional
        Show progress bars.

    Returns
    -------
    FlipTaskScores

    Raises
    ------
    ValueError
        If there are no sweeps or they differ in length.
    """
    import torch

    from propgrad.baselines import METHODS, attribution_change

    methods = list(METHODS if methods is None else methods)
    if not sweeps:
        raise ValueError("no sweeps given")
    lengths = {len(s) for s in sweeps}
    if len(lengths) != 1:
        raise ValueError(f"all sweeps must have the same length, got {sorted(lengths)}")
    folder = None
    if cache_config is not None:
        settings = {
            "config": cache_config,
            "target": target,
            "n_samples": n_samples,
            "seed": seed,
            "n_sweeps": len(sweeps),
            "length": lengths.pop(),
        }
        folder = cache_dir("fliptask", config_key(settings))
        folder.mkdir(parents=True, exist_ok=True)

    def cached(name: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        path = None if folder is None else folder / f"{name}.npz"
        if path is not None and path.exists():
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        arrays = compute()
        if path is not None:
            write_npz_atomic(path, **arrays)
        return arrays

    def outputs_along_sweeps() -> dict[str, np.ndarray]:
        iterator = sweeps
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(sweeps, desc="outputs along sweeps", disable=None)
        return {
            "outputs": np.stack([predict(model, s, preprocess, softmax=True) for s in iterator])
        }

    outputs = cached("outputs", outputs_along_sweeps)["outputs"]
    scores = {"ours": np.asarray(expected_property_gradient(outputs[:, :, target].T))}
    flipped = np.array([prediction_flips(o) > 0 for o in outputs])

    before = torch.stack([preprocess(s[0]) for s in sweeps]).float()
    after = torch.stack([preprocess(s[-1]) for s in sweeps]).float()
    model.eval()
    for method in methods:

        def change(method: str = method) -> dict[str, np.ndarray]:
            parts = []
            starts = range(0, len(before), chunk)
            if progress:
                from tqdm.auto import tqdm

                starts = tqdm(starts, desc=method, disable=None)
            for i in starts:
                parts.append(
                    attribution_change(
                        model,
                        before[i : i + chunk],
                        after[i : i + chunk],
                        method,
                        target,
                        seed=seed,
                        n_samples=n_samples,
                        mean=mean,
                        std=std,
                    )
                )
            return {"score": np.concatenate(parts)}

        scores[method] = cached(method, change)["score"]
    return FlipTaskScores(scores=scores, flipped=flipped, outputs=outputs)
