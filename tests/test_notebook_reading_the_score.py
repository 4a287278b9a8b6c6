"""The "Reading the score" notebook at the smoke profile, and its claims at the demo profile.

It reuses the toy models of the Cats-vs-Dogs and skin-lesion chapters (trained
and cached by their own smoke runs when absent) and the authors' sweep and
checkpoints when the assets are present.
"""

from __future__ import annotations

import math

import pytest
from conftest import assert_claims, run_notebook

from propgrad.chapters.reading_the_score.contest import METHODS
from propgrad.chapters.reading_the_score.nulls import NULLS
from propgrad.chapters.skin_lesions.models import ARCHITECTURES

pytestmark = pytest.mark.requires_assets  # the authors' sweep and checkpoints


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_notebook("reading_the_score", tmp_path_factory.mktemp("reading"))


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")
def test_smoke_profile_records_every_claim(smoke):
    assert smoke["profile"] == "smoke"
    assert_claims(smoke, "reading_the_score", hold=False)


def test_steps_scale_per_step_but_not_in_total(smoke):
    steps = {int(n): row for n, row in smoke["steps"].items()}
    assert sorted(steps) == [5, 9, 17]
    per_step = [steps[n]["per_step"] for n in sorted(steps)]
    assert per_step == sorted(per_step, reverse=True) and per_step[-1] > 0
    for n, row in steps.items():
        assert math.isclose(row["total"], row["per_step"] * (n - 1), rel_tol=1e-9)
        # the fur tone runs from 0 to 1: per unit equals the total
        assert math.isclose(row["per_unit"], row["total"], rel_tol=1e-6)


def test_measured_axis_is_validated_and_applied(smoke):
    validation = smoke["measured_axis_validation"]
    assert validation["min_r"] > 0.99 and validation["monotone"] == 1.0
    assert set(smoke["measured_axis"]) == {"unbiased", "dark-cats", "dark-dogs"}
    for row in smoke["measured_axis"].values():
        assert row["per_step"] > 0 and row["per_unit"] > row["per_step"]
    assert isinstance(smoke["measured_axis_monotone"], bool)


def test_null_rates_cover_every_null_and_length(smoke):
    rates = smoke["null_calibration"]
    assert list(rates) == list(NULLS)
    for row in rates.values():
        assert sorted(int(n) for n in row) == [9, 21]
        assert all(0.0 <= v <= 1.0 for v in row.values())
    # a random walk is ordered: found far more often than alpha, more often at larger N
    walk = rates["random walk"]
    assert walk["21"] >= walk["9"] > 10 * smoke["alpha"]


def test_controls_and_holm_are_recorded_per_kind(smoke):
    assert set(smoke["controls"]) == {"fur", "background", "seed only"}
    fur, background = smoke["controls"]["fur"], smoke["controls"]["background"]
    assert fur["median E"] > background["median E"]  # the dark-cats model decides by fur
    for row in smoke["holm"].values():
        assert row["tests"] == smoke["holm_resolution"]["tests"] == 8
        assert row["holm"] <= row["alone"] <= row["tests"]
    # 500 shuffles cannot resolve alpha / 8: Holm rejects nothing, and the claim says why
    assert all(row["holm"] == 0 for row in smoke["holm"].values())
    assert smoke["claims"]["holm_keeps_the_strong_effects"] is False


def test_flip_contest_compares_every_method_on_every_task(smoke):
    tasks = [f"cats vs. dogs / {m}" for m in ("dark-cats", "dark-dogs")]
    tasks += [f"skin lesions / {a}" for a in ARCHITECTURES["smoke"]]
    assert list(smoke["flip_fair"]) == tasks
    for task, row in smoke["flip_fair"].items():
        assert list(row) == list(METHODS)
        assert all(0.0 <= v["mean"] <= 100.0 for v in row.values())
        assert set(smoke["flip_fair_tests"][task]) == set(METHODS[1:])
        assert 0.0 <= smoke["flip_fair_flipped"][task] <= 1.0


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")
def test_demo_profile_claims_hold(tmp_path):
    """At the demo profile every sentence the page states about its results holds."""
    demo = run_notebook("reading_the_score", tmp_path, profile="demo")
    assert demo["holm_resolution"] == {"permutations": 10_000, "tests": 40}
    assert_claims(demo, "reading_the_score", hold=True)
