"""The skin-lesion chapter's library: data sources, training runs, design, report tables."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from propgrad.chapters.skin_lesions import IsicLesions, ToyLesions, paper, report
from propgrad.chapters.skin_lesions.fliptask import FlipScoresJob, PatchFlipTask, flip_design
from propgrad.chapters.skin_lesions.interventions import (
    design_sweeps,
    intervention_design,
    local_curves,
)
from propgrad.chapters.skin_lesions.models import (
    ARCHITECTURES,
    architecture_table,
    lesion_runs,
    lesion_source,
    training_data,
)
from propgrad.chapters.skin_lesions.toy import (
    INTERVENTION_POOLS,
    intervention_pool,
    toy_preset,
)
from propgrad.pretrain import find_imagenet_weights
from propgrad.runs import TrainSpec
from propgrad.worlds import skin_lesions as sl

SIZE = 32
#: A tiny world: four images per class and part.
TINY = {
    "world": {**sl.WORLD_PRESETS["smoke"], "size": 24, "n_train_per_class": 4,
              "n_test_per_class": 4},
    "intervention_pool": {"pool_size": 3, "seed": 0},
}  # fmt: skip

#: The methods of the flip task under our keys and the paper's labels.
METHODS = ("ours", "guided_gradcam", "integrated_gradients")


@pytest.fixture(scope="module")
def tiny():
    return ToyLesions(TINY)


# -- the toy source ---------------------------------------------------------------


def test_toy_preset_joins_world_and_intervention_pool_and_is_a_copy():
    preset = toy_preset("smoke")
    assert preset == {
        "world": sl.WORLD_PRESETS["smoke"],
        "intervention_pool": INTERVENTION_POOLS["smoke"],
    }
    assert INTERVENTION_POOLS == {
        "smoke": {"pool_size": 8, "seed": 0},
        "demo": {"pool_size": 50, "seed": 0},
    }
    preset["world"]["size"] = 1
    preset["intervention_pool"]["pool_size"] = 1
    assert sl.WORLD_PRESETS["smoke"]["size"] == 32 and INTERVENTION_POOLS["smoke"]["pool_size"] == 8
    assert toy_preset({"world": {"size": 16}})["intervention_pool"] == INTERVENTION_POOLS["demo"]
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        toy_preset("huge")
    with pytest.raises(ValueError, match="'world' entry"):
        toy_preset({"intervention_pool": {}})


def test_intervention_pool_is_the_worlds_and_follows_the_patch_scale():
    pool = intervention_pool("smoke")
    assert len(pool) == 8 and all(p.patch_id.startswith("intervention-") for p in pool)
    assert pool == sl.patch_pool(8, 0, pool="intervention", scale=2.0)
    preset = toy_preset("smoke")
    preset["world"]["patch_scale"] = 1.0
    plain = intervention_pool(preset)
    preset["world"]["patch_scale"] = 1.5
    scaled = intervention_pool(preset)
    assert scaled[0].rx == pytest.approx(1.5 * plain[0].rx)


def test_toy_source_counts_and_examples(tiny):
    assert (
        tiny.kind == "toy" and tiny.size == 24 and tiny.description == "toy world, preset 'custom'"
    )
    assert ToyLesions("smoke").description == "toy world, preset 'smoke'"
    assert tiny.counts() == {
        "unbiased / train": {"nevi": 4, "of them with patches": 0, "melanomas": 4},
        "unbiased / test": {"nevi": 4, "of them with patches": 0, "melanomas": 4},
        "biased / train": {"nevi": 4, "of them with patches": 2, "melanomas": 4},
        "biased / test": {"nevi": 4, "of them with patches": 2, "melanomas": 4},
    }
    images, titles = tiny.examples(2)
    assert list(images) == ["unbiased", "biased"] and len(images["biased"]) == 4
    assert titles["biased"] == ["nevus + patch", "nevus + patch", "melanoma", "melanoma"]
    assert titles["unbiased"] == ["nevus", "nevus", "melanoma", "melanoma"]
    assert images["biased"][0].shape == (24, 24, 3)


def test_toy_source_sweeps_blend_a_patch_into_a_test_melanoma():
    data = ToyLesions("smoke")
    assert data.n_test_melanomas() == 50 and data.n_patches() == 8
    sweep = data.patch_sweep(3, 2, 4, seed=0)
    frames = sweep.to_array()
    assert frames.shape == (4, SIZE, SIZE, 3)
    np.testing.assert_array_equal(frames[0], data.melanoma_images([3])[0])
    assert sweep.grid.tolist() == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert sweep.metadata["image_index"] == 3 and sweep.metadata["patch_index"] == 2
    assert not np.array_equal(frames[-1], frames[0])


def test_lesion_source_rebuilds_a_source_from_its_config(tiny):
    again = lesion_source(tiny.config)
    assert again.config == tiny.config and again is lesion_source(tiny.config)
    np.testing.assert_array_equal(again.melanoma_images([0]), tiny.melanoma_images([0]))
    with pytest.raises(ValueError, match="unknown data source kind"):
        lesion_source({"kind": "folder"})


def test_training_data_is_the_split_and_both_test_parts(tiny):
    (x, y), tests = training_data(tiny.config, "biased")
    assert x.shape == (8, 24, 24, 3) and y.tolist().count(1) == 4
    assert list(tests) == ["unbiased", "biased"]
    np.testing.assert_array_equal(tests["biased"][0], tiny.split("biased").x_test)


def test_both_sources_share_one_interface():
    shared = {
        "backbones", "config", "counts", "description", "examples", "kind", "melanoma_images",
        "n_patches", "n_test_melanomas", "patch_sweep", "split", "test_sets", "train_key",
        "train_set",
    }  # fmt: skip
    assert shared <= set(dir(ToyLesions)) and shared <= set(dir(IsicLesions))
    with pytest.raises(FileNotFoundError, match="data_dir"):
        IsicLesions(None)


# -- architectures and training runs ------------------------------------------------


def test_architecture_table_adds_the_vit_size_and_keeps_the_paper_order():
    table = architecture_table(
        {
            "ViT-B/16": {"arch": "vit_tiny_patch16_224", "model_kwargs": {"depth": 2}},
            "ResNet18": "resnet18",
        },
        48,
    )
    assert list(table) == ["ResNet18", "ViT-B/16"]
    assert table["ResNet18"] == {"arch": "resnet18", "model_kwargs": {}}
    assert table["ViT-B/16"]["model_kwargs"] == {"depth": 2, "img_size": 48}
    with pytest.raises(ValueError, match="paper's"):
        architecture_table({"ResNet-18": "resnet18"}, 48)
    for profile in ("smoke", "demo", "paper"):
        assert list(ARCHITECTURES[profile]) == list(paper.MODELS)


def test_lesion_runs_describe_the_three_variants(tiny):
    archs = architecture_table(ARCHITECTURES["demo"], 40)
    weights = {label: f"/weights/{spec['arch']}.pt" for label, spec in archs.items()}
    train = {"epochs": 7, "lr": 1e-3, "batch_size": 32, "augment": "flip", "seed": 0}
    head = {**train, "epochs": 5, "lr": 2e-3}
    runs = lesion_runs(archs, tiny, weights, 40, train=train, head=head, num_threads=1)
    assert list(runs) == list(paper.MODELS)
    assert all(list(v) == list(paper.VARIANTS) for v in runs.values())
    vit = runs["ViT-B/16"]
    for variant, spec in vit.items():
        assert isinstance(spec, TrainSpec) and spec.name == f"ViT-B/16 ({variant})"
        assert spec.arch == "vit_tiny_patch16_224" and spec.image_size == 40
        assert spec.model_kwargs == {"patch_size": 8, "depth": 6, "img_size": 40}
        assert spec.weights == "/weights/vit_tiny_patch16_224.pt"
        assert spec.normalisation == "imagenet" and spec.seed == 0 and spec.num_classes == 2
        assert spec.class_names == ("nevus", "melanoma") and spec.num_threads == 1
        assert spec.data["source"] == tiny.config and not spec.keep_checkpoints
    # the cache keys of the trained models: the world's settings and the split
    assert vit["biased"].data_key == {"world": "skin_lesions", **TINY["world"], "split": "biased"}
    assert vit["imagenet"].data_key == vit["unbiased"].data_key
    assert vit["unbiased"].data["split"] == "unbiased" and vit["biased"].data["split"] == "biased"
    assert vit["imagenet"].train_only == "head" and vit["imagenet"].settings == head
    assert vit["biased"].train_only is None and vit["biased"].settings == train
    assert vit["unbiased"].tags == {"label": "ViT-B/16", "variant": "unbiased", "split": "unbiased"}
    assert lesion_source(tiny.config) is tiny  # in-process runs reuse the rendered source


def test_find_imagenet_weights_names_what_is_missing(tmp_path):
    archs = architecture_table(ARCHITECTURES["paper"], 224)
    with pytest.raises(FileNotFoundError, match="imagenet_weights"):
        find_imagenet_weights(archs, None)
    (tmp_path / "resnet18.safetensors").write_bytes(b"x")
    (tmp_path / "convnext_small").mkdir()
    (tmp_path / "convnext_small" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=r"EfficientNet-B0 \(efficientnet_b0\)") as error:
        find_imagenet_weights(archs, tmp_path)
    assert "ResNet18" not in str(error.value) and "ConvNeXt-S" not in str(error.value)
    found = find_imagenet_weights({k: archs[k] for k in ("ResNet18", "ConvNeXt-S")}, tmp_path)
    assert found["ConvNeXt-S"].endswith("convnext_small/model.safetensors")


# -- the interventions and the flip task ----------------------------------------------


def test_intervention_design_takes_correct_melanomas_and_distinct_patches():
    p = np.array([0.9, 0.2, 0.8, 0.7, 0.1, 0.95])
    design = intervention_design(p, 3, 2, n_pool=5, seed=1)
    assert len(design) == 3 and {i for i, _ in design} <= {0, 2, 3, 5}
    assert all(len(set(ks)) == 2 and all(0 <= k < 5 for k in ks) for _, ks in design)
    assert design == intervention_design(p, 3, 2, n_pool=5, seed=1)
    with pytest.warns(UserWarning, match="only 4 test melanomas"):
        short = intervention_design(p, 5, 1, n_pool=5)
    assert {i for i, _ in short} == {0, 2, 3, 5, 1}  # then the most melanoma-like other
    with pytest.raises(ValueError, match="fewer than n_images"):
        intervention_design(p, 7, 1, n_pool=5)
    with pytest.raises(ValueError, match="fewer than n_patches"):
        intervention_design(p, 2, 6, n_pool=5)


def test_design_sweeps_follow_the_design(tiny):
    sweeps = design_sweeps(tiny, [(1, [0, 2]), (3, [1, 0])], 3, seed=0)
    assert [[s.metadata["patch_index"] for s in row] for row in sweeps] == [[0, 2], [1, 0]]
    assert [row[0].metadata["image_index"] for row in sweeps] == [1, 3]
    np.testing.assert_array_equal(sweeps[1][0].to_array()[0], tiny.melanoma_images([3])[0])


def test_flip_design_gives_each_melanoma_one_patch(tiny):
    design = flip_design(tiny, 10, seed=0)
    assert [i for i, _ in design] == [0, 1, 2, 3]  # at most the four test melanomas
    assert all(len(ks) == 1 and 0 <= ks[0] < 3 for _, ks in design)
    assert design == flip_design(tiny, 10, seed=0) and flip_design(tiny, 2) == design[:2]


def test_flip_scores_jobs_are_typed_and_frozen(tiny):
    spec = TrainSpec("m", "resnet18", {"loader": "x:y", "source": tiny.config, "split": "biased"})
    job = FlipScoresJob(spec, ((0, (1,)),), 5)
    assert job.n_samples is None and job.seed == 0 and job.progress
    with pytest.raises(AttributeError):
        job.n_steps = 3


def test_local_curves_average_each_images_patches():
    outputs = np.zeros((6, 4, 2))
    outputs[:, :, 1] = np.arange(6)[:, None]
    np.testing.assert_allclose(local_curves(outputs, 3), [[1.0] * 4, [4.0] * 4])


# -- the report tables ------------------------------------------------------------------


class _Results(dict):
    """A stand-in for propgrad.Results: ``add`` records into the dict."""

    def add(self, **values):
        self.update(values)


def _models():
    accuracy = {
        "unbiased": {"unbiased": 0.80, "biased": 0.78},
        "biased": {"unbiased": 0.70, "biased": 0.90},
        "imagenet": {"unbiased": 0.60, "biased": 0.65},
    }
    parameter = SimpleNamespace(numel=lambda: 500_000)
    return {
        label: {
            v: SimpleNamespace(
                training=SimpleNamespace(accuracies=a),
                model=SimpleNamespace(parameters=lambda: [parameter, parameter]),
            )
            for v, a in accuracy.items()
        }
        for label in ("ResNet18", "ViT-B/16")
    }


def _patches():
    scores = {
        "unbiased": SimpleNamespace(
            expected_property_gradient=0.001,
            mean_expected_property_gradient=0.002,
            fraction_flipped=0.0,
            flips=0,
        ),
        "biased": SimpleNamespace(
            expected_property_gradient=0.02,
            mean_expected_property_gradient=0.03,
            fraction_flipped=0.5,
            flips=1,
        ),
        "imagenet": SimpleNamespace(
            expected_property_gradient=0.0005,
            mean_expected_property_gradient=0.001,
            fraction_flipped=0.0,
            flips=0,
        ),
    }
    by_key = {(v, "patches"): b for v, b in scores.items()}
    return {label: SimpleNamespace(scores=by_key) for label in ("ResNet18", "ViT-B/16")}


def test_table10_keys_the_papers_labels_and_records_ours():
    results = _Results()
    table = report.table10(_models(), results=results)
    assert table["Biased / ResNet18"] == {"Unbiased": pytest.approx(70.0), "Biased": 90.0}
    assert table["Unbiased / ViT-B/16"] == {"Unbiased": 80.0, "Biased": 78.0}
    assert table["ImageNet, head only / ResNet18"] == {"Unbiased": 60.0, "Biased": 65.0}
    assert list(table)[-1] == "ImageNet, head only / ViT-B/16"
    assert set(table) <= set(paper.TABLE10) | {f"ImageNet, head only / {m}" for m in paper.MODELS}
    assert results["table10"]["biased"]["ResNet18"] == {"unbiased": pytest.approx(70.0),
                                                         "biased": 90.0}  # fmt: skip
    assert list(results["table10"]) == ["unbiased", "biased"]
    assert results["imagenet_accuracy"]["ViT-B/16"] == {"unbiased": 60.0, "biased": 65.0}
    gap = report.accuracy_gap(_models())
    assert gap.loc["ResNet18", "biased model"] == pytest.approx(20.0)
    assert gap.loc["ResNet18", "unbiased model"] == pytest.approx(-2.0)


def test_table3_keys_the_papers_labels_and_records_ours():
    results = _Results()
    table = report.table3(_patches(), results=results)
    assert table["ResNet18"] == {"Unbiased": 0.001, "Biased": 0.02, "ImageNet": 0.0005}
    assert list(table["ViT-B/16"]) == list(paper.TABLE3["ViT-B/16"])
    assert results["table3"]["ViT-B/16"] == {"unbiased": 0.001, "biased": 0.02, "imagenet": 0.0005}
    assert results["table3_mean_per_sweep"]["ResNet18"]["biased"] == 0.03
    assert results["table3_flipped"]["ResNet18"] == {
        "unbiased": 0.0,
        "biased": 0.5,
        "imagenet": 0.0,
    }
    assert results["bias_recovered"] == {"ResNet18": True, "ViT-B/16": True}


def test_table2_averages_the_architectures_and_checks_read_the_record():
    means = {
        "ResNet18": {"ours": 90.0, "guided_gradcam": 70.0, "integrated_gradients": 60.0},
        "ViT-B/16": {"ours": 80.0, "guided_gradcam": 84.0, "integrated_gradients": 50.0},
    }
    stds = {label: {m: 1.0 for m in METHODS} for label in means}
    flipped = {label: {"unbiased": 0.0, "biased": 0.4} for label in means}
    flip = PatchFlipTask(means, stds, flipped, 30)
    results = _Results()
    table, table_std = report.table2(flip, results=results)
    assert table["ResNet18"] == {
        "Ours": 90.0,
        "G-CAM": 70.0,
        "Int. Grad.": 60.0,
    }
    assert set(table["ViT-B/16"]) <= set(paper.TABLE2["ViT-B/16"])
    assert table_std["ViT-B/16"]["Ours"] == 1.0
    assert results["table2_isic"] == {
        "Ours": 85.0,
        "G-CAM": 77.0,
        "Int. Grad.": 55.0,
    }
    assert results["table2_isic_std"]["Ours"] == 1.0 and results["flipped_fraction"] == flipped
    assert report.flipped_shares(flip).loc["ViT-B/16", "Biased"] == 0.4
    report.table10(_models(), results=results)
    report.table3(_patches(), results=results)
    checks = report.checks(_patches(), results)
    assert results["checks"]["ResNet18"] == {
        "E: biased > unbiased": True,
        "E: ImageNet > unbiased": False,
        "shortcut pays": True,
        "biased mean flips": True,
        "Ours best": True,
    }
    assert not results["checks"]["ViT-B/16"]["Ours best"]  # Guided Grad-CAM leads there
    assert checks.shape == (2, 5)


def test_stand_ins_record_the_models_and_settings(tiny):
    archs = architecture_table(ARCHITECTURES["smoke"], SIZE)
    weights = {label: "w.pt" for label in archs}
    train = {"epochs": 1, "lr": 1e-3, "batch_size": 32, "augment": "flip", "seed": 0}
    head = {**train, "lr": 2e-3}
    runs = lesion_runs(archs, tiny, weights, SIZE, train=train, head=head)
    models = {label: _models()["ResNet18"] for label in archs}
    results = _Results()
    frame = report.stand_ins(runs, models, results=results)
    assert frame.loc["ViT-B/16", "ours (timm)"] == "test_vit"
    assert frame.loc["ViT-B/16", "arguments"] == "patch_size=8, img_size=32"
    assert frame.loc["ResNet18", "parameters (M)"] == pytest.approx(1.0)
    assert results["models"]["ViT-B/16"] == {
        "timm": "test_vit",
        "model_kwargs": {"patch_size": 8, "img_size": SIZE},
    }
    assert results["image_size"] == SIZE
    assert results["train_settings"] == train and results["head_settings"] == head
