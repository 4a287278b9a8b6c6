"""The chapter's larger figures, each from the scores (or the data source) in one call.

Every function draws one figure of the paper's appendix E with our data,
stamps the profile (and a note on what stands in for what) in its corner and
returns the figure; the notebook shows it. The smaller figures stay in the
notebook, where a reader can adapt them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from propgrad import plots
from propgrad.chapters.clip_orientation.report import FROG, OBJECTS, OrientationScores
from propgrad.meshes import AXES

__all__ = ["pose_bias", "rotation_curves", "text_bands", "tsne_maps", "turntable_curves"]


def _palette() -> dict[str, Any]:
    """One colour per turntable object (its class texts)."""
    return dict(zip(OBJECTS, plots.colors(len(OBJECTS))))


def pose_bias(data: Any, profile: str) -> Any:
    """The planted pose bias: the training views' poses and examples of every class.

    Parameters
    ----------
    data : ToyOrientation or RecordedOrientation
        The data source; only the toy CLIP has training views to show.
    profile : str
        The profile, stamped in the corner.

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` when the source has no training views (the real CLIP).
    """
    import matplotlib.pyplot as plt

    views = data.training_views()
    if views is None:
        return None
    fig = plt.figure(figsize=(8, 3.6))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.15])
    ax = fig.add_subplot(grid[0, 0])
    ax.hist(views["poses"][:, 2], bins=np.arange(0, 361, 10), color=plots.colors(1)[0])
    ax.set(
        xlabel="turn about the vertical axis (degrees)", ylabel="views", xticks=range(0, 361, 90)
    )
    ax = fig.add_subplot(grid[1, 0])
    for i, name in ((1, "tilt (long axis)"), (0, "nod (lateral axis)")):
        ax.hist(views["poses"][:, i], bins=np.arange(-180, 181, 10), alpha=0.6, label=name)
    ax.axvspan(-180, -90, color="0.92", zorder=0)
    ax.axvspan(90, 180, color="0.92", zorder=0)
    ax.set(
        xlabel="degrees (grey: upside down)",
        ylabel="views",
        xticks=range(-180, 181, 90),
        yscale="log",
    )
    ax.legend(fontsize=7, loc="upper left")
    ax = fig.add_subplot(grid[:, 1])
    classes = data.toy_clip().config.classes
    picks = [np.flatnonzero(views["labels"] == c)[:4] for c in range(len(classes))]
    tiles = np.concatenate([np.concatenate(list(views["images"][p]), axis=0) for p in picks], 1)
    ax.imshow(tiles)
    ax.set_axis_off()
    ax.set_title("training views: " + ", ".join(classes), fontsize=9)
    fig.suptitle("The planted pose bias of the toy CLIP's training views", fontsize=10)
    plots.label_profile(fig, profile, data.notes["views"])
    return fig


def turntable_curves(
    scores: OrientationScores,
    texts: Mapping[str, str],
    *,
    source: str,
    profile: str,
    note: str | None = None,
) -> Any:
    """Figs. 8 and 36: the mean similarity to each class's texts during each turn.

    One row per recording: the curves of the three classes' texts (the own
    class thick, its highest and lowest points marked) and the frames at those
    two points.

    Parameters
    ----------
    scores : OrientationScores
    texts : mapping
        Legend label of each object's texts.
    source : str
        The model and data, for the title.
    profile : str
        The profile, stamped in the corner with ``note``.
    note : str, optional
        What stands in for what.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    palette = _palette()
    fig = plt.figure(figsize=(8.4, 2.5 * len(OBJECTS)))
    grid = fig.add_gridspec(len(OBJECTS), 5)
    for row, obj in enumerate(OBJECTS):
        ax = fig.add_subplot(grid[row, :3])
        sweep = scores.turntables[obj]
        for cls in OBJECTS:
            e = scores.turntable[obj][cls].expected_property_gradient
            ax.plot(
                sweep.grid,
                scores.curve(obj, cls),
                color=palette[cls],
                lw=2.2 if cls == obj else 1.0,
                label=f"{texts[cls]}, E = {e:.4f}",
            )
        curve = scores.curve(obj, obj)
        high, low = int(np.argmax(curve)), int(np.argmin(curve))
        ax.plot(sweep.grid[[high, low]], curve[[high, low]], "kv", ms=6)
        ax.set(xlim=(0, 360), xticks=range(0, 361, 45), ylabel=f"{obj}: similarity")
        if row == len(OBJECTS) - 1:
            ax.set_xlabel("turntable angle (degrees)")
        ax.legend(
            fontsize=6.5,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=3,
            frameon=False,
            handlelength=1.2,
            columnspacing=0.8,
        )
        for col, (i, what) in enumerate(((high, "highest"), (low, "lowest"))):
            inset = fig.add_subplot(grid[row, 3 + col])
            inset.imshow(sweep[i])
            inset.set_axis_off()
            inset.set_title(f"{what}: {sweep.grid[i]:.0f}°", fontsize=8)
    fig.suptitle(
        f"Figs. 8 and 36: mean cosine similarity to each class's texts during one turn ({source})",
        fontsize=10,
    )
    plots.label_profile(fig, profile, note)
    return fig


def text_bands(scores: OrientationScores, texts: Mapping[str, str], *, profile: str) -> Any:
    """Fig. 37: each class's mean similarity with one standard deviation over its texts.

    Parameters
    ----------
    scores : OrientationScores
    texts : mapping
        Legend label of each object's texts.
    profile : str
        The profile, stamped in the corner.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    palette = _palette()
    fig, axes = plt.subplots(1, len(OBJECTS), figsize=(9, 3), sharey=True)
    for ax, obj in zip(axes, OBJECTS):
        sweep = scores.turntables[obj]
        for cls in OBJECTS:
            s = scores.stats[obj].of(scores.classes[cls])
            ax.plot(sweep.grid, s["mean"], color=palette[cls], lw=1.3, label=texts[cls])
            ax.fill_between(
                sweep.grid,
                s["mean"] - s["std"],
                s["mean"] + s["std"],
                color=palette[cls],
                alpha=0.3,
                lw=0,
            )
        ax.set(
            title=f"{obj} recording",
            xlabel="angle (degrees)",
            xlim=(0, 360),
            xticks=range(0, 361, 90),
        )
    axes[0].set_ylabel("cosine similarity (mean ± std)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=3, fontsize=8)
    plots.label_profile(fig, profile, "std over each class's ten texts")
    return fig


def rotation_curves(
    scores: OrientationScores, ylabel: str, *, profile: str, note: str | None = None
) -> Any:
    """Fig. 38: the similarity to the frog's texts over one turn about each axis.

    The lowest points of the ``x`` and ``y`` turns are marked, and their
    frames shown beside the curves.

    Parameters
    ----------
    scores : OrientationScores
    ylabel : str
        The label of the similarity axis (whose texts).
    profile : str
        The profile, stamped in the corner with ``note``.
    note : str, optional
        What stands in for the frog.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.4, 3.4))
    grid = fig.add_gridspec(2, 4, width_ratios=[1, 1, 1, 1.1])
    ax = fig.add_subplot(grid[:, :3])
    for color, a in zip(plots.colors(3), AXES):
        sweep, behaviour = scores.rotations[a], scores.rotation[a]
        ax.plot(
            sweep.grid,
            behaviour.mean_curve,
            color=color,
            lw=1.6,
            label=f"{a} axis, E = {behaviour.expected_property_gradient:.4f}",
        )
    for row, a in enumerate(("x", "y")):
        sweep, curve = scores.rotations[a], scores.rotation[a].mean_curve
        low = int(np.argmin(curve))
        ax.plot(sweep.grid[low], curve[low], "kv", ms=6)
        ax.annotate(
            f"{a}: {sweep.grid[low]:.0f}°",
            (sweep.grid[low], curve[low]),
            textcoords="offset points",
            xytext=(6, -4),
            fontsize=8,
        )
        inset = fig.add_subplot(grid[row, 3])
        inset.imshow(sweep[low])
        inset.set_axis_off()
        inset.set_title(f"lowest about {a}: {sweep.grid[low]:.0f}°", fontsize=8)
    ax.set(
        xlabel="rotation angle (degrees)",
        ylabel=ylabel,
        xlim=(0, 360),
        xticks=range(0, 361, 45),
        title="Fig. 38: one object turned about each axis",
    )
    ax.legend(fontsize=8, loc="lower left")
    plots.label_profile(fig, profile, note)
    return fig


def tsne_maps(
    scores: OrientationScores,
    *,
    perplexity: float,
    seed: int,
    frog_label: str = FROG,
    profile: str,
) -> Any:
    """Figs. 34 and 35: t-SNE maps of the image embeddings along each turn, coloured by angle.

    Each map adds the object's text embedding (its prompt ensemble, a star).

    Parameters
    ----------
    scores : OrientationScores
    perplexity : float
        t-SNE perplexity (at most the number of points minus two).
    seed : int
        t-SNE's random state.
    frog_label : str, optional
        The rotated object in the titles.
    profile : str
        The profile, stamped in the corner.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    zero_shot, sweeps = scores.zero_shot, scores.sweeps

    def tsne_map(ax: Any, name: str, obj: str) -> Any:
        points = np.vstack(
            [scores.embeddings[name], zero_shot.class_embedding(scores.classes[obj])]
        )
        xy = TSNE(
            n_components=2,
            perplexity=min(perplexity, len(points) - 2),
            metric="cosine",
            init="pca",
            random_state=seed,
        ).fit_transform(points)
        dots = ax.scatter(
            xy[:-1, 0], xy[:-1, 1], c=sweeps[name].grid, cmap="twilight", vmin=0, vmax=360, s=8
        )
        ax.scatter(*xy[-1], marker="*", s=180, color="black", label=f"{obj} texts")
        ax.set(xticks=[], yticks=[])
        ax.legend(fontsize=7, loc="best", handletextpad=0.2)
        return dots

    fig, axes = plt.subplots(2, 3, figsize=(9, 6.2))
    for ax, obj in zip(axes[0], OBJECTS):
        dots = tsne_map(ax, obj, obj)
        ax.set_title(f"{obj}, turntable (Fig. 35)", fontsize=9)
    for ax, a in zip(axes[1], AXES):
        tsne_map(ax, a, FROG)
        ax.set_title(f"{frog_label}, {a} axis (Fig. 34)", fontsize=9)
    fig.colorbar(dots, ax=axes, label="angle (degrees)", ticks=range(0, 361, 90), shrink=0.6)
    plots.label_profile(fig, profile, "t-SNE of the image embeddings")
    return fig
