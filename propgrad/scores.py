"""Scores of models along sweeps: per sweep, and the paper's *mean behaviour*.

Given model outputs along M sweeps of N steps (an array (M, N, C)), this
module computes for every sweep the expected property gradient magnitude
E[|∇X|] of one output column, its shuffle-test p-value, significance, and the
number of prediction flips (changes of the arg-max class, see
:func:`propgrad.measure.prediction_flips`). The paper also summarises a group
of sweeps by its **mean behaviour** (Tables 3, 6, 7 and 14, and the legends of
Figs. 3 and 12): the mean output curve over the group, E[|∇X|] of that mean
curve, its shuffle test and whether the mean prediction flips. Both kinds of
number come out of :func:`mean_behaviour` for one group, out of
:func:`behaviour_table` for many, and out of :func:`score_models` straight
from models and sweeps (predictions cached, see
:func:`propgrad.prediction.predict_sweeps`).

Prediction flips here are always arg-max changes over the model's classes; the
0.5 line drawn in binary plots is a plotting aid only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from propgrad.stats import shuffle_test

_PER_SWEEP_COLUMNS = ("E", "p_value", "significant", "flips")

#: How E[|∇X|] is reported (see :func:`per_options`).
PER = ("step", "unit", "total")


def per_options(
    per: str, n_steps: int, measure_options: Mapping[str, Any], grid_name: str | None = None
) -> tuple[dict[str, Any], float, str]:
    """Resolve a reporting convention for E[|∇X|] into measure options and a factor.

    Parameters
    ----------
    per : {"step", "unit", "total"}
        ``"step"``: the paper's convention, the mean absolute change per step
        of the sweep (unit grid). ``"unit"``: per unit of the property, the
        derivative taken on the property's values (``grid`` in
        ``measure_options``; a sweep's own grid when it has one). ``"total"``:
        E per step times the number of steps ``N - 1``, about the total change
        along the sweep, comparable between sweeps of different lengths.
    n_steps : int
        Points along the sweep, ``N``.
    measure_options : mapping
        The options for the shuffle test and the gradient (may hold ``grid``).
    grid_name : str, optional
        What the grid values are, for the unit label.

    Returns
    -------
    options : dict
        The measure options to use.
    factor : float
        Multiply E (per step) by it (``N - 1`` for ``"total"``, else 1).
    unit : str
        A label for table headers: ``"per step"``, ``"per unit of ..."`` or
        ``"total over N - 1 steps"``.

    Raises
    ------
    ValueError
        For an unknown ``per``, ``"unit"`` without a grid, or a grid with
        ``"step"`` or ``"total"`` (which are defined on unit steps).
    """
    options = dict(measure_options)
    if per not in PER:
        raise ValueError(f"per must be one of {PER}, got {per!r}")
    if per == "unit":
        if options.get("grid") is None:
            raise ValueError(
                "per='unit' needs the property's values: pass grid=... (one value per step) "
                "or sweeps that carry their grid (propgrad.Sweep)"
            )
        return options, 1.0, f"per unit of {grid_name or 'the property'}"
    if options.get("grid") is not None:
        raise ValueError(f"per={per!r} measures along unit steps; drop grid=... or use per='unit'")
    if per == "total":
        return options, float(n_steps - 1), f"total over {n_steps - 1} steps"
    return options, 1.0, "per step"


def as_outputs(outputs: Any) -> np.ndarray:
    """Return model outputs as a float array (M sweeps, N steps, C outputs).

    Parameters
    ----------
    outputs : array_like
        (M, N, C) for many sweeps, (N, C) for one sweep, or (N,) for one sweep
        of a single output (read as the probability of the positive class of a
        binary classifier when counting flips).

    Returns
    -------
    ndarray
        float64 (M, N, C).

    Raises
    ------
    ValueError
        For other shapes, NaN or inf values, or fewer than two steps.
    """
    arr = np.asarray(outputs, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :, None]
    elif arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim != 3:
        raise ValueError(
            f"outputs must be (M sweeps, N steps, C outputs), (N, C) or (N,); got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] < 2 or arr.shape[2] == 0:
        raise ValueError(f"need at least one sweep of two or more steps, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"outputs contain NaN or inf (first at sweep, step, output = {first})")
    return arr


def flip_counts(outputs: Any) -> np.ndarray:
    """Number of prediction flips along every sweep.

    A flip is a change of the arg-max class between consecutive steps (ties go
    to the lowest class index, as with :func:`numpy.argmax`). A single output
    column is read as the probability of the positive class of a binary
    classifier (positive when above 0.5), which is the arg-max of
    ``[1 - p, p]``. This is :func:`propgrad.measure.prediction_flips` for many
    sweeps at once.

    Parameters
    ----------
    outputs : array_like
        See :func:`as_outputs`.

    Returns
    -------
    ndarray of int, shape (M,)
    """
    arr = as_outputs(outputs)
    labels = arr[..., 0] > 0.5 if arr.shape[2] == 1 else np.argmax(arr, axis=2)
    return np.count_nonzero(labels[:, 1:] != labels[:, :-1], axis=1)


def _target_index(target: int | str, n_outputs: int, class_names: Sequence[str] | None) -> int:
    if isinstance(target, str):
        if class_names is None or target not in class_names:
            raise ValueError(
                f"unknown output {target!r}; class names are {list(class_names or [])}"
            )
        return list(class_names).index(target)
    index = int(target)
    if not -n_outputs <= index < n_outputs:
        raise ValueError(f"target {target} is out of range for {n_outputs} outputs")
    return index % n_outputs


def _sweep_frame(curves: np.ndarray, flips: np.ndarray, test: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "sweep": np.arange(len(curves)),
            "E": np.atleast_1d(test.statistic).astype(float),
            "p_value": np.atleast_1d(test.p_value).astype(float),
            "significant": np.atleast_1d(test.significant).astype(bool),
            "flips": flips.astype(int),
        }
    )


@dataclass(frozen=True)
class MeanBehaviour:
    """Behaviour of one model along a group of M sweeps of N steps.

    Attributes
    ----------
    mean_outputs : ndarray
        Mean outputs over the sweeps, (N, C).
    mean_curve, std_curve : ndarray
        Mean and standard deviation over the sweeps of the scored output, (N,).
    expected_property_gradient : float
        E[|∇X|] of the mean curve (column ``E`` of the tables).
    p_value : float
        Shuffle-test p-value of the mean curve (+1 correction).
    significant : bool
        ``p_value < alpha``.
    flips : int
        Prediction flips of the mean outputs (arg-max changes).
    per_sweep : pandas.DataFrame
        One row per sweep: ``sweep``, ``E``, ``p_value``,
        ``significant``, ``flips``.
    target : int
        The scored output column.
    alpha : float
        Significance level.
    unit : str
        What E is measured per (``"per step"``, ``"per unit of ..."``,
        ``"total over ... steps"``; see :func:`per_options`).
    """

    mean_outputs: np.ndarray
    mean_curve: np.ndarray
    std_curve: np.ndarray
    expected_property_gradient: float
    p_value: float
    significant: bool
    flips: int
    per_sweep: Any
    target: int
    alpha: float
    unit: str = "per step"

    @property
    def n_sweeps(self) -> int:
        """Number of sweeps M."""
        return len(self.per_sweep)

    @property
    def mean_expected_property_gradient(self) -> float:
        """Mean of the per-sweep E[|∇X|] (differs from E of the mean curve when onsets vary)."""
        return float(self.per_sweep["E"].mean())

    @property
    def fraction_significant(self) -> float:
        """Fraction of sweeps whose change is significant."""
        return float(self.per_sweep["significant"].mean())

    @property
    def fraction_flipped(self) -> float:
        """Fraction of sweeps whose prediction flips at least once."""
        return float((self.per_sweep["flips"] > 0).mean())

    @property
    def mean_flips(self) -> float:
        """Mean number of flips per sweep."""
        return float(self.per_sweep["flips"].mean())

    def row(self, names: Sequence[str] = ("E[|∇X|]", "p<0.01", "Pred. Flips")) -> dict[str, Any]:
        """The paper's three numbers of a mean behaviour, under the given column names.

        Parameters
        ----------
        names : (str, str, str), optional
            Labels for E[|∇X|] of the mean curve, its significance and the
            prediction flips of the mean outputs (default: Tables 6 and 7's).

        Returns
        -------
        dict
            ``{names[0]: E, names[1]: significant, names[2]: flips}``.
        """
        e, significant, flips = names
        return {
            e: self.expected_property_gradient,
            significant: self.significant,
            flips: self.flips,
        }

    def summary(self) -> dict[str, Any]:
        """The scalar numbers as a dict (one row of :func:`behaviour_table`)."""
        return {
            "n_sweeps": self.n_sweeps,
            "E": self.expected_property_gradient,
            "p_value": self.p_value,
            "significant": self.significant,
            "flips": self.flips,
            "mean_E": self.mean_expected_property_gradient,
            "fraction_significant": self.fraction_significant,
            "fraction_flipped": self.fraction_flipped,
            "mean_flips": self.mean_flips,
        }


def sweep_scores(
    outputs: Any,
    target: int | str = 0,
    *,
    class_names: Sequence[str] | None = None,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
    **measure_options: Any,
) -> Any:
    """E[|∇X|], shuffle-test p-value, significance and flips of every sweep.

    Parameters
    ----------
    outputs : array_like
        (M, N, C), (N, C) or (N,); see :func:`as_outputs`.
    target : int or str, optional
        The output column to score (a class name needs ``class_names``).
    class_names : sequence of str, optional
        Names of the output columns.
    n_permutations, alpha, seed
        Settings of :func:`propgrad.stats.shuffle_test` (one vectorised call
        for all sweeps, sharing the permutations).
    **measure_options
        Finite-difference options passed to the shuffle test, whose statistic
        is E[|∇X|]: ``grid``, ``accuracy``, ``scheme``.

    Returns
    -------
    pandas.DataFrame
        Columns ``sweep``, ``E``, ``p_value``, ``significant``, ``flips``.
    """
    arr = as_outputs(outputs)
    column = _target_index(target, arr.shape[2], class_names)
    curves = arr[:, :, column]
    test = shuffle_test(
        curves, n_permutations=n_permutations, alpha=alpha, seed=seed, **measure_options
    )
    return _sweep_frame(curves, flip_counts(arr), test)


def mean_behaviour(
    outputs: Any,
    target: int | str = 0,
    *,
    class_names: Sequence[str] | None = None,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
    per: str = "step",
    grid_name: str | None = None,
    **measure_options: Any,
) -> MeanBehaviour:
    """The paper's mean behaviour of a group of sweeps, plus per-sweep scores.

    Parameters
    ----------
    outputs : array_like
        (M, N, C): outputs of one model along M sweeps (e.g. softmax
        probabilities); see :func:`as_outputs`.
    target : int or str, optional
        The output column whose curve is scored (e.g. 0 for p(cat)).
    class_names, n_permutations, alpha, seed, **measure_options
        As for :func:`sweep_scores`.
    per : {"step", "unit", "total"}, optional
        What E is measured per (:func:`per_options`): the paper's per step
        (default), per unit of the property (needs ``grid``), or the total
        over the sweep. p-values do not depend on it.
    grid_name : str, optional
        What the grid values are (for the unit label).

    Returns
    -------
    MeanBehaviour

    Examples
    --------
    >>> import numpy as np
    >>> p = np.linspace(0.2, 0.8, 21)
    >>> outputs = np.stack([np.stack([1 - p, p], axis=1)] * 2)  # two sweeps, two classes
    >>> m = mean_behaviour(outputs, target=1, n_permutations=999)
    >>> round(m.expected_property_gradient, 3), m.flips, bool(m.significant)
    (0.03, 1, True)
    """
    arr = as_outputs(outputs)
    measure_options, factor, unit = per_options(per, arr.shape[1], measure_options, grid_name)
    column = _target_index(target, arr.shape[2], class_names)
    per_sweep = sweep_scores(
        arr,
        column,
        n_permutations=n_permutations,
        alpha=alpha,
        seed=seed,
        **measure_options,
    )
    mean_outputs = arr.mean(axis=0)
    mean_curve = mean_outputs[:, column]
    test = shuffle_test(
        mean_curve, n_permutations=n_permutations, alpha=alpha, seed=seed, **measure_options
    )
    if factor != 1.0:
        per_sweep["E"] = per_sweep["E"] * factor
    return MeanBehaviour(
        mean_outputs=mean_outputs,
        mean_curve=mean_curve,
        std_curve=arr[:, :, column].std(axis=0),
        expected_property_gradient=float(test.statistic) * factor,
        p_value=float(test.p_value),
        significant=bool(test.significant),
        flips=int(flip_counts(mean_outputs)[0]),
        per_sweep=per_sweep,
        target=column,
        alpha=float(alpha),
        unit=unit,
    )


def _key_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def behaviour_table(
    behaviours: Mapping[Any, MeanBehaviour], names: Sequence[str] | None = None
) -> Any:
    """One row per group with its mean behaviour and per-sweep aggregates.

    Parameters
    ----------
    behaviours : mapping
        Key (a string or a tuple such as ``(model, group)``) ->
        :class:`MeanBehaviour`.
    names : sequence of str, optional
        Names of the key levels (default ``key0``, ``key1``, ...).

    Returns
    -------
    pandas.DataFrame
        Indexed by the keys; columns ``n_sweeps``, ``E`` (E of the mean
        curve), ``p_value``, ``significant``, ``flips`` (of the mean outputs),
        ``mean_E`` (mean per-sweep E), ``fraction_significant``,
        ``fraction_flipped``, ``mean_flips``.
    """
    import pandas as pd

    if not behaviours:
        raise ValueError("no groups to tabulate")
    keys = [_key_tuple(k) for k in behaviours]
    depth = len(keys[0])
    names = list(names) if names is not None else [f"key{i}" for i in range(depth)]
    index = pd.MultiIndex.from_tuples(keys, names=names) if depth > 1 else None
    rows = [b.summary() for b in behaviours.values()]
    frame = pd.DataFrame(rows, index=index)
    if depth == 1:
        frame.index = pd.Index([k[0] for k in keys], name=names[0])
    return frame


def sweep_table(behaviours: Mapping[Any, MeanBehaviour], names: Sequence[str] | None = None) -> Any:
    """All per-sweep scores of many groups as one tidy table.

    Parameters
    ----------
    behaviours : mapping
        Key -> :class:`MeanBehaviour` (as for :func:`behaviour_table`).
    names : sequence of str, optional
        Column names of the key levels.

    Returns
    -------
    pandas.DataFrame
        The key columns, then ``sweep``, ``E``, ``p_value``,
        ``significant``, ``flips``; one row per (key, sweep).
    """
    import pandas as pd

    parts = []
    for key, behaviour in behaviours.items():
        values = _key_tuple(key)
        level_names = list(names) if names is not None else [f"key{i}" for i in range(len(values))]
        part = behaviour.per_sweep.copy()
        for name, value in zip(reversed(level_names), reversed(values), strict=True):
            part.insert(0, name, value)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@dataclass
class Scores:
    """Outputs and scores of several models along several groups of sweeps.

    Attributes
    ----------
    outputs : dict
        ``(model, group)`` -> outputs (M, N, C).
    behaviours : dict
        ``(model, group)`` -> :class:`MeanBehaviour`.
    unit : str
        What E is measured per (see :func:`per_options`), for table headers.
    """

    outputs: dict[tuple[str, str], np.ndarray]
    behaviours: dict[tuple[str, str], MeanBehaviour]
    unit: str = "per step"

    def __getitem__(self, key: tuple[str, str]) -> MeanBehaviour:
        return self.behaviours[key]

    @property
    def table(self) -> Any:
        """:func:`behaviour_table` indexed by (model, group)."""
        return behaviour_table(self.behaviours, names=("model", "group"))

    @property
    def per_sweep(self) -> Any:
        """:func:`sweep_table` with columns model, group, sweep, ..."""
        return sweep_table(self.behaviours, names=("model", "group"))

    def per_model(self) -> Any:
        """Per-sweep scores aggregated over all groups of each model.

        Returns
        -------
        pandas.DataFrame
            Indexed by model, in the order of the models: ``n_sweeps``,
            ``mean_E`` (mean per-sweep E[|∇X|]), ``fraction_significant``,
            ``fraction_flipped``.
        """
        table = self.per_sweep
        order = list(dict.fromkeys(m for m, _ in self.behaviours))
        summary = table.groupby("model", sort=False).agg(
            n_sweeps=("sweep", "size"),
            mean_E=("E", "mean"),
            fraction_significant=("significant", "mean"),
            fraction_flipped=("flips", lambda f: float((f > 0).mean())),
        )
        return summary.loc[order]

    def curves(
        self,
        group: str,
        sweep: int | None = None,
        labels: Mapping[str, str] | None = None,
        digits: int = 4,
    ) -> dict[str, np.ndarray]:
        """Curves of every model in one group, labelled with their E[|∇X|] (the paper's legends).

        Parameters
        ----------
        group : str
            The group.
        sweep : int, optional
            One sweep of the group; ``None`` gives the mean curves.
        labels : mapping, optional
            Model -> display name.
        digits : int, optional
            Decimals of E[|∇X|] in the labels.

        Returns
        -------
        dict
            ``"<model> (E[|∇X|] = ...)"`` -> scored output along the sweep (N,).
        """
        out = {}
        for model, behaviour in self.models(group).items():
            name = (labels or {}).get(model, model)
            if sweep is None:
                value, curve = behaviour.expected_property_gradient, behaviour.mean_curve
            else:
                value = float(behaviour.per_sweep["E"].iloc[sweep])
                curve = self.outputs[model, group][sweep, :, behaviour.target]
            out[f"{name} (E[|∇X|] = {value:.{digits}f})"] = curve
        return out

    def groups(self, model: str) -> dict[str, MeanBehaviour]:
        """Group -> mean behaviour of one model."""
        return {g: b for (m, g), b in self.behaviours.items() if m == model}

    def models(self, group: str) -> dict[str, MeanBehaviour]:
        """Model -> mean behaviour within one group (e.g. for one panel)."""
        return {m: b for (m, g), b in self.behaviours.items() if g == group}


def score_models(
    models: Mapping[str, Any],
    sweeps: Any,
    target: int | str = 0,
    *,
    softmax: bool = True,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
    batch_size: int = 64,
    cache: bool = True,
    progress: bool = True,
    per: str = "step",
    **measure_options: Any,
) -> Scores:
    """Run models along groups of sweeps and score everything in one call.

    Parameters
    ----------
    models : mapping
        Name -> :class:`propgrad.models.Classifier` (or ``(model,
        preprocess)``).
    sweeps : mapping or sequence
        Group name -> sweeps (a uint8 array (M, N, H, W, 3) or a sequence of
        sweeps of equal length); a plain array or sequence is one group,
        ``"all"``.
    target : int or str, optional
        Output column scored (a class name works for classifiers with
        ``class_names``).
    softmax : bool, optional
        Softmax the model outputs (default, for logits).
    n_permutations, alpha, seed
        Shuffle-test settings.
    batch_size, cache, progress
        As for :func:`propgrad.prediction.predict_sweeps`.
    per : {"step", "unit", "total"}, optional
        What E[|∇X|] is measured per (:func:`per_options`). ``"unit"`` takes
        the property's values from ``grid=`` or, when the sweeps of a group
        are :class:`~propgrad.sweep.Sweep` objects with one common grid, from
        them; the unit then names the sweeps' ``grid_name``.
    **measure_options
        Passed to the shuffle test and gradient (``grid``, ``accuracy``, ...).

    Returns
    -------
    Scores
    """
    from propgrad.models.classifier import Classifier
    from propgrad.prediction import predict_sweeps, sweep_digests

    groups = dict(sweeps) if isinstance(sweeps, Mapping) else {"all": sweeps}
    digests: dict[str, list[str]] = {}  # each group hashed once, for every model
    outputs: dict[tuple[str, str], np.ndarray] = {}
    behaviours: dict[tuple[str, str], MeanBehaviour] = {}
    for name, model in models.items():
        if isinstance(model, Classifier):
            net, pre = model, None
        elif isinstance(model, tuple) and len(model) == 2:
            net, pre = model
        else:
            raise ValueError(
                f"model {name!r} must be a Classifier (propgrad.create_classifier) or a "
                f"(model, preprocess) pair, got {type(model).__name__}"
            )
        class_names = model.class_names if isinstance(model, Classifier) else None
        for group, group_sweeps in groups.items():
            options, grid_name = dict(measure_options), None
            if per == "unit" and options.get("grid") is None:
                options["grid"], grid_name = _common_grid(group, group_sweeps)
            if cache and group not in digests:
                digests[group] = sweep_digests(group_sweeps)
            out = predict_sweeps(
                net,
                group_sweeps,
                pre,
                softmax=softmax,
                batch_size=batch_size,
                cache=cache,
                progress=progress,
                desc=f"{name} / {group}",
                digests=digests.get(group),
            )
            outputs[name, group] = out
            behaviours[name, group] = mean_behaviour(
                out,
                target,
                class_names=class_names,
                n_permutations=n_permutations,
                alpha=alpha,
                seed=seed,
                per=per,
                grid_name=grid_name,
                **options,
            )
    unit = next(iter(behaviours.values())).unit if behaviours else "per step"
    return Scores(outputs, behaviours, unit)


def _common_grid(group: str, sweeps: Any) -> tuple[Any, str | None]:
    """The one grid the sweeps of a group share (for ``per="unit"``), and its name."""
    grids = [getattr(s, "grid", None) for s in sweeps] if not isinstance(sweeps, np.ndarray) else []
    if not grids or any(g is None for g in grids):
        raise ValueError(
            f"per='unit' needs the property's values: the sweeps of group {group!r} carry no "
            "grid (arrays); pass grid=... or propgrad.Sweep objects"
        )
    first = np.asarray(grids[0], dtype=float)
    for g in grids[1:]:
        if np.shape(g) != first.shape or not np.allclose(g, first):
            raise ValueError(
                f"per='unit' needs one grid per group, but the sweeps of group {group!r} have "
                "different grids; score them in separate groups"
            )
    return first, getattr(sweeps[0], "grid_name", None)


__all__ = [
    "PER",
    "MeanBehaviour",
    "Scores",
    "as_outputs",
    "behaviour_table",
    "flip_counts",
    "mean_behaviour",
    "per_options",
    "score_models",
    "sweep_scores",
    "sweep_table",
]
