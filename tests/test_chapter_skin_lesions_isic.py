"""The skin-lesion chapter's ISIC reader: folder checks, the two splits, images and masks."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from propgrad.chapters.skin_lesions import isic
from propgrad.interventions.designed import alpha_blend_sweep

N_MEL, N_NEVI, N_PATCH = 10, 10, 10  # clean melanomas, clean nevi, patch nevi


def _write_folder(root: Path, rows=None, *, masks=True, image_size=(12, 10)) -> Path:
    """A tiny ISIC folder in the real layout; returns the root."""
    (root / "images").mkdir(parents=True)
    (root / "patch_masks").mkdir()
    rng = np.random.default_rng(0)
    if rows is None:
        rows = (
            [(f"ISIC_{i:07d}", "melanoma", 0) for i in range(N_MEL)]
            + [(f"ISIC_{100 + i:07d}", "nevus", 0) for i in range(N_NEVI)]
            + [(f"ISIC_{200 + i:07d}", "Nevus ", 1) for i in range(N_PATCH)]
            + [("ISIC_0000300", "melanoma", 1)]  # a melanoma with a patch: never sampled
        )
    with (root / "metadata.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "diagnosis", "colorful_patch", "age_approx"])
        for image_id, diagnosis, patch in rows:
            writer.writerow([image_id, diagnosis, patch, 30])
    for i, (image_id, _, patch) in enumerate(rows):
        pixels = rng.integers(0, 255, size=(image_size[1], image_size[0], 3), dtype=np.uint8)
        suffix = ".png" if i % 2 else ".jpg"
        Image.fromarray(pixels).save(root / "images" / f"{image_id}{suffix}")
        if patch and masks:
            mask = np.zeros((image_size[1], image_size[0]), dtype=np.uint8)
            mask[2:6, 3:8] = 255 if i % 3 else 1  # 0/255 and 0/1 masks both occur
            Image.fromarray(mask, mode="L").save(root / "patch_masks" / f"{image_id}.png")
    return root


@pytest.fixture
def root(tmp_path):
    return _write_folder(tmp_path / "isic")


def test_list_isic(root):
    records = isic.list_isic(root)
    assert len(records) == N_MEL + N_NEVI + N_PATCH + 1
    first = records[0]
    assert first.image_id == "ISIC_0000000" and first.label == 1 and first.diagnosis == "melanoma"
    assert first.path.suffix == ".jpg" and first.mask_path is None and not first.colorful_patch
    patch = [r for r in records if r.colorful_patch]
    assert len(patch) == N_PATCH + 1
    assert all(r.mask_path is not None and r.mask_path.is_file() for r in patch)
    assert {r.diagnosis for r in records} == {"nevus", "melanoma"}  # "Nevus " is normalised


def test_reserved_patches_and_masks(root):
    reserved = isic.isic_reserved_patches(root, n_reserved=3, seed=1)
    assert len(reserved) == 3 and all(r.colorful_patch for r in reserved)
    assert reserved == isic.isic_reserved_patches(root, n_reserved=3, seed=1)
    assert reserved != isic.isic_reserved_patches(root, n_reserved=3, seed=2)
    for record in reserved:
        rgb, mask = isic.load_isic_patch(record)
        assert rgb.shape == (10, 12, 3) and rgb.dtype == np.uint8
        assert mask.shape == (10, 12) and mask.dtype == np.float64
        assert mask.max() == 1.0 and mask.min() == 0.0 and mask.sum() == 20  # 0/1 or 0/255
        rgb, mask = isic.load_isic_patch(record, size=16)
        assert rgb.shape == (16, 16, 3) and mask.shape == (16, 16)
        assert 0.0 <= mask.min() and mask.max() <= 1.0
    # the pair plugs straight into the alpha-blend intervention
    melanoma = [r for r in isic.list_isic(root) if r.label == 1][0]
    target = isic.load_isic_image(melanoma, 16)
    sweep = alpha_blend_sweep(target, rgb, mask, alphas=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(sweep.to_array()[0], target)
    with pytest.raises(ValueError, match="not a patch image"):
        isic.load_isic_patch_mask(melanoma)
    with pytest.raises(ValueError, match="too few patch images"):
        isic.isic_reserved_patches(root, n_reserved=50)


@pytest.mark.parametrize("split", isic.ISIC_SPLITS)
def test_split_rules(root, split):
    s = isic.isic_split(root, split, 4, 2, n_reserved=2, seed=3)
    assert s.name == split and len(s.reserved) == 2
    reserved = {r.image_id for r in s.reserved}
    for part, n in (("train", 4), ("test", 2)):
        records = s.train if part == "train" else s.test
        assert np.bincount(s.labels(part)).tolist() == [n, n]
        patched = s.has_patch(part)
        labels = s.labels(part)
        assert not patched[labels == 1].any()  # melanomas never with patches
        expected = 0 if split == "unbiased" else n // 2
        assert patched[labels == 0].sum() == expected
        assert not reserved & {r.image_id for r in records}
        assert len({r.image_id for r in records}) == 2 * n
    assert not {r.image_id for r in s.train} & {r.image_id for r in s.test}
    again = isic.isic_split(root, split, 4, 2, n_reserved=2, seed=3)
    assert again.train == s.train and again.test == s.test
    other = isic.isic_split(root, split, 4, 2, n_reserved=2, seed=4)
    assert other.train != s.train
    x = isic.load_isic_images(s.test, 8)
    assert x.shape == (4, 8, 8, 3) and x.dtype == np.uint8


def test_test_parts_never_overlap_any_training_part(root):
    splits = {
        name: isic.isic_split(root, name, 4, 3, n_reserved=2, seed=0) for name in isic.ISIC_SPLITS
    }
    for train_name in isic.ISIC_SPLITS:
        train_ids = {r.image_id for r in splits[train_name].train}
        for test_name in isic.ISIC_SPLITS:
            assert not train_ids & {r.image_id for r in splits[test_name].test}
    # a record list works as well as the folder
    records = isic.list_isic(root)
    assert isic.isic_split(records, "biased", 4, 3, n_reserved=2).test == splits["biased"].test


def test_too_few_images(root):
    with pytest.raises(ValueError, match="too few melanomas without patches"):
        isic.isic_split(root, "unbiased", 9, 2, n_reserved=0)
    with pytest.raises(ValueError, match=r"too few nevi with patches \(not reserved\)"):
        isic.isic_split(root, "biased", 8, 2, n_reserved=7)
    with pytest.raises(ValueError, match="unknown split"):
        isic.isic_split(root, "dark-cats", 1, 1)
    with pytest.raises(ValueError, match="n_train_per_class must be"):
        isic.isic_split(root, "biased", -1, 1)


def test_missing_root_csv_images_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="ISIC folder not found.*metadata.csv"):
        isic.list_isic(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="metadata CSV not found.*image_id,diagnosis"):
        isic.list_isic(tmp_path / "empty")
    (tmp_path / "empty" / "metadata.csv").write_text("image_id,diagnosis,colorful_patch\n")
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        isic.list_isic(tmp_path / "empty")
    (tmp_path / "empty" / "images").mkdir()
    with pytest.raises(ValueError, match="lists no images"):
        isic.list_isic(tmp_path / "empty")


def test_csv_errors(tmp_path):
    root = _write_folder(tmp_path / "a", [("ISIC_1", "nevus", 0)])
    (root / "metadata.csv").write_text("isic_id,diagnosis\nISIC_1,nevus\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['image_id', 'colorful_patch'\]"):
        isic.list_isic(root)
    root = _write_folder(
        tmp_path / "b", [("ISIC_1", "nevus", 0), ("ISIC_2", "basal cell carcinoma", 0)]
    )
    with pytest.raises(
        ValueError, match=r"metadata.csv:3: unknown diagnosis 'basal cell carcinoma'"
    ):
        isic.list_isic(root)
    assert len(isic.list_isic(root, skip_other_diagnoses=True)) == 1
    root = _write_folder(tmp_path / "c", [("ISIC_1", "nevus", "maybe")])
    with pytest.raises(ValueError, match="colorful_patch must be 0 or 1, got 'maybe'"):
        isic.list_isic(root)
    root = _write_folder(tmp_path / "d", [("ISIC_1", "nevus", 0), ("ISIC_1", "nevus", 0)])
    with pytest.raises(ValueError, match="listed twice"):
        isic.list_isic(root)


def test_missing_image_and_mask(tmp_path):
    root = _write_folder(tmp_path / "a")
    (root / "images" / "ISIC_0000101.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 image\(s\) listed .* missing .*ISIC_0000101"):
        isic.list_isic(root)
    root = _write_folder(tmp_path / "b")
    (root / "patch_masks" / "ISIC_0000203.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"no mask in .*patch_masks.*ISIC_0000203"):
        isic.list_isic(root)
    root = _write_folder(tmp_path / "c", masks=False)
    with pytest.raises(FileNotFoundError, match=r"11 patch image\(s\) have no mask"):
        isic.list_isic(root)


def test_mask_size_mismatch(tmp_path):
    root = _write_folder(tmp_path / "a", [("ISIC_1", "nevus", 1)])
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(root / "patch_masks" / "ISIC_1.png")
    (record,) = isic.list_isic(root)
    with pytest.raises(ValueError, match="masks must match their images"):
        isic.load_isic_patch_mask(record)


def test_largest_split_sizes_fit_both_splits(root):
    n_train, n_test = isic.largest_split_sizes(root, n_reserved=3)
    assert (n_train, n_test) == (8, 2)  # ten clean melanomas and nevi, a fifth for testing
    for split in isic.ISIC_SPLITS:
        s = isic.isic_split(root, split, n_train, n_test, n_reserved=3)
        assert len(s.train) == 2 * n_train and len(s.test) == 2 * n_test
    n_train, n_test = isic.largest_split_sizes(root, n_reserved=3, test_fraction=0.5)
    assert n_train == n_test == 5
    with pytest.raises(ValueError, match="test_fraction"):
        isic.largest_split_sizes(root, n_reserved=3, test_fraction=1.0)


def test_largest_split_sizes_follow_the_reservation_seed():
    # patch images of both diagnoses: which ones are reserved (and so how many patch nevi
    # are left) depends on the seed, and the sizes must fit the split drawn with that seed
    def record(i, label, patch):
        return isic.IsicImage(f"ISIC_{i:07d}", Path(f"{i}.jpg"), label, "x", patch, Path("m.png"))

    records = [record(i, 1, False) for i in range(8)] + [record(8 + i, 0, False) for i in range(8)]
    records += [record(16 + i, int(i >= 6), True) for i in range(10)]  # 6 patch nevi, 4 melanomas
    fitted = set()
    for seed in range(20):
        sizes = isic.largest_split_sizes(records, n_reserved=3, seed=seed)
        fitted.add(sizes)
        for split in isic.ISIC_SPLITS:
            s = isic.isic_split(records, split, *sizes, n_reserved=3, seed=seed)
            assert len(s.train) == 2 * sizes[0] and len(s.test) == 2 * sizes[1]
    assert len(fitted) > 1  # the seed does change what fits
