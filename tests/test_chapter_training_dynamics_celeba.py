import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from propgrad.chapters.training_dynamics import celeba as cb

NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes "
    "No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling "
    "Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()
YOUNG = NAMES.index("Young")
GREY = NAMES.index("Gray_Hair")
MAKEUP = NAMES.index("Heavy_Makeup")

# 14 images: partition 0 (train) gets 1..8, 1 (val) gets 9..10, 2 (test) gets 11..14
PARTITION = {i: 0 if i <= 8 else (1 if i <= 10 else 2) for i in range(1, 15)}
YOUNG_IDS = {1, 2, 3, 4, 5, 9, 11, 12}  # train: 5 young, 3 not; val: 1/1; test: 2/2


def _values(i: int) -> list[int]:
    values = [1 if (i * 7 + k) % 3 == 0 else -1 for k in range(40)]
    values[YOUNG] = 1 if i in YOUNG_IDS else -1
    values[GREY] = -1 if i in YOUNG_IDS else 1
    values[MAKEUP] = 1 if i in (2, 11) else -1
    return values


def _attr_line(file: str, values: list[int]) -> str:
    # the official file pads positive values, giving double spaces
    return file + " " + " ".join(f"{v:2d}" for v in values)


def write_celeba(root: Path, n: int = 14, *, attr_lines=None, header=None, partition_lines=None):
    (root / cb.IMAGE_FOLDER).mkdir(parents=True, exist_ok=True)
    files = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for i, file in enumerate(files, start=1):
        colour = (20 * i % 256, 100, 200)
        Image.new("RGB", (8, 10), colour).save(root / cb.IMAGE_FOLDER / file, quality=90)
    lines = [
        str(n) if attr_lines is None else str(len(attr_lines)),
        header or " ".join(NAMES) + " ",
    ]
    if attr_lines is None:
        attr_lines = [_attr_line(f, _values(i)) for i, f in enumerate(files, start=1)]
    (root / cb.ATTRIBUTE_FILE).write_text("\n".join(lines + attr_lines) + "\n")
    if partition_lines is None:
        partition_lines = [f"{f} {PARTITION[i]}" for i, f in enumerate(files, start=1)]
    (root / cb.PARTITION_FILE).write_text("\n".join(partition_lines) + "\n")
    return files


@pytest.fixture
def root(tmp_path):
    write_celeba(tmp_path / "celeba")
    return tmp_path / "celeba"


def test_parse_attributes_and_partition(root):
    attrs = cb.read_celeba_attributes(root / cb.ATTRIBUTE_FILE)
    assert attrs.names == tuple(NAMES) and len(attrs.files) == 14
    assert attrs.values.shape == (14, 40) and attrs.values.dtype == np.int8
    assert set(np.unique(attrs.values)) == {-1, 1}
    assert attrs.files[0] == "000001.jpg" and attrs.row("000003.jpg") == 2
    np.testing.assert_array_equal(attrs.values[4], _values(5))
    young = attrs.column("Young")
    assert young.dtype == bool and young.sum() == len(YOUNG_IDS)
    part = cb.read_celeba_partition(root / cb.PARTITION_FILE)
    assert list(part)[:2] == ["000001.jpg", "000002.jpg"]
    assert part["000008.jpg"] == "train" and part["000009.jpg"] == "val"
    assert part["000014.jpg"] == "test"


def test_attribute_lookup(root):
    data = cb.CelebA(root)
    got = data.attributes_of("000002.jpg", ["Gray_Hair", "Heavy_Makeup", "Young"])
    assert got == {"Gray_Hair": False, "Heavy_Makeup": True, "Young": True}
    assert data.attributes_of("000007.jpg", ["Gray_Hair"]) == {"Gray_Hair": True}
    everything = data.attributes_of("000001.jpg")
    assert list(everything) == NAMES
    with pytest.raises(KeyError, match="999999.jpg"):
        data.attributes_of("999999.jpg")
    with pytest.raises(ValueError, match="unknown attribute 'Grey_Hair'"):
        data.attributes_of("000001.jpg", ["Grey_Hair"])
    image = data.open_image("000003.jpg")
    assert image.mode == "RGB" and image.size == (8, 10)
    with pytest.raises(FileNotFoundError, match="999999.jpg"):
        data.open_image("999999.jpg")


