"""The paper's skin-lesion numbers and labels (Sec. 4.2, appendix C).

Melanoma vs. nevus classifiers from the ISIC archive, four ImageNet-initialised
architectures, each fine-tuned on unbiased data (no colourful patches) or on
biased data (half of the nevi with the colourful patches of Scope et al.), and
scored under an alpha-blended colourful-patch intervention on melanoma images.
Row and column labels are the paper's; :data:`VARIANT_LABELS` and
:data:`SPLIT_LABELS` translate our names of the variants and splits to them.
"""

from __future__ import annotations

from propgrad.baselines.fliptask import TABLE2_COLUMNS
from propgrad.tables import parse_mean_std_rows

#: The four architectures, in the paper's row order.
MODELS = ("ResNet18", "EfficientNet-B0", "ConvNeXt-S", "ViT-B/16")

#: Training data of Table 3's columns ("ImageNet": the pre-trained weights, not fine-tuned).
TABLE3_COLUMNS = ("Unbiased", "Biased", "ImageNet")

#: Test data of Table 10's columns.
TABLE10_COLUMNS = ("Unbiased", "Biased")

#: The three variants of every architecture (our names, in Table 3's column order).
VARIANTS = ("unbiased", "biased", "imagenet")

#: Our variant names -> the paper's labels (Table 3's columns).
VARIANT_LABELS = dict(zip(VARIANTS, TABLE3_COLUMNS, strict=True))

#: Our split names -> the paper's labels (Table 10's rows and columns).
SPLIT_LABELS = dict(zip(("unbiased", "biased"), TABLE10_COLUMNS, strict=True))

_TABLE2_TEXT = """
ResNet18|95.50 1.2|80.00 4.0|78.63 2.7|78.75 4.0|76.12 5.1|75.88 4.6|76.88 6.5
EfficientNet-B0|94.25 2.4|79.00 4.9|73.75 5.6|75.37 6.3|73.88 5.1|72.75 5.5|76.38 6.5
ConvNeXt-S|92.88 1.6|78.00 4.7|75.50 3.2|74.88 4.7|75.00 3.2|74.75 2.7|74.88 5.8
ViT-B/16|95.12 1.6|80.25 3.4|75.87 2.5|77.25 3.5|76.00 3.4|75.88 2.9|77.50 3.9
"""


TABLE2, TABLE2_STD = parse_mean_std_rows(_TABLE2_TEXT, TABLE2_COLUMNS)
"""Table 2 (bottom): accuracy (%) at predicting whether adding a colourful patch
flips the prediction, mean and standard deviation over ten resamples of 100
melanoma test images, averaged over the biased and the unbiased training of
each architecture. Columns: :data:`~propgrad.baselines.fliptask.TABLE2_COLUMNS`."""

TABLE3: dict[str, dict[str, float]] = {
    "ResNet18": {"Unbiased": 0.00061, "Biased": 0.00531, "ImageNet": 0.00062},
    "EfficientNet-B0": {"Unbiased": 0.00018, "Biased": 0.00495, "ImageNet": 0.00066},
    "ConvNeXt-S": {"Unbiased": 0.00001, "Biased": 0.00519, "ImageNet": 0.00081},
    "ViT-B/16": {"Unbiased": 0.00016, "Biased": 0.00208, "ImageNet": 0.00129},
}
"""Table 3: mean E[|∇X|] of colourful-patch interventions (ten correctly
classified melanoma images, five patches each), columns = training data."""

TABLE10: dict[str, dict[str, float]] = {
    "Unbiased / ResNet18": {"Unbiased": 86.70, "Biased": 85.89},
    "Unbiased / EfficientNet-B0": {"Unbiased": 87.15, "Biased": 90.12},
    "Unbiased / ConvNeXt-S": {"Unbiased": 88.05, "Biased": 88.32},
    "Unbiased / ViT-B/16": {"Unbiased": 86.25, "Biased": 84.37},
    "Biased / ResNet18": {"Unbiased": 82.84, "Biased": 89.13},
    "Biased / EfficientNet-B0": {"Unbiased": 85.09, "Biased": 91.37},
    "Biased / ConvNeXt-S": {"Unbiased": 83.92, "Biased": 92.18},
    "Biased / ViT-B/16": {"Unbiased": 83.47, "Biased": 87.42},
}
"""Table 10: test accuracy (%) of melanoma classification; rows = training data
/ architecture, columns = test data (biased: nevi with colourful patches;
unbiased: nevi without)."""

__all__ = [
    "MODELS",
    "SPLIT_LABELS",
    "TABLE10",
    "TABLE10_COLUMNS",
    "TABLE2",
    "TABLE2_COLUMNS",
    "TABLE2_STD",
    "TABLE3",
    "TABLE3_COLUMNS",
    "VARIANTS",
    "VARIANT_LABELS",
]
