"""Execute the book's executable pages (outside notebooks/) at the smoke profile."""

from __future__ import annotations

import pytest
from conftest import requires_assets, run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]


@requires_assets
def test_use_your_model_page(tmp_path):
    r = run_notebook("book/use-your-model.md", tmp_path, n_steps=21, n_permutations=200)
    assert r["n_images"] == 21
    assert len(r["gradient"]) == 2 and r["gradient"][0] == pytest.approx(r["gradient"][1])
    assert r["dark-cats_gradient"] == pytest.approx(r["gradient"][0])
    # the command line explains the same photo's background sweep (saved as JPEG first)
    assert r["cli_frames"] == 21 and r["cli_permutations"] == 200
    assert set(r["cli_gradient"]) == {"cat", "dog"}
    assert r["cli_gradient"]["cat"] == pytest.approx(r["unbiased_gradient"], rel=0.25)
    assert r["cli_bad_model_status"] == 2
    assert r["cli_bad_model_lines"] == 1


def test_environment_page(tmp_path):
    """The page prints this interpreter's Python version and each package's installed version."""
    import importlib.metadata as metadata
    import platform

    import jupytext
    import nbclient
    from conftest import ROOT

    nb = jupytext.read(ROOT / "book" / "environment.md")
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    lines = text.splitlines()
    python = f"{platform.python_version()} ({platform.python_implementation()})"
    assert lines[0] == f"Python      {python}"
    assert lines[1] == f"Platform    {platform.platform()}"
    assert any(line.startswith("GPU         ") for line in lines[:5])

    # after the blank line: one "name  version" row per package
    rows = dict(line.split(None, 1) for line in lines[lines.index("") + 1 :])
    assert {"propgrad", "numpy", "torch", "jupyter-book", "papermill"} <= set(rows)

    def installed(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    assert rows == {name: installed(name) for name in rows}
    assert rows["numpy"] != "not installed" and rows["torch"] != "not installed"