def test_young_split_is_balanced_and_deterministic(root):
    data = cb.CelebA(root)
    train = data.young_split("train")
    assert len(train) == 6  # 3 not young limit the balanced size
    assert [im.label for im in train] == [0, 1, 0, 1, 0, 1]
    assert all(im.partition == "train" for im in train)
    for im in train:
        assert im.path == root / cb.IMAGE_FOLDER / im.file and im.path.is_file()
        assert im.label == int(data.attributes_of(im.file, ["Young"])["Young"])
        assert data.partition[im.file] == "train"
    not_young = {im.file for im in train if im.label == 0}
    assert not_young == {"000006.jpg", "000007.jpg", "000008.jpg"}
    assert [im.file for im in data.young_split("train", seed=0)] == [im.file for im in train]
    capped = data.young_split(0, n_per_class=2, seed=1)
    assert len(capped) == 4 and [im.label for im in capped] == [0, 1, 0, 1]
    seeds = {tuple(im.file for im in data.young_split("train", 2, seed=s)) for s in range(8)}
    assert len(seeds) > 1  # the seed changes the selection
    test = cb.celeba_young_split(root, "test")
    assert sorted(im.file for im in test) == [
        "000011.jpg",
        "000012.jpg",
        "000013.jpg",
        "000014.jpg",
    ]
    assert len(data.young_split("val")) == len(data.young_split(1)) == 2
    assert len(data.young_split("validation")) == 2


def test_torchvision_style_folder_and_tilde(tmp_path, monkeypatch):
    write_celeba(tmp_path / "celeba")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert len(cb.CelebA("~/celeba").young_split("test")) == 4


