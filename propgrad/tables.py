"""Tables for the book: our numbers beside the paper's, and the results record.

Two small helpers carry every table of every chapter:

* :func:`beside_paper` lays our table and the paper's side by side, column by
  column (``ours`` then ``paper`` under each of the paper's column labels),
  formatted alike, with a caption that says which profile produced ours and
  where the paper's come from. Missing cells show as "–".
* :func:`table_record` turns a table into the nested dict row -> column ->
  number that a chapter records as ``tableN`` (N = the paper's table number).
  Two-level labels (a pandas MultiIndex) are joined with " / ", e.g. the row
  "Light Dogs / unbiased" of Table 6.

Tables are nested mappings row -> column -> value or pandas DataFrames; both
are accepted everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

MISSING = "–"
LEVEL_SEPARATOR = " / "


def _label(value: Any) -> str:
    if isinstance(value, tuple):
        return LEVEL_SEPARATOR.join(str(v) for v in value if str(v) != "")
    return str(value)


def as_frame(table: Any) -> Any:
    """Return a nested mapping (row -> column -> value) or DataFrame as a DataFrame.

    Parameters
    ----------
    table : mapping or pandas.DataFrame
        The table.

    Returns
    -------
    pandas.DataFrame
        Rows and columns in the given order.
    """
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return table
    if not isinstance(table, Mapping):
        raise ValueError(f"a table must be a DataFrame or a mapping, got {type(table).__name__}")
    columns: list[Any] = []
    for row in table.values():
        for column in row:
            if column not in columns:
                columns.append(column)
    return pd.DataFrame.from_dict(
        {r: dict(v) for r, v in table.items()}, orient="index", columns=columns
    )


def _plain_number(value: Any) -> Any:
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is None:
        return None
    try:
        if np.isnan(value):
            return None
    except TypeError:
        pass
    return value


def table_record(table: Any) -> dict[str, dict[str, Any]]:
    """The nested dict row -> column -> number that a chapter records as ``tableN``.

    Parameters
    ----------
    table : pandas.DataFrame or mapping
        The table; MultiIndex labels are joined with " / ".

    Returns
    -------
    dict
        Plain JSON values (numpy numbers converted, NaN as ``None``).

    Examples
    --------
    >>> table_record({"ResNet18": {"Unbiased": np.float64(0.5), "Biased": np.nan}})
    {'ResNet18': {'Unbiased': 0.5, 'Biased': None}}
    """
    frame = as_frame(table)
    return {
        _label(row): {_label(col): _plain_number(frame.at[row, col]) for col in frame.columns}
        for row in frame.index
    }


def _formatter(spec: str | Callable[[Any], str] | None) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        if isinstance(value, (bool, np.bool_)):
            return "✓" if value else ""
        if callable(spec):
            return spec(value)
        if spec is None or isinstance(value, str):
            return str(value)
        return spec.format(value)

    return fmt


def beside_paper(
    ours: Any,
    paper: Any,
    *,
    formats: Mapping[str, str | Callable[[Any], str]] | str | None = None,
    caption: str | None = None,
    ours_label: str = "ours",
    paper_label: str = "paper",
    row_name: str | None = None,
    stack: str = "columns",
) -> Any:
    """Our table and the paper's side by side, each paper column split into ours | paper.

    Parameters
    ----------
    ours : pandas.DataFrame or mapping
        Our numbers, rows and columns labelled as in the paper.
    paper : pandas.DataFrame or mapping
        The paper's numbers (from ``propgrad.chapters.<chapter>.paper``), same labels.
        Rows or columns that only one side has are kept; the other side shows
        "–".
    formats : mapping or str, optional
        Column -> format string (``"{:.4f}"``) or callable, applied to both
        sides of that column; a single string applies to every column.
        Booleans show as ✓ (true) or nothing.
    caption : str, optional
        Table caption; say which profile produced our numbers.
    ours_label, paper_label : str, optional
        Sub-column labels.
    row_name : str, optional
        Name shown above the row labels.
    stack : {"columns", "rows"}, optional
        ``"columns"`` (default): every column splits into ours | paper (a
        column the paper does not report keeps ours only). ``"rows"``: every
        row splits into an ours row and a paper row, for wide tables such as
        Table 2.

    Returns
    -------
    pandas.io.formats.style.Styler
        Displayed by Jupyter and the book; ``.data`` holds the combined
        DataFrame with (column, source) MultiIndex columns, or (row, source)
        MultiIndex rows for ``stack="rows"``.
    """
    if stack not in ("columns", "rows"):
        raise ValueError(f"stack must be 'columns' or 'rows', got {stack!r}")
    import pandas as pd

    ours_frame, paper_frame = as_frame(ours), as_frame(paper)
    # rows and columns meet by their labels: our MultiIndex row ("Light Dogs",
    # "unbiased") is the paper's "Light Dogs / unbiased"
    ours_rows, paper_rows = ({_label(r): r for r in f.index} for f in (ours_frame, paper_frame))
    ours_cols, paper_cols = ({_label(c): c for c in f.columns} for f in (ours_frame, paper_frame))
    rows = list(ours_rows) + [r for r in paper_rows if r not in ours_rows]
    columns = list(ours_cols) + [c for c in paper_cols if c not in ours_cols]
    sides = (
        (ours_label, ours_frame, ours_rows, ours_cols),
        (paper_label, paper_frame, paper_rows, paper_cols),
    )

    def cell(side: tuple, row: str, column: str) -> Any:
        _, frame, row_of, column_of = side
        if column in column_of and row in row_of:
            return frame.at[row_of[row], column_of[column]]
        return None

    def spec_of(column: str) -> Any:
        if isinstance(formats, str) or formats is None:
            return formats
        key = ours_cols.get(column, paper_cols.get(column))
        return formats.get(key, formats.get(column))

    if stack == "rows":
        index = [(r, side[0]) for r in rows for side in sides]
        data = {c: [cell(side, r, c) for r in rows for side in sides] for c in columns}
        combined = pd.DataFrame(data, index=pd.MultiIndex.from_tuples(index), dtype=object)
        if row_name:
            combined.index.names = [row_name, ""]
        styler = combined.style
        for column in columns:
            styler = styler.format(_formatter(spec_of(column)), subset=[column])
        return _finish(styler, caption)
    data = {}
    for column in columns:
        for side in sides:
            if side is sides[1] and column not in paper_cols:
                continue  # the paper does not report this column: ours only
            data[column, side[0]] = [cell(side, r, column) for r in rows]
    # object columns keep the values as given (a missing cell would turn ints into floats)
    combined = pd.DataFrame(data, index=rows, dtype=object)
    combined.columns = pd.MultiIndex.from_tuples(combined.columns)
    if row_name:
        combined.index.name = row_name
    styler = combined.style
    for column in columns:
        subset = [key for key in combined.columns if key[0] == column]
        styler = styler.format(_formatter(spec_of(column)), subset=subset)
    return _finish(styler, caption)


#: Cell spacing of every table (the book theme's defaults run numbers together).
TABLE_STYLES = [
    {"selector": "th, td", "props": "padding: 0.2em 0.7em; text-align: right;"},
    {"selector": "th.row_heading", "props": "text-align: left;"},
    {"selector": "caption", "props": "caption-side: top; padding-bottom: 0.5em;"},
]


def _finish(styler: Any, caption: str | None) -> Any:
    styler = styler.set_table_styles(TABLE_STYLES, overwrite=False)
    return styler.set_caption(caption) if caption else styler


def styled(
    table: Any,
    *,
    formats: Mapping[str, str | Callable[[Any], str]] | str | None = None,
    caption: str | None = None,
) -> Any:
    """Format one table (ours only) like :func:`beside_paper` does.

    Parameters
    ----------
    table : pandas.DataFrame or mapping
        The table.
    formats : mapping or str, optional
        Column -> format string or callable; a single string for all columns.
    caption : str, optional
        Caption.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    frame = as_frame(table)
    styler = frame.style
    for column in frame.columns:
        spec = formats if isinstance(formats, str) or formats is None else formats.get(column)
        styler = styler.format(_formatter(spec), subset=[column])
    return _finish(styler, caption)


