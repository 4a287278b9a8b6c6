"""The chapter's figures that take more than a few lines (the paper's Figs. 4, 11, 13, 16, 17).

Every function draws into a new figure and returns ``(fig, axes)``; the
notebook adds the profile label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from propgrad.chapters.cats_vs_dogs.paper import SPLIT_LABELS
from propgrad.plots import THRESHOLD_COLOR, colors


def plot_maps_across_models(
    models: Mapping[str, Any],
    sweep: Any,
    method: str = "integrated_gradients",
    *,
    target: int = 0,
    n_frames: int = 6,
    n_samples: int | None = None,
    seed: int = 0,
) -> tuple[Any, Any]:
    """The paper's Fig. 4: one saliency method on one image for every model, the sweep below.

    The top row shows the image and each model's attribution map for the
    target logit (red: for, blue: against; one colour scale per map); the
    bottom row shows frames of the intervention. The maps alone do not tell
    which model the intervention will flip.

    Parameters
    ----------
    models : mapping
        Split -> classifier.
    sweep : Sweep
        The intervention; its first frame is the image explained.
    method : str, optional
        One of :data:`propgrad.baselines.METHODS`.
    target : int, optional
        The explained output (0: cat).
    n_frames : int, optional
        Frames shown below.
    n_samples, seed
        For sampling methods (LIME, Kernel SHAP).

    Returns
    -------
    fig, axes
    """
    import matplotlib.pyplot as plt

    from propgrad.baselines.attributions import METHOD_LABELS, attribute
    from propgrad.baselines.superpixels import slic_superpixels

    columns = max(len(models) + 1, n_frames)
    fig, axes = plt.subplots(2, columns, figsize=(1.6 * columns, 3.6), squeeze=False)
    image = np.asarray(sweep[0])
    axes[0, 0].imshow(image)
    axes[0, 0].set_title("image", fontsize=8)
    for ax, (split, model) in zip(axes[0, 1:], models.items()):
        x = model.preprocess(sweep[0]).float()[None]
        kw: dict[str, Any] = {}
        if method in ("lime", "kernel_shap"):
            kw = {"superpixels": slic_superpixels(x, model.preprocess)[0], "seed": seed,
                  "n_samples": n_samples}  # fmt: skip
        attribution = attribute(model, x, method, target, reduce="sum", **kw)
        m = np.asarray(attribution[0], dtype=float)
        m = m.sum(axis=0) if m.ndim == 3 else m
        vmax = float(np.abs(m).max()) or 1.0
        ax.imshow(m, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(f"{SPLIT_LABELS.get(split, split)}", fontsize=8)
    for ax in axes[0, len(models) + 1 :]:
        ax.set_visible(False)
    picks = np.linspace(0, len(sweep) - 1, n_frames).round().astype(int)
    for ax, i in zip(axes[1], picks):
        ax.imshow(np.asarray(sweep[i]))
        ax.set_title(f"step {i}", fontsize=8)
    for ax in axes[1, n_frames:]:
        ax.set_visible(False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{METHOD_LABELS[method]} for the cat logit of each model (top); "
                 "the intervention (bottom)", fontsize=9)  # fmt: skip
    return fig, axes


def plot_local_curves(
    scores: Mapping[str, Any],
    groups: Sequence[str],
    *,
    xlabel: str = "step",
    ylabel: str = "p(cat)",
) -> tuple[Any, Any]:
    """The paper's Figs. 13, 16 and 17: every image's curve, per group and model, with the mean.

    Parameters
    ----------
    scores : mapping
        Row title (e.g. ``"fur"``) -> :class:`propgrad.scores.Scores` of the
        three models along the groups' sweeps.
    groups : sequence of str
        The groups shown, one column each.
    xlabel, ylabel : str, optional
        Axis labels.

    Returns
    -------
    fig, axes
        One row per entry of ``scores``, one column per group; thin lines
        are single images, thick lines the mean over them, the dotted line
        the decision threshold.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(scores), len(groups), figsize=(4.5 * len(groups),
                             2.9 * len(scores)), sharey=True, squeeze=False)  # fmt: skip
    for row, (title, s) in zip(axes, scores.items()):
        for ax, group in zip(row, groups):
            behaviours = s.models(group)
            for (split, b), colour in zip(behaviours.items(), colors(len(behaviours))):
                curves = s.outputs[split, group][:, :, b.target]
                ax.plot(curves.T, color=colour, lw=0.6, alpha=0.45)
                ax.plot(b.mean_curve, color=colour, lw=2.0,
                        label=f"{SPLIT_LABELS.get(split, split)}")  # fmt: skip
            ax.axhline(0.5, color=THRESHOLD_COLOR, ls=":", lw=1.2)
            n = next(iter(behaviours.values())).n_sweeps
            ax.set_title(f"{title}: {group} ({n} images)", fontsize=9)
            ax.set_xlabel(xlabel)
            ax.set_ylim(-0.03, 1.03)
        row[0].set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7, loc="best", title="model (thick: mean)", title_fontsize=7)
    return fig, axes


