"""The chapter's dynamics: runs with kept checkpoints, predictions at every checkpoint, scores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from propgrad import runs
from propgrad.chapters.training_dynamics import dynamics, toy
from propgrad.measure import expected_property_gradient, pearson_rho
from propgrad.runs import TrainSpec

TINY_RESNET = {"arch": "resnet18", "model_kwargs": {"channels": [4, 8, 8, 8], "stem_width": 4}}
PRESET = {"size": 16, "n_train_per_class": 12, "n_test_per_class": 6, "seed": 0}
DATA = {"loader": "propgrad.chapters.training_dynamics.toy:portrait_data", "preset": PRESET}
SETTINGS = {"epochs": 2, "batch_size": 8, "lr": 1e-3, "augment": "flip"}


def _spec(**changes):
    (spec,) = dynamics.run_specs(
        {"ResNet18": TINY_RESNET},
        DATA,
        weights={},
        image_size=16,
        settings=SETTINGS,
        inits=("random",),
        num_threads=1,
    )
    return spec.replace(**changes)


# ---------------------------------------------------------------------------
# specs and data


def test_run_specs_pairs_every_model_with_both_inits(tmp_path):
    models = {"ResNet18": TINY_RESNET, "Other": {"arch": "resnet18"}}
    weights = {"ResNet18": tmp_path / "a.pth", "Other": tmp_path / "b.pth"}
    specs = dynamics.run_specs(models, DATA, weights=weights, image_size=16, settings=SETTINGS)
    assert [dynamics.run_label(s) for s in specs] == [
        ("ResNet18", "pretrained"),
        ("ResNet18", "random"),
        ("Other", "pretrained"),
        ("Other", "random"),
    ]
    assert specs[0].weights == str(tmp_path / "a.pth") and specs[1].weights is None
    assert specs[0].model_kwargs == TINY_RESNET["model_kwargs"] and specs[2].model_kwargs == {}
    assert [s.normalisation for s in specs] == ["imagenet", "unit"] * 2
    assert all(s.keep_checkpoints and s.data_key is None for s in specs)
    assert specs[1].name == "ResNet18 (random)"
    keyed = dynamics.run_specs(models, DATA, weights=weights, image_size=16, data_key={"k": 1})
    assert all(s.data_key == {"k": 1} for s in keyed)
    with pytest.raises(ValueError, match="no pre-trained weights"):
        dynamics.run_specs(models, DATA, weights={"ResNet18": "a.pth"}, image_size=16)
    with pytest.raises(ValueError, match="init must be one of"):
        dynamics.run_specs(models, DATA, weights=weights, image_size=16, inits=("imagenet",))
    only_random = dynamics.run_specs(models, DATA, weights={}, image_size=16, inits=("random",))
    assert [s.tags["init"] for s in only_random] == ["random", "random"]


def test_load_data_calls_the_loader_once(monkeypatch):
    calls = []
    original = toy.portrait_data

    def counting(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(toy, "portrait_data", counting)
    monkeypatch.setattr(runs, "_DATA", {})
    (x, y), evals = runs.load_data(DATA)
    assert x.shape == (24, 16, 16, 3) and y.tolist() == [0, 1] * 12
    assert set(evals) == {"test"} and evals["test"][0].shape == (12, 16, 16, 3)
    assert runs.load_data(dict(DATA)) is runs.load_data(DATA)
    assert len(calls) == 1
    with pytest.raises(ValueError, match="cannot import the data loader"):
        runs.load_data({"loader": "propgrad.nowhere:nothing"})
    with pytest.raises(ValueError, match="must return"):
        runs.load_data({"loader": "numpy:zeros", "shape": 3})


# ---------------------------------------------------------------------------
# scores


def _outputs(curves):
    """(K, M, N) p(class 1) -> (K, M, N, 2) softmax-like outputs."""
    p = np.asarray(curves, dtype=float)
    return np.stack([1 - p, p], axis=-1)


def _synthetic_runs():
    n = 9
    down = np.linspace(0.9, 0.1, n)  # crosses 0.5 once
    flat = np.full(n, 0.8)  # constant: rho undefined, E = 0
    wiggle = 0.7 + 0.01 * np.sin(np.arange(n))
    run_a = dynamics.RunOutputs(
        "A", "pretrained", np.arange(3), _outputs([[down, flat], [down, wiggle], [flat, flat]])
    )
    run_b = dynamics.RunOutputs(
        "A", "random", np.arange(3), _outputs([[flat, flat], [wiggle, down], [down, down]])
    )
    return [run_a, run_b], down, flat, wiggle


def test_score_runs_per_checkpoint_values():
    runs, down, flat, wiggle = _synthetic_runs()
    dyn = dynamics.score_runs(runs, ["hair", "makeup"], n_permutations=999, seed=0)
    assert len(dyn.table) == 2 * 3 * 2
    assert list(dyn.table.columns) == ["model", "init", "sweep", "epoch", *dynamics.SCORE_COLUMNS]
    hair = dyn.run("A", "pretrained", "hair")
    assert list(hair.index) == [0, 1, 2]
    assert hair["E"].tolist() == pytest.approx(
        [expected_property_gradient(down), expected_property_gradient(down), 0.0]
    )
    assert hair["flips"].tolist() == [1, 1, 0]
    assert hair["significant"].tolist() == [True, True, False]
    assert hair["rho"].iloc[0] == pytest.approx(pearson_rho(down)) == pytest.approx(-1.0)
    assert np.isnan(hair["rho"].iloc[2])
    assert hair["start"].tolist() == pytest.approx([0.9, 0.9, 0.8])
    assert hair["start_class"].tolist() == [1, 1, 1]
    makeup = dyn.run("A", "pretrained", "makeup")
    assert makeup["flips"].tolist() == [0, 0, 0] and makeup["E"].iloc[0] == 0.0
    assert dyn.curves["A", "random", "makeup"].shape == (3, 9)
    assert dyn.models == ["A"] and dyn.sweeps == ["hair", "makeup"]
    with pytest.raises(KeyError, match="no scores"):
        dyn.run("B", "random", "hair")


def test_summary_aggregates_like_table12():
    runs, *_ = _synthetic_runs()
    dyn = dynamics.score_runs(runs, ["hair", "makeup"], n_permutations=999, seed=0)
    summary = dyn.summary("hair")
    assert list(summary.index) == ["A"]
    assert list(summary.columns) == [
        (i, c) for i in dynamics.INITS for c in dynamics.SUMMARY_COLUMNS
    ]
    pt = summary.loc["A", "pretrained"]
    assert pt["E"] == pytest.approx(dyn.run("A", "pretrained", "hair")["E"].mean())
    assert pt["flips"] == 2 and pt["significant"] == 2 and pt["checkpoints"] == 3
    assert pt["rho_undefined"] == 1 and pt["rho"] == pytest.approx(-1.0)  # the mean of the defined
    ri = summary.loc["A", "random"]
    assert ri["flips"] == 1 and ri["rho_undefined"] == 1
    series = dyn.series("hair")
    assert set(series) == {"A"} and set(series["A"]) == set(dynamics.INITS)
    assert all(len(v) == 3 for v in series["A"].values())
    assert dyn.series("hair", "flips")["A"]["pretrained"] == [1, 1, 0]
    # every significance count is bounded by the number of checkpoints
    for sweep in dyn.sweeps:
        s = dyn.summary(sweep)
        for init in dynamics.INITS:
            assert (s[(init, "significant")] <= s[(init, "checkpoints")]).all()
            assert (s[(init, "flips")] <= s[(init, "checkpoints")]).all()
    with pytest.raises(KeyError, match="no scores along"):
        dyn.summary("nose")


def test_blocks_give_the_p_values_of_one_call():
    runs, *_ = _synthetic_runs()
    one = dynamics.score_runs(runs, ["hair", "makeup"], n_permutations=500, seed=3)
    blocks = dynamics.score_runs(runs, ["hair", "makeup"], n_permutations=500, seed=3, block=5)
    assert one.table["p_value"].tolist() == blocks.table["p_value"].tolist()


def test_score_runs_rejects_bad_input():
    runs, *_ = _synthetic_runs()
    with pytest.raises(ValueError, match="no runs"):
        dynamics.score_runs([], ["hair"])
    with pytest.raises(ValueError, match="listed twice"):
        dynamics.score_runs([runs[0], runs[0]], ["hair", "makeup"])
    with pytest.raises(ValueError, match="sweep names"):
        dynamics.score_runs(runs, ["hair"])
    short = dynamics.RunOutputs("B", "random", np.arange(1), np.zeros((1, 2, 2, 2)))
    with pytest.raises(ValueError, match="at least 3 steps"):
        dynamics.score_runs([short], ["hair", "makeup"])
    with pytest.raises(ValueError, match="out of range"):
        dynamics.score_runs(runs, ["hair", "makeup"], target=2)


# ---------------------------------------------------------------------------
# training and predicting with a tiny model


def test_train_run_and_checkpoint_outputs(monkeypatch):
    import propgrad.prediction as predict_mod
    from propgrad.worlds import portraits

    spec = _spec()
    run = runs.train_run(spec)
    assert run.epochs == [0, 1, 2] and all(p.is_file() for p in run.checkpoints.values())
    assert [h["epoch"] for h in run.history] == [1, 2] and 0.0 <= run.accuracies["test"] <= 1.0
    again = runs.train_run(spec)
    assert again.from_cache and again.key == run.key and again.accuracies == run.accuracies

    split = portraits.make_split_from_preset(PRESET)
    examples = toy.pick_local_examples(split)
    sweeps = np.stack(
        [
            np.stack(list(portraits.intervene(split.params_test[i], n_steps=5, size=16)))
            for i in examples
        ]
    )
    out = dynamics.checkpoint_outputs(dynamics.ScoreTask(spec, sweeps))
    assert out.outputs.shape == (3, 2, 5, 2) and out.epochs.tolist() == [0, 1, 2]
    assert (out.model, out.init) == ("ResNet18", "random")
    assert np.allclose(out.outputs.sum(-1), 1.0)
    # the outputs of each checkpoint are those of the classifier that training kept
    for epoch in (0, 2):
        expected = predict_mod.predict_sweeps(run.classifier(epoch), sweeps, progress=False)
        np.testing.assert_allclose(out.outputs[epoch], expected, atol=1e-6)
    # a second scoring reads every checkpoint's predictions from the cache
    calls = []
    monkeypatch.setattr(predict_mod, "predict", lambda *a, **k: calls.append(1))
    cached = dynamics.checkpoint_outputs(dynamics.ScoreTask(spec, sweeps, epochs=(0, 2)))
    assert calls == [] and cached.epochs.tolist() == [0, 2]
    np.testing.assert_array_equal(cached.outputs, out.outputs[[0, 2]])
    with pytest.raises(ValueError, match="no checkpoint kept for epochs"):
        dynamics.checkpoint_outputs(dynamics.ScoreTask(spec, sweeps, epochs=(5,)))
    # all runs along named sweeps at once
    local = dynamics.LocalSweeps(("hair", "makeup"), sweeps, {}, "greyness", "{:.2f}", "toy")
    dyn = dynamics.score_checkpoints([run], local, n_permutations=99)
    assert dyn.n_checkpoints == 3 and dyn.sweeps == ["hair", "makeup"] and len(dyn.table) == 6
    np.testing.assert_allclose(dyn.curves["ResNet18", "random", "hair"], out.outputs[:, 0, :, 1])


def test_scoring_a_trained_run_neither_trains_nor_loads_data(monkeypatch, tmp_path):
    import shutil

    import propgrad.train as train_mod
    from propgrad.cache import cache_dir

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    run = runs.train_run(_spec())
    sweeps = np.random.default_rng(0).integers(0, 256, (2, 4, 16, 16, 3), dtype=np.uint8)
    expected = dynamics.checkpoint_outputs(dynamics.ScoreTask(run.spec, sweeps))
    shutil.rmtree(cache_dir("outputs"))  # predicted again below, from the checkpoint files

    def fail(*args, **kwargs):
        raise AssertionError("scoring a trained run re-entered training or loaded its data")

    monkeypatch.setattr(train_mod, "fit", fail)
    monkeypatch.setattr(runs, "fit_spec", fail)
    monkeypatch.setattr(runs, "load_data", fail)
    out = dynamics.checkpoint_outputs(dynamics.ScoreTask(run, sweeps))
    np.testing.assert_array_equal(out.outputs, expected.outputs)
    assert out.epochs.tolist() == [0, 1, 2] and out.accuracies == run.accuracies
    assert len(list(cache_dir("outputs").glob("*/*.npy"))) == 3 * 2  # checkpoints x sweeps
    local = dynamics.LocalSweeps(("hair", "makeup"), sweeps, {}, "greyness", "{:.2f}", "toy")
    dyn = dynamics.score_checkpoints([run], local, n_permutations=99)
    np.testing.assert_array_equal(dyn.curves["ResNet18", "random", "hair"], out.outputs[:, 0, :, 1])


_TRAIN_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from propgrad.runs import TrainSpec, train_run
    train_run(TrainSpec(**json.loads(sys.argv[1])))
    """
)


