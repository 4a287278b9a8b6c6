"""A small registry of external files (checkpoints, photos, sweeps) with checksums.

Every external file the book uses is listed in :data:`ASSETS` with where it
comes from, its SHA-256 digest, its licence and how to cite it.
:func:`fetch_asset` returns a verified local path, looking in this order:

1. the directory (or ``os.pathsep``-separated directories) named by the
   environment variable ``PROPGRAD_ASSETS``, laid out like the project's
   ``shared/assets`` folder (``<dir>/authors-cvd/checkpoints/...``);
2. the user cache, ``$PROPGRAD_CACHE/assets/<relpath>`` (default cache
   ``~/.cache/propgrad``; see :func:`propgrad.cache.cache_dir`);
3. a download from the asset's URL into the cache (written to a temporary
   file, verified, then renamed into place).

Some files are not published on their own but inside another file: the
authors' InstructPix2Pix sweep is a video embedded in an output of their
tutorial notebook. Such a *derived* asset names its source asset and a
:class:`Derivation`: a named extraction step from :data:`EXTRACTION_STEPS`
(``"notebook-video"``, ``"notebook-png"``) and the notebook cell and output
that hold the bytes. Step 3 then fetches the source (by the same three
steps, its digest checked), extracts the bytes, checks their digest and
stores them in the cache. Its URL is the source's.

A file whose digest does not match is never returned: an
:class:`AssetChecksumError` names the file and both digests. A file that cannot
be found or downloaded raises an :class:`AssetNotFoundError` that says where to
put it; a source file without the expected content raises an
:class:`AssetExtractionError`. Digests are cached in-process per (path, mtime,
size), so repeated fetches of an unchanged file do not re-read it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from propgrad.cache import CACHE_ENV, atomic_path, cache_dir

ENV_ASSETS = "PROPGRAD_ASSETS"
ENV_CACHE = CACHE_ENV

AUTHORS_RAW_BASE = "https://raw.githubusercontent.com/PropGrad/Interventional-XAI/main/"
AUTHORS_REPO = "https://github.com/PropGrad/Interventional-XAI"
AUTHORS_COMMIT = "42f9a6d"
AUTHORS_COMMIT_FULL = "42f9a6df32d884983d1f8d5413987d12866aa0f5"
AUTHORS_NOTEBOOK_URL = (
    "https://raw.githubusercontent.com/PropGrad/Interventional-XAI/"
    f"{AUTHORS_COMMIT_FULL}/measuring_property_impact.ipynb"
)
CGAL_RAW_BASE = "https://raw.githubusercontent.com/CGAL/cgal/v5.5.1/Data/data/meshes/"

PAPER_CITATION = (
    "N. Penzel and J. Denzler. Locally Explaining Prediction Behavior via Gradual "
    "Interventions and Measuring Property Gradients. WACV 2026."
)
_AUTHORS_LICENSE = "MIT (Copyright (c) 2025 PropGrad)"
_FROM_REPO = f"Files from {AUTHORS_REPO} (commit {AUTHORS_COMMIT}). "
_CVD_DATA = "Photo from the Cats vs. Dogs data (W. Cukierski, Dogs vs. Cats, 2013). "


class AssetNotFoundError(FileNotFoundError):
    """An asset is neither in a local assets directory or the cache, nor downloadable."""


class AssetChecksumError(ValueError):
    """A file's SHA-256 digest differs from the registry's."""


class AssetExtractionError(ValueError):
    """A derived asset's source file does not hold the expected content."""


@dataclass(frozen=True)
class ExtractionStep:
    """A named way of getting a file's bytes out of a notebook output.

    Parameters
    ----------
    mime : str
        The MIME type of the output data to read, e.g. ``"image/png"``.
    what : str
        What is extracted, for messages and credits.
    decode : callable
        ``decode(text, where) -> bytes`` turns that data into the file's
        bytes; ``where`` describes the output for error messages.
    """

    mime: str
    what: str
    decode: Callable[[str, str], bytes]


