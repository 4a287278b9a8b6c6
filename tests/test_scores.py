"""Tests for propgrad.scores: per-sweep scores, mean behaviour, tables, models x sweeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from propgrad.measure import expected_property_gradient, prediction_flips
from propgrad.scores import (
    MeanBehaviour,
    Scores,
    as_outputs,
    behaviour_table,
    flip_counts,
    mean_behaviour,
    score_models,
    sweep_scores,
    sweep_table,
)
from propgrad.stats import shuffle_test

K = 999
N = 21
STEPS = np.linspace(0.0, 1.0, N)


def _two_class(p):
    """(N,) probability of class 1 -> (N, 2) probabilities."""
    p = np.asarray(p, dtype=float)
    return np.stack([1 - p, p], axis=-1)


def _group(seed=0, m=6, n=N):
    """M noisy sigmoid sweeps of two-class probabilities with varying onsets."""
    rng = np.random.default_rng(seed)
    onsets = rng.uniform(0.3, 0.7, size=(m, 1))
    p = 1 / (1 + np.exp(-(np.linspace(0, 1, n)[None] - onsets) * 12))
    p = np.clip(p + rng.normal(0, 0.02, size=p.shape), 0, 1)
    return _two_class(p)


# ---------------------------------------------------------------- as_outputs


def test_as_outputs_shapes():
    assert as_outputs(np.zeros(5)).shape == (1, 5, 1)
    assert as_outputs(np.zeros((5, 3))).shape == (1, 5, 3)
    assert as_outputs(np.zeros((2, 5, 3))).shape == (2, 5, 3)
    assert as_outputs([[0, 1], [1, 0]]).dtype == np.float64
    np.testing.assert_array_equal(as_outputs([0.1, 0.2])[0, :, 0], [0.1, 0.2])


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (np.zeros((1, 2, 3, 4)), r"got shape \(1, 2, 3, 4\)"),
        (np.zeros(()), r"got shape \(\)"),
        (np.zeros(1), r"two or more steps, got shape \(1, 1, 1\)"),
        (np.zeros((0, 4, 2)), r"at least one sweep .*got shape \(0, 4, 2\)"),
        (np.zeros((3, 0)), r"got shape \(1, 3, 0\)"),
    ],
)
def test_as_outputs_rejects_shapes(outputs, message):
    with pytest.raises(ValueError, match=message):
        as_outputs(outputs)


def test_as_outputs_rejects_nan_with_position():
    arr = np.zeros((2, 4, 3))
    arr[1, 2, 0] = np.nan
    arr[1, 3, 2] = np.inf
    with pytest.raises(ValueError, match=r"first at sweep, step, output = \(1, 2, 0\)"):
        as_outputs(arr)


# ---------------------------------------------------------------- flips


def test_flip_is_an_argmax_change_with_ties_to_the_lowest_index():
    # one column: the probability of class 1; 0.5 is not above 0.5, so no flip
    assert flip_counts([0.4, 0.5, 0.4]).tolist() == [0]
    assert flip_counts([[0.6, 0.4], [0.5, 0.5], [0.6, 0.4]]).tolist() == [0]
    # a tie resolves to class 0: moving from class 1 into a tie is a flip
    assert flip_counts([[0.4, 0.6], [0.5, 0.5], [0.4, 0.6]]).tolist() == [2]
    assert flip_counts([0.6, 0.5, 0.6]).tolist() == [2]
    # three classes, tie between 1 and 2 goes to 1
    assert flip_counts([[0.2, 0.4, 0.4], [0.2, 0.5, 0.3], [0.1, 0.45, 0.45]]).tolist() == [0]
    assert flip_counts([[0.2, 0.3, 0.5], [0.2, 0.4, 0.4]]).tolist() == [1]


def test_flip_counts_many_sweeps():
    outputs = np.stack(
        [
            _two_class([0.1, 0.2, 0.3, 0.4]),
            _two_class([0.1, 0.9, 0.1, 0.9]),
            _two_class([0.9, 0.6, 0.4, 0.2]),
        ]
    )
    counts = flip_counts(outputs)
    assert counts.tolist() == [0, 3, 1]
    assert counts.dtype.kind == "i"


@pytest.mark.parametrize("columns", [1, 2, 5])
def test_flip_counts_agree_with_prediction_flips(columns):
    rng = np.random.default_rng(columns)
    for trial in range(30):
        m, n = int(rng.integers(1, 6)), int(rng.integers(2, 30))
        if trial % 3 == 0:  # coarse values: many exact ties (and exact 0.5)
            outputs = rng.integers(0, 3, size=(m, n, columns)) / 4.0
        else:
            outputs = rng.random((m, n, columns))
        expected = [prediction_flips(outputs[i]) for i in range(m)]
        assert flip_counts(outputs).tolist() == expected
        if columns == 1:
            assert flip_counts(outputs[0, :, 0]).tolist() == [prediction_flips(outputs[0, :, 0])]
            # one column is the arg-max of [1 - p, p]
            assert flip_counts(_two_class(outputs[..., 0])).tolist() == expected


# ---------------------------------------------------------------- sweep_scores


def test_sweep_scores_rows_equal_each_sweep_alone():
    outputs = _group(1)
    table = sweep_scores(outputs, 1, n_permutations=K, seed=3)
    assert list(table.columns) == ["sweep", "E", "p_value", "significant", "flips"]
    assert table["sweep"].tolist() == list(range(6))
    for m in range(6):
        alone = shuffle_test(outputs[m, :, 1], n_permutations=K, seed=3)
        assert table.at[m, "E"] == pytest.approx(alone.statistic, rel=1e-12)
        assert table.at[m, "E"] == pytest.approx(
            expected_property_gradient(outputs[m, :, 1]), rel=1e-12
        )
        assert table.at[m, "p_value"] == alone.p_value
        assert table.at[m, "significant"] == alone.significant
        assert table.at[m, "flips"] == prediction_flips(outputs[m])
    assert table["significant"].dtype == bool
    assert table["flips"].dtype.kind == "i"


def test_sweep_scores_target_column_and_options():
    outputs = _group(2)
    grid = np.linspace(1.0, 15.0, N)
    table = sweep_scores(outputs, 0, n_permutations=K, seed=0, grid=grid)
    np.testing.assert_allclose(
        table["E"],
        [expected_property_gradient(outputs[m, :, 0], grid=grid) for m in range(6)],
        rtol=1e-12,
    )
    # column 0 of two-class probabilities changes as much as column 1
    other = sweep_scores(outputs, 1, n_permutations=K, seed=0, grid=grid)
    np.testing.assert_allclose(other["E"], table["E"], rtol=1e-12)
    negative = sweep_scores(outputs, -1, n_permutations=K, seed=0, grid=grid)
    pd.testing.assert_frame_equal(negative, other)


def test_target_by_class_name_and_errors():
    outputs = _group(3)
    by_name = sweep_scores(outputs, "dog", class_names=("cat", "dog"), n_permutations=K)
    pd.testing.assert_frame_equal(by_name, sweep_scores(outputs, 1, n_permutations=K))
    with pytest.raises(
        ValueError, match=r"unknown output 'bird'; class names are \['cat', 'dog'\]"
    ):
        sweep_scores(outputs, "bird", class_names=("cat", "dog"))
    with pytest.raises(ValueError, match=r"unknown output 'dog'; class names are \[\]"):
        sweep_scores(outputs, "dog")
    with pytest.raises(ValueError, match="target 2 is out of range for 2 outputs"):
        sweep_scores(outputs, 2)
    with pytest.raises(ValueError, match="target -3 is out of range"):
        mean_behaviour(outputs, -3)


# ---------------------------------------------------------------- mean_behaviour


def test_mean_behaviour_is_the_mean_curve_scored():
    outputs = _group(4, m=8)
    result = mean_behaviour(outputs, 1, n_permutations=K, seed=7)
    assert isinstance(result, MeanBehaviour)
    mean_outputs = outputs.mean(axis=0)
    np.testing.assert_allclose(result.mean_outputs, mean_outputs, rtol=1e-12)
    np.testing.assert_allclose(result.mean_curve, mean_outputs[:, 1], rtol=1e-12)
    np.testing.assert_allclose(result.std_curve, outputs[:, :, 1].std(axis=0), rtol=1e-12)
    assert result.expected_property_gradient == pytest.approx(
        expected_property_gradient(mean_outputs[:, 1]), rel=1e-12
    )
    test = shuffle_test(mean_outputs[:, 1], n_permutations=K, seed=7)
    assert result.p_value == test.p_value
    assert result.significant is bool(test.significant) is True
    assert result.flips == prediction_flips(mean_outputs) == 1
    assert result.target == 1 and result.alpha == 0.01
    assert result.n_sweeps == 8


def test_mean_behaviour_per_sweep_rows_and_aggregates():
    outputs = _group(5, m=5)
    outputs[2] = _two_class(np.full(N, 0.3))  # one sweep never changes
    result = mean_behaviour(outputs, 1, n_permutations=K, seed=2)
    rows = result.per_sweep
    assert len(rows) == 5
    for m in range(5):
        alone = shuffle_test(outputs[m, :, 1], n_permutations=K, seed=2)
        assert rows.at[m, "p_value"] == alone.p_value
        assert rows.at[m, "E"] == pytest.approx(alone.statistic, rel=1e-12)
    flips = [prediction_flips(outputs[m]) for m in range(5)]
    assert rows["flips"].tolist() == flips
    assert flips[2] == 0 and rows.at[2, "E"] == 0.0 and rows.at[2, "p_value"] == 1.0
    assert result.fraction_flipped == pytest.approx(np.mean([f > 0 for f in flips]))
    assert result.fraction_flipped == pytest.approx(0.8)
    assert result.mean_flips == pytest.approx(np.mean(flips))
    assert result.mean_expected_property_gradient == pytest.approx(rows["E"].mean())
    assert result.fraction_significant == pytest.approx(rows["significant"].mean())
    # varying onsets: the mean curve is smoother than the sweeps, not their mean E[|grad X|]
    assert result.expected_property_gradient != pytest.approx(
        result.mean_expected_property_gradient, rel=1e-3
    )
    summary = result.summary()
    assert list(summary) == [
        "n_sweeps",
        "E",
        "p_value",
        "significant",
        "flips",
        "mean_E",
        "fraction_significant",
        "fraction_flipped",
        "mean_flips",
    ]
    assert summary["n_sweeps"] == 5 and summary["flips"] == result.flips


def test_mean_behaviour_docstring_example():
    p = np.linspace(0.2, 0.8, 21)
    outputs = np.stack([_two_class(p)] * 2)
    m = mean_behaviour(outputs, target=1, n_permutations=999)
    assert round(m.expected_property_gradient, 3) == 0.03 and m.flips == 1 and m.significant


def test_constant_outputs_are_not_significant_and_do_not_flip():
    outputs = np.tile(_two_class(np.full(N, 0.7)), (4, 1, 1))
    result = mean_behaviour(outputs, 1, n_permutations=K, seed=0)
    assert (
        result.expected_property_gradient == 0.0
        and result.p_value == 1.0
        and result.significant is False
    )
    assert result.flips == 0
    assert result.per_sweep["p_value"].tolist() == [1.0] * 4
    assert result.per_sweep["significant"].tolist() == [False] * 4
    assert result.fraction_flipped == 0.0 and result.mean_flips == 0.0
    assert result.fraction_significant == 0.0 and result.mean_expected_property_gradient == 0.0


def test_mean_flips_when_individual_sweeps_cancel():
    # two sweeps flip in opposite directions; their mean stays on one side
    up = _two_class(np.linspace(0.3, 0.6, N))
    down = _two_class(np.linspace(0.6, 0.3, N))
    result = mean_behaviour(np.stack([up, down]), 1, n_permutations=K, seed=0)
    assert result.per_sweep["flips"].tolist() == [1, 1]
    assert result.flips == 0
    assert result.fraction_flipped == 1.0
    assert result.expected_property_gradient == pytest.approx(0.0, abs=1e-12)


def test_mean_behaviour_of_one_sweep_and_one_column():
    p = np.linspace(0.2, 0.8, N)
    result = mean_behaviour(p, 0, n_permutations=K, seed=1)
    assert result.n_sweeps == 1
    assert result.flips == prediction_flips(p) == 1
    assert result.expected_property_gradient == pytest.approx(
        expected_property_gradient(p), rel=1e-12
    )
    assert result.per_sweep.at[0, "p_value"] == result.p_value
    assert result.mean_outputs.shape == (N, 1)


def test_mean_behaviour_class_name_target():
    outputs = _group(6)
    by_name = mean_behaviour(outputs, "cat", class_names=["cat", "dog"], n_permutations=K)
    by_index = mean_behaviour(outputs, 0, n_permutations=K)
    assert by_name.target == 0
    assert (
        by_name.expected_property_gradient == by_index.expected_property_gradient
        and by_name.p_value == by_index.p_value
    )
    np.testing.assert_array_equal(by_name.mean_curve, outputs.mean(axis=0)[:, 0])


def test_alpha_decides_significance():
    outputs = _group(7)
    strict = mean_behaviour(outputs, 1, n_permutations=K, alpha=1e-3, seed=0)
    loose = mean_behaviour(outputs, 1, n_permutations=K, alpha=0.05, seed=0)
    assert strict.p_value == loose.p_value == 1 / (K + 1)
    assert strict.significant is False and loose.significant is True
    assert strict.alpha == 1e-3


# ---------------------------------------------------------------- tables


def _behaviours():
    return {
        ("resnet", "light dogs"): mean_behaviour(_group(10, m=3), 1, n_permutations=K),
        ("resnet", "dark cats"): mean_behaviour(_group(11, m=4), 1, n_permutations=K),
        ("vit", "light dogs"): mean_behaviour(_group(12, m=2), 1, n_permutations=K),
    }


COLUMNS = [
    "n_sweeps",
    "E",
    "p_value",
    "significant",
    "flips",
    "mean_E",
    "fraction_significant",
    "fraction_flipped",
    "mean_flips",
]


def test_behaviour_table_with_tuple_keys():
    behaviours = _behaviours()
    table = behaviour_table(behaviours, names=("model", "group"))
    assert list(table.columns) == COLUMNS
    assert isinstance(table.index, pd.MultiIndex)
    assert list(table.index.names) == ["model", "group"]
    assert list(table.index) == list(behaviours)
    row = table.loc[("resnet", "dark cats")]
    b = behaviours["resnet", "dark cats"]
    assert row["n_sweeps"] == 4
    assert row["E"] == b.expected_property_gradient and row["p_value"] == b.p_value
    assert row["mean_E"] == b.mean_expected_property_gradient and row["flips"] == b.flips
    assert table["n_sweeps"].tolist() == [3, 4, 2]
    default = behaviour_table(behaviours)
    assert list(default.index.names) == ["key0", "key1"]


def test_behaviour_table_with_string_keys():
    behaviours = {name: b for (_, name), b in list(_behaviours().items())[:2]}
    table = behaviour_table(behaviours, names=["group"])
    assert not isinstance(table.index, pd.MultiIndex)
    assert table.index.name == "group"
    assert table.index.tolist() == ["light dogs", "dark cats"]
    assert list(table.columns) == COLUMNS
    assert behaviour_table(behaviours).index.name == "key0"
    with pytest.raises(ValueError, match="no groups to tabulate"):
        behaviour_table({})


def test_sweep_table_is_tidy():
    behaviours = _behaviours()
    table = sweep_table(behaviours, names=("model", "group"))
    assert list(table.columns) == ["model", "group", "sweep", "E", "p_value"] + [
        "significant",
        "flips",
    ]
    assert len(table) == 3 + 4 + 2
    assert table["model"].tolist() == ["resnet"] * 7 + ["vit"] * 2
    assert table["group"].tolist() == ["light dogs"] * 3 + ["dark cats"] * 4 + ["light dogs"] * 2
    assert table["sweep"].tolist() == [0, 1, 2, 0, 1, 2, 3, 0, 1]
    assert table.index.tolist() == list(range(9))
    part = table[(table["model"] == "resnet") & (table["group"] == "dark cats")]
    np.testing.assert_array_equal(part["E"], behaviours["resnet", "dark cats"].per_sweep["E"])
    single = sweep_table({"g": behaviours["vit", "light dogs"]})
    assert list(single.columns[:2]) == ["key0", "sweep"]
    assert single["key0"].tolist() == ["g", "g"]


# ---------------------------------------------------------------- score_models


class _Brightness:
    """Logits (-b, b) from the mean brightness b of the input (torch module)."""

    @staticmethod
    def make(scale):
        import torch

        class Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.scale = torch.nn.Parameter(torch.tensor(float(scale)))

            def forward(self, x):
                b = x.mean(dim=(1, 2, 3)) * self.scale
                return torch.stack([-b, b], dim=1)

        return Model()


def _brightness_sweeps(m, n, size=6, seed=0):
    """M sweeps getting brighter step by step (uint8 (M, N, H, W, 3))."""
    rng = np.random.default_rng(seed)
    levels = np.linspace(20, 235, n)
    base = levels[None, :, None, None, None] + rng.normal(0, 3, (m, 1, size, size, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_score_models(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    from propgrad.models.classifier import Classifier
    from propgrad.models.preprocess import Preprocess

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    pre = Preprocess.named(6, "unit")
    bright = Classifier(_Brightness.make(4.0), pre, "bright", ("dark", "light"))
    blind = Classifier(_Brightness.make(0.0), pre, "blind", ("dark", "light"))
    groups = {"a": _brightness_sweeps(3, N, seed=1), "b": _brightness_sweeps(2, N, seed=2)}
    scores = score_models(
        {"bright": bright, "blind": blind}, groups, "dark", n_permutations=K, progress=False
    )
    assert isinstance(scores, Scores)
    keys = [("bright", "a"), ("bright", "b"), ("blind", "a"), ("blind", "b")]
    assert list(scores.outputs) == keys and list(scores.behaviours) == keys
    assert scores.outputs["bright", "a"].shape == (3, N, 2)
    assert scores.outputs["blind", "b"].shape == (2, N, 2)
    # the blind model ignores its input: constant 0.5, no gradient, p = 1, no flips
    for group in ("a", "b"):
        b = scores["blind", group]
        np.testing.assert_allclose(scores.outputs["blind", group], 0.5)
        assert (
            b.expected_property_gradient == 0.0
            and b.p_value == 1.0
            and not b.significant
            and b.flips == 0
        )
        assert b.fraction_flipped == 0.0
    # the other one moves from "dark" to "light" as the images brighten
    b = scores["bright", "a"]
    assert b.target == 0 and b.significant and b.flips == 1
    assert b.mean_curve[0] > 0.9 and b.mean_curve[-1] < 0.1
    with torch.no_grad():
        x = pre.batch(groups["a"][0])
        expected = torch.softmax(bright.model(x), dim=1).numpy()
    np.testing.assert_allclose(scores.outputs["bright", "a"][0], expected, rtol=1e-6)
    assert b.expected_property_gradient == pytest.approx(
        expected_property_gradient(scores.outputs["bright", "a"].mean(axis=0)[:, 0]), rel=1e-12
    )

    table = scores.table
    assert list(table.index.names) == ["model", "group"]
    assert list(table.index) == keys
    assert table.loc[("blind", "a"), "p_value"] == 1.0
    per_sweep = scores.per_sweep
    assert list(per_sweep.columns[:3]) == ["model", "group", "sweep"]
    assert len(per_sweep) == 2 * (3 + 2)
    assert list(scores.groups("bright")) == ["a", "b"]
    assert scores.groups("bright")["b"] is scores["bright", "b"]
    assert list(scores.models("a")) == ["bright", "blind"]

    # the predictions were cached, per model and sweep: a second run reads them
    assert len(list((tmp_path / "outputs").glob("*/*.npy"))) == 2 * (3 + 2)
    again = score_models({"bright": bright}, groups["a"], 0, n_permutations=K, progress=False)
    assert list(again.outputs) == [("bright", "all")]
    np.testing.assert_array_equal(again.outputs["bright", "all"], scores.outputs["bright", "a"])
    assert again["bright", "all"].p_value == scores["bright", "a"].p_value


def test_score_models_hashes_each_group_once_and_serves_subsets_from_the_cache(
    monkeypatch, tmp_path
):
    pytest.importorskip("torch")
    import propgrad.prediction as prediction
    from propgrad.models.classifier import Classifier
    from propgrad.models.preprocess import Preprocess

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    hashed = []
    original = prediction._sweep_digest

    def counting(sweep):
        hashed.append(1)
        return original(sweep)

    monkeypatch.setattr(prediction, "_sweep_digest", counting)
    pre = Preprocess.named(6, "unit")
    calls = []
    models = {}
    for name, scale in (("bright", 4.0), ("dim", 1.0), ("blind", 0.0)):
        net = _Brightness.make(scale)
        net.register_forward_pre_hook(lambda module, args, name=name: calls.append(name))
        models[name] = Classifier(net, pre, name, ("dark", "light"))
    groups = {"a": _brightness_sweeps(12, N, seed=1), "b": _brightness_sweeps(11, N, seed=2)}
    prediction.cache_stats(reset=True)
    full = score_models(models, groups, 0, n_permutations=K, progress=False)
    assert len(hashed) == 12 + 11  # every sweep once, not once per model
    assert prediction.cache_stats(reset=True) == {"hits": 0, "misses": 3 * 23}
    assert sorted(set(calls)) == ["blind", "bright", "dim"]
    # Tables 6/7: the first ten sweeps of each group again: all from the cache
    calls.clear()
    first = {g: s[:10] for g, s in groups.items()}
    subset = score_models(models, first, 0, n_permutations=K, progress=False)
    assert calls == [] and prediction.cache_stats() == {"hits": 3 * 20, "misses": 0}
    for key, out in subset.outputs.items():
        np.testing.assert_array_equal(out, full.outputs[key][:10])


def test_score_models_with_model_preprocess_pairs(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from propgrad.models.preprocess import Preprocess

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    pre = Preprocess.named(6, "unit")
    sweeps = _brightness_sweeps(2, N, seed=3)
    scores = score_models(
        {"pair": (_Brightness.make(4.0), pre)}, {"g": sweeps}, 1, n_permutations=K, softmax=False
    )
    out = scores.outputs["pair", "g"]
    assert out.shape == (2, N, 2)
    np.testing.assert_allclose(out[..., 0], -out[..., 1])  # logits (-b, b), not softmaxed
    assert scores["pair", "g"].target == 1
    with pytest.raises(ValueError, match="unknown output 'dark'"):
        score_models({"pair": (_Brightness.make(4.0), pre)}, sweeps, "dark", n_permutations=K)


# ----------------------------------------------------------------------------
# what E is measured per: step, unit, total
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [11, 21, 41, 101])
def test_per_unit_and_total_of_a_linear_response_do_not_depend_on_the_steps(n):
    x = np.linspace(0.0, 1.0, n)
    p = 0.2 + 0.6 * x
    outputs = np.stack([1 - p, p], axis=1)[None]
    step = mean_behaviour(outputs, 1, n_permutations=99)
    unit = mean_behaviour(outputs, 1, n_permutations=99, per="unit", grid=x)
    total = mean_behaviour(outputs, 1, n_permutations=99, per="total")
    assert step.expected_property_gradient == pytest.approx(0.6 / (n - 1))
    assert unit.expected_property_gradient == pytest.approx(0.6)
    assert total.expected_property_gradient == pytest.approx(0.6)
    assert total.per_sweep["E"].iloc[0] == pytest.approx(0.6)
    assert (step.unit, unit.unit, total.unit) == (
        "per step", "per unit of the property", f"total over {n - 1} steps")  # fmt: skip
    # the p-value does not depend on the unit
    assert unit.p_value == step.p_value == total.p_value


def test_per_options_errors():
    from propgrad.scores import per_options

    with pytest.raises(ValueError, match="per must be one of"):
        per_options("pixel", 5, {})
    with pytest.raises(ValueError, match="needs the property's values"):
        per_options("unit", 5, {})
    with pytest.raises(ValueError, match="drop grid"):
        per_options("total", 5, {"grid": np.arange(5.0)})


def test_score_models_per_unit_takes_the_grid_of_the_sweeps(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from propgrad.models.classifier import Classifier
    from propgrad.models.preprocess import Preprocess
    from propgrad.sweep import Sweep

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    model = Classifier(_Brightness.make(4.0), Preprocess.named(8, "unit"), "b", ("dark", "light"))
    grid = np.linspace(0.0, 2.0, 6)
    frames = [np.full((8, 8, 3), int(40 * v + 20), np.uint8) for v in grid]
    sweeps = [Sweep(frames, grid, "gain"), Sweep(frames, grid, "gain")]
    unit = score_models({"m": model}, {"g": sweeps}, target=1, per="unit", progress=False,
                        n_permutations=99, cache=False)  # fmt: skip
    step = score_models({"m": model}, {"g": sweeps}, target=1, progress=False,
                        n_permutations=99, cache=False)  # fmt: skip
    assert unit.unit == "per unit of gain" and step.unit == "per step"
    ratio = unit["m", "g"].expected_property_gradient / step["m", "g"].expected_property_gradient
    assert ratio == pytest.approx(1 / 0.4)  # 0.4 units of gain per step
    with pytest.raises(ValueError, match="different grids"):
        other = Sweep(frames, grid * 2, "gain")
        score_models({"m": model}, {"g": [sweeps[0], other]}, per="unit", progress=False,
                     cache=False)  # fmt: skip
    with pytest.raises(ValueError, match="carry no grid"):
        score_models({"m": model}, {"g": np.stack([np.stack(frames)] * 2)}, per="unit",
                     progress=False, cache=False)  # fmt: skip
