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

A file whose digest does not match is never returned: an
:class:`AssetChecksumError` names the file and both digests. A file that cannot
be found or downloaded raises an :class:`AssetNotFoundError` that says where to
put it. Digests are cached in-process per (path, mtime, size), so repeated
fetches of an unchanged file do not re-read it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from propgrad.cache import CACHE_ENV, cache_dir

ENV_ASSETS = "PROPGRAD_ASSETS"
ENV_CACHE = CACHE_ENV

AUTHORS_RAW_BASE = "https://raw.githubusercontent.com/PropGrad/Interventional-XAI/main/"
AUTHORS_REPO = "https://github.com/PropGrad/Interventional-XAI"
AUTHORS_COMMIT = "42f9a6d"

PAPER_CITATION = (
    "N. Penzel and J. Denzler. Locally Explaining Prediction Behavior via Gradual "
    "Interventions and Measuring Property Gradients. WACV 2026."
)
_AUTHORS_LICENSE = "MIT (Copyright (c) 2025 PropGrad)"
_FROM_REPO = f"Files from {AUTHORS_REPO} (commit {AUTHORS_COMMIT}). "
_CVD_DATA = "Photo from the Cats vs. Dogs data (W. Cukierski, Dogs vs. Cats, 2013). "


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
    url : str or None
        Download URL, or None for a local-only file (no public URL).
    sha256 : str
        Expected SHA-256 hex digest of the file.
    license : str
        The licence under which the file is distributed.
    citation : str
        How to credit the file.
    description : str, optional
        One line saying what the file is.
    """

    name: str
    relpath: str
    url: str | None
    sha256: str
    license: str
    citation: str
    description: str = ""

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


def _local(name: str, relpath: str, sha256: str, description: str) -> Asset:
    citation = (
        f"Output of the tutorial notebook in {AUTHORS_REPO} (commit {AUTHORS_COMMIT}); "
        "not a file of that repository. " + PAPER_CITATION
    )
    return Asset(name, relpath, None, sha256, _AUTHORS_LICENSE, citation, description)


_CKPT = "authors-cvd/checkpoints/"
_IMG = "authors-cvd/images/"
_IP2P = "authors-cvd/ip2p-dog_002/"
_REPO_CKPT = "checkpoints/cats-vs-dogs/"
_REPO_IMG = "example_images/cvd/"

ASSETS: dict[str, Asset] = {
    asset.name: asset
    for asset in (
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
        _local(
            "cvd/ip2p-dog_002-sweep",
            _IP2P + "sweep.mp4",
            "70e44c1c19abfaea6ee521239f36b94783d5d52e562557c099ae6d1303c722da",
            "The authors' 100-frame InstructPix2Pix fur-colour sweep of dog_002 (H.264).",
        ),
        _local(
            "cvd/ip2p-dog_002-frames",
            _IP2P + "authors-frames.png",
            "e2687e161a604f0e0e609ffe3151095ef50e9ba1636163a69095a32389bfa29f",
            "Seven frames of the authors' dog_002 sweep, as plotted by them.",
        ),
        _local(
            "cvd/ip2p-dog_002-curves",
            _IP2P + "authors-curves.png",
            "ebb2678c59bd6aa8d750b5700a86ed1f7a15d6d2b5cf7b2ea0927562311f7c24",
            "The authors' plot of the three models' cat probability along the dog_002 sweep.",
        ),
    )
}


class AssetNotFoundError(FileNotFoundError):
    """An asset is neither in a local assets directory or the cache, nor downloadable."""


class AssetChecksumError(ValueError):
    """A file's SHA-256 digest differs from the registry's."""


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


def _not_found(asset: Asset, cached: Path, reason: str) -> AssetNotFoundError:
    dirs = _asset_dirs()
    layout = (
        f"{dirs[0] / asset.relpath} (inside ${ENV_ASSETS})"
        if dirs
        else f"<dir>/{asset.relpath} and set {ENV_ASSETS}=<dir>"
    )
    source = (
        f"download it from {asset.url}"
        if asset.url
        else "it has no public download URL (a local-only file)"
    )
    return AssetNotFoundError(
        f"asset {asset.name!r} ({asset.filename}) is not available: {reason}.\n"
        f"  Source: {source}.\n"
        f"  Put the file at {layout},\n"
        f"  or at {cached} (the user cache; ${ENV_CACHE} moves it)."
    )


def fetch_asset(name: str, *, download: bool = True) -> Path:
    """Return a verified local path to an asset, downloading it if needed.

    Parameters
    ----------
    name : str
        A key of :data:`ASSETS`, e.g. ``"cvd/convmixer_unbiased"``.
    download : bool, optional
        Try the asset's URL when the file is in neither the assets directory
        nor the cache.

    Returns
    -------
    Path
        The file, whose SHA-256 digest matches the registry.

    Raises
    ------
    KeyError
        If ``name`` is not a registered asset.
    AssetNotFoundError
        If the file is missing and cannot be downloaded (offline, no URL, or
        ``download=False``); the message says where to put it.
    AssetChecksumError
        If a file is found or downloaded but its digest differs.
    """
    asset = get_asset(name)
    for directory in _asset_dirs():
        candidate = directory / asset.relpath
        if candidate.is_file():
            return _verify(asset, candidate, f"${ENV_ASSETS}")
    cached = cache_dir("assets") / asset.relpath
    if cached.is_file():
        return _verify(asset, cached, "user cache")
    if not download:
        raise _not_found(asset, cached, "not found locally and download=False")
    if asset.url is None:
        raise _not_found(asset, cached, "not found locally")
    cached.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(
        prefix=asset.filename + ".", suffix=".part", dir=cached.parent
    )
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        try:
            _download(asset.url, tmp)
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise _not_found(asset, cached, f"download failed ({error})") from error
        _verify(asset, tmp, f"downloaded from {asset.url}")
        os.replace(tmp, cached)
    finally:
        if tmp.exists():
            tmp.unlink()
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
        ``url`` and ``sha256``; ready for ``pandas.DataFrame``.
    """
    rows = []
    for asset in list_assets(prefix):
        row = asdict(asset)
        row["file"] = row.pop("relpath")
        rows.append(row)
    return rows
