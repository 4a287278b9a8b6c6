import base64
import dataclasses
import hashlib
import json
import os
import shutil
import urllib.error
from pathlib import Path

import pytest
from conftest import requires_assets

from propgrad import assets
from propgrad.assets import (
    ASSETS,
    AUTHORS_NOTEBOOK_URL,
    Asset,
    AssetChecksumError,
    AssetExtractionError,
    AssetNotFoundError,
    Derivation,
    asset_credits,
    asset_is_local,
    fetch_asset,
    list_assets,
)

PAYLOAD = b"propgrad test payload\n" * 100
IMAGE = b"\x89PNG not really a png" * 10
NOTEBOOK = "cvd/tutorial-notebook"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolated assets dir + cache, a fake registry entry, and no network."""
    assets_dir = tmp_path / "assets"
    cache = tmp_path / "cache"
    monkeypatch.setenv("PROPGRAD_ASSETS", str(assets_dir))
    monkeypatch.setenv("PROPGRAD_CACHE", str(cache))
    fake = Asset(
        name="test/payload",
        relpath="test-set/sub/payload.bin",
        url="https://example.invalid/payload.bin",
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        license="CC0",
        citation="nobody",
    )
    monkeypatch.setitem(ASSETS, fake.name, fake)

    def offline(url, target):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(assets, "_download", offline)
    assets._DIGESTS.clear()
    return assets_dir, cache, fake


def test_registry_has_authors_files_with_urls_and_digests():
    names = {
        "cvd/convmixer_unbiased",
        "cvd/convmixer_dark-cats-bias",
        "cvd/convmixer_dark-dogs-bias",
        "cvd/cat_001",
        "cvd/cat_002",
        "cvd/dog_001",
        "cvd/dog_002",
        "cvd/tutorial-notebook",
        "cvd/ip2p-dog_002-sweep",
        "cvd/ip2p-dog_002-frames",
        "cvd/ip2p-dog_002-curves",
    }
    assert names <= set(ASSETS)
    assert ASSETS["cvd/dog_002"].url.endswith("/main/example_images/cvd/dog_002.jpg")
    assert ASSETS["cvd/convmixer_unbiased"].url.endswith(
        "/main/checkpoints/cats-vs-dogs/convmixer_unbiased.pth"
    )
    sweep = ASSETS["cvd/ip2p-dog_002-sweep"]
    assert sweep.url == ASSETS[NOTEBOOK].url == AUTHORS_NOTEBOOK_URL
    assert "/42f9a6df32d884983d1f8d5413987d12866aa0f5/" in AUTHORS_NOTEBOOK_URL
    assert sweep.derived == Derivation(NOTEBOOK, "notebook-video", cell=10, output=0)
    # the full-size figure, not the downscaled copy beside the video in shared/assets
    assert ASSETS["cvd/ip2p-dog_002-frames"].filename == "authors-frames-full.png"


@pytest.mark.parametrize("asset", list(ASSETS.values()), ids=list(ASSETS))
def test_every_asset_has_url_digest_licence_and_citation(asset):
    assert asset.url.startswith("https://")
    assert len(asset.sha256) == 64 and set(asset.sha256) <= set("0123456789abcdef")
    assert asset.license and asset.citation and asset.description
    if asset.derived is not None:
        source = ASSETS[asset.derived.source]
        assert source.derived is None and asset.url == source.url
        assert asset.derived.step in assets.EXTRACTION_STEPS


def test_relpaths_are_unique():
    relpaths = [asset.relpath for asset in ASSETS.values()]
    assert len(set(relpaths)) == len(relpaths)


def test_meshes_are_cgal_sample_data():
    meshes = list_assets("meshes/")
    assert [a.name for a in meshes] == [
        f"meshes/{n}" for n in ("bear", "camel", "cow", "dino", "elephant", "lion", "pig")
    ]
    for asset in meshes:
        assert asset.relpath == f"meshes/{asset.name.split('/')[1]}.off"
        assert (
            asset.url
            == f"https://raw.githubusercontent.com/CGAL/cgal/v5.5.1/Data/data/{asset.relpath}"
        )
        assert asset.license.startswith("CC0 1.0") and "CGAL sample data" in asset.citation


def test_registry_validation_explains_bad_entries():
    good = ASSETS["cvd/dog_002"]
    clash = dataclasses.replace(good, name="cvd/other", sha256="ABC", url="http://x")
    with pytest.raises(ValueError, match="path is also that of 'cvd/dog_002'") as info:
        assets._validate_registry([good, clash])
    assert "https://" in str(info.value) and "64 lowercase hex" in str(info.value)
    orphan = dataclasses.replace(
        good, name="cvd/x", relpath="x.png", derived=Derivation("cvd/none", "zip", 0, 0)
    )
    with pytest.raises(ValueError, match="unknown extraction step 'zip'.*'cvd/none'"):
        assets._validate_registry([good, orphan])


def test_list_and_credits():
    cvd = list_assets("cvd/")
    assert [a.name for a in cvd] == sorted(a.name for a in cvd)
    rows = asset_credits("cvd/")
    assert len(rows) == len(cvd)
    assert {"name", "file", "license", "citation", "url", "sha256", "derived_from"} <= set(rows[0])
    assert all(isinstance(value, (str, type(None))) for row in rows for value in row.values())
    by_name = {row["name"]: row for row in rows}
    assert by_name["cvd/dog_002"]["derived_from"] is None
    assert "cell index 14" in by_name["cvd/ip2p-dog_002-curves"]["derived_from"]
    assert NOTEBOOK in by_name["cvd/ip2p-dog_002-curves"]["derived_from"]


def test_fetch_from_assets_dir(env):
    assets_dir, _, fake = env
    target = assets_dir / fake.relpath
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    assert fetch_asset(fake.name) == target


def test_fetch_from_cache(env):
    _, cache, fake = env
    target = cache / "assets" / fake.relpath
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    assert fetch_asset(fake.name) == target


def test_download_verifies_and_renames_atomically(env, monkeypatch):
    _, cache, fake = env
    calls = []

    def fake_download(url, target):
        calls.append((url, Path(target)))
        Path(target).write_bytes(PAYLOAD)

    monkeypatch.setattr(assets, "_download", fake_download)
    path = fetch_asset(fake.name)
    assert path == cache / "assets" / fake.relpath
    assert path.read_bytes() == PAYLOAD
    assert calls[0][0] == fake.url
    assert calls[0][1].parent == path.parent and calls[0][1] != path
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    fetch_asset(fake.name)  # now served from the cache
    assert len(calls) == 1


def test_bad_download_is_rejected_and_removed(env, monkeypatch):
    _, cache, fake = env
    monkeypatch.setattr(assets, "_download", lambda url, target: Path(target).write_bytes(b"x"))
    with pytest.raises(AssetChecksumError, match=fake.sha256):
        fetch_asset(fake.name)
    assert not [p for p in (cache / "assets").rglob("*") if p.is_file()]


def test_offline_missing_asset_says_where_to_put_it(env):
    assets_dir, cache, fake = env
    with pytest.raises(AssetNotFoundError) as info:
        fetch_asset(fake.name)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "payload.bin" in message
    assert fake.url in message
    assert str(assets_dir / fake.relpath) in message
    assert str(cache / "assets" / fake.relpath) in message


def test_no_download_flag(env, monkeypatch):
    def forbidden(url, target):
        raise AssertionError("must not download")

    monkeypatch.setattr(assets, "_download", forbidden)
    with pytest.raises(AssetNotFoundError, match="download=False"):
        fetch_asset(env[2].name, download=False)


def test_corrupted_copy_raises_checksum_error(env):
    assets_dir, _, fake = env
    target = assets_dir / fake.relpath
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD[:-5])
    with pytest.raises(AssetChecksumError) as info:
        fetch_asset(fake.name)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(target) in message
    assert fake.sha256 in message
    assert hashlib.sha256(PAYLOAD[:-5]).hexdigest() in message


def test_corrupted_cache_raises_checksum_error(env):
    _, cache, fake = env
    target = cache / "assets" / fake.relpath
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not it")
    with pytest.raises(AssetChecksumError, match="user cache"):
        fetch_asset(fake.name)


def test_digest_cached_per_mtime_and_size(env, monkeypatch):
    assets_dir, _, fake = env
    target = assets_dir / fake.relpath
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    fetch_asset(fake.name)
    hashed = []
    real = hashlib.sha256

    def counting(*args):
        hashed.append(1)
        return real(*args)

    monkeypatch.setattr(assets.hashlib, "sha256", counting)
    fetch_asset(fake.name)
    assert hashed == []
    # a changed file (new size and mtime) is hashed again and rejected
    target.write_bytes(PAYLOAD + b"tampered")
    os.utime(target, ns=(1, 1))
    with pytest.raises(AssetChecksumError):
        fetch_asset(fake.name)
    assert hashed == [1]


def test_unknown_asset_lists_names():
    with pytest.raises(KeyError, match="cvd/dog_002"):
        fetch_asset("cvd/no-such-file")


@requires_assets
def test_shared_assets_verify(monkeypatch, tmp_path):
    """Every registered file found locally matches its digest (derived ones are extracted)."""
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    monkeypatch.setattr(assets, "_download", _no_network)
    for asset in list_assets():
        if asset.name.startswith("cvd/") or asset_is_local(asset.name):
            path = fetch_asset(asset.name, download=False)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == asset.sha256


def _no_network(url, target):
    raise AssertionError(f"tests must not download {url}")


# --- derived assets: files extracted from a notebook -----------------------------


def _notebook_json(html: str | None = None) -> bytes:
    """A small executed notebook: a markdown cell, then a cell with a video and a figure."""
    if html is None:
        encoded = base64.encodebytes(PAYLOAD).decode()  # with newlines, as matplotlib writes it
        source = f'<source type="video/mp4" src="data:video/mp4;base64,{encoded}">'
        html = f"<video controls>\n  {source}\n</video>"
    outputs = [
        {"output_type": "execute_result", "data": {"text/html": html.splitlines(True)}},
        {"output_type": "display_data", "data": {"image/png": base64.b64encode(IMAGE).decode()}},
    ]
    cells = [
        {"cell_type": "markdown", "source": "# title"},
        {"cell_type": "code", "source": "plot()", "outputs": outputs},
    ]
    return json.dumps({"nbformat": 4, "cells": cells}).encode()


@pytest.fixture
def notebook_env(env, monkeypatch):
    """``env`` plus a registered notebook and three assets derived from it."""
    content = _notebook_json()
    notebook = Asset(
        "test/notebook",
        "test-set/nb.ipynb",
        "https://example.invalid/nb.ipynb",
        hashlib.sha256(content).hexdigest(),
        "CC0",
        "nobody",
    )

    def derived(name, file, data, step, cell, output):
        return Asset(
            name,
            f"test-set/derived/{file}",
            notebook.url,
            hashlib.sha256(data).hexdigest(),
            "CC0",
            "nobody",
            derived=Derivation(notebook.name, step, cell, output),
        )

    for asset in (
        notebook,
        derived("test/video", "video.mp4", PAYLOAD, "notebook-video", 1, 0),
        derived("test/image", "image.png", IMAGE, "notebook-png", 1, 1),
        derived("test/wrong", "wrong.png", b"other bytes", "notebook-png", 1, 1),
    ):
        monkeypatch.setitem(ASSETS, asset.name, asset)
    downloads = []

    def serve(url, target):
        downloads.append(url)
        if url != notebook.url:
            raise urllib.error.URLError("network disabled in tests")
        Path(target).write_bytes(content)

    monkeypatch.setattr(assets, "_download", serve)
    return env, notebook, downloads


def test_derived_asset_downloads_source_then_extracts(notebook_env):
    (_, cache, _), notebook, downloads = notebook_env
    assert not asset_is_local("test/video")
    video = fetch_asset("test/video")
    assert video == cache / "assets" / "test-set/derived/video.mp4"
    assert video.read_bytes() == PAYLOAD
    assert downloads == [notebook.url]
    assert (cache / "assets" / notebook.relpath).is_file()  # the source is cached too
    assert fetch_asset("test/image").read_bytes() == IMAGE
    assert fetch_asset("test/video") == video
    assert downloads == [notebook.url]
    assert asset_is_local("test/video")
    assert not [p for p in video.parent.iterdir() if p.name.startswith(".")]


def test_derived_asset_from_local_source_without_download(notebook_env, monkeypatch):
    (assets_dir, cache, _), notebook, _ = notebook_env
    source = assets_dir / notebook.relpath
    source.parent.mkdir(parents=True)
    source.write_bytes(_notebook_json())
    monkeypatch.setattr(assets, "_download", _no_network)
    assert asset_is_local("test/image")
    path = fetch_asset("test/image", download=False)
    assert path == cache / "assets" / "test-set/derived/image.png"
    assert path.read_bytes() == IMAGE


def test_extracted_bytes_are_verified(notebook_env):
    (_, cache, _), notebook, _ = notebook_env
    with pytest.raises(AssetChecksumError, match=r"'test/wrong' \(extracted from .*nb\.ipynb"):
        fetch_asset("test/wrong")
    files = [p for p in (cache / "assets").rglob("*") if p.is_file()]
    assert files == [cache / "assets" / notebook.relpath]  # nothing half-written is left


def test_derived_asset_offline_names_the_source(env):
    with pytest.raises(AssetNotFoundError) as info:
        fetch_asset("cvd/ip2p-dog_002-sweep")
    message = str(info.value)
    assert "sweep.mp4" in message and "cell index 10" in message
    assert NOTEBOOK in message and "measuring_property_impact.ipynb" in message
    assert AUTHORS_NOTEBOOK_URL in message


def test_corrupted_notebook_raises_checksum_error_naming_it(env):
    assets_dir, cache, _ = env
    bad = assets_dir / ASSETS[NOTEBOOK].relpath
    bad.parent.mkdir(parents=True)
    bad.write_bytes(_notebook_json())
    with pytest.raises(AssetChecksumError) as info:
        fetch_asset("cvd/ip2p-dog_002-sweep")
    assert str(bad) in str(info.value) and NOTEBOOK in str(info.value)
    assert ASSETS[NOTEBOOK].sha256 in str(info.value)
    assert not (cache / "assets" / ASSETS["cvd/ip2p-dog_002-sweep"].relpath).exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_notebook_json(), "has 2 cells, so no cell index 10"),
        (
            json.dumps({"cells": [{"cell_type": "code", "outputs": []}] * 11}).encode(),
            "has 0 outputs",
        ),
        (b"<html>not a notebook</html>", "is not a Jupyter notebook"),
    ],
    ids=["no-cell", "no-output", "not-json"],
)
def test_notebook_without_the_output_raises_clear_error(env, monkeypatch, content, message):
    assets_dir, cache, _ = env
    # a notebook with the registered name and a matching digest, but other content
    notebook = dataclasses.replace(ASSETS[NOTEBOOK], sha256=hashlib.sha256(content).hexdigest())
    monkeypatch.setitem(ASSETS, NOTEBOOK, notebook)
    path = assets_dir / notebook.relpath
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(AssetExtractionError, match=message) as info:
        fetch_asset("cvd/ip2p-dog_002-sweep")
    assert str(path) in str(info.value)
    assert not (cache / "assets" / ASSETS["cvd/ip2p-dog_002-sweep"].relpath).exists()


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<p>no video here</p>", "holds no <video> element"),
        ('<video><source src="data:video/mp4;base64,@@@"></video>', "not valid base64"),
    ],
)
def test_output_without_the_video_raises_clear_error(notebook_env, monkeypatch, html, message):
    (assets_dir, _, _), notebook, _ = notebook_env
    content = _notebook_json(html)
    digest = hashlib.sha256(content).hexdigest()
    monkeypatch.setitem(ASSETS, notebook.name, dataclasses.replace(notebook, sha256=digest))
    (assets_dir / notebook.relpath).parent.mkdir(parents=True)
    (assets_dir / notebook.relpath).write_bytes(content)
    with pytest.raises(AssetExtractionError, match=message):
        fetch_asset("test/video")


def test_output_without_the_mime_type_raises_clear_error(notebook_env, monkeypatch):
    wrong_output = Derivation(notebook_env[1].name, "notebook-video", cell=1, output=1)
    video = dataclasses.replace(ASSETS["test/video"], derived=wrong_output)
    monkeypatch.setitem(ASSETS, video.name, video)
    with pytest.raises(AssetExtractionError, match=r"output 1 of cell index 1 .* no text/html"):
        fetch_asset("test/video")


@requires_assets
@pytest.mark.parametrize(
    "name", ["cvd/ip2p-dog_002-sweep", "cvd/ip2p-dog_002-curves", "cvd/ip2p-dog_002-frames"]
)
def test_authors_outputs_download_from_the_notebook(name, tmp_path, monkeypatch):
    """With no local copy, the sweep (and the plots) come from the notebook's URL."""
    local_notebook = fetch_asset(NOTEBOOK, download=False)  # the copy in $PROPGRAD_ASSETS
    local_copy = assets._local_copy(ASSETS[name])  # e.g. shared/assets' sweep.mp4
    empty, cache = tmp_path / "empty", tmp_path / "cache"
    empty.mkdir()
    monkeypatch.setenv("PROPGRAD_ASSETS", str(empty))
    monkeypatch.setenv("PROPGRAD_CACHE", str(cache))
    downloads = []

    def serve(url, target):
        downloads.append(url)
        if url != AUTHORS_NOTEBOOK_URL:
            raise urllib.error.URLError(f"tests must not download {url}")
        shutil.copyfile(local_notebook, target)

    monkeypatch.setattr(assets, "_download", serve)
    path = fetch_asset(name)
    assert downloads == [AUTHORS_NOTEBOOK_URL]
    assert path == cache / "assets" / ASSETS[name].relpath
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == ASSETS[name].sha256
    assert (cache / "assets" / ASSETS[NOTEBOOK].relpath).is_file()
    if local_copy is not None:
        assert digest == hashlib.sha256(local_copy[0].read_bytes()).hexdigest()
    if name == "cvd/ip2p-dog_002-sweep":
        assert local_copy is not None and local_copy[0].name == "sweep.mp4"
