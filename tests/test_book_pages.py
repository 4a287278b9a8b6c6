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
    assert r["dark-cats-bias_gradient"] == pytest.approx(r["gradient"][0])
    assert all(r[f"{m}_gradient"] >= 0 for m in ("unbiased", "dark-dogs-bias"))
    assert r["cli_report_written"] is True
    assert r["cli_bad_model_status"] == 2
    assert r["cli_bad_model_lines"] == 1


def test_environment_page(tmp_path):
    import jupytext
    import nbclient
    from conftest import ROOT

    nb = jupytext.read(ROOT / "book" / "environment.md")
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Python" in text and "numpy" in text and "torch" in text
