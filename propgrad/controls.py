"""Control sweeps: what E[|∇X|] looks like when the property cannot matter.

The shuffle test asks whether the outputs change *systematically* along a
sweep; any smooth change does, however small. Whether a change is *large*
needs a reference: the same measurement on control sweeps, interventions that
change the picture without changing the property (an identity sweep of the
same image, fresh pixel noise, an image editor run with another seed only, or
a toy world's scene re-rendered with only its noise seed changed).
:func:`control_p_value` places a score among the control scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from propgrad.sweep import Sweep

__all__ = ["control_p_value", "identity_sweep", "noise_sweep"]


def _image(image: Any) -> np.ndarray:
    x = np.asarray(image)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"an image must be (H, W, 3), got shape {x.shape}")
    return (
        x.astype(np.uint8)
        if x.dtype == np.uint8
        else np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
    )


def identity_sweep(image: Any, n_steps: int) -> Sweep:
    """The same image ``n_steps`` times: any model's E[|∇X|] along it is exactly 0.

    Parameters
    ----------
    image : PIL image or array_like
        The image.
    n_steps : int
        Frames (at least 2).

    Returns
    -------
    Sweep
        Grid ``0 .. n_steps - 1``; ``metadata["control"] = "identity"``.
    """
    if int(n_steps) < 2:
        raise ValueError(f"a sweep needs at least 2 frames, got {n_steps}")
    x = _image(image)
    return Sweep([x] * int(n_steps), metadata={"control": "identity"})


def noise_sweep(image: Any, n_steps: int, *, sigma: float = 2.0, seed: int = 0) -> Sweep:
    """The image with fresh Gaussian pixel noise in every frame: a property no model should use.

    Parameters
    ----------
    image : PIL image or array_like
        The image.
    n_steps : int
        Frames (at least 2).
    sigma : float, optional
        Standard deviation of the noise in intensity levels (0-255).
    seed : int, optional
        Seed of the noise.

    Returns
    -------
    Sweep
        ``metadata["control"] = "noise"``.
    """
    if int(n_steps) < 2:
        raise ValueError(f"a sweep needs at least 2 frames, got {n_steps}")
    if not sigma >= 0:
        raise ValueError(f"sigma must be non-negative, got {sigma}")
    x = _image(image).astype(float)
    rng = np.random.default_rng(seed)
    frames = [np.clip(np.round(x + rng.normal(0, sigma, x.shape)), 0, 255).astype(np.uint8)
              for _ in range(int(n_steps))]  # fmt: skip
    return Sweep(frames, metadata={"control": "noise", "sigma": float(sigma), "seed": int(seed)})


def control_p_value(scores: Any, control_scores: Any) -> Any:
    """Where scores sit among control scores: ``(1 + #{control >= score}) / (1 + n)``.

    A small value means that hardly any control sweep moved the model as much;
    unlike the shuffle test, this compares sizes, not order.

    Parameters
    ----------
    scores : float or array_like
        E[|∇X|] of the sweeps of interest.
    control_scores : array_like
        E[|∇X|] of ``n`` control sweeps.

    Returns
    -------
    float or ndarray
        One p-value per score, in (0, 1].

    Raises
    ------
    ValueError
        For no control scores or non-finite values.

    Examples
    --------
    >>> control_p_value(0.5, [0.1, 0.2, 0.3])
    0.25
    >>> control_p_value([0.15, 0.05], [0.1, 0.2, 0.3]).tolist()
    [0.75, 1.0]
    """
    controls = np.asarray(control_scores, dtype=float).ravel()
    values = np.asarray(scores, dtype=float)
    if controls.size == 0:
        raise ValueError("need at least one control score")
    if not (np.isfinite(controls).all() and np.isfinite(values).all()):
        raise ValueError("scores and control scores must be finite")
    counts = (controls[None, :] >= values.reshape(-1, 1)).sum(axis=1)
    p = (1.0 + counts) / (1.0 + controls.size)
    return float(p[0]) if values.ndim == 0 else p.reshape(values.shape)
