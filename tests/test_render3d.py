"""Tests for propgrad.interventions.render3d: offscreen renders of rotated meshes.

Software rasterisers differ a little between versions, so renders are compared
with tolerances: silhouette areas against the analytic area of a simple mesh's
projection, symmetries, and where things land in the image.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from propgrad.interventions import render3d
from propgrad.interventions.render3d import RenderError, render, render_rotation, renderer_info
from propgrad.measure import expected_property_gradient
from propgrad.meshes import Mesh, load_mesh

try:
    RENDERER = renderer_info()["GL_RENDERER"]
    NO_EGL = ""
except RenderError as exc:  # pragma: no cover - only without libEGL / Mesa
    RENDERER, NO_EGL = "", str(exc)

needs_egl = pytest.mark.skipif(
    bool(NO_EGL), reason=f"no EGL OpenGL context can be made here: {NO_EGL}"
)

S = 96  # image size of most tests
PLAIN = {"samples": 0}  # no anti-aliasing: exact silhouettes


def box(half=(1.0, 1.0, 1.0), centre=(0.0, 0.0, 0.0)) -> Mesh:
    """An axis-aligned box (12 triangles, counter-clockwise seen from outside)."""
    h, c = np.asarray(half, float), np.asarray(centre, float)
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * h + c
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [(a, b, c) for a, b, c, d in quads] + [(a, c, d) for a, b, c, d in quads]
    return Mesh(v, faces, name="box")


def octahedron(radius=1.0) -> Mesh:
    v = radius * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    faces = []
    for sx in (0, 1):
        for sy in (2, 3):
            for sz in (4, 5):
                tri = [sx, sy, sz]
                n = np.cross(v[sy] - v[sx], v[sz] - v[sx])
                if n @ (v[sx] + v[sy] + v[sz]) < 0:
                    tri = [sx, sz, sy]
                faces.append(tri)
    return Mesh(v, faces, name="octahedron")


def mask(image, background=(255, 255, 255)) -> np.ndarray:
    """Pixels that differ from the background."""
    return (np.asarray(image).astype(int) != background).any(axis=-1)


# ----------------------------------------------------------------------------
# the context
# ----------------------------------------------------------------------------
@needs_egl
def test_context_is_cached_per_process():
    assert render3d._context()[0] is render3d._context()[0]
    assert RENDERER


def test_clear_error_without_an_egl_context(monkeypatch):
    moderngl = pytest.importorskip("moderngl")

    def fail(*args, **kwargs):
        raise Exception("eglGetDisplay failed")  # noqa: TRY002 (what glcontext raises)

    monkeypatch.setattr(render3d, "_STATE", {})
    monkeypatch.setattr(moderngl, "create_standalone_context", fail)
    with pytest.raises(RenderError, match="libegl1 libegl-mesa0 libgl1-mesa-dri") as info:
        render(box(), size=8)
    assert "eglGetDisplay failed" in str(info.value)


# ----------------------------------------------------------------------------
# silhouettes against analytic areas
# ----------------------------------------------------------------------------
@needs_egl
def test_orthographic_cube_silhouette_area():
    # a cube of half-size 0.5 seen along +y: a square of side 1 world unit; the
    # image's S pixels span 2 * scale = 2.2 world units
    img = render(box((0.5, 0.5, 0.5)), size=S, projection="orthographic", **PLAIN)
    side = S / 2.2
    assert mask(img).sum() == pytest.approx(side**2, rel=0.04)
    # turned 45 degrees about the vertical: the square is sqrt(2) times wider
    img = render(box((0.5, 0.5, 0.5)), ("z", 45), size=S, projection="orthographic", **PLAIN)
    assert mask(img).sum() == pytest.approx(np.sqrt(2) * side**2, rel=0.04)


@needs_egl
def test_orthographic_octahedron_silhouette_is_a_diamond():
    # projection along y of the octahedron |x| + |y| + |z| <= 0.8: |x| + |z| <= 0.8
    img = render(octahedron(0.8), size=S, projection="orthographic", **PLAIN)
    area = 2 * 0.8**2 * (S / 2.2) ** 2
    assert mask(img).sum() == pytest.approx(area, rel=0.05)


@needs_egl
def test_perspective_cube_silhouette_is_its_front_face():
    fov, distance, half = 30.0, 4.0, 0.5
    img = render(box((half,) * 3), size=S, fov=fov, distance=distance, **PLAIN)
    # the front face at depth distance - half spans 2 * half of the visible
    # height 2 * (distance - half) * tan(fov / 2)
    side = S * (2 * half) / (2 * (distance - half) * np.tan(np.radians(fov / 2)))
    assert mask(img).sum() == pytest.approx(side**2, rel=0.04)


@needs_egl
def test_default_camera_fits_the_unit_sphere():
    img = render(octahedron(1.0), size=S, **PLAIN)
    m = mask(img)
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < S - 1 and cols.max() < S - 1
    assert cols.max() - cols.min() > 0.8 * S  # and fills most of the frame


# ----------------------------------------------------------------------------
# orientation of the image and of the rotations
# ----------------------------------------------------------------------------
@needs_egl
def test_frames_are_upright_and_not_mirrored():
    above = box((0.2, 0.2, 0.2), centre=(0.0, 0.0, 0.6))  # only above the origin (+z)
    rows = np.flatnonzero(mask(render(above, size=S)).any(axis=1))
    assert rows.max() < S // 2  # top half of the image
    right = box((0.2, 0.2, 0.2), centre=(0.6, 0.0, 0.0))  # +x is image right
    cols = np.flatnonzero(mask(render(right, size=S)).any(axis=0))
    assert cols.min() > S // 2


@needs_egl
def test_rotation_senses_follow_the_right_hand_rule():
    head = box((0.15, 0.15, 0.15), centre=(0.7, 0.0, 0.0))  # a "head" at +x

    def where(rotation):
        m = mask(render(head, rotation, size=S, **PLAIN))
        r, c = np.nonzero(m)
        return r.mean(), c.mean(), m.sum()

    # turntable (z): +90 turns the head away from the camera (+y): centred and
    # smaller than at 270 (towards the camera); 180 puts it on the left
    r90, c90, a90 = where(("z", 90))
    r270, c270, a270 = where(("z", 270))
    assert abs(c90 - S / 2) < 3 and abs(c270 - S / 2) < 3 and a90 < a270
    assert where(("z", 180))[1] < S / 2
    # about the viewing axis (y): +90 turns the head down
    assert where(("y", 90))[0] > S / 2
    # about x: the head stays on the x axis, so it does not move
    assert where(("x", 90))[1] > S / 2
    top = box((0.15, 0.15, 0.15), centre=(0.0, 0.0, 0.7))
    a_plus = mask(render(top, ("x", 90), size=S, **PLAIN)).sum()  # +z -> -y: nearer
    a_minus = mask(render(top, ("x", -90), size=S, **PLAIN)).sum()
    assert a_plus > a_minus


@needs_egl
def test_mirror_symmetric_mesh_renders_mirror_symmetric_silhouette():
    # a pyramid symmetric about the x = 0 plane, with nothing symmetric about z
    v = np.array([[-0.6, -0.4, -0.5], [0.6, -0.4, -0.5], [0.6, 0.4, -0.5], [-0.6, 0.4, -0.5]])
    v = np.vstack([v, [[0.0, 0.0, 0.7]]])
    faces = [[0, 2, 1], [0, 3, 2], [0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]]
    m = mask(render(Mesh(v, faces), size=S + 1, **PLAIN))  # odd size: a centre column
    assert np.count_nonzero(m != m[:, ::-1]) <= 0.01 * m.sum()
    assert np.count_nonzero(m != m[::-1, :]) > 0.2 * m.sum()  # not symmetric top-bottom


@needs_egl
def test_half_turn_about_the_view_axis_of_a_point_symmetric_mesh():
    # a stretched octahedron maps onto itself under (x, z) -> (-x, -z), a half
    # turn about the viewing axis y; tilted in the image plane first so that the
    # image itself has no mirror symmetry, and lit from the upper left
    mesh = octahedron(1.0)
    mesh = Mesh(mesh.vertices * [0.8, 0.5, 0.4], mesh.faces).rotated(("y", 20))
    a = np.asarray(render(mesh, size=S, **PLAIN)).astype(int)
    b = np.asarray(render(mesh, ("y", 180), size=S, **PLAIN)).astype(int)
    differ = (np.abs(a - b) > 8).any(axis=-1)
    assert differ.sum() <= 0.01 * mask(a).sum()
    # a quarter turn does change the image
    c = np.asarray(render(mesh, ("y", 90), size=S, **PLAIN)).astype(int)
    assert (np.abs(a - c) > 8).any(axis=-1).sum() > 0.2 * mask(a).sum()


@needs_egl
def test_lambert_shading_follows_the_light():
    cube = box((0.5, 0.5, 0.5))
    # turned 45 degrees: two faces visible, the left one towards the default light
    img = np.asarray(render(cube, ("z", 45), size=S, **PLAIN)).astype(float)
    m = mask(img)
    left = img[:, : S // 2][m[:, : S // 2]].mean()
    right = img[:, S // 2 :][m[:, S // 2 :]].mean()
    assert left > right + 20
    # light from the right instead
    img = np.asarray(render(cube, ("z", 45), size=S, light=(1, 0, 1), **PLAIN)).astype(float)
    assert img[:, S // 2 :][m[:, S // 2 :]].mean() > img[:, : S // 2][m[:, : S // 2]].mean()


# ----------------------------------------------------------------------------
# colours, background, size
# ----------------------------------------------------------------------------
@needs_egl
def test_background_fills_the_corners_and_colours_are_exact():
    img = render(
        octahedron(0.5), size=(80, 48), background="#204060", color=(1.0, 0.0, 0.0),
        ambient=1.0, diffuse=0.0, **PLAIN,
    )  # fmt: skip
    assert img.size == (80, 48) and img.mode == "RGB"
    a = np.asarray(img)
    for corner in (a[0, 0], a[0, -1], a[-1, 0], a[-1, -1]):
        assert tuple(corner) == (0x20, 0x40, 0x60)
    centre = a[24, 40]
    assert tuple(centre) == (255, 0, 0)


@needs_egl
def test_vertex_colours_are_used_without_a_colour_option():
    mesh = octahedron(0.6)
    mesh = Mesh(mesh.vertices, mesh.faces, colors=np.tile([0.0, 0.5, 1.0], (6, 1)))
    a = np.asarray(render(mesh, size=32, ambient=1.0, diffuse=0.0, **PLAIN))
    assert np.abs(a[16, 16].astype(int) - [0, 128, 255]).max() <= 1
    grey = np.asarray(render(mesh, size=32, color="gray", ambient=1.0, diffuse=0.0, **PLAIN))
    assert tuple(grey[16, 16]) == (128, 128, 128)


@needs_egl
def test_antialiasing_softens_edges_only():
    plain = np.asarray(render(box((0.5, 0.4, 0.3)), ("z", 30), size=S, samples=0))
    smooth = np.asarray(render(box((0.5, 0.4, 0.3)), ("z", 30), size=S, samples=4))
    assert abs(mask(plain).sum() - mask(smooth).sum()) <= 0.1 * mask(plain).sum()
    inner = binary_erosion(mask(plain), iterations=2)  # away from the edges
    assert np.abs(plain.astype(int) - smooth.astype(int))[inner].max() <= 8
    edge = mask(plain) & ~inner
    assert np.abs(plain.astype(int) - smooth.astype(int))[edge].max() > 8


# ----------------------------------------------------------------------------
# rotation sweeps
# ----------------------------------------------------------------------------
@needs_egl
def test_render_rotation_full_turn_sweep_and_metadata():
    mesh = box((0.6, 0.3, 0.2), centre=(0.1, 0.0, 0.0))
    sweep = render_rotation(mesh, "z", 12, size=32)
    assert len(sweep) == 12 and sweep.grid_name == "angle (degrees)"
    np.testing.assert_allclose(sweep.grid, np.arange(12) * 30.0)
    meta = sweep.metadata
    assert meta["periodic"] is True and meta["period"] == 360.0
    assert meta["mesh"] == "box" and meta["axis"] == "z" and meta["size"] == [32, 32]
    assert meta["options"]["samples"] == 4 and meta["renderer"] == RENDERER
    # frames differ along the turn, and the periodic score works on them
    frames = sweep.to_array().reshape(12, -1).astype(float).mean(axis=1)
    assert expected_property_gradient(frames, grid=sweep.grid, periodic=True) > 0
    # a part of a turn is not periodic
    part = render_rotation(mesh, "x", [0.0, 45.0, 90.0], size=16)
    assert part.metadata["periodic"] is False and "period" not in part.metadata


@needs_egl
def test_zero_and_360_degrees_give_identical_frames():
    mesh = box((0.6, 0.3, 0.2), centre=(0.1, 0.05, 0.1))
    for axis in ("x", "y", "z"):
        sweep = render_rotation(mesh, axis, [0.0, 30.0, 360.0, 390.0], size=48)
        a = sweep.to_array().astype(int)
        assert np.array_equal(a[0], a[2])
        assert np.abs(a[1] - a[3]).max() <= 8  # equal up to rounding of cos/sin
        assert not np.array_equal(a[0], a[1])


@needs_egl
def test_real_mesh_turntable_in_a_few_seconds():
    from test_meshes import require_mesh

    require_mesh("elephant")
    mesh = load_mesh("elephant")
    sweep = render_rotation(mesh, "z", 36, size=64)
    assert sweep.metadata["mesh"] == "elephant" and sweep.metadata["n_faces"] == 5558
    assert sweep.metadata["mesh_source"].endswith("elephant.off")
    areas = np.array([mask(im).sum() for im in sweep])
    assert areas.min() > 0.1 * 64 * 64  # the animal fills a good part of every frame
    # side views (0, 180 degrees) show more of an elephant than front/back views
    assert areas[0] > areas[9] and areas[18] > areas[27]
    same = render(mesh, ("z", 0), size=64)
    assert np.array_equal(np.asarray(same), np.asarray(sweep[0]))
    by_name = render("elephant", size=64)
    assert np.array_equal(np.asarray(by_name), np.asarray(sweep[0]))


@needs_egl
def test_saved_render_reloads_as_a_turntable_recording(tmp_path):
    from propgrad.interventions.turntable import load_turntable

    sweep = render_rotation(octahedron(0.7), "z", [0, 90, 180, 270], size=24, color="olive")
    sweep.save(tmp_path)
    loaded = load_turntable(tmp_path)
    np.testing.assert_allclose(loaded.grid, sweep.grid)
    assert np.array_equal(loaded.to_array(), sweep.to_array())


def test_bad_arguments():
    mesh = box()
    with pytest.raises(ValueError, match="axis must be one of"):
        render_rotation(mesh, "w", [0.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        render_rotation(mesh, "z", [0.0, 10.0, 5.0])
    with pytest.raises(ValueError, match="must not be empty"):
        render_rotation(mesh, "z", [])
    with pytest.raises(ValueError, match="positive number of frames"):
        render_rotation(mesh, "z", 0)
    with pytest.raises(ValueError, match="unknown render option"):
        render(mesh, colour="red")
    with pytest.raises(ValueError, match="unknown colour"):
        render(mesh, color="not-a-colour")
    with pytest.raises(ValueError, match=r"three numbers in \[0, 1\]"):
        render(mesh, background=(255, 0, 0))
    with pytest.raises(ValueError, match="size must be"):
        render(mesh, size=0)
    with pytest.raises(ValueError, match="projection must be"):
        render(mesh, projection="fisheye")
    with pytest.raises(ValueError, match="samples must be"):
        render(mesh, samples=3)
    with pytest.raises(ValueError, match="light must be a non-zero"):
        render(mesh, light=(0, 0, 0))


def test_import_does_not_need_moderngl_or_a_display():
    code = (
        "import sys; import propgrad.interventions.render3d; "
        "assert 'moderngl' not in sys.modules and 'torch' not in sys.modules"
    )
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
