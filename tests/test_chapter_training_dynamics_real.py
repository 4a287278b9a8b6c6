"""propgrad.chapters.training_dynamics.real: the CelebA source on a tiny folder (real layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from propgrad.chapters.training_dynamics import celeba as cb
from propgrad.chapters.training_dynamics import real as recipe
from propgrad.chapters.training_dynamics.real import CelebAFaces

NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes "
    "No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling "
    "Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()

# test images: 0 young with eyeglasses, 1 young and made up, 2 young, plain, dark hair (the
# hair face), 3 young, plain, blond, 4 young with heavy makeup and lipstick (a later
# candidate), 5 and 6 not young
TEST_FACES = (
    {"Young", "Eyeglasses", "Black_Hair", "No_Beard"},
    {"Young", "Heavy_Makeup", "Wearing_Lipstick", "Brown_Hair", "No_Beard"},
    {"Young", "Black_Hair", "No_Beard", "Male"},
    {"Young", "Blond_Hair", "No_Beard"},
    {"Young", "Heavy_Makeup", "Wearing_Lipstick", "Blond_Hair", "No_Beard"},
    {"Gray_Hair", "Male"},
    {"Gray_Hair", "Heavy_Makeup"},
)


def write_celeba_fixture(root: Path, n_train_per_class: int = 6, size=(20, 24)) -> dict[str, str]:
    """A tiny CelebA in the official layout: JPGs, list_attr_celeba.txt, list_eval_partition.txt.

    Young faces are light, the others dark with grey "hair" (so a model can learn something);
    returns the file names of the two local faces the rule should pick.
    """
    rng = np.random.default_rng(0)
    (root / cb.IMAGE_FOLDER).mkdir(parents=True, exist_ok=True)
    rows = []  # (attributes, partition)
    for k in range(2 * n_train_per_class):
        rows.append(({"Young", "Black_Hair"} if k % 2 else {"Gray_Hair"}, 0))
    rows += [({"Young"}, 1), (set(), 1)]
    rows += [(faces, 2) for faces in TEST_FACES]
    attr_lines, partition_lines, files = [], [], []
    for i, (attrs, part) in enumerate(rows, start=1):
        file = f"{i:06d}.jpg"
        files.append(file)
        young = "Young" in attrs
        base = rng.normal(190 if young else 70, 25, (size[1], size[0], 3))
        base[: size[1] // 3] = 40 if young else 225  # the "hair": dark for young, grey for old
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(root / cb.IMAGE_FOLDER / file)
        values = " ".join(" 1" if name in attrs else "-1" for name in NAMES)
        attr_lines.append(f"{file} {values}")
        partition_lines.append(f"{file} {part}")
    header = [str(len(rows)), " ".join(NAMES)]
    (root / cb.ATTRIBUTE_FILE).write_text("\n".join(header + attr_lines) + "\n")
    (root / cb.PARTITION_FILE).write_text("\n".join(partition_lines) + "\n")
    first_test = 2 * n_train_per_class + 2
    return {"hair": files[first_test + 2], "makeup": files[first_test + 1]}


@pytest.fixture
def celeba(tmp_path):
    faces = write_celeba_fixture(tmp_path / "celeba")
    return tmp_path / "celeba", faces


def test_pick_local_faces_follows_the_rule(celeba):
    root, faces = celeba
    assert recipe.pick_local_faces(root) == (faces["hair"], faces["makeup"])
    data = cb.CelebA(root)
    hair = data.attributes_of(faces["hair"])
    makeup = data.attributes_of(faces["makeup"])
    assert hair["Young"] and not hair["Heavy_Makeup"] and not hair["Eyeglasses"]
    assert makeup["Young"] and makeup["Heavy_Makeup"] and makeup["Wearing_Lipstick"]
    with pytest.raises(ValueError, match="fits the rule of the hair face"):
        recipe.pick_local_faces(root, partition="val")


def test_celeba_data_and_data_spec(celeba):
    root, _ = celeba
    spec = recipe.data_spec(root, n_train_per_class=4, seed=1)
    assert spec["loader"] == "propgrad.chapters.training_dynamics.real:celeba_data"
    assert spec["root"] == str(root.resolve()) and spec["n_test_per_class"] is None
    train, evals = recipe.celeba_data(**{k: v for k, v in spec.items() if k != "loader"})
    assert len(train) == 8 and [i.label for i in train] == [0, 1] * 4
    assert all(i.partition == "train" and i.path.is_file() for i in train)
    assert set(evals) == {"test"} and len(evals["test"]) == 4  # 2 not young in the test part


def test_celeba_source_keys_its_runs_by_the_old_loader(celeba, tmp_path):
    root, faces = celeba
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    data = CelebAFaces(root, 4, seed=1, image_size=32, imagenet_weights={"resnet18": weights})
    assert data.kind == "real" and data.size == 32 and data.n_train == 8
    # the cache key keeps the loader's name from when the models were first trained
    assert data.data_key == {**data.data, "loader": "propgrad.experiments.celeba:young_data"}
    models = {"ResNet18": {"arch": "resnet18", "model_kwargs": {}}}
    assert data.weights(models) == {"ResNet18": str(weights)}
    specs = data.runs(models, data.weights(models), {"epochs": 1}, seed=3)
    assert [s.tags for s in specs] == [
        {"model": "ResNet18", "init": "pretrained"},
        {"model": "ResNet18", "init": "random"},
    ]
    assert [s.normalisation for s in specs] == ["imagenet", "unit"]
    assert all(s.data_key == data.data_key and s.data == data.data for s in specs)
    assert all(s.image_size == 32 and s.seed == 3 and s.keep_checkpoints for s in specs)
    assert specs[0].class_names == ("not young", "young")
    correlations = data.correlations()
    assert list(correlations) == list(recipe.SHOWN_ATTRIBUTES)
    assert correlations["Gray_Hair"] == pytest.approx(-1.0)  # only the old faces are grey here
    examples = data.examples(2, size=16)
    assert list(examples) == ["not young", "young"]
    assert all(v.shape == (2, 16, 16, 3) and v.dtype == np.uint8 for v in examples.values())


def test_imagenet_weights_lookup(tmp_path):
    from propgrad.pretrain import find_imagenet_weights

    def lookup(folder, arch):
        return Path(find_imagenet_weights({arch: {"arch": arch}}, folder)[arch])

    folder = tmp_path / "imagenet"
    (folder / "densenet121").mkdir(parents=True)
    (folder / "resnet18.pth").write_bytes(b"x")
    (folder / "densenet121" / "model.safetensors").write_bytes(b"x")
    assert lookup(folder, "resnet18") == folder / "resnet18.pth"
    assert lookup(folder, "densenet121") == folder / "densenet121/model.safetensors"
    with pytest.raises(FileNotFoundError, match="convnext_small.safetensors"):
        lookup(folder, "convnext_small")
    with pytest.raises(FileNotFoundError, match="weights folder not found"):
        lookup(tmp_path / "nowhere", "resnet18")


def test_the_papers_setup():
    scales = recipe.hair_text_scales()
    assert len(scales) == 59 and scales[0] == 1.05 and scales[-1] == 9.75
    assert recipe.HAIR_INSTRUCTION == "change the hair to gray-white color"
    assert recipe.HAIR_IMAGE_SCALE == 2.5
    assert recipe.IMAGE_SIZE == 224
    assert recipe.PAPER_TRAINING == {
        "epochs": 100, "batch_size": 32, "lr": 1e-4, "weight_decay": 5e-4,
        "betas": (0.9, 0.999), "augment": "trivialaugment",
    }  # fmt: skip
    assert recipe.PAPER_MODELS["ConvMixer"]["arch"] == "convmixer_1024_20_ks9_p14"
    assert len(recipe.PAPER_MODELS) == 8


def test_paper_architectures_exist_in_timm():
    import timm

    for model in recipe.PAPER_MODELS.values():
        assert timm.is_model(model["arch"]), model["arch"]


def test_hair_sweeps_with_the_tiny_editor(celeba, tmp_path):
    pytest.importorskip("diffusers")
    import warnings

    from propgrad.interventions.tiny_models import tiny_instruct_pix2pix

    root, faces = celeba
    editor = tmp_path / "tiny-ip2p"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny_instruct_pix2pix(size=32, scheduler="ddim").save_pretrained(editor)
    sweeps = recipe.hair_sweeps(
        root,
        [faces["hair"]],
        editor=str(editor),
        text_scales=[1.5, 3.0, 6.0],
        num_inference_steps=2,
    )
    assert len(sweeps) == 1 and len(sweeps[0]) == 3
    assert np.asarray(sweeps[0].grid).tolist() == [1.5, 3.0, 6.0]
    with pytest.raises(FileNotFoundError, match="CelebA image not found"):
        recipe.hair_sweeps(root, ["999999.jpg"], editor=str(editor), text_scales=[1.5, 3.0])
