"""Argument checks shared by the baseline modules (private)."""

from __future__ import annotations

from typing import Any


def validate_preprocess(preprocess: Any, what: str) -> Any:
    """Return ``preprocess`` if it can undo a normalisation, else raise.

    Parameters
    ----------
    preprocess : Preprocess or None
        A :class:`~propgrad.models.Preprocess` (anything with ``unnormalise``
        and ``value_of``).
    what : str
        What needs it, for the error message.

    Returns
    -------
    Preprocess

    Raises
    ------
    ValueError
        If ``preprocess`` is missing or cannot undo its normalisation.
    """
    if preprocess is None:
        raise ValueError(
            f"{what} needs the model's normalisation: pass a Classifier as the model "
            "or preprocess=<its propgrad.models.Preprocess>"
        )
    if not (hasattr(preprocess, "unnormalise") and hasattr(preprocess, "value_of")):
        raise ValueError(
            f"{what} needs a propgrad.models.Preprocess (it knows the mean and std), "
            f"got {type(preprocess).__name__}"
        )
    return preprocess


def validate_inputs(inputs: Any) -> Any:
    """Check that ``inputs`` is a finite float tensor (B, 3, H, W); return it.

    Raises
    ------
    ValueError
        Otherwise, with what was found.
    """
    import torch

    if not isinstance(inputs, torch.Tensor):
        raise ValueError(
            f"inputs must be a torch.Tensor of shape (B, 3, H, W), got {type(inputs).__name__}"
        )
    if inputs.ndim != 4 or inputs.shape[1] != 3:
        raise ValueError(f"inputs must have shape (B, 3, H, W), got {tuple(inputs.shape)}")
    if not torch.is_floating_point(inputs):
        raise ValueError(f"inputs must be a float tensor, got dtype {inputs.dtype}")
    if not torch.isfinite(inputs).all():
        raise ValueError("inputs contain NaN or inf values")
    return inputs
