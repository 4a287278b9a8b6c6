"""Shared test configuration: assets, the notebook runner, environment."""

from __future__ import annotations

import functools
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


REQUIRE_ASSETS_ENV = "PROPGRAD_REQUIRE_ASSETS"


@functools.cache
def missing_assets() -> tuple[str, ...]:
    """The authors' files (``cvd/`` assets) that cannot be had without a download.

    They are looked up as :func:`propgrad.assets.fetch_asset` does: in
    ``$PROPGRAD_ASSETS``, then in the cache (``$PROPGRAD_CACHE``); a file
    extracted from the authors' notebook counts when the notebook is there.
    """
    from propgrad.assets import asset_is_local, list_assets

    return tuple(asset.name for asset in list_assets("cvd/") if not asset_is_local(asset.name))


def assets_available() -> bool:
    """True when the authors' files can be found without a download."""
    return not missing_assets()


requires_assets = pytest.mark.requires_assets
"""Marks a test that needs the authors' files: skipped without them, or failed when
``PROPGRAD_REQUIRE_ASSETS=1`` (``make test`` sets it in the development layout)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "requires_assets: needs the authors' files; skipped without them, an error "
        f"instead when {REQUIRE_ASSETS_ENV}=1",
    )


def pytest_runtest_setup(item):
    if item.get_closest_marker("requires_assets") is None or assets_available():
        return
    reason = (
        f"the authors' files are not available (missing: {', '.join(missing_assets())}); "
        "set PROPGRAD_ASSETS to a folder laid out like shared/assets, or PROPGRAD_CACHE "
        "to a cache they were downloaded into"
    )
    if os.environ.get(REQUIRE_ASSETS_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ASSETS_ENV}=1: they are required)", pytrace=False)
    pytest.skip(reason)


def claim_ids(chapter: str) -> set[str]:
    """The ids of the claims a chapter states (``propgrad.chapters.<chapter>.claims``)."""
    import importlib

    module = importlib.import_module(f"propgrad.chapters.{chapter}.claims")
    return {claim.id for claim in module.CLAIMS}


def assert_claims(record: dict, chapter: str, *, hold: bool) -> None:
    """The record holds exactly the chapter's claims; with ``hold``, every one is true."""
    recorded = record["claims"]
    assert set(recorded) == claim_ids(chapter), sorted(set(recorded) ^ claim_ids(chapter))
    if hold:
        failing = sorted(i for i, v in recorded.items() if not v)
        assert not failing, f"claims that do not hold: {failing}"


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
