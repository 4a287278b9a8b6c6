"""The chapter's tables: results keyed by the paper's labels, recorded for the claims.

Each function takes what the chapter computed (the runs and trained models,
the patch interventions, the flip task), returns a table to display (a nested
dict row -> column -> value under the paper's labels,
:mod:`propgrad.chapters.skin_lesions.paper`, or a frame for our own tables)
and, when given the chapter's :class:`propgrad.record.Results`, records what
the claims read (:mod:`propgrad.chapters.skin_lesions.claims`): ``table10``,
``table3`` and ``table2_isic*`` in our own keys (architecture labels and the
variants ``unbiased``, ``biased``, ``imagenet``), as before. The notebook
only displays the tables beside the paper's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from propgrad.chapters.skin_lesions.models import accuracy_table
from propgrad.chapters.skin_lesions.paper import SPLIT_LABELS, VARIANT_LABELS, VARIANTS
from propgrad.worlds.skin_lesions import SPLITS


def part_counts(labels: Any, patched: Any) -> dict[str, int]:
    """Images of one part of a split: nevi, nevi with patches, melanomas.

    Parameters
    ----------
    labels : array-like of int
        0 for a nevus, 1 for a melanoma.
    patched : array-like of bool
        Whether each image carries colourful patches.

    Returns
    -------
    dict
        ``{"nevi": .., "of them with patches": .., "melanomas": ..}``.
    """
    y, patched = np.asarray(labels), np.asarray(patched, dtype=bool)
    return {
        "nevi": int(np.sum(y == 0)),
        "of them with patches": int(np.sum((y == 0) & patched)),
        "melanomas": int(np.sum(y == 1)),
    }


__all__ = [
    "accuracy_gap",
    "checks",
    "flipped_shares",
    "gradcam_layers",
    "pretraining",
    "stand_ins",
    "table10",
    "table2",
    "table3",
]

#: Row label of our "ImageNet" variant in Table 10 (the paper's table has no such rows).
IMAGENET_ROW = "ImageNet, head only"


def _record(results: Any, **values: Any) -> None:
    if results is not None:
        results.add(**values)


def stand_ins(
    runs: Mapping[str, Mapping[str, Any]], models: Mapping[str, Any], results: Any = None
) -> pd.DataFrame:
    """Which model stands in for which of the paper's, and how the runs train.

    Parameters
    ----------
    runs : mapping
        Label -> variant -> :class:`~propgrad.runs.TrainSpec`.
    models : mapping
        Label -> variant -> trained classifier.
    results : Results, optional
        Records ``models`` (label -> timm name and arguments), ``image_size``,
        ``train_settings`` (the fine-tunings') and ``head_settings`` (the
        ImageNet variant's head).

    Returns
    -------
    pandas.DataFrame
        Rows: the paper's labels; columns: the timm name, its arguments and
        the parameters (millions).
    """
    first = next(iter(runs.values()))
    frame = pd.DataFrame(
        {
            label: {
                "ours (timm)": v["unbiased"].arch,
                "arguments": ", ".join(f"{k}={a}" for k, a in v["unbiased"].model_kwargs.items()),
                "parameters (M)": sum(
                    p.numel() for p in models[label]["unbiased"].model.parameters()
                )
                / 1e6,
            }
            for label, v in runs.items()
        }
    ).T
    _record(
        results,
        models={
            label: {"timm": v["unbiased"].arch, "model_kwargs": dict(v["unbiased"].model_kwargs)}
            for label, v in runs.items()
        },
        image_size=first["unbiased"].image_size,
        train_settings=dict(first["unbiased"].settings),
        head_settings=dict(first["imagenet"].settings),
    )
    return frame


def pretraining(
    architectures: Mapping[str, Any],
    weights: Mapping[str, str],
    image_size: int,
    results: Any = None,
) -> pd.DataFrame:
    """What the stand-in pre-training taught each backbone (toy source only).

    Records ``pretraining``; see
    :func:`~propgrad.chapters.skin_lesions.toy.pretraining_report`.

    Returns
    -------
    pandas.DataFrame
        Label -> accuracy (%) at the 144 classes and at each factor.
    """
    from propgrad.chapters.skin_lesions.toy import pretraining_report

    learned = pretraining_report(architectures, weights, image_size)
    _record(results, pretraining=learned)
    return pd.DataFrame(learned).T


def table10(models: Mapping[str, Mapping[str, Any]], results: Any = None) -> dict:
    """The paper's Table 10 (test accuracy, %), with our ImageNet variant's rows added.

    Parameters
    ----------
    models : mapping
        Label -> variant -> trained classifier.
    results : Results, optional
        Records ``table10`` (``{training split: {label: {test split: %}}}``)
        and ``imagenet_accuracy`` (``{label: {test split: %}}``).

    Returns
    -------
    dict
        ``"<training data> / <architecture>"`` -> test data -> accuracy (%),
        the paper's labels; the ImageNet rows last.
    """
    accuracy = accuracy_table(models)
    table = {split: accuracy[split] for split in SPLITS}
    _record(results, table10=table, imagenet_accuracy=accuracy["imagenet"])
    ours = {
        f"{SPLIT_LABELS[s]} / {label}": {SPLIT_LABELS[t]: a for t, a in row.items()}
        for s, rows in table.items()
        for label, row in rows.items()
    }
    ours |= {
        f"{IMAGENET_ROW} / {label}": {SPLIT_LABELS[t]: a for t, a in row.items()}
        for label, row in accuracy["imagenet"].items()
    }
    return ours


def accuracy_gap(models: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Accuracy on the biased minus the unbiased test part, in points, per model.

    Returns
    -------
    pandas.DataFrame
        Rows: architectures; columns: ``biased model``, ``unbiased model``.
    """
    accuracy = accuracy_table(models)
    gap = {
        label: {
            f"{split} model": accuracy[split][label]["biased"] - accuracy[split][label]["unbiased"]
            for split in ("biased", "unbiased")
        }
        for label in models
    }
    return pd.DataFrame(gap).T


def table3(patches: Mapping[str, Any], results: Any = None) -> dict:
    """The paper's Table 3: E[|∇X|] of each variant's mean curve over the patch sweeps.

    Parameters
    ----------
    patches : mapping
        Label -> :class:`~propgrad.chapters.skin_lesions.interventions.PatchInterventions`.
    results : Results, optional
        Records ``table3`` (``{label: {variant: E}}``), the mean of the
        per-sweep scores (``table3_mean_per_sweep``), the share of sweeps
        that flip (``table3_flipped``) and whether the biased model's E
        exceeds the unbiased one's (``bias_recovered``).

    Returns
    -------
    dict
        Architecture -> the paper's column label -> E.
    """
    table = {
        label: {v: float(p.scores[v, "patches"].expected_property_gradient) for v in VARIANTS}
        for label, p in patches.items()
    }
    _record(
        results,
        table3=table,
        table3_mean_per_sweep={
            label: {v: p.scores[v, "patches"].mean_expected_property_gradient for v in VARIANTS}
            for label, p in patches.items()
        },
        table3_flipped={
            label: {v: p.scores[v, "patches"].fraction_flipped for v in VARIANTS}
            for label, p in patches.items()
        },
        bias_recovered={label: bool(r["biased"] > r["unbiased"]) for label, r in table.items()},
    )
    return {label: {VARIANT_LABELS[v]: e for v, e in row.items()} for label, row in table.items()}


def table2(flip: Any, results: Any = None) -> tuple[dict, dict]:
    """The paper's Table 2 (bottom): accuracy (%) at predicting a flip, mean and std.

    Parameters
    ----------
    flip : PatchFlipTask
        From :func:`~propgrad.chapters.skin_lesions.fliptask.patch_flip_task`.
    results : Results, optional
        Records ``table2_isic_by_architecture`` (and ``_std``), their means
        over the architectures ``table2_isic`` (and ``_std``), and
        ``flipped_fraction`` (label -> split -> share of sweeps that flip).

    Returns
    -------
    means, stds : dict
        Architecture -> the paper's method label -> accuracy (%).
    """
    from propgrad.baselines import METHOD_LABELS

    means = {label: {METHOD_LABELS[m]: a for m, a in r.items()} for label, r in flip.means.items()}
    stds = {label: {METHOD_LABELS[m]: a for m, a in r.items()} for label, r in flip.stds.items()}
    _record(
        results,
        table2_isic_by_architecture=means,
        table2_isic_by_architecture_std=stds,
        table2_isic=pd.DataFrame(means).T.mean().to_dict(),
        table2_isic_std=pd.DataFrame(stds).T.mean().to_dict(),
        flipped_fraction=flip.flipped,
    )
    return means, stds


def flipped_shares(flip: Any) -> pd.DataFrame:
    """Share of the flip task's sweeps whose prediction flips, by training data."""
    return pd.DataFrame(flip.flipped).T.rename(columns=VARIANT_LABELS)


def gradcam_layers(
    models: Mapping[str, Mapping[str, Any]],
    runs: Mapping[str, Mapping[str, Any]],
    results: Any = None,
) -> pd.DataFrame:
    """The map Guided Grad-CAM explains, per architecture.

    See :func:`propgrad.baselines.gradcam_layer`; records ``gradcam_layers``
    (label -> description).

    Returns
    -------
    pandas.DataFrame
        Columns ``stand-in`` (timm name) and ``Grad-CAM explains``.
    """
    from propgrad.baselines import gradcam_layer

    layers = {
        label: gradcam_layer(
            models[label]["biased"].model, input_size=runs[label]["biased"].image_size
        ).description
        for label in models
    }
    _record(results, gradcam_layers=layers)
    return pd.DataFrame(
        {"stand-in": {k: runs[k]["biased"].arch for k in layers}, "Grad-CAM explains": layers}
    )


def checks(patches: Mapping[str, Any], results: Any) -> pd.DataFrame:
    """The paper's five findings, checked on this run, per architecture.

    Reads ``table3``, ``table10`` and ``table2_isic_by_architecture`` from
    ``results`` (recorded by :func:`table3`, :func:`table10` and
    :func:`table2`) and records ``checks``.

    Parameters
    ----------
    patches : mapping
        Label -> patch interventions (for the biased mean curve's flips).
    results : Results
        The chapter's record.

    Returns
    -------
    pandas.DataFrame
        Rows: architectures; columns: the five findings (bool).
    """
    t3, t10, t2 = results["table3"], results["table10"], results["table2_isic_by_architecture"]
    best = {label: row["Ours"] >= max(row.values()) for label, row in t2.items()}
    found = {
        label: {
            "E: biased > unbiased": t3[label]["biased"] > t3[label]["unbiased"],
            "E: ImageNet > unbiased": t3[label]["imagenet"] > t3[label]["unbiased"],
            "shortcut pays": t10["biased"][label]["biased"] > t10["biased"][label]["unbiased"],
            "biased mean flips": patches[label].scores["biased", "patches"].flips > 0,
            "Ours best": best[label],
        }
        for label in patches
    }
    _record(results, checks=found)
    return pd.DataFrame(found).T
