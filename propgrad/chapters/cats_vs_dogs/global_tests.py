"""The paper's global baseline for Cats vs. Dogs: conditional-independence tests (Table 9).

Appendix B.5 asks, for each model and property, whether the model's output is
independent of the property given the true label (``prediction ⟂ property |
label``) with three tests at ``alpha = 0.05`` (partial correlation, CMIknn and
conditional HSIC; :func:`propgrad.baselines.conditional_independence`) and a
majority vote. A rejected independence means: somewhere in the test set, the
model uses the property. The paper measures the properties with proxies: the
fur colour by membership in a biased split (the dark-cats split's cats are
dark, its dogs light; the dark-dogs split the reverse) and the background by
the mean of the four corner pixels. In the toy world the true values are also
known (the fur tone and background brightness each image was drawn with).

:func:`table9` runs the tests for the three models; the data sources give the
sample (:meth:`ToyCatsDogs.ci_sample`, :meth:`KaggleCatsDogs.ci_sample`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from propgrad.worlds.cats_dogs import SPLITS

#: Table 9's column labels of the three tests.
CI_TEST_LABELS = {"partial_correlation": "Partial Corr.", "cmiknn": "CMIknn", "chsic": "cHSIC"}

#: Table 9's row labels of the three models.
TABLE9_ROWS = {"unbiased": "unbiased model", "dark-cats": "dark fur = cats",
               "dark-dogs": "dark fur = dogs"}  # fmt: skip

#: Table 9's two properties.
TABLE9_PROPERTIES = ("Fur Color", "Background Color")

#: The paper's Table 9 as rejections at alpha = 0.05 (True: p < 0.05), from its
#: marks "p<0.05" and "p>0.05" (no computation of ours).
TABLE9_REJECTS: dict[str, dict[str, dict[str, bool]]] = {
    "unbiased model": {
        "Fur Color": {"Partial Corr.": True, "CMIknn": True, "cHSIC": False},
        "Background Color": {"Partial Corr.": False, "CMIknn": True, "cHSIC": False},
    },
    "dark fur = cats": {
        "Fur Color": {"Partial Corr.": True, "CMIknn": True, "cHSIC": False},
        "Background Color": {"Partial Corr.": True, "CMIknn": True, "cHSIC": False},
    },
    "dark fur = dogs": {
        "Fur Color": {"Partial Corr.": True, "CMIknn": True, "cHSIC": False},
        "Background Color": {"Partial Corr.": True, "CMIknn": True, "cHSIC": False},
    },
}


def corner_brightness(images: np.ndarray) -> np.ndarray:
    """The paper's background proxy: the mean intensity of the four corner pixels, in [0, 1].

    Parameters
    ----------
    images : ndarray or sequence
        uint8 images (N, H, W, 3), or a sequence of (H, W, 3) images of any
        sizes (arrays or PIL images).

    Returns
    -------
    ndarray
        (N,) floats in [0, 1].
    """
    out = []
    for image in images:
        x = np.asarray(image)
        if x.ndim != 3 or x.shape[-1] != 3:
            raise ValueError(f"images must be RGB (H, W, 3), got an image of shape {x.shape}")
        out.append(x[[0, 0, -1, -1], [0, -1, 0, -1], :].astype(float).mean() / 255.0)
    return np.array(out)


def split_fur(split: str, labels: np.ndarray) -> np.ndarray:
    """The paper's fur proxy in a biased split: 1 for dark fur, 0 for light, by class.

    In the dark-cats split the cats are dark and the dogs light; in the
    dark-dogs split the reverse.
    """
    labels = np.asarray(labels)
    if split == "dark-cats":
        return (labels == 0).astype(float)
    if split == "dark-dogs":
        return (labels == 1).astype(float)
    raise ValueError(f"the fur proxy needs a biased split, got {split!r}")


def table9(
    models: Mapping[str, Any],
    images: Any,
    labels: np.ndarray,
    properties: Mapping[str, np.ndarray],
    *,
    alpha: float = 0.05,
    seed: int = 0,
    cmiknn_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Conditional-independence tests of every model's output and property given the label.

    Parameters
    ----------
    models : mapping
        Split -> classifier.
    images : array or sequence
        The test images (anything :func:`propgrad.predict` takes).
    labels : ndarray
        Their true classes (0 = cat, 1 = dog): the conditioning variable.
    properties : mapping
        Table 9's property label -> one value per image.
    alpha : float, optional
        Significance level (the paper: 0.05).
    seed : int, optional
        Seeds CMIknn's permutations.
    cmiknn_options : mapping, optional
        Options of tigramite's CMIknn (e.g. ``sig_samples``).

    Returns
    -------
    dict
        ``{"p": {model: {property: {test: p}}}, "vote": {model: {property:
        bool}}}`` under Table 9's labels (True: the majority rejects
        independence, "the property is used").
    """
    from propgrad.baselines.conditional import conditional_independence, majority_vote
    from propgrad.prediction import predict

    labels = np.asarray(labels)
    p_values: dict[str, dict[str, dict[str, float]]] = {}
    votes: dict[str, dict[str, bool]] = {}
    for split in SPLITS:
        p_cat = predict(models[split], images, softmax=True)[:, 0]
        row = TABLE9_ROWS[split]
        p_values[row], votes[row] = {}, {}
        for prop, values in properties.items():
            tests = [
                conditional_independence(
                    p_cat,
                    values,
                    labels,
                    test,
                    alpha=alpha,
                    seed=seed,
                    **(dict(cmiknn_options or {}) if test == "cmiknn" else {}),
                )  # fmt: skip
                for test in CI_TEST_LABELS
            ]
            p_values[row][prop] = {CI_TEST_LABELS[t.test]: t.p_value for t in tests}
            votes[row][prop] = majority_vote(tests)
    return {"p": p_values, "vote": votes}
