"""Tests for propgrad.baselines.fliptask: the flip-prediction task and its scores."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from propgrad.baselines.fliptask import (
    FlipTaskResult,
    _resample_indices,
    best_threshold_accuracy,
    flip_prediction_task,
)

# ---------------------------------------------------------------------------
# best_threshold_accuracy
# ---------------------------------------------------------------------------


def _brute_force(scores, flipped):
    s = np.asarray(scores, float)
    f = np.asarray(flipped, bool)
    u = np.unique(s)
    cands = np.concatenate(([-np.inf], (u[:-1] + u[1:]) / 2, [np.inf]))
    return max(np.mean((s > t) == f) for t in cands)


def test_best_threshold_separable():
    acc, thr = best_threshold_accuracy([0.1, 0.2, 0.3, 0.7, 0.9], [0, 0, 0, 1, 1])
    assert acc == 1.0
    assert 0.3 < thr < 0.7
    assert thr == pytest.approx(0.5)


@pytest.mark.parametrize("label", [0, 1])
def test_best_threshold_single_class(label):
    acc, thr = best_threshold_accuracy([0.3, 0.1, 0.5], [label] * 3)
    assert acc == 1.0
    assert thr == (np.inf if label == 0 else -np.inf)


def test_best_threshold_hand_example():
    # sorted: 0.1 (no flip), 0.35 (flip), 0.4 (no flip), 0.8 (flip)
    # thresholds -inf, .225, .375, .6, +inf -> 2/4, 3/4, 2/4, 3/4, 2/4
    acc, thr = best_threshold_accuracy([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    assert acc == 0.75
    assert thr == pytest.approx(0.225)  # ties go to the smallest threshold


def test_best_threshold_ties_in_scores():
    # equal scores cannot be split: best is predicting "flip" for all three 0.5s
    acc, _ = best_threshold_accuracy([0.5, 0.5, 0.5, 0.1], [1, 1, 0, 0])
    assert acc == 0.75
    acc, thr = best_threshold_accuracy([0.5, 0.5, 0.5], [1, 0, 0])
    assert acc == pytest.approx(2 / 3)
    assert thr == np.inf


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        scores = rng.integers(0, 8, n) / 7.0  # many ties
        flipped = rng.random(n) < 0.4
        acc, thr = best_threshold_accuracy(scores, flipped)
        assert acc == pytest.approx(_brute_force(scores, flipped))
        assert np.mean((scores > thr) == flipped) == pytest.approx(acc)


def test_best_threshold_validates():
    with pytest.raises(ValueError, match="empty"):
        best_threshold_accuracy([], [])
    with pytest.raises(ValueError, match="differ in length"):
        best_threshold_accuracy([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="NaN"):
        best_threshold_accuracy([0.1, np.nan], [1, 0])
    with pytest.raises(ValueError, match="only 0 and 1"):
        best_threshold_accuracy([0.1, 0.2], [1, 2])


def test_best_threshold_large_input_is_fast():
    rng = np.random.default_rng(1)
    scores = rng.random(200_000)
    acc, _ = best_threshold_accuracy(scores, scores > 0.3)
    assert acc == 1.0


# ---------------------------------------------------------------------------
# flip_prediction_task
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def task_data():
    rng = np.random.default_rng(3)
    n = 400
    labels = np.repeat([0, 1], n // 2)  # cat / dog
    flipped = rng.random(n) < 0.5
    perfect = flipped.astype(float) + 0.1 * rng.random(n)
    noise = rng.random(n)
    return labels, flipped, perfect, noise


def test_flip_task_perfect_and_random(task_data):
    labels, flipped, perfect, noise = task_data
    res = flip_prediction_task({"ours": perfect, "lime": noise}, flipped, labels)
    assert list(res) == ["ours", "lime"]
    assert isinstance(res["ours"], FlipTaskResult)
    assert res["ours"].mean == 1.0
    assert res["ours"].std == 0.0
    assert 0.5 <= res["lime"].mean <= 0.7
    assert res["lime"].std > 0
    assert res["lime"].accuracies.shape == res["lime"].thresholds.shape == (10,)
    np.testing.assert_allclose(res["lime"].std, np.std(res["lime"].accuracies))


def test_flip_task_is_seeded_and_fair(task_data):
    labels, flipped, _, noise = task_data
    a = flip_prediction_task({"x": noise, "y": noise.copy()}, flipped, labels, seed=5)
    b = flip_prediction_task({"x": noise}, flipped, labels, seed=5)
    c = flip_prediction_task({"x": noise}, flipped, labels, seed=6)
    np.testing.assert_array_equal(a["x"].accuracies, a["y"].accuracies)  # same indices
    np.testing.assert_array_equal(a["x"].accuracies, b["x"].accuracies)  # same seed
    assert not np.array_equal(a["x"].accuracies, c["x"].accuracies)


def test_flip_task_balanced_draw_without_replacement():
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    flipped = np.array([0, 1, 0, 1, 0, 1, 1, 0])
    scores = np.arange(8.0)
    res = flip_prediction_task({"s": scores}, flipped, labels, n_per_class=3, n_resamples=4, seed=0)
    assert res["s"].accuracies.shape == (4,)
    # each resample has 6 images: accuracies are multiples of 1/6
    np.testing.assert_allclose(res["s"].accuracies * 6, np.round(res["s"].accuracies * 6))
    # a constant score can only answer one way, so its best accuracy is the larger share of
    # flips; with flipped == label that is exactly 1/2 only if every draw is 3 + 3
    constant = flip_prediction_task(
        {"s": np.zeros(8)}, labels.astype(bool), labels, n_per_class=3, n_resamples=50, seed=1
    )
    np.testing.assert_allclose(constant["s"].accuracies, 0.5)
    # the draws themselves: 3 distinct images of each class, repeats only with replacement
    rng = np.random.default_rng(0)
    for draw in _resample_indices(labels, 3, 50, rng, False, "cap"):
        assert len(set(draw)) == 6 and np.sum(labels[draw] == 0) == 3
    draws = _resample_indices(labels, 3, 50, np.random.default_rng(0), True, "cap")
    assert any(len(set(draw)) < 6 for draw in draws)


def test_flip_task_shortfall_options():
    labels = np.array([0] * 10 + [1] * 3)
    flipped = np.array([0, 1] * 5 + [1, 0, 1])
    scores = np.linspace(0, 1, 13)
    with pytest.warns(UserWarning, match="using all 3"):
        capped = flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5)
    with pytest.warns(UserWarning, match="with replacement"):
        flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5, shortfall="replace")
    with pytest.raises(ValueError, match="fewer than n_per_class"):
        flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5, shortfall="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boot = flip_prediction_task({"s": scores}, flipped, labels, n_per_class=5, replace=True)
    assert np.all((capped["s"].accuracies * 8) % 1 == 0)  # 5 + 3 images
    assert np.all((boot["s"].accuracies * 10) % 1 == 0)  # 5 + 5 draws


def test_flip_task_single_class_and_ddof(task_data):
    _, flipped, _, noise = task_data
    r0 = flip_prediction_task({"s": noise}, flipped, None, n_per_class=100, seed=1)
    r1 = flip_prediction_task({"s": noise}, flipped, None, n_per_class=100, seed=1, ddof=1)
    np.testing.assert_allclose(r1["s"].std, np.std(r0["s"].accuracies, ddof=1))


def test_flip_task_validates(task_data):
    labels, flipped, _, noise = task_data
    with pytest.raises(ValueError, match="scores is empty"):
        flip_prediction_task({}, flipped, labels)
    with pytest.raises(ValueError, match="labels"):
        flip_prediction_task({"s": noise}, flipped, labels[:-1])
    with pytest.raises(ValueError, match="shortfall"):
        flip_prediction_task({"s": noise}, flipped, labels, shortfall="drop")


# ---------------------------------------------------------------------------
# flip_task_scores: flips, E[|grad X|] and attribution changes along sweeps
# ---------------------------------------------------------------------------


def _torch():
    pytest.importorskip("captum")
    pytest.importorskip("skimage")
    return pytest.importorskip("torch")


def brightness_classifier(normalisation="unit"):
    """A tiny CNN whose 'cat' logit rises with brightness, as a Classifier."""
    torch = _torch()
    from torch import nn

    from propgrad.models import Classifier, Preprocess

    class Brightness(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 3, padding=1)
            with torch.no_grad():
                self.conv.weight.zero_()
                self.conv.bias.zero_()
                self.conv.weight[0, :, 1, 1] = 4.0
                self.conv.weight[1, :, 1, 1] = -4.0

        def forward(self, x):
            return self.conv(x).mean(dim=(2, 3))

    return Classifier(Brightness().eval(), Preprocess.named(12, normalisation), "brightness")


def _sweep(start, stop, n=7, seed=0):
    from propgrad.sweep import Sweep

    rng = np.random.default_rng(seed)
    texture = rng.integers(-8, 9, (12, 12, 3))
    frames = [np.clip(v + texture, 0, 255).astype(np.uint8) for v in np.linspace(start, stop, n)]
    return Sweep(frames)


@pytest.fixture()
def sweeps():
    # brightening across mid-grey flips the prediction; staying dark or light does not
    return [
        _sweep(40, 220, seed=0),
        _sweep(10, 60, seed=1),
        _sweep(200, 250, seed=2),
        _sweep(60, 200, seed=3),
    ]


@pytest.fixture()
def fresh_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    return tmp_path


class CaptumCalls:
    """Count calls of captum's attribute methods (per explainer class)."""

    def __init__(self, monkeypatch):
        from captum import attr

        self.counts: dict[str, int] = {}
        for name in ("DeepLift", "GuidedGradCam", "Occlusion", "Lime", "KernelShap"):
            cls = getattr(attr, name)
            monkeypatch.setattr(cls, "attribute", self._counting(name, cls.attribute))

    def _counting(self, name, original):
        def attribute(explainer, *args, **kwargs):
            self.counts[name] = self.counts.get(name, 0) + 1
            return original(explainer, *args, **kwargs)

        return attribute


