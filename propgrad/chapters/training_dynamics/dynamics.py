r"""Follow a property through training: score every kept checkpoint along sweeps.

The paper's training analysis (Sec. 4.3, appendix D) trains several
architectures, each from random initialisation and from pre-trained weights,
keeps the weights after every epoch, and asks at every epoch how strongly one
intervention (grey hair) moves one output ("young") of one input.
This module does the three steps for either data source of the chapter:

1. **train** the runs: :func:`run_specs` describes every model with both
   initialisations as :class:`propgrad.runs.TrainSpec` (tagged ``{"model":
   label, "init": "pretrained" | "random"}``, normalised by the
   initialisation, every epoch's checkpoint kept), which
   :func:`propgrad.runs.train_runs` trains (cached by configuration, resumed
   after a kill);
2. **predict** along the sweeps at every checkpoint: :func:`checkpoint_outputs`
   loads each kept checkpoint into one model and runs
   :func:`propgrad.prediction.predict_sweeps` (batched over the frames of all
   sweeps, cached per checkpoint);
3. **score**: :func:`score_runs` computes, for every run, sweep and
   checkpoint, the expected property gradient of the scored output (column
   ``E``), the shuffle test (one vectorised call for all curves), the number of
   prediction flips (arg-max changes) and Pearson's :math:`\rho` with the
   step; :meth:`Dynamics.summary` aggregates per run as the paper's Table 12
   does. :func:`score_checkpoints` does steps 2 and 3 for a list of runs.

Step 2 is a module-level function of one picklable argument, so it runs as a
task of :func:`propgrad.tasks.run_tasks`: in this process, a process pool or on
a Dask cluster; it is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import propgrad.models.timm_extra  # noqa: F401 - registers the stand-ins' timm architectures
from propgrad.runs import TrainSpec

#: The two initialisations of the paper's training analysis.
INITS = ("pretrained", "random")

#: Normalisation by initialisation (appendix D): ImageNet statistics for
#: pre-trained models, [-1, 1] for randomly initialised ones.
NORMALISATION = {"pretrained": "imagenet", "random": "unit"}

#: Columns of :attr:`Dynamics.table` besides the labels.
SCORE_COLUMNS = ("E", "p_value", "significant", "flips", "rho", "start_class", "start")

#: Columns of :meth:`Dynamics.summary` per initialisation.
SUMMARY_COLUMNS = ("E", "flips", "significant", "rho", "rho_undefined", "checkpoints")


# ---------------------------------------------------------------------------
# runs


def run_specs(
    models: Mapping[str, Mapping[str, Any]],
    data: Mapping[str, Any],
    *,
    weights: Mapping[str, str | Path],
    image_size: int,
    data_key: Any = None,
    settings: Mapping[str, Any] | None = None,
    inits: Sequence[str] = INITS,
    class_names: Sequence[str] | None = None,
    seed: int = 0,
    num_threads: int | None = None,
) -> list[TrainSpec]:
    """The runs of a study: every model with every initialisation.

    Parameters
    ----------
    models : mapping
        Label -> ``{"arch": ..., "model_kwargs": {...}}``.
    data : mapping
        The runs' data loader and its arguments (see
        :func:`propgrad.runs.load_data`).
    weights : mapping
        Label -> pre-trained weights file (needed for the pre-trained runs).
    image_size : int
        Input size.
    data_key : object, optional
        Identity of the data in the cache key (default: ``data``); see
        :class:`propgrad.runs.TrainSpec`.
    settings : mapping, optional
        Fields of :class:`propgrad.train.TrainSettings`, the same for every run.
    inits : sequence of str, optional
        Initialisations (default both of :data:`INITS`).
    class_names : sequence of str, optional
        Output names.
    seed : int, optional
        Seed of the initial weights (and of the random head of pre-trained
        models).
    num_threads : int, optional
        Torch CPU threads while training (not part of a run's identity).

    Returns
    -------
    list of TrainSpec
        Model by model, in the order of ``inits``; named ``"<label> (<init>)"``,
        tagged ``{"model": label, "init": init}``, normalised as
        :data:`NORMALISATION` says, keeping every epoch's checkpoint.

    Raises
    ------
    ValueError
        For an unknown initialisation or a pre-trained run without weights.
    """
    specs = []
    for label, model in models.items():
        for init in inits:
            if init not in INITS:
                raise ValueError(f"init must be one of {INITS}, got {init!r}")
            if init == "pretrained" and not weights.get(label):
                raise ValueError(f"{label}: no pre-trained weights file given")
            specs.append(
                TrainSpec(
                    name=f"{label} ({init})",
                    arch=str(model["arch"]),
                    data=dict(data),
                    data_key=data_key,
                    image_size=int(image_size),
                    class_names=None if class_names is None else tuple(class_names),
                    model_kwargs=dict(model.get("model_kwargs") or {}),
                    weights=str(weights[label]) if init == "pretrained" else None,
                    normalisation=NORMALISATION[init],
                    seed=int(seed),
                    settings=dict(settings or {}),
                    keep_checkpoints=True,
                    num_threads=num_threads,
                    tags={"model": str(label), "init": init},
                )
            )
    return specs


def run_label(spec: TrainSpec) -> tuple[str, str]:
    """``(model, init)`` of a run of :func:`run_specs`."""
    return str(spec.tags["model"]), str(spec.tags["init"])


# ---------------------------------------------------------------------------
# the local sweeps


@dataclass
class LocalSweeps:
    """The sweeps of the local examples that every checkpoint is scored along.

    A data source's ``local_sweeps`` returns one (the toy world's exact hair
    sweeps or CelebA's InstructPix2Pix edits).

    Attributes
    ----------
    names : tuple of str
        The examples' names (``("hair", "makeup")``).
    sweeps : ndarray or list
        One sweep per name, of equal length: a uint8 array (M, N, H, W, 3) or
        a list of :class:`~propgrad.sweep.Sweep`.
    grids : dict
        Name -> the property values of the sweep's frames.
    axis : str
        What the grid is (an axis label).
    frame_title : str
        Format of a frame's title from its grid value.
    description : str
        How the sweeps were made (for figure notes).
    record : dict
        What to record about the examples (which faces they are).
    """

    names: tuple[str, ...]
    sweeps: Any
    grids: dict[str, np.ndarray]
    axis: str
    frame_title: str
    description: str
    record: dict[str, Any] = field(default_factory=dict)

    def frames(self, name: str) -> list[Any]:
        """The frames of one sweep, in order."""
        return list(self.sweeps[self.names.index(name)])


# ---------------------------------------------------------------------------
# predictions at every checkpoint


@dataclass(frozen=True)
class ScoreTask:
    """The argument of :func:`checkpoint_outputs`: a run and the sweeps to predict along.

    Parameters
    ----------
    spec : TrainSpec or TrainedRun
        The run: a :class:`~propgrad.runs.TrainedRun` (what
        :func:`propgrad.runs.train_runs` returned: its checkpoints are read
        directly), or a :class:`~propgrad.runs.TrainSpec` from
        :func:`run_specs` (trained now if needed).
    sweeps : ndarray or sequence
        M sweeps of equal length N: a uint8 array (M, N, H, W, 3), or a
        sequence of :class:`~propgrad.sweep.Sweep` objects or (N, H, W, 3)
        arrays.
    epochs : sequence of int, optional
        Only these checkpoints (default: all kept ones).
    batch_size : int, optional
        Images per forward pass.
    device : str, optional
        Torch device (default: CUDA when available).
    """

    spec: Any
    sweeps: Any
    epochs: tuple[int, ...] | None = None
    batch_size: int = 64
    device: str | None = None


@dataclass
class RunOutputs:
    """Outputs of one run along M sweeps at K checkpoints.

    Attributes
    ----------
    model, init : str
        The run's label.
    epochs : ndarray
        (K,) epochs of the checkpoints.
    outputs : ndarray
        (K, M, N, C) softmax outputs.
    accuracies : dict
        Final accuracies of the run.
    """

    model: str
    init: str
    epochs: np.ndarray
    outputs: np.ndarray
    accuracies: dict[str, float] = field(default_factory=dict)


def checkpoint_outputs(task: ScoreTask) -> RunOutputs:
    """Predict along the sweeps with every kept checkpoint of a run.

    A trained run (:class:`~propgrad.runs.TrainedRun`) is read from its kept
    checkpoint files without re-entering training or loading its data; a
    :class:`~propgrad.runs.TrainSpec` is first trained, or found finished,
    by :func:`propgrad.runs.train_run`. Then one model is built and each
    checkpoint's weights are loaded into it in turn; every prediction goes
    through :func:`propgrad.prediction.predict_sweeps` (all frames of all
    sweeps batched, cached per checkpoint and sweep; the sweeps are hashed
    once for all checkpoints). A task for :func:`propgrad.tasks.run_tasks`.

    Parameters
    ----------
    task : ScoreTask
        The run and the sweeps.

    Returns
    -------
    RunOutputs

    Raises
    ------
    ValueError
        If a requested epoch has no kept checkpoint.
    """
    import torch

    from propgrad.prediction import predict_sweeps, sweep_digests
    from propgrad.runs import TrainedRun, build_classifier, train_run

    run = task.spec if isinstance(task.spec, TrainedRun) else train_run(task.spec)
    model_label, init = run_label(run.spec)
    kept = dict(run.checkpoints)
    epochs = sorted(kept) if task.epochs is None else [int(e) for e in task.epochs]
    missing = [e for e in epochs if e not in kept]
    if missing:
        raise ValueError(f"{model_label} ({init}): no checkpoint kept for epochs {missing}")
    classifier = build_classifier(run.spec, checkpoint=kept[epochs[0]]) if epochs else None
    digests = sweep_digests(task.sweeps)
    outputs = []
    for i, epoch in enumerate(epochs):
        model = classifier.model
        if i > 0:
            state = torch.load(kept[epoch], map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        model.eval()
        outputs.append(
            predict_sweeps(
                model,
                task.sweeps,
                classifier.preprocess,
                batch_size=task.batch_size,
                device=task.device,
                progress=False,
                digests=digests,
            )
        )
    return RunOutputs(
        model=model_label,
        init=init,
        epochs=np.asarray(epochs, dtype=int),
        outputs=np.stack(outputs),
        accuracies=dict(run.accuracies),
    )


# ---------------------------------------------------------------------------
# scores


@dataclass
class Dynamics:
    """Scores of every run, sweep and checkpoint (from :func:`score_runs`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (model, init, sweep, epoch) with :data:`SCORE_COLUMNS`:
        the expected property gradient of the scored output (``E``), the shuffle test's
        ``p_value`` and ``significant``, the number of prediction ``flips``,
        Pearson's ``rho`` with the step (NaN for a constant curve), the class
        predicted for the first frame (``start_class``) and the scored output
        there (``start``).
    curves : dict
        ``(model, init, sweep)`` -> (K, N) scored output along the sweep at
        every checkpoint.
    target : int
        The scored output column.
    n_permutations, alpha : int, float
        Settings of the shuffle test.
    """

    table: Any
    curves: dict[tuple[str, str, str], np.ndarray]
    target: int
    n_permutations: int
    alpha: float

    @property
    def models(self) -> list[str]:
        """Model labels, in the order of the runs."""
        return list(dict.fromkeys(self.table["model"]))

    @property
    def sweeps(self) -> list[str]:
        """Sweep names, in order."""
        return list(dict.fromkeys(self.table["sweep"]))

    @property
    def n_checkpoints(self) -> int:
        """Checkpoints scored per run (those of the first run)."""
        first = self.table.iloc[0]
        return len(self.run(first["model"], first["init"], first["sweep"]))

    def run(self, model: str, init: str, sweep: str) -> Any:
        """The per-checkpoint rows of one run along one sweep (indexed by epoch).

        Raises
        ------
        KeyError
            If there is no such run or sweep.
        """
        t = self.table
        rows = t[(t["model"] == model) & (t["init"] == init) & (t["sweep"] == sweep)]
        if rows.empty:
            raise KeyError(f"no scores for {model!r} ({init}) along {sweep!r}")
        return rows.set_index("epoch")[list(SCORE_COLUMNS)]

    def series(self, sweep: str, column: str = "E") -> dict[str, dict[str, list[Any]]]:
        """One score per checkpoint as lists: model -> init -> values in epoch order.

        Parameters
        ----------
        sweep : str
            The sweep.
        column : str, optional
            One of :data:`SCORE_COLUMNS` (default ``E``, the expected property gradient).

        Returns
        -------
        dict
        """
        out: dict[str, dict[str, list[Any]]] = {}
        for (model, init), rows in self.table[self.table["sweep"] == sweep].groupby(
            ["model", "init"], sort=False
        ):
            out.setdefault(model, {})[init] = rows.sort_values("epoch")[column].tolist()
        return out

    def summary(self, sweep: str) -> Any:
        """Per-run aggregates along one sweep, the layout of the paper's Table 12.

        Columns (a MultiIndex: initialisation, then :data:`SUMMARY_COLUMNS`):
        ``E`` the mean expected property gradient over the checkpoints; ``flips`` the number of
        checkpoints whose prediction flips at least once along the sweep;
        ``significant`` the number with a significant shuffle test;
        ``rho`` the mean Pearson correlation over the checkpoints where it is
        defined (NaN if nowhere); ``rho_undefined`` the number of checkpoints
        with a constant curve (no correlation; the paper reports no mean
        for runs that have any); ``checkpoints`` the number of checkpoints.

        Parameters
        ----------
        sweep : str
            The sweep.

        Returns
        -------
        pandas.DataFrame
            One row per model, in run order.
        """
        import pandas as pd

        rows = self.table[self.table["sweep"] == sweep]
        if rows.empty:
            raise KeyError(f"no scores along {sweep!r}; sweeps: {self.sweeps}")
        records = {}
        for (model, init), run in rows.groupby(["model", "init"], sort=False):
            rho = run["rho"].to_numpy(dtype=float)
            defined = np.isfinite(rho)
            records[model, init] = {
                "E": float(run["E"].mean()),
                "flips": int((run["flips"] > 0).sum()),
                "significant": int(run["significant"].sum()),
                "rho": float(rho[defined].mean()) if defined.any() else np.nan,
                "rho_undefined": int((~defined).sum()),
                "checkpoints": len(run),
            }
        models = list(dict.fromkeys(m for m, _ in records))
        inits = [i for i in INITS if any(k[1] == i for k in records)]
        data = {
            (init, column): [records.get((m, init), {}).get(column, np.nan) for m in models]
            for init in inits
            for column in SUMMARY_COLUMNS
        }
        frame = pd.DataFrame(data, index=pd.Index(models, name="model"))
        frame.columns = pd.MultiIndex.from_tuples(frame.columns)
        return frame


def _validate_runs(runs: Sequence[RunOutputs], sweep_names: Sequence[str]) -> None:
    if not runs:
        raise ValueError("no runs to score")
    labels = [(r.model, r.init) for r in runs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"runs are listed twice: {labels}")
    for r in runs:
        shape = np.shape(r.outputs)
        if len(shape) != 4 or shape[0] != len(r.epochs):
            raise ValueError(
                f"{r.model} ({r.init}): outputs must be (K checkpoints, M sweeps, N steps, C), "
                f"got {shape} for {len(r.epochs)} epochs"
            )
        if shape[1] != len(sweep_names):
            raise ValueError(
                f"{r.model} ({r.init}): {shape[1]} sweeps but {len(sweep_names)} sweep names"
            )
        if shape[2] < 3:
            raise ValueError(f"{r.model} ({r.init}): sweeps need at least 3 steps, got {shape[2]}")


def score_runs(
    runs: Sequence[RunOutputs],
    sweep_names: Sequence[str],
    *,
    target: int = 1,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
    block: int = 512,
) -> Dynamics:
    """E, shuffle test, flips and Pearson's rho of every run, sweep and checkpoint.

    Parameters
    ----------
    runs : sequence of RunOutputs
        From :func:`checkpoint_outputs` (or built by hand), all along the same
        sweeps.
    sweep_names : sequence of str
        Names of the M sweeps, in order.
    target : int, optional
        The scored output column (default 1: the positive class of a binary
        task, e.g. "young").
    n_permutations, alpha, seed
        Settings of :func:`propgrad.stats.shuffle_test`. Every curve is
        shuffled with the same permutations (tested ``block`` curves per call
        with the same seed, which gives exactly the p-values of one call).
    block : int, optional
        Curves per shuffle-test call (bounds the memory of the null
        distributions).

    Returns
    -------
    Dynamics

    Raises
    ------
    ValueError
        For no runs, duplicated runs, or outputs of the wrong shape.
    """
    import pandas as pd

    from propgrad.measure import pearson_rho
    from propgrad.scores import flip_counts
    from propgrad.stats import shuffle_test

    sweep_names = [str(s) for s in sweep_names]
    _validate_runs(runs, sweep_names)
    labels, curves, flips, starts, start_class = [], [], [], [], []
    curve_map: dict[tuple[str, str, str], np.ndarray] = {}
    for r in runs:
        out = np.asarray(r.outputs, dtype=np.float64)
        k, m, n, c = out.shape
        if not -c <= target < c:
            raise ValueError(f"target {target} is out of range for {c} outputs")
        for j, name in enumerate(sweep_names):
            curve_map[r.model, r.init, name] = out[:, j, :, target]
        for e in range(k):
            flips.append(flip_counts(out[e]))
            for j, name in enumerate(sweep_names):
                labels.append((r.model, r.init, name, int(r.epochs[e])))
                curves.append(out[e, j, :, target])
                starts.append(out[e, j, 0, target])
                start_class.append(int(np.argmax(out[e, j, 0])))
    n_steps = {len(c) for c in curves}
    if len(n_steps) != 1:
        raise ValueError(f"all sweeps must have the same number of steps, got {sorted(n_steps)}")
    matrix = np.stack(curves)
    e_values, p_value, significant = [], [], []
    for start in range(0, len(matrix), int(block)):
        test = shuffle_test(
            matrix[start : start + int(block)],
            n_permutations=n_permutations,
            alpha=alpha,
            seed=seed,
        )
        e_values.append(np.atleast_1d(test.statistic))
        p_value.append(np.atleast_1d(test.p_value))
        significant.append(np.atleast_1d(test.significant))
    rho = np.atleast_1d(pearson_rho(matrix.T))
    table = pd.DataFrame(labels, columns=["model", "init", "sweep", "epoch"])
    table["E"] = np.concatenate(e_values).astype(float)
    table["p_value"] = np.concatenate(p_value).astype(float)
    table["significant"] = np.concatenate(significant).astype(bool)
    table["flips"] = np.concatenate(flips).astype(int)
    table["rho"] = rho.astype(float)
    table["start_class"] = np.asarray(start_class, dtype=int)
    table["start"] = np.asarray(starts, dtype=float)
    return Dynamics(
        table=table,
        curves=curve_map,
        target=int(target),
        n_permutations=int(n_permutations),
        alpha=float(alpha),
    )


def score_checkpoints(
    runs: Sequence[Any],
    local: LocalSweeps,
    *,
    target: int = 1,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
    cluster: Any = None,
    resources: Mapping[str, Any] | None = None,
) -> Dynamics:
    """Predict along the local sweeps with every kept checkpoint of every run, and score.

    One :func:`checkpoint_outputs` task per run (:func:`propgrad.tasks.run_tasks`:
    here, or on a Dask cluster), then :func:`score_runs`.

    Parameters
    ----------
    runs : sequence of TrainSpec or TrainedRun
        The runs (from :func:`run_specs`, or what :func:`propgrad.runs.train_runs`
        returned for them).
    local : LocalSweeps
        The sweeps and their names.
    target, n_permutations, alpha, seed
        As for :func:`score_runs`.
    cluster : str or dask Client, optional
        Where to run the tasks.
    resources : mapping, optional
        Dask worker resources each task needs (e.g. ``{"GPU": 1}``).

    Returns
    -------
    Dynamics
    """
    from propgrad.tasks import run_tasks

    # trained runs travel as they are: their checkpoints are read without training again
    tasks = [ScoreTask(run, local.sweeps) for run in runs]
    outputs = run_tasks(
        checkpoint_outputs, tasks, cluster=cluster, resources=resources, progress=False
    )
    return score_runs(
        outputs,
        local.names,
        target=target,
        n_permutations=n_permutations,
        alpha=alpha,
        seed=seed,
    )


class RunsOfSource:
    """Mixin of the chapter's data sources: their training runs (:func:`run_specs`).

    A source sets ``data``, ``data_key``, ``size``, ``num_threads`` and the
    class attribute ``class_names``.
    """

    class_names: tuple[str, ...]

    def runs(
        self,
        models: Mapping[str, Mapping[str, Any]],
        weights: Mapping[str, str],
        settings: Mapping[str, Any],
        *,
        seed: int = 0,
    ) -> list[Any]:
        """Every model trained from ``weights`` and from random weights (:func:`run_specs`)."""
        return run_specs(
            models,
            self.data,
            data_key=self.data_key,
            weights=weights,
            image_size=self.size,
            settings=settings,
            class_names=self.class_names,
            seed=seed,
            num_threads=self.num_threads,
        )


__all__ = [
    "RunsOfSource",
    "INITS",
    "NORMALISATION",
    "SCORE_COLUMNS",
    "SUMMARY_COLUMNS",
    "Dynamics",
    "LocalSweeps",
    "RunOutputs",
    "ScoreTask",
    "checkpoint_outputs",
    "run_label",
    "run_specs",
    "score_checkpoints",
    "score_runs",
]