def plot_guidance_grid(
    grid_outputs: Mapping[str, np.ndarray],
    text_scales: Sequence[float],
    image_scales: Sequence[float],
) -> tuple[Any, Any]:
    """The paper's Fig. 11: each model's p(cat) over the text and image guidance scales.

    Parameters
    ----------
    grid_outputs : mapping
        Model -> p(cat) of shape (len(image_scales), len(text_scales)).
    text_scales, image_scales : sequence of float
        The two CFG scales of the grid.

    Returns
    -------
    fig, axes
        One heat map per model, white at the decision threshold 0.5.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(grid_outputs), figsize=(3.2 * len(grid_outputs), 2.8),
                             squeeze=False, sharey=True)  # fmt: skip
    extent = (text_scales[0], text_scales[-1], image_scales[0], image_scales[-1])
    for ax, (split, p) in zip(axes[0], grid_outputs.items()):
        shown = ax.imshow(np.asarray(p), origin="lower", aspect="auto", extent=extent,
                          cmap="RdBu_r", vmin=0.0, vmax=1.0)  # fmt: skip
        ax.set_title(SPLIT_LABELS.get(split, split), fontsize=9)
        ax.set_xlabel("text guidance scale")
    axes[0, 0].set_ylabel("image guidance scale")
    fig.colorbar(shown, ax=list(axes[0]), label="p(cat)", shrink=0.85)
    return fig, axes


def plot_global_vs_local(case: Mapping[str, Any], scores: Any, sweeps: Mapping[str, Any]):
    """The least and the most affected image where a global test says "used".

    Parameters
    ----------
    case : mapping
        From :func:`propgrad.chapters.cats_vs_dogs.report.global_vs_local`.
    scores : Scores
        The models along the property's sweeps.
    sweeps : mapping
        Group -> the sweeps (arrays or :class:`~propgrad.sweep.Sweep`).

    Returns
    -------
    fig, axes
        Per image: its first, middle and last frame, and the model's p(cat).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 4.2), gridspec_kw={"width_ratios": [1, 1.6]})
    for row, which in zip(axes, ("smallest", "largest")):
        group, i = case[which]["group"], case[which]["sweep"]
        frames = [np.asarray(f) for f in sweeps[group][i]]
        row[0].imshow(np.concatenate([frames[0], frames[len(frames) // 2], frames[-1]], axis=1))
        row[0].set_axis_off()
        row[0].set_title(f"{which} E: {group}, image {i}", fontsize=9)
        row[1].plot(scores.outputs[case["model"], group][i, :, 0], color=colors(1)[0])
        row[1].axhline(0.5, color=THRESHOLD_COLOR, ls=":")
        row[1].set(ylim=(-0.03, 1.03), ylabel="p(cat)", xlabel="step",
                   title=f"E[|∇X|] = {case[which]['E']:.5f}")  # fmt: skip
    fig.suptitle(f"{SPLIT_LABELS[case['model']]} model, {case['property'].lower()}: used "
                 "globally; locally it depends on the image", fontsize=10)  # fmt: skip
    return fig, axes
