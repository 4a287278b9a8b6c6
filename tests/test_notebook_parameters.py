"""papermill reads every notebook's `parameters` cell cleanly (so `-p NAME VALUE` works)."""

from __future__ import annotations

import ast
import logging
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Pages whose parameters cell is known not to parse yet (none).
XFAIL: dict[str, str] = {}


def _has_parameters_cell(md: Path) -> bool:
    return any(
        line.strip().startswith(":tags:") and "parameters" in line
        for line in md.read_text().splitlines()
    )


def _pages() -> list:
    """Every notebook, and every book page with a parameters cell."""
    pages = sorted((ROOT / "notebooks").glob("*.md"))
    pages += [md for md in sorted((ROOT / "book").glob("*.md")) if _has_parameters_cell(md)]
    params = []
    for md in pages:
        marks = [pytest.mark.xfail(strict=False, reason=XFAIL[md.name])] if md.name in XFAIL else []
        params.append(pytest.param(md, marks=marks, id=md.relative_to(ROOT).as_posix()))
    return params


def assigned_names(source: str) -> list[str]:
    """The names a cell assigns at top level, in order (what papermill should find)."""
    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def test_assigned_names():
    assert assigned_names("a = 1  # x = y\nb: int = 2\nc = d = 3\nprint(a)\n") == [
        "a",
        "b",
        "c",
        "d",
    ]


@pytest.mark.parametrize("md", _pages())
def test_papermill_finds_every_parameter(md, tmp_path, caplog):
    import jupytext
    import papermill

    nb = jupytext.read(md)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{md.name}: expected one cell tagged `parameters`"
    expected = assigned_names(cells[0].source)
    assert expected, f"{md.name}: the parameters cell assigns nothing"

    ipynb = tmp_path / (md.stem + ".ipynb")
    jupytext.write(nb, ipynb)
    caplog.set_level(logging.WARNING, logger="papermill")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = papermill.inspect_notebook(ipynb)

    complaints = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert complaints == [], f"{md.name}: papermill warned: {complaints}"
    assert list(found) == expected, f"{md.name}: papermill missed {set(expected) - set(found)}"
