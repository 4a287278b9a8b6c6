"""Tests for the CLIP chapter's library (propgrad.chapters.clip_orientation).

* the paper's numbers and descriptors, the real source's readers (turntable
  folders, mesh files, CLIP configs) and its embedding tasks, on fixture data
  with a tiny random open_clip model;
* the report functions on synthetic similarities whose scores are known;
* the two data sources' shared interface (without training the toy CLIP);
* the cache keys the demo's renders and embeddings are stored under.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from propgrad.chapters.clip_orientation import (
    RecordedOrientation,
    ToyOrientation,
    paper,
    real,
    report,
)
from propgrad.chapters.clip_orientation.sweeps import (
    centre_square,
    find_recordings,
    image_embeddings,
    load_object_mesh,
    turntable_sweeps,
)
from propgrad.chapters.clip_orientation.toy import demo_turntables, render_turntable_video
from propgrad.models.clip import (
    ClipModel,
    clip_architecture,
    descriptor_stats,
    load_clip,
    zero_shot_clip,
)
from propgrad.record import Results
from propgrad.sweep import Sweep

TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 12, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}
OBJECTS = paper.TURNTABLE_OBJECTS


@pytest.fixture(scope="module")
def tiny() -> ClipModel:
    torch.manual_seed(0)
    return load_clip(model_cfg=TINY)


# ----------------------------------------------------------------------------
# the paper's numbers and the real source
# ----------------------------------------------------------------------------
def test_paper_descriptors_are_table13():
    assert list(real.PAPER_DESCRIPTORS) == ["Elephant", "Giraffe", "Stegosaurus", "Frog"]
    assert all(len(texts) == 10 for texts in real.PAPER_DESCRIPTORS.values())
    assert real.PAPER_DESCRIPTORS["Frog"] == paper.TABLE13["3D Frog Model"]
    assert set(paper.TABLE14) == set(paper.TURNTABLE_OBJECTS)
    assert all(set(row) == set(paper.TURNTABLE_OBJECTS) for row in paper.TABLE14.values())
    assert list(paper.TABLE15) == ["x-axis", "y-axis", "z-axis"]


def test_clip_architecture_reads_names_and_json_configs(tmp_path):
    assert clip_architecture("ViT-B-32") == {"model_name": "ViT-B-32"}
    path = tmp_path / "open_clip_config.json"
    path.write_text(json.dumps({"model_cfg": TINY, "preprocess_cfg": {}}))
    assert clip_architecture(path) == {"model_cfg": TINY}
    with pytest.raises(FileNotFoundError, match="architecture config not found"):
        clip_architecture(tmp_path / "missing.json")


def test_obj_meshes_are_read_and_normalised(tmp_path):
    path = tmp_path / "square.obj"
    path.write_text(
        "# a square and a triangle\nv 0 0 0\nv 2 0 0\nv 2 2 0\nv 0 2 0\nv 1 1 3\n"
        "f 1/1 2/2 3/3 4/4\nf -5 -4 -1\n"
    )
    mesh = load_object_mesh(path)
    assert mesh.n_faces == 3 and mesh.n_vertices == 5  # the quad is fanned into two triangles
    assert np.linalg.norm(mesh.vertices, axis=1).max() == pytest.approx(1.0, abs=1e-6)
    turned = load_object_mesh(path, rotation=[("x", 90)])
    assert turned.bounds[1, 1] < 0.9  # z became -y
    from propgrad.meshes import load_mesh

    # the renderer's own loader reads OBJ too (the turntable videos go through it)
    np.testing.assert_allclose(load_mesh(path).vertices, mesh.vertices)
    assert load_mesh(path).metadata["source"] == str(path)
    (tmp_path / "bad.obj").write_text("v 0 0 zero\n")
    with pytest.raises(ValueError, match="bad.obj, line 1"):
        load_object_mesh(tmp_path / "bad.obj")


def test_turntable_folder_layout_and_errors(tmp_path):
    from PIL import Image

    assert centre_square(Image.new("RGB", (80, 60)), 32).size == (32, 32)
    root = tmp_path / "turntable"
    (root / "elephant").mkdir(parents=True)
    for k in range(6):
        Image.new("RGB", (40, 30), (40 * k, 0, 0)).save(root / "elephant" / f"f{k}.png")
    with pytest.raises(FileNotFoundError, match="no turntable recording for 'Giraffe'.*elephant"):
        find_recordings(root)
    sweeps = turntable_sweeps(root, objects=["Elephant"], size=16, stride=2)
    sweep = sweeps["Elephant"]
    assert len(sweep) == 3 and sweep.images[0].size == (16, 16)
    np.testing.assert_allclose(sweep.grid, [0, 120, 240])
    assert sweep.metadata["periodic"] and sweep.metadata["period"] == 360.0
    with pytest.raises(FileNotFoundError, match="turntable folder not found"):
        find_recordings(tmp_path / "nothing")


def test_demo_video_reads_back_as_a_full_turn(tmp_path):
    from propgrad.meshes import Mesh

    tetra = Mesh(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]
    ).normalized()
    path = render_turntable_video(tetra, tmp_path / "toy.mp4", n_frames=10, size=32)
    sweep = turntable_sweeps({"Toy": path}, size=32)["Toy"]
    assert len(sweep) == 10
    np.testing.assert_allclose(sweep.grid, np.arange(10) * 36.0)
    frames = sweep.to_array().astype(float)
    assert frames.std(axis=(1, 2, 3)).min() > 5  # the object is in every frame
    assert np.abs(np.diff(frames, axis=0)).mean() > 0.5  # and it turns


def test_embedding_tasks_run_and_cache(tmp_path, tiny):
    weights = tmp_path / "tiny.pt"
    torch.save(tiny.model.state_dict(), weights)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    jobs = {"x": real.rotation_job("cow", "x", 8, size=32)}
    first = real.embed_sweeps(jobs, weights, config, quick_gelu=False, progress=False)
    assert first["x"].shape == (8, 16)
    np.testing.assert_allclose(np.linalg.norm(first["x"], axis=1), 1.0, atol=1e-5)
    assert real.embed_task.done(
        {"clip": real._clip_spec(weights, config, False), "sweep": jobs["x"]}
    )
    again = real.embed_sweeps(jobs, weights, config, quick_gelu=False, progress=False)
    np.testing.assert_array_equal(first["x"], again["x"])


def test_the_paper_branch_builds_every_sweep_and_loads_clip_once(tmp_path, tiny, monkeypatch):
    from PIL import Image

    import propgrad.models.clip as clip_mod

    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(real, "_CLIPS", {})
    weights = tmp_path / "tiny.pt"
    torch.save(tiny.model.state_dict(), weights)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    root = tmp_path / "turntable"
    for i, name in enumerate(("elephant", "giraffe", "stegosaurus")):
        (root / name).mkdir(parents=True)
        for k in range(4):
            Image.new("RGB", (40, 30), (40 * k, 60 * i, 90)).save(root / name / f"f{k}.png")
    calls = {"load_clip": 0, "turntable_sweeps": 0, "rotation_sweeps": 0}

    def counting(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(clip_mod, "load_clip")
    counting(real, "turntable_sweeps")
    counting(real, "rotation_sweeps")
    source = RecordedOrientation(
        weights, config, quick_gelu=False, turntable_dir=root, mesh="cow", n_angles=6, size=32
    )
    shot = source.zero_shot()
    turntables, rotations, embeddings = source.sweeps()
    assert calls == {"load_clip": 1, "turntable_sweeps": 1, "rotation_sweeps": 1}
    assert source.zero_shot() is shot and real._BUILT == {}
    assert set(embeddings) == {*OBJECTS, "x", "y", "z"}
    assert embeddings["Giraffe"].shape == (4, 16) and embeddings["z"].shape == (6, 16)
    for name, sweep in (("Giraffe", turntables["Giraffe"]), ("y", rotations["y"])):
        expected = image_embeddings(shot, [sweep], cache=False, progress=False)[0]
        np.testing.assert_allclose(embeddings[name], expected, atol=1e-6)


def test_image_embeddings_are_the_embedding_classifiers_outputs(tiny):
    from propgrad.prediction import predict_sweeps

    shot = zero_shot_clip(tiny, {"a": ("toy a", "an a"), "b": ("toy b",)})
    frames = np.random.default_rng(0).integers(0, 256, (6, 40, 40, 3), dtype=np.uint8)
    sweep = Sweep(list(frames), np.arange(6) * 60.0, "angle (degrees)")
    embeddings = image_embeddings(shot, [sweep], progress=False)
    assert embeddings.shape == (1, 6, 16)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=-1), 1.0, atol=1e-5)
    means = predict_sweeps(shot.classifier(), [sweep], softmax=False, progress=False)
    np.testing.assert_allclose(shot.stats(shot.similarities(embeddings)).mean, means, atol=1e-5)


def test_embedding_tasks_keep_their_cache_folder():
    # results computed before the chapter moved here are found again
    assert real.embed_task.name == "propgrad.experiments.clip.embed_task"
    assert real.embed_task.path({"x": 1}).parent.name == "propgrad.experiments.clip.embed_task"


# ----------------------------------------------------------------------------
# the data sources
# ----------------------------------------------------------------------------
def test_the_sources_share_one_interface():
    toy = ToyOrientation("smoke", n_frames=12, n_angles=12, size=32)
    recorded = RecordedOrientation("ViT-B-32.pt", "ViT-B-32", turntable_dir="x", mesh="frog.obj")
    for source in (toy, recorded):
        assert set(source.classes) == {*OBJECTS, paper.ROTATED_OBJECT}
        assert set(source.descriptors) == set(source.classes) == set(source.used_here)
        assert all(len(texts) == 10 for texts in source.descriptors.values())
        assert set(source.models()) == {"clip", *source.classes}
        assert set(source.texts) == set(source.classes)
        assert set(source.notes) == {"views", "turntables", "rotations", "curves", "frog"}
        for name in ("zero_shot", "summary", "training_views", "sweeps"):
            assert callable(getattr(source, name))
    assert toy.kind == "toy" and recorded.kind == "real"
    assert toy.classes["Giraffe"] == "camel" and toy.used_here["Frog"] == "cow mesh"
    assert toy.models() == {
        "clip": "toy CLIP, rendered meshes",
        "Elephant": "mesh elephant",
        "Giraffe": "mesh camel",
        "Stegosaurus": "mesh dino",
        "Frog": "mesh cow",
    }
    assert toy.texts["Frog"] == "Frog texts (cow)" and toy.frog_label == "Frog stand-in"
    assert toy.notes["views"] == "toy CLIP preset 'smoke'"
    assert recorded.description == "CLIP ViT-B-32" and recorded.texts["Frog"] == "Frog texts"
    assert recorded.descriptors["Frog"] == paper.TABLE13["3D Frog Model"]
    assert recorded.training_views() is None
    assert set(recorded.notes.values()) == {None}


def test_the_real_source_says_what_is_missing():
    with pytest.raises(ValueError, match="needs clip_weights"):
        RecordedOrientation(None).zero_shot()
    with pytest.raises(ValueError, match="turntable_dir.*frog_mesh"):
        RecordedOrientation("w.pt").sweeps()


def test_demo_turntables_keep_their_cache_key(tmp_path, monkeypatch):
    # the demo's videos are cached under this key: existing files are used, not re-rendered
    monkeypatch.setenv("PROPGRAD_CACHE", str(tmp_path))
    meshes = {o: m for o, m in ToyOrientation().classes.items() if o in OBJECTS}
    folder = tmp_path / "clip_turntables" / "a08473c3a52d0a67"
    folder.mkdir(parents=True)
    for name in ("elephant", "giraffe", "stegosaurus"):
        (folder / f"{name}.mp4").write_bytes(b"")
    videos = demo_turntables(meshes, n_frames=360, size=224, seed=0)
    assert videos == {o: folder / f"{o.lower()}.mp4" for o in OBJECTS}


# ----------------------------------------------------------------------------
# the report, on synthetic similarities
# ----------------------------------------------------------------------------
class FakeShot:
    """A zero-shot model whose "embeddings" are its similarities with two texts per class."""

    classes = ("elephant", "camel", "dino", "cow")
    text_classes = np.repeat(np.arange(4), 2)

    def similarities(self, embeddings):
        return np.asarray(embeddings, dtype=np.float64)

    def stats(self, similarities):
        return descriptor_stats(similarities, self.text_classes, self.classes)


ANGLES = np.arange(0, 360, 10.0)
CLASSES = {"Elephant": "elephant", "Giraffe": "camel", "Stegosaurus": "dino", "Frog": "cow"}


def _similarities(own: int, curve: np.ndarray, spread: float = 0.0) -> np.ndarray:
    """(N, 8): ``curve`` ± ``spread`` for the two texts of class ``own``, 0.3 elsewhere."""
    sims = np.full((len(curve), 8), 0.3)
    sims[:, 2 * own] = curve + spread
    sims[:, 2 * own + 1] = curve - spread
    return sims


@pytest.fixture(scope="module")
def scores():
    theta = np.radians(ANGLES)
    turn = 0.8 + 0.1 * np.cos(2 * theta)  # highest at the side views 0 and 180
    embeddings = {o: _similarities(i, turn, spread=0.02 * (i + 1)) for i, o in enumerate(OBJECTS)}
    embeddings |= {a: _similarities(3, 0.5 + 0.3 * np.cos(theta)) for a in ("x", "y")}
    embeddings["z"] = _similarities(3, 0.6 + 0.05 * np.cos(2 * theta))
    sweeps = {k: Sweep([np.zeros((2, 2, 3), np.uint8)] * len(ANGLES), ANGLES) for k in embeddings}
    turntables = {o: sweeps[o] for o in OBJECTS}
    rotations = {a: sweeps[a] for a in ("x", "y", "z")}
    return report.score_orientation(
        FakeShot(), CLASSES, turntables, rotations, embeddings, n_permutations=99, seed=0
    )


def _periodic_e(curve: np.ndarray) -> float:
    return float(np.mean(np.abs(np.roll(curve, -1) - np.roll(curve, 1)) / 2))


def test_table14_scores_each_recording_against_each_class(scores):
    results = Results(None)
    table, p_values = report.table14(scores, results=results)
    turn = 0.8 + 0.1 * np.cos(2 * np.radians(ANGLES))
    for o in OBJECTS:
        assert list(table[o]) == list(OBJECTS)
        assert table[o][o] == pytest.approx(_periodic_e(turn), rel=1e-12)
        assert p_values[o][o] == pytest.approx(0.01)  # every shuffle moves less
        for c in OBJECTS:
            if c != o:
                assert table[o][c] == 0.0 and p_values[o][c] == 1.0  # a flat curve
    assert results["table14"] == table and results["table14_p"] == p_values


def test_table15_has_the_papers_labels_and_records_the_curves(scores):
    results = Results(None)
    table = report.table15(scores, results=results)
    assert list(table) == ["x-axis", "y-axis", "z-axis"]
    assert set(table["x-axis"]) == {paper.TABLE15_COLUMN, "p"}
    theta = np.radians(ANGLES)
    assert table["x-axis"][paper.TABLE15_COLUMN] == pytest.approx(
        _periodic_e(0.5 + 0.3 * np.cos(theta)), rel=1e-12
    )
    assert results["table15"]["z"] == pytest.approx(
        _periodic_e(0.6 + 0.05 * np.cos(2 * theta)), rel=1e-12
    )
    assert set(results["table15_p"]) == {"x", "y", "z"}
    np.testing.assert_allclose(results["rotation_angles"]["y"], ANGLES)
    np.testing.assert_allclose(results["rotation_curves"]["x"], 0.5 + 0.3 * np.cos(theta))


def test_orientation_summary_finds_the_planted_pattern(scores):
    results = Results(None)
    summary = report.orientation_summary(scores, results=results)
    near = np.cos(np.radians(np.arange(-30, 31, 10)))  # the frames within 30 degrees
    near2 = np.cos(2 * np.radians(np.arange(-30, 31, 10)))
    for o in OBJECTS:  # 0.1 cos(2 theta): +near2 at the sides, -near2 at front and back
        assert results["side_minus_front"][o] == pytest.approx(0.2 * near2.mean(), rel=1e-12)
        assert results["turntable_lowest_angle"][o] == 90.0
    for a in ("x", "y"):
        assert results["upright_minus_upside_down"][a] == pytest.approx(0.6 * near.mean())
        assert results["lowest_angle"][a] == 180.0
    assert results["upright_minus_upside_down"]["z"] == pytest.approx(0.0, abs=1e-12)
    assert results["lowest_angle"]["z"] == 90.0
    assert list(summary.index) == [
        *(f"{o} turntable" for o in OBJECTS),
        "x axis",
        "y axis",
        "z axis",
    ]
    assert summary.loc["x axis", "lowest at (degrees)"] == 180.0
    assert np.isnan(summary.loc["Elephant turntable", "lowest at (degrees)"])


def test_text_spread_is_the_std_over_a_class_texts(scores):
    results = Results(None)
    spread = report.text_spread(scores, results=results)
    # the own class's two texts differ by 2 * spread (std = spread), the others not at all
    for i, o in enumerate(OBJECTS):
        assert spread[o] == pytest.approx(0.02 * (i + 1) / 3, rel=1e-12)
    assert results["turntable_text_std"] == spread


def test_table13_and_the_models_record():
    results = Results(None)
    data = ToyOrientation("smoke")
    table = report.table13(data, results=results)
    assert list(table.index) == ["Toy Elephant", "Toy Giraffe", "Toy Stegosaurus", "3D Frog Model"]
    assert table.loc["Toy Giraffe", "used here"] == "camel mesh"
    assert table.loc["3D Frog Model", "descriptors (paper, Table 13)"].startswith("frog model, ")
    assert table.loc["Toy Giraffe", "its descriptors"].startswith("toy camel, camel, ")
    assert results["models"] == data.models()


def test_the_report_feeds_the_claims(scores):
    from propgrad.chapters.clip_orientation.claims import CLAIMS
    from propgrad.claims import check_claims

    results = Results(None, alpha=0.01)
    report.table14(scores, results=results)
    report.table15(scores, results=results)
    report.orientation_summary(scores, results=results)
    checked = {i: c.holds for i, c in check_claims(CLAIMS, results, glue=False).items()}
    assert checked["side_views_score_highest_on_the_turntable"]
    assert checked["upside_down_drops_most"]
    assert checked["vertical_turn_dips_at_front_and_back"]
    assert checked["own_class_moves_least"] is False  # here the own class moves most
