"""Training runs: one typed description, run in this process, a pool or on Dask.

Every chapter that trains classifiers (the three toy chapters and the paper
branches) describes a run the same way, with a :class:`TrainSpec`: the
architecture and its arguments, how it starts (random weights or a weights
file), the data, the training settings, and labels (``tags``) saying what the
run stands for in the chapter (a split, a variant, an initialisation).

* :func:`build_classifier` builds the untrained classifier of a spec
  (:func:`propgrad.models.create_classifier`, with its own preprocessing);
* :func:`train_run` trains it with :func:`propgrad.train.fit` (cached under the
  key of the full configuration, resumed after a kill, checkpoints kept on
  request) and returns a small picklable :class:`TrainedRun`;
* :func:`train_runs` runs many specs as tasks (:func:`propgrad.tasks.run_tasks`):
  one after the other here, in a local process pool, or on a Dask cluster;
  :meth:`TrainedRun.classifier` then loads a trained model (or any kept
  checkpoint) in the calling process.

Data are named, not shipped: ``TrainSpec.data`` is ``{"loader":
"package.module:function", **arguments}``. The loader returns ``(train,
eval_sets)`` in the forms :func:`propgrad.train.fit` accepts; it is imported and
called where the run trains, once per process and argument set
(:func:`load_data`), and only when a run is not already in the cache. What
identifies the data in the cache key is ``data_key`` (by default ``data``
itself), so a chapter can keep the key its cached models were trained under.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propgrad.cache import config_key

__all__ = [
    "TrainSpec",
    "TrainedRun",
    "build_classifier",
    "load_data",
    "train_run",
    "train_runs",
]

_DATA: dict[str, tuple[Any, Mapping[str, Any]]] = {}


@dataclass(frozen=True)
class TrainSpec:
    """One training run of a classifier.

    Parameters
    ----------
    name : str
        The classifier's name (e.g. ``"ResNet18 (biased)"``).
    arch : str
        An architecture for :func:`propgrad.models.create_classifier` (a timm
        name, ``"convmixer"`` or one of propgrad's registered timm models).
    data : mapping
        ``{"loader": "package.module:function", **arguments}``; see
        :func:`load_data`.
    data_key : object, optional
        JSON-serialisable identity of the training data in the cache key
        (default: ``data``). ``"content"`` loads the data and keys the run
        by a hash of the training images and labels (or of the image files'
        paths and labels), for data that can change under the same name.
    image_size : int, optional
        Input size (default: the architecture's).
    num_classes : int, optional
        Output classes (default 2).
    class_names : sequence of str, optional
        Names of the outputs.
    model_kwargs : mapping, optional
        Architecture arguments.
    weights : str, optional
        A weights file to start from (``create_classifier(pretrained=...)``:
        the backbone is loaded, the head is new); ``None`` starts from random
        weights.
    normalisation : str, optional
        Input normalisation (e.g. ``"imagenet"`` or ``"unit"`` for [-1, 1]);
        default: the architecture's.
    seed : int or None, optional
        Seed of the initial weights (``None``: torch's global random state).
    settings : mapping, optional
        Fields of :class:`propgrad.train.TrainSettings` (the paper's defaults
        otherwise).
    train_only : {None, "head"}, optional
        ``"head"`` fits only the classifier head (a linear probe).
    keep_checkpoints : bool, optional
        Keep the weights before training and after every epoch.
    num_threads : int, optional
        Torch CPU threads while training (not part of the run's identity).
    tags : mapping, optional
        What the run stands for in its chapter (e.g. ``{"model": "ResNet18",
        "init": "random"}``); not part of the run's identity.

    Raises
    ------
    ValueError
        If ``data`` has no ``loader`` of the form ``"module:function"``, or
        ``train_only`` is not ``None`` or ``"head"``.
    """

    name: str
    arch: str
    data: Mapping[str, Any]
    data_key: Any = None
    image_size: int | None = None
    num_classes: int = 2
    class_names: tuple[str, ...] | None = None
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    weights: str | None = None
    normalisation: str | None = None
    seed: int | None = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    train_only: str | None = None
    keep_checkpoints: bool = False
    num_threads: int | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.data, Mapping) or ":" not in str(self.data.get("loader", "")):
            raise ValueError(
                f"{self.name}: data must be a mapping with a 'loader' ('module:function'), "
                f"got {self.data!r}"
            )
        if self.train_only not in (None, "head"):
            raise ValueError(
                f"{self.name}: train_only must be None or 'head', got {self.train_only!r}"
            )
        if self.weights is not None:
            object.__setattr__(self, "weights", str(self.weights))
        if self.class_names is not None:
            object.__setattr__(self, "class_names", tuple(self.class_names))

    def replace(self, **changes: Any) -> TrainSpec:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """A JSON description of the model: architecture, arguments, start, input."""
        return {
            "arch": self.arch,
            "model_kwargs": dict(self.model_kwargs),
            "weights": self.weights,
            "image_size": self.image_size,
            "normalisation": self.normalisation,
            **{k: v for k, v in self.tags.items() if isinstance(v, (str, int, float, bool))},
        }


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


def build_classifier(spec: TrainSpec, *, checkpoint: str | Path | None = None) -> Any:
    """The run's classifier before training (its initial weights and preprocessing).

    Parameters
    ----------
    spec : TrainSpec
        The run.
    checkpoint : str or Path, optional
        Load these weights instead (e.g. a kept checkpoint of the run).

    Returns
    -------
    propgrad.models.Classifier
    """
    import propgrad.models.timm_extra  # noqa: F401 - registers propgrad's timm architectures
    from propgrad.models.classifier import create_classifier

    return create_classifier(
        spec.arch,
        int(spec.num_classes),
        pretrained=spec.weights,
        checkpoint=checkpoint,
        image_size=None if spec.image_size is None else int(spec.image_size),
        normalisation=spec.normalisation,
        class_names=spec.class_names,
        name=spec.name,
        seed=spec.seed,
        model_kwargs=dict(spec.model_kwargs),
    )


def fit_spec(spec: TrainSpec, *, progress: bool = False) -> Any:
    """Train the run's classifier (or load it from the cache) in this process.

    Parameters
    ----------
    spec : TrainSpec
        The run.
    progress : bool, optional
        A progress bar over epochs (on a terminal).

    Returns
    -------
    propgrad.models.Classifier
        Trained, in eval mode; ``.training`` holds the training record.
    """
    from propgrad.train import TrainSettings, fit

    by_content = isinstance(spec.data_key, str) and spec.data_key == "content"
    if by_content:
        train, data_key = load_data(spec.data)[0], None
    else:
        train = lambda: load_data(spec.data)[0]  # noqa: E731 - loaded only to train
        data_key = dict(spec.data) if spec.data_key is None else spec.data_key
    return fit(
        build_classifier(spec),
        train,
        eval_sets=lambda: load_data(spec.data)[1],
        settings=TrainSettings(**dict(spec.settings)),
        data_key=data_key,
        # the loader and its arguments fix the evaluation sets too: a trained run is
        # loaded without rendering or reading them again
        eval_key={"data": dict(spec.data)},
        keep_checkpoints=spec.keep_checkpoints,
        train_only=spec.train_only,
        progress=progress,
        num_threads=spec.num_threads,
    )


@dataclass
class TrainedRun:
    """What :func:`train_run` returns: where a trained run lives (picklable, no model).

    Attributes
    ----------
    spec : TrainSpec
        The run.
    key : str
        The training cache key.
    folder : Path
        Its cache folder.
    checkpoints : dict
        Epoch -> kept checkpoint file (0 = before training); empty unless
        ``spec.keep_checkpoints``.
    accuracies : dict
        Evaluation set -> accuracy in [0, 1] of the final weights.
    history : list of dict
        Per-epoch loss, training accuracy and seconds.
    from_cache : bool
        Whether the run was finished before this call.
    """

    spec: TrainSpec
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

    def classifier(self, epoch: int | None = None) -> Any:
        """The trained classifier, or the one kept after ``epoch`` (0: before training).

        Parameters
        ----------
        epoch : int, optional
            A kept epoch; ``None`` loads the final weights (from the cache,
            without retraining).

        Returns
        -------
        propgrad.models.Classifier

        Raises
        ------
        KeyError
            If ``epoch`` was not kept.
        """
        if epoch is None:
            return fit_spec(self.spec)
        if epoch not in self.checkpoints:
            raise KeyError(
                f"{self.spec.name}: no checkpoint after epoch {epoch}; kept: {self.epochs}"
            )
        return build_classifier(self.spec, checkpoint=self.checkpoints[epoch])


def train_run(spec: TrainSpec, *, progress: bool = False) -> TrainedRun:
    """Train one run (or find it finished); a task for :func:`propgrad.tasks.run_tasks`.

    Idempotent: a finished run is loaded from the cache and a killed one
    resumes from its last finished epoch (see :func:`propgrad.train.fit`).

    Parameters
    ----------
    spec : TrainSpec
        The run.
    progress : bool, optional
        A progress bar over epochs (on a terminal).

    Returns
    -------
    TrainedRun
    """
    record = fit_spec(spec, progress=progress).training
    return TrainedRun(
        spec=spec,
        key=record.key,
        folder=record.folder,
        checkpoints=dict(record.checkpoints),
        accuracies=dict(record.accuracies),
        history=list(record.history),
        from_cache=record.from_cache,
    )


def train_runs(
    specs: Sequence[TrainSpec],
    *,
    cluster: Any = None,
    max_workers: int = 1,
    resources: Mapping[str, Any] | None = None,
    progress: bool = True,
    desc: str = "train",
) -> list[TrainedRun]:
    """Train many runs as tasks: here, in a process pool or on a Dask cluster.

    Parameters
    ----------
    specs : sequence of TrainSpec
        The runs.
    cluster : str, dask Client or cluster, optional
        A Dask scheduler (see :func:`propgrad.tasks.run_tasks`); ``None`` runs
        here (``max_workers=1``) or in a local process pool.
    max_workers : int, optional
        Local worker processes when there is no cluster.
    resources : mapping, optional
        Dask worker resources each run needs (e.g. ``{"GPU": 1}``).
    progress : bool, optional
        A progress bar over the runs.
    desc : str, optional
        Its label.

    Returns
    -------
    list of TrainedRun
        In the order of ``specs``.
    """
    from propgrad.tasks import run_tasks

    return run_tasks(
        train_run,
        list(specs),
        cluster=cluster,
        max_workers=max_workers,
        resources=resources,
        progress=progress,
        desc=desc,
    )
