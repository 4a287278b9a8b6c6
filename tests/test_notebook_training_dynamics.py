"""Run the training-dynamics chapter (smoke and paper profiles) and check what it records."""

from __future__ import annotations

import math

import pytest
from conftest import assert_claims, run_notebook

from propgrad.chapters.training_dynamics import paper

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]

SMOKE_FAMILIES = ["ResNet18", "ViT-B/16"]
SMOKE_EPOCHS = 2
INITS = ("pretrained", "random")


@pytest.fixture(scope="module")
def dyn(tmp_path_factory):
    return run_notebook("training_dynamics", tmp_path_factory.mktemp("dynamics"))


def _check_record(r, families, epochs):
    """Layout and consistency of what the chapter records, at any profile."""
    n = epochs + 1
    assert r["n_checkpoints"] == n
    assert list(r["table11"]) == families
    for row in r["table11"].values():
        assert set(row) == set(INITS) and all(0.0 <= v <= 100.0 for v in row.values())
    assert list(r["table12"]) == families
    for model, row in r["table12"].items():
        assert set(row) == set(INITS)
        for init, cell in row.items():
            assert set(cell) == {"E", "flips", "significant", "rho"}
            assert cell["E"] >= 0.0
            assert isinstance(cell["flips"], int) and isinstance(cell["significant"], int)
            assert 0 <= cell["significant"] <= n and 0 <= cell["flips"] <= n
            assert cell["rho"] is None or -1.0 <= cell["rho"] <= 1.0
            # the per-epoch series agree with the aggregates
            series = r["epochs"][model][init]
            assert len(series) == n and all(v >= 0 for v in series)
            assert cell["E"] == pytest.approx(sum(series) / n)
            flips = r["flips_per_epoch"][model][init]
            assert len(flips) == n and cell["flips"] == sum(f > 0 for f in flips)
            assert cell["significant"] == sum(r["significant_per_epoch"][model][init])
            assert 0 <= r["rho_undefined"][model][init] <= n
            if r["rho_undefined"][model][init] == n:
                assert cell["rho"] is None
    assert set(r["epochs_makeup"]) == set(families)
    assert all(len(v) == n for m in r["epochs_makeup"].values() for v in m.values())
    assert list(r["models"]) == families
    assert all(
        {"arch", "model_kwargs", "parameters", "pretrained"} <= set(v) for v in r["models"].values()
    )


def test_smoke_record(dyn):
    assert dyn["profile"] == "smoke"
    _check_record(dyn, SMOKE_FAMILIES, SMOKE_EPOCHS)
    assert set(dyn["local_examples"]) == {"hair", "makeup"}
    dials = dyn["local_example_dials"]
    assert dials["makeup"]["makeup"] > dials["hair"]["makeup"]
    assert dials["hair"]["greyness"] < 0.1 and dials["makeup"]["greyness"] < 0.1
    assert dyn["models"]["ResNet18"]["arch"] == "resnet18"
    assert dyn["label_correlations"]["greyness"] < 0 < dyn["label_correlations"]["makeup"]


def test_smoke_claims_are_what_the_numbers_say(dyn):
    for model in SMOKE_FAMILIES:
        t12 = dyn["table12"][model]
        assert dyn["pretrained_above_random"][model] == (
            t12["pretrained"]["E"] > t12["random"]["E"]
        )
        for init in INITS:
            series = dyn["epochs"][model][init]
            assert dyn["final_above_initial"][model][init] == (series[-1] > series[0])
            assert 0.0 <= dyn["hair_face_called_young"][model][init] <= 1.0


def test_smoke_records_every_claim(dyn):
    assert_claims(dyn, "training_dynamics", hold=False)
    # the Swin stand-in is not trained at the smoke profile: its claim says so
    assert dyn["claims"]["small_swin_learns_from_scratch"] is False


def test_smoke_planted_cue_is_learned(dyn):
    """Trained models react to grey hair more than the models they started from, for most runs."""
    above = [v for m in dyn["final_above_initial"].values() for v in m.values()]
    assert sum(above) > len(above) / 2


# ---------------------------------------------------------------------------
# the paper branch on fixture data in the real layout

TINY_MODELS = {
    "ResNet18": {"arch": "resnet18", "model_kwargs": {"channels": [4, 8, 8, 8], "stem_width": 4}},
    "ViT-B/16": {
        "arch": "vit_base_patch16_224",
        "model_kwargs": {
            "img_size": 32,
            "patch_size": 8,
            "embed_dim": 16,
            "depth": 1,
            "num_heads": 2,
        },
    },
}


def _tiny_imagenet_weights(folder):
    """One tiny random-weight "ImageNet" file per architecture (1000-class heads)."""
    import timm
    import torch

    folder.mkdir(parents=True)
    for model in TINY_MODELS.values():
        net = timm.create_model(model["arch"], num_classes=1000, **model["model_kwargs"])
        torch.save(net.state_dict(), folder / f"{model['arch']}.pth")
    return folder


def test_paper_branch_runs_on_fixture_data(tmp_path):
    pytest.importorskip("diffusers")
    import warnings

    from test_chapter_training_dynamics_real import write_celeba_fixture

    from propgrad.interventions.tiny_models import tiny_instruct_pix2pix

    faces = write_celeba_fixture(tmp_path / "celeba")
    weights = _tiny_imagenet_weights(tmp_path / "imagenet")
    editor = tmp_path / "tiny-ip2p"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny_instruct_pix2pix(size=32, scheduler="ddim").save_pretrained(editor)
    r = run_notebook(
        "training_dynamics", tmp_path, profile="paper", data_dir=str(tmp_path / "celeba"),
        imagenet_weights=str(weights), editor=str(editor), edit_steps=2,
        edit_scales=[1.5, 3.0, 6.0, 9.0], models=TINY_MODELS, families=list(TINY_MODELS),
        image_size=32, epochs=2, batch_size=4, n_permutations=50,
    )  # fmt: skip
    assert r["profile"] == "paper"
    _check_record(r, list(TINY_MODELS), 2)
    assert r["local_faces"] == faces
    assert all(
        v["pretrained"] == "ImageNet weights from a local file" for v in r["models"].values()
    )
    # the paper's labels: our rows are a subset of its Table 11 rows
    assert set(r["table11"]) <= set(paper.TABLE11)
    assert math.isfinite(r["table11"]["ResNet18"]["pretrained"])


# ---------------------------------------------------------------------------
# the demo profile, where the chapter's statements are made (minutes: `make test-slow`)


@pytest.mark.slow
def test_demo_profile_claims_hold(tmp_path):
    demo = run_notebook("training_dynamics", tmp_path, profile="demo")
    assert demo["profile"] == "demo"
    assert set(demo["table12"]) == {
        "ConvMixer",
        "ResNet18",
        "DenseNet121",
        "ConvNeXt-S",
        "ViT-B/16",
        "SwinT-S",
    }
    # every trained run learns the planted cue, at every family (not only on average)
    assert all(v for row in demo["final_above_initial"].values() for v in row.values())
    # the chapter's sentences, each checked: rises and falls, the made-up face, the ViT
    assert_claims(demo, "training_dynamics", hold=True)
