"""The chapter's plots that it draws more than once: runs over epochs, curves per epoch.

Each function draws from the scores of every checkpoint
(:class:`~propgrad.chapters.training_dynamics.dynamics.Dynamics`); runs are
keyed by the paper's model label and the initialisation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from propgrad import plots
from propgrad.chapters.training_dynamics.dynamics import INITS, LocalSweeps
from propgrad.chapters.training_dynamics.report import INIT_LABELS

__all__ = [
    "MARKERS",
    "curves_by_epoch",
    "grid_of_models",
    "local_sweeps",
    "plot_epochs",
    "reliance_against_flips",
]

#: Marker of each initialisation in scatter plots (filled for pre-trained).
MARKERS = {"pretrained": "o", "random": "s"}


def local_sweeps(local: LocalSweeps, profile: str, n_frames: int = 7) -> Any:
    """Seven frames of each local example's sweep, one row per example.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(local.names), n_frames, figsize=(8.4, 2.9))
    for row, name in enumerate(local.names):
        images = local.frames(name)
        idx = np.linspace(0, len(images) - 1, n_frames).round().astype(int)
        plots.plot_frames(
            [images[i] for i in idx],
            local.grids[name][idx],
            axes=axes[row],
            n_frames=n_frames,
            value_format=local.frame_title,
        )
        axes[row, 0].set_ylabel(f"{name}\nface", fontsize=9)
    n_steps = len(local.frames(local.names[0]))
    fig.suptitle(
        f"The two local examples along the grey-hair intervention ({n_steps} steps)", fontsize=10
    )
    plots.label_profile(fig, profile, local.description)
    return fig


def plot_epochs(
    ax: Any,
    dyn: Any,
    model: str,
    sweep: str = "hair",
    inits: Sequence[str] = INITS,
    legend: bool = True,
) -> None:
    """E per checkpoint of a model's runs along a sweep; checkpoints with a flip marked."""
    from matplotlib.ticker import MaxNLocator

    for i, color in zip(inits, plots.colors(3)[:2] if len(inits) == 2 else [plots.colors(3)[0]]):
        run = dyn.run(model, i, sweep)
        ax.plot(run.index, run["E"], color=color, lw=1.6, label=INIT_LABELS[i])
        flipped = run[run["flips"] > 0]
        ax.scatter(
            flipped.index,
            flipped["E"],
            color=color,
            marker="v",
            s=28,
            zorder=3,
            label=f"{INIT_LABELS[i]}: prediction flips" if legend else None,
        )
    ax.set_title(model, fontsize=10)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def grid_of_models(n: int) -> tuple[Any, Any]:
    """A figure with one panel per model (four or three columns); the spare panels hidden."""
    import matplotlib.pyplot as plt

    cols = 4 if n in (4, 7, 8) or n > 9 else min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols + 0.6, 2.3 * rows + 0.5), squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def curves_by_epoch(
    dyn: Any,
    models: Sequence[str],
    local: LocalSweeps,
    sweep: str,
    init: str,
    title: str,
    profile: str,
) -> Any:
    """p(young) along a sweep after every epoch, one panel per model, coloured by epoch.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = grid_of_models(len(models))
    cmap = plt.get_cmap("viridis")
    for ax, m in zip(axes, models):
        curves = dyn.curves[m, init, sweep]
        epochs = dyn.run(m, init, sweep).index.to_numpy()
        for e, curve in zip(epochs, curves):
            ax.plot(local.grids[sweep], curve, color=cmap(e / max(epochs.max(), 1)), lw=1.1)
        ax.axhline(0.5, color=plots.THRESHOLD_COLOR, ls=":", lw=1.3)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(m, fontsize=10)
    for ax in axes:
        ax.set_xlabel(local.axis, fontsize=8)
    axes[0].set_ylabel("p(young)")
    mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, epochs.max()))
    bar = fig.colorbar(mappable, ax=list(axes), label="epoch", shrink=0.8)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    fig.suptitle(title, fontsize=10)
    plots.label_profile(fig, profile)
    return fig


def reliance_against_flips(
    panels: Mapping[str, tuple[Mapping[str, Any], int]], model_order: Sequence[str]
) -> tuple[Any, Any]:
    """Mean E against checkpoints with a flip, both starts of each model joined (Fig. 6).

    Parameters
    ----------
    panels : mapping
        Panel title -> (model -> init -> ``{"E", "flips"}``, checkpoints per
        run).
    model_order : sequence of str
        Every model that may appear, in the order of the colours and the legend.

    Returns
    -------
    fig, axes
    """
    import matplotlib.pyplot as plt

    palette = dict(zip(model_order, plots.colors(len(model_order))))
    fig, axes = plt.subplots(1, len(panels), figsize=(9.5, 3.9))
    for ax, (title, (table, n_max)) in zip(np.atleast_1d(axes), panels.items()):
        for m, row in table.items():
            for i in INITS:
                ax.scatter(row[i]["flips"], row[i]["E"], marker=MARKERS[i], s=46,
                           color=palette[m], facecolors=palette[m] if i == "pretrained" else "none",
                           lw=1.5)  # fmt: skip
            ax.plot([row[i]["flips"] for i in INITS], [row[i]["E"] for i in INITS],
                    color=palette[m], lw=0.8, alpha=0.6)  # fmt: skip
        ax.set_xlim(-0.04 * n_max, 1.04 * n_max)
        ax.set_xlabel("checkpoints with a prediction flip")
        ax.set_title(title)
    handles = [plt.Line2D([], [], color=palette[m], marker="o", ls="", label=m)
               for m in model_order]  # fmt: skip
    handles += [
        plt.Line2D([], [], color="0.3", marker=MARKERS[i], ls="",
                   mfc="0.3" if i == "pretrained" else "none", label=INIT_LABELS[i])
        for i in INITS
    ]  # fmt: skip
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    np.atleast_1d(axes)[0].set_ylabel("mean E[|∇X|] of the hair sweep")
    return fig, axes
