"""The chapter's tables and summaries: scores keyed by the paper's labels, recorded.

:func:`score_orientation` compares every frame of every sweep with the texts
of the classes and scores the mean similarity curves
(:class:`OrientationScores`). The functions after it take those scores,
return one table each under the paper's labels
(:mod:`propgrad.chapters.clip_orientation.paper`), and record it in the
chapter's :class:`propgrad.record.Results` when one is given: Table 14
(``table14``, ``table14_p``), Table 15 (``table15``, ``table15_p`` and the
curves behind it), the spread over a class's texts
(``turntable_text_std``) and the orientation summaries the claims read
(``side_minus_front``, ``upright_minus_upside_down``, ``lowest_angle``,
``turntable_lowest_angle``). The notebook only displays them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from propgrad.chapters.clip_orientation import paper
from propgrad.meshes import AXES

OBJECTS = paper.TURNTABLE_OBJECTS
FROG = paper.ROTATED_OBJECT

__all__ = [
    "OrientationScores",
    "around",
    "orientation_summary",
    "score_orientation",
    "table13",
    "table14",
    "table15",
    "text_spread",
]


def _record(results: Any, **values: Any) -> None:
    if results is not None:
        results.add(**values)


@dataclass
class OrientationScores:
    """The similarities along every sweep and the behaviour of the mean curves.

    Attributes
    ----------
    zero_shot : propgrad.models.clip.ZeroShotCLIP
        The model and its texts.
    classes : dict
        Each of the paper's objects -> the model's class standing for it.
    turntables, rotations : dict
        Object -> turntable sweep; axis -> rendered sweep of the frog.
    embeddings : dict
        Sweep name (object or axis) -> unit image embeddings (N, embed_dim).
    stats : dict
        Sweep name -> :class:`~propgrad.models.clip.DescriptorStats` of the
        similarities over each class's texts.
    turntable : dict
        Recording -> class texts -> :class:`~propgrad.scores.MeanBehaviour`
        of the mean similarity (Table 14's cells).
    rotation : dict
        Axis -> behaviour of the mean similarity to the frog's texts
        (Table 15's cells).
    """

    zero_shot: Any
    classes: dict[str, str]
    turntables: dict[str, Any]
    rotations: dict[str, Any]
    embeddings: dict[str, np.ndarray]
    stats: dict[str, Any]
    turntable: dict[str, dict[str, Any]]
    rotation: dict[str, Any]

    @property
    def sweeps(self) -> dict[str, Any]:
        """Every sweep by name: the recordings, then the axes."""
        return {**self.turntables, **self.rotations}

    def class_index(self, obj: str) -> int:
        """The model's class index of one of the paper's objects."""
        return self.zero_shot.classes.index(self.classes[obj])

    def curve(self, name: str, obj: str) -> np.ndarray:
        """The mean similarity to one object's texts along one sweep, (N,)."""
        return self.stats[name].mean[:, self.class_index(obj)]


def score_orientation(
    zero_shot: Any,
    classes: Mapping[str, str],
    turntables: Mapping[str, Any],
    rotations: Mapping[str, Any],
    embeddings: Mapping[str, np.ndarray],
    *,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
    periodic: bool = True,
) -> OrientationScores:
    """Similarities along every sweep and E[|∇X|] with its shuffle test per curve.

    Every recording is scored against the texts of each turntable object
    (Table 14), every rotation against the frog's texts (Table 15). A sweep is
    one full turn, so differences and shuffles are periodic.

    Parameters
    ----------
    zero_shot : propgrad.models.clip.ZeroShotCLIP
        The model and its texts.
    classes : mapping
        Each of the paper's objects -> the model's class standing for it.
    turntables, rotations, embeddings : mapping
        From a data source's ``sweeps()``.
    n_permutations, alpha, seed, periodic
        As for :func:`propgrad.scores.mean_behaviour`.

    Returns
    -------
    OrientationScores
    """
    from propgrad.scores import mean_behaviour

    stats = {name: zero_shot.stats(zero_shot.similarities(e)) for name, e in embeddings.items()}
    tests = dict(n_permutations=n_permutations, alpha=alpha, seed=seed, periodic=periodic)

    def behaviour(name: str, obj: str) -> Any:
        target = zero_shot.classes.index(classes[obj])
        return mean_behaviour(stats[name].mean[None], target=target, **tests)

    return OrientationScores(
        zero_shot=zero_shot,
        classes=dict(classes),
        turntables=dict(turntables),
        rotations=dict(rotations),
        embeddings=dict(embeddings),
        stats=stats,
        turntable={o: {c: behaviour(o, c) for c in OBJECTS} for o in OBJECTS},
        rotation={a: behaviour(a, FROG) for a in AXES},
    )


def table13(data: Any, results: Any = None) -> pd.DataFrame:
    """The paper's Table 13 beside the object and the texts used in its place.

    Parameters
    ----------
    data : ToyOrientation or RecordedOrientation
        The chapter's data source.
    results : Results, optional
        Records ``models``: the model and what stands in for each object.

    Returns
    -------
    pandas.DataFrame
        Rows: the paper's objects (Table 13's labels); columns: the paper's
        descriptors, the object used here, its descriptors.
    """
    classes, descriptors = data.classes, data.descriptors
    table = pd.DataFrame(
        {
            "descriptors (paper, Table 13)": {
                o: ", ".join(paper.TABLE13[paper.TABLE13_ROWS[o]]) for o in classes
            },
            "used here": dict(data.used_here),
            "its descriptors": {o: ", ".join(descriptors[o]) for o in classes},
        }
    )
    table.index = [paper.TABLE13_ROWS[o] for o in table.index]
    _record(results, models=data.models())
    return table


def table14(scores: OrientationScores, results: Any = None) -> tuple[dict, dict]:
    """The paper's Table 14: E[|∇X|] per recording (rows) and class texts (columns).

    Returns
    -------
    table14, table14_p : dict
        Recording -> class -> E[|∇X|] of the mean similarity, and its
        shuffle-test p-value; recorded as ``table14`` and ``table14_p``.
    """
    table = {
        o: {c: b.expected_property_gradient for c, b in row.items()}
        for o, row in scores.turntable.items()
    }
    p_values = {o: {c: b.p_value for c, b in row.items()} for o, row in scores.turntable.items()}
    if results is not None:
        results.add_table("table14", table)
        results.add_table("table14_p", p_values)
    return table, p_values


def table15(scores: OrientationScores, results: Any = None) -> dict[str, dict[str, float]]:
    """The paper's Table 15: E[|∇X|] of the frog's texts per rotation axis, with p-values.

    Parameters
    ----------
    scores : OrientationScores
    results : Results, optional
        Records ``table15`` and ``table15_p`` (axis -> value) and the curves
        behind them (``rotation_curves``, ``rotation_angles``).

    Returns
    -------
    dict
        The paper's row label (``"x-axis"``...) -> ``{"Frog Texts": E, "p": p}``.
    """
    rotation = scores.rotation
    _record(
        results,
        table15={a: rotation[a].expected_property_gradient for a in AXES},
        table15_p={a: rotation[a].p_value for a in AXES},
        rotation_curves={a: rotation[a].mean_curve for a in AXES},
        rotation_angles={a: scores.rotations[a].grid for a in AXES},
    )
    return {
        paper.AXIS_ROWS[a]: {
            paper.TABLE15_COLUMN: rotation[a].expected_property_gradient,
            "p": rotation[a].p_value,
        }
        for a in AXES
    }


def text_spread(scores: OrientationScores, results: Any = None) -> dict[str, float]:
    """How much a class's ten texts disagree along each recording.

    Returns
    -------
    dict
        Recording -> the standard deviation over a class's texts, averaged
        over the frames and the three classes; recorded as
        ``turntable_text_std``.
    """
    spread = {
        o: float(np.mean([scores.stats[o].of(scores.classes[c])["std"].mean() for c in OBJECTS]))
        for o in OBJECTS
    }
    _record(results, turntable_text_std=spread)
    return spread


def around(grid: Any, centre: float, width: float = 30) -> np.ndarray:
    """Frames within ``width`` degrees of ``centre``, on the circle."""
    return np.abs((grid - centre + 180) % 360 - 180) <= width


def orientation_summary(scores: OrientationScores, results: Any = None) -> pd.DataFrame:
    """The orientation effects in numbers: side against front, upright against half turn.

    On the turntable: the mean similarity to the own class within 30 degrees
    of the side views (0, 180) minus within 30 degrees of front and back
    (90, 270), and the angle of its lowest point. For the rotations: within
    30 degrees of the start minus within 30 degrees of the half turn, and the
    angle of the lowest point.

    Parameters
    ----------
    scores : OrientationScores
    results : Results, optional
        Records ``side_minus_front``, ``turntable_lowest_angle``,
        ``upright_minus_upside_down`` and ``lowest_angle``.

    Returns
    -------
    pandas.DataFrame
        One row per recording and per axis; columns ``side minus
        front/back``, ``start minus half turn`` and ``lowest at (degrees)``.
    """
    side_minus_front, turntable_lowest = {}, {}
    for obj in OBJECTS:
        g, curve = scores.turntables[obj].grid, scores.curve(obj, obj)
        side = curve[around(g, 0) | around(g, 180)].mean()
        side_minus_front[obj] = float(side - curve[around(g, 90) | around(g, 270)].mean())
        turntable_lowest[obj] = float(g[np.argmin(curve)])
    upright_minus_half_turn, lowest = {}, {}
    for a in AXES:
        g, curve = scores.rotations[a].grid, scores.rotation[a].mean_curve
        upright_minus_half_turn[a] = float(
            curve[around(g, 0)].mean() - curve[around(g, 180)].mean()
        )
        lowest[a] = float(g[np.argmin(curve)])
    _record(
        results,
        side_minus_front=side_minus_front,
        upright_minus_upside_down=upright_minus_half_turn,
        lowest_angle=lowest,
        turntable_lowest_angle=turntable_lowest,
    )
    summary = pd.DataFrame(
        {
            **{f"{o} turntable": {"side minus front/back": v} for o, v in side_minus_front.items()},
            **{
                f"{a} axis": {
                    "start minus half turn": upright_minus_half_turn[a],
                    "lowest at (degrees)": lowest[a],
                }
                for a in AXES
            },
        }
    )
    return summary.T
