r"""Follow a property through training: score every kept checkpoint along sweeps.

The paper's training analysis (Sec. 4.3, appendix D) trains several
architectures, each from random initialisation and from pre-trained weights,
keeps the weights after every epoch, and asks at every epoch how strongly one
intervention (grey hair) moves one output ("young") of one input.
This module does the three steps for any such study:

1. **train** the runs: :class:`RunSpec` describes one run (a label such as
   ``"ResNet18"``, the initialisation, a timm architecture, its weights file,
   the data, the training settings); :func:`train_run` trains it with
   :func:`propgrad.train.fit` and keeps the checkpoint before training and
   after every epoch (cached by configuration, resumed after a kill);
2. **predict** along the sweeps at every checkpoint: :func:`checkpoint_outputs`
   loads each kept checkpoint into one model and runs
   :func:`propgrad.prediction.predict_sweeps` (batched over the frames of all
   sweeps, cached per checkpoint);
3. **score**: :func:`score_runs` computes, for every run, sweep and
   checkpoint, E[|∇X|] of the scored output, the shuffle test (one vectorised
   call for all curves), the number of prediction flips (arg-max changes) and
   Pearson's :math:`\rho` with the step; :meth:`Dynamics.summary` aggregates
   per run as the paper's Table 12 does.

Steps 1 and 2 are module-level functions of one picklable argument, so a
chapter hands them to :func:`propgrad.tasks.run_tasks` and they run in this
process, a process pool or on a Dask cluster; both are idempotent.

Data are named, not shipped: ``RunSpec.data`` is ``{"loader":
"package.module:function", **arguments}``; the loader returns ``(train,
eval_sets)`` in the forms :func:`propgrad.train.fit` accepts and is called
once per process and argument set (see :func:`load_data`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import propgrad.models.timm_extra  # noqa: F401 - registers propgrad's timm architectures
from propgrad.cache import config_key

#: The two initialisations of the paper's training analysis.
INITS = ("pretrained", "random")

#: Normalisation by initialisation (appendix D): ImageNet statistics for
#: pre-trained models, [-1, 1] for randomly initialised ones.
DEFAULT_NORMALISATION = {"pretrained": "imagenet", "random": "unit"}

#: Columns of :attr:`Dynamics.table` besides the labels.
SCORE_COLUMNS = ("E", "p_value", "significant", "flips", "rho", "start_class", "start")

#: Columns of :meth:`Dynamics.summary` per initialisation.
SUMMARY_COLUMNS = ("E", "flips", "significant", "rho", "rho_undefined", "checkpoints")


# ---------------------------------------------------------------------------
# runs


@dataclass(frozen=True)
class RunSpec:
    """One training run of a training-dynamics study.

    Parameters
    ----------
    model : str
        The label the run is reported under (the paper's row label, e.g.
        ``"ResNet18"``, also where a smaller member of the family stands in).
    init : {"pretrained", "random"}
        Initialisation; ``"pretrained"`` needs ``weights``.
    arch : str
        Architecture for :func:`propgrad.models.create_classifier` (a timm
        name or one of :data:`propgrad.models.timm_extra.REGISTERED`).
    image_size : int
        Input size.
    data : mapping
        ``{"loader": "module:function", **arguments}``; see :func:`load_data`.
    settings : mapping, optional
        Fields of :class:`propgrad.train.TrainSettings` (the paper's defaults
        otherwise).
    weights : str, optional
        File with pre-trained weights (``create_classifier(pretrained=...)``).
    model_kwargs : mapping, optional
        Architecture arguments.
    normalisation : str, optional
        Input normalisation; by default :data:`DEFAULT_NORMALISATION` of the
        initialisation.
    num_classes : int, optional
        Output classes.
    class_names : tuple of str, optional
        Names of the outputs.
    seed : int, optional
        Seed of the initial weights (and of the random head of pre-trained
        models).
    num_threads : int, optional
        Torch CPU threads while training (not part of the run's identity).

    Raises
    ------
    ValueError
        For an unknown initialisation, a pre-trained run without weights (or
        a random one with weights), or data without a loader.
    """

    model: str
    init: str
    arch: str
    image_size: int
    data: Mapping[str, Any]
    settings: Mapping[str, Any] = field(default_factory=dict)
    weights: str | None = None
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    normalisation: str | None = None
    num_classes: int = 2
    class_names: tuple[str, ...] | None = None
    seed: int = 0
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if self.init == "pretrained" and not self.weights:
            raise ValueError(f"{self.model}: a pre-trained run needs a weights file")
        if self.init == "random" and self.weights:
            raise ValueError(f"{self.model}: a randomly initialised run takes no weights file")
        if not isinstance(self.data, Mapping) or ":" not in str(self.data.get("loader", "")):
            raise ValueError(
                f"{self.model}: data must be a mapping with a 'loader' ('module:function'), "
                f"got {self.data!r}"
            )
        if self.weights is not None:
            object.__setattr__(self, "weights", str(self.weights))
        if self.class_names is not None:
            object.__setattr__(self, "class_names", tuple(self.class_names))

    @property
    def label(self) -> tuple[str, str]:
        """``(model, init)``."""
        return self.model, self.init

    def describe(self) -> dict[str, Any]:
        """A JSON description: architecture, arguments, initialisation, weights file."""
        return {
            "arch": self.arch,
            "model_kwargs": dict(self.model_kwargs),
            "init": self.init,
            "weights": self.weights,
            "image_size": int(self.image_size),
            "normalisation": self.normalisation or DEFAULT_NORMALISATION[self.init],
        }


@dataclass
class TrainedRun:
    """What :func:`train_run` returns (picklable).

    Attributes
    ----------
    spec : RunSpec
        The run.
    key : str
        The training cache key.
    folder : Path
        Its cache folder (holding the kept checkpoints).
    checkpoints : dict
        Epoch -> checkpoint file (0 = before training).
    accuracies : dict
        Evaluation set -> accuracy in [0, 1] of the final weights.
    history : list of dict
        Per-epoch loss, training accuracy and seconds.
    from_cache : bool
        Whether the run was finished before this call.
    """

    spec: RunSpec
    key: str
    folder: Path
    checkpoints: dict[int, Path]
    accuracies: dict[str, float]
    history: list[dict[str, float]]
    from_cache: bool

    @property
    def epochs(self) -> list[int]:
        """The epochs with a kept checkpoint, in order."""
        return sorted(self.checkpoints)


def run_specs(
    models: Mapping[str, Mapping[str, Any]],
    data: Mapping[str, Any],
    *,
    weights: Mapping[str, str | Path],
    image_size: int,
    settings: Mapping[str, Any] | None = None,
    inits: Sequence[str] = INITS,
    class_names: Sequence[str] | None = None,
    seed: int = 0,
    num_threads: int | None = None,
) -> list[RunSpec]:
    """The runs of a study: every model with every initialisation.

    Parameters
    ----------
    models : mapping
        Label -> ``{"arch": ..., "model_kwargs": {...}}``.
    data : mapping
        The runs' data (see :func:`load_data`).
    weights : mapping
        Label -> pre-trained weights file (needed for the pre-trained runs).
    image_size : int
        Input size.
    settings : mapping, optional
        Fields of :class:`propgrad.train.TrainSettings`, the same for every run.
    inits : sequence of str, optional
        Initialisations (default both of :data:`INITS`).
    class_names : sequence of str, optional
        Output names.
    seed, num_threads
        As for :class:`RunSpec`.

    Returns
    -------
    list of RunSpec
        Model by model, in the order of ``inits``.

    Raises
    ------
    ValueError
        If a pre-trained run has no weights file.
    """
    specs = []
    for label, model in models.items():
        for init in inits:
            if init == "pretrained" and not weights.get(label):
                raise ValueError(f"{label}: no pre-trained weights file given")
            specs.append(
                RunSpec(
                    model=str(label),
                    init=init,
                    arch=str(model["arch"]),
                    image_size=int(image_size),
                    data=dict(data),
                    settings=dict(settings or {}),
                    weights=str(weights[label]) if init == "pretrained" else None,
                    model_kwargs=dict(model.get("model_kwargs") or {}),
                    class_names=None if class_names is None else tuple(class_names),
                    seed=int(seed),
                    num_threads=num_threads,
                )
            )
    return specs


_DATA: dict[str, tuple[Any, Any]] = {}


def load_data(data: Mapping[str, Any]) -> tuple[Any, Mapping[str, Any]]:
    """Call a run's data loader (once per process and argument set).

    Parameters
    ----------
    data : mapping
        ``{"loader": "package.module:function", **arguments}``. The function
        is imported and called with the arguments; it returns ``(train,
        eval_sets)``: the training data and a mapping name -> evaluation data,
        in the forms :func:`propgrad.train.fit` accepts. The result is kept
        for later calls with equal arguments in this process.

    Returns
    -------
    train, eval_sets

    Raises
    ------
    ValueError
        If the loader cannot be imported or returns something else.
    """
    key = config_key({"data": dict(data)})
    if key not in _DATA:
        arguments = dict(data)
        target = str(arguments.pop("loader"))
        module_name, _, name = target.partition(":")
        try:
            loader = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"cannot import the data loader {target!r}: {error}") from None
        result = loader(**arguments)
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping)):
            raise ValueError(f"the data loader {target!r} must return (train, eval_sets)")
        _DATA[key] = result
    return _DATA[key]


def build_classifier(spec: RunSpec) -> Any:
    """The run's classifier before training (initial weights, its preprocessing).

    Parameters
    ----------
    spec : RunSpec
        The run.

    Returns
    -------
    propgrad.models.Classifier
    """
    from propgrad.models.classifier import create_classifier

    return create_classifier(
        spec.arch,
        int(spec.num_classes),
        pretrained=spec.weights,
        image_size=int(spec.image_size),
        normalisation=spec.normalisation or DEFAULT_NORMALISATION[spec.init],
        class_names=spec.class_names,
        name=f"{spec.model} ({spec.init})",
        seed=int(spec.seed),
        model_kwargs=dict(spec.model_kwargs),
    )


def _fit(spec: RunSpec, progress: bool) -> Any:
    from propgrad.train import fit

    def train() -> Any:
        return load_data(spec.data)[0]

    def eval_sets() -> Mapping[str, Any]:
        return load_data(spec.data)[1]

    return fit(
        build_classifier(spec),
        train,
        eval_sets=eval_sets,
        data_key=dict(spec.data),
        keep_checkpoints=True,
        progress=progress,
        num_threads=spec.num_threads,
        **dict(spec.settings),
    )


def train_run(spec: RunSpec, *, progress: bool = False) -> TrainedRun:
    """Train one run (or find it finished), keeping every epoch's checkpoint.

    A task for :func:`propgrad.tasks.run_tasks`: idempotent (a finished run is
    loaded, a killed one resumes from its last finished epoch, see
    :func:`propgrad.train.fit`).

    Parameters
    ----------
    spec : RunSpec
        The run.
    progress : bool, optional
        A progress bar over epochs (on a terminal).

    Returns
    -------
    TrainedRun
    """
    classifier = _fit(spec, progress)
    record = classifier.training
    return TrainedRun(
        spec=spec,
        key=record.key,
        folder=record.folder,
        checkpoints=dict(record.checkpoints),
        accuracies=dict(record.accuracies),
        history=list(record.history),
        from_cache=record.from_cache,
    )


# ---------------------------------------------------------------------------
# predictions at every checkpoint


@dataclass(frozen=True)
class ScoreTask:
    """The argument of :func:`checkpoint_outputs`: a run and the sweeps to predict along.

    Parameters
    ----------
    spec : RunSpec
        The run (trained by :func:`train_run` before, or trained now).
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

    spec: RunSpec
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

    The run is trained if it is not finished yet (:func:`train_run`); then
    one model is built and each checkpoint's weights are loaded into it in
    turn; every prediction goes through :func:`propgrad.prediction.predict_sweeps`
    (all frames of all sweeps batched, cached under the checkpoint's weights).
    A task for :func:`propgrad.tasks.run_tasks`.

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

    from propgrad.prediction import predict_sweeps

    classifier = _fit(task.spec, progress=False)
    record = classifier.training
    kept = dict(record.checkpoints)
    epochs = sorted(kept) if task.epochs is None else [int(e) for e in task.epochs]
    missing = [e for e in epochs if e not in kept]
    if missing:
        raise ValueError(
            f"{task.spec.model} ({task.spec.init}): no checkpoint kept for epochs {missing}"
        )
    model = classifier.model
    outputs = []
    for epoch in epochs:
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
            )
        )
    return RunOutputs(
        model=task.spec.model,
        init=task.spec.init,
        epochs=np.asarray(epochs, dtype=int),
        outputs=np.stack(outputs),
        accuracies=dict(record.accuracies),
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
        E[|∇X|] of the scored output (``E``), the shuffle test's
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
            One of :data:`SCORE_COLUMNS` (default E[|∇X|]).

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
        ``E`` the mean E[|∇X|] over the checkpoints; ``flips`` the number of
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
    """E[|∇X|], shuffle test, flips and Pearson's rho of every run, sweep and checkpoint.

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


__all__ = [
    "DEFAULT_NORMALISATION",
    "INITS",
    "SCORE_COLUMNS",
    "SUMMARY_COLUMNS",
    "Dynamics",
    "RunOutputs",
    "RunSpec",
    "ScoreTask",
    "TrainedRun",
    "build_classifier",
    "checkpoint_outputs",
    "load_data",
    "run_specs",
    "score_runs",
    "train_run",
]
