"""Tests for propgrad.meshes: the OFF/COFF reader, rotations, canonical poses."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from propgrad.meshes import (
    CANONICAL_POSES,
    MESH_NAMES,
    Mesh,
    canonical_rotation,
    load_mesh,
    read_off,
    rotation_matrix,
)

# vertex and face counts from shared/assets/meshes/README.md
README_COUNTS = {
    "elephant": (2775, 5558),
    "camel": (9770, 19536),
    "dino": (3916, 7828),
    "cow": (2904, 5804),
    "lion": (7529, 14859),
    "bear": (13826, 27648),
    "pig": (468, 891),
}


def require_mesh(name: str) -> None:
    """Skip (or fail with PROPGRAD_REQUIRE_ASSETS=1) when a mesh file is not local."""
    from propgrad.assets import ASSETS, asset_is_local

    key = f"meshes/{name}"
    if key in ASSETS and asset_is_local(key):
        return
    folders = [p for p in os.environ.get("PROPGRAD_ASSETS", "").split(os.pathsep) if p]
    if any(os.path.isfile(os.path.join(p, "meshes", f"{name}.off")) for p in folders):
        return
    reason = f"mesh {name!r} not available locally (set PROPGRAD_ASSETS to shared/assets)"
    if os.environ.get("PROPGRAD_REQUIRE_ASSETS") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def write(tmp_path, text, name="m.off"):
    path = tmp_path / name
    path.write_text(text)
    return path


def cube() -> Mesh:
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [(a, b, c) for a, b, c, d in quads] + [(a, c, d) for a, b, c, d in quads]
    return Mesh(v, faces, name="cube")


# ----------------------------------------------------------------------------
# reading OFF / COFF
# ----------------------------------------------------------------------------
def test_read_plain_off_with_comments_blank_lines_and_polygons(tmp_path):
    text = """OFF
# a unit square, a pentagon fan and a triangle
6 3 0

