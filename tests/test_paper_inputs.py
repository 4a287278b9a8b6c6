"""The paper profile's inputs, checked before anything runs (propgrad.profiles.check_inputs).

Unit tests of the check (missing, wrong layout, file for folder, valid inputs,
other profiles), the layouts each chapter declares against its real-data
reader, and every chapter notebook run at the paper profile with nothing
given: it stops in its first cell after the parameters with one line per
missing input.
"""

from __future__ import annotations

import csv
import importlib
import re
from pathlib import Path

import pytest

from propgrad.profiles import (
    FILE,
    FOLDER,
    HUB_ID_OR_FOLDER,
    NAME_OR_FILE,
    MissingInputsError,
    PaperInput,
    check_inputs,
    csv_columns,
    imagenet_weights,
    looks_like_path,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("cats_vs_dogs", "skin_lesions", "training_dynamics", "clip_orientation")
#: The parameters each chapter cannot run without at the paper profile (no default).
REQUIRED = {
    "cats_vs_dogs": [
        "data_dir",
        "fur_labels",
        "probing_dir",
        "concept_words",
        "clip_weights",
    ],
    "skin_lesions": ["data_dir", "imagenet_weights"],
    "training_dynamics": ["data_dir", "imagenet_weights"],
    "clip_orientation": ["clip_weights", "turntable_dir", "frog_mesh"],
}

DATA = PaperInput("data_dir", FOLDER, "a folder holding train/ and list.txt", "a dataset",
                  contains=("train/", "list.txt", "train/*.jpg"))  # fmt: skip
LABELS = PaperInput(
    "labels", FILE, "a CSV with file,label", "the authors", check=csv_columns("file", "label")
)
EDITOR = PaperInput("editor", HUB_ID_OR_FOLDER, "a hub id or a pipeline folder", "a paper",
                    contains=("model_index.json",))  # fmt: skip
MODEL = PaperInput("clip_model", NAME_OR_FILE, "a name or a JSON file", "CLIP", suffixes=(".json",))


def paper_inputs(chapter: str) -> tuple[PaperInput, ...]:
    return importlib.import_module(f"propgrad.chapters.{chapter}").PAPER_INPUTS


def problems(requirements, namespace) -> dict[str, str]:
    """Parameter -> what is wrong, from the error check_inputs raises."""
    with pytest.raises(MissingInputsError) as caught:
        check_inputs("paper", requirements, namespace)
    return dict(caught.value.problems)


def make_data(root: Path) -> Path:
    (root / "train").mkdir(parents=True)
    (root / "train" / "a.jpg").write_bytes(b"")
    (root / "list.txt").write_text("a.jpg\n")
    return root


# --- the check itself ---


def test_other_profiles_never_check(tmp_path):
    garbage = {"data_dir": tmp_path / "nowhere", "labels": 3, "editor": "no such thing!"}
    for profile in ("smoke", "demo", "anything"):
        assert check_inputs(profile, [DATA, LABELS, EDITOR], garbage) == []
        assert check_inputs(profile, [DATA, LABELS, EDITOR], {}) == []


def test_every_missing_input_is_named_at_once():
    with pytest.raises(MissingInputsError) as caught:
        check_inputs(
            "paper", [DATA, LABELS, MODEL], {"data_dir": None, "labels": "  ", "clip_model": "B"}
        )
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.names == ["data_dir", "labels"]  # clip_model: a name, nothing to check
    lines = str(error).splitlines()
    assert lines[0].startswith("The paper profile needs 2 inputs that are missing or invalid")
    assert "before anything is trained or downloaded" in lines[0]
    assert lines[1] == (
        "- data_dir (folder): not given. Expected: a folder holding train/ and list.txt. "
        "The paper: a dataset."
    )
    assert lines[2].startswith("- labels (file): not given. Expected: a CSV with file,label.")
    assert len(lines) == 3


def test_a_missing_folder_and_a_wrong_layout(tmp_path):
    found = problems([DATA], {"data_dir": str(tmp_path / "nowhere")})
    assert found == {"data_dir": f"{tmp_path / 'nowhere'} does not exist"}
    (tmp_path / "empty").mkdir()
    found = problems([DATA], {"data_dir": tmp_path / "empty"})
    assert found == {"data_dir": f"{tmp_path / 'empty'} lacks train/, list.txt, train/*.jpg"}
    root = make_data(tmp_path / "data")
    (root / "train" / "a.jpg").unlink()
    assert problems([DATA], {"data_dir": root}) == {"data_dir": f"{root} lacks train/*.jpg"}


def test_a_file_where_a_folder_is_needed_and_back(tmp_path):
    file = tmp_path / "x.csv"
    file.write_text("file,label\n")
    assert problems([DATA], {"data_dir": str(file)}) == {
        "data_dir": f"{file} is a file, a folder is needed"
    }
    assert problems([LABELS], {"labels": str(tmp_path)}) == {
        "labels": f"{tmp_path} is a folder, a file is needed"
    }
    assert problems([DATA], {"data_dir": 7}) == {"data_dir": "int 7 is not a folder"}
    assert problems([DATA], {"data_dir": {"a": 1}}) == {
        "data_dir": "a mapping, but a folder is needed"
    }


def test_valid_inputs_pass(tmp_path, monkeypatch):
    root = make_data(tmp_path / "data")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label,extra\na.jpg,1,x\n")
    editor = tmp_path / "ip2p"
    editor.mkdir()
    (editor / "model_index.json").write_text("{}")
    namespace = {"data_dir": str(root), "labels": labels, "editor": str(editor)}
    assert check_inputs("paper", [DATA, LABELS, EDITOR], namespace) == []
    namespace["clip_model"] = "ViT-B-32"  # a name: nothing to check
    assert check_inputs("paper", [DATA, LABELS, EDITOR, MODEL], namespace) == []
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_inputs("paper", [DATA], {"data_dir": "~/data"}) == []  # ~ is expanded


def test_csv_columns_names_what_is_missing(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("name;label\n")
    assert problems([LABELS], {"labels": labels}) == {
        "labels": "labels.csv lacks the column(s) file,label (its header: name;label)"
    }
    labels.write_text("")
    assert "(its header: nothing)" in problems([LABELS], {"labels": labels})["labels"]
    # inside a folder input
    check = csv_columns("image_id", "diagnosis", file="metadata.csv")
    (tmp_path / "metadata.csv").write_text("image_id,diagnosis\n")
    assert check(tmp_path, {}) == []


def test_the_editor_is_a_hub_id_or_a_checked_folder(tmp_path):
    notes = check_inputs("paper", [EDITOR], {"editor": "timbrooks/instruct-pix2pix"})
    assert notes == [
        "editor = 'timbrooks/instruct-pix2pix' is a hub id: it cannot be checked offline and "
        "is downloaded on first use (a local folder instead is checked here)"
    ]
    # a hub id beside a missing input: the error says it was not checked
    with pytest.raises(MissingInputsError) as caught:
        check_inputs("paper", [DATA, EDITOR], {"editor": "timbrooks/instruct-pix2pix"})
    assert (
        str(caught.value)
        .splitlines()[-1]
        .startswith("Not checked: editor = 'timbrooks/instruct-pix2pix' is a hub id")
    )
    assert caught.value.notes and caught.value.names == ["data_dir"]
    # a path is checked: it must exist and be a pipeline folder
    assert problems([EDITOR], {"editor": "/models/instruct-pix2pix"}) == {
        "editor": f"{Path('/models/instruct-pix2pix')} does not exist"
    }
    assert problems([EDITOR], {"editor": tmp_path}) == {
        "editor": f"{tmp_path} lacks model_index.json"
    }
    assert problems([EDITOR], {"editor": "not a hub id!"}) == {
        "editor": "'not a hub id!' is neither a hub id (namespace/name) nor an existing folder"
    }


def test_looks_like_path(tmp_path):
    assert not looks_like_path("timbrooks/instruct-pix2pix")
    assert not looks_like_path("ViT-B-32")
    for value in ("/models/x", "./x", "~/x", "a/b/c", "a\\b", tmp_path, str(tmp_path)):
        assert looks_like_path(value), value


def test_a_name_or_a_file(tmp_path):
    assert check_inputs("paper", [MODEL], {"clip_model": "ViT-B-32"}) == []
    assert problems([MODEL], {"clip_model": "tiny.json"}) == {
        "clip_model": "tiny.json does not exist"
    }
    (tmp_path / "tiny.json").write_text("{}")
    assert check_inputs("paper", [MODEL], {"clip_model": str(tmp_path / "tiny.json")}) == []


def test_imagenet_weights_per_architecture(tmp_path):
    archs = imagenet_weights(lambda ns: ns.get("archs") or {"R": "resnet18", "V": "vit_b"})
    weights = PaperInput(
        "imagenet_weights", FOLDER, "folder", "ImageNet", mapping=True, check=archs
    )
    (tmp_path / "resnet18.safetensors").write_bytes(b"")
    assert problems([weights], {"imagenet_weights": tmp_path}) == {
        "imagenet_weights": "no <timm name>.safetensors (or .pth, .bin) for V (vit_b)"
    }
    (tmp_path / "vit_b").mkdir()
    (tmp_path / "vit_b" / "model.safetensors").write_bytes(b"")  # as the hub stores them
    assert check_inputs("paper", [weights], {"imagenet_weights": tmp_path}) == []
    # only the architectures the notebook will train
    assert check_inputs("paper", [weights], {"imagenet_weights": tmp_path / "vit_b",
                                              "archs": {"V": "model"}}) == []  # fmt: skip
    # a mapping by label or timm name
    file = tmp_path / "resnet18.safetensors"
    assert check_inputs("paper", [weights], {"imagenet_weights": {"R": file, "vit_b": file}}) == []
    assert problems([weights], {"imagenet_weights": {"R": str(file)}}) == {
        "imagenet_weights": "no weights file given for V (vit_b)"
    }


def test_paper_input_kinds_are_checked():
    with pytest.raises(ValueError, match="unknown kind 'directory'"):
        PaperInput("x", "directory", "a folder", "somewhere")


# --- each chapter's declared inputs ---


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapters_declare_their_paper_inputs(chapter):
    inputs = paper_inputs(chapter)
    names = [item.name for item in inputs]
    assert set(REQUIRED[chapter]) <= set(names)
    assert len(set(names)) == len(names)
    notebook = (ROOT / "notebooks" / f"{chapter}.md").read_text()
    for item in inputs:
        # every one is a parameter of the notebook, with a layout and a source
        assert re.search(rf"^{item.name} = ", notebook, re.M), item.name
        assert item.layout and item.source
    assert importlib.import_module("propgrad.chapters.method").PAPER_INPUTS == ()


def _write_kaggle(root: Path) -> tuple[Path, Path]:
    from PIL import Image

    (root / "train").mkdir(parents=True)
    rows = []
    for k, (animal, part, fur) in enumerate(
        [("cat", "train", "dark"), ("dog", "train", "light"), ("cat", "test", "light")]
    ):
        Image.new("RGB", (8, 8)).save(root / "train" / f"{animal}.{k}.jpg")
        rows.append({"file": f"{animal}.{k}.jpg", "split": part, "fur": fur})
    with (root.parent / "fur.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "split", "fur"])
        writer.writeheader()
        writer.writerows(rows)
    return root, root.parent / "fur.csv"


def test_cats_vs_dogs_layout_is_the_readers(tmp_path):
    from propgrad.chapters.cats_vs_dogs.kaggle import cats_dogs_split

    data_dir, fur = _write_kaggle(tmp_path / "kaggle")
    probing = tmp_path / "probing"
    probing.mkdir()
    (probing / "img.JPEG").write_bytes(b"")
    (tmp_path / "words.txt").write_text("cat\ndog\n")
    (tmp_path / "clip.pt").write_bytes(b"")
    namespace = {"data_dir": str(data_dir), "fur_labels": str(fur), "probing_dir": str(probing),
                 "concept_words": str(tmp_path / "words.txt"),
                 "clip_weights": str(tmp_path / "clip.pt"), "clip_model": "ViT-B-32",
                 "editor": "timbrooks/instruct-pix2pix"}  # fmt: skip
    notes = check_inputs("paper", paper_inputs("cats_vs_dogs"), namespace)
    assert [n.split(" = ")[0] for n in notes] == ["editor"]
    assert len(cats_dogs_split(data_dir, fur, "unbiased", "train")) == 2  # the reader agrees
    # what the check catches before the reader would
    (tmp_path / "words.txt").write_text("\n \n")
    (probing / "img.JPEG").unlink()
    (tmp_path / "bad.csv").write_text("name,fur\n")
    namespace.update(fur_labels=str(tmp_path / "bad.csv"), data_dir=str(tmp_path))
    found = problems(paper_inputs("cats_vs_dogs"), namespace)
    assert list(found) == ["data_dir", "fur_labels", "probing_dir", "concept_words"]
    assert found["data_dir"] == f"{tmp_path} lacks train/, train/cat.*, train/dog.*"
    assert found["fur_labels"].startswith("bad.csv lacks the column(s) file,split")


def test_skin_lesions_layout_is_the_readers(tmp_path):
    from PIL import Image

    from propgrad.chapters.skin_lesions.isic import list_isic

    root = tmp_path / "isic"
    (root / "images").mkdir(parents=True)
    (root / "patch_masks").mkdir()
    (root / "metadata.csv").write_text(
        "image_id,diagnosis,colorful_patch\nISIC_1,nevus,1\nISIC_2,melanoma,0\n"
    )
    for name in ("ISIC_1", "ISIC_2"):
        Image.new("RGB", (8, 8)).save(root / "images" / f"{name}.jpg")
    Image.new("L", (8, 8)).save(root / "patch_masks" / "ISIC_1.png")
    weights = tmp_path / "imagenet"
    weights.mkdir()
    for arch in ("resnet18", "efficientnet_b0", "convnext_small", "vit_base_patch16_224"):
        (weights / f"{arch}.safetensors").write_bytes(b"")
    namespace = {"data_dir": str(root), "imagenet_weights": str(weights)}
    assert check_inputs("paper", paper_inputs("skin_lesions"), namespace) == []
    assert len(list_isic(root)) == 2  # the reader agrees
    (weights / "convnext_small.safetensors").unlink()
    assert problems(paper_inputs("skin_lesions"), namespace) == {
        "imagenet_weights": "no <timm name>.safetensors (or .pth, .bin) for ConvNeXt-S "
        "(convnext_small)"
    }
    # other architectures chosen: their weights are needed, not the paper's
    namespace["architectures"] = {
        "ResNet18": "resnet18",
        "ViT-B/16": {"arch": "vit_base_patch16_224"},
    }
    assert check_inputs("paper", paper_inputs("skin_lesions"), namespace) == []
    (root / "metadata.csv").write_text("isic_id,diagnosis\n")
    assert problems(paper_inputs("skin_lesions"), namespace) == {
        "data_dir": "metadata.csv lacks the column(s) image_id,colorful_patch "
        "(its header: isic_id,diagnosis)"
    }


def test_training_dynamics_layout_is_the_readers(tmp_path):
    from test_chapter_training_dynamics_real import write_celeba_fixture

    from propgrad.chapters.training_dynamics.celeba import CelebA
    from propgrad.chapters.training_dynamics.real import PAPER_MODELS

    write_celeba_fixture(tmp_path / "celeba")
    weights = tmp_path / "imagenet"
    weights.mkdir()
    for model in PAPER_MODELS.values():
        (weights / f"{model['arch']}.pth").write_bytes(b"")
    namespace = {"data_dir": str(tmp_path / "celeba"), "imagenet_weights": str(weights),
                 "editor": "timbrooks/instruct-pix2pix"}  # fmt: skip
    assert len(check_inputs("paper", paper_inputs("training_dynamics"), namespace)) == 1
    CelebA(tmp_path / "celeba")  # the reader agrees
    (tmp_path / "celeba" / "list_eval_partition.txt").unlink()
    (weights / "densenet121.pth").unlink()
    found = problems(paper_inputs("training_dynamics"), namespace)
    assert found["data_dir"].endswith("lacks list_eval_partition.txt")
    assert found["imagenet_weights"].endswith("for DenseNet121 (densenet121)")
    # families chosen: only theirs are needed
    namespace.update(families=["ResNet18"], data_dir=str(weights))
    assert list(problems(paper_inputs("training_dynamics"), namespace)) == ["data_dir"]


def test_clip_orientation_layout_is_the_readers(tmp_path):
    from propgrad.chapters.clip_orientation.sweeps import find_recordings

    turntable = tmp_path / "turntable"
    (turntable / "Elephant").mkdir(parents=True)
    (turntable / "giraffe.mp4").write_bytes(b"")
    (turntable / "stegosaurus").mkdir()
    (tmp_path / "frog.obj").write_text("v 0 0 0\n")
    (tmp_path / "clip.pt").write_bytes(b"")
    namespace = {"clip_weights": str(tmp_path / "clip.pt"), "clip_model": "ViT-B-32",
                 "turntable_dir": str(turntable),
                 "frog_mesh": str(tmp_path / "frog.obj")}  # fmt: skip
    assert check_inputs("paper", paper_inputs("clip_orientation"), namespace) == []
    assert len(find_recordings(turntable)) == 3  # the reader agrees
    (turntable / "giraffe.mp4").rename(turntable / "giraffe.txt")
    (tmp_path / "frog.obj").rename(tmp_path / "frog.stl")
    namespace.update(frog_mesh=str(tmp_path / "frog.stl"), clip_model=str(tmp_path / "c.json"))
    assert problems(paper_inputs("clip_orientation"), namespace) == {
        "clip_model": f"{tmp_path / 'c.json'} does not exist",
        "turntable_dir": f"{turntable} has no recording of giraffe",
        "frog_mesh": "frog.stl is not an .off or .obj file",
    }


# --- the notebooks: the paper profile with nothing given stops at once ---


@pytest.mark.notebook
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebook_at_the_paper_profile_names_every_missing_input(chapter, tmp_path):
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = tmp_path / f"{chapter}-out.ipynb"
    with pytest.raises(PapermillExecutionError) as caught:
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{chapter}.ipynb"),
            str(out),
            parameters={"profile": "paper"},
            kernel_name="python3",
            cwd=str(ROOT / "notebooks"),
            progress_bar=False,
        )
    error = caught.value
    assert error.ename == "MissingInputsError"
    message = error.evalue
    lines = message.splitlines()
    assert lines[0].startswith("The paper profile needs ")
    listed = [line.split(" ")[1] for line in lines if line.startswith("- ")]
    assert listed == REQUIRED[chapter]  # one line per missing input, in the chapter's order
    for line in lines:
        if line.startswith("- "):
            assert ": not given. Expected: " in line and ". The paper: " in line
    if chapter in ("cats_vs_dogs", "training_dynamics"):
        assert lines[-1].startswith("Not checked: editor = 'timbrooks/instruct-pix2pix'")
    # it stopped in the first cell after the parameters: nothing later ran
    cells = [c for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]
    failed = next(i for i, c in enumerate(cells) if any(
        o.get("output_type") == "error" for o in c.get("outputs", [])))  # fmt: skip
    assert "check_inputs(profile, PAPER_INPUTS, globals())" in cells[failed].source
    tags = [c.metadata.get("tags", []) for c in cells[:failed]]
    assert "remove-cell" in tags[0] and "parameters" in tags[1]
    assert "injected-parameters" in tags[2] and failed == 3
    assert all(c.get("execution_count") is None for c in cells[failed + 1 :])
