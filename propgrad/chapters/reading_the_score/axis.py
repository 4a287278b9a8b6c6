"""A measured property axis: toy validation and the authors' real sweep."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from propgrad.measured import gradient_per_unit, measure_property


def toy_validation(source: Any, n_images: int, n_steps: int) -> dict[str, float]:
    """How well the measured luminance tracks the true fur tone on exact toy sweeps.

    Parameters
    ----------
    source : ToyCatsDogs
        The Cats-vs-Dogs chapter's toy source (its four groups of sweeps).
    n_images, n_steps : int
        Animals per group and steps per sweep.

    Returns
    -------
    dict
        ``min_r`` and ``mean_r``: Pearson's r between measured and true fur
        tone over the sweeps; ``monotone``: the share of measured axes that
        are monotone.
    """
    fur, _ = source.group_sweeps(n_images, n_steps)
    tones = np.linspace(0.0, 1.0, n_steps)
    r, monotone = [], []
    for group, sweeps in fur.items():
        truth = tones[::-1] if "light" in group else tones
        for sweep in sweeps:
            m = measure_property(np.asarray(sweep))
            r.append(np.corrcoef(m.values, truth)[0, 1])
            monotone.append(m.monotone)
    return {"min_r": float(np.min(r)), "mean_r": float(np.mean(r)),
            "monotone": float(np.mean(monotone))}  # fmt: skip


def real_sweep(models: Mapping[str, Any], sweep: Any) -> dict[str, Any]:
    """The authors' sweep against the guidance scale and against the measured fur brightness.

    Parameters
    ----------
    models : mapping
        Model name -> classifier.
    sweep : Sweep
        The authors' fur sweep of dog_002 (photo first).

    Returns
    -------
    dict
        ``measured`` (the brightness per frame), ``monotone``, ``outputs``
        (model -> p(cat) per frame), and ``scores`` (model -> ``{"per_step",
        "per_unit"}``: E per step and per unit of measured brightness).
    """
    from propgrad.measure import expected_property_gradient
    from propgrad.prediction import predict

    measured = measure_property(sweep)
    outputs = {m: predict(model, sweep, softmax=True)[:, 0] for m, model in models.items()}
    scores = {}
    for m, p_cat in outputs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a non-monotone axis is reported as such
            per_unit = gradient_per_unit(p_cat, measured)
        scores[m] = {"per_step": expected_property_gradient(p_cat), "per_unit": float(per_unit)}
    return {"measured": measured.values, "monotone": measured.monotone, "outputs": outputs,
            "scores": scores, "mask": measured.mask}  # fmt: skip


__all__ = ["real_sweep", "toy_validation"]
