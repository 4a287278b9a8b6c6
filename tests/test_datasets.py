from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from propgrad.chapters.cats_vs_dogs.kaggle import cats_dogs_split

ROWS = [
    ("cat.0.jpg", "train", "dark"),
    ("cat.1.jpg", "train", "light"),
    ("dog.0.jpg", "train", "dark"),
    ("dog.1.jpg", "train", "light"),
    ("cat.2.jpg", "test", "dark"),
    ("dog.2.jpg", "test", "light"),
]


@pytest.fixture()
def kaggle(tmp_path):
    (tmp_path / "train").mkdir()
    for name, _, _ in ROWS:
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "train" / name)
    csv = tmp_path / "fur.csv"
    csv.write_text("file,split,fur\n" + "\n".join(",".join(r) for r in ROWS) + "\n")
    return tmp_path, csv


def _names(items):
    return [(i.path.name, i.label, i.fur) for i in items]


def test_splits_select_the_planted_correlation(kaggle):
    root, csv = kaggle
    assert len(cats_dogs_split(root, csv, "unbiased", "train")) == 4
    assert _names(cats_dogs_split(root, csv, "dark-cats", "train")) == [
        ("cat.0.jpg", 0, "dark"),
        ("dog.1.jpg", 1, "light"),
    ]
    assert _names(cats_dogs_split(root, csv, "dark-dogs", "train")) == [
        ("cat.1.jpg", 0, "light"),
        ("dog.0.jpg", 1, "dark"),
    ]
    assert _names(cats_dogs_split(root, csv, "dark-cats", "test")) == [
        ("cat.2.jpg", 0, "dark"),
        ("dog.2.jpg", 1, "light"),
    ]


def test_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="Kaggle Dogs-vs-Cats layout"):
        cats_dogs_split(tmp_path / "nope", tmp_path / "fur.csv", "unbiased")
    with pytest.raises(FileNotFoundError, match="no 'train' folder"):
        cats_dogs_split(tmp_path, tmp_path / "fur.csv", "unbiased")


def test_missing_csv_and_images(kaggle):
    root, csv = kaggle
    with pytest.raises(FileNotFoundError, match="fur-label CSV not found"):
        cats_dogs_split(root, root / "other.csv", "unbiased")
    (root / "train" / "cat.0.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 image\(s\) listed .*cat\.0\.jpg"):
        cats_dogs_split(root, csv, "unbiased")


def test_bad_arguments_and_rows(kaggle):
    root, csv = kaggle
    with pytest.raises(ValueError, match="unknown split"):
        cats_dogs_split(root, csv, "dark-birds")
    with pytest.raises(ValueError, match="part must be"):
        cats_dogs_split(root, csv, "unbiased", "val")
    csv.write_text("file,split,fur\ncat.0.jpg,train,grey\n")
    with pytest.raises(ValueError, match="fur must be 'dark' or 'light'"):
        cats_dogs_split(root, csv, "unbiased")
    csv.write_text("file,fur\ncat.0.jpg,dark\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['split'\]"):
        cats_dogs_split(root, csv, "unbiased")
