"""Run the method chapter at the smoke profile and check what it records."""

from __future__ import annotations

import pytest
from conftest import run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]


@pytest.fixture(scope="module")
def method_results(tmp_path_factory):
    return run_notebook("method", tmp_path_factory.mktemp("method"))


def test_profile_recorded(method_results):
    assert method_results["profile"] == "smoke"
    assert method_results["n_points"] == 41
    assert method_results["n_permutations"] == 500


def test_two_point_case_is_the_absolute_difference(method_results):
    assert method_results["two_point_score"] == pytest.approx(0.51)
    assert method_results["two_point_score"] == pytest.approx(
        method_results["two_point_difference"]
    )


@pytest.mark.parametrize("signal", ["sine", "parabola", "step", "zigzag"])
def test_systematic_signals_are_significant(method_results, signal):
    assert method_results[f"{signal}_gradient_significant"] is True
    assert method_results[f"{signal}_gradient_p"] < 0.01


def test_noise_is_not_significant_despite_the_largest_score(method_results):
    assert method_results["noise_gradient_significant"] is False
    others = [method_results[f"{s}_gradient"] for s in ("sine", "parabola", "step")]
    assert method_results["noise_gradient"] > max(others)


@pytest.mark.parametrize("signal", ["sine", "parabola"])
def test_pearson_misses_effects_without_linear_trend(method_results, signal):
    assert abs(method_results[f"{signal}_pearson"]) < 0.1
    assert method_results[f"{signal}_pearson_significant"] is False


def test_pearson_flags_the_step(method_results):
    assert method_results["step_pearson_significant"] is True


def test_false_positive_rate_is_near_alpha(method_results):
    assert method_results["noise_batch_size"] == 60
    assert method_results["false_positive_rate"] <= 0.05