0 0 0
1 0 0
1 1 0   # trailing comment
0 1 0
0.5 1.5 0
2 0 0
4  0 1 2 3
5 0 1 2 4 3
3 1 5 2
"""
    mesh = read_off(write(tmp_path, text))
    assert mesh.name == "m"
    assert mesh.vertices.dtype == np.float32 and mesh.vertices.shape == (6, 3)
    assert mesh.faces.dtype == np.int32
    # the quad gives 2 triangles, the pentagon 3, the triangle 1: fans from the first vertex
    assert mesh.faces.tolist() == [
        [0, 1, 2],
        [0, 2, 3],
        [0, 1, 2],
        [0, 2, 4],
        [0, 4, 3],
        [1, 5, 2],
    ]
    assert mesh.colors is None


def test_read_counts_on_header_line_and_face_colours_ignored(tmp_path):
    text = "OFF 3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2 255 0 0\n"
    mesh = read_off(write(tmp_path, text), name="tri")
    assert mesh.name == "tri" and mesh.faces.tolist() == [[0, 1, 2]]


def test_read_coff_colours_integer_and_float(tmp_path):
    ints = "COFF\n3 1 0\n0 0 0 255 0 0 255\n1 0 0 0 255 0 255\n0 1 0 0 0 51 255\n3 0 1 2\n"
    mesh = read_off(write(tmp_path, ints))
    assert mesh.colors.dtype == np.float32 and mesh.colors.shape == (3, 4)
    np.testing.assert_allclose(mesh.colors[:, :3], [[1, 0, 0], [0, 1, 0], [0, 0, 0.2]], atol=1e-7)
    floats = "COFF\n3 1 0\n0 0 0 1 0 0 1\n1 0 0 0 0.5 0 1\n0 1 0 0 0 1 0.5\n3 0 1 2\n"
    mesh = read_off(write(tmp_path, floats, "f.off"))
    np.testing.assert_allclose(mesh.colors[1], [0, 0.5, 0, 1])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("PLY\n3 1 0\n", r"line 1: expected the header OFF or COFF, got 'PLY'"),
        ("OFF\n3\n", r"line 2: expected 'n_vertices n_faces n_edges'"),
        ("OFF\nthree 1 0\n", r"line 2: cannot read the vertex and face counts"),
        ("OFF\n3 1 0\n0 0 0\n1 0\n0 1 0\n3 0 1 2\n", r"line 4: a vertex line needs 3 numbers"),
        ("OFF\n3 1 0\n0 0 0\n1 x 0\n0 1 0\n3 0 1 2\n", r"line 4: cannot read a vertex"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", r"line 6: vertex index 7 is out of range"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2\n", r"line 6: the face announces 4 vertices"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n2 0 1\n", r"line 6: a face needs at least 3 vertices"),
        ("OFF\n3 2 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", r"ends after 1 of the 2 face lines"),
        ("OFF\n4 1 0\n0 0 0\n1 0 0\n", r"ends after 2 of the 4 vertex lines"),
        ("COFF\n3 1 0\n0 0 0 1 0\n1 0 0 0 0 0 1\n0 1 0 0 0 0 1\n3 0 1 2\n", r"line 3: .*7 numbers"),
        ("", r"ends before the OFF header"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        read_off(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="mesh file not found"):
        read_off(tmp_path / "nope.off")
    with pytest.raises(FileNotFoundError, match="mesh file not found"):
        load_mesh(tmp_path / "nope.off")


# ----------------------------------------------------------------------------
# the Mesh type
# ----------------------------------------------------------------------------
def test_mesh_validation():
    with pytest.raises(ValueError, match=r"vertices must have shape \(V, 3\)"):
        Mesh(np.zeros((3, 2)), [[0, 1, 2]])
    with pytest.raises(ValueError, match="NaN or inf"):
        Mesh([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])
    with pytest.raises(ValueError, match="only 3 vertices"):
        Mesh(np.eye(3), [[0, 1, 3]])
    with pytest.raises(ValueError, match=r"faces must have shape \(F, 3\)"):
        Mesh(np.eye(3), [[0, 1, 2, 0]])
    with pytest.raises(ValueError, match=r"colors must be finite and lie in \[0, 1\]"):
        Mesh(np.eye(3), [[0, 1, 2]], colors=np.full((3, 3), 2.0))
    rgb = Mesh(np.eye(3), [[0, 1, 2]], colors=np.full((3, 3), 0.5))
    assert rgb.colors.shape == (3, 4) and (rgb.colors[:, 3] == 1).all()


def test_vertex_normals_of_a_cube_point_outwards():
    mesh = cube()
    normals = mesh.vertex_normals()
    assert normals.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, rtol=1e-6)
    # every corner's normal points along its own diagonal (outwards)
    cos = (normals * mesh.vertices).sum(axis=1) / np.linalg.norm(mesh.vertices, axis=1)
    assert cos.min() > 0.5
    face = mesh.face_normals()
    centres = mesh.vertices[mesh.faces].mean(axis=1)
    assert ((face * centres).sum(axis=1) > 0).all()


def test_normalized_centres_and_scales_to_the_unit_sphere():
    mesh = Mesh(cube().vertices * [2.0, 1.0, 0.5] + [3.0, -1.0, 7.0], cube().faces).normalized()
    np.testing.assert_allclose(mesh.bounds.mean(axis=0), 0.0, atol=1e-6)
    assert np.linalg.norm(mesh.vertices, axis=1).max() == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="all coincide"):
        Mesh(np.zeros((3, 3)), [[0, 1, 2]]).normalized()


# ----------------------------------------------------------------------------
# rotations
# ----------------------------------------------------------------------------
def test_rotation_matrix_right_hand_rule_and_exact_quarter_turns():
    np.testing.assert_array_equal(rotation_matrix("z", 90) @ [1, 0, 0], [0, 1, 0])
    np.testing.assert_array_equal(rotation_matrix("x", 90) @ [0, 1, 0], [0, 0, 1])
    np.testing.assert_array_equal(rotation_matrix("y", 90) @ [0, 0, 1], [1, 0, 0])
    np.testing.assert_array_equal(rotation_matrix("z", 360), np.eye(3))
    r = rotation_matrix("x", 33.0)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-15)
    assert np.linalg.det(r) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="axis must be one of"):
        rotation_matrix("w", 10)
    with pytest.raises(ValueError, match="finite"):
        rotation_matrix("x", np.inf)


def test_rotated_accepts_steps_and_matrices():
    mesh = cube()
    by_steps = mesh.rotated([("x", 90), ("z", 30)])
    by_matrix = mesh.rotated(rotation_matrix("z", 30) @ rotation_matrix("x", 90))
    np.testing.assert_allclose(by_steps.vertices, by_matrix.vertices, atol=1e-6)
    np.testing.assert_allclose(mesh.rotated(("z", 90)).vertices, mesh.rotated([("z", 90)]).vertices)
    with pytest.raises(ValueError, match="orthogonal"):
        mesh.rotated(np.diag([1.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="a rotation must be"):
        mesh.rotated([("x", "ninety")])


def test_load_mesh_from_a_path_centres_without_a_table_rotation(tmp_path):
    text = "OFF\n4 4 0\n0 0 0\n2 0 0\n0 2 0\n0 0 2\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n"
    path = write(tmp_path, text, "elephant.off")  # a file path never uses the table
    raw = load_mesh(path, canonical=False)
    np.testing.assert_allclose(raw.vertices.max(axis=0), [2, 2, 2])
    mesh = load_mesh(path)
    np.testing.assert_allclose(mesh.bounds.mean(axis=0), 0.0, atol=1e-6)
    assert mesh.metadata["canonical_rotation"] == np.eye(3).tolist()
    turned = load_mesh(str(path), rotation=("z", 90))
    np.testing.assert_allclose(turned.vertices, mesh.rotated(("z", 90)).vertices, atol=1e-6)


def test_unknown_mesh_name():
    with pytest.raises(KeyError, match="unknown mesh 'unicorn'"):
        load_mesh("unicorn")
    with pytest.raises(KeyError, match="no canonical pose for mesh 'unicorn'"):
        canonical_rotation("unicorn")


# ----------------------------------------------------------------------------
# the real meshes
# ----------------------------------------------------------------------------
def test_table_covers_the_seven_meshes():
    assert set(MESH_NAMES) == set(README_COUNTS) == set(CANONICAL_POSES)
    for name in MESH_NAMES:
        r = canonical_rotation(name)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(canonical_rotation(f"meshes/{name}"), r)


@pytest.mark.parametrize("name", MESH_NAMES)
def test_real_mesh_loads_with_readme_counts_in_the_unit_sphere(name):
    require_mesh(name)
    raw = load_mesh(name, canonical=False)
    assert (raw.n_vertices, raw.n_faces) == README_COUNTS[name]
    assert (raw.colors is not None) == (name == "dino")  # dino.off is COFF
    mesh = load_mesh(f"meshes/{name}")
    assert mesh.name == name and (mesh.n_vertices, mesh.n_faces) == README_COUNTS[name]
    np.testing.assert_allclose(mesh.bounds.mean(axis=0), 0.0, atol=1e-6)
    assert np.linalg.norm(mesh.vertices, axis=1).max() == pytest.approx(1.0, rel=1e-6)
    assert mesh.metadata["description"]
    normals = mesh.vertex_normals()
    assert np.isfinite(normals).all()


def pieces(mesh: Mesh, selected: np.ndarray, min_vertices: int = 10) -> int:
    """Connected pieces (of at least ``min_vertices``) of the selected vertices."""
    faces = mesh.faces[selected[mesh.faces].all(axis=1)]
    index = -np.ones(mesh.n_vertices, dtype=int)
    index[selected] = np.arange(selected.sum())
    edges = index[np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])]
    n = int(selected.sum())
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return int((np.bincount(labels) >= min_vertices).sum())


# feet that touch the lowest tenth of the height in the canonical pose
FEET = {"camel": 4, "cow": 4, "dino": 2, "elephant": 2}


@pytest.mark.parametrize("name", sorted(FEET))
def test_standing_animals_are_upright_side_on_and_head_to_plus_x(name):
    require_mesh(name)
    mesh = load_mesh(name)
    v = mesh.vertices.astype(np.float64)
    extent = v.max(axis=0) - v.min(axis=0)
    assert extent[0] > 1.5 * extent[1]  # the body runs along x: seen from the side
    z = v[:, 2]
    height = z.max() - z.min()
    # feet down: the lowest tenth of the height is several separate feet; the
    # highest tenth (head, hump) is not (upside down, this fails)
    feet = pieces(mesh, z < z.min() + 0.1 * height)
    assert feet >= FEET[name]
    assert pieces(mesh, z > z.max() - 0.1 * height) < feet
    # head (and raised trunk) towards +x: the highest parts are in front
    top = v[z > z.max() - 0.1 * height]
    assert top[:, 0].mean() > 0.3


def test_teddy_bear_sits_facing_plus_x():
    require_mesh("bear")
    v = load_mesh("bear").vertices.astype(np.float64)
    extent = v.max(axis=0) - v.min(axis=0)
    assert extent[2] == extent.max()  # sitting upright: tallest along z
    assert extent[1] > extent[0]  # arms spread sideways (along y), seen from the side
    front = v[v[:, 0] > v[:, 0].max() - 0.15 * extent[0]]
    assert front[:, 2].mean() < -0.2  # the legs point forward (+x), at the bottom


def test_lion_bust_and_pig_poses():
    require_mesh("lion")
    require_mesh("pig")
    lion = load_mesh("lion").vertices.astype(np.float64)
    extent = lion.max(axis=0) - lion.min(axis=0)
    assert extent[0] > extent[1]
    top = lion[lion[:, 2] > lion[:, 2].max() - 0.1 * extent[2]]
    assert top[:, 0].mean() > 0.1  # the head leans forward, over the neck
    pig = load_mesh("pig").vertices.astype(np.float64)
    extent = pig.max(axis=0) - pig.min(axis=0)
    assert extent[0] > extent[1] > extent[2]  # long and low, seen from the side
