"""What "significant" means: null rejection rates, control sweeps, multiple testing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from propgrad.stats import holm_bonferroni, shuffle_test

#: The null sequences: i.i.d. noise, AR(1) noise, a random walk, a tiny drift in noise.
NULLS = ("iid noise", "AR(1) 0.5", "AR(1) 0.9", "random walk", "drift + noise")


def null_sequences(kind: str, m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` sequences of ``n`` points of one kind (see :data:`NULLS`).

    The AR(1) sequences start in their stationary distribution; the drift is
    0.01 of the noise's standard deviation per step.
    """
    eps = rng.normal(size=(m, n))
    if kind == "iid noise":
        return eps
    if kind.startswith("AR(1)"):
        phi = float(kind.split()[-1])
        x = np.empty((m, n))
        x[:, 0] = eps[:, 0] / np.sqrt(1 - phi**2)
        for t in range(1, n):
            x[:, t] = phi * x[:, t - 1] + eps[:, t]
        return x
    if kind == "random walk":
        return np.cumsum(eps, axis=1)
    if kind == "drift + noise":
        return 0.01 * np.arange(n)[None, :] + eps
    raise ValueError(f"unknown null {kind!r}; choose one of {NULLS}")


def rejection_rates(
    ns: Sequence[int], m: int, *, n_permutations: int, alpha: float = 0.01, seed: int = 0
) -> dict[str, dict[int, float]]:
    """The shuffle test's rejection rate for each null sequence and length.

    Returns
    -------
    dict
        Null -> N -> the share of ``m`` sequences called significant.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, dict[int, float]] = {}
    for kind in NULLS:
        out[kind] = {}
        for n in ns:
            x = null_sequences(kind, m, int(n), rng)
            test = shuffle_test(x, n_permutations=n_permutations, alpha=alpha, seed=seed)
            out[kind][int(n)] = float(np.mean(test.significant))
    return out


def seed_controls(source: Any, params: Sequence[Any], n_steps: int) -> np.ndarray:
    """Control sweeps of toy animals: the scene re-rendered with only its noise seed changed.

    The fur, the background and the shape stay; the fur texture and the pixel
    noise differ from frame to frame, as an image editor run with another
    seed would differ. Returns uint8 (M, n_steps, H, W, 3).
    """
    from propgrad.worlds.cats_dogs import render

    return np.stack([
        np.stack([render(replace(p, seed=p.seed + 1000 * k), source.size) for k in range(n_steps)])
        for p in params
    ])  # fmt: skip


def holm_count(p_values: Any, alpha: float) -> dict[str, int]:
    """How many tests are significant alone and after Holm's correction."""
    p = np.asarray(p_values, dtype=float)
    return {"tests": int(p.size), "alone": int((p < alpha).sum()),
            "holm": int(holm_bonferroni(p, alpha).sum())}  # fmt: skip


__all__ = ["NULLS", "holm_count", "null_sequences", "rejection_rates", "seed_controls"]
