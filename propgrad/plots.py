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


def plot_examples(
    rows: Mapping[str, Sequence[Any]],
    titles: Mapping[str, Sequence[str]] | None = None,
    *,
    suptitle: str | None = None,
    size: float = 1.1,
) -> tuple[Any, Any]:
    """A grid of example images, one labelled row per group.

    Parameters
    ----------
    rows : mapping
        Row label -> images (PIL images or (H, W, 3) arrays); rows may differ
        in length (the grid is as wide as the longest).
    titles : mapping, optional
        Row label -> one title per image.
    suptitle : str, optional
        Figure title.
    size : float, optional
        Inches per image.

    Returns
    -------
    fig, axes
    """
    import matplotlib.pyplot as plt

    n_cols = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(size * n_cols, size * len(rows) + 0.4), squeeze=False
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for r, (label, images) in enumerate(rows.items()):
        for c, image in enumerate(images):
            axes[r, c].imshow(np.asarray(image))
            if titles is not None and label in titles:
                axes[r, c].set_title(titles[label][c], fontsize=8)
        axes[r, 0].text(
            -0.08, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=9
        )
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig, axes


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
    labels = {name: f"{name} ({s.expected_property_gradient:.4f})" for name, s in summaries.items()}
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


def _picture(image: Any) -> np.ndarray:
    arr = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[-1] != 3:
        arr = arr.transpose(1, 2, 0)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"each image must be (H, W, 3) or (3, H, W), got {arr.shape}")
    return np.clip(arr, 0.0, 1.0)


def _attribution_map(a: Any) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr.sum(axis=0)
    if arr.ndim != 2:
        raise ValueError(f"each attribution map must be (H, W) or (3, H, W), got {arr.shape}")
    return arr


def plot_attribution_pair(
    before_img: Any,
    after_img: Any,
    maps_before: Sequence[Any],
    maps_after: Sequence[Any],
    labels: Sequence[str],
    axes: Any = None,
    *,
    cmap: str = "RdBu_r",
) -> tuple[Any, Any]:
    """Show attribution maps of an image and its intervened version, two rows.

    Parameters
    ----------
    before_img, after_img : array_like
        The two pictures in [0, 1], (H, W, 3) or (3, H, W), *already
        un-normalised*: model inputs go through the model's
        ``preprocess.unnormalise`` first.
    maps_before, maps_after : sequence of array_like
        One map per method, (H, W) or (3, H, W) (channels are summed), e.g.
        the per-image slices of :func:`propgrad.baselines.attribute` outputs.
    labels : sequence of str
        Column titles, e.g. ``[METHOD_LABELS[m] for m in METHODS]``.
    axes : ndarray of matplotlib Axes, optional
        A (2, 1 + n_methods) grid to draw into; created when omitted.
    cmap : str, optional
        Diverging colour map, centred at 0 with a symmetric range per method
        shared by both rows. With the default, red speaks for the explained
        logit (cat) and blue against it (dog).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes, shape (2, 1 + n_methods)

    Raises
    ------
    ValueError
        If the numbers of maps and labels differ, an image or map has the
        wrong shape, or ``axes`` has the wrong shape.
    """
    import matplotlib.pyplot as plt

    k = len(labels)
    if len(maps_before) != k or len(maps_after) != k:
        raise ValueError(
            f"need one map per label: {len(maps_before)} / {len(maps_after)} maps, {k} labels"
        )
    if axes is None:
        fig, axes = plt.subplots(2, k + 1, figsize=(1.8 * (k + 1), 3.8), squeeze=False)
    else:
        axes = np.asarray(axes)
        if axes.shape != (2, k + 1):
            raise ValueError(f"axes must have shape (2, {k + 1}), got {axes.shape}")
        fig = axes.flat[0].figure
    for row, img in enumerate((before_img, after_img)):
        axes[row, 0].imshow(_picture(img))
        axes[row, 0].set_title("original" if row == 0 else "intervened", fontsize=9)
    for j, label in enumerate(labels):
        pair = (_attribution_map(maps_before[j]), _attribution_map(maps_after[j]))
        vmax = max(float(np.abs(p).max()) for p in pair) or 1.0
        for row, m in enumerate(pair):
            axes[row, j + 1].imshow(m, cmap=cmap, vmin=-vmax, vmax=vmax)
        axes[0, j + 1].set_title(label, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes
