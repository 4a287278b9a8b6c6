"""One consistent figure style and the plots the chapters share.

Every function returns ``(fig, ax)`` (or ``(fig, axes)``) and accepts an
existing ``ax`` so figures can be composed. Colours come from seaborn's
colour-blind-safe palette.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

PALETTE = "colorblind"
THRESHOLD_COLOR = "#d62728"


def use_book_style() -> None:
    """Apply the book's matplotlib/seaborn style (readable at book width)."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "figure.constrained_layout.use": True,
        }
    )


def colors(n: int) -> list[Any]:
    """Return ``n`` colours of the book's palette."""
    import seaborn as sns

    return list(sns.color_palette(PALETTE, n))


def _axes(ax: Any = None, figsize: tuple[float, float] = (6.0, 3.5)) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def label_profile(fig: Any, profile: str, note: str | None = None) -> None:
    """Stamp the profile (and an optional note) in the figure's lower right corner.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to label.
    profile : str
        Profile name, e.g. ``"demo"``.
    note : str, optional
        Extra text, e.g. ``"toy world"`` or ``"authors' checkpoints"``.
    """
    text = f"profile: {profile}" + (f" · {note}" if note else "")
    # a figure-level x label: constrained layout reserves room for it, so it never
    # overlaps the axes' own labels
    fig.supxlabel(text, x=0.995, ha="right", fontsize=7, color="0.35")


def plot_null_distribution(
    result: Any, ax: Any = None, *, label: str | None = None, bins: int = 40
) -> tuple[Any, Any]:
    """Histogram of a shuffle test's null distribution with the observed value.

    Parameters
    ----------
    result : ShuffleTestResult
        Result of :func:`propgrad.stats.shuffle_test` for one sequence.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    label : str, optional
        x-axis label; defaults to the statistic's name.
    bins : int, optional
        Histogram bins.

    Returns
    -------
    fig, ax
    """
    fig, ax = _axes(ax)
    null = np.asarray(result.null, dtype=float)
    ax.hist(null, bins=bins, color="0.7", edgecolor="white", label="shuffled")
    ax.axvline(float(result.statistic), color=THRESHOLD_COLOR, lw=2, label="observed")
    ax.set_xlabel(label or str(getattr(result, "statistic_name", "statistic")))
    ax.set_ylabel("count")
    ax.set_title(f"p = {float(result.p_value):.4f}", loc="right", fontsize=9)
    return fig, ax


