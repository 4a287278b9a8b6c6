"""Run the method chapter at the smoke profile and check what it records."""

from __future__ import annotations

import pytest
from conftest import assert_claims, run_notebook

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


def test_noise_is_not_significant_despite_a_larger_score_than_smooth_signals(method_results):
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


METHOD_CLAIMS = {
    "noise_large_but_not_significant",
    "gradient_sees_what_pearson_misses",
    "step_flagged_by_both",
    "zigzag_above_every_shuffle",
    "false_positive_rate_near_alpha",
    "first_order_ends_shrink_short_sweeps",
}


def test_claims_recorded_and_hold_at_smoke(method_results):
    assert set(method_results["claims"]) == METHOD_CLAIMS
    assert all(method_results["claims"].values()), method_results["claims"]


def test_first_order_ends_are_smaller_as_measured(method_results):
    ratio = method_results["edge_order_ratio"]
    assert 0.8 < ratio["short"] < ratio["long"] < 1.0
    assert method_results["edge_order_points"] == {"short": 21, "long": 101}


def test_zigzag_is_above_every_shuffle(method_results):
    assert method_results["zigzag_gradient"] == pytest.approx(1.0)
    assert method_results["zigzag_gradient_null_mean"] < method_results["zigzag_gradient"]
    assert method_results["zigzag_gradient_p"] == pytest.approx(1 / 501)


def test_too_few_shuffles_make_claims_fail_visibly(tmp_path):
    """With 50 shuffles no p-value can fall below 0.01: the page must say so."""
    import nbformat

    record = run_notebook("method", tmp_path, n_permutations=50)
    claims = record["claims"]
    assert set(claims) == METHOD_CLAIMS
    for failing in (
        "gradient_sees_what_pearson_misses",
        "step_flagged_by_both",
        "zigzag_above_every_shuffle",
    ):
        assert claims[failing] is False
    assert claims["noise_large_but_not_significant"] is True
    notebook = nbformat.read(tmp_path / "method-out.ipynb", as_version=4)
    glued = {
        output["metadata"]["scrapbook"]["name"]: output["data"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "scrapbook" in output.get("metadata", {})
    }
    step = glued["claim-step_flagged_by_both"]
    markdown = next(v for k, v in step.items() if k.endswith("text/markdown"))
    assert markdown.startswith("```{admonition} Does not hold at these parameters")
    assert "p = 0.0196" in markdown  # the smallest p-value 50 shuffles allow: 1/51
    holding = glued["claim-noise_large_but_not_significant"]
    assert "admonition" not in next(v for k, v in holding.items() if k.endswith("text/markdown"))


def test_demo_profile_claims_hold(tmp_path):
    """The method chapter's demo profile runs in seconds: every claim of its page holds."""
    demo = run_notebook("method", tmp_path, profile="demo")
    assert demo["n_points"] == 101 and demo["n_permutations"] == 10_000
    assert_claims(demo, "method", hold=True)
