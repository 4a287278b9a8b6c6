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
    "global_vs_local",
    "table9",
    "table9_view",
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
        E[|∇X|], p < 0.01 and prediction flips of the mean curve; and
        ``"scores"``: ``{"fur": Scores, "background": Scores}`` of the images
        (for the per-image curves of Figs. 13, 16 and 17).
    """
    from propgrad.scores import score_models

    out: dict[str, Any] = {"scores": {}}
    for name, sweeps in (("table6", fur_sweeps), ("table7", background_sweeps)):
        groups = {g: sweeps[g.lower()][:n_images] for g in paper.TABLE6_GROUPS}
        scores = score_models(models, groups, target="cat", **score_options)
        out["scores"]["fur" if name == "table6" else "background"] = scores
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


def table9(sample: Mapping[str, Any], models: Mapping[str, Any], *, seed: int = 0,
           results: Any = None, **options: Any) -> dict[str, Any]:  # fmt: skip
    """The paper's Table 9 with its proxies, and with the exact values where they are known.

    Parameters
    ----------
    sample : mapping
        A data source's ``ci_sample``: images, labels, ``proxies`` and
        ``exact`` (or ``None``).
    models : mapping
        Split -> classifier.
    seed : int, optional
        Seeds CMIknn's permutations.
    results : Results, optional
        Records ``table9`` (p-values with the proxies: model -> property ->
        test), ``table9_vote`` (the majority decision), and ``table9_exact``,
        ``table9_exact_vote`` with the exact values.
    **options
        For :func:`propgrad.chapters.cats_vs_dogs.global_tests.table9`.

    Returns
    -------
    dict
        ``{"proxies": {"p", "vote"}, "exact": {"p", "vote"} or None}``.
    """
    from propgrad.chapters.cats_vs_dogs.global_tests import table9 as ci_table

    out: dict[str, Any] = {}
    for kind in ("proxies", "exact"):
        if sample[kind] is None:
            out[kind] = None
            continue
        out[kind] = ci_table(models, sample["images"], sample["labels"], sample[kind],
                             seed=seed, **options)  # fmt: skip
        suffix = "" if kind == "proxies" else "_exact"
        _record(results, f"table9{suffix}", out[kind]["p"])
        if results is not None:
            results.add(**{f"table9{suffix}_vote": out[kind]["vote"]})
    return out


def global_vs_local(
    votes: Mapping[str, Mapping[str, bool]],
    local: Mapping[str, Any],
    results: Any = None,
) -> dict[str, Any]:
    """Where the global test says "used": how much the property matters image by image.

    Among the (model, property) pairs whose majority vote rejects
    independence, take the one whose per-image E[|∇X|] spreads most (the
    largest ratio of the largest to the smallest), and return its least and
    most affected images.

    Parameters
    ----------
    votes : mapping
        Table 9's row label -> property -> vote (:func:`table9`).
    local : mapping
        Table 9's property label -> :class:`propgrad.scores.Scores` of the
        models along that property's sweeps (all groups).
    results : Results, optional
        Records ``global_vs_local``.

    Returns
    -------
    dict
        ``model`` (split), ``property``, ``smallest`` and ``largest``
        (``{"group", "sweep", "E", "significant"}``), ``median_E``; empty
        when no pair is called "used".
    """
    from propgrad.chapters.cats_vs_dogs.global_tests import TABLE9_ROWS

    best, spread = {}, 0.0
    for split, row in TABLE9_ROWS.items():
        for prop, used in votes[row].items():
            if not used or prop not in local:
                continue
            table = local[prop].per_sweep
            mine = table[table["model"] == split].reset_index(drop=True)
            low, high = mine["E"].idxmin(), mine["E"].idxmax()
            ratio = float(mine["E"][high] / max(mine["E"][low], 1e-12))
            if ratio > spread:
                spread = ratio
                best = {
                    "model": split,
                    "property": prop,
                    "median_E": float(mine["E"].median()),
                    **{
                        name: {
                            "group": str(mine["group"][i]),
                            "sweep": int(mine["sweep"][i]),
                            "E": float(mine["E"][i]),
                            "significant": bool(mine["significant"][i]),
                        }  # fmt: skip
                        for name, i in (("smallest", low), ("largest", high))
                    },
                }
    if results is not None:
        results.add(global_vs_local=best)
    return best


def table9_view(p_values: Mapping[str, Mapping[str, Mapping[str, float]]], alpha: float = 0.05):
    """Table 9 for display: ``"<property> / <test>"`` -> p-value with ✓ where p < alpha.

    Returns
    -------
    tuple of dict
        Ours, and the paper's marks ("p<0.05" / "p>0.05") in the same layout.
    """
    from propgrad.chapters.cats_vs_dogs.global_tests import TABLE9_REJECTS

    ours = {row: {f"{prop} / {test}": f"{p:.3f} {'✓' if p < alpha else ''}".strip()
                  for prop, tests in cells.items() for test, p in tests.items()}
            for row, cells in p_values.items()}  # fmt: skip
    theirs = {row: {f"{prop} / {test}": "p<0.05" if rejects else "p>0.05"
                    for prop, tests in cells.items() for test, rejects in tests.items()}
              for row, cells in TABLE9_REJECTS.items()}  # fmt: skip
    return ours, theirs
