from __future__ import annotations

import json

import numpy as np
import pytest

from propgrad.profiles import resolve_profile
from propgrad.record import Results

PROFILES = {"smoke": {"k": 10, "n": 5}, "demo": {"k": 1000, "n": 101}}


def test_profile_values_and_overrides():
    cfg = resolve_profile(PROFILES, "smoke", k=None, n=7)
    assert (cfg.profile, cfg.k, cfg.n) == ("smoke", 10, 7)


def test_unknown_profile_and_parameter():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        resolve_profile(PROFILES, "fast")
    with pytest.raises(ValueError, match="parameter 'kk' is not defined"):
        resolve_profile(PROFILES, "demo", kk=3)


def test_results_are_written_at_once_and_converted(tmp_path):
    path = tmp_path / "sub" / "r.json"
    results = Results(path)
    results.add(a=np.float32(0.5), b=np.arange(3), c=float("nan"), d=np.bool_(True))
    on_disk = json.loads(path.read_text())
    assert on_disk == {"a": 0.5, "b": [0, 1, 2], "c": None, "d": True}
    results.add(e={"x": np.int64(2)})
    assert Results.load(path)["e"] == {"x": 2}
    assert "a" in results and results["b"] == [0, 1, 2]


def test_results_in_memory_only():
    results = Results(None)
    results.add(x=1)
    assert results["x"] == 1
