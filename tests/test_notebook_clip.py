"""Run the CLIP orientation chapter and check what it records.

* the smoke profile (seconds): tables with the paper's labels, scores and
  p-values in range, one curve value per rendered angle;
* the paper profile on fixture data in the real layout: a tiny open_clip
  model saved to a local file with its architecture as JSON, a turntable
  folder holding frames for two toys and a video for the third, and a mesh
  file (OBJ);
* the planted bias (``pytest -m slow``, minutes): at the demo profile the toy
  CLIP is lowest near upside-down poses and higher for side views than for
  front and back views. The smoke profile's toy CLIP is too small to learn
  the bias, so this is checked at the demo profile only.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_claims, run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]

OBJECTS = ["Elephant", "Giraffe", "Stegosaurus"]
AXES = ["x", "y", "z"]


def check_tables(record: dict, n_angles: int) -> None:
    assert list(record["table14"]) == OBJECTS
    for row in OBJECTS:
        assert list(record["table14"][row]) == OBJECTS
        for column in OBJECTS:
            assert record["table14"][row][column] >= 0
            assert 0 < record["table14_p"][row][column] <= 1
    assert sorted(record["table15"]) == AXES
    for axis in AXES:
        assert record["table15"][axis] >= 0
        assert 0 < record["table15_p"][axis] <= 1
        assert len(record["rotation_curves"][axis]) == n_angles
        np.testing.assert_allclose(
            record["rotation_angles"][axis], 360 * np.arange(n_angles) / n_angles
        )
        assert all(-1 <= v <= 1 for v in record["rotation_curves"][axis])
    assert set(record["models"]) == {"clip", *OBJECTS, "Frog"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_notebook("clip_orientation", tmp_path_factory.mktemp("clip"))


def test_smoke_records_every_claim(smoke):
    assert_claims(smoke, "clip_orientation", hold=False)
    assert set(smoke["turntable_lowest_angle"]) == set(smoke["side_minus_front"])


def test_smoke_records_the_papers_tables(smoke):
    assert smoke["profile"] == "smoke"
    check_tables(smoke, n_angles=60)
    assert smoke["models"]["Giraffe"] == "mesh camel" and smoke["models"]["Frog"] == "mesh cow"
    assert "toy CLIP" in smoke["models"]["clip"]
    for axis in AXES:
        angles, curve = smoke["rotation_angles"][axis], smoke["rotation_curves"][axis]
        assert smoke["lowest_angle"][axis] == angles[int(np.argmin(curve))]
        assert 0 <= smoke["lowest_angle"][axis] < 360
        assert np.isfinite(smoke["upright_minus_upside_down"][axis])
    assert all(np.isfinite(v) for v in smoke["side_minus_front"].values())


# ----------------------------------------------------------------------------
# the paper branch on fixture data
# ----------------------------------------------------------------------------
TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


def write_obj(path) -> None:
    """A blocky animal: a body box along x and a head box at +x, z up."""
    boxes = [((-0.6, -0.2, -0.2), (0.5, 0.2, 0.25)), ((0.5, -0.15, 0.1), (0.8, 0.15, 0.4))]
    boxes += [
        ((x - 0.06, y - 0.06, -0.6), (x + 0.06, y + 0.06, -0.2))
        for x in (-0.5, 0.4)
        for y in (-0.12, 0.12)
    ]  # legs
    lines, offset = [], 0
    quads = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    for lo, hi in boxes:
        for x in (lo[0], hi[0]):
            for y in (lo[1], hi[1]):
                for z in (lo[2], hi[2]):
                    lines.append(f"v {x} {y} {z}")
        lines += [f"f {' '.join(str(i + offset) for i in q)}" for q in quads]
        offset += 8
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def paper_fixture(tmp_path_factory):
    import open_clip
    import torch

    from propgrad.chapters.clip_orientation.sweeps import load_object_mesh
    from propgrad.chapters.clip_orientation.toy import render_turntable_video

    root = tmp_path_factory.mktemp("clip-paper")
    torch.manual_seed(0)
    (root / "tiny.json").write_text(json.dumps(TINY))
    torch.save(open_clip.CLIP(**TINY).state_dict(), root / "tiny.pt")
    write_obj(root / "frog.obj")
    mesh = load_object_mesh(root / "frog.obj")
    turntable = root / "turntable"
    turntable.mkdir()
    # two toys as folders of frames (wider than high, as a camera records), one as a video
    from propgrad.interventions.render3d import render

    for i, name in enumerate(("elephant", "Stegosaurus")):
        folder = turntable / name
        folder.mkdir()
        for k in range(12):
            frame = render(mesh, [("z", 30.0 * k)], size=(80, 60), color=[0.3 * i + 0.3] * 3)
            frame.save(folder / f"frame_{k + 1}.png")
    render_turntable_video(mesh, turntable / "giraffe.mp4", n_frames=12, size=64)
    return root


def test_paper_profile_on_fixture_data(paper_fixture, tmp_path):
    root = paper_fixture
    record = run_notebook(
        "clip_orientation",
        tmp_path,
        profile="paper",
        clip_weights=str(root / "tiny.pt"),
        clip_model=str(root / "tiny.json"),
        turntable_dir=str(root / "turntable"),
        frog_mesh=str(root / "frog.obj"),
        frog_rotation=[["z", 0.0]],
        n_angles=24,
        n_permutations=99,
        image_size=48,
        tsne_perplexity=5,
    )
    assert record["profile"] == "paper"
    check_tables(record, n_angles=24)
    assert record["models"]["Frog"] == "Frog" and "tiny.json" in record["models"]["clip"]


# ----------------------------------------------------------------------------
# the planted bias, at the demo profile
# ----------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_profile_finds_the_planted_pose_bias(tmp_path):
    demo = run_notebook("clip_orientation", tmp_path, profile="demo")
    check_tables(demo, n_angles=360)
    # upside down (about the long or the viewing axis) scores far below upright ...
    assert demo["upright_minus_upside_down"]["x"] > 0.1
    assert demo["upright_minus_upside_down"]["y"] > 0.1
    # ... and the lowest point lies in the upside-down half of the turn
    assert 90 <= demo["lowest_angle"]["x"] <= 270
    assert 90 <= demo["lowest_angle"]["y"] <= 270
    # side views beat front and back views on the turntable, for every recording
    assert all(v > 0 for v in demo["side_minus_front"].values()), demo["side_minus_front"]
    # every score is significant
    assert all(p < 0.01 for p in demo["table15_p"].values())
    assert all(p < 0.01 for row in demo["table14_p"].values() for p in row.values())
    # every sentence the page states about its results holds (per object, not on average)
    assert_claims(demo, "clip_orientation", hold=True)