def test_a_killed_training_resumes_from_its_last_epoch(tmp_path):
    """SIGKILL a training process after its second epoch; the rerun continues from its last one."""
    import json

    import torch

    from propgrad.cache import cache_dir

    settings = {**SETTINGS, "epochs": 8, "seed": 1}
    data = {**DATA, "preset": {**PRESET, "n_train_per_class": 40}}
    fields = {**_spec().__dict__, "data": data, "settings": settings}
    spec = TrainSpec(**fields)
    models = cache_dir("models")

    def run_folder():
        """The cache folder of this run, once the training process has written its config."""
        for config in models.glob("*/config.json"):
            record = json.loads(config.read_text())
            if record["data"] == json.loads(json.dumps(spec.data)) and record["train"]["seed"] == 1:
                return config.parent
        return None

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", _TRAIN_SCRIPT, json.dumps(fields)], env=env)
    try:
        deadline = time.monotonic() + 120
        # once epoch 3's checkpoint exists, resume.pt holds epoch 2 or later
        while (folder := run_folder()) is None or not (folder / "epoch_0003.pt").is_file():
            assert process.poll() is None, (
                "the training finished or failed before it could be killed"
            )
            assert time.monotonic() < deadline, "no third checkpoint within two minutes"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert not (folder / "final.pt").exists()
    state = torch.load(folder / "resume.pt", weights_only=True)
    done = int(state["epoch"])
    assert 2 <= done < 8 and [h["epoch"] for h in state["history"]] == list(range(1, done + 1))

    kept_before = {p.name: p.stat().st_mtime_ns for p in folder.glob("epoch_*.pt")}
    resumed = runs.train_run(spec)
    assert not resumed.from_cache and resumed.folder == folder
    assert resumed.epochs == list(range(9))
    assert [h["epoch"] for h in resumed.history] == list(range(1, 9))
    assert resumed.history[:done] == state["history"]
    assert not (folder / "resume.pt").exists() and (folder / "final.pt").is_file()
    # the checkpoints written before the kill were kept, not trained again
    for name in (f"epoch_{e:04d}.pt" for e in range(done + 1)):
        assert folder.joinpath(name).stat().st_mtime_ns == kept_before[name]
