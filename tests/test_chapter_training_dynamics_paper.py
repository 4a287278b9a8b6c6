"""propgrad.chapters.training_dynamics.paper: the paper's Tables 11 and 12 as recorded."""

from __future__ import annotations

import pytest

from propgrad.chapters.training_dynamics import paper


def test_table11_rows_columns_and_delta():
    assert list(paper.TABLE11) == list(paper.MODELS)
    for row in paper.TABLE11.values():
        assert list(row) == list(paper.TABLE11_COLUMNS)
        # the paper computed the difference before rounding: up to 0.01 apart
        assert row["Perf. Δ"] == pytest.approx(row["RI"] - row["PT"], abs=0.0101)
    # the transformers suffer most from random initialisation; Swin collapses to chance
    assert paper.TABLE11["SwinT-S"]["RI"] == 50.25
    assert min(paper.TABLE11, key=lambda m: paper.TABLE11[m]["Perf. Δ"]) == "SwinT-S"


def test_table12_layout_and_missing_cells():
    assert list(paper.TABLE12) == list(paper.MODELS)
    columns = [f"{i} / {c}" for i in paper.TABLE12_INITS.values() for c in paper.TABLE12_COLUMNS]
    for row in paper.TABLE12.values():
        assert list(row) == columns
        for init in paper.TABLE12_INITS.values():
            assert 0 <= row[f"{init} / #Flips"] <= paper.N_CHECKPOINTS
            assert 0 <= row[f"{init} / #Sig."] <= paper.N_CHECKPOINTS
            assert isinstance(row[f"{init} / #Flips"], int)
    missing = sorted(m for m, r in paper.TABLE12.items() if r["Random Init / ρ"] is None)
    assert missing == sorted(["ConvMixer", "EfficientNet-B0", "MobileNetV3-L", "SwinT-S"])
    assert all(r["Pre-trained / ρ"] is not None for r in paper.TABLE12.values())
    assert paper.TABLE12["DenseNet121"]["Pre-trained / E[|∇X|]"] == 0.03194
    assert paper.TABLE12["SwinT-S"]["Random Init / #Sig."] == 19
    # the paper's first finding: pre-trained above random for every architecture
    for row in paper.TABLE12.values():
        assert row["Pre-trained / E[|∇X|]"] > row["Random Init / E[|∇X|]"]


def test_table12_half():
    random = paper.table12_half("random")
    assert list(random) == list(paper.MODELS)
    assert random["ResNet18"] == {"E[|∇X|]": 0.00376, "#Flips": 10, "#Sig.": 101, "ρ": -0.55702}
    assert paper.table12_half("pretrained")["ViT-B/16"]["#Flips"] == 54
    with pytest.raises(ValueError, match="init must be"):
        paper.table12_half("imagenet")
