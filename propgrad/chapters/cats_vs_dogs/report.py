"""The chapter's tables: scores keyed by the paper's labels, recorded as ``tableN``.

Each function takes the chapter's scores (:class:`propgrad.scores.Scores`) or
numbers, returns the table as a nested dict row -> column -> value with the
paper's row and column labels (:mod:`propgrad.chapters.cats_vs_dogs.paper`),
and records it in the chapter's :class:`propgrad.record.Results` when one is
given. The notebook then only displays it beside the paper's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from propgrad.chapters.cats_vs_dogs import paper
from propgrad.measure import expected_property_gradient
from propgrad.worlds.cats_dogs import SPLITS

__all__ = [
    "all_images",
    "authors_sweep",
    "sweep_conventions",
    "table1",
    "table4",
    "table5",
    "ten_images",
]


def _record(results: Any, name: str, table: Any) -> Any:
    if results is not None:
        results.add_table(name, table)
    return table


def authors_sweep(real_fur: Any, photo: str = "dog_002", results: Any = None) -> dict:
    """E[|∇X|], p-value and flips of each model along the authors' fur sweep.

    Parameters
    ----------
    real_fur : Scores
        The three models scored along ``{photo: [sweep]}``.
    photo : str, optional
        The group holding the sweep.
    results : Results, optional
        Records ``authors_sweep`` and the authors' reported scores
        (``authors_reported``).

    Returns
    -------
    dict
        Model -> ``{"E[|∇X|]", "p", "flips"}``.
    """
    table = {
        m: {"E[|∇X|]": b.expected_property_gradient, "p": b.p_value, "flips": b.flips}
        for m, b in real_fur.models(photo).items()
    }
    if results is not None:
        reported = {m: v["E[|∇X|]"] for m, v in paper.AUTHORS_DOG_SWEEP.items()}
        results.add(authors_reported=reported)
    return _record(results, "authors_sweep", table)


def sweep_conventions(
    real_fur: Any, tighter: Any, photo: str = "dog_002", results: Any = None
) -> dict:
    """Our score of the authors' sweep under the conventions that separate it from theirs.

    Parameters
    ----------
    real_fur : Scores
        The models along the sweep as we crop it.
    tighter : Scores
        The same along the sweep cropped two pixel columns tighter.
    photo : str, optional
        The group holding the sweep.
    results : Results, optional
        Records ``authors_sweep_conventions``.

    Returns
    -------
    dict
        Model -> ``{"ours", "first-order ends", "tighter crop", "authors"}``:
        our E[|∇X|], with the authors' first-order end stencils
        (``edge_order=1``), with the tighter crop, and the authors' number.
    """
    table = {
        m: {
            "ours": real_fur[m, photo].expected_property_gradient,
            "first-order ends": expected_property_gradient(
                real_fur.outputs[m, photo][0, :, 0], edge_order=1
            ),
            "tighter crop": tighter[m, photo].expected_property_gradient,
            "authors": paper.AUTHORS_DOG_SWEEP[m]["E[|∇X|]"],
        }
        for m in SPLITS
    }
    return _record(results, "authors_sweep_conventions", table)


def table1(real_fur: Any, real_background: Any, photo: str = "dog_002", results: Any = None):
    """The paper's Table 1 on one real photo: fur (E, S, F) and background (E, S, F).

    Returns
    -------
    dict
        The paper's model label -> its six columns.
    """
    table = {
        paper.TABLE1_ROWS[m]: real_fur[m, photo].row(("Fur Color", "Fur Color S", "Fur Color F"))
        | real_background[m, photo].row(("Background", "Background S", "Background F"))
        for m in SPLITS
    }
    return _record(results, "table1", table)


def table4(counts: Mapping[str, Mapping[str, int]], results: Any = None) -> dict:
    """The paper's Table 4: images per split, class and part, under the paper's row labels.

    Parameters
    ----------
    counts : mapping
        ``"<split> / <class>"`` -> ``{"Training": n, "Test": n}`` (a data
        source's ``counts()``).

    Returns
    -------
    dict
    """
    table = {}
    for key, row in counts.items():
        split, name = key.split(" / ")
        table[f"{paper.TABLE4_ROWS[split]} / {name}"] = dict(row)
    return _record(results, "table4", table)


def table5(accuracy: Mapping[str, Mapping[str, float]], results: Any = None) -> dict:
    """The paper's Table 5: test accuracy (%) by training split (rows) and test split."""
    table = {
        paper.TABLE5_ROWS[m]: {paper.TABLE5_COLUMNS[t]: 100 * accuracy[m][t] for t in SPLITS}
        for m in SPLITS
    }
    return _record(results, "table5", table)


def all_images(fur: Any, background: Any, results: Any = None) -> pd.DataFrame:
    """Table 1 over all images of the four groups: mean per-image E, S and F per property.

    Returns
    -------
    pandas.DataFrame
        Rows: the models (display names); columns: (property, E[|∇X|] / S / F)
        and the ratio of the fur's to the background's E.
    """
    columns = {"mean_E": "E[|∇X|]", "fraction_significant": "S", "fraction_flipped": "F"}
    frame = pd.concat(
        {
            prop: scores.per_model()[list(columns)].rename(columns=columns)
            for prop, scores in (("fur", fur), ("background", background))
        },
        axis=1,
    )
    frame["fur / background"] = frame["fur", "E[|∇X|]"] / frame["background", "E[|∇X|]"]
    frame = frame.rename(index=paper.SPLIT_LABELS)
    return _record(results, "all_images", frame)


def ten_images(
    models: Mapping[str, Any],
    fur_sweeps: Mapping[str, Any],
    background_sweeps: Mapping[str, Any],
    n_images: int,
    *,
    results: Any = None,
    **score_options: Any,
) -> dict[str, dict]:
    """The paper's Tables 6 and 7: the mean behaviour of the first ``n_images`` per group.

    Parameters
    ----------
    models : mapping
        Split -> classifier.
    fur_sweeps, background_sweeps : mapping
        Group (lower case, e.g. ``"light dogs"``) -> sweeps.
    n_images : int
        Images per group (the paper: ten).
    results : Results, optional
        Records ``table6`` and ``table7``.
    **score_options
        For :func:`propgrad.scores.score_models` (permutations, alpha, seed).

    Returns
    -------
    dict
        ``{"table6": ..., "table7": ...}``, each ``"<group> / <model>"`` ->
        E[|∇X|], p < 0.01 and prediction flips of the mean curve.
    """
    from propgrad.scores import score_models

    out = {}
    for name, sweeps in (("table6", fur_sweeps), ("table7", background_sweeps)):
        groups = {g: sweeps[g.lower()][:n_images] for g in paper.TABLE6_GROUPS}
        scores = score_models(models, groups, target="cat", **score_options)
        out[name] = _record(
            results,
            name,
            {
                f"{g} / {paper.TABLE6_MODELS[m]}": scores[m, g].row()
                for g in paper.TABLE6_GROUPS
                for m in SPLITS
            },
        )
    return out