def test_scores_flips_and_outputs(sweeps, fresh_cache):
    from propgrad.baselines.fliptask import flip_task_scores
    from propgrad.measure import expected_property_gradient
    from propgrad.prediction import predict_sweeps
    from propgrad.scores import flip_counts

    clf = brightness_classifier()
    result = flip_task_scores(clf, sweeps, methods=["deeplift", "occlusion"], progress=False)
    assert result.flipped.tolist() == [True, False, False, True]
    assert result.outputs.shape == (4, 7, 2)
    # the one prediction path and the one definition of a flip
    np.testing.assert_array_equal(result.outputs, predict_sweeps(clf, sweeps, progress=False))
    np.testing.assert_array_equal(result.flips, flip_counts(result.outputs))
    np.testing.assert_array_equal(result.flipped, flip_counts(result.outputs) > 0)
    assert set(result.scores) == {"ours", "deeplift", "occlusion"}
    assert all(v.shape == (4,) for v in result.scores.values())
    ours = result.scores["ours"]
    for i in range(4):
        assert ours[i] == pytest.approx(expected_property_gradient(result.outputs[i, :, 0]))
    # E[|grad X|] is largest for the sweeps that cross the threshold
    assert min(ours[0], ours[3]) > max(ours[1], ours[2])


def test_second_call_comes_from_the_cache(sweeps, fresh_cache, monkeypatch):
    from propgrad.baselines.fliptask import flip_task_scores

    first = flip_task_scores(brightness_classifier(), sweeps, methods=["deeplift"], progress=False)
    calls = CaptumCalls(monkeypatch)
    again = flip_task_scores(  # a fresh classifier with the same weights: the same identity
        brightness_classifier(), sweeps, methods=["deeplift", "guided_gradcam"], progress=False
    )
    assert calls.counts == {"GuidedGradCam": 2}  # before and after; DeepLift was cached
    np.testing.assert_array_equal(first.scores["deeplift"], again.scores["deeplift"])
    calls.counts.clear()
    third = flip_task_scores(
        brightness_classifier(), sweeps, methods=["deeplift", "guided_gradcam"], progress=False
    )
    assert calls.counts == {}
    np.testing.assert_array_equal(third.scores["guided_gradcam"], again.scores["guided_gradcam"])
    # the key follows the content: other sweeps, another normalisation are computed anew
    flip_task_scores(brightness_classifier(), sweeps[::-1], methods=["deeplift"], progress=False)
    assert calls.counts == {"DeepLift": 2}
    flip_task_scores(
        brightness_classifier("imagenet"), sweeps, methods=["deeplift"], progress=False
    )
    assert calls.counts == {"DeepLift": 4}