def _b64decode(text: str, where: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise AssetExtractionError(f"{where} is not valid base64: {error}") from None


_VIDEO_SOURCE = re.compile(r'<video\b.*?\bsrc="data:video/mp4;base64,([^"]*)"', re.DOTALL)


def _video_from_html(html: str, where: str) -> bytes:
    match = _VIDEO_SOURCE.search(html)
    if match is None:
        raise AssetExtractionError(
            f"{where} holds no <video> element with a data:video/mp4;base64 source"
        )
    return _b64decode(match.group(1), where)


EXTRACTION_STEPS: dict[str, ExtractionStep] = {
    # The animation matplotlib embeds as HTML: <video><source src="data:video/mp4;base64,...">.
    "notebook-video": ExtractionStep(
        "text/html",
        "the base64 data:video/mp4 source of the <video> element in the text/html data",
        _video_from_html,
    ),
    # A figure as the notebook stores it: the base64 image/png data.
    "notebook-png": ExtractionStep("image/png", "the base64 image/png data", _b64decode),
}
"""The named extraction steps a :class:`Derivation` can use."""


@dataclass(frozen=True)
class Derivation:
    """Where a derived asset's bytes are inside another asset (a Jupyter notebook).

    Parameters
    ----------
    source : str
        Registry name of the file the bytes are extracted from.
    step : str
        A key of :data:`EXTRACTION_STEPS`.
    cell : int
        Index (from 0) of the notebook cell, counting every cell.
    output : int
        Index (from 0) of the output within that cell.
    """

    source: str
    step: str
    cell: int
    output: int

    def describe(self) -> str:
        """Say in words where the bytes come from.

        Returns
        -------
        str
            E.g. "the base64 image/png data of output 1 of cell index 14 of
            asset 'cvd/tutorial-notebook' (step 'notebook-png')".
        """
        return (
            f"{EXTRACTION_STEPS[self.step].what} of output {self.output} of cell index "
            f"{self.cell} of asset {self.source!r} (step {self.step!r})"
        )


@dataclass(frozen=True)
class Asset:
    """One external file: where it lives, what it must hash to, whose it is.

    Parameters
    ----------
    name : str
        Registry key, e.g. ``"cvd/convmixer_unbiased"``.
    relpath : str
        Path relative to an assets directory (``PROPGRAD_ASSETS``) and to the
        cache's ``assets/`` folder, e.g.
        ``"authors-cvd/checkpoints/convmixer_unbiased.pth"``.
    url : str
        Download URL; for a derived asset, the URL of its source.
    sha256 : str
        Expected SHA-256 hex digest of the file.
    license : str
        The licence under which the file is distributed.
    citation : str
        How to credit the file.
    description : str, optional
        One line saying what the file is.
    derived : Derivation, optional
        For a file extracted from another asset: how. None for a file that is
        downloaded as it is.
    """

    name: str
    relpath: str
    url: str
    sha256: str
    license: str
    citation: str
    description: str = ""
    derived: Derivation | None = None

    @property
    def filename(self) -> str:
        """The file's base name."""
        return Path(self.relpath).name


def _authors(
    name: str, relpath: str, repo_path: str, sha256: str, description: str, *, photo: bool = False
) -> Asset:
    citation = _FROM_REPO + (_CVD_DATA if photo else "") + PAPER_CITATION
    return Asset(
        name, relpath, AUTHORS_RAW_BASE + repo_path, sha256, _AUTHORS_LICENSE, citation, description
    )


_NOTEBOOK = Asset(
    "cvd/tutorial-notebook",
    "authors-cvd/measuring_property_impact.ipynb",
    AUTHORS_NOTEBOOK_URL,
    "7d23e95c20b80b1200297694ea97ff75f309ebf129d06b0feaf1abea6c1e79be",
    _AUTHORS_LICENSE,
    f"File from {AUTHORS_REPO} (commit {AUTHORS_COMMIT_FULL}). " + PAPER_CITATION,
    "The authors' executed tutorial notebook; the dog_002 sweep and its plots are outputs of it.",
)


def _from_notebook(
    name: str, relpath: str, sha256: str, description: str, step: str, cell: int, output: int
) -> Asset:
    citation = (
        f"Output of the tutorial notebook in {AUTHORS_REPO} (commit {AUTHORS_COMMIT}); "
        "extracted from it, not a file of that repository. " + PAPER_CITATION
    )
    derived = Derivation(_NOTEBOOK.name, step, cell, output)
    return Asset(
        name, relpath, _NOTEBOOK.url, sha256, _AUTHORS_LICENSE, citation, description, derived
    )


def _cgal(file: str, sha256: str, description: str) -> Asset:
    return Asset(
        f"meshes/{Path(file).stem}",
        f"meshes/{file}",
        CGAL_RAW_BASE + file,
        sha256,
        "CC0 1.0 (Creative Commons CC0 1.0 Universal)",
        f"CGAL sample data (https://github.com/CGAL/cgal, release 5.5.1, Data/data/meshes/{file}).",
        description,
    )


_CKPT = "authors-cvd/checkpoints/"
_IMG = "authors-cvd/images/"
_IP2P = "authors-cvd/ip2p-dog_002/"
_REPO_CKPT = "checkpoints/cats-vs-dogs/"
_REPO_IMG = "example_images/cvd/"

_REGISTRY = (
    _authors(
        "cvd/convmixer_unbiased",
        _CKPT + "convmixer_unbiased.pth",
        _REPO_CKPT + "convmixer_unbiased.pth",
        "56b4c130ce48f8c91294cc9d459c46891424d2c7373c361f021e58c0c2c650c8",
        "ConvMixer-256/8 trained on the unbiased Cats-vs-Dogs split.",
    ),
    _authors(
        "cvd/convmixer_dark-cats-bias",
        _CKPT + "convmixer_dark-cats-bias.pth",
        _REPO_CKPT + "convmixer_dark-cats-bias.pth",
        "d644ec10e14742ce09ed501e6e322f53282ba131248b47bd7fa952cc787788fc",
        "ConvMixer-256/8 trained on dark-furred cats and light-furred dogs only.",
    ),
    _authors(
        "cvd/convmixer_dark-dogs-bias",
        _CKPT + "convmixer_dark-dogs-bias.pth",
        _REPO_CKPT + "convmixer_dark-dogs-bias.pth",
        "4a96687457c64d4eb1b5f5c0c78e3c32e158a8ae06a3c5b6f34c87779232c832",
        "ConvMixer-256/8 trained on dark-furred dogs and light-furred cats only.",
    ),
    _authors(
        "cvd/cat_001",
        _IMG + "cat_001.jpg",
        _REPO_IMG + "cat_001.jpg",
        "ce2a8439902a8967ada4a893fdd64d0604368ca3dbe2775f1d60b5802ddc097e",
        "Example cat photo.",
        photo=True,
    ),
    _authors(
        "cvd/cat_002",
        _IMG + "cat_002.jpg",
        _REPO_IMG + "cat_002.jpg",
        "74ab3e5551089cc85122a14fff5bb673a2f1a8c9b594d9593c8df76541269ca0",
        "Example cat photo.",
        photo=True,
    ),
    _authors(
        "cvd/dog_001",
        _IMG + "dog_001.jpg",
        _REPO_IMG + "dog_001.jpg",
        "b2fac7fb10b0fa30fbf86d4f0c4b53c183a97ddc6cb934c7a9656b6460a926e0",
        "Example dog photo.",
        photo=True,
    ),
    _authors(
        "cvd/dog_002",
        _IMG + "dog_002.jpg",
        _REPO_IMG + "dog_002.jpg",
        "c94c6a580f82098eb9d92f3d009ec7f7ded046a4b4fc620720fe28826377f66c",
        "Example dog photo (dark fur); the source of the authors' InstructPix2Pix sweep.",
        photo=True,
    ),
    _NOTEBOOK,
    _from_notebook(
        "cvd/ip2p-dog_002-sweep",
        _IP2P + "sweep.mp4",
        "70e44c1c19abfaea6ee521239f36b94783d5d52e562557c099ae6d1303c722da",
        "The authors' 100-frame InstructPix2Pix fur-colour sweep of dog_002 (H.264).",
        "notebook-video",
        cell=10,
        output=0,
    ),
    _from_notebook(
        "cvd/ip2p-dog_002-frames",
        _IP2P + "authors-frames-full.png",
        "99a87f8f130c9ff4b5b811dffece4f149e9db24d5f6cec4f895dcb1c258a5a1c",
        "Seven frames of the authors' dog_002 sweep, as plotted by them (2720 x 354).",
        "notebook-png",
        cell=10,
        output=1,
    ),
    _from_notebook(
        "cvd/ip2p-dog_002-curves",
        _IP2P + "authors-curves.png",
        "ebb2678c59bd6aa8d750b5700a86ed1f7a15d6d2b5cf7b2ea0927562311f7c24",
        "The authors' plot of the three models' cat probability along the dog_002 sweep.",
        "notebook-png",
        cell=14,
        output=1,
    ),
    _cgal(
        "elephant.off",
        "be4e1ea68f5f840a3d2ada69d828222e76a57d9e25b21e19a9deacd3f2328e02",
        "Triangle mesh of an elephant (2,775 vertices, 5,558 faces; OFF).",
    ),
    _cgal(
        "camel.off",
        "9ac960a9fee27e6fcc6baaa2340260834625084ee20f4a97194212404e650a22",
        "Triangle mesh of a dromedary (9,770 vertices, 19,536 faces; OFF).",
    ),
    _cgal(
        "dino.off",
        "acca16a64f425dd705375ada71ed4cf046beb2a1a06629a3c2325bb0530475db",
        "Triangle mesh of a two-legged dinosaur (3,916 vertices, 7,828 faces; COFF, "
        "an RGBA colour per vertex).",
    ),
    _cgal(
        "cow.off",
        "1c5a25c3047fc6b14dd0c962d3562b1796671422ab4634f9d46f9f23814cd54a",
        "Triangle mesh of a cow (2,904 vertices, 5,804 faces; OFF).",
    ),
    _cgal(
        "lion.off",
        "5749c7a8d89a7fbda350e842c6b5f233595ea6e6201604087219325af9c82070",
        "Triangle mesh of a lion (7,529 vertices, 14,859 faces; OFF).",
    ),
    _cgal(
        "bear.off",
        "058f6ce62635e5f86958adea9706a8dca3ebe4fae76a0d32b8318d107d40bda6",
        "Triangle mesh of a teddy bear (13,826 vertices, 27,648 faces; OFF).",
    ),
    _cgal(
        "pig.off",
        "7a164eee3a5c3630687974862cb587082e25fca1e8cc99d43bd3626bb5f87ff2",
        "Triangle mesh of a pig (468 vertices, 891 faces; OFF).",
    ),
)

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _validate_asset(asset: Asset, registry: dict[str, Asset]) -> None:
    problems = []
    if asset.name in registry:
        problems.append("the name is used twice")
    clash = [other.name for other in registry.values() if other.relpath == asset.relpath]
    if clash:
        problems.append(f"its path is also that of {clash[0]!r}")
    path = PurePosixPath(asset.relpath)
    if path.is_absolute() or ".." in path.parts:
        problems.append("its path must be relative, without '..'")
    if not asset.url.startswith("https://"):
        problems.append("its URL must start with https://")
    if not _SHA256.fullmatch(asset.sha256):
        problems.append("its sha256 must be 64 lowercase hex digits")
    derived = asset.derived
    if derived is not None:
        if derived.step not in EXTRACTION_STEPS:
            known = ", ".join(EXTRACTION_STEPS)
            problems.append(f"unknown extraction step {derived.step!r} (known: {known})")
        if derived.source not in registry:
            problems.append(f"its source {derived.source!r} must be registered before it")
        if derived.cell < 0 or derived.output < 0:
            problems.append("cell and output must be indices >= 0")
    if problems:
        raise ValueError(f"bad asset entry {asset.name!r}: {'; '.join(problems)}")


def _validate_registry(assets: Iterable[Asset]) -> dict[str, Asset]:
    """Check every entry (unique names and paths, URLs, digests, derivations); index them."""
    registry: dict[str, Asset] = {}
    for asset in assets:
        _validate_asset(asset, registry)
        registry[asset.name] = asset
    return registry


ASSETS: dict[str, Asset] = _validate_registry(_REGISTRY)
"""Every registered asset, by name."""

# (resolved path, mtime_ns, size) -> sha256 hex digest
_DIGESTS: dict[tuple[str, int, int], str] = {}


def get_asset(name: str) -> Asset:
    """Return the registry entry called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`ASSETS`.

    Returns
    -------
    Asset
        The entry.

    Raises
    ------
    KeyError
        If there is no such asset (the message lists the known names).
    """
    try:
        return ASSETS[name]
    except KeyError:
        raise KeyError(
            f"unknown asset {name!r}; known assets: {', '.join(sorted(ASSETS))}"
        ) from None


def _asset_dirs() -> list[Path]:
    value = os.environ.get(ENV_ASSETS, "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part.strip()]


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file, cached per (path, mtime, size).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
        The hex digest.
    """
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    digest = _DIGESTS.get(key)
    if digest is None:
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        digest = hasher.hexdigest()
        _DIGESTS[key] = digest
    return digest


def _verify(asset: Asset, path: Path, where: str) -> Path:
    actual = file_sha256(path)
    if actual != asset.sha256:
        raise AssetChecksumError(
            f"checksum mismatch for asset {asset.name!r} ({where}): {path}\n"
            f"  expected sha256 {asset.sha256}\n"
            f"  actual   sha256 {actual}\n"
            "The file is corrupted, truncated or a different version; delete or replace it."
        )
    return path


def _download(url: str, target: Path) -> None:
    """Download ``url`` to ``target`` (replaced in tests to stay offline)."""
    with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as handle:
        while True:
            block = response.read(1 << 20)
            if not block:
                break
            handle.write(block)


def _local_copy(asset: Asset) -> tuple[Path, str] | None:
    """Return the first local copy (and where it was found) of an asset, or None."""
    for directory in _asset_dirs():
        candidate = directory / asset.relpath
        if candidate.is_file():
            return candidate, f"${ENV_ASSETS}"
    cached = _cached_path(asset)
    return (cached, "user cache") if cached.is_file() else None


def _cached_path(asset: Asset) -> Path:
    return cache_dir("assets") / asset.relpath


def asset_is_local(name: str) -> bool:
    """Say whether an asset can be had without a download (its digest is not checked).

    Parameters
    ----------
    name : str
        A key of :data:`ASSETS`.

    Returns
    -------
    bool
        True when the file is in an assets directory or the cache or, for a
        derived asset, when its source is.
    """
    asset = get_asset(name)
    if _local_copy(asset) is not None:
        return True
    return asset.derived is not None and asset_is_local(asset.derived.source)


def _not_found(asset: Asset, cached: Path, reason: str) -> AssetNotFoundError:
    dirs = _asset_dirs()
    layout = (
        f"{dirs[0] / asset.relpath} (inside ${ENV_ASSETS})"
        if dirs
        else f"<dir>/{asset.relpath} and set {ENV_ASSETS}=<dir>"
    )
    source = (
        f"download it from {asset.url}"
        if asset.derived is None
        else f"it is {asset.derived.describe()}, downloaded from {asset.url}"
    )
    return AssetNotFoundError(
        f"asset {asset.name!r} ({asset.filename}) is not available: {reason}.\n"
        f"  Source: {source}.\n"
        f"  Put the file at {layout},\n"
        f"  or at {cached} (the user cache; ${ENV_CACHE} moves it)."
    )


def _notebook_data(path: Path, cell: int, output: int, mime: str) -> str:
    """Return the ``mime`` data of output ``output`` of cell index ``cell`` of a notebook."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AssetExtractionError(f"{path} is not a Jupyter notebook (JSON): {error}") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not 0 <= cell < len(cells):
        count = len(cells) if isinstance(cells, list) else 0
        raise AssetExtractionError(f"{path} has {count} cells, so no cell index {cell}")
    outputs = cells[cell].get("outputs") or []
    if not 0 <= output < len(outputs):
        raise AssetExtractionError(
            f"cell index {cell} of {path} has {len(outputs)} outputs, so no output {output} "
            "(is it the notebook as the authors ran it?)"
        )
    data = outputs[output].get("data") or {}
    if mime not in data:
        raise AssetExtractionError(
            f"output {output} of cell index {cell} of {path} has no {mime} data "
            f"(it has: {', '.join(sorted(data)) or 'none'})"
        )
    value = data[mime]
    return "".join(value) if isinstance(value, list) else str(value)


def _extract(asset: Asset, cached: Path, download: bool) -> Path:
    derivation = asset.derived
    try:
        source = fetch_asset(derivation.source, download=download)  # digest checked
    except AssetNotFoundError as error:
        reason = f"the file it is extracted from, asset {derivation.source!r}, is not available"
        raise AssetNotFoundError(f"{_not_found(asset, cached, reason)}\n{error}") from error
    step = EXTRACTION_STEPS[derivation.step]
    cell, output = derivation.cell, derivation.output
    text = _notebook_data(source, cell, output, step.mime)
    data = step.decode(
        text, f"the {step.mime} data of output {output} of cell index {cell} of {source}"
    )
    with atomic_path(cached) as tmp:
        tmp.write_bytes(data)
        _verify(asset, tmp, f"extracted from {source}")
    return cached


def fetch_asset(name: str, *, download: bool = True) -> Path:
    """Return a verified local path to an asset, downloading it if needed.

    Parameters
    ----------
    name : str
        A key of :data:`ASSETS`, e.g. ``"cvd/convmixer_unbiased"``.
    download : bool, optional
        Try the asset's URL when the file is in neither the assets directory
        nor the cache. A derived asset is still extracted from a local copy of
        its source when this is False.

    Returns
    -------
    Path
        The file, whose SHA-256 digest matches the registry.

    Raises
    ------
    KeyError
        If ``name`` is not a registered asset.
    AssetNotFoundError
        If the file (or a derived asset's source) is missing and cannot be
        downloaded (offline or ``download=False``); the message says where to
        put it.
    AssetChecksumError
        If a file is found, downloaded or extracted but its digest differs
        (for a derived asset: its source's digest, or the extracted file's).
    AssetExtractionError
        If a derived asset's source does not hold the expected cell, output
        or data.
    """
    asset = get_asset(name)
    local = _local_copy(asset)
    if local is not None:
        return _verify(asset, *local)
    cached = _cached_path(asset)
    if asset.derived is not None:
        return _extract(asset, cached, download)
    if not download:
        raise _not_found(asset, cached, "not found locally and download=False")
    with atomic_path(cached) as tmp:
        try:
            _download(asset.url, tmp)
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise _not_found(asset, cached, f"download failed ({error})") from error
        _verify(asset, tmp, f"downloaded from {asset.url}")
    return cached


def list_assets(prefix: str = "") -> list[Asset]:
    """Return the registered assets whose name starts with ``prefix``, sorted by name.

    Parameters
    ----------
    prefix : str, optional
        Name prefix, e.g. ``"cvd/"``.

    Returns
    -------
    list of Asset
        The matching entries.
    """
    return [ASSETS[name] for name in sorted(ASSETS) if name.startswith(prefix)]


def asset_credits(prefix: str = "") -> list[dict[str, str | None]]:
    """Return one row per asset for a credits table (name, file, licence, citation, URL).

    Parameters
    ----------
    prefix : str, optional
        Name prefix, e.g. ``"cvd/"``.

    Returns
    -------
    list of dict
        Keys ``name``, ``file``, ``description``, ``license``, ``citation``,
        ``url``, ``sha256`` and ``derived_from`` (where in its source a
        derived asset's bytes are, else None); ready for ``pandas.DataFrame``.
    """
    rows = []
    for asset in list_assets(prefix):
        row = asdict(asset)
        row["file"] = row.pop("relpath")
        row.pop("derived")
        row["derived_from"] = asset.derived.describe() if asset.derived else None
        rows.append(row)
    return rows
