"""Shared test configuration: assets, the notebook runner, environment."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_ASSETS = ROOT.parent / "shared" / "assets"

# Notebook kernels are started by name ("python3"); make sure that name resolves
# to this interpreter's environment, whatever PATH the caller had.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
# Tests run in two pytest-xdist workers on a 2-core machine; one BLAS/torch thread
# per process (notebook kernels inherit it) avoids threads waiting on each other.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Caches (trained toy models, sweeps, flip-task scores) go to a fresh folder per
# test process, never to the user's home; notebook kernels inherit it.
if not os.environ.get("PROPGRAD_CACHE"):
    os.environ["PROPGRAD_CACHE"] = tempfile.mkdtemp(prefix="propgrad-test-cache-")
# The authors' files: tests never touch the network. Use $PROPGRAD_ASSETS when
# set, else the development layout's ../shared/assets.
if not os.environ.get("PROPGRAD_ASSETS") and (SHARED_ASSETS / "authors-cvd").is_dir():
    os.environ["PROPGRAD_ASSETS"] = str(SHARED_ASSETS)


def assets_available() -> bool:
    """True when the authors' files can be found without a download."""
    root = os.environ.get("PROPGRAD_ASSETS")
    return bool(root) and (Path(root) / "authors-cvd").is_dir()


requires_assets = pytest.mark.skipif(
    not assets_available(),
    reason="the authors' files are not available (set PROPGRAD_ASSETS to a folder laid out "
    "like shared/assets)",
)


def run_notebook(name: str, tmp_path: Path, **parameters) -> dict:
    """Execute a notebook at the smoke profile with papermill; return its results JSON.

    ``name`` is a notebook in ``notebooks/`` (its paired ``.ipynb`` is run, as a
    user would) or a path like ``book/use-your-model.md`` (converted with
    jupytext first).
    """
    import jupytext
    import papermill

    from propgrad.record import Results

    if name.endswith(".md"):
        source = tmp_path / (Path(name).stem + ".ipynb")
        jupytext.write(jupytext.read(ROOT / name), source)
        workdir, name = (ROOT / name).parent, Path(name).stem
    else:
        source, workdir = ROOT / "notebooks" / f"{name}.ipynb", ROOT / "notebooks"
    results_path = tmp_path / f"{name}-results.json"
    papermill.execute_notebook(
        str(source),
        str(tmp_path / f"{name}-out.ipynb"),
        parameters={"profile": "smoke", "results_path": str(results_path), **parameters},
        kernel_name="python3",
        cwd=str(workdir),
        progress_bar=False,
    )
    return Results.load(results_path)