def test_missing_folders_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CelebA folder not found: .*nowhere"):
        cb.CelebA(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no 'img_align_celeba' folder in .*empty"):
        cb.CelebA(tmp_path / "empty")
    root = tmp_path / "noattr"
    write_celeba(root)
    (root / cb.ATTRIBUTE_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="list_attr_celeba.txt not found in .*noattr"):
        cb.CelebA(root)
    (root / "list_attr_celeba.csv").write_text("image_id,Young\n")
    with pytest.raises(FileNotFoundError, match="found list_attr_celeba.csv, a CSV variant"):
        cb.CelebA(root)
    root = tmp_path / "nopart"
    write_celeba(root)
    (root / cb.PARTITION_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="list_eval_partition.txt not found in"):
        cb.CelebA(root)
    with pytest.raises(FileNotFoundError, match="attribute file not found"):
        cb.read_celeba_attributes(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError, match="partition file not found"):
        cb.read_celeba_partition(tmp_path / "x.txt")


def _attr_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "attr.txt"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        cb.read_celeba_attributes(path)
    return str(info.value)


def test_malformed_attribute_files(tmp_path):
    header = " ".join(NAMES)
    good = [_attr_line(f"{i:06d}.jpg", _values(i)) for i in (1, 2)]
    msg = _attr_error(tmp_path, "")
    assert "attr.txt:1: expected the number of images" in msg
    msg = _attr_error(tmp_path, "two\n" + header + "\n")
    assert re.search(r"attr.txt:1: expected the number of images, got 'two'", msg)
    msg = _attr_error(tmp_path, "2\n")
    assert "attr.txt:2: missing the header" in msg
    msg = _attr_error(tmp_path, "2\n" + " ".join(NAMES[:-1]) + "\n" + "\n".join(good))
    assert "attr.txt:2: malformed header: expected 40 attribute names, found 39" in msg
    msg = _attr_error(tmp_path, "2\n" + " ".join([*NAMES[:-1], "Male"]) + "\n" + "\n".join(good))
    assert "duplicated attribute names ['Male']" in msg
    msg = _attr_error(tmp_path, "2\n" + " ".join([*NAMES[:-1], "Old"]) + "\n" + "\n".join(good))
    assert "attr.txt:2: the header has no 'Young' attribute" in msg
    short = good[0].rsplit(" ", 1)[0]
    msg = _attr_error(tmp_path, "2\n" + header + "\n" + good[0] + "\n" + short + "\n")
    assert "attr.txt:4: expected a file name and 40 values, found 40 fields" in msg
    bad = good[1][:-2] + " 0"
    msg = _attr_error(tmp_path, "2\n" + header + "\n" + good[0] + "\n" + bad + "\n")
    assert "attr.txt:4: attribute values must be 1 or -1, got '0' for 000002.jpg" in msg
    msg = _attr_error(tmp_path, "2\n" + header + "\n" + good[0] + "\n" + good[0] + "\n")
    assert "attr.txt:4: the file '000001.jpg' is listed again" in msg
    msg = _attr_error(tmp_path, "3\n" + header + "\n" + "\n".join(good) + "\n")
    assert "attr.txt:1: declares 3 images but 2 lines follow the header" in msg
    # blank lines (e.g. a trailing one) are fine
    path = tmp_path / "ok.txt"
    path.write_text("2\n" + header + "\n" + "\n".join(good) + "\n\n")
    assert cb.read_celeba_attributes(path).files == ("000001.jpg", "000002.jpg")


def test_malformed_partition_files(tmp_path):
    path = tmp_path / "part.txt"
    path.write_text("000001.jpg 0\n000002.jpg 3\n")
    with pytest.raises(ValueError, match=r"part.txt:2: expected '<file> <0\|1\|2>', got"):
        cb.read_celeba_partition(path)
    path.write_text("000001.jpg 0\n000002.jpg\n")
    with pytest.raises(ValueError, match="part.txt:2: expected"):
        cb.read_celeba_partition(path)
    path.write_text("000001.jpg 0\n000001.jpg 2\n")
    with pytest.raises(ValueError, match="part.txt:2: the file '000001.jpg' is listed again"):
        cb.read_celeba_partition(path)
    path.write_text("\n")
    with pytest.raises(ValueError, match="lists no images"):
        cb.read_celeba_partition(path)


def test_split_errors(tmp_path, root):
    data = cb.CelebA(root)
    with pytest.raises(ValueError, match="too few images .* 'train' partition: 5 young and 3 not"):
        data.young_split("train", n_per_class=4)
    with pytest.raises(ValueError, match="partition must be one of"):
        data.young_split("holdout")
    with pytest.raises(ValueError, match="partition must be one of"):
        data.young_split(3)
    with pytest.raises(ValueError, match="n_per_class must be at least 1"):
        data.young_split("train", n_per_class=0)
    with pytest.raises(ValueError, match="n_per_class must be an integer"):
        data.young_split("train", n_per_class=1.5)
    # a class missing entirely from a partition
    only_young = tmp_path / "young"
    files = write_celeba(only_young, 4)
    (only_young / cb.PARTITION_FILE).write_text(f"{files[0]} 0\n{files[1]} 0\n")
    with pytest.raises(ValueError, match="too few images .* 2 young and 0 not young"):
        cb.CelebA(only_young).young_split("train")
    # a listed image missing from the folder
    (root / cb.IMAGE_FOLDER / "000006.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing from .*img_align_celeba, e.g. \['000006"):
        data.young_split("train")
    assert len(data.young_split("train", check_images=False)) == 6
    # the partition names an image the attribute file lacks
    extra = tmp_path / "extra"
    files = write_celeba(extra, 4)
    (extra / cb.PARTITION_FILE).write_text(f"{files[0]} 0\n777777.jpg 0\n")
    with pytest.raises(ValueError, match=r"not listed in .*list_attr_celeba.txt, e.g. \['777777"):
        cb.CelebA(extra).young_split("train")