def mean_std(mean: float, std: float, decimals: tuple[int, int] = (2, 1)) -> str:
    """Format ``mean ± std`` the way the paper prints Table 2.

    Examples
    --------
    >>> mean_std(86.134, 2.04)
    '86.13 ± 2.0'
    """
    return f"{mean:.{decimals[0]}f} ± {std:.{decimals[1]}f}"


def mean_std_table(
    means: Mapping[str, Mapping[str, float]],
    stds: Mapping[str, Mapping[str, float]],
    decimals: tuple[int, int] = (2, 1),
) -> dict[str, dict[str, str]]:
    """Combine two tables of means and standard deviations into "mean ± std" cells.

    Parameters
    ----------
    means, stds : mapping
        Row -> column -> number, the same labels in both.
    decimals : (int, int), optional
        Decimals of the mean and of the std.

    Returns
    -------
    dict
        Row -> column -> formatted string.
    """
    return {
        row: {col: mean_std(value, stds[row][col], decimals) for col, value in cols.items()}
        for row, cols in means.items()
    }


__all__ = [
    "MISSING",
    "as_frame",
    "beside_paper",
    "mean_std",
    "mean_std_table",
    "styled",
    "table_record",
]


def parse_mean_std_rows(
    text: str, columns: Sequence[str]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Means and standard deviations of a table typed as ``row|mean std|mean std|...`` lines.

    The paper prints Table 2 as "mean std" pairs; the chapters keep its rows in
    this compact form, one line per row.

    Parameters
    ----------
    text : str
        One line per row: the row label, then one ``mean std`` cell per column,
        separated by ``|``.
    columns : sequence of str
        The column labels, in order.

    Returns
    -------
    means, stds : dict
        Row -> column -> number.

    Raises
    ------
    ValueError
        If a row has another number of cells than ``columns``.

    Examples
    --------
    >>> means, stds = parse_mean_std_rows("A|1.5 0.2|3 1", ["x", "y"])
    >>> means, stds
    ({'A': {'x': 1.5, 'y': 3.0}}, {'A': {'x': 0.2, 'y': 1.0}})
    """
    means: dict[str, dict[str, float]] = {}
    stds: dict[str, dict[str, float]] = {}
    for line in text.strip().splitlines():
        row, *cells = (c.strip() for c in line.split("|"))
        if len(cells) != len(columns):
            raise ValueError(f"row {row!r} has {len(cells)} cells for {len(columns)} columns")
        pairs = [tuple(float(v) for v in cell.split()) for cell in cells]
        means[row] = {c: m for c, (m, _) in zip(columns, pairs)}
        stds[row] = {c: sd for c, (_, sd) in zip(columns, pairs)}
    return means, stds
