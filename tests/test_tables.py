"""Tests for propgrad.tables: our tables beside the paper's, and the tableN record."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from propgrad.tables import MISSING, as_frame, beside_paper, mean_std, styled, table_record


def _cells(styler) -> list[list[str]]:
    """The displayed text of every body cell, row by row (from the rendered HTML)."""
    html = styler.to_html()
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    cells = [re.findall(r"<td [^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    return [[c.strip() for c in row] for row in cells if row]


def _row_labels(styler) -> list[str]:
    html = styler.to_html()
    return [s.strip() for s in re.findall(r'<th [^>]*class="row_heading[^"]*" >(.*?)</th>', html)]


# ---------------------------------------------------------------- as_frame


def test_as_frame_keeps_order_and_fills_gaps():
    frame = as_frame({"b": {"y": 1, "x": 2}, "a": {"z": 3, "x": 4}})
    assert list(frame.index) == ["b", "a"]
    assert list(frame.columns) == ["y", "x", "z"]
    assert frame.at["a", "x"] == 4 and frame.at["b", "y"] == 1
    assert np.isnan(frame.at["b", "z"]) and np.isnan(frame.at["a", "y"])
    df = pd.DataFrame({"c": [1]})
    assert as_frame(df) is df
    with pytest.raises(ValueError, match="a table must be a DataFrame or a mapping, got list"):
        as_frame([1, 2])


# ---------------------------------------------------------------- table_record


def test_record_of_a_multiindex_frame():
    index = pd.MultiIndex.from_tuples([("Light Dogs", "unbiased"), ("Dark Cats", "dark cats")])
    columns = pd.MultiIndex.from_tuples([("E", "mean"), ("E", "p")])
    frame = pd.DataFrame([[0.006, 0.001], [np.nan, 0.5]], index=index, columns=columns)
    record = table_record(frame)
    assert record == {
        "Light Dogs / unbiased": {"E / mean": 0.006, "E / p": 0.001},
        "Dark Cats / dark cats": {"E / mean": None, "E / p": 0.5},
    }
    assert list(record) == ["Light Dogs / unbiased", "Dark Cats / dark cats"]


def test_record_converts_numpy_values_to_python():
    frame = pd.DataFrame(
        {
            "count": np.array([3, 4], dtype=np.int64),
            "flag": np.array([True, False]),
            "value": np.array([0.25, np.inf], dtype=np.float32),
            "name": ["a", None],
        },
        index=["r1", "r2"],
    )
    record = table_record(frame)
    assert record == {
        "r1": {"count": 3, "flag": True, "value": 0.25, "name": "a"},
        "r2": {"count": 4, "flag": False, "value": None, "name": None},
    }
    kinds = {k: type(v) for k, v in record["r1"].items()}
    assert kinds == {"count": int, "flag": bool, "value": float, "name": str}
    assert type(record["r2"]["flag"]) is bool
    # plain JSON: it survives a round trip unchanged
    assert json.loads(json.dumps(record)) == record


def test_record_of_a_mapping_and_docstring_example():
    record = table_record({"ResNet18": {"Unbiased": np.float64(0.5), "Biased": np.nan}})
    assert record == {"ResNet18": {"Unbiased": 0.5, "Biased": None}}
    # integer row labels become strings (JSON keys)
    assert table_record({1: {"a": np.int32(7)}}) == {"1": {"a": 7}}


# ---------------------------------------------------------------- beside_paper


OURS = {
    "Unbiased": {"E": 0.0123456, "S": True},
    "Dark Cats": {"E": 0.0987654, "S": False},
}
PAPER = {
    "Unbiased": {"E": 0.0099, "Background": 0.0006},
    "Dark Dogs": {"E": 0.0110, "Background": 0.00013},
}


def test_beside_paper_columns_and_rows():
    styler = beside_paper(OURS, PAPER, formats={"E": "{:.4f}", "Background": "{:.5f}"})
    data = styler.data
    # a column the paper does not report ("S") keeps ours only
    assert list(data.columns) == [
        ("E", "ours"),
        ("E", "paper"),
        ("S", "ours"),
        ("Background", "ours"),
        ("Background", "paper"),
    ]
    assert list(data.index) == ["Unbiased", "Dark Cats", "Dark Dogs"]
    assert data.at["Unbiased", ("E", "ours")] == 0.0123456
    assert data.at["Dark Dogs", ("E", "paper")] == 0.0110
    assert pd.isna(data.at["Dark Dogs", ("E", "ours")])
    assert pd.isna(data.at["Dark Cats", ("E", "paper")])


def test_beside_paper_formats_both_sides_and_marks_missing():
    styler = beside_paper(OURS, PAPER, formats={"E": "{:.4f}", "Background": "{:.5f}"})
    assert _row_labels(styler) == ["Unbiased", "Dark Cats", "Dark Dogs"]
    assert _cells(styler) == [
        ["0.0123", "0.0099", "✓", MISSING, "0.00060"],
        ["0.0988", MISSING, "", MISSING, MISSING],
        [MISSING, "0.0110", MISSING, MISSING, "0.00013"],
    ]
    assert MISSING == "–"


def test_beside_paper_single_format_and_callables():
    styler = beside_paper(OURS, PAPER, formats="{:.2f}")
    assert _cells(styler)[0] == ["0.01", "0.01", "✓", MISSING, "0.00"]
    styler = beside_paper(
        {"a": {"x": 12.5}}, {"a": {"x": 10.0}}, formats={"x": lambda v: f"{v:.0f} %"}
    )
    assert _cells(styler) == [["12 %", "10 %"]]


def test_beside_paper_without_formats_shows_values():
    styler = beside_paper({"a": {"x": 0.5, "n": "text"}}, {"a": {"x": 0.25}})
    assert _cells(styler) == [["0.5", "0.25", "text"]]


def test_beside_paper_keeps_integers_when_cells_are_missing():
    # a paper-only row leaves our integer column with a gap; it must stay integer
    ours = {"a": {"E": 0.1, "Flips": 3}, "b": {"E": 0.2, "Flips": 1}}
    paper = {"a": {"E": 0.1}, "c": {"E": 0.3}}
    styler = beside_paper(ours, paper, formats={"E": "{:.1f}", "Flips": "{:d}"})
    assert _cells(styler) == [
        ["0.1", "0.1", "3"],
        ["0.2", MISSING, "1"],
        [MISSING, "0.3", MISSING],
    ]
    assert _cells(beside_paper(ours, paper))[0][2] == "3"


def test_beside_paper_caption_labels_and_row_name():
    caption = "Table 1 (profile smoke); paper: Penzel & Denzler, Table 1"
    styler = beside_paper(
        OURS, PAPER, caption=caption, ours_label="here", paper_label="there", row_name="Model"
    )
    html = styler.to_html()
    assert f"<caption>{caption}</caption>" in html.replace("&amp;", "&")
    assert list(styler.data.columns)[:2] == [("E", "here"), ("E", "there")]
    assert styler.data.index.name == "Model"
    assert "<caption>" not in beside_paper(OURS, PAPER).to_html()


def test_beside_paper_aligns_multiindex_rows_with_joined_labels():
    # our behaviour tables are indexed by (group, model); the paper's by "group / model"
    index = pd.MultiIndex.from_tuples([("Light Dogs", "unbiased"), ("Dark Cats", "dark cats")])
    ours = pd.DataFrame({"E[|∇X|]": [0.006, 0.012]}, index=index)
    paper = {
        "Light Dogs / unbiased": {"E[|∇X|]": 0.00598},
        "Light Dogs / dark cats": {"E[|∇X|]": 0.00863},
        "Dark Cats / dark cats": {"E[|∇X|]": 0.01207},
    }
    styler = beside_paper(ours, paper, formats={"E[|∇X|]": "{:.5f}"})
    assert list(styler.data.index) == [
        "Light Dogs / unbiased",
        "Dark Cats / dark cats",
        "Light Dogs / dark cats",
    ]
    assert _cells(styler) == [
        ["0.00600", "0.00598"],
        ["0.01200", "0.01207"],
        [MISSING, "0.00863"],
    ]


def test_beside_paper_accepts_frames_and_paper_tables():
    from propgrad.chapters.cats_vs_dogs.paper import TABLE1

    ours = pd.DataFrame(
        {"Fur Color": [0.0101, 0.0112], "Background": [0.0005, 0.0001]},
        index=["Unbiased", "Dark Cats"],
    )
    styler = beside_paper(ours, TABLE1, formats="{:.4f}")
    assert list(styler.data.index) == ["Unbiased", "Dark Cats", "Dark Dogs"]
    cells = _cells(styler)
    assert cells[0] == ["0.0101", "0.0099", "0.0005", "0.0006"]
    assert cells[2] == [MISSING, "0.0110", MISSING, "0.0001"]


# ---------------------------------------------------------------- styled, mean_std


def test_styled_formats_one_table():
    styler = styled(
        {"r1": {"acc": 0.91234, "ok": True}, "r2": {"acc": np.nan, "ok": False}},
        formats={"acc": "{:.1%}"},
        caption="ours only",
    )
    assert _cells(styler) == [["91.2%", "✓"], [MISSING, ""]]
    assert "<caption>ours only</caption>" in styler.to_html()
    assert _cells(styled({"r": {"a": 1.23456}}, formats="{:.2f}")) == [["1.23"]]


def test_mean_std():
    assert mean_std(86.134, 2.04) == "86.13 ± 2.0"
    assert mean_std(0.5, 0.25, decimals=(1, 2)) == "0.5 ± 0.25"
    assert mean_std(61.43, 3.349) == "61.43 ± 3.3"


def test_beside_paper_stacked_rows_for_wide_tables():
    ours = {"Unbiased": {"Ours": "96.8 ± 1.4", "LIME": "91.3 ± 3.0"}}
    paper = {"Unbiased": {"Ours": "86.13 ± 2.0", "LIME": "84.70 ± 2.2"}, "Biased": {"Ours": "1"}}
    styler = beside_paper(ours, paper, stack="rows", row_name="model")
    data = styler.data
    assert list(data.index) == [
        ("Unbiased", "ours"),
        ("Unbiased", "paper"),
        ("Biased", "ours"),
        ("Biased", "paper"),
    ]
    assert list(data.columns) == ["Ours", "LIME"]
    assert _cells(styler) == [
        ["96.8 ± 1.4", "91.3 ± 3.0"],
        ["86.13 ± 2.0", "84.70 ± 2.2"],
        [MISSING, MISSING],
        ["1", MISSING],
    ]
    with pytest.raises(ValueError, match="stack"):
        beside_paper(ours, paper, stack="diagonal")


def test_tables_get_cell_padding():
    assert "padding" in beside_paper(OURS, PAPER).to_html()
    assert "padding" in styled(OURS).to_html()
