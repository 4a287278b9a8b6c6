"""Explain a model on a sweep in one call: outputs, E[|∇X|], shuffle tests, flips, figure.

This module is the "report" end of the data flow. It strings together
:func:`propgrad.prediction.predict`, :func:`propgrad.measure.expected_property_gradient`,
:func:`propgrad.stats.shuffle_test` and :func:`propgrad.measure.prediction_flips`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.measure import expected_property_gradient, prediction_flips
from propgrad.prediction import predict
from propgrad.record import _plain
from propgrad.stats import shuffle_test


@dataclass
class ExplainReport:
    """What one model does along one sweep.

    Attributes
    ----------
    outputs : ndarray
        Model outputs, shape (N, C): one row per image of the sweep.
    grid : ndarray
        The sweep's grid values (N,), used for plotting (and for the scores
        with ``per="unit"``; ``metadata["scores_use"]`` says which).
    grid_name : str
        What the grid values are.
    class_names : list of str
        One name per output column.
    expected_property_gradient : ndarray
        E[|∇X|] per output column (C,), per step of the sweep.
    p_values : ndarray
        Shuffle-test p-values per column (C,), with the +1 correction.
    significant : ndarray
        ``p_values < alpha`` per column (C,).
    flips : int
        Number of changes of the arg-max class along the sweep (0: none).
    predicted : list of str
        Predicted class name per image.
    n_permutations, alpha : int, float
        Settings of the shuffle test.
    threshold : float or None
        Decision threshold drawn in the figure (0.5 for two softmax classes).
    metadata : dict
        The sweep's metadata plus the settings used here.
    """

    outputs: np.ndarray
    grid: np.ndarray
    grid_name: str
    class_names: list[str]
    expected_property_gradient: np.ndarray
    p_values: np.ndarray
    significant: np.ndarray
    flips: int
    predicted: list[str]
    n_permutations: int
    alpha: float
    threshold: float | None
    metadata: dict[str, Any] = field(default_factory=dict)
    _images: Sequence[Any] | None = field(default=None, repr=False)

    def summary(self) -> str:
        """A short plain-text table of the scores per output."""
        lines = [
            f"{len(self.outputs)} images along '{self.grid_name}'; "
            f"shuffle test with {self.n_permutations:,} permutations, alpha = {self.alpha}",
            f"{'output':<16} {'E[|grad X|]':>12} {'p-value':>9}  significant",
        ]
        for name, g, p, s in zip(
            self.class_names, self.expected_property_gradient, self.p_values, self.significant
        ):
            lines.append(f"{name:<16} {g:>12.6f} {p:>9.4f}  {'yes' if s else 'no'}")
        lines.append(
            f"prediction flips: {self.flips} ({self.predicted[0]} -> {self.predicted[-1]})"
            if self.flips
            else f"prediction flips: 0 (always {self.predicted[0]})"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of everything but the images."""
        return _plain(
            {
                "class_names": self.class_names,
                "grid_name": self.grid_name,
                "grid": self.grid,
                "outputs": self.outputs,
                "expected_property_gradient": dict(
                    zip(self.class_names, self.expected_property_gradient)
                ),
                "p_value": dict(zip(self.class_names, self.p_values)),
                "significant": dict(zip(self.class_names, self.significant)),
                "prediction_flips": self.flips,
                "predicted": self.predicted,
                "n_permutations": self.n_permutations,
                "alpha": self.alpha,
                "metadata": self.metadata,
            }
        )

    def figure(self, *, n_frames: int = 7, columns: Sequence[int] | None = None) -> tuple[Any, Any]:
        """Frames of the sweep above the output curves, threshold marked.

        Parameters
        ----------
        n_frames : int, optional
            Number of frames in the strip.
        columns : sequence of int, optional
            Output columns to draw (default: all, or only the first of two
            softmax classes since the second mirrors it).

        Returns
        -------
        fig, (frame_axes, curve_ax)
        """
        from propgrad.plots import plot_curves, plot_frames_and_curves

        if columns is None:
            columns = [0] if self.threshold == 0.5 and self.outputs.shape[1] == 2 else None
            columns = columns or list(range(self.outputs.shape[1]))
        e = self.expected_property_gradient
        curves = {
            f"{self.class_names[c]}  (E[|∇X|] = {e[c]:.4f})": self.outputs[:, c] for c in columns
        }
        if self._images is None:
            return plot_curves(self.grid, curves, threshold=self.threshold, xlabel=self.grid_name)
        return plot_frames_and_curves(
            self._images,
            self.grid,
            curves,
            n_frames=n_frames,
            threshold=self.threshold,
            xlabel=self.grid_name,
            ylabel="model output",
        )

    def save(self, folder: str | Path, *, figure: bool = True) -> Path:
        """Write ``report.json`` (and ``report.png``) into ``folder``.

        Returns
        -------
        Path
            The folder.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(json.dumps(self.to_dict(), indent=2))
        if figure:
            import matplotlib.pyplot as plt

            fig, _ = self.figure()
            fig.savefig(folder / "report.png", dpi=150)
            plt.close(fig)
        return folder


def explain(
    model: Callable[[Any], Any],
    sweep: Any,
    *,
    preprocess: Callable[[Any], Any] | None = None,
    softmax: bool = True,
    class_names: Sequence[str] | None = None,
    n_permutations: int = 10_000,
    alpha: float = 0.01,
    seed: int | None = 0,
    threshold: float | None = None,
    batch_size: int = 32,
    device: str | None = None,
    progress: bool = False,
    per: str = "step",
) -> ExplainReport:
    """Run ``model`` along ``sweep`` and score every output.

    Parameters
    ----------
    model : Classifier or callable
        A :class:`propgrad.models.Classifier` (from
        :func:`propgrad.models.create_classifier` or
        :func:`propgrad.authors.load_cvd_convmixer`; it brings its own
        preprocessing and class names), or anything that maps an image batch
        (B, 3, H, W) to outputs (B, C).
    sweep : Sweep
        The intervention: ordered images with their grid.
    preprocess : callable, optional
        Turns one image into a (3, H, W) tensor; defaults to the classifier's.
    softmax : bool, optional
        Turn logits into probabilities (default). Set ``False`` for models whose
        outputs are already scores (similarities, probabilities).
    class_names : sequence of str, optional
        Names of the output columns (default: the classifier's, else
        ``output 0``, ``output 1``, ...).
    n_permutations : int, optional
        Shuffles per test (the paper uses 10,000).
    alpha : float, optional
        Significance level.
    seed : int or None, optional
        Seed of the permutations.
    threshold : float or None, optional
        Decision threshold to draw; defaults to 0.5 for two softmax outputs.
    batch_size : int, optional
        Images per forward pass.
    device : str, optional
        Torch device.
    progress : bool, optional
        Show a progress bar while predicting.
    per : {"step", "unit", "total"}, optional
        What E[|∇X|] is measured per (:func:`propgrad.scores.per_options`):
        per step of the sweep (the paper's, default), per unit of the
        sweep's grid (its property values), or the total over the sweep.

    Returns
    -------
    ExplainReport

    Raises
    ------
    ValueError
        If the sweep has fewer than 3 images, the class names do not match the
        outputs, or the model returns NaN or inf.
    """
    if len(sweep) < 3:
        raise ValueError(
            f"the sweep has {len(sweep)} images; at least 3 are needed for a gradient "
            "estimate and a shuffle test"
        )
    outputs = predict(
        model,
        sweep,
        preprocess,
        batch_size=batch_size,
        device=device,
        softmax=softmax,
        progress=progress,
    )
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    n_classes = outputs.shape[1]
    if class_names is None:
        class_names = getattr(model, "class_names", None)
    names = (
        list(class_names) if class_names is not None else [f"output {i}" for i in range(n_classes)]
    )
    if len(names) != n_classes:
        raise ValueError(
            f"{len(names)} class names given but the model returns {n_classes} outputs"
        )
    if threshold is None and softmax and n_classes == 2:
        threshold = 0.5
    from propgrad.scores import per_options

    grid = np.asarray(getattr(sweep, "grid", np.arange(len(sweep))), dtype=float)
    options, factor, unit = per_options(
        per, len(outputs), {"grid": grid} if per == "unit" else {},
        getattr(sweep, "grid_name", None),
    )  # fmt: skip
    score = np.atleast_1d(expected_property_gradient(outputs, **options)) * factor
    test = shuffle_test(outputs.T, n_permutations=n_permutations, alpha=alpha, seed=seed, **options)
    flips = prediction_flips(outputs) if n_classes > 1 else 0
    predicted = [names[i] for i in outputs.argmax(axis=1)]
    metadata = dict(getattr(sweep, "metadata", {}))
    metadata.update({"softmax": softmax, "seed": seed, "scores_use": unit})
    return ExplainReport(
        outputs=outputs,
        grid=grid,
        grid_name=getattr(sweep, "grid_name", "step"),
        class_names=names,
        expected_property_gradient=score,
        p_values=np.atleast_1d(test.p_value),
        significant=np.atleast_1d(test.significant),
        flips=int(flips),
        predicted=predicted,
        n_permutations=n_permutations,
        alpha=alpha,
        threshold=threshold,
        metadata=metadata,
        _images=list(sweep),
    )
