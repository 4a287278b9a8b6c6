"""The training-dynamics chapter's library: the toy source, its local faces, the report tables."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from propgrad.chapters.training_dynamics import paper, report
from propgrad.chapters.training_dynamics.dynamics import RunOutputs, score_runs
from propgrad.chapters.training_dynamics.toy import (
    DEMO_FAMILIES,
    STANDINS,
    TRAINED_WITH_LOADER,
    ToyFaces,
    pick_local_examples,
    portrait_data,
)
from propgrad.record import Results
from propgrad.worlds import portraits as pw

TINY = {"size": 16, "n_train_per_class": 12, "n_test_per_class": 30, "seed": 0,
        **pw.DYNAMICS_WORLD}  # fmt: skip


@pytest.fixture(scope="module")
def split():
    return pw.make_split(40, 60, seed=2, size=32)


# ---------------------------------------------------------------------------
# the local faces (moved from the world: the rule is the chapter's)


def test_local_examples_follow_the_rule(split):
    ex = pick_local_examples(split)
    params = split.params_test
    hair, makeup = params[ex.hair], params[ex.makeup]
    assert hair.young == 1 and makeup.young == 1
    assert hair.greyness < 0.1 and makeup.greyness < 0.1
    assert hair.glasses == 0.0 and makeup.glasses == 0.0
    assert makeup.makeup > hair.makeup
    candidates = [p for p in params if p.young == 1 and p.glasses == 0.0 and p.greyness < 0.1]
    score = lambda p: p.makeup + p.wrinkles + p.hair_colour  # noqa: E731
    assert makeup.makeup == max(p.makeup for p in candidates) > 0.0
    assert score(hair) == min(score(p) for p in candidates if p is not makeup)
    assert pick_local_examples(split.params_test) == ex
    train_ex = pick_local_examples(split, "train")
    assert all(split.params_train[i].young == 1 for i in train_ex)


def test_local_examples_errors(split):
    old = [p for p in split.params_test if p.young == 0]
    with pytest.raises(ValueError, match="at least two young faces"):
        pick_local_examples(old)
    plain = [replace(p, makeup=0.0) for p in split.params_test]
    with pytest.raises(ValueError, match="wears makeup"):
        pick_local_examples(plain)
    with pytest.raises(ValueError, match="part"):
        pick_local_examples(split, "val")
    with pytest.raises(ValueError, match="max_greyness"):
        pick_local_examples(split, max_greyness=2.0)


# ---------------------------------------------------------------------------
# the toy source


def test_portrait_data_is_the_preset_split():
    (x, y), evals = portrait_data(TINY)
    assert x.shape == (24, 16, 16, 3) and y.tolist() == [0, 1] * 12
    assert set(evals) == {"test"} and evals["test"][0].shape == (60, 16, 16, 3)


def test_toy_source_keys_its_runs_by_the_old_loader(tmp_path):
    data = ToyFaces(TINY, num_threads=1)
    assert data.kind == "toy" and data.size == 16 and data.n_train == 24
    assert data.data == {"loader": "propgrad.chapters.training_dynamics.toy:portrait_data",
                         "preset": TINY}  # fmt: skip
    # the cache key keeps the loader's name from when the demo's models were trained
    assert data.data_key == {"loader": "propgrad.worlds.portraits:young_data", "preset": TINY}
    assert TRAINED_WITH_LOADER == data.data_key["loader"]
    models = {m: STANDINS[m] for m in ("ResNet18", "ViT-B/16")}
    weights = {m: str(tmp_path / f"{m}.pth") for m in models}
    specs = data.runs(models, weights, {"epochs": 2}, seed=0)
    assert [(s.tags["model"], s.tags["init"]) for s in specs] == [
        ("ResNet18", "pretrained"),
        ("ResNet18", "random"),
        ("ViT-B/16", "pretrained"),
        ("ViT-B/16", "random"),
    ]
    assert [s.normalisation for s in specs] == ["imagenet", "unit"] * 2
    assert [s.weights for s in specs] == [weights["ResNet18"], None, weights["ViT-B/16"], None]
    assert all(s.data_key == data.data_key and s.keep_checkpoints for s in specs)
    assert all(s.num_threads == 1 and s.image_size == 16 for s in specs)
    with pytest.raises(ValueError, match="unknown preset"):
        ToyFaces("huge")


def test_toy_source_correlations_examples_and_local_sweeps():
    data = ToyFaces(TINY)
    assert data.correlations() == pw.label_correlations(data.split.params_train)
    examples = data.examples(3)
    assert list(examples) == list(pw.CLASS_NAMES)
    assert all(v.shape == (3, 16, 16, 3) for v in examples.values())
    local = data.local_sweeps(5)
    assert local.names == ("hair", "makeup") and local.sweeps.shape == (2, 5, 16, 16, 3)
    assert set(local.record) == {"local_examples", "local_example_dials"}
    hair = data.split.params_test[local.record["local_examples"]["hair"]]
    assert local.grids["hair"][0] == pytest.approx(hair.greyness) and local.grids["hair"][-1] == 1
    assert len(local.frames("makeup")) == 5
    assert set(local.record["local_example_dials"]["hair"]) == set(pw.DIALS)


def test_the_standins():
    assert set(STANDINS) == set(paper.MODELS) and set(DEMO_FAMILIES) <= set(STANDINS)


# ---------------------------------------------------------------------------
# the report


def _outputs(curves):
    p = np.asarray(curves, dtype=float)
    return np.stack([1 - p, p], axis=-1)


@pytest.fixture(scope="module")
def dyn():
    n = 9
    down, flat = np.linspace(0.9, 0.1, n), np.full(n, 0.8)
    up = np.linspace(0.6, 0.7, n)
    runs = [
        RunOutputs("A", "pretrained", np.arange(4),
                   _outputs([[flat, flat], [down, flat], [down, up], [down, flat]])),
        RunOutputs("A", "random", np.arange(4),
                   _outputs([[flat, flat], [up, up], [flat, down], [up, flat]])),
    ]  # fmt: skip
    return score_runs(runs, ["hair", "makeup"], n_permutations=99, seed=0)


def test_table12_records_what_the_claims_read(dyn):
    results = Results(None)
    halves = report.table12(dyn, results=results)
    assert list(halves) == ["pretrained", "random"]
    assert list(halves["pretrained"]["A"]) == list(paper.TABLE12_COLUMNS)
    t12 = results["table12"]["A"]
    assert t12["pretrained"]["flips"] == 3 and t12["random"]["flips"] == 0
    assert halves["random"]["A"]["#Flips"] == 0
    assert results["n_checkpoints"] == 4 == dyn.n_checkpoints
    assert len(results["epochs"]["A"]["pretrained"]) == 4
    assert results["epochs"]["A"]["pretrained"][0] == 0.0
    assert results["flips_per_epoch"]["A"]["pretrained"] == [0, 1, 1, 1]
    assert results["rho_undefined"]["A"] == {"pretrained": 1, "random": 2}
    assert report.rho_undefined(dyn, "random") == {"A": 2}
    assert set(results["table12_makeup"]["A"]) == {"pretrained", "random"}


def test_checks_and_comparisons(dyn):
    results = Results(None)
    frame = report.checks(dyn, results=results)
    assert results["final_above_initial"]["A"] == {"pretrained": True, "random": True}
    assert results["pretrained_above_random"]["A"] is True
    assert results["pretrained_flips_at_least_random"]["A"] is True
    assert results["hair_face_called_young"]["A"] == {"pretrained": 1.0, "random": 1.0}
    assert set(results["makeup_calmer_late"]["A"]) == {"pretrained", "random"}
    assert frame.shape == (1, 8) and frame.loc["A", ("mean E: PT > RI", "")]
    compare = report.hair_vs_makeup(dyn)
    assert compare.columns.tolist() == [(report.INIT_LABELS[i], f) for i in ("pretrained", "random")
                                        for f in ("hair face", "makeup face")]  # fmt: skip


def test_table11_and_the_small_tables():
    class Run:
        def __init__(self, model, init, accuracy):
            self.spec = type("Spec", (), {"tags": {"model": model, "init": init}})()
            self.accuracies = {"test": accuracy}

    results = Results(None)
    ours = report.table11([Run("A", "pretrained", 0.8), Run("A", "random", 0.75)], results)
    assert results["table11"] == {"A": {"pretrained": 80.0, "random": 75.0}}
    assert list(ours["A"]) == list(paper.TABLE11_COLUMNS)
    assert ours["A"]["Perf. Δ"] == pytest.approx(-5.0)
    frame = report.label_correlations({"greyness": -0.5}, results=results)
    assert results["label_correlations"] == {"greyness": -0.5} and isinstance(frame, pd.DataFrame)
    table = report.standins({"ResNet18": STANDINS["ResNet18"]}, 32, "toy", results=results)
    assert table.loc["ResNet18", "timm model"] == "resnet18"
    assert results["models"]["ResNet18"]["pretrained"] == "toy"
    assert results["models"]["ResNet18"]["parameters"] > 0
    with report.timed("step", results):
        pass
    with report.timed("other", results):
        pass
    assert set(results["timings"]) == {"step", "other"}


def test_the_papers_table12_by_run():
    runs = paper.table12_by_run()
    assert runs["DenseNet121"]["pretrained"] == {"E": 0.03194, "flips": 86}
    assert runs["SwinT-S"]["random"] == {"E": 0.00001, "flips": 0}
