"""The chapters' exercises: every one has a hidden solution, and the solutions run.

The fast checks read the MyST sources; the slow one (``make test-slow``)
appends each chapter's solution code as cells after the chapter and runs it
at the smoke profile, as a student would after reading to the end.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(
    p.stem for p in (ROOT / "notebooks").glob("*.md") if "{exercise}" in p.read_text()
)

_EXERCISE = re.compile(r"^```\{exercise\}[^\n]*\n:label: (\S+)", re.M)
_SOLUTION = re.compile(r"^````\{solution\} (\S+)\n(.*?)^````$", re.M | re.S)
_PYTHON = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)


#: What a solution's output must contain where the solution's text states it.
EXPECTED_OUTPUT = {
    "method": {"method-exercise-two-points": ["0.7", "at least 3 points"]},
    "skin_lesions": {"skin-exercise-size": ["same melanomas: True"]},
}


def _solutions(name: str) -> dict[str, str]:
    """Label -> body of each solution of a chapter."""
    text = (ROOT / "notebooks" / f"{name}.md").read_text()
    return {label: body for label, body in _SOLUTION.findall(text)}


def test_the_chapters_with_exercises():
    expected = {"method", "cats_vs_dogs", "skin_lesions", "training_dynamics", "clip_orientation"}
    assert expected <= set(CHAPTERS)


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_one_hidden_solution_with_code(name):
    text = (ROOT / "notebooks" / f"{name}.md").read_text()
    labels = _EXERCISE.findall(text)
    assert len(labels) >= 3, labels
    assert all(label.startswith(labels[0].split("-")[0] + "-exercise-") for label in labels)
    assert len(set(labels)) == len(labels)
    solutions = _solutions(name)
    assert list(solutions) == labels  # one each, in the same order
    for label, body in solutions.items():
        assert body.startswith(":class: dropdown\n"), label  # hidden until asked for
        code = _PYTHON.findall(body)
        assert len(code) == 1, label
        ast.parse(code[0])


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("name", CHAPTERS)
def test_solutions_run_after_the_chapter_at_the_smoke_profile(name, tmp_path):
    import jupytext
    import nbformat
    import papermill

    notebook = jupytext.read(ROOT / "notebooks" / f"{name}.md")
    blocks = [_PYTHON.findall(body)[0] for body in _solutions(name).values()]
    notebook.cells += [nbformat.v4.new_code_cell(code) for code in blocks]
    source, out = tmp_path / f"{name}.ipynb", tmp_path / f"{name}-out.ipynb"
    nbformat.write(notebook, source)
    papermill.execute_notebook(  # raises on the first failing cell
        str(source),
        str(out),
        parameters={"profile": "smoke"},
        kernel_name="python3",
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    executed = nbformat.read(out, 4).cells[-len(blocks) :]
    for cell in executed:
        assert cell.outputs, cell.source  # every solution shows its result
    printed = {
        label: "".join(o.get("text", "") for o in cell.outputs)
        for label, cell in zip(_solutions(name), executed, strict=True)
    }
    for label, expected in EXPECTED_OUTPUT.get(name, {}).items():
        for text in expected:
            assert text in printed[label], (label, printed[label])