def plot_curves(
    grid: Sequence[float] | np.ndarray,
    curves: Mapping[str, np.ndarray],
    ax: Any = None,
    *,
    bands: Mapping[str, np.ndarray] | None = None,
    threshold: float | None = 0.5,
    xlabel: str = "step",
    ylabel: str = "output",
    ylim: tuple[float, float] | None = None,
) -> tuple[Any, Any]:
    """Plot output curves along a sweep, one line per model or class.

    Parameters
    ----------
    grid : array_like
        x values (the sweep's grid or step index).
    curves : mapping
        Legend label -> (N,) outputs.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    bands : mapping, optional
        Legend label -> (N,) half-width of a shaded band (e.g. a standard
        deviation) around the matching curve.
    threshold : float or None, optional
        Draw the decision threshold as a dotted red line (``None``: no line).
    xlabel, ylabel : str, optional
        Axis labels.
    ylim : tuple of float, optional
        y limits.

    Returns
    -------
    fig, ax
    """
    fig, ax = _axes(ax)
    x = np.asarray(grid, dtype=float)
    for color, (name, y) in zip(colors(max(len(curves), 3)), curves.items()):
        y = np.asarray(y, dtype=float)
        ax.plot(x, y, color=color, lw=1.8, label=name)
        if bands is not None and name in bands:
            half = np.asarray(bands[name], dtype=float)
            ax.fill_between(x, y - half, y + half, color=color, alpha=0.15, lw=0)
    if threshold is not None:
        ax.axhline(threshold, color=THRESHOLD_COLOR, ls=":", lw=1.5, label="decision threshold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(loc="best", frameon=True)
    return fig, ax


def plot_frames(
    images: Sequence[Any],
    grid: Sequence[float] | np.ndarray | None = None,
    *,
    n_frames: int = 7,
    axes: Sequence[Any] | None = None,
    value_format: str = "{:.2f}",
) -> tuple[Any, Any]:
    """Show ``n_frames`` evenly spaced images of a sweep in one row.

    Parameters
    ----------
    images : sequence
        The sweep's images (PIL images or (H, W, 3) arrays).
    grid : array_like, optional
        Grid values, used as titles.
    n_frames : int, optional
        How many frames to show (evenly spaced, first and last included).
    axes : sequence of Axes, optional
        Existing axes, one per frame.
    value_format : str, optional
        Format of the titles.

    Returns
    -------
    fig, axes
    """
    import matplotlib.pyplot as plt

    n = len(images)
    picks = np.unique(np.linspace(0, n - 1, min(n_frames, n)).round().astype(int))
    if axes is None:
        fig, axes = plt.subplots(1, len(picks), figsize=(1.3 * len(picks), 1.6))
        axes = np.atleast_1d(axes)
    else:
        fig = axes[0].figure
    for ax, i in zip(axes, picks):
        ax.imshow(np.asarray(images[i]))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        if grid is not None:
            ax.set_title(value_format.format(float(np.asarray(grid)[i])), fontsize=8)
    return fig, axes


def plot_frames_and_curves(
    images: Sequence[Any],
    grid: Sequence[float] | np.ndarray,
    curves: Mapping[str, np.ndarray],
    *,
    n_frames: int = 7,
    threshold: float | None = 0.5,
    xlabel: str = "step",
    ylabel: str = "output",
    bands: Mapping[str, np.ndarray] | None = None,
    figsize: tuple[float, float] = (7.5, 4.6),
) -> tuple[Any, Any]:
    """A strip of sweep frames above the output curves (the paper's Fig. 1 layout).

    Parameters
    ----------
    images : sequence
        The sweep's images.
    grid : array_like
        x values of the curves (one per image).
    curves : mapping
        Legend label -> (N,) outputs.
    n_frames : int, optional
        Frames shown in the strip.
    threshold : float or None, optional
        Decision threshold line.
    xlabel, ylabel : str, optional
        Axis labels of the curve panel.
    bands : mapping, optional
        Shaded bands around curves (see :func:`plot_curves`).
    figsize : tuple of float, optional
        Figure size in inches.

    Returns
    -------
    fig, (frame_axes, curve_ax)
    """
    import matplotlib.pyplot as plt

    n_show = min(n_frames, len(images))
    fig = plt.figure(figsize=figsize)
    grid_spec = fig.add_gridspec(2, n_show, height_ratios=[1, 2.6])
    frame_axes = [fig.add_subplot(grid_spec[0, i]) for i in range(n_show)]
    curve_ax = fig.add_subplot(grid_spec[1, :])
    plot_frames(images, grid, n_frames=n_show, axes=frame_axes)
    plot_curves(
        grid, curves, curve_ax, bands=bands, threshold=threshold, xlabel=xlabel, ylabel=ylabel
    )
    return fig, (frame_axes, curve_ax)


def plot_mean_behaviour(
    summaries: Mapping[str, Any],
    ax: Any = None,
    *,
    x: Sequence[float] | np.ndarray | None = None,
    xlabel: str = "step",
    ylabel: str = "mean output",
    threshold: float | None = 0.5,
    ylim: tuple[float, float] | None = (-0.02, 1.02),
) -> tuple[Any, Any]:
    """Mean output curves of several models with one-standard-deviation bands.

    The legend gives each model's E[|∇X|] of the mean curve, as in the paper's
    Figs. 3 and 12.

    Parameters
    ----------
    summaries : mapping
        Model label -> :class:`propgrad.summary.BehaviourSummary`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    x : array_like, optional
        x values (default: the step index).
    xlabel, ylabel : str, optional
        Axis labels.
    threshold : float or None, optional
        Decision threshold line.
    ylim : tuple of float or None, optional
        y limits.

    Returns
    -------
    fig, ax
    """
    labels = {name: f"{name} ({s.gradient:.4f})" for name, s in summaries.items()}
    first = next(iter(summaries.values()))
    x = np.arange(len(first.mean_curve)) if x is None else x
    fig, ax = plot_curves(
        x,
        {labels[n]: s.mean_curve for n, s in summaries.items()},
        ax,
        bands={labels[n]: s.std_curve for n, s in summaries.items()},
        threshold=threshold,
        xlabel=xlabel,
        ylabel=ylabel,
        ylim=ylim,
    )
    ax.legend(fontsize=7, title="model (E[|∇X|] of the mean)", title_fontsize=7)
    return fig, ax
