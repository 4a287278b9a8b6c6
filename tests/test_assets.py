import hashlib
import os
import urllib.error
from pathlib import Path

import pytest

from propgrad import assets
from propgrad.assets import (
    ASSETS,
    Asset,
    AssetChecksumError,
    AssetNotFoundError,
    asset_credits,
    fetch_asset,
    list_assets,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "assets"
PAYLOAD = b"propgrad test payload\n" * 100


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
        "cvd/ip2p-dog_002-sweep",
    }
    assert names <= set(ASSETS)
    for asset in ASSETS.values():
        assert len(asset.sha256) == 64 and int(asset.sha256, 16) >= 0
        assert asset.license and asset.citation
    assert ASSETS["cvd/dog_002"].url.endswith("/main/example_images/cvd/dog_002.jpg")
    assert ASSETS["cvd/convmixer_unbiased"].url.endswith(
        "/main/checkpoints/cats-vs-dogs/convmixer_unbiased.pth"
    )
    assert ASSETS["cvd/ip2p-dog_002-sweep"].url is None


def test_list_and_credits():
    cvd = list_assets("cvd/")
    assert [a.name for a in cvd] == sorted(a.name for a in cvd)
    rows = asset_credits("cvd/")
    assert len(rows) == len(cvd)
    assert {"name", "file", "license", "citation", "url", "sha256"} <= set(rows[0])


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
    assert not list(path.parent.glob("*.part"))
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


def test_local_only_asset_without_url(env, monkeypatch):
    monkeypatch.setenv("PROPGRAD_ASSETS", str(env[0]))
    with pytest.raises(AssetNotFoundError, match="no public download URL"):
        fetch_asset("cvd/ip2p-dog_002-sweep")


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


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared assets not found at {SHARED}")
def test_shared_assets_verify(monkeypatch, tmp_path):
    monkeypatch.setenv("PROPGRAD_ASSETS", str(SHARED))
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    for asset in list_assets("cvd/"):
        path = fetch_asset(asset.name, download=False)
        assert path == SHARED / asset.relpath
