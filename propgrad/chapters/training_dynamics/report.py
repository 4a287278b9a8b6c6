"""The chapter's tables and checks, keyed by the paper's labels and recorded.

Each function takes what the chapter computed (the trained runs, the scores
of every checkpoint as :class:`~propgrad.chapters.training_dynamics.dynamics.Dynamics`),
returns a table to display beside the paper's
(:mod:`propgrad.chapters.training_dynamics.paper`) and records what the
chapter's claims read (:mod:`propgrad.chapters.training_dynamics.claims`) in
its :class:`propgrad.record.Results` when one is given. Runs are keyed by the
paper's model label and the initialisation (``"pretrained"`` or
``"random"``); ``E`` is the expected property gradient of the "young" output.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from propgrad.chapters.training_dynamics import paper
from propgrad.chapters.training_dynamics.dynamics import INITS, run_label

__all__ = [
    "INIT_LABELS",
    "checks",
    "hair_vs_makeup",
    "label_correlations",
    "rho_undefined",
    "standins",
    "table11",
    "table12",
    "timed",
]

#: Display names of the initialisations.
INIT_LABELS = {"pretrained": "pre-trained", "random": "random init"}


@contextmanager
def timed(step: str, results: Any = None) -> Iterator[None]:
    """Record the wall-clock seconds of a step under ``timings[step]``.

    Parameters
    ----------
    step : str
        The step's name (e.g. ``"training"``).
    results : Results, optional
        Where ``timings`` is recorded.
    """
    start = time.perf_counter()
    yield
    if results is not None:
        known = results["timings"] if "timings" in results else {}
        results.add(timings={**known, step: time.perf_counter() - start})


def label_correlations(correlations: Mapping[str, float], results: Any = None) -> pd.DataFrame:
    """The correlation of each trait with "young" (a data source's ``correlations()``).

    Records ``label_correlations``.

    Returns
    -------
    pandas.DataFrame
        One row per trait, the column ``"correlation with young"``.
    """
    if results is not None:
        results.add(label_correlations=dict(correlations))
    return pd.DataFrame({"correlation with young": dict(correlations)})


def _compact(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def standins(
    models: Mapping[str, Mapping[str, Any]],
    image_size: int,
    pretraining: str,
    results: Any = None,
) -> pd.DataFrame:
    """Which model stands for which of the paper's, with its size.

    Parameters
    ----------
    models : mapping
        Paper label -> ``{"arch": timm name, "model_kwargs": {...}}``.
    image_size : int
        The models' input size.
    pretraining : str
        What the pre-trained runs start from (a data source's ``pretraining``).
    results : Results, optional
        Records ``models``: label -> the model, its parameter count and
        ``pretraining``.

    Returns
    -------
    pandas.DataFrame
        Rows: the paper's labels; columns: timm model, arguments, parameters.
    """
    from propgrad.models.classifier import create_classifier

    n_params = {}
    for m, spec in models.items():
        classifier = create_classifier(
            spec["arch"], 2, image_size=image_size, model_kwargs=spec["model_kwargs"]
        )
        n_params[m] = sum(p.numel() for p in classifier.model.parameters())
    if results is not None:
        results.add(
            models={
                m: {**models[m], "parameters": int(n_params[m]), "pretrained": pretraining}
                for m in models
            }
        )
    rows = {
        m: {
            "timm model": spec["arch"],
            "arguments": "; ".join(f"{k} {_compact(v)}" for k, v in spec["model_kwargs"].items())
            or "(defaults)",
            "parameters": f"{n_params[m] / 1e6:.2f} M",
        }
        for m, spec in models.items()
    }
    return pd.DataFrame(rows).T.rename_axis("paper's model")


def table11(runs: Sequence[Any], results: Any = None) -> dict[str, dict[str, float]]:
    """The paper's Table 11: final test accuracy (%) of both starts and their difference.

    Parameters
    ----------
    runs : sequence of TrainedRun
        The trained runs (tagged by model and initialisation).
    results : Results, optional
        Records ``table11``: model -> ``{"pretrained": %, "random": %}``.

    Returns
    -------
    dict
        Model -> ``{"PT", "RI", "Perf. Δ"}`` (:data:`paper.TABLE11_COLUMNS`),
        Perf. Δ = RI - PT.
    """
    accuracy: dict[str, dict[str, float]] = {}
    for run in runs:
        model, init = run_label(run.spec)
        accuracy.setdefault(model, {})[init] = 100 * run.accuracies["test"]
    table = {m: {i: a[i] for i in INITS} for m, a in accuracy.items()}
    if results is not None:
        results.add_table("table11", table)
    return {
        m: {"PT": a["pretrained"], "RI": a["random"], "Perf. Δ": a["random"] - a["pretrained"]}
        for m, a in table.items()
    }


def _table12_of(dyn: Any, sweep: str) -> dict[str, dict[str, dict[str, Any]]]:
    summary = dyn.summary(sweep)
    return {
        m: {
            i: {
                "E": summary.at[m, (i, "E")],
                "flips": int(summary.at[m, (i, "flips")]),
                "significant": int(summary.at[m, (i, "significant")]),
                "rho": summary.at[m, (i, "rho")],
            }
            for i in INITS
        }
        for m in summary.index
    }


def table12(dyn: Any, results: Any = None) -> dict[str, dict[str, dict[str, Any]]]:
    """The paper's Table 12, both halves: the hair sweep over every checkpoint of every run.

    Parameters
    ----------
    dyn : Dynamics
        The scores of every checkpoint along the ``"hair"`` and ``"makeup"``
        sweeps.
    results : Results, optional
        Records ``table12`` and ``table12_makeup`` (model -> init -> ``{"E",
        "flips", "significant", "rho"}``), ``n_checkpoints``, the per-epoch
        series ``epochs`` (E of the hair sweep), ``epochs_makeup``,
        ``flips_per_epoch``, ``significant_per_epoch``, and
        ``rho_undefined`` (checkpoints with a constant output).

    Returns
    -------
    dict
        Initialisation -> model -> the paper's columns
        (:data:`paper.TABLE12_COLUMNS`): mean E, checkpoints with a flip,
        checkpoints with a significant change, mean ρ where defined.
    """
    ours = _table12_of(dyn, "hair")
    if results is not None:
        summary = dyn.summary("hair")
        results.add(
            table12=ours,
            table12_makeup=_table12_of(dyn, "makeup"),
            n_checkpoints=dyn.n_checkpoints,
            epochs=dyn.series("hair"),
            epochs_makeup=dyn.series("makeup"),
            flips_per_epoch=dyn.series("hair", "flips"),
            significant_per_epoch=dyn.series("hair", "significant"),
            rho_undefined={
                m: {i: int(summary.at[m, (i, "rho_undefined")]) for i in INITS}
                for m in summary.index
            },
        )
    columns = dict(zip(("E", "flips", "significant", "rho"), paper.TABLE12_COLUMNS))
    return {
        init: {m: {columns[c]: t[init][c] for c in columns} for m, t in ours.items()}
        for init in INITS
    }


def rho_undefined(dyn: Any, init: str) -> dict[str, int]:
    """Checkpoints per model whose hair-sweep output is constant (ρ undefined)."""
    summary = dyn.summary("hair")
    return {m: int(summary.at[m, (init, "rho_undefined")]) for m in summary.index}


def hair_vs_makeup(dyn: Any) -> pd.DataFrame:
    """Mean E over the checkpoints of every run for the two faces.

    Returns
    -------
    pandas.DataFrame
        Rows: models; columns: (initialisation, "hair face" / "makeup face").
    """
    faces = {"hair face": dyn.summary("hair"), "makeup face": dyn.summary("makeup")}
    frame = pd.DataFrame(
        {(INIT_LABELS[i], face): s[(i, "E")] for i in INITS for face, s in faces.items()}
    )
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def checks(dyn: Any, results: Any = None) -> pd.DataFrame:
    """The paper's observations, checked run by run.

    Parameters
    ----------
    dyn : Dynamics
        The scores of every checkpoint along both sweeps.
    results : Results, optional
        Records, model -> init -> value unless said otherwise:
        ``final_above_initial`` (the last checkpoint's E of the hair sweep
        above the first's), ``pretrained_above_random`` (model -> the
        pre-trained run's mean E above the random one's),
        ``pretrained_flips_at_least_random`` (model -> at least as many
        checkpoints with a flip), ``hair_above_makeup`` (mean E of the hair
        face above the made-up face's), ``makeup_calmer_late`` (the made-up
        face's mean E below the hair face's over the second half of the
        checkpoints), ``hair_face_called_young`` (share of checkpoints that
        call the unedited hair face young).

    Returns
    -------
    pandas.DataFrame
        Rows: models; columns: the checks (PT: pre-trained, RI: random init).
    """
    models = dyn.models
    hair, makeup = dyn.summary("hair"), dyn.summary("makeup")
    late = dyn.n_checkpoints // 2  # the second half of training

    def mean_late(sweep: str, m: str, i: str) -> float:
        return float(dyn.run(m, i, sweep)["E"].iloc[late:].mean())

    first_last = {
        m: {i: tuple(dyn.run(m, i, "hair")["E"].iloc[[0, -1]]) for i in INITS} for m in models
    }
    final_above_initial = {
        m: {i: bool(last > first) for i, (first, last) in v.items()} for m, v in first_last.items()
    }
    pt_above_ri = {
        m: bool(hair.at[m, ("pretrained", "E")] > hair.at[m, ("random", "E")]) for m in models
    }
    pt_more_flips = {
        m: bool(int(hair.at[m, ("pretrained", "flips")]) >= int(hair.at[m, ("random", "flips")]))
        for m in models
    }
    hair_above_makeup = {
        m: {i: bool(hair.at[m, (i, "E")] > makeup.at[m, (i, "E")]) for i in INITS} for m in models
    }
    calmer_late = {
        m: {i: bool(mean_late("makeup", m, i) < mean_late("hair", m, i)) for i in INITS}
        for m in models
    }
    start_young = {
        m: {i: float((dyn.run(m, i, "hair")["start_class"] == 1).mean()) for i in INITS}
        for m in models
    }
    if results is not None:
        results.add(
            final_above_initial=final_above_initial,
            pretrained_above_random=pt_above_ri,
            pretrained_flips_at_least_random=pt_more_flips,
            hair_above_makeup=hair_above_makeup,
            makeup_calmer_late=calmer_late,
            hair_face_called_young=start_young,
        )
    short = {"pretrained": "PT", "random": "RI"}
    columns = {}
    for i in INITS:
        columns["cue learned: last E > first E", short[i]] = {
            m: final_above_initial[m][i] for m in models
        }
    columns["mean E: PT > RI", ""] = pt_above_ri
    columns["flips: PT ≥ RI", ""] = pt_more_flips
    for i in INITS:
        columns["made-up face calmer, 2nd half", short[i]] = {m: calmer_late[m][i] for m in models}
    for i in INITS:
        columns["plain face called young", short[i]] = {m: start_young[m][i] for m in models}
    return pd.DataFrame(columns)