def test_an_interrupted_method_resumes_at_the_next_chunk(sweeps, fresh_cache, monkeypatch):
    import propgrad.baselines.attributions as attributions
    from propgrad.baselines.fliptask import flip_task_scores

    original = attributions.attribution_change
    seen = []

    def failing_on_the_second_chunk(model, before, after, method, *args, **kwargs):
        seen.append(kwargs["seed"])
        if len(seen) == 2:
            raise KeyboardInterrupt
        return original(model, before, after, method, *args, **kwargs)

    monkeypatch.setattr(attributions, "attribution_change", failing_on_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        flip_task_scores(brightness_classifier(), sweeps, methods=["lime"], chunk=2, progress=False)
    seen.clear()
    monkeypatch.setattr(
        attributions, "attribution_change", lambda *a, **k: seen.append(1) or original(*a, **k)
    )
    resumed = flip_task_scores(
        brightness_classifier(), sweeps, methods=["lime"], chunk=2, n_samples=None, progress=False
    )
    assert len(seen) == 1  # only the second chunk ran
    whole = flip_task_scores(
        brightness_classifier(), sweeps, methods=["lime"], cache=False, progress=False
    )
    np.testing.assert_allclose(resumed.scores["lime"], whole.scores["lime"])
    assert sorted(p.name for p in (fresh_cache / "fliptask").rglob("*.npz")) == ["lime.npz"]


def test_sampling_seeds_do_not_depend_on_the_chunking(sweeps, fresh_cache):
    from propgrad.baselines.fliptask import flip_task_scores

    kw = {"methods": ["kernel_shap"], "n_samples": 30, "cache": False, "progress": False}
    one = flip_task_scores(brightness_classifier(), sweeps, chunk=1, **kw)
    four = flip_task_scores(brightness_classifier(), sweeps, chunk=4, **kw)
    np.testing.assert_allclose(one.scores["kernel_shap"], four.scores["kernel_shap"])


def test_array_sweeps_and_a_module_with_its_preprocess(sweeps, fresh_cache):
    from propgrad.baselines.fliptask import flip_task_scores

    clf = brightness_classifier()
    stacked = np.stack([np.stack(list(s)) for s in sweeps])  # (M, N, H, W, 3)
    kw = {"methods": ["occlusion"], "progress": False}
    from_list = flip_task_scores(clf, sweeps, **kw)
    from_array = flip_task_scores(clf.model, stacked, clf.preprocess, **kw)
    # float32 rounding differs between batched and per-image preprocessing
    np.testing.assert_allclose(from_array.outputs, from_list.outputs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        from_array.scores["occlusion"], from_list.scores["occlusion"], rtol=1e-5
    )
    np.testing.assert_array_equal(from_array.flips, from_list.flips)


def test_bad_input(sweeps):
    from propgrad.baselines.fliptask import flip_task_scores

    clf = brightness_classifier()
    with pytest.raises(ValueError, match="no sweeps"):
        flip_task_scores(clf, [])
    with pytest.raises(ValueError, match="same length"):
        flip_task_scores(clf, [sweeps[0], _sweep(0, 1, n=3)])
    with pytest.raises(ValueError, match="unknown attribution method"):
        flip_task_scores(clf, sweeps, methods=["saliency"])
    with pytest.raises(ValueError, match="Preprocess"):
        flip_task_scores(clf.model, sweeps, lambda image: image, progress=False)
    with pytest.raises(ValueError, match="preprocess="):
        flip_task_scores(clf.model, sweeps, progress=False)
    with pytest.raises(ValueError, match="out of range"):
        flip_task_scores(clf, sweeps, target=2, methods=[], progress=False)


def test_attribution_setup_is_done_once_per_call_not_per_chunk(sweeps, fresh_cache, monkeypatch):
    torch = _torch()
    import copy
    import types

    from torch import nn

    import propgrad.baselines.attributions as attributions
    from propgrad.baselines.fliptask import _end_frames, _model_inputs, flip_task_scores
    from propgrad.models import Classifier, Preprocess

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    ).eval()
    clf = Classifier(net, Preprocess.named(12, "unit"), "inplace")
    copies = []

    def counting_deepcopy(obj, *args):
        copies.append(type(obj).__name__)
        return copy.deepcopy(obj, *args)

    monkeypatch.setattr(attributions, "copy", types.SimpleNamespace(deepcopy=counting_deepcopy))
    methods = ["guided_gradcam", "deeplift"]
    result = flip_task_scores(clf, sweeps, methods=methods, chunk=1, cache=False, progress=False)
    assert copies == ["Sequential"]  # one copy without in-place ReLUs for both methods, 4 chunks
    assert attributions._SETUP is None
    assert all(m.inplace for m in net.modules() if isinstance(m, nn.ReLU))
    # the same scores as every sweep's attribution change on its own (fresh copies each)
    pre = clf.preprocess
    for method in methods:
        for i in range(len(sweeps)):
            ((before, after),) = _end_frames(sweeps, i, i + 1)
            alone = attributions.attribution_change(
                clf, _model_inputs([before], pre), _model_inputs([after], pre), method
            )
            np.testing.assert_array_equal(result.scores[method][i : i + 1], alone)
    assert len(copies) == 1 + 2 * len(sweeps)  # attribution_change: one copy for both maps
