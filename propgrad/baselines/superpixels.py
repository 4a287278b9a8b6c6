"""SLIC superpixels of model inputs: the features of LIME and Kernel SHAP.

The paper runs LIME and Kernel SHAP on SLIC superpixels with 100 segments and
a compactness of 1 (appendix B.4). SLIC must see the picture, not the model
input: :func:`slic_superpixels` undoes exactly the normalisation of the
model's :class:`~propgrad.models.Preprocess` first, so an ImageNet-normalised
model gets the same segments as the raw image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from propgrad.baselines._checks import validate_inputs, validate_preprocess

__all__ = ["slic_superpixels"]


def slic_superpixels(
    inputs: Any,
    preprocess: Any,
    *,
    n_segments: int = 100,
    compactness: float = 1.0,
    **slic_options: Any,
) -> np.ndarray:
    """SLIC superpixels of each image of a batch of model inputs.

    Parameters
    ----------
    inputs : torch.Tensor
        Model inputs (B, 3, H, W), i.e. images after ``preprocess``.
    preprocess : Preprocess or Classifier
        The preprocessing that produced them (a classifier stands for its
        ``.preprocess``); its normalisation is undone
        (:meth:`~propgrad.models.Preprocess.unnormalise`) so that SLIC sees
        the picture in [0, 1], channels last.
    n_segments, compactness : optional
        SLIC settings; the defaults are the paper's (100 segments, compactness 1).
    **slic_options
        Passed on to ``skimage.segmentation.slic``.

    Returns
    -------
    ndarray of int64, shape (B, H, W)
        Segment ids per pixel, relabelled to 0..K-1 for each image (captum needs
        consecutive feature ids).

    Raises
    ------
    ValueError
        For inputs that are not a float batch (B, 3, H, W), or a missing
        preprocessing.
    """
    from skimage.segmentation import slic

    validate_inputs(inputs)
    preprocess = getattr(preprocess, "preprocess", preprocess)  # a Classifier's own
    images = validate_preprocess(preprocess, "SLIC").unnormalise(inputs)
    masks = np.empty(images.shape[:3], dtype=np.int64)
    for i, image in enumerate(images):
        seg = slic(
            image,
            n_segments=n_segments,
            compactness=compactness,
            start_label=0,
            channel_axis=-1,
            **slic_options,
        )
        _, ids = np.unique(seg, return_inverse=True)
        masks[i] = ids.reshape(seg.shape)
    return masks
