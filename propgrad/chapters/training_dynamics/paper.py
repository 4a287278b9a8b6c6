"""The paper's numbers for its training analysis on CelebA (Sec. 4.3, appendix D).

Eight architectures, each trained for 100 epochs on a balanced "young" vs.
"not young" split of CelebA, once from ImageNet weights and once from random
initialisation; after every epoch (and before the first) the paper measures
E[|∇X|] of the "young" output along an InstructPix2Pix grey-hair sweep of one
young test face. Row and column labels are the paper's own (Tables 11 and 12
both call the Swin Transformer "SwinT-S"). Cells the paper leaves empty are
``None``.
"""

from __future__ import annotations

#: The eight models, in the paper's row order.
MODELS = (
    "ConvMixer",
    "ResNet18",
    "EfficientNet-B0",
    "MobileNetV3-L",
    "DenseNet121",
    "ConvNeXt-S",
    "ViT-B/16",
    "SwinT-S",
)

#: Checkpoints scored per run: the initial model and one after each of 100 epochs.
N_CHECKPOINTS = 101

#: Column labels of Table 11: pre-trained, randomly initialised, their difference.
TABLE11_COLUMNS = ("PT", "RI", "Perf. Δ")

TABLE11: dict[str, dict[str, float]] = {
    "ConvMixer": {"PT": 86.08, "RI": 81.49, "Perf. Δ": -4.59},
    "ResNet18": {"PT": 85.37, "RI": 84.38, "Perf. Δ": -0.99},
    "EfficientNet-B0": {"PT": 86.61, "RI": 84.14, "Perf. Δ": -2.46},
    "MobileNetV3-L": {"PT": 85.94, "RI": 83.05, "Perf. Δ": -2.88},
    "DenseNet121": {"PT": 85.75, "RI": 84.20, "Perf. Δ": -1.55},
    "ConvNeXt-S": {"PT": 85.98, "RI": 83.63, "Perf. Δ": -2.35},
    "ViT-B/16": {"PT": 85.51, "RI": 72.49, "Perf. Δ": -13.02},
    "SwinT-S": {"PT": 85.72, "RI": 50.25, "Perf. Δ": -35.47},
}
"""Table 11: final test accuracy (%) with ImageNet weights (PT) and from random
initialisation (RI), and RI - PT."""

#: The two initialisations as Table 12 labels them (keys: dynamics.INITS).
TABLE12_INITS = {"pretrained": "Pre-trained", "random": "Random Init"}
#: The four columns of Table 12 under each initialisation.
TABLE12_COLUMNS = ("E[|∇X|]", "#Flips", "#Sig.", "ρ")

_TABLE12_TEXT = """
ConvMixer       | 0.01453 32 101 -0.73037 | 0.01144 49 100 -
ResNet18        | 0.02006 55 101 -0.71550 | 0.00376 10 101 -0.55702
EfficientNet-B0 | 0.01153 26  95 -0.63042 | 0.00336  3  98 -
MobileNetV3-L   | 0.01379 26  78 -0.32585 | 0.00208  1  95 -
DenseNet121     | 0.03194 86 101 -0.81263 | 0.00329  5 101 -0.43834
ConvNeXt-S      | 0.01801 42 101 -0.67621 | 0.00244  1 101 -0.16601
ViT-B/16        | 0.01780 54 101 -0.74494 | 0.00853 55 101 -0.75000
SwinT-S         | 0.02268 67 101 -0.78029 | 0.00001  0  19 -
"""


def _number(text: str) -> float | int | None:
    if text == "-":
        return None
    return float(text) if "." in text else int(text)


def _parse_table12(text: str) -> dict[str, dict[str, float | int | None]]:
    table: dict[str, dict[str, float | int | None]] = {}
    for line in text.strip().splitlines():
        model, *halves = (part.strip() for part in line.split("|"))
        row: dict[str, float | int | None] = {}
        for init, half in zip(TABLE12_INITS.values(), halves, strict=True):
            cells = half.split()
            for column, cell in zip(TABLE12_COLUMNS, cells, strict=True):
                row[f"{init} / {column}"] = _number(cell)
        table[model] = row
    return table


TABLE12 = _parse_table12(_TABLE12_TEXT)
"""Table 12: over the 101 checkpoints of each run, the mean E[|∇X|] of the grey
hair sweep, the number of checkpoints whose prediction flips along it, the
number with a significant shuffle test (p < 0.01), and the mean Pearson
correlation ρ. Keys: ``"<Pre-trained|Random Init> / <column>"``.

Four cells of the Random Init ρ column are empty in the paper (ConvMixer,
EfficientNet-B0, MobileNetV3-L, SwinT-S): the correlation is undefined for
constant outputs. The extracted text of the paper keeps only seven numbers
for these rows; the missing one is read as ρ, the only column that can be
undefined."""


def table12_half(init: str) -> dict[str, dict[str, float | int | None]]:
    """The paper's Table 12 for one initialisation, columns :data:`TABLE12_COLUMNS`.

    Parameters
    ----------
    init : {"pretrained", "random"}
        The initialisation.

    Returns
    -------
    dict
        Model -> column -> value.

    Raises
    ------
    ValueError
        For another initialisation.
    """
    if init not in TABLE12_INITS:
        raise ValueError(f"init must be one of {tuple(TABLE12_INITS)}, got {init!r}")
    prefix = TABLE12_INITS[init]
    return {
        model: {c: row[f"{prefix} / {c}"] for c in TABLE12_COLUMNS}
        for model, row in TABLE12.items()
    }


def table12_by_run() -> dict[str, dict[str, dict[str, float | int | None]]]:
    """The paper's mean E[|∇X|] and flips of Table 12 in the chapter's layout.

    Returns
    -------
    dict
        Model -> ``"pretrained"`` / ``"random"`` -> ``{"E": ..., "flips": ...}``.
    """
    return {
        model: {
            init: {"E": row[f"{label} / E[|∇X|]"], "flips": row[f"{label} / #Flips"]}
            for init, label in TABLE12_INITS.items()
        }
        for model, row in TABLE12.items()
    }


__all__ = [
    "MODELS",
    "N_CHECKPOINTS",
    "TABLE11",
    "TABLE11_COLUMNS",
    "TABLE12",
    "TABLE12_COLUMNS",
    "TABLE12_INITS",
    "table12_by_run",
    "table12_half",
]
